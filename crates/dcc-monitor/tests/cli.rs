//! Our `distccmon-text` against Debian's `/usr/bin/distccmon-text`, run on identical state
//! directories: stdout must be byte-identical, exit codes equal, stderr equal up to the pid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use dcc_state::{Phase, TaskState, encode_state};

const OURS: &str = env!("CARGO_BIN_EXE_distccmon-text");
const DEBIAN: &str = "/usr/bin/distccmon-text";

fn debian() -> &'static str {
    assert!(
        Path::new(DEBIAN).exists(),
        "Debian's distccmon-text is needed for these tests: apt-get install distcc"
    );
    DEBIAN
}

/// A pid above any pid_max: no such process.
const DEAD_PID: u32 = 1 << 30;

fn st(pid: u32, phase: Phase, file: &str, host: &str, slot: i32) -> TaskState {
    TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot,
        phase,
    }
}

/// A DISTCC_DIR with a mix of good, odd and bad state files. Returns the stale file's path.
fn populate(top: &Path) -> PathBuf {
    let d = top.join("state");
    std::fs::create_dir(&d).unwrap();
    let me = std::process::id();
    let put = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let long = "a_very_long_file_name_exceeding_thirty_chars.c";
    let long_host = "a-very-long-host-name-exceeding-24.example.com";
    put(
        "binstate_1",
        &encode_state(&st(me, Phase::Compile, long, long_host, 3)),
    );
    let mut odd_phase = encode_state(&st(me, Phase::Compile, "b.c", "alpha", 1));
    odd_phase[284..288].copy_from_slice(&9u32.to_ne_bytes());
    put("binstate_2", &odd_phase);
    put(
        "binstate_3",
        &encode_state(&st(me, Phase::Done, "c.c", "alpha", 0)),
    );
    put(
        "binstate_4",
        &encode_state(&st(me, Phase::Preprocess, "d.c", "localhost", 2)),
    );
    put(
        "binstate_5",
        &encode_state(&st(DEAD_PID, Phase::Send, "e.c", "alpha", 4)),
    );
    let mut bad_magic = encode_state(&st(me, Phase::Send, "f.c", "alpha", 5));
    bad_magic[9] ^= 0xff;
    put("binstate_6", &bad_magic);
    let mut bad_size = encode_state(&st(me, Phase::Send, "g.c", "alpha", 6));
    bad_size[0] ^= 0x01;
    put("binstate_7", &bad_size);
    put(
        "binstate_8",
        &encode_state(&st(me, Phase::Send, "h.c", "alpha", 7))[..100],
    );
    let mut extra = encode_state(&st(me, Phase::Blocked, "i.c", "zeta", 0)).to_vec();
    extra.extend_from_slice(b"extra");
    put("binstate_9", &extra);
    put("binstate_10", b"");
    put(
        "notstate",
        &encode_state(&st(me, Phase::Send, "j.c", "alpha", 8)),
    );
    put(
        "binstate_11",
        &encode_state(&st(me, Phase::Receive, "ü.c", "beta", 0)),
    );
    let stale = d.join("binstate_12");
    std::fs::write(&stale, encode_state(&st(me, Phase::Send, "old.c", "a", 0))).unwrap();
    let f = std::fs::File::options().write(true).open(&stale).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    stale
}

fn run(bin: &str, args: &[&str], distcc_dir: Option<&Path>, home: Option<&Path>) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_remove("DISTCC_DIR")
        .env_remove("HOME")
        .env_remove("DISTCC_LOG")
        .env_remove("DISTCC_VERBOSE")
        .env_remove("UNCACHED_ERR_FD");
    if let Some(d) = distcc_dir {
        cmd.env("DISTCC_DIR", d);
    }
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    cmd.output().unwrap()
}

/// stderr lines with `distccmon-text[<pid>]` normalised and sorted (readdir order may differ).
fn stderr_lines(out: &Output, top: &Path) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stderr).replace(&top.display().to_string(), "TOP");
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| match (l.find('['), l.find(']')) {
            (Some(a), Some(b)) if l.starts_with("distccmon-text[") && a < b => {
                format!("{}[PID]{}", &l[..a], &l[b + 1..])
            }
            _ => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

fn same(args: &[&str], setup: impl Fn(&Path) -> (Option<PathBuf>, Option<PathBuf>)) {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (da, ha) = setup(a.path());
    let (db, hb) = setup(b.path());
    let theirs = run(debian(), args, da.as_deref(), ha.as_deref());
    let ours = run(OURS, args, db.as_deref(), hb.as_deref());
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout for {args:?}"
    );
    assert_eq!(ours.stdout, theirs.stdout);
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "status for {args:?}"
    );
    assert_eq!(
        stderr_lines(&ours, b.path()),
        stderr_lines(&theirs, a.path()),
        "stderr for {args:?}"
    );
}

#[test]
fn lists_the_same_jobs_as_debian() {
    same(&[], |top| {
        populate(top);
        (Some(top.to_owned()), None)
    });
}

#[test]
fn deletes_stale_files_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = populate(tmp.path());
    let before = std::fs::read_dir(tmp.path().join("state")).unwrap().count();
    let out = run(OURS, &[], Some(tmp.path()), None);
    assert!(out.status.success());
    assert!(!stale.exists());
    let after = std::fs::read_dir(tmp.path().join("state")).unwrap().count();
    assert_eq!(after, before - 1, "only the stale file goes");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  Compile     b.c "), "{text}");
    assert!(!text.contains("f.c"), "wrong magic is skipped: {text}");
    assert!(!text.contains("e.c"), "dead pid is skipped: {text}");
    assert!(!text.contains("c.c"), "Done is not shown: {text}");
}

#[test]
fn empty_and_created_state_dirs_match() {
    same(&[], |top| (Some(top.to_owned()), None));
    same(&[""], |top| (Some(top.to_owned()), None));
    same(&["0"], |top| (Some(top.to_owned()), None));
    // ~/.distcc and its state/ are created.
    same(&[], |top| (None, Some(top.to_owned())));
    let tmp = tempfile::tempdir().unwrap();
    assert!(run(OURS, &[], None, Some(tmp.path())).status.success());
    assert!(tmp.path().join(".distcc/state").is_dir());
}

#[test]
fn errors_match() {
    same(&[], |top| (Some(top.join("missing")), None));
    same(&[], |_| (None, None));
    for bad in [&["x"][..], &["1", "2"], &["--help"], &[" "], &["1x"]] {
        same(bad, |top| (Some(top.to_owned()), None));
    }
}

#[test]
fn a_delay_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let mut child = Command::new(OURS)
        .arg("0.01")
        .env("DISTCC_DIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut blocks = 0;
    while blocks < 3 {
        let line = lines.next().expect("output ended").unwrap();
        if line.is_empty() {
            blocks += 1;
        } else {
            assert!(line.contains('['), "{line}");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
