//! The event log (`$DISTCC_DIR/state/events`): our client writes a line, with the warning's
//! reason, on every failure and fallback path, and nothing at all on a compile that goes
//! well. Needs our `distcc` and `distccd` built (`cargo build --workspace`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::{Command, Output};

use dcc_state::{Event, EventKind, read_events};
use dcc_testkit::client;
use dcc_testkit::daemon::free_port;
use dcc_testkit::{Daemon, World};

fn run(mut c: Command) -> (i32, String) {
    let o: Output = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn events(w: &World) -> Vec<Event> {
    read_events(&w.path("distcc_dir/state")).unwrap()
}

fn summary(e: &[Event]) -> Vec<(EventKind, String, String)> {
    e.iter()
        .map(|e| (e.kind, e.host.clone(), e.file.clone()))
        .collect()
}

#[test]
fn a_good_compile_writes_no_event() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/ok.c", "int ok(void) { return 1; }\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-c", "ok.c", "-o", "ok.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(w.path("src/ok.o").exists());
    d.wait_log(" COMPILE_OK ", 1);
    // The state directory exists (the state file lived there), the event log does not.
    assert!(w.path("distcc_dir/state").is_dir());
    assert!(!w.path("distcc_dir/state/events").exists());
    assert!(!w.path("distcc_dir/state/events.1").exists());
    // A local-only command (linking) is no failure either.
    w.write(
        "src/main.c",
        "int ok(void); int main(void) { return ok() - 1; }\n",
    );
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "main.c", "ok.o", "-o", "prog"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(!w.path("distcc_dir/state/events").exists());
}

#[test]
fn a_refused_option_is_logged_with_the_servers_reason() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x(void) { return 2; }\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["gcc", "-aux-info=aux.txt", "-c", "x.c", "-o", "x.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let ev = events(&w);
    assert_eq!(
        summary(&ev),
        vec![
            // 113 is about the command, not the host: not backed off.
            (EventKind::Failed, d.host(), "x.c".into()),
            (EventKind::Local, d.host(), "x.c".into()),
        ]
    );
    for e in &ev {
        assert!(
            e.reason.contains("distccd refuses '-aux-info=aux.txt'"),
            "{e:?}"
        );
        assert!(
            err.contains(&e.reason),
            "the warning shows the same text: {err}"
        );
    }
}

#[test]
fn a_dead_host_is_backed_off_then_skipped_with_a_reason() {
    let w = World::new();
    w.write("src/y.c", "int y(void) { return 3; }\n");
    let host = format!("127.0.0.1:{}", free_port());
    let mut c = client::ours(&w, &host);
    c.args(["gcc", "-c", "y.c", "-o", "y.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let ev = events(&w);
    assert_eq!(
        summary(&ev),
        vec![
            (EventKind::Backoff, host.clone(), "y.c".into()),
            (EventKind::Local, host.clone(), "y.c".into()),
        ]
    );
    assert!(ev[0].reason.contains("Connection refused"), "{ev:?}");
    assert_eq!(ev[0].pid, ev[1].pid);

    // The next compile finds the host in its backoff period.
    let mut c = client::ours(&w, &host);
    c.args(["gcc", "-c", "y.c", "-o", "y2.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let ev = events(&w);
    assert_eq!(ev.len(), 3);
    assert_eq!(
        (ev[2].kind, ev[2].host.as_str(), ev[2].reason.as_str()),
        (EventKind::Local, "", "every host is backed off")
    );

    // Without fallback the job fails, and says so.
    let mut c = client::ours(&w, &host);
    c.args(["gcc", "-c", "y.c", "-o", "y3.o"])
        .env("DISTCC_FALLBACK", "0")
        .env("DISTCC_BACKOFF_PERIOD", "0");
    let (code, err) = run(c);
    assert_eq!(code, 103, "{err}");
    let ev = events(&w);
    assert_eq!(
        summary(&ev[3..]),
        vec![
            (EventKind::Failed, host.clone(), "y.c".into()),
            (EventKind::Error, host.clone(), "y.c".into()),
        ]
    );
}
