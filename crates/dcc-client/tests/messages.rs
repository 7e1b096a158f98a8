//! Issue 14, item 3: messages that say what to do. Each test runs the real `distcc` and reads
//! its stderr: a host in backoff (which, since when, why), a helper that refuses this
//! machine's address, a compile that moved to another helper.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::{Command, Output};

use dcc_testkit::client;
use dcc_testkit::daemon::{DaemonOptions, free_port};
use dcc_testkit::{Daemon, DaemonKind, World};

fn run(mut c: Command) -> (i32, String) {
    let o: Output = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn compile(w: &World, hosts: &str, env: &[(&str, &str)]) -> (i32, String) {
    let _ = std::fs::remove_file(w.path("src/x.o"));
    let mut c = client::ours(w, hosts);
    c.args(["gcc", "-c", "x.c", "-o", "x.o"]);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c)
}

fn world() -> World {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 42; }\n");
    w
}

#[test]
fn a_backed_off_host_is_named_with_its_time_and_reason() {
    let w = world();
    let dead = free_port();
    let host = format!("127.0.0.1:{dead}");
    // The first compile fails to connect and marks the host.
    let (code, err) = compile(&w, &host, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("failed to connect to 127.0.0.1"), "{err}");
    // The next one finds it backed off and says which, since when and why.
    let (code, err) = compile(&w, &host, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(w.path("src/x.o").exists());
    let line = err
        .lines()
        .find(|l| l.contains(&format!("{host} is backed off since ")))
        .unwrap_or_else(|| panic!("no backoff line: {err}"));
    assert!(line.contains(" UTC ("), "{line}");
    assert!(line.contains("DISTCC_BACKOFF_PERIOD=60"), "{line}");
    assert!(
        line.contains(&format!("failed to connect to 127.0.0.1:{dead}")),
        "the reason: {line}"
    );
    assert!(
        err.contains("failed to distribute, running locally instead: every host is backed off"),
        "{err}"
    );
    // DISTCC_FALLBACK=0: the error gives the reason too.
    let (code, err) = compile(&w, &host, &[("DISTCC_FALLBACK", "0")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("failed to distribute and fallbacks are disabled: every host is backed off"),
        "{err}"
    );
    assert!(
        err.contains(&format!("failed to connect to 127.0.0.1:{dead}")),
        "{err}"
    );
    assert!(!w.path("src/x.o").exists());
}

#[test]
fn a_mark_left_by_c_distcc_is_shown_without_a_reason() {
    let w = world();
    let dead = free_port();
    let lock = w.path("distcc_dir/lock");
    std::fs::create_dir_all(&lock).unwrap();
    // distcc 3.4's mark: a one-byte file, no event.
    std::fs::write(lock.join(format!("backoff_tcp_127.0.0.1_{dead}_0")), "x").unwrap();
    let (code, err) = compile(&w, &format!("127.0.0.1:{dead}"), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is backed off since"), "{err}");
    assert!(err.contains("no reason recorded"), "{err}");
}

/// Our daemon and Debian's both drop a connection from an address outside `--allow` at once.
#[test]
fn a_refusing_helper_is_said_to_close_before_reading_and_allow_is_named() {
    let w = world();
    for kind in [DaemonKind::Ours, DaemonKind::Debian] {
        let mut o = DaemonOptions::new(kind);
        o.allow = vec!["127.0.0.2".into()];
        let refusing = Daemon::start(&w, o);
        // Several times: the reset may reach the client on its write or on its read.
        for _ in 0..5 {
            let (code, err) = compile(&w, &refusing.host(), &[("DISTCC_BACKOFF_PERIOD", "0")]);
            assert_eq!(code, 0, "{err}");
            assert!(
                err.contains(&format!(
                    "{}: the helper closed the connection before reading the request",
                    refusing.host()
                )),
                "{kind:?}: {err}"
            );
            assert!(err.contains("--allow list"), "{err}");
        }
    }
}

#[test]
fn a_compile_that_moves_to_another_helper_says_so() {
    let w = world();
    let dead = free_port();
    let good = Daemon::ours(&w);
    let hosts = format!("127.0.0.1:{dead} {}", good.host());
    let (code, err) = compile(&w, &hosts, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("failed to connect to 127.0.0.1"), "{err}");
    assert!(
        err.contains(&format!(
            "x.c: compiled on {} instead, after 127.0.0.1:{dead} failed (above); left out for \
             the next 60 s (DISTCC_BACKOFF_PERIOD)",
            good.host()
        )),
        "{err}"
    );
    assert!(!err.contains("running locally"), "{err}");
    good.wait_log(" COMPILE_OK ", 1);
    // Failing on the only helper: the error is followed by the local compile, said as such.
    let w = world();
    let (code, err) = compile(&w, &format!("127.0.0.1:{dead}"), &[]);
    assert_eq!(code, 0, "{err}");
    let after = err.split("failed to connect").nth(1).unwrap_or_default();
    assert!(
        after.contains(&format!(
            "failed to distribute x.c to 127.0.0.1:{dead}, running locally instead"
        )),
        "{err}"
    );
}
