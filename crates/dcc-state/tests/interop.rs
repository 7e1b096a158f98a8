//! Cross-process behaviour: our locks against C-style fcntl locks (taken by perl, which calls
//! fcntl(F_SETLK) with a packed `struct flock`, exactly as distcc src/lock.c does), against a
//! second process of ours and Debian's own distcc client; the inotify waiter; and Debian's
//! distccmon-text reading our state files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use dcc_state::{Phase, SlotWaiter, StateFile, TaskState, WaitOutcome, try_lock_slot};

/// Takes a distcc-style lock on ARGV[0]: prints "locked" (or "busy" and exits 3), then
/// releases by closing the file when a line arrives on stdin, prints "released" and waits for
/// stdin to close. `struct flock` on 64-bit Linux: short, short, pad, off_t, off_t, pid_t, pad.
const PERL_LOCKER: &str = r#"
use Fcntl;
$| = 1;
sysopen(my $fh, $ARGV[0], O_WRONLY|O_CREAT, 0666) or die "open: $!";
my $fl = pack('s s x4 q q i x4', F_WRLCK, 0, 0, 0, 0);
fcntl($fh, F_SETLK, $fl) or do { print "busy\n"; exit 3 };
print "locked\n";
my $line = <STDIN>;
close($fh);
print "released\n";
<STDIN>;
"#;

struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
}

impl Helper {
    fn perl(path: &Path) -> Helper {
        let cmd = Command::new("perl")
            .arg("-e")
            .arg(PERL_LOCKER)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("perl is needed for the fcntl interop tests (apt-get install perl)");
        Helper::new(cmd)
    }

    fn new(mut child: Child) -> Helper {
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        Helper { child, stdin, out }
    }

    /// The next line that is one of ours (the test harness prints its own lines too).
    fn expect(&mut self, want: &str) {
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).unwrap();
            assert!(n > 0, "helper ended before printing {want:?}");
            // The test harness may print "test child_holds_lock ... " before our word.
            let word = line.split_whitespace().last().unwrap_or_default();
            if matches!(word, "locked" | "busy" | "released") {
                assert_eq!(word, want);
                return;
            }
        }
    }

    fn poke(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().unwrap()
    }
}

#[cfg(target_pointer_width = "64")]
#[test]
fn c_style_fcntl_lock_makes_our_lock_busy() {
    let tmp = tempfile::tempdir().unwrap();
    let mut perl = Helper::perl(&tmp.path().join("cpu_tcp_h_3632_0"));
    perl.expect("locked");
    assert!(
        try_lock_slot(tmp.path(), "tcp_h_3632", 0)
            .unwrap()
            .is_none()
    );
    // Other slots are unaffected.
    assert!(
        try_lock_slot(tmp.path(), "tcp_h_3632", 1)
            .unwrap()
            .is_some()
    );
    perl.poke();
    perl.expect("released");
    assert!(
        try_lock_slot(tmp.path(), "tcp_h_3632", 0)
            .unwrap()
            .is_some()
    );
    assert!(perl.finish().success());
}

#[cfg(target_pointer_width = "64")]
#[test]
fn our_lock_makes_c_style_fcntl_lock_busy() {
    let tmp = tempfile::tempdir().unwrap();
    let held = try_lock_slot(tmp.path(), "localhost", 0).unwrap().unwrap();
    let mut perl = Helper::perl(held.path());
    perl.expect("busy");
    assert_eq!(perl.finish().code(), Some(3));
    drop(held);
    let mut perl = Helper::perl(&tmp.path().join("cpu_localhost_0"));
    perl.expect("locked");
    perl.poke();
    perl.expect("released");
    assert!(perl.finish().success());
}

/// Run in a child process by `lock_is_exclusive_across_our_processes`; a no-op otherwise.
#[test]
fn child_holds_lock() {
    let Some(dir) = std::env::var_os("DCC_STATE_TEST_CHILD_LOCK_DIR") else {
        return;
    };
    let lock = try_lock_slot(Path::new(&dir), "localhost", 0).unwrap();
    println!("{}", if lock.is_some() { "locked" } else { "busy" });
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    drop(lock);
    println!("released");
    std::io::stdin().read_line(&mut line).unwrap();
}

fn our_child(dir: &Path) -> Helper {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_holds_lock",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DCC_STATE_TEST_CHILD_LOCK_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    Helper::new(child)
}

