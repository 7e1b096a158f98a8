//! Where the binaries under test are.

use std::path::{Path, PathBuf};

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

/// One of our binaries (`distcc`, `distccd`, `distccmon-text`, `lsdistcc`). Panics with a
/// clear message if it has not been built.
pub fn ours(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --workspace` (or `cargo test --workspace`) first",
        p.display()
    );
    p
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
