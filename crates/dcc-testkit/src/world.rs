//! A per-test temporary world.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Temporary directories for one test: removed on drop.
#[derive(Debug)]
pub struct World {
    dir: tempfile::TempDir,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// Create the world: `distcc_dir/` (DISTCC_DIR, with `lock/` and `state/` created on
    /// demand by the client), `tmp/` (TMPDIR of daemons, mode 1777), `whitelist/` (empty).
    pub fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("dcc-test-")
            .tempdir()
            .expect("tempdir");
        // A daemon started as root drops to an unprivileged user: it must reach its TMPDIR and
        // its log file.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let w = World { dir };
        for d in ["distcc_dir", "tmp", "whitelist", "logs", "src", "out"] {
            std::fs::create_dir(w.path(d)).expect("mkdir");
        }
        for d in ["tmp", "logs"] {
            std::fs::set_permissions(w.path(d), std::fs::Permissions::from_mode(0o1777))
                .expect("chmod");
        }
        w
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the world.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Add whitelist entries (links to /usr/bin/distcc, as Debian's update-distcc-symlinks
    /// makes them) and return the directory.
    pub fn whitelist(&self, names: &[&str]) -> PathBuf {
        let dir = self.path("whitelist");
        for n in names {
            let l = dir.join(n);
            if std::fs::symlink_metadata(&l).is_err() {
                std::os::unix::fs::symlink("/usr/bin/distcc", &l).expect("symlink");
            }
        }
        dir
    }

    /// Write a file (creating parents) and return its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, contents).expect("write");
        p
    }

    /// Entries left in the daemons' TMPDIR (job directories that were not cleaned up).
    pub fn tmp_leftovers(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path("tmp"))
            .expect("read tmp")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            // Our daemon's header store (DIST 0x303) is kept across jobs by design.
            .filter(|n| !n.starts_with("distccd-rs-headers-"))
            .collect();
        v.sort();
        v
    }
}
