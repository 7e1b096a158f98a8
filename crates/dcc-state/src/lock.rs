//! Slot locks: fcntl write locks on `$DISTCC_DIR/lock/cpu_<host>_<slot>` (distcc src/lock.c).
//!
//! distcc opens the file `O_WRONLY|O_CREAT` with mode 0666 and takes a non-blocking
//! `fcntl(F_SETLK)` write lock on the whole file; the files are never deleted. flock(2) locks do
//! not see fcntl locks on Linux, so only an fcntl lock shares slots with C clients.
//!
//! We take *open file description* locks (`F_OFD_SETLK`) rather than classic POSIX ones. The
//! kernel makes the two kinds conflict with each other, so C distcc's locks and ours exclude each
//! other exactly as two C clients' do (tests/interop.rs checks both directions). OFD locks
//! remove the two traps of POSIX locks inside one process: closing *any* descriptor of the file
//! drops a POSIX lock, and a process never conflicts with itself, so two threads (or a waiter's
//! probe cache and a held lock) could both "own" slot 0. With OFD locks a lock belongs to its
//! [`SlotLock`] alone and lives exactly as long as it. Kernels older than 3.15 lack OFD locks;
//! there we fall back to `F_SETLK`. The fcntl calls are dcc_common::sys::lock's.
//!
//! Releasing is closing: dropping a [`SlotLock`] closes its descriptor, which also gives
//! inotify watchers (our [`crate::SlotWaiter`]) the close event they wait for. The descriptor
//! is close-on-exec, so compilers we start never hold it.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use dcc_common::sys::lock::{LockKind, Owner, Wait, lock};

use crate::{StateError, concat_path};

/// The lock name of the local machine (`cpu_localhost_<slot>`).
pub const LOCALHOST_LOCK_NAME: &str = "localhost";

/// distcc src/where.c `dcc_lock_one` never looks past slot 9999.
const MAX_SLOTS: u32 = 10_000;

/// The lock name of a TCP host: `tcp_<hostname>_<port>` (hostname without user or options).
pub fn lock_name_tcp(host: &str, port: u16) -> String {
    format!("tcp_{host}_{port}")
}

/// The lock name of an SSH host: `ssh_<hostname>`.
pub fn lock_name_ssh(host: &str) -> String {
    format!("ssh_{host}")
}

/// `<lock_dir>/cpu_<name>_<slot>`.
pub fn slot_path(lock_dir: &Path, host_lock_name: &str, slot: u32) -> PathBuf {
    concat_path(lock_dir, &format!("cpu_{host_lock_name}_{slot}"))
}

/// A held slot. The lock is released when this is dropped.
#[derive(Debug)]
pub struct SlotLock {
    /// Held only for its lock: closing it (on drop) releases the slot.
    _file: File,
    path: PathBuf,
    slot: u32,
}

impl SlotLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slot number (what distccmon-text shows in brackets).
    pub fn slot(&self) -> u32 {
        self.slot
    }
}

/// Try once, without blocking, to lock slot `slot` of a host. `Ok(None)` means busy, whether
/// another process or another part of this one holds it.
pub fn try_lock_slot(
    lock_dir: &Path,
    host_lock_name: &str,
    slot: u32,
) -> Result<Option<SlotLock>, StateError> {
    let path = slot_path(lock_dir, host_lock_name, slot);
    let file = open_lock_file(&path)?;
    lock_probe(file, path, slot).map(|r| r.ok())
}

/// distcc src/where.c `dcc_lock_one`, one pass: for slot 0, 1, ...: for each host in list
/// order: if the slot is below the host's limit and free, take it. So slot 0 of every host is
/// filled before slot 1 of any, and the first hosts are preferred. Returns the index of the
/// chosen host and its lock, or `None` when every slot is busy (then wait with a
/// [`crate::SlotWaiter`] and call again).
pub fn pick_slot<S: AsRef<str>>(
    lock_dir: &Path,
    hosts: &[(S, u32)],
) -> Result<Option<(usize, SlotLock)>, StateError> {
    scan(hosts, |name, slot| try_lock_slot(lock_dir, name, slot))
}

