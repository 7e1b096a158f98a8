//! Cleanup on SIGTERM, SIGINT and SIGHUP (distcc src/distcc.c `dcc_client_signalled`,
//! src/cleanup.c; reference §2.10).
//!
//! distcc removes its temporary files from the signal handler and then re-raises the signal,
//! so its parent sees the real cause of death. We do the same with every file registered
//! here (the state file, and the saved temporaries of `DISTCC_SAVE_TEMPS`-less runs), and also
//! pass the signal on to a compiler or preprocessor we are running, so a `kill` of the client
//! does not leave a compiler writing behind it.
//!
//! The handler may only make async-signal-safe calls, so registered paths are stored as
//! pre-built C strings in a fixed table of atomics: the handler reads pointers, calls
//! `unlink`, `kill`, `signal` and `raise`, and nothing else. Registering costs no system call.

use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

/// How many files can be registered at once (the client has at most a few).
const SLOTS: usize = 8;

static FILES: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS];
/// The process group or pid of the child to pass a signal on to (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Install the handlers. Call once, early, from the binary.
pub fn install() {
    for sig in SIGNALS {
        // SAFETY: `handler` is an `extern "C" fn(c_int)` that only makes async-signal-safe
        // calls; installing it with signal(2) is what distcc does.
        unsafe {
            libc::signal(sig, handler as *const () as libc::sighandler_t);
        }
    }
}

extern "C" fn handler(sig: c_int) {
    for slot in &FILES {
        let p = slot.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: registered pointers are NUL-terminated strings that stay allocated
            // while registered (they are freed only after being swapped out of the table).
            unsafe {
                libc::unlink(p);
            }
        }
    }
    let child = CHILD.load(Ordering::Acquire);
    // SAFETY: kill, signal and raise are async-signal-safe.
    unsafe {
        if child > 0 {
            libc::kill(child, sig);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// A file removed on drop and by the signal handler, unless [`TempFile::keep`] was called.
#[derive(Debug)]
pub struct TempFile {
    slot: Option<usize>,
    path: CString,
    keep: bool,
}

impl TempFile {
    /// Register `path`. If the table is full the file is still removed on drop, just not from
    /// a signal handler.
    pub fn register(path: &Path) -> TempFile {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap_or_default();
        let raw = path.as_ptr().cast_mut();
        let slot = FILES.iter().position(|s| {
            s.compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        TempFile {
            slot,
            path,
            keep: false,
        }
    }

    /// Do not remove the file (`DISTCC_SAVE_TEMPS=1`, or a state file removed elsewhere).
    pub fn keep(mut self) {
        self.keep = true;
    }

    fn unregister(&mut self) {
        if let Some(i) = self.slot.take() {
            FILES[i].store(ptr::null_mut(), Ordering::Release);
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.unregister();
        if !self.keep {
            // SAFETY: a valid NUL-terminated path.
            unsafe {
                libc::unlink(self.path.as_ptr());
            }
        }
    }
}

/// The child a signal is passed on to while it runs: cleared when dropped.
#[derive(Debug)]
pub struct ChildGuard(());

impl ChildGuard {
    pub fn new(pid: u32) -> ChildGuard {
        CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::Release);
        ChildGuard(())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_removed_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "x").unwrap();
        std::fs::write(&b, "x").unwrap();
        let ta = TempFile::register(&a);
        let tb = TempFile::register(&b);
        assert!(ta.slot.is_some() && tb.slot.is_some() && ta.slot != tb.slot);
        drop(ta);
        tb.keep();
        assert!(!a.exists());
        assert!(b.exists());
    }
}
