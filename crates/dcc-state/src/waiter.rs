//! Waiting for a free slot without a fixed poll.
//!
//! When every slot is busy, distcc src/where.c `dcc_lock_pause` sleeps `DISTCC_PAUSE_TIME_MSEC`
//! (default one second) and rescans, so a freed slot sits idle for half a second on average.
//! We watch the lock directory with inotify instead. A client that releases a slot closes its
//! lock file, or exits, which closes it too: that is an `IN_CLOSE_WRITE` event (distcc opens
//! lock files write-only). On any close of a `cpu_*` file the waiter wakes and the caller
//! rescans. A lock released with `F_UNLCK` but kept open produces no event, and NFS produces
//! none at all, so every wait also has a safety timeout after which the caller rescans anyway.
//!
//! Rescanning must not wake everybody else. Probing a busy slot opens its lock file, and
//! closing that probe would be a close event for every other waiter: N blocked clients would
//! wake each other in a loop. So [`SlotWaiter`] keeps its busy probes open in a cache and
//! reuses them on the next scan; the cached descriptors close only when the waiter is dropped.
//! A successful probe moves its descriptor into the [`SlotLock`], so no second descriptor of a
//! held file is ever closed behind its back (and the locks are OFD locks, see `lock.rs`, which
//! would survive that anyway).
//!
//! ```no_run
//! # fn f(lock_dir: &std::path::Path) -> Result<(), dcc_state::StateError> {
//! use std::time::Duration;
//! let hosts = [("tcp_a_3632", 2), ("localhost", 4)];
//! let mut waiter = dcc_state::SlotWaiter::new(lock_dir);
//! let (host, lock) = loop {
//!     if let Some(got) = waiter.pick(&hosts)? {
//!         break got;
//!     }
//!     waiter.wait(Duration::from_secs(1))?;
//! };
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify;
use rustix::io::Errno;

use crate::StateError;
use crate::lock::{SlotLock, lock_probe, open_lock_file, scan, slot_path};

/// Why [`SlotWaiter::wait`] returned. The caller rescans in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The first wait only sets up the watch and returns at once: a slot freed between the
    /// caller's scan and now would otherwise be missed until the timeout.
    Armed,
    /// A lock file was closed: a slot may be free.
    Released,
    /// The safety timeout passed without an event.
    TimedOut,
}

/// Scans for a free slot and waits for lock releases between scans.
#[derive(Debug)]
pub struct SlotWaiter {
    lock_dir: PathBuf,
    inotify: Option<OwnedFd>,
    /// Busy probes kept open so that rescans make no close events (one owner per path).
    probes: HashMap<PathBuf, File>,
}

impl SlotWaiter {
    /// No system call yet: the watch is set up by the first [`wait`](Self::wait), so a client
    /// that finds a slot at once pays nothing for it.
    pub fn new(lock_dir: &Path) -> SlotWaiter {
        SlotWaiter {
            lock_dir: lock_dir.to_owned(),
            inotify: None,
            probes: HashMap::new(),
        }
    }

    /// One scan in distcc's order (see [`crate::pick_slot`]), reusing cached probes.
    pub fn pick<S: AsRef<str>>(
        &mut self,
        hosts: &[(S, u32)],
    ) -> Result<Option<(usize, SlotLock)>, StateError> {
        let lock_dir = &self.lock_dir;
        let probes = &mut self.probes;
        scan(hosts, |name, slot| {
            let path = slot_path(lock_dir, name, slot);
            let file = match probes.remove(&path) {
                Some(f) => f,
                None => open_lock_file(&path)?,
            };
            match lock_probe(file, path.clone(), slot)? {
                Ok(lock) => Ok(Some(lock)),
                Err(file) => {
                    probes.insert(path, file);
                    Ok(None)
                }
            }
        })
    }

