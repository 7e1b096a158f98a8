//! The project is MIT OR Apache-2.0: no crate in the dependency tree (normal, build or dev, of
//! the workspace and of the fuzz workspace) may be GPL, LGPL or AGPL, and every crate must
//! declare a licence we know to be permissive.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

/// Licence identifiers that may appear in an SPDX expression of a dependency.
const PERMISSIVE: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "CC0-1.0",
    "0BSD",
    "BSL-1.0",
    "MPL-2.0",
    "CDLA-Permissive-2.0",
];

fn check(manifest: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut bad = Vec::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().unwrap_or("?");
        let version = p["version"].as_str().unwrap_or("?");
        let Some(lic) = p["license"].as_str() else {
            bad.push(format!("{name} {version}: no licence field"));
            continue;
        };
        let ok = acceptable(lic);
        if !ok {
            bad.push(format!(
                "{name} {version}: {lic} (not on the permissive list)"
            ));
        }
    }
    bad
}

/// Whether an SPDX expression lets us use the crate under permissive terms. A GPL-family
/// licence is fine only as an alternative we need not take (`MIT OR Apache-2.0 OR
/// LGPL-2.1-or-later`): some OR branch must consist of permissive licences only.
fn acceptable(lic: &str) -> bool {
    let permissive = |t: &str| PERMISSIVE.iter().any(|p| t.eq_ignore_ascii_case(p));
    lic.split(" OR ").map(str::trim).any(|branch| {
        branch
            .trim_matches(|c| c == '(' || c == ')')
            .split(" AND ")
            .map(|t| t.trim().trim_matches(|c| c == '(' || c == ')'))
            .all(permissive)
    }) || lic.split('/').all(|t| permissive(t.trim()))
}

#[test]
fn the_licence_check_can_fail() {
    assert!(acceptable("MIT OR Apache-2.0"));
    assert!(acceptable("MIT OR Apache-2.0 OR LGPL-2.1-or-later"));
    assert!(acceptable("MIT/Apache-2.0"));
    assert!(acceptable("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(!acceptable("GPL-2.0"));
    assert!(!acceptable("GPL-2.0-or-later"));
    assert!(!acceptable("MIT AND GPL-3.0"));
    assert!(!acceptable("LGPL-3.0"));
    assert!(!acceptable("Proprietary"));
}

#[test]
fn no_gpl_in_the_dependency_tree() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut bad = check(&format!("{root}/Cargo.toml"));
    bad.extend(check(&format!("{root}/fuzz/Cargo.toml")));
    assert!(bad.is_empty(), "licence problems:\n{}", bad.join("\n"));
}