#[test]
fn lock_is_exclusive_across_our_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = our_child(tmp.path());
    a.expect("locked");
    assert!(try_lock_slot(tmp.path(), "localhost", 0).unwrap().is_none());
    let mut b = our_child(tmp.path());
    b.expect("busy");
    assert!(b.finish().success());
    a.poke();
    a.expect("released");
    assert!(try_lock_slot(tmp.path(), "localhost", 0).unwrap().is_some());
    assert!(a.finish().success());
}

#[cfg(target_pointer_width = "64")]
#[test]
fn waiter_wakes_when_another_process_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let hosts = [("tcp_h_3632", 1)];
    let mut perl = Helper::perl(&tmp.path().join("cpu_tcp_h_3632_0"));
    perl.expect("locked");
    let mut w = SlotWaiter::new(tmp.path());
    assert!(w.pick(&hosts).unwrap().is_none());
    assert_eq!(w.wait(Duration::from_secs(1)).unwrap(), WaitOutcome::Armed);
    assert!(w.pick(&hosts).unwrap().is_none());
    perl.poke();
    // The safety timeout is far longer than any test run: only the close event can end this.
    assert_eq!(
        w.wait(Duration::from_secs(3600)).unwrap(),
        WaitOutcome::Released
    );
    let (i, lock) = w
        .pick(&hosts)
        .unwrap()
        .expect("slot free after the release");
    assert_eq!((i, lock.slot()), (0, 0));
    perl.expect("released");
    assert!(perl.finish().success());
}

fn debian_distccmon_text(distcc_dir: &Path) -> String {
    let bin = Path::new("/usr/bin/distccmon-text");
    assert!(
        bin.exists(),
        "Debian's distccmon-text is needed for this test: apt-get install distcc"
    );
    let out = Command::new(bin)
        .env("DISTCC_DIR", distcc_dir)
        .env_remove("DISTCC_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn debian_distccmon_text_lists_our_state_file() {
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = tmp.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let mut sf = StateFile::create(&state_dir).unwrap();
    let mut s = TaskState::new(Phase::Startup, "/src/big.c", "", 0);
    sf.write(&s).unwrap();
    s.phase = Phase::Compile;
    s.host = "127.0.0.1".into();
    s.slot = 2;
    sf.write(&s).unwrap();
    let pid = std::process::id();
    assert_eq!(
        debian_distccmon_text(tmp.path()),
        format!(
            "{pid:>6}  Compile     big.c                          {:>24}[2]\n\n",
            "127.0.0.1"
        )
    );
    s.phase = Phase::Done;
    sf.write(&s).unwrap();
    assert_eq!(debian_distccmon_text(tmp.path()), "\n");
    sf.finish().unwrap();
    assert_eq!(debian_distccmon_text(tmp.path()), "\n");
}

#[test]
fn debian_distcc_client_waits_for_our_lock() {
    let distcc = Path::new("/usr/bin/distcc");
    assert!(
        distcc.exists(),
        "Debian's distcc is needed for this test: apt-get install distcc"
    );
    let tmp = tempfile::tempdir().unwrap();
    let lock_dir = tmp.path().join("lock");
    std::fs::create_dir(&lock_dir).unwrap();
    let held = try_lock_slot(&lock_dir, "localhost", 0).unwrap().unwrap();
    // `distcc true` is not a compile: it runs locally under a local slot, and
    // --localslots=1 makes that slot cpu_localhost_0.
    let mut child = Command::new(distcc)
        .arg("true")
        .env("DISTCC_DIR", tmp.path())
        .env("DISTCC_HOSTS", "--localslots=1 localhost/1")
        .env("DISTCC_VERBOSE", "1")
        .env("DISTCC_PAUSE_TIME_MSEC", "20")
        .env_remove("DISTCC_LOG")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let busy = format!("{} is busy", held.path().display());
    loop {
        let line = lines
            .next()
            .expect("distcc ended while we held its slot")
            .unwrap();
        assert!(
            !line.contains("got cpu lock"),
            "distcc took our slot: {line}"
        );
        if line.contains(&busy) {
            break;
        }
    }
    drop(held);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("got cpu lock on localhost slot 0")),
        "{rest:#?}"
    );
    assert!(child.wait().unwrap().success());
}
