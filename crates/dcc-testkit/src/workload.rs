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
            .env(
                "WORKLOAD_SCRATCH",
                cache.join("scratch").to_string_lossy().into_owned(),
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
