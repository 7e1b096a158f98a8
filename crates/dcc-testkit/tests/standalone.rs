//! The project stands on its own: every workload is prepared by the repository's own
//! `scripts/workload.sh` from registry packages, and nothing in the repository reads or points
//! to a directory beside it. CI also runs this file in a fresh clone that has nothing beside it
//! (scripts/test.sh, "clone without neighbours").
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use dcc_testkit::workload;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_workload_prepares_with_real_sources() {
    let names = workload::names();
    for want in ["lua", "zstd", "sqlite", "gtest"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for name in &names {
        let dir = workload::prepare(name);
        let (flags, src, units) = workload::units(&dir);
        assert!(!flags.is_empty(), "{name}: no FLAGS");
        assert!(!units.is_empty(), "{name}: no units");
        for (obj, source) in &units {
            assert!(
                obj.starts_with("obj/") && obj.ends_with(".o"),
                "{name}: {obj}"
            );
            let path = src.join(source);
            let len = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", path.display()))
                .len();
            assert!(len > 0, "{name}: {} is empty", path.display());
        }
        assert_eq!(workload::is_cxx(&dir), name == "gtest", "{name}");
    }
}

#[test]
fn an_unknown_workload_is_a_clear_error() {
    let o = std::process::Command::new("bash")
        .arg(workload::script())
        .args(["no-such-workload", "/nonexistent/x"])
        .output()
        .expect("run workload.sh");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown workload 'no-such-workload'"), "{err}");
    assert!(err.contains("lua"), "names the known ones: {err}");
}

#[test]
fn the_cxx_driver_follows_the_c_driver() {
    assert_eq!(workload::cxx_for("gcc"), "g++");
    assert_eq!(
        workload::cxx_for("/usr/bin/distcc gcc"),
        "/usr/bin/distcc g++"
    );
    assert_eq!(
        workload::cxx_for("distcc aarch64-linux-gnu-gcc"),
        "distcc aarch64-linux-gnu-g++"
    );
    assert_eq!(workload::cxx_for("distcc clang"), "distcc clang++");
    assert_eq!(workload::cxx_for("cc"), "c++");
}

/// Files of the repository that git tracks (the clone's content).
fn tracked() -> Vec<PathBuf> {
    let o = std::process::Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["ls-files", "-z"])
        .output()
        .expect("git ls-files");
    assert!(o.status.success());
    o.stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| repo().join(String::from_utf8_lossy(p).as_ref()))
        .collect()
}

/// No script, test, benchmark or document leans on the directory beside the repository: the only
/// mention allowed is README.md's sentence naming it as optional reference for the team.
#[test]
fn nothing_points_beside_the_repository() {
    let needle = ["..", "/shared"].concat();
    let mut hits = Vec::new();
    for f in tracked() {
        let Ok(text) = std::fs::read(&f) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let rel = f.strip_prefix(repo()).unwrap_or(&f).to_path_buf();
        for (i, line) in text.lines().enumerate() {
            if line.contains(&needle)
                && !(rel == Path::new("README.md") && line.contains("optional"))
            {
                hits.push(format!("{}:{}: {line}", rel.display(), i + 1));
            }
        }
    }
    assert!(hits.is_empty(), "{hits:#?}");
}
