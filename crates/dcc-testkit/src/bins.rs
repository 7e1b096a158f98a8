//! Where the binaries under test are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The directory cargo puts binaries in (`target/<profile>`), found from the test executable
/// (`target/<profile>/deps/<test>-<hash>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Which workspace package builds each of our binaries.
pub const PACKAGES: &[(&str, &str)] = &[
    ("distcc", "dcc-client"),
    ("lsdistcc", "dcc-client"),
    ("distccd", "dcc-server"),
    ("distccmon-text", "dcc-monitor"),
    ("distccmon-top", "dcc-monitor"),
    ("distcc-keygen", "dcc-keygen"),
    ("update-distcc-symlinks", "dcc-tools"),
    ("dcc-gen", "dcc-gen"),
    ("dcc-bench", "dcc-bench"),
];

/// One of our binaries, built from the current sources.
///
/// `cargo test -p X` builds X's own binaries only: a test that runs another crate's binary
/// (a client test starting `distccd`) would otherwise run whatever build is lying in
/// `target/`, possibly from older sources. So the first call for each binary in a test
/// process runs `cargo build -p PACKAGE --bin NAME` (nothing to do when it is fresh) with the
/// test's own profile and target directory, and fails the test if that build fails.
pub fn ours(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let p = target_dir().join(name);
    let Some(package) = PACKAGES.iter().find(|(b, _)| *b == name).map(|(_, p)| *p) else {
        panic!("{name} is not one of our binaries (dcc_testkit::bins::PACKAGES)");
    };
    // Held while building: one cargo at a time from this process.
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.contains(name) {
        build(package, name);
        built.insert(name.to_owned());
    }
    assert!(
        p.exists(),
        "{} was not built by `cargo build -p {package} --bin {name}`",
        p.display()
    );
    p
}

/// `cargo build -p package --bin bin` into this test's target directory and profile.
fn build(package: &str, bin: &str) {
    let dir = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["build", "--locked", "--quiet", "-p", package, "--bin", bin]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => {}
    }
    if let Some(root) = dir.parent() {
        cmd.arg("--target-dir").arg(root);
    }
    let out = cmd.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p {package} --bin {bin} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A binary of Debian's distcc 3.4, the reference implementation.
pub fn reference(name: &str) -> PathBuf {
    let p = Path::new("/usr/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: the tests compare against Debian's distcc 3.4; install it with \
         `apt-get install -y distcc`",
        p.display()
    );
    p
}

/// Whether the process runs as root (daemons then drop to an unprivileged user).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every `[[bin]]` of every crate is in [`PACKAGES`], with the crate that declares it.
    #[test]
    fn every_binary_has_its_package() {
        let mut declared = BTreeSet::new();
        for e in std::fs::read_dir(workspace().join("crates")).unwrap() {
            let dir = e.unwrap().path();
            let Ok(toml) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
                continue;
            };
            let package = dir.file_name().unwrap().to_string_lossy().into_owned();
            let mut in_bin = false;
            for line in toml.lines().map(str::trim) {
                if line.starts_with('[') {
                    in_bin = line == "[[bin]]";
                } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
                    declared.insert((name.trim_matches('"').to_owned(), package.clone()));
                }
            }
        }
        let table: BTreeSet<(String, String)> = PACKAGES
            .iter()
            .map(|(b, p)| ((*b).to_owned(), (*p).to_owned()))
            .collect();
        assert!(declared.len() >= 8, "{declared:?}");
        assert_eq!(declared, table);
    }

    /// The newest modification time of the files under `dir`.
    fn newest(dir: &Path) -> SystemTime {
        let mut t = SystemTime::UNIX_EPOCH;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = if p.is_dir() {
                newest(&p)
            } else {
                std::fs::metadata(&p).unwrap().modified().unwrap()
            };
            t = t.max(m);
        }
        t
    }

    /// A binary from another crate is at least as new as that crate's sources once `ours`
    /// has returned it (a stale build would be older than the source edited after it).
    #[test]
    fn ours_is_built_from_the_current_sources() {
        let bin = ours("lsdistcc");
        let built = std::fs::metadata(&bin).unwrap().modified().unwrap();
        let sources = newest(&workspace().join("crates/dcc-client/src"));
        assert!(
            built >= sources,
            "{} is older than its sources",
            bin.display()
        );
        // Unknown names are refused rather than looked up blindly.
        assert!(std::panic::catch_unwind(|| ours("no-such-binary")).is_err());
    }
}
