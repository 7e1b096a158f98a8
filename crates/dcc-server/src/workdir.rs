//! Per-job temporary directories.
//!
//! distcc puts each job's files flat in `$TMPDIR` (`distccd_XXXXXXXX.i`, `.o`, `.stderr` ...)
//! and deletes them one by one. We give each job one private directory
//! `$TMPDIR/distccd_XXXXXX/` (mode 0700) holding everything it creates, and run the compiler
//! inside it, so:
//! - whatever the compiler writes beside its output stays inside the job's directory;
//! - cleanup is one tree removal, after success, failure, a panic (Drop) or a signal
//!   (the [`Registry`] knows every live directory);
//! - `DISTCC_SAVE_TEMPS=1` keeps the directory, as distcc keeps its files.
//!
//! A pump client chooses the tree inside the directory, so removal never recurses (std's
//! `remove_dir_all` does, and a deep tree overflowed a runtime worker's stack): [`remove_tree`]
//! walks with an explicit stack, and a job's directory is removed on a blocking thread.
//!
//! Each live directory is held open with a shared `flock`, so [`sweep`] at start-up can tell
//! the directories a crashed daemon left behind (nobody holds them) from those of another
//! daemon sharing `$TMPDIR` (locked), and removes only the former.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::budget::DiskCharge;

/// The prefix of job directories (distcc's temp names start with it too).
pub const PREFIX: &str = "distccd_";
/// Random characters after the prefix.
const RAND_LEN: usize = 6;

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
        dirs.iter().filter(|d| remove_tree(d).is_ok()).count()
    }
}

