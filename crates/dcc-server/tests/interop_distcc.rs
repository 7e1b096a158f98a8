//! Debian's distcc 3.4 client builds real workloads through our distccd, protocols 1 and 2;
//! every object is byte-identical to a local gcc build and every unit ran on the daemon.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use dcc_testkit::{Daemon, World, compare, workload};

fn build_through_ours(name: &str, lzo: bool) {
    let w = World::new();
    let d = Daemon::ours(&w);
    let reference = workload::reference_objects(name);
    let units = workload::units(&workload::prepare(name)).2.len();
    let host = if lzo {
        format!("{},lzo", d.host())
    } else {
        d.host()
    };
    let build = w.path("build");
    let distcc_dir = w.path("distcc_dir");
    let out = workload::build(
        name,
        &build,
        "/usr/bin/distcc gcc",
        4,
        &[
            ("DISTCC_HOSTS", &host),
            ("DISTCC_DIR", &distcc_dir.to_string_lossy()),
            // A silent local fallback must fail the build, so "identical" means "remote".
            ("DISTCC_FALLBACK", "0"),
            ("DISTCC_SKIP_LOCAL_RETRY", "1"),
        ],
    );
    assert!(
        out.status.success(),
        "{name} through our distccd failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
    let diffs = compare::trees(&reference, &build.join("obj"));
    assert!(diffs.is_empty(), "{name}: {diffs:#?}");
    let log = d.wait_log(" COMPILE_OK ", units);
    assert_eq!(
        log.matches(" COMPILE_OK ").count(),
        units,
        "every unit ran remotely"
    );
    assert!(w.tmp_leftovers().is_empty(), "{:?}", w.tmp_leftovers());
}

#[test]
fn lua_protocol_1() {
    build_through_ours("lua", false);
}

#[test]
fn lua_protocol_2() {
    build_through_ours("lua", true);
}

#[test]
fn zstd_protocol_1() {
    build_through_ours("zstd", false);
}

#[test]
fn zstd_protocol_2() {
    build_through_ours("zstd", true);
}
