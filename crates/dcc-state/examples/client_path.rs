//! What one distcc client does with dcc-state per compile, for counting system calls:
//! `strace -c -f target/debug/examples/client_path` (set DISTCC_DIR to a scratch directory).

use std::time::Duration;

use dcc_common::ProcessEnv;
use dcc_state::{
    DistccDir, Phase, StateFile, TaskState, is_backed_off, lock_name_tcp, make_tmpnam, pick_slot,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = DistccDir::from_env_home(&ProcessEnv)?;
    let lock_dir = dir.lock_dir()?.to_owned();
    let name = lock_name_tcp("127.0.0.1", 3632);
    let backed_off = is_backed_off(&lock_dir, &name, Duration::from_secs(60));
    let hosts = [(name, 4)];
    let (_, lock) = pick_slot(&lock_dir, &hosts)?.ok_or("all slots busy")?;
    let mut state = StateFile::create(dir.state_dir()?)?;
    let mut s = TaskState::new(
        Phase::Startup,
        "src/hello.c",
        "127.0.0.1",
        lock.slot() as i32,
    );
    for phase in [
        Phase::Preprocess,
        Phase::Send,
        Phase::Compile,
        Phase::Receive,
    ] {
        s.phase = phase;
        state.write(&s)?;
    }
    let (tmp, _f) = make_tmpnam(&std::env::temp_dir(), "distcc", ".i")?;
    std::fs::remove_file(tmp)?;
    println!("backed off: {backed_off}; slot {}", lock.slot());
    Ok(())
}
