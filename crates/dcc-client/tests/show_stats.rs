//! Issue 14, item 5: `distcc --show-stats` after a build through two helpers and one helper
//! that refuses this master (its `--allow` excludes the client), read on content: jobs per
//! host, the refusal with its reason, the local fallback with its reason; then
//! `--zero-stats`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

use dcc_testkit::client;
use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World};

fn run(mut c: Command) -> (i32, String, String) {
    let o = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn compile(w: &World, hosts: &str, file: &str) {
    let mut c = client::ours(w, hosts);
    c.args([
        "gcc",
        "-c",
        &format!("{file}.c"),
        "-o",
        &format!("{file}.o"),
    ]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(w.path(&format!("src/{file}.o")).exists());
}

fn show(w: &World, arg: &str) -> String {
    let mut c = client::ours(w, "");
    c.arg(arg);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    out
}

/// The row of `host` in the per-helper table, split into words.
fn row(report: &str, host: &str) -> Vec<String> {
    report
        .lines()
        .find(|l| l.starts_with(&format!("{host} ")))
        .unwrap_or_else(|| panic!("no row for {host}:\n{report}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn show_stats_counts_jobs_per_helper_refusals_and_fallbacks() {
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
    // Only the refusing helper, backed off: compiled here.
    compile(&w, &r, "d");

    let report = show(&w, "--show-stats");
    assert!(report.starts_with("distcc statistics since "), "{report}");
    assert!(
        report.contains("Compile requests sent to helpers                 3\n"),
        "{report}"
    );
    assert!(
        report.contains("Local fallbacks                                  1\n"),
        "{report}"
    );
    // HOST JOBS FAILED ...
    assert_eq!(row(&report, &h1)[1..3], ["1", "0"], "{report}");
    assert_eq!(row(&report, &h2)[1..3], ["2", "0"], "{report}");
    assert_eq!(row(&report, &r)[1..3], ["0", "1"], "{report}");
    let failures = report
        .split("Helper failures and refusals, why:")
        .nth(1)
        .unwrap_or_else(|| panic!("no failure reasons:\n{report}"));
    let refusal = failures
        .lines()
        .find(|l| l.contains(&r))
        .unwrap_or_else(|| panic!("no reason for {r}:\n{report}"));
    assert!(refusal.trim_start().starts_with("1 "), "{refusal}");
    assert!(
        refusal
            .split(&r)
            .nth(1)
            .is_some_and(|why| why.trim().len() > 5),
        "the reason is given: {refusal}"
    );
    let fallbacks = report
        .split("Local fallbacks, why:")
        .nth(1)
        .unwrap_or_else(|| panic!("no fallback reasons:\n{report}"));
    assert!(fallbacks.contains("every host is backed off"), "{report}");

    assert_eq!(show(&w, "--zero-stats"), "distcc statistics zeroed\n");
    let zeroed = show(&w, "--show-stats");
    assert!(
        zeroed.contains("Compile requests sent to helpers                 0\n"),
        "{zeroed}"
    );
    assert!(!zeroed.contains("Per helper:"), "{zeroed}");
}
