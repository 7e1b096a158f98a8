//! The client's side of `+zeroconf`: the helpers found over mDNS/DNS-SD, read from `$DISTCC_DIR/zeroconf/hosts`
//! (distcc src/zeroconf.c; reference §2.3).
//!
//! distcc keeps discovery out of the compile: a background *browser* process browses for
//! `_<cc -dumpmachine>--<cc -dumpversion>._sub._distcc._tcp` (helpers with this machine's
//! compiler) and rewrites `zeroconf/hosts` (`ip:port/jobs`, `[v6]:port/jobs`) as helpers come
//! and go; each client only reads that file. The browser holds an fcntl write lock on
//! `zeroconf/lock` while it lives, and leaves once the file has not been used for a while.
//! We keep distcc's files, lock and line format, so C distcc clients can use our browser's
//! file and we can use theirs; what differs is how a client knows the file is current:
//!
//! - **Steady state, one file read.** Our browser touches the file's mtime every
//!   [`browser::HEARTBEAT`] even when nothing changes, so an mtime younger than [`STALE_AFTER`]
//!   means a live browser wrote it. The client opens it, takes distcc's read lock (distcc's
//!   browser rewrites in place under a write lock), reads it, `fstat`s it and is done.
//! - **Usage.** The browser measures idleness by the file's atime, as distcc does; but with
//!   `relatime` or `noatime` reads do not reliably move atime (distcc's browser then exits 20 s
//!   after start however busy the build is). So a client whose read left atime older than
//!   [`TOUCH_AFTER`] sets it explicitly (`futimens`, atime only): one extra system call every
//!   few seconds per `DISTCC_DIR`, none per compile.
//! - **First use waits a little, boundedly.** A missing or stale file sends the client to the
//!   lock: unlocked means no browser, so it starts one (a double fork, as distcc forks its
//!   browse daemon, detached from the build's terminal and output). Then it re-reads the file
//!   every few milliseconds until it is fresh, for at most [`FIRST_WAIT`] after the browser
//!   started (the browser stamps its start on the lock file, so clients that arrive while it
//!   is starting wait with it and later ones do not). distcc sleeps a flat second in the client
//!   that forked and not at all in the others. The browser writes the file as soon as it has
//!   resolved a helper, or after [`browser::SETTLE`] with none, so the wait ends early.
//! - Whatever goes wrong (no `DISTCC_DIR`, an unreadable file, a browser that cannot start)
//!   is one warning, and the compile goes on with the other hosts.
//!
//! [`crate::browser`] is the browsing process.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use dcc_common::sys::lock::{self as flock, LockKind, Owner, Wait};
use dcc_common::{Env, Level, dcc_log};
use dcc_hosts::{HostSpec, HostsError};
use dcc_state::DistccDir;

use crate::browser;

/// The sub-directory of `$DISTCC_DIR` (distcc `dcc_get_subdir("zeroconf")`).
pub const SUBDIR: &str = "zeroconf";
/// The host list the browser writes.
pub const HOSTS_FILE: &str = "hosts";
/// Locked by the live browser.
pub const LOCK_FILE: &str = "lock";

/// distcc src/zeroconf.c `MAX_FILE_SIZE`: a larger host file is refused.
pub const MAX_FILE_SIZE: u64 = 100 * 1024;

/// A host file older than this was not written by a live browser of ours.
pub const STALE_AFTER: Duration = Duration::from_secs(20);

/// A read that leaves atime older than this sets it (see the module notes).
pub const TOUCH_AFTER: Duration = Duration::from_secs(10);

/// How long after a browser's start clients wait for its first list.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// How often a waiting client looks at the file again.
const POLL: Duration = Duration::from_millis(10);

/// One read of the host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub text: String,
    /// Written by a live browser (mtime younger than [`STALE_AFTER`]).
    pub fresh: bool,
}

