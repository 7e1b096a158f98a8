//! Issue 4, scenario 5: helper B (10.3.0.6, first in DISTCC_HOSTS, so it gets work first) fails
//! during a build: its cable is cut, it is killed -9, it accepts and never answers, or its
//! link is slow. Every build finishes with correct objects; a dead helper is backed off, not
//! retried for every job. Time limits are generous bounds (the exact cost is a benchmark).

use std::time::Duration;

use dcc_testkit::DaemonKind;
use dcc_testkit::netns::Slowdown;
use dcc_testkit::netns::farm::{
    Build, Built, CLIENT, Helper, HelperOptions, SilentListener, build,
};

use crate::common::{Farm, WORKLOAD, assert_identical, backoff_name, wait_total};

/// The client's I/O timeout for these builds (distcc's default is 300 s).
const IO_TIMEOUT: &str = "5";

/// A build of 32 units that meets at most a few 5-second timeouts takes well under this; one
/// that waited for every job on the dead helper, or hung, would not.
const BOUND: Duration = Duration::from_secs(150);

fn start(f: &Farm, tag: &str, hosts: &str) -> Build {
    Build::start(
        &f.world,
        &f.master,
        tag,
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        &[("DISTCC_HOSTS", hosts), ("DISTCC_IO_TIMEOUT", IO_TIMEOUT)],
    )
}

fn finish(b: Build, what: &str) -> Built {
    let built = b.wait(Duration::from_secs(600));
    eprintln!(
        "{what}: {:?}, backoffs {:?}",
        built.elapsed,
        built.backoffs()
    );
    built.assert_success(what);
    assert_identical(&build::reference(WORKLOAD, "gcc"), &built.objects, what);
    assert!(
        built.elapsed < BOUND,
        "{what} took {:?} (bound {BOUND:?}): the dead helper was retried?",
        built.elapsed
    );
    built
}

fn helpers(f: &Farm) -> (Helper, Helper, String) {
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours));
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Ours));
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    (a, b, hosts)
}

#[test]
fn cut_link_mid_build() {
    let f = Farm::new();
    let (a, b, hosts) = helpers(&f);
    let run = start(&f, "cut", &hosts);
    b.wait_log(" COMPILE_OK ", 1);
    f.b.link_down();
    let before = b.count("COMPILE_OK");
    eprintln!("cable cut after B compiled {before}");
    let built = finish(run, "build with B's cable cut");
    assert!(
        built.backoffs().contains(&backoff_name(&b)),
        "B is backed off: {:?}",
        built.backoffs()
    );
    assert!(a.count("COMPILE_OK") > 0, "A took over");
    // Jobs already on B when the cable went may still finish there, unheard; nothing new
    // reaches it.
    assert!(b.count("COMPILE_OK") <= before + 4, "{}", b.log_text());
}

#[test]
fn helper_killed_mid_build() {
    let f = Farm::new();
    let (a, mut b, hosts) = helpers(&f);
    let run = start(&f, "kill", &hosts);
    b.wait_log(" COMPILE_OK ", 1);
    b.kill9();
    let built = finish(run, "build with B killed -9");
    assert!(
        built.backoffs().contains(&backoff_name(&b)),
        "B is backed off: {:?}",
        built.backoffs()
    );
    assert!(a.count("COMPILE_OK") > 0, "A took over");
}

#[test]
fn helper_that_accepts_and_never_answers() {
    let f = Farm::new();
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours));
    let silent = SilentListener::start(&f.b, 3632);
    let hosts = format!("10.3.0.6 {}", a.spec(None));
    let built = finish(start(&f, "silent", &hosts), "build with a silent B");
    assert!(
        built
            .backoffs()
            .iter()
            .any(|m| m == "backoff_tcp_10.3.0.6_3632_0"),
        "B is backed off: {:?}",
        built.backoffs()
    );
    // One wave of jobs (B's 4 slots, plus any that picked a slot as the first ones gave up)
    // meets the silence; then B is skipped.
    let units = build::units(WORKLOAD);
    eprintln!("silent B accepted {} connections", silent.accepted());
    assert!(silent.accepted() >= 1, "B was tried");
    assert!(
        silent.accepted() <= 8,
        "B was retried for {} of {units} jobs instead of being backed off",
        silent.accepted()
    );
    assert!(a.count("COMPILE_OK") > 0, "A did the work");
}

#[test]
fn slow_link_still_shares_work() {
    let f = Farm::new();
    let (a, b, hosts) = helpers(&f);
    let how = f.b.slow_link(50, 2000);
    assert!(matches!(
        how,
        Slowdown::NetemDelay { .. } | Slowdown::TbfRate { .. }
    ));
    let run = Build::start(
        &f.world,
        &f.master,
        "slow",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        // Slow is not dead: every compile still runs remotely, none times out.
        &[("DISTCC_HOSTS", &hosts), ("DISTCC_FALLBACK", "0")],
    );
    let built = finish(run, &format!("build with B's link slowed ({how:?})"));
    assert!(built.backoffs().is_empty(), "{:?}", built.backoffs());
    let units = build::units(WORKLOAD);
    let counts = wait_total(&[&a, &b], "COMPILE_OK", units);
    eprintln!("slow link: A {} B {}", counts[0], counts[1]);
    assert_eq!(counts.iter().sum::<usize>(), units);
    assert!(counts[1] > 0, "the slow helper still got work: {counts:?}");
}
