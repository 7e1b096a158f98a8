//! Per-job temporary directories.
//!
//! distcc puts each job's files flat in `$TMPDIR` (`distccd_XXXXXXXX.i`, `.o`, `.stderr` ...)
//! and deletes them one by one. We give each job one private directory
//! `$TMPDIR/distccd_XXXXXX/` (mode 0700) holding everything it creates, and run the compiler
//! inside it, so:
//! - whatever the compiler writes beside its output stays inside the job's directory;
//! - cleanup is one `remove_dir_all`, after success, failure, a panic (Drop) or a signal
//!   (the [`Registry`] knows every live directory);
//! - `DISTCC_SAVE_TEMPS=1` keeps the directory, as distcc keeps its files.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Every live job directory, so a signal handler can remove them all.
#[derive(Debug, Default)]
pub struct Registry {
    dirs: Mutex<HashSet<PathBuf>>,
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    fn add(&self, p: &Path) {
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.to_owned());
    }

    fn remove(&self, p: &Path) {
        self.dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(p);
    }

    /// Number of live job directories.
    pub fn len(&self) -> usize {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every live directory (shutdown). Returns how many were removed.
    pub fn remove_all(&self) -> usize {
        let dirs: Vec<PathBuf> = self
            .dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        dirs.iter()
            .filter(|d| std::fs::remove_dir_all(d).is_ok())
            .count()
    }
}

/// A job's private directory; removed on drop unless kept.
#[derive(Debug)]
pub struct JobDir {
    path: PathBuf,
    keep: bool,
    registry: Arc<Registry>,
}

impl JobDir {
    /// Create `distccd_XXXXXX` in `tmpdir`, mode 0700.
    pub fn create(tmpdir: &Path, keep: bool, registry: Arc<Registry>) -> io::Result<JobDir> {
        let path = tempfile::Builder::new()
            .prefix("distccd_")
            .rand_bytes(6)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(tmpdir)?
            .keep();
        registry.add(&path);
        Ok(JobDir {
            path,
            keep,
            registry,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        self.registry.remove(&self.path);
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_private_and_removed_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::new();
        let d = JobDir::create(tmp.path(), false, reg.clone()).unwrap();
        let p = d.path().to_owned();
        assert!(
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("distccd_")
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::create_dir_all(d.file("a/b")).unwrap();
        std::fs::write(d.file("a/b/c.o"), b"x").unwrap();
        assert_eq!(reg.len(), 1);
        drop(d);
        assert!(!p.exists());
        assert!(reg.is_empty());
    }

    #[test]
    fn kept_when_saving_temps_and_registry_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::new();
        let kept = JobDir::create(tmp.path(), true, reg.clone()).unwrap();
        let p = kept.path().to_owned();
        drop(kept);
        assert!(p.exists());
        let live = JobDir::create(tmp.path(), false, reg.clone()).unwrap();
        let lp = live.path().to_owned();
        assert_eq!(reg.remove_all(), 1);
        assert!(!lp.exists());
        drop(live);
    }
}
