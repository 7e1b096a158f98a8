//! fcntl record locks on a whole file, the locks C distcc takes (distcc src/lock.c for slot
//! locks, src/zeroconf.c for the zeroconf browser's files). flock(2) locks do not see fcntl
//! locks on Linux, so only these share files with C distcc.
//!
//! Two owners, because the two uses need different ones:
//! - [`Owner::OpenFile`]: an *open file description* lock (`F_OFD_SETLK`), which belongs to
//!   the descriptor alone: closing another descriptor of the file does not drop it, and two
//!   locks in one process conflict. The kernel makes OFD and classic locks conflict, so C
//!   distcc's locks and these exclude each other as two C clients' do. Kernels before 3.15
//!   lack them; there we fall back to classic locks (once `EINVAL` says so).
//! - [`Owner::Process`]: a classic POSIX lock, owned by the process, which [`is_write_locked`]
//!   (`F_GETLK`) reports to other processes only: the zeroconf browser's liveness lock, which
//!   clients test.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared (read) or exclusive (write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Read,
    Write,
}

/// Who holds the lock (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    OpenFile,
    Process,
}

/// Whether to wait for a conflicting lock to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    No,
    Yes,
}

/// Set once `F_OFD_SETLK` turned out to be unsupported (`EINVAL`, Linux < 3.15).
static NO_OFD: AtomicBool = AtomicBool::new(false);

#[cfg(any(target_os = "linux", target_os = "android"))]
const OFD: (libc::c_int, libc::c_int) = (libc::F_OFD_SETLK, libc::F_OFD_SETLKW);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const OFD: (libc::c_int, libc::c_int) = (libc::F_SETLK, libc::F_SETLKW);

/// Lock the whole file. `Ok(true)`: locked; `Ok(false)`: someone else holds a conflicting lock
/// (only with [`Wait::No`]); `Err`: the lock could not be asked for.
pub fn lock(fd: BorrowedFd<'_>, kind: LockKind, owner: Owner, wait: Wait) -> io::Result<bool> {
    let classic = match wait {
        Wait::No => libc::F_SETLK,
        Wait::Yes => libc::F_SETLKW,
    };
    if owner == Owner::OpenFile && !NO_OFD.load(Ordering::Relaxed) {
        let ofd = match wait {
            Wait::No => OFD.0,
            Wait::Yes => OFD.1,
        };
        match setlk(fd, kind, ofd) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && ofd != classic => {
                NO_OFD.store(true, Ordering::Relaxed);
            }
            r => return r,
        }
    }
    setlk(fd, kind, classic)
}

fn setlk(fd: BorrowedFd<'_>, kind: LockKind, cmd: libc::c_int) -> io::Result<bool> {
    let mut fl = whole_file(kind);
    loop {
        // SAFETY: fd is a valid open descriptor for the duration of the call and `fl` is a
        // valid `struct flock` that the kernel only reads for the set-lock commands.
        let rc = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, &mut fl as *mut libc::flock) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            // A signal while waiting: wait again.
            Some(libc::EINTR) => continue,
            // EACCES: what some systems return for a conflict (distcc src/lock.c says HP-UX,
            // Cygwin).
            Some(libc::EAGAIN) | Some(libc::EACCES) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Whether another process holds a write lock that would block ours (`F_GETLK`). A lock of
/// this process's own ([`Owner::Process`]) is not reported.
pub fn is_write_locked(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut fl = whole_file(LockKind::Write);
    // SAFETY: F_GETLK with a valid descriptor and a pointer to a flock we own.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETLK, &mut fl as *mut libc::flock) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// A `struct flock` for the whole file from offset 0, as distcc's `sys_lock`.
fn whole_file(kind: LockKind) -> libc::flock {
    // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value (and
    // l_pid must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match kind {
        LockKind::Read => libc::F_RDLCK,
        LockKind::Write => libc::F_WRLCK,
    } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsFd;

    fn open(p: &std::path::Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(p)
            .unwrap()
    }

    #[test]
    fn open_file_locks_conflict_within_a_process() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let (a, b) = (open(&p), open(&p));
        let w = |f: &File| lock(f.as_fd(), LockKind::Write, Owner::OpenFile, Wait::No).unwrap();
        assert!(w(&a));
        assert!(!w(&b), "a second description conflicts");
        // Closing another descriptor of the file does not drop a's lock.
        drop(open(&p));
        assert!(!w(&b));
        drop(a);
        assert!(w(&b));
        assert!(!lock(open(&p).as_fd(), LockKind::Read, Owner::OpenFile, Wait::No).unwrap());
    }

    #[test]
    fn process_locks_are_seen_by_other_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let f = open(&p);
        assert!(lock(f.as_fd(), LockKind::Write, Owner::Process, Wait::No).unwrap());
        // Our own lock is not reported. (Asked through `f`: closing any other descriptor of
        // the file would drop a classic lock.)
        assert!(!is_write_locked(f.as_fd()).unwrap());
        // SAFETY: the child only makes system calls and _exits.
        match unsafe { libc::fork() } {
            0 => {
                let seen = is_write_locked(f.as_fd()).unwrap_or(false);
                let blocked =
                    !lock(f.as_fd(), LockKind::Read, Owner::Process, Wait::No).unwrap_or(true);
                // SAFETY: _exit in the forked child.
                unsafe { libc::_exit(i32::from(!seen) + 2 * i32::from(!blocked)) }
            }
            child => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(child, &mut status, 0) };
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "child status {status:#x}"
                );
            }
        }
    }
}