/// Why the host file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ZeroconfError {
    #[error("failed to get zeroconf dir: {0}")]
    Dir(#[source] dcc_state::StateError),
    #[error("mkdir '{}' failed: {source}", path.display())]
    Mkdir { path: PathBuf, source: io::Error },
    #[error("open('{}') failed: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("lock failed: {0}")]
    Lock(#[source] io::Error),
    #[error("file too large")]
    TooLarge,
    #[error("failed to read from file: {0}")]
    Read(#[source] io::Error),
    #[error("failed to start the zeroconf browser: {0}")]
    Spawn(#[source] io::Error),
    #[error("failed to parse host file: {0}")]
    Parse(#[source] HostsError),
}

/// The hosts `+zeroconf` stands for, in the browser's order. Failures are logged once and give
/// no hosts (the rest of the list is still used).
///
/// `home` is the client's `$HOME` (for `~/.distcc`), `path` its `PATH` (where a browser it
/// starts asks `cc` for its identity).
pub fn hosts(env: &dyn Env, home: Option<&OsStr>, path: Option<&OsStr>) -> Vec<HostSpec> {
    match find(env, home, path) {
        Ok(h) => h,
        Err(e) => {
            dcc_log!(Level::Warning, "dcc_zeroconf_add_hosts", "{e}");
            Vec::new()
        }
    }
}

fn find(
    env: &dyn Env,
    home: Option<&OsStr>,
    path: Option<&OsStr>,
) -> Result<Vec<HostSpec>, ZeroconfError> {
    let dir = DistccDir::from_env(env, home.map(Path::new)).map_err(ZeroconfError::Dir)?;
    let zdir = dir.path().join(SUBDIR);
    let hosts_file = zdir.join(HOSTS_FILE);
    // The common case: a live browser's file.
    let first = read(&hosts_file, SystemTime::now());
    let snap = match first {
        Ok(Some(s)) if s.fresh => s,
        first => {
            let old = first.ok().flatten();
            refresh(&dir, &zdir, path, old)?
        }
    };
    parse(&snap.text)
}

/// Parse the browser's file: host specs only (global options there are ignored).
pub fn parse(text: &str) -> Result<Vec<HostSpec>, ZeroconfError> {
    match dcc_hosts::parse(text) {
        Ok(list) => Ok(list.hosts),
        Err(HostsError::NoHosts) => Ok(Vec::new()),
        Err(e) => Err(ZeroconfError::Parse(e)),
    }
}

/// Read the host file under a read lock, as distcc's client does. `Ok(None)` if it does not
/// exist. Sets atime when the read left it older than [`TOUCH_AFTER`].
pub fn read(path: &Path, now: SystemTime) -> Result<Option<Snapshot>, ZeroconfError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ZeroconfError::Open {
                path: path.to_owned(),
                source,
            });
        }
    };
    // distcc's browser rewrites the file in place under a write lock: wait for it.
    match flock::lock(f.as_fd(), LockKind::Read, Owner::Process, Wait::Yes) {
        Ok(true) => {}
        Ok(false) => return Err(ZeroconfError::Lock(io::ErrorKind::WouldBlock.into())),
        Err(e) => return Err(ZeroconfError::Lock(e)),
    }
    let mut text = String::new();
    (&mut f)
        .take(MAX_FILE_SIZE)
        .read_to_string(&mut text)
        .map_err(ZeroconfError::Read)?;
    // After the read, so that atime shows what the read itself did.
    let meta = f.metadata().map_err(ZeroconfError::Read)?;
    if meta.len() >= MAX_FILE_SIZE {
        return Err(ZeroconfError::TooLarge);
    }
    let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if needs_touch(now, meta.accessed().unwrap_or(SystemTime::UNIX_EPOCH)) {
        touch_atime(&f);
    }
    Ok(Some(Snapshot {
        text,
        fresh: is_fresh(mtime, now),
    }))
}

/// How long ago `t` was; zero for a time in the future.
fn age(now: SystemTime, t: SystemTime) -> Duration {
    now.duration_since(t).unwrap_or(Duration::ZERO)
}

/// Whether a read that left this atime must set it (see the module notes).
fn needs_touch(now: SystemTime, atime: SystemTime) -> bool {
    age(now, atime) > TOUCH_AFTER
}

/// Whether a host file with this mtime was written by a live browser. The browser sets the
/// mtime of a file it abandons to the epoch.
pub fn is_fresh(mtime: SystemTime, now: SystemTime) -> bool {
    mtime > SystemTime::UNIX_EPOCH && age(now, mtime) < STALE_AFTER
}

/// Mark the file used: atime now, mtime untouched.
fn touch_atime(f: &File) {
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    ];
    // SAFETY: futimens on a descriptor we own with a two-element array, as the call requires.
    // Failure (a file of another user's browser) only costs that browser its idle clock.
    unsafe {
        libc::futimens(f.as_raw_fd(), times.as_ptr());
    }
}

/// Open (creating it, mode 0666 as distcc's) the browser's lock file, for reading its stamp
/// and for locking.
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path)
}

