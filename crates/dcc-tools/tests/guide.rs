//! The guide's cross-toolchain recipe (docs/guide/cross.md) on loopback: a whitelist made
//! by update-distcc-symlinks, a toolchain daemon whose DISTCCD_PATH is a directory of plain
//! names linked to the cross compiler, and a master whose client sends plain `gcc` (as
//! distcc-rs's client does on an Arch Linux ARM board). The object must be AArch64, and a
//! name the toolchain lacks must be refused rather than run by the helper's native compiler.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::{Command, Output};

use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World};

const CROSS: &str = "/usr/bin/aarch64-linux-gnu-gcc";
const EM_AARCH64: u16 = 183;

fn compile(w: &World, distcc: &Path, daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(distcc)
        .args(args)
        .current_dir(w.path("src"))
        .env("DISTCC_HOSTS", daemon.host())
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("DISTCC_FALLBACK", "0")
        // An ARM master's client sends plain `gcc`; on this x86_64 machine ours would send
        // x86_64-linux-gnu-gcc.
        .env("DISTCC_NO_REWRITE_CROSS", "1")
        .env("TMPDIR", w.path("tmp"))
        .output()
        .unwrap()
}

#[test]
fn a_toolchain_daemon_compiles_plain_gcc_for_its_target_only() {
    common::require("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu");
    let distcc = dcc_testkit::bins::ours("distcc");
    dcc_testkit::bins::ours("distccd");
    let w = World::new();

    // Step 2: the whitelist, as the package makes it (here in the world).
    let wl = w.path("wl");
    let st = Command::new(env!("CARGO_BIN_EXE_update-distcc-symlinks"))
        .arg("--dir")
        .arg(&wl)
        .args(["--whitelist-only", "--dirs-file", "/nonexistent"])
        .status()
        .unwrap();
    assert!(st.success());
    for n in ["gcc", "g++", "aarch64-linux-gnu-gcc"] {
        assert!(wl.join(n).exists(), "{n} not whitelisted");
    }
    // Step 3: plain names for the toolchain (no g++: this toolchain has none).
    let bin = w.path("x-tools/distcc-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for n in ["gcc", "cc"] {
        std::os::unix::fs::symlink(CROSS, bin.join(n)).unwrap();
    }
    // Step 4: the toolchain daemon; DISTCCD_PATH is the toolchain only.
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .env("DISTCC_RS_WHITELIST_DIR", &wl.to_string_lossy())
            .env("DISTCCD_PATH", &bin.to_string_lossy()),
    );

    w.write("src/x.c", "int f(int a) { return a * 3; }\n");
    let out = compile(&w, &distcc, &d, &["gcc", "-O2", "-c", "x.c", "-o", "x.o"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
    let obj = std::fs::read(w.path("src/x.o")).unwrap();
    assert_eq!(&obj[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), EM_AARCH64);
    let log = d.wait_log("COMPILE_OK", 1);
    assert!(log.contains(" gcc x.c"), "{log}");

    // g++ is whitelisted (the helper's own) but not in the toolchain: refused, not run.
    w.write("src/y.cc", "int g() { return 1; }\n");
    let out = compile(&w, &distcc, &d, &["g++", "-c", "y.cc", "-o", "y.o"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(110), "{err}");
    assert!(err.contains("failed to exec g++"), "{err}");
    assert!(!w.path("src/y.o").exists());
}
