//! Dependency edges that must keep pointing one way (docs/ARCHITECTURE.md). Each check asks
//! `cargo tree` for one package's normal dependencies, resolved as if that package alone were
//! built, which is what its binaries link.
//!
//! - The `distcc` client starts once per compile: it links no async runtime and no CLI
//!   parser (dcc-secure's tokio adapter is behind the `tokio` feature only the daemon turns
//!   on; `distcc-keygen`'s clap/anyhow command line is the dcc-keygen crate). The one
//!   exception is mio, which mdns-sd (the `+zeroconf` browser) needs and nothing else may
//!   bring in.
//! - `update-distcc-symlinks` (dcc-tools), shipped and run by the package's hooks, links
//!   none of the daemon, monitor or secure crates: the man pages that need all of them are
//!   made by the dcc-gen crate, which is not shipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::process::Command;

/// `cargo tree -p PACKAGE -e normal` with one `name version` per line, plus `extra` options.
fn tree(package: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .args(extra)
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The crate names in a `--prefix none --format {p}` tree.
fn names(tree: &str) -> BTreeSet<&str> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// Which of `banned` appear in `tree`.
fn found<'a>(tree: &str, banned: &[&'a str]) -> Vec<&'a str> {
    let have = names(tree);
    banned
        .iter()
        .copied()
        .filter(|b| have.contains(b))
        .collect()
}

/// The crates that depend directly on `dep` (which must be in the tree) in `package`'s tree.
fn dependents(package: &str, dep: &str) -> BTreeSet<String> {
    let t = tree(package, &["-i", dep, "--depth", "1"]);
    names(&t)
        .into_iter()
        .filter(|n| *n != dep)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_check_can_fail() {
    let sample =
        "dcc-client v0.1.0 (/x)\nbytes v1.0.0\ntokio v1.0.0\ntokio-macros v2.0.0 (proc-macro)\n";
    assert_eq!(found(sample, &["tokio", "clap", "anyhow"]), ["tokio"]);
    assert!(found(sample, &["mio", "tokio-util"]).is_empty());
}

#[test]
fn the_client_links_no_runtime_and_no_cli_parser() {
    let t = tree("dcc-client", &[]);
    let bad = found(&t, &["tokio", "clap", "clap_builder", "anyhow"]);
    assert!(bad.is_empty(), "dcc-client links {bad:?}:\n{t}");
    if !names(&t).contains("mio") {
        return;
    }
    let mio = dependents("dcc-client", "mio");
    assert!(
        mio.iter().all(|d| d == "mdns-sd"),
        "only mdns-sd may bring mio into the client, not {mio:?}"
    );
}

#[test]
fn update_distcc_symlinks_links_no_daemon_monitor_or_secure_crate() {
    let t = tree("dcc-tools", &[]);
    let bad = found(
        &t,
        &[
            "dcc-server",
            "dcc-monitor",
            "dcc-secure",
            "dcc-keygen",
            "tokio",
            "clap_mangen",
        ],
    );
    assert!(bad.is_empty(), "dcc-tools links {bad:?}:\n{t}");
}
