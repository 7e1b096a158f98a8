//! Issue 4, scenario 6: a mixed fleet. Two masters, one with Debian's distcc 3.4 client and one
//! with ours, build at the same time on helpers running our distccd (A) and Debian's (B).

use std::time::Duration;

use dcc_testkit::DaemonKind;
use dcc_testkit::netns::farm::{Build, CLIENT, Client, Helper, HelperOptions, addr, build};

use crate::common::{Farm, WORKLOAD, assert_identical, wait_total};

#[test]
fn debian_and_our_clients_share_our_and_debians_daemons() {
    let mut f = Farm::new();
    let master2 = f.net.host("master2", addr::MASTER2);
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours));
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Debian));
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    let env = [("DISTCC_HOSTS", hosts.as_str()), ("DISTCC_FALLBACK", "0")];
    let debian = Build::start(
        &f.world,
        &f.master,
        "debian-client",
        WORKLOAD,
        &Client::Debian.cc("gcc"),
        8,
        &env,
    );
    let ours = Build::start(
        &f.world,
        &master2,
        "our-client",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        &env,
    );
    let debian = debian.wait(Duration::from_secs(600));
    let ours = ours.wait(Duration::from_secs(600));
    debian.assert_success("Debian's client");
    ours.assert_success("our client");
    let reference = build::reference(WORKLOAD, "gcc");
    assert_identical(&reference, &debian.objects, "Debian's client");
    assert_identical(&reference, &ours.objects, "our client");

    let units = build::units(WORKLOAD);
    let counts = wait_total(&[&a, &b], "COMPILE_OK", 2 * units);
    assert_eq!(counts.iter().sum::<usize>(), 2 * units, "{counts:?}");
    for h in [&a, &b] {
        let jobs = h.jobs();
        for m in [addr::MASTER, addr::MASTER2] {
            assert!(
                jobs.iter()
                    .any(|j| j.client == m && j.result == "COMPILE_OK"),
                "{:?} daemon at {} served {m}: {jobs:?}",
                h.kind,
                h.addr()
            );
        }
    }
}
