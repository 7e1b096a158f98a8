//! Issue 14, item 5: `distccmon-top`'s farm panel after a real build through two helpers and
//! one helper that refuses this master (its `--allow` excludes the client), read on content:
//! every helper of `DISTCC_HOSTS` has a row with its state, the slots some client holds now
//! and this master's jobs on it. Needs our `distcc` and `distccd` built.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

use dcc_testkit::client;
use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World};

const TOP: &str = env!("CARGO_BIN_EXE_distccmon-top");

fn compile(w: &World, hosts: &str, file: &str) {
    let mut c = client::ours(w, hosts);
    c.args([
        "gcc",
        "-c",
        &format!("{file}.c"),
        "-o",
        &format!("{file}.o"),
    ]);
    let o = c.output().expect("run distcc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(w.path(&format!("src/{file}.o")).exists());
}

fn top_once(w: &World, hosts: &str) -> String {
    let o = Command::new(TOP)
        .args(["--once", "--width", "160"])
        .env_clear()
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("DISTCC_HOSTS", hosts)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run distccmon-top");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    String::from_utf8(o.stdout).expect("utf-8 frame")
}

/// The farm panel's row of `host`, split into words (borders dropped).
fn row(frame: &str, host: &str) -> Vec<String> {
    let farm = frame
        .split(" Farm: ")
        .nth(1)
        .and_then(|rest| rest.split(" Hosts: ").next())
        .unwrap_or_else(|| panic!("no farm panel:\n{frame}"));
    farm.lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .find(|l| l.starts_with(&format!("{host} ")))
        .unwrap_or_else(|| panic!("no farm row for {host}:\n{frame}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn farm_panel_shows_two_helpers_and_a_refusing_one() {
    let w = World::new();
    for f in ["a", "b", "c", "d"] {
        w.write(
            &format!("src/{f}.c"),
            format!("int {f}(void) {{ return 7; }}\n"),
        );
    }
    let g1 = Daemon::ours(&w);
    let g2 = Daemon::ours(&w);
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.allow = vec!["127.0.0.2".into()];
    let refusing = Daemon::start(&w, o);
    let (r, h1, h2) = (refusing.host(), g1.host(), g2.host());

    // The refusing helper fails a.c (and is backed off); a.c then compiles on the first helper.
    compile(&w, &format!("{r} {h1} {h2}"), "a");
    compile(&w, &format!("{h2} {h1}"), "b");
    compile(&w, &format!("{h2} {h1}"), "c");
    compile(&w, &r, "d");

    // A client holding one of g1's slots right now (the lock is what a running job holds).
    let lock_dir = w.path("distcc_dir/lock");
    let lock_name = format!("tcp_127.0.0.1_{}", g1.port);
    let held = dcc_state::try_lock_slot(&lock_dir, &lock_name, 1)
        .unwrap()
        .expect("slot free");

    let hosts = format!("{r} {h1}/3 {h2}");
    let frame = top_once(&w, &hosts);
    // HELPER STATE SLOTS JOBS/MIN MINE FAILED WHY…
    assert_eq!(
        row(&frame, &h1)[1..6],
        ["up", "1/3", "0", "1", "0"],
        "{frame}"
    );
    assert_eq!(
        row(&frame, &h2)[1..6],
        ["up", "0/4", "0", "2", "0"],
        "{frame}"
    );
    let refused = row(&frame, &r);
    assert_eq!(
        refused[1..7],
        ["refusing", "0/4", "0", "0", "1", "refuses"],
        "{frame}"
    );
    assert!(refused.len() > 8, "the reason is given: {frame}");

    // The slot released: nobody holds it.
    drop(held);
    let frame = top_once(&w, &hosts);
    assert_eq!(row(&frame, &h1)[1..3], ["up", "0/3"], "{frame}");

    // No host list: no farm panel.
    let frame = top_once(&w, "");
    assert!(!frame.contains(" Farm: "), "{frame}");
}
