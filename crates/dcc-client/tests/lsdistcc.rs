//! `lsdistcc` finds a running daemon and skips a closed port.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

use dcc_testkit::{Daemon, World, bins, daemon::free_port};

fn lsdistcc(args: &[String]) -> (i32, String) {
    let o = Command::new(bins::ours("lsdistcc"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn lists_answering_daemons_only() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let closed = free_port();

    let (code, out) = lsdistcc(&[format!("-r{}", d.port), "127.0.0.1".into()]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("127.0.0.1:{}\n", d.port));

    let (code, out) = lsdistcc(&[format!("-r{closed}"), "127.0.0.1".into()]);
    assert_eq!(code, 1, "nothing found");
    assert_eq!(out, "");

    // -x lists the down ones too; -P2 gives the ,lzo suffix a host list needs.
    let (code, out) = lsdistcc(&[
        "-x".into(),
        "-P2".into(),
        format!("-r{closed}"),
        "127.0.0.1".into(),
        "localhost".into(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!("127.0.0.1:{closed},lzo,down\nlocalhost:{closed},lzo,down\n")
    );
}

#[test]
fn test_compile_checks_the_compiler() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let port = format!("-r{}", d.port);
    // gcc is on the daemon's list: up.
    let (code, out) = lsdistcc(&[port.clone(), "-pgcc".into(), "127.0.0.1".into()]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("127.0.0.1:{}\n", d.port).as_str())
    );
    // A compiler it refuses: the test compile fails, so the host does not count.
    let (code, out) = lsdistcc(&[
        port.clone(),
        "-pnosuchcc".into(),
        "-x".into(),
        "127.0.0.1".into(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(out, format!("127.0.0.1:{},down\n", d.port));
    // Protocol 2 with LZO works too.
    let (code, _) = lsdistcc(&[port, "-P2".into(), "-pgcc".into(), "127.0.0.1".into()]);
    assert_eq!(code, 0);
    d.wait_log(" COMPILE_OK ", 2);
}

#[test]
fn bad_options_print_usage_and_fail() {
    let (code, out) = lsdistcc(&["-P9".into()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("Usage: lsdistcc"), "{out}");
}
