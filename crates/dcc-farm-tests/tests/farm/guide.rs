//! Issue 4, scenarios 1 and 2: the guide's farm spreads a real build over both helpers, and an
//! outsider on the same LAN is refused by both yet still builds.

use dcc_testkit::DaemonKind;
use dcc_testkit::netns::farm::{Build, CLIENT, Helper, HelperOptions, addr, build};

use crate::common::{Farm, WORKLOAD, assert_all_from, assert_identical, backoff_name, wait_total};

#[test]
fn make_j8_spreads_over_both_helpers_with_identical_objects() {
    let f = Farm::new();
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours).jobs(2));
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Ours).jobs(2));
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    assert_eq!(hosts, "10.3.0.6 10.3.0.2", "the guide's DISTCC_HOSTS");
    let built = Build::run(
        &f.world,
        &f.master,
        "master",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        // No fallback: a compile that did not run on a helper fails the build.
        &[("DISTCC_HOSTS", &hosts), ("DISTCC_FALLBACK", "0")],
    );
    eprintln!("farm build: {:?}", built.elapsed);
    built.assert_success("make -j8 through the farm");
    assert_identical(
        &build::reference(WORKLOAD, "gcc"),
        &built.objects,
        "farm build",
    );
    let units = build::units(WORKLOAD);
    let counts = wait_total(&[&a, &b], "COMPILE_OK", units);
    assert_eq!(
        counts.iter().sum::<usize>(),
        units,
        "every unit compiled on a helper"
    );
    assert!(
        counts.iter().all(|&c| c > 0),
        "both helpers shared the work: A {} B {}",
        counts[0],
        counts[1]
    );
    for h in [&a, &b] {
        assert_all_from(h, addr::MASTER);
        assert!(
            h.jobs().iter().all(|j| j.result == "COMPILE_OK"),
            "{}",
            h.log_text()
        );
    }
    assert!(built.backoffs().is_empty(), "{:?}", built.backoffs());
}

#[test]
fn an_outsider_is_refused_by_both_helpers_and_builds_locally() {
    let mut f = Farm::new();
    let outsider = f.net.host("outsider", addr::OUTSIDER);
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours));
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Ours));
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    let built = Build::run(
        &f.world,
        &outsider,
        "outsider",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        &[("DISTCC_HOSTS", &hosts)],
    );
    built.assert_success("the outsider's build (local fallback)");
    assert_identical(
        &build::reference(WORKLOAD, "gcc"),
        &built.objects,
        "outsider build",
    );
    for h in [&a, &b] {
        let denied = h.wait_log("connection from client '10.3.1.5", 1);
        assert!(
            denied.contains("denied by access list"),
            "{} names the outsider:\n{denied}",
            h.log.display()
        );
        assert_eq!(h.count("COMPILE_OK"), 0, "no compile ran:\n{denied}");
        assert_eq!(h.count("COMPILE_ERROR"), 0, "no compile ran:\n{denied}");
        assert!(
            built.backoffs().contains(&backoff_name(h)),
            "the outsider backed off {}: {:?}",
            h.addr(),
            built.backoffs()
        );
    }
}
