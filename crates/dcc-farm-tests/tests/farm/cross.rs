//! Issue 4, scenarios 3 and 4: cross compiling for aarch64 as the guide does (a whitelist link
//! on the helper that has the toolchain), and a second daemon per helper on port 3932 for that
//! toolchain, addressed as `host:3932/4`.

use std::path::Path;
use std::time::Duration;

use dcc_testkit::DaemonKind;
use dcc_testkit::netns::farm::{Build, CLIENT, Helper, HelperOptions, addr, build, http_get};

use crate::common::{
    Farm, WORKLOAD, assert_all_from, assert_identical, backoff_name, require_tool, wait_total,
};

const CROSS: &str = "aarch64-linux-gnu-gcc";

/// ELF machine number of AArch64.
const EM_AARCH64: u16 = 183;

/// Every object under `dir` is an AArch64 ELF file (so the comparison is of cross objects).
fn assert_aarch64(dir: &Path) {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("objects").flatten() {
        let b = std::fs::read(e.path()).expect("read object");
        assert!(
            b.len() > 20 && &b[..4] == b"\x7fELF",
            "{}",
            e.path().display()
        );
        assert_eq!(
            u16::from_le_bytes([b[18], b[19]]),
            EM_AARCH64,
            "{}",
            e.path().display()
        );
        n += 1;
    }
    assert!(n > 0, "no objects in {}", dir.display());
}

#[test]
fn a_helper_with_the_whitelist_link_cross_compiles_and_one_without_refuses() {
    require_tool(CROSS, "gcc-aarch64-linux-gnu");
    let f = Farm::new();
    // A has the toolchain and the guide's link; B has the toolchain installed (same machine)
    // but no link, so it must refuse.
    let a = Helper::start(
        &f.world,
        &f.a,
        HelperOptions::new(DaemonKind::Ours).whitelist_add(CROSS),
    );
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Ours));
    let reference = build::reference(WORKLOAD, CROSS);
    assert_aarch64(&reference);
    let units = build::units(WORKLOAD);

    let on_a = Build::run(
        &f.world,
        &f.master,
        "cross-a",
        WORKLOAD,
        &CLIENT.cc(CROSS),
        8,
        &[("DISTCC_HOSTS", &a.spec(None)), ("DISTCC_FALLBACK", "0")],
    );
    on_a.assert_success("cross build on the helper with the link");
    assert_identical(&reference, &on_a.objects, "cross build on A");
    assert_eq!(wait_total(&[&a], "COMPILE_OK", units), vec![units]);
    assert!(
        a.jobs().iter().all(|j| j.compiler == CROSS),
        "A ran the cross compiler: {:?}",
        a.jobs()
    );
    assert_all_from(&a, addr::MASTER);

    let on_b = Build::run(
        &f.world,
        &f.master,
        "cross-b",
        WORKLOAD,
        &CLIENT.cc(CROSS),
        8,
        &[("DISTCC_HOSTS", &b.spec(None))],
    );
    on_b.assert_success("cross build falling back from the helper without the link");
    assert_identical(&reference, &on_b.objects, "cross build refused by B");
    let refusal = b.wait_log(&format!("{CROSS} not in"), 1);
    assert!(refusal.contains("whitelist"), "{refusal}");
    assert_eq!(b.count("COMPILE_OK"), 0, "B compiled nothing:\n{refusal}");
    assert!(
        on_b.backoffs().contains(&backoff_name(&b)),
        "{:?}",
        on_b.backoffs()
    );
}

/// The `dcc_compile_ok` figure of a stats page.
fn compile_ok(page: &str) -> usize {
    page.lines()
        .find_map(|l| l.strip_prefix("dcc_compile_ok "))
        .unwrap_or_else(|| panic!("no dcc_compile_ok in:\n{page}"))
        .trim()
        .parse()
        .expect("a count")
}

#[test]
fn a_second_daemon_per_helper_serves_the_cross_toolchain_on_port_3932() {
    require_tool(CROSS, "gcc-aarch64-linux-gnu");
    let f = Farm::new();
    let native = |h| {
        Helper::start(
            &f.world,
            h,
            HelperOptions::new(DaemonKind::Ours).stats_port(3633),
        )
    };
    // The guide's distccd8 unit: `--port 3932 --stats-port 3933`, its own log, its own
    // toolchain (only the cross compiler is whitelisted).
    let cross = |h| {
        Helper::start(
            &f.world,
            h,
            HelperOptions::new(DaemonKind::Ours)
                .port(3932)
                .stats_port(3933)
                .whitelist(&[CROSS]),
        )
    };
    let (a, b, a8, b8) = (native(&f.a), native(&f.b), cross(&f.a), cross(&f.b));
    assert_ne!(a.log, a8.log, "each daemon has its own log");
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    let hosts8 = format!("{} {}", b8.spec(Some(4)), a8.spec(Some(4)));
    assert_eq!(hosts8, "10.3.0.6:3932/4 10.3.0.2:3932/4");

    // Both toolchains at once, as two packages building side by side.
    let nat = Build::start(
        &f.world,
        &f.master,
        "native",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        8,
        &[("DISTCC_HOSTS", &hosts), ("DISTCC_FALLBACK", "0")],
    );
    let arm = Build::start(
        &f.world,
        &f.master,
        "aarch64",
        WORKLOAD,
        &CLIENT.cc(CROSS),
        8,
        &[("DISTCC_HOSTS", &hosts8), ("DISTCC_FALLBACK", "0")],
    );
    let nat = nat.wait(Duration::from_secs(600));
    let arm = arm.wait(Duration::from_secs(600));
    nat.assert_success("native build on port 3632");
    arm.assert_success("cross build on port 3932");
    assert_identical(&build::reference(WORKLOAD, "gcc"), &nat.objects, "native");
    assert_identical(&build::reference(WORKLOAD, CROSS), &arm.objects, "aarch64");

    let units = build::units(WORKLOAD);
    let n = wait_total(&[&a, &b], "COMPILE_OK", units);
    let n8 = wait_total(&[&a8, &b8], "COMPILE_OK", units);
    assert_eq!(n.iter().sum::<usize>(), units, "native jobs on 3632: {n:?}");
    assert_eq!(
        n8.iter().sum::<usize>(),
        units,
        "cross jobs on 3932: {n8:?}"
    );
    assert!(
        n8.iter().all(|&c| c > 0),
        "both helpers' 3932 daemons worked: {n8:?}"
    );
    for h in [&a, &b] {
        assert!(
            h.jobs().iter().all(|j| j.compiler != CROSS),
            "no cross job reached port 3632: {:?}",
            h.jobs()
        );
    }
    for h in [&a8, &b8] {
        assert!(
            h.jobs().iter().all(|j| j.compiler == CROSS),
            "only cross jobs on port 3932: {:?}",
            h.jobs()
        );
    }
    // Each daemon's stats page counts its own jobs.
    for h in [&a, &b, &a8, &b8] {
        let page = http_get(&f.master, h.addr(), h.stats_port.expect("stats"));
        assert_eq!(compile_ok(&page), h.count("COMPILE_OK"), "{page}");
    }
}