/// The slot order of `dcc_lock_one`, with the probe supplied by the caller.
pub(crate) fn scan<S: AsRef<str>>(
    hosts: &[(S, u32)],
    mut probe: impl FnMut(&str, u32) -> Result<Option<SlotLock>, StateError>,
) -> Result<Option<(usize, SlotLock)>, StateError> {
    let max = hosts.iter().map(|h| h.1).max().unwrap_or(0).min(MAX_SLOTS);
    for slot in 0..max {
        for (i, (name, limit)) in hosts.iter().enumerate() {
            if slot < *limit
                && let Some(lock) = probe(name.as_ref(), slot)?
            {
                return Ok(Some((i, lock)));
            }
        }
    }
    Ok(None)
}

/// distcc src/lock.c `dcc_open_lockfile`: `O_WRONLY|O_CREAT`, mode 0666 (& ~umask).
pub(crate) fn open_lock_file(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path)
        .map_err(|source| StateError::OpenLock {
            path: path.to_owned(),
            source,
        })
}

/// Try to lock an open lock file. `Ok(Err(file))` hands the file back when the slot is busy,
/// so a caller that caches probes can keep it open.
pub(crate) fn lock_probe(
    file: File,
    path: PathBuf,
    slot: u32,
) -> Result<Result<SlotLock, File>, StateError> {
    match lock(file.as_fd(), LockKind::Write, Owner::OpenFile, Wait::No) {
        Ok(true) => Ok(Ok(SlotLock {
            _file: file,
            path,
            slot,
        })),
        Ok(false) => Ok(Err(file)),
        Err(source) => Err(StateError::Lock { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distccs() {
        let d = Path::new("/d/lock");
        assert_eq!(
            slot_path(d, &lock_name_tcp("127.0.0.1", 3698), 0),
            Path::new("/d/lock/cpu_tcp_127.0.0.1_3698_0")
        );
        assert_eq!(
            slot_path(d, LOCALHOST_LOCK_NAME, 3),
            Path::new("/d/lock/cpu_localhost_3")
        );
        assert_eq!(
            slot_path(d, &lock_name_ssh("box"), 1),
            Path::new("/d/lock/cpu_ssh_box_1")
        );
    }

    #[test]
    fn lock_is_exclusive_within_a_process_and_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let a = try_lock_slot(tmp.path(), "localhost", 0).unwrap().unwrap();
        assert_eq!(a.slot(), 0);
        assert_eq!(a.path(), tmp.path().join("cpu_localhost_0"));
        assert!(try_lock_slot(tmp.path(), "localhost", 0).unwrap().is_none());
        // Opening and closing another descriptor of the same file does not drop our lock.
        drop(File::open(a.path()).unwrap());
        assert!(try_lock_slot(tmp.path(), "localhost", 0).unwrap().is_none());
        drop(a);
        assert!(try_lock_slot(tmp.path(), "localhost", 0).unwrap().is_some());
        // The file stays, empty, as distcc's do.
        assert_eq!(
            std::fs::metadata(tmp.path().join("cpu_localhost_0"))
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn pick_fills_slot_zero_of_every_host_first() {
        let tmp = tempfile::tempdir().unwrap();
        let hosts = [
            ("a".to_owned(), 2),
            ("b".to_owned(), 3),
            ("c".to_owned(), 1),
        ];
        let mut got = Vec::new();
        let mut held = Vec::new();
        while let Some((i, lock)) = pick_slot(tmp.path(), &hosts).unwrap() {
            got.push((hosts[i].0.clone(), lock.slot()));
            held.push(lock);
        }
        let want = [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("b", 2)];
        let want: Vec<_> = want.iter().map(|(h, s)| (h.to_string(), *s)).collect();
        assert_eq!(got, want);
        // Releasing b's slot 1 makes it the next pick.
        held.remove(4);
        let (i, lock) = pick_slot(tmp.path(), &hosts).unwrap().unwrap();
        assert_eq!((i, lock.slot()), (1, 1));
    }

    #[test]
    fn pick_with_no_hosts_or_zero_limits_is_none() {
        let tmp = tempfile::tempdir().unwrap();
        let none: [(&str, u32); 0] = [];
        assert!(pick_slot(tmp.path(), &none).unwrap().is_none());
        assert!(pick_slot(tmp.path(), &[("a", 0)]).unwrap().is_none());
    }

    #[test]
    fn missing_lock_dir_is_an_open_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = try_lock_slot(&tmp.path().join("x"), "a", 0).unwrap_err();
        assert!(matches!(err, StateError::OpenLock { .. }), "{err}");
        assert!(err.to_string().starts_with("failed to create "), "{err}");
    }
}
