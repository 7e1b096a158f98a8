//! Shared by this crate's integration tests.

use std::path::PathBuf;
use std::process::Command;

/// A binary of another workspace crate, built on demand (this crate depends on their
/// libraries only, so `cargo test -p dcc-tools` does not build them).
pub fn built(package: &str, bin: &str) -> PathBuf {
    let p = dcc_testkit::bins::target_dir().join(bin);
    if !p.exists() {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "-p", package, "--bin", bin]);
        if p.parent().is_some_and(|d| d.ends_with("release")) {
            cargo.arg("--release");
        }
        let st = cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(st.success(), "building {bin} failed");
    }
    assert!(p.exists(), "{} was not built", p.display());
    p
}

/// Fail with an install hint when a tool is missing.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: install it with `apt-get install -y {package}`"
    );
}
