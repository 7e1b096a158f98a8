//! The project's real C/C++ workloads (lua, zstd, sqlite, gtest), prepared once per machine.
//!
//! `scripts/workload.sh NAME DIR` (the one preparation the demo, the tests and the benchmarks
//! share) writes `DIR/Makefile`; the sources come from registry packages (crates.io crates that
//! bundle C sources, Debian's googletest). Preparing is cached in
//! `$DISTCC_RS_WORKLOAD_CACHE` (default: `<target>/workloads`), keyed by name, and guarded by
//! a lock file so parallel tests prepare once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workload script of this repository.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/workload.sh")
}

/// The names `scripts/workload.sh` knows.
pub fn names() -> Vec<String> {
    let o = Command::new("bash")
        .arg(script())
        .arg("--list")
        .output()
        .expect("run workload.sh --list");
    assert!(o.status.success(), "workload.sh --list failed");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Whether `dir` holds a Makefile that the current script wrote (an older cache is redone).
fn is_prepared(dir: &Path, name: &str) -> bool {
    std::fs::read_to_string(dir.join("Makefile"))
        .is_ok_and(|t| t.starts_with(&format!("# {name}: written by scripts/workload.sh")))
}

/// The directory holding the prepared Makefile of workload `name`.
pub fn prepare(name: &str) -> PathBuf {
    let cache = std::env::var_os("DISTCC_RS_WORKLOAD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::bins::target_dir().join("workloads"));
    let dir = cache.join(name);
    std::fs::create_dir_all(&cache).expect("mkdir cache");
    let lock = std::fs::File::create(cache.join(format!("{name}.lock"))).expect("lock file");
    // An exclusive flock serialises preparation between test processes.
    // SAFETY: flock on a descriptor we own.
    unsafe {
        libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX);
    }
    if !is_prepared(&dir, name) {
        let o = Command::new("bash")
            .arg(script())
            .arg(name)
            .arg(&dir)
            .output()
            .expect("run workload.sh");
        assert!(
            o.status.success(),
            "scripts/workload.sh {name} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    dir
}

/// Whether a prepared workload compiles C++ (`UNIT_LANG := c++`): its Makefile uses `$(CXX)`.
pub fn is_cxx(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Makefile"))
        .is_ok_and(|t| t.lines().any(|l| l == "UNIT_LANG := c++"))
}

/// The C++ driver that goes with a C driver in a make `CC` value: the last word's `gcc`
/// becomes `g++`, `clang` `clang++`, `cc` `c++` (`"/x/distcc gcc"` gives `"/x/distcc g++"`).
pub fn cxx_for(cc: &str) -> String {
    let (head, last) = cc.rsplit_once(' ').map_or(("", cc), |(h, l)| (h, l));
    let cxx = if let Some(p) = last.strip_suffix("gcc") {
        format!("{p}g++")
    } else if last.ends_with("clang") {
        format!("{last}++")
    } else if let Some(p) = last.strip_suffix("cc") {
        format!("{p}c++")
    } else {
        last.to_owned()
    };
    if head.is_empty() {
        cxx
    } else {
        format!("{head} {cxx}")
    }
}

/// Read the Makefile's `FLAGS` and the list of units `(object, source)` for driving a build
/// without make.
pub fn units(dir: &std::path::Path) -> (String, PathBuf, Vec<(String, String)>) {
    let mk = std::fs::read_to_string(dir.join("Makefile")).expect("Makefile");
    let mut src = PathBuf::new();
    let mut flags = String::new();
    let mut units = Vec::new();
    for l in mk.lines() {
        if let Some(s) = l.strip_prefix("SRC := ") {
            src = PathBuf::from(s);
        } else if let Some(f) = l.strip_prefix("FLAGS := ") {
            flags = f.to_owned();
        } else if let Some((obj, dep)) = l.split_once(": $(SRC)/") {
            units.push((obj.to_owned(), dep.to_owned()));
        }
    }
    (flags, src, units)
}

/// Run the workload's Makefile in `build_dir` with `make -jN CC=<cc>` and the given environment
/// (on top of a minimal one: PATH, HOME=build_dir). Returns make's output on failure as a panic.
pub fn build(
    name: &str,
    build_dir: &std::path::Path,
    cc: &str,
    jobs: u32,
    env: &[(&str, &str)],
) -> std::process::Output {
    let dir = prepare(name);
    std::fs::create_dir_all(build_dir).expect("mkdir build");
    let mut cmd = Command::new("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(build_dir)
        .arg("-f")
        .arg(dir.join("Makefile"))
        .arg(format!("-j{jobs}"))
        .arg(format!("CC={cc}"))
        .arg(format!("CXX={}", cxx_for(cc)))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", build_dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run make")
}

/// The objects of a plain local `make CC=gcc` build of workload `name`, built once per machine
/// and cached beside the prepared workload (`<cache>/<name>-reference/obj`).
pub fn reference_objects(name: &str) -> PathBuf {
    let dir = prepare(name);
    let out = dir.with_file_name(format!("{name}-reference"));
    let lock = std::fs::File::create(dir.with_file_name(format!("{name}-reference.lock")))
        .expect("lock file");
    // SAFETY: flock on a descriptor we own.
    unsafe {
        libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX);
    }
    if !out.join("done").exists() {
        let _ = std::fs::remove_dir_all(&out);
        let o = build(name, &out, "gcc", 4, &[]);
        assert!(
            o.status.success(),
            "local reference build of {name} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(out.join("done"), b"").expect("mark done");
    }
    out.join("obj")
}
