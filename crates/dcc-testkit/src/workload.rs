//! The shared C workloads (../shared/workloads/workload.sh), prepared once per machine.
//!
//! `workload.sh NAME DIR` writes `DIR/Makefile`; the sources come from crates that `cargo
//! fetch` brings into the cargo registry. Preparing is cached in
//! `$DISTCC_RS_WORKLOAD_CACHE` (default: `<target>/workloads`), keyed by name, and guarded by
//! a lock file so parallel tests prepare once.

use std::path::PathBuf;
use std::process::Command;

/// The workload script, found from the workspace root.
pub fn script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .join("shared/workloads/workload.sh");
    assert!(
        root.exists(),
        "{} is missing: the workloads live in ../shared beside the project",
        root.display()
    );
    root
}

/// The directory holding the prepared Makefile of workload `name` (lua, zstd, sqlite).
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
    if !dir.join("Makefile").exists() {
        let st = Command::new("bash")
            .arg(script())
            .arg(name)
            .arg(&dir)
            // Outside the workspace: cargo would take a scratch crate under target/ for a
            // member of our workspace.
            .env(
                "WORKLOAD_SCRATCH",
                std::env::temp_dir().join("distcc-rs-workload-scratch"),
            )
            .status()
            .expect("run workload.sh");
        assert!(st.success(), "workload.sh {name} failed");
    }
    dir
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
