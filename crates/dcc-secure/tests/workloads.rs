//! Real builds through the secure transport: `make -j4 CC="<our distcc> gcc"` of the lua
//! workload with `,secure` and `,secure,zstd`, every unit compiled on the helper
//! (`DISTCC_FALLBACK=0`) and every object byte-identical to a local build.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{keys, know, secure_daemon};
use dcc_testkit::{World, bins, compare, workload};

fn check(name: &str, options: &str) {
    let w = World::new();
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &["--require-auth"]);
    know(&w, d.addr(), &k.host);
    let reference = workload::reference_objects(name);
    let units = workload::units(&workload::prepare(name)).2.len();
    let build = w.path("build");
    let cc = format!("{} gcc", bins::ours("distcc").display());
    std::fs::create_dir_all(w.path("client_tmp")).unwrap();
    let out = workload::build(
        name,
        &build,
        &cc,
        4,
        &[
            ("DISTCC_HOSTS", &format!("{}{options}", d.host())),
            ("DISTCC_DIR", &w.path("distcc_dir").to_string_lossy()),
            ("TMPDIR", &w.path("client_tmp").to_string_lossy()),
            ("DISTCC_FALLBACK", "0"),
        ],
    );
    assert!(
        out.status.success(),
        "{name}{options} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "a clean build is silent"
    );
    let diffs = compare::trees(&reference, &build.join("obj"));
    assert!(diffs.is_empty(), "{name}{options}: {diffs:#?}");
    let log = d.wait_log(" COMPILE_OK ", units);
    assert_eq!(log.matches(" COMPILE_OK ").count(), units);
    assert_eq!(
        log.matches("secure session from").count(),
        units,
        "every job was secure"
    );
}

#[test]
fn lua_secure() {
    check("lua", ",secure");
}

#[test]
fn lua_secure_zstd() {
    check("lua", ",secure,zstd");
}
