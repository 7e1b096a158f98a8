//! The Debian package itself, built with cargo-deb from this build's binaries: lintian finds
//! no error or warning, and installing it over a configured, enabled Debian distcc in a
//! throwaway root (tests/deb/upgrade.sh: an overlay over / in private mount, network and pid
//! namespaces) keeps a working helper with the old settings, keeps distcc-pump, and purging
//! and reinstalling leave nothing behind. Nothing touches this machine's /etc or /usr.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The .deb, built once per test process: the workspace's binaries of this build's profile,
/// packaged with `cargo deb --no-build` (no release build just for the tests).
fn deb() -> &'static Path {
    static DEB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DEB.get_or_init(|| {
        let cargo_deb = Command::new(env!("CARGO"))
            .args(["deb", "--version"])
            .output();
        assert!(
            cargo_deb.is_ok_and(|o| o.status.success()),
            "cargo-deb is missing: `cargo install cargo-deb --version 3.8.0 --locked` \
             (scripts/install-deps.sh does)"
        );
        let release = dcc_testkit::bins::target_dir().ends_with("release");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--locked", "--bins"]);
        for p in [
            "dcc-client",
            "dcc-server",
            "dcc-monitor",
            "dcc-secure",
            "dcc-tools",
        ] {
            build.args(["-p", p]);
        }
        if release {
            build.arg("--release");
        }
        let st = build.current_dir(root()).status().expect("cargo build");
        assert!(st.success(), "building the binaries failed");
        let out = tempfile::tempdir().unwrap();
        let o = Command::new(env!("CARGO"))
            .args([
                "deb",
                "-p",
                "dcc-package",
                "--no-build",
                "--no-dbgsym",
                "--fast",
            ])
            .args(["--profile", if release { "release" } else { "dev" }])
            .arg("-o")
            .arg(out.path())
            .current_dir(root())
            .output()
            .expect("cargo deb");
        assert!(
            o.status.success(),
            "cargo deb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let deb = std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .expect("no .deb written");
        (out, deb)
    })
    .1
}

#[test]
fn lintian_reports_no_error_or_warning() {
    common::require("lintian", "lintian");
    let out = Command::new("lintian")
        // Every tag, overrides (packaging/debian/lintian-overrides, each with its reason)
        // applied; no user configuration.
        .args(["--no-cfg", "--display-level", ">=pedantic"])
        .arg(deb())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .collect();
    assert!(bad.is_empty(), "lintian:\n{}", bad.join("\n"));
    // lintian ran on the package (a tag line or nothing), not into an error of its own.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.lines()
            .any(|l| !l.is_empty() && !l.contains("root privileges is not recommended")),
        "lintian: {err}"
    );
    // The three fixes lintian asked for, present in the package.
    let control = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(deb())
        .arg("Maintainer")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&control.stdout).contains('@'));
    let files = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb())
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&files.stdout);
    for f in [
        "./usr/share/doc/distcc-rs/changelog.Debian.gz",
        "./usr/share/man/man8/update-distcc-symlinks.8",
        "./usr/share/lintian/overrides/distcc-rs",
    ] {
        assert!(files.contains(f), "{f} not in the package:\n{files}");
    }
}

/// The changelog's newest entry is this version (cargo-deb names the package from
/// Cargo.toml, the changelog is written by hand).
#[test]
fn the_debian_changelog_names_this_version() {
    let text = std::fs::read_to_string(root().join("packaging/debian/changelog")).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("distcc-rs ({}-1) ", env!("CARGO_PKG_VERSION"))),
        "{first}"
    );
}

#[test]
fn installing_over_debians_distcc_keeps_a_working_helper() {
    assert!(
        dcc_testkit::bins::is_root(),
        "this test mounts a throwaway root and runs dpkg in it: it needs root (CI runs as root)"
    );
    for (tool, pkg) in [
        ("unshare", "util-linux"),
        ("ss", "iproute2"),
        ("setpriv", "util-linux"),
        ("dpkg", "dpkg"),
    ] {
        common::require(tool, pkg);
    }
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--net", "--pid", "--fork", "--mount-proc"])
        .arg("sh")
        .arg(root().join("crates/dcc-tools/tests/deb/upgrade.sh"))
        .arg(work.path())
        .arg(deb())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("upgrade.sh: all checks passed"),
        "{stdout}\n{stderr}"
    );
}