    /// Wait until a lock file in the directory is closed, or `timeout` passes.
    pub fn wait(&mut self, timeout: Duration) -> Result<WaitOutcome, StateError> {
        let Some(fd) = &self.inotify else {
            self.inotify = Some(self.watch().map_err(|source| StateError::Watch {
                path: self.lock_dir.clone(),
                source,
            })?);
            return Ok(WaitOutcome::Armed);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ts = Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            });
            let mut fds = [PollFd::new(fd, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => return Ok(WaitOutcome::TimedOut),
                Ok(_) => {}
                // A signal: let the caller rescan (and notice a pending shutdown).
                Err(Errno::INTR) => return Ok(WaitOutcome::Released),
                Err(e) => return Err(self.watch_error(e)),
            }
            if drain(fd).map_err(|e| self.watch_error(e))? {
                return Ok(WaitOutcome::Released);
            }
            if left.is_zero() {
                return Ok(WaitOutcome::TimedOut);
            }
        }
    }

    fn watch(&self) -> io::Result<OwnedFd> {
        let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
        inotify::add_watch(
            &fd,
            &self.lock_dir,
            inotify::WatchFlags::CLOSE_WRITE | inotify::WatchFlags::CLOSE_NOWRITE,
        )?;
        Ok(fd)
    }

    fn watch_error(&self, e: Errno) -> StateError {
        StateError::Watch {
            path: self.lock_dir.clone(),
            source: e.into(),
        }
    }
}

/// Read every queued event. True if one may mean a released slot: a close of a `cpu_*` file,
/// or a queue overflow (events lost). Closes of backoff marks are not.
fn drain(fd: &OwnedFd) -> Result<bool, Errno> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut reader = inotify::Reader::new(fd, &mut buf);
    let mut relevant = false;
    loop {
        match reader.next() {
            Ok(ev) => {
                let overflow = ev.events().contains(inotify::ReadFlags::QUEUE_OVERFLOW);
                let cpu = ev
                    .file_name()
                    .is_some_and(|n| n.to_bytes().starts_with(b"cpu_"));
                relevant |= overflow || cpu;
            }
            Err(Errno::AGAIN) => return Ok(relevant),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::try_lock_slot;

    #[test]
    fn first_wait_arms_then_release_in_process_wakes() {
        let tmp = tempfile::tempdir().unwrap();
        let held = try_lock_slot(tmp.path(), "h", 0).unwrap().unwrap();
        let mut w = SlotWaiter::new(tmp.path());
        assert!(w.pick(&[("h", 1)]).unwrap().is_none());
        assert_eq!(w.wait(Duration::from_secs(60)).unwrap(), WaitOutcome::Armed);
        // Rescanning with the cached probe makes no event: the wait times out.
        assert!(w.pick(&[("h", 1)]).unwrap().is_none());
        assert_eq!(w.probes.len(), 1);
        assert_eq!(
            w.wait(Duration::from_millis(1)).unwrap(),
            WaitOutcome::TimedOut
        );
        drop(held);
        assert_eq!(
            w.wait(Duration::from_secs(60)).unwrap(),
            WaitOutcome::Released
        );
        let (i, lock) = w.pick(&[("h", 1)]).unwrap().unwrap();
        assert_eq!((i, lock.slot()), (0, 0));
        assert!(w.probes.is_empty(), "the probe moved into the lock");
    }

    #[test]
    fn backoff_marks_do_not_wake() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = SlotWaiter::new(tmp.path());
        assert_eq!(w.wait(Duration::from_secs(1)).unwrap(), WaitOutcome::Armed);
        crate::mark_backoff(tmp.path(), "h").unwrap();
        assert_eq!(
            w.wait(Duration::from_millis(1)).unwrap(),
            WaitOutcome::TimedOut
        );
    }

    #[test]
    fn missing_dir_is_a_watch_error() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = SlotWaiter::new(&tmp.path().join("gone"));
        let err = w.wait(Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, StateError::Watch { .. }), "{err}");
    }
}