/// The slow path: make sure a browser runs, then wait (boundedly) for a fresh list. Returns
/// the last list read, fresh or not.
fn refresh(
    dir: &DistccDir,
    zdir: &Path,
    path: Option<&OsStr>,
    old: Option<Snapshot>,
) -> Result<Snapshot, ZeroconfError> {
    // distcc dcc_get_subdir: ~/.distcc is created, $DISTCC_DIR is not.
    dir.lock_dir().map_err(ZeroconfError::Dir)?;
    match std::fs::create_dir(zdir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            return Err(ZeroconfError::Mkdir {
                path: zdir.to_owned(),
                source: e,
            });
        }
        _ => {}
    }
    let lock_path = zdir.join(LOCK_FILE);
    let lock = open_lock_file(&lock_path).map_err(|source| ZeroconfError::Open {
        path: lock_path.clone(),
        source,
    })?;
    let now = SystemTime::now();
    let wait = if flock::is_write_locked(lock.as_fd()).map_err(ZeroconfError::Lock)? {
        // A browser runs: wait only while it is new (it stamped the lock file at start).
        let started = lock
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        FIRST_WAIT.saturating_sub(age(now, started))
    } else {
        dcc_log!(
            Level::Info,
            "dcc_zeroconf_add_hosts",
            "Spawning zeroconf daemon."
        );
        browser::spawn(zdir, path).map_err(ZeroconfError::Spawn)?;
        FIRST_WAIT
    };
    drop(lock);
    let hosts_file = zdir.join(HOSTS_FILE);
    let deadline = Instant::now() + wait;
    let mut last = old;
    loop {
        if let Some(s) = read(&hosts_file, SystemTime::now())? {
            if s.fresh {
                return Ok(s);
            }
            last = Some(s);
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(POLL);
    }
    dcc_log!(
        Level::Debug,
        "dcc_zeroconf_add_hosts",
        "no fresh zeroconf host list after {wait:?}; using what there is"
    );
    Ok(last.unwrap_or(Snapshot {
        text: String::new(),
        fresh: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_times(p: &Path, atime: SystemTime, mtime: SystemTime) {
        let f = File::open(p).unwrap();
        f.set_times(
            std::fs::FileTimes::new()
                .set_accessed(atime)
                .set_modified(mtime),
        )
        .unwrap();
    }

    #[test]
    fn freshness_follows_the_heartbeat() {
        let now = SystemTime::now();
        assert!(is_fresh(now, now));
        assert!(is_fresh(now - Duration::from_secs(19), now));
        assert!(!is_fresh(now - Duration::from_secs(21), now));
        // A clock step backwards still counts as fresh; the epoch marks an abandoned file.
        assert!(is_fresh(now + Duration::from_secs(3), now));
        assert!(!is_fresh(SystemTime::UNIX_EPOCH, now));
    }

    #[test]
    fn read_parses_and_touches_atime_only_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        assert_eq!(read(&p, SystemTime::now()).unwrap(), None);
        std::fs::write(&p, "10.3.0.2:3632/4\n[fd00::2]:3700/2\n").unwrap();
        let now = SystemTime::now();
        let old = now - Duration::from_secs(3600);
        set_times(&p, old, now - Duration::from_secs(1));
        let s = read(&p, now).unwrap().unwrap();
        assert!(s.fresh);
        let hosts = parse(&s.text).unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].limit, 4);
        assert_eq!(hosts[1].limit, 2);
        assert!(
            matches!(&hosts[1].kind, dcc_hosts::HostKind::Tcp { host, port: 3700 } if host == "fd00::2")
        );
        let atime = std::fs::metadata(&p).unwrap().accessed().unwrap();
        assert!(atime > old + Duration::from_secs(3000), "atime was set");
        // An old mtime is stale. A recent atime is left alone (no write per compile); that
        // is the rule below, since the kernel may move atime on this read itself (relatime
        // does when ctime, which set_times just moved, is newer).
        set_times(&p, now, old);
        let s = read(&p, now).unwrap().unwrap();
        assert!(!s.fresh);
        assert!(!needs_touch(now, now - Duration::from_secs(2)));
        assert!(needs_touch(now, now - Duration::from_secs(11)));
    }

    #[test]
    fn oversized_and_broken_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(&p, "a ".repeat(60 * 1024)).unwrap();
        assert!(matches!(
            read(&p, SystemTime::now()),
            Err(ZeroconfError::TooLarge)
        ));
        assert!(matches!(parse("angry::"), Err(ZeroconfError::Parse(_))));
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn a_lock_held_by_another_process_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let f = File::create(&p).unwrap();
        assert!(!flock::is_write_locked(f.as_fd()).unwrap());
        let mut pipe = [0; 2];
        // SAFETY: pipe(2) into a two-element array.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child makes only async-signal-safe calls (fcntl, write, pause, _exit).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let held = matches!(
                flock::lock(f.as_fd(), LockKind::Write, Owner::Process, Wait::No),
                Ok(true)
            );
            unsafe {
                libc::write(pipe[1], [u8::from(held)].as_ptr().cast(), 1);
                libc::pause();
                libc::_exit(0);
            }
        }
        let mut b = [0u8; 1];
        // SAFETY: read one byte into a one-byte buffer.
        assert_eq!(unsafe { libc::read(pipe[0], b.as_mut_ptr().cast(), 1) }, 1);
        let seen = flock::is_write_locked(f.as_fd()).unwrap();
        // SAFETY: kill and reap our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
            libc::close(pipe[0]);
            libc::close(pipe[1]);
        }
        assert_eq!(b[0], 1, "the child took the lock");
        assert!(seen);
        assert!(
            !flock::is_write_locked(f.as_fd()).unwrap(),
            "released when the holder died"
        );
    }
}