/// Remove `path` and everything below it without recursion and without following links.
/// Memory is one path per directory level; the stack depth is constant. A missing `path` is
/// not an error (the directory may be gone already).
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => return std::fs::remove_file(path),
        Ok(_) => {}
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.last().cloned() {
        let mut subdirs = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            // DirEntry::file_type does not follow links: a link is removed, never entered.
            if entry.file_type()?.is_dir() {
                subdirs.push(entry.path());
            } else {
                match std::fs::remove_file(entry.path()) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        if subdirs.is_empty() {
            match std::fs::remove_dir(&dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            stack.pop();
        } else {
            // Visit the children; this directory is read again once they are gone.
            stack.extend(subdirs);
        }
    }
    Ok(())
}

/// `flock(2)` without blocking; whether the lock was taken.
fn try_flock(f: &File, op: libc::c_int) -> bool {
    // SAFETY: flock on a descriptor we own; no memory involved.
    unsafe { libc::flock(f.as_raw_fd(), op | libc::LOCK_NB) == 0 }
}

fn open_dir(p: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(p)
}

/// Whether `name` is a job directory's name (`distccd_` and six random characters).
fn is_job_dir_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .is_some_and(|r| r.len() == RAND_LEN && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Remove the job directories in `tmpdir` that belong to this user and that no live daemon
/// holds (left by a daemon that crashed or was killed). Returns how many were removed.
pub fn sweep(tmpdir: &Path) -> usize {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let Ok(rd) = std::fs::read_dir(tmpdir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in rd.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_job_dir_name) {
            continue;
        }
        let path = entry.path();
        let Ok(m) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !m.is_dir() || m.uid() != me {
            continue;
        }
        let Ok(lock) = open_dir(&path) else {
            continue;
        };
        // A live job holds a shared lock; the exclusive one is ours only for a dead job's
        // directory. Held while removing, so a daemon that just created this name and
        // has not locked it yet gives it up (see JobDir::create).
        if try_flock(&lock, libc::LOCK_EX) && remove_tree(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A job's private directory; removed on drop unless kept.
#[derive(Debug)]
pub struct JobDir {
    path: PathBuf,
    keep: bool,
    registry: Arc<Registry>,
    /// Open with a shared lock for the job's life (see [`sweep`]).
    lock: Option<File>,
    /// The disk budget the job's received bodies use, released once the directory is gone.
    charge: Option<DiskCharge>,
}

impl JobDir {
    /// Create `distccd_XXXXXX` in `tmpdir`, mode 0700, and lock it.
    pub fn create(tmpdir: &Path, keep: bool, registry: Arc<Registry>) -> io::Result<JobDir> {
        for _ in 0..8 {
            let path = tempfile::Builder::new()
                .prefix(PREFIX)
                .rand_bytes(RAND_LEN)
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .tempdir_in(tmpdir)?
                .keep();
            // A sweeping daemon may hold (and be removing) the new name: then take another.
            let Ok(lock) = open_dir(&path) else {
                continue;
            };
            let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| {
                a.dev() == b.dev() && a.ino() == b.ino()
            };
            if !try_flock(&lock, libc::LOCK_SH) {
                continue;
            }
            match (lock.metadata(), std::fs::symlink_metadata(&path)) {
                (Ok(a), Ok(b)) if same(&a, &b) => {}
                _ => continue,
            }
            registry.add(&path);
            return Ok(JobDir {
                path,
                keep,
                registry,
                lock: Some(lock),
                charge: None,
            });
        }
        Err(io::Error::other(
            "could not create and lock a job directory",
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the job's bodies charge the daemon's disk budget.
    pub fn charge(&mut self, budget: &crate::budget::Budget) -> &mut DiskCharge {
        self.charge.get_or_insert_with(|| budget.disk())
    }

    /// A path inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl JobDir {
    /// What removing the directory takes (the lock and the disk charge go after it), leaving
    /// `self` empty so that Drop does nothing more.
    fn take_removal(&mut self) -> Option<impl FnOnce() + Send + 'static> {
        let lock = self.lock.take()?;
        let charge = self.charge.take();
        let path = std::mem::take(&mut self.path);
        let registry = self.registry.clone();
        let keep = self.keep;
        // It stays registered (shutdown removes it) until it is gone.
        Some(move || {
            if !keep {
                let _ = remove_tree(&path);
            }
            registry.remove(&path);
            drop(lock);
            drop(charge);
        })
    }

    /// Remove the directory (unless kept) on a blocking thread, and wait for it: the tree is
    /// the client's and may be large or deep, which is no work for a runtime worker.
    pub async fn remove(mut self) {
        if let Some(job) = self.take_removal() {
            let _ = tokio::task::spawn_blocking(job).await;
        }
    }
}

impl Drop for JobDir {
    /// The fallback (an early return, a panic): removal starts on a blocking thread.
    fn drop(&mut self) {
        let Some(job) = self.take_removal() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(job);
            }
            Err(_) => job(),
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

    /// Hole 1 of issue 10: a pump tree 2000 directories deep overflowed the stack of the
    /// thread that removed it. Removal runs here on a 64 KiB stack.
    #[test]
    fn remove_tree_2000_deep_on_a_small_stack() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().join("distccd_deep00");
        let mut p = top.clone();
        std::fs::create_dir(&p).unwrap();
        for i in 0..2000 {
            p.push("d");
            std::fs::create_dir(&p).unwrap();
            if i % 500 == 0 {
                std::fs::write(p.join("f"), b"x").unwrap();
                std::os::unix::fs::symlink("/etc", p.join("l")).unwrap();
            }
        }
        std::fs::write(p.join("f"), b"x").unwrap();
        let t = top.clone();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || remove_tree(&t).unwrap())
            .unwrap()
            .join()
            .unwrap();
        assert!(!top.exists());
        assert!(
            std::path::Path::new("/etc/passwd").exists(),
            "links not followed"
        );
        remove_tree(&top).unwrap(); // already gone: fine
    }

    #[test]
    fn sweep_removes_dead_jobs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = Registry::new();
        let live = JobDir::create(tmp.path(), false, reg.clone()).unwrap();
        // A crashed daemon's directory: nobody holds it.
        let dead = tmp.path().join("distccd_Ab12Cd");
        std::fs::create_dir_all(dead.join("root/src")).unwrap();
        std::fs::write(dead.join("root/src/m.c"), b"int m;").unwrap();
        // Not ours by name.
        let other = tmp.path().join("distccd_toolongname");
        std::fs::create_dir(&other).unwrap();
        let plain = tmp.path().join("keep.txt");
        std::fs::write(&plain, b"x").unwrap();
        assert_eq!(sweep(tmp.path()), 1);
        assert!(!dead.exists());
        assert!(live.path().is_dir(), "a live job's directory is kept");
        assert!(other.exists() && plain.exists());
        drop(live);
        assert_eq!(sweep(tmp.path()), 0);
    }
}
