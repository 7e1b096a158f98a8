//! For every unit of the project's workloads (lua, zstd, sqlite, GoogleTest/GoogleMock), the
//! scanner's manifest holds every file gcc itself reports reading (`gcc -M`), and the unit
//! preprocesses to the same text in a root that holds only the manifest's shipped files.
//! The over-approximation (manifest files / gcc's files) is printed per workload.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{complete, files, gcc_deps, same_in_root, words};
use dcc_include::Scanner;
use dcc_testkit::workload;

fn check(name: &str) {
    let dir = workload::prepare(name);
    let compiler = if workload::is_cxx(&dir) { "g++" } else { "gcc" };
    check_with(name, compiler);
}

fn check_with(name: &str, compiler: &str) {
    let dir = workload::prepare(name);
    let (flags, src, units) = workload::units(&dir);
    let flags = words(&flags);
    let cache = tempfile::tempdir().expect("tmp");
    let scanner = Scanner {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Scanner::default()
    };
    let (mut ours, mut gccs, mut worst) = (0usize, 0usize, (0f64, String::new()));
    for (_, unit) in &units {
        let mut argv = vec![compiler.to_owned()];
        argv.extend(flags.iter().cloned());
        argv.extend(words(&format!("-c {unit} -o /dev/null")));
        let m = complete(&scanner, compiler, &argv, &src);
        let mine = files(&m);
        let mut gflags = flags.clone();
        gflags.push(unit.clone());
        let theirs = gcc_deps(compiler, &gflags, &src);
        let missing: Vec<_> = theirs.difference(&mine).collect();
        assert!(
            missing.is_empty(),
            "{name} {unit}: the manifest lacks {missing:?}"
        );
        ours += mine.len();
        gccs += theirs.len();
        let ratio = mine.len() as f64 / theirs.len() as f64;
        if ratio > worst.0 {
            worst = (ratio, unit.clone());
        }
    }
    eprintln!(
        "{name} ({compiler}): {} units, manifest files {ours}, gcc -M files {gccs}, ratio {:.2} (worst {:.2}: {})",
        units.len(),
        ours as f64 / gccs as f64,
        worst.0,
        worst.1
    );
}

/// The cross case of issue 12: an aarch64 compiler whose search path has `..` in it and whose
/// C library headers live in /usr/aarch64-linux-gnu (scripts/install-deps.sh installs it).
#[test]
fn lua_manifests_hold_what_the_aarch64_cross_compiler_reads() {
    check_with("lua", "aarch64-linux-gnu-gcc");
    check_in_root_with("lua", "aarch64-linux-gnu-gcc", 8);
}

/// The strongest check: gcc in a root with only the shipped files gives the same text.
fn check_in_root(name: &str, max_units: usize) {
    let dir = workload::prepare(name);
    let compiler = if workload::is_cxx(&dir) { "g++" } else { "gcc" };
    check_in_root_with(name, compiler, max_units);
}

fn check_in_root_with(name: &str, compiler: &str, max_units: usize) {
    let dir = workload::prepare(name);
    let (flags, src, units) = workload::units(&dir);
    let flags = words(&flags);
    let scanner = Scanner::default();
    for (_, unit) in units.iter().take(max_units) {
        let mut argv = vec![compiler.to_owned()];
        argv.extend(flags.iter().cloned());
        argv.extend(words(&format!("-c {unit}")));
        let m = complete(&scanner, compiler, &argv, &src);
        same_in_root(compiler, &m, &flags, unit, &src);
    }
}

#[test]
fn lua_manifests_hold_what_gcc_reads() {
    check("lua");
}

#[test]
fn zstd_manifests_hold_what_gcc_reads() {
    check("zstd");
}

#[test]
fn sqlite_manifest_holds_what_gcc_reads() {
    check("sqlite");
}

#[test]
fn gtest_manifests_hold_what_gcc_reads() {
    check("gtest");
}

#[test]
fn lua_preprocesses_the_same_with_only_the_manifest() {
    check_in_root("lua", usize::MAX);
}

#[test]
fn zstd_preprocesses_the_same_with_only_the_manifest() {
    check_in_root("zstd", usize::MAX);
}

#[test]
fn gtest_preprocesses_the_same_with_only_the_manifest() {
    check_in_root("gtest", 4);
}

/// Four threads scan every lua unit at once through one fresh cache directory (entries written
/// and read concurrently): every manifest equals the one scanned without a cache.
#[test]
fn concurrent_scans_through_one_cache_agree_with_uncached_scans() {
    let dir = workload::prepare("lua");
    let (flags, src, units) = workload::units(&dir);
    let argvs: Vec<Vec<String>> = units
        .iter()
        .map(|(_, u)| {
            let mut a = vec!["gcc".to_owned()];
            a.extend(words(&flags));
            a.extend(words(&format!("-c {u}")));
            a
        })
        .collect();
    let expected: Vec<Vec<u8>> = argvs
        .iter()
        .map(|a| complete(&Scanner::default(), "gcc", a, &src).to_text())
        .collect();
    let cache = tempfile::tempdir().expect("tmp");
    let scanner = Scanner {
        cache_dir: Some(cache.path().to_path_buf()),
        racy_window: Some(std::time::Duration::ZERO),
        ..Scanner::default()
    };
    std::thread::scope(|s| {
        for t in 0..4 {
            let (scanner, argvs, expected, src) = (&scanner, &argvs, &expected, &src);
            s.spawn(move || {
                for round in 0..2 {
                    for (n, a) in argvs.iter().enumerate().skip(t * 3) {
                        let got = complete(scanner, "gcc", a, src).to_text();
                        assert!(
                            got == expected[n],
                            "thread {t} round {round}: {a:?} differs"
                        );
                    }
                }
            });
        }
    });
}
