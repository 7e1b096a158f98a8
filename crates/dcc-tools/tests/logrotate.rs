//! The shipped logrotate file (packaging/logrotate/distccd) against a running distccd: after
//! `logrotate -f` the helper still serves, the next job's line is in the new file under the
//! old name, and the earlier lines are in the rotated one. distcc 3.4 stopped on the SIGHUP
//! that logrotate sends; distcc-rs reopens its --log-file (docs/decisions/daemon.md).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::Command;

use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World, client};

fn shipped() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/logrotate/distccd"),
    )
    .unwrap()
}

/// The shipped configuration for the test's log directory, with the postrotate script (which
/// signals the systemd units) replaced by a SIGHUP to this test's daemon only: other daemons
/// on this machine must not be signalled.
fn for_test(log_dir: &Path, pid: u32) -> String {
    let text = shipped();
    let (head, rest) = text
        .split_once("\tpostrotate\n")
        .expect("a postrotate script");
    let (script, tail) = rest.split_once("\tendscript\n").expect("endscript");
    for unit in ["distccd.service", "'distccd@*.service'"] {
        assert!(
            script.contains(&format!(
                "systemctl kill --kill-whom=main --signal=HUP {unit}"
            )),
            "the shipped postrotate does not signal {unit}:\n{script}"
        );
    }
    let head = head.replace(
        "/var/log/distccd/*.log",
        &format!("{}/*.log", log_dir.display()),
    );
    assert_ne!(head, text.split_once("\tpostrotate\n").unwrap().0);
    format!("{head}\tpostrotate\n\t\tkill -HUP {pid}\n\tendscript\n{tail}")
}

fn compile(w: &World, d: &Daemon, name: &str) {
    w.write(&format!("src/{name}.c"), "int f(void) { return 1; }\n");
    let out = client::ours(w, &d.host())
        .args([
            "gcc",
            "-c",
            &format!("{name}.c"),
            "-o",
            &format!("{name}.o"),
        ])
        .env("DISTCC_FALLBACK", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn logrotate_leaves_the_helper_running_and_logging_to_the_new_file() {
    common::require("logrotate", "logrotate");
    assert!(
        dcc_testkit::bins::is_root(),
        "this test runs logrotate's `su distccd adm` and needs root (CI runs as root)"
    );
    let w = World::new();
    let mut d = Daemon::start(&w, DaemonOptions::new(DaemonKind::Ours));
    compile(&w, &d, "before");
    // The job's summary line comes last, after its directory is removed (and after the
    // client has its object): wait for it, or it may land in the new file.
    d.wait_log(" COMPILE_OK ", 1);

    let log_dir = d.log.parent().unwrap().to_owned();
    let conf = w.path("logrotate.conf");
    std::fs::write(&conf, for_test(&log_dir, d.pid())).unwrap();
    let out = Command::new("logrotate")
        .arg("-f")
        .arg("-s")
        .arg(w.path("logrotate.state"))
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logrotate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // delaycompress: the first rotation is `NAME.1`, not yet compressed.
    let rotated = log_dir.join(format!(
        "{}.1",
        d.log.file_name().unwrap().to_string_lossy()
    ));
    // The daemon reopened (it logs that into the new file), and still serves.
    d.wait_log("(dcc_reopen_log) reopened", 1);
    compile(&w, &d, "after");
    let new = d.wait_log("after.c", 1);
    assert!(!new.contains("before.c"), "{new}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(
        old.contains("before.c") && old.contains("listening on"),
        "{old}"
    );
    assert!(!old.contains("after.c"), "{old}");
    assert_eq!(
        d.wait(std::time::Duration::from_millis(100)),
        None,
        "distccd exited"
    );
    // The file logrotate created is the one the daemon writes to.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&d.log).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
}
