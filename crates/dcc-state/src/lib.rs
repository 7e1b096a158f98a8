//! Files that distcc-rs shares with C distcc clients and monitors on the same machine.
//!
//! Everything lives under one directory, `$DISTCC_DIR` or `~/.distcc` ([`DistccDir`]):
//!
//! - `lock/cpu_<host>_<slot>`: empty files that carry fcntl write locks. Holding the lock on
//!   slot N of a host is what lets a client send that host a job ([`try_lock_slot`],
//!   [`pick_slot`], [`SlotLock`]). C distcc clients lock the same files in the same way, so a
//!   mixed build shares one slot accounting. [`SlotWaiter`] waits for a release with inotify
//!   instead of distcc's fixed one-second sleep.
//! - `lock/backoff_<host>_0`: a one-byte file whose mtime says when a host last failed
//!   ([`mark_backoff`], [`is_backed_off`], [`clear_backoff`]).
//! - `state/binstate_<pid>`: the client's current phase in distcc's native struct layout, which
//!   Debian's `distccmon-text` and `distccmon-gnome` read ([`StateFile`], [`read_states`]).
//! - `state/events`: our client's log of failures and fallbacks with their reasons, which
//!   `distccmon-top` shows ([`append_event`], [`EventTail`]; a distcc-rs addition).
//! - `state/counters`: the master's compile counters for `distcc --show-stats`
//!   ([`count_compile`], [`read_counters`], [`zero_counters`]; ours).
//! - [`make_tmpnam`]: distcc's temporary-file names (`distcc_1a2b3c4d.i`).
//!
//! The client calls most of this once per compile, so every function here costs a handful of
//! system calls at most: directories are created on first use and cached, state updates are
//! one `pwrite`, and nothing polls.
//!
//! Host "lock names" are the middle of a lock file name: `localhost`, `tcp_<host>_<port>` or
//! `ssh_<host>` ([`lock_name_tcp`], [`lock_name_ssh`], [`LOCALHOST_LOCK_NAME`]), as distcc's
//! `dcc_make_lock_filename` (src/lock.c) builds them.

mod backoff;
mod counters;
mod dir;
mod events;
mod lock;
mod state;
mod tmpfile;
mod waiter;

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

pub use backoff::{
    DEFAULT_BACKOFF_PERIOD, backoff_path, clear_backoff, is_backed_off, is_backed_off_at,
    mark_backoff,
};
pub use counters::{
    COUNTERS_FILE, Count, Counters, HostTotals, count as count_compile, counters_path,
    decode_counters, encode_counters, read_counters, zero_counters,
};
pub use dir::DistccDir;
pub use events::{
    EVENTS_FILE, EVENTS_MAX_BYTES, EVENTS_OLD_FILE, Event, EventKind, EventTail, REFUSED_PREFIX,
    append_event, decode_event, encode_event, events_old_path, events_path, read_events,
};
pub use lock::{
    LOCALHOST_LOCK_NAME, SlotLock, lock_name_ssh, lock_name_tcp, pick_slot, slot_path,
    try_lock_slot,
};
pub use state::{
    BadState, MAX_AGE, Phase, STATE_MAGIC, STATE_PREFIX, STATE_SIZE, StateFile, TaskState,
    decode_state, encode_state, read_states,
};
pub use tmpfile::make_tmpnam;
pub use waiter::{SlotWaiter, WaitOutcome};

use dcc_common::ExitCode;

/// Everything that can go wrong with distcc's shared files. The messages are distcc's own
/// (with `strerror` text), so a log line reads as C distcc's would.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Neither `DISTCC_DIR` nor `HOME` is set (distcc src/tempfile.c `dcc_get_top_dir`).
    #[error("HOME is not set; can't find distcc directory")]
    HomeNotSet,
    #[error("mkdir '{}' failed: {}", path.display(), strerror(source))]
    Mkdir { path: PathBuf, source: io::Error },
    #[error("failed to create {}: {}", path.display(), strerror(source))]
    OpenLock { path: PathBuf, source: io::Error },
    #[error("lock {} failed: {}", path.display(), strerror(source))]
    Lock { path: PathBuf, source: io::Error },
    #[error("write to {} failed: {}", path.display(), strerror(source))]
    Write { path: PathBuf, source: io::Error },
    #[error("unlink {} failed: {}", path.display(), strerror(source))]
    Unlink { path: PathBuf, source: io::Error },
    #[error("failed to open {}: {}", path.display(), strerror(source))]
    Open { path: PathBuf, source: io::Error },
    #[error("failed to opendir {}: {}", path.display(), strerror(source))]
    OpenDir { path: PathBuf, source: io::Error },
    /// inotify could not be set up or read (ours; distcc has no equivalent).
    #[error("failed to watch {}: {}", path.display(), strerror(source))]
    Watch { path: PathBuf, source: io::Error },
}

impl StateError {
    /// The distcc exit code for this failure (`HOME` unset is 101, everything else 107).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StateError::HomeNotSet => ExitCode::BadArguments,
            _ => ExitCode::IoError,
        }
    }

    /// The distcc function that logs this failure, for distcc's log line
    /// (`distccmon-text[42] (dcc_mkdir) ERROR: mkdir '/x/state' failed: ...`).
    pub fn distcc_function(&self) -> &'static str {
        match self {
            StateError::HomeNotSet => "dcc_get_top_dir",
            StateError::Mkdir { .. } => "dcc_mkdir",
            StateError::OpenLock { .. } => "dcc_open_lockfile",
            StateError::Lock { .. } => "dcc_lock_host",
            StateError::Write { .. } => "dcc_writex",
            StateError::Unlink { .. } => "dcc_remove_timefile",
            StateError::Open { .. } => "dcc_open_state",
            StateError::OpenDir { .. } => "dcc_mon_poll",
            StateError::Watch { .. } => "dcc_lock_pause",
        }
    }
}

/// `strerror` text without Rust's " (os error N)" suffix, as distcc prints it.
pub fn strerror(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let mut buf = [0u8; 128];
    // SAFETY: the buffer is valid for its length; the XSI strerror_r (the libc crate's binding
    // on Linux) NUL-terminates on success.
    let rc = unsafe { libc::strerror_r(code, buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return err.to_string();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// `dir + "/" + name`, as distcc's `asprintf("%s/%s")` builds paths. Unlike `Path::join` this
/// keeps an empty `dir` absolute ("" + "lock" is "/lock"), which is what distcc does with an
/// empty `DISTCC_DIR`.
fn concat(dir: &OsStr, name: &str) -> PathBuf {
    let mut s = OsString::with_capacity(dir.len() + 1 + name.len());
    s.push(dir);
    s.push("/");
    s.push(name);
    PathBuf::from(s)
}

fn concat_path(dir: &Path, name: &str) -> PathBuf {
    concat(dir.as_os_str(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_is_plain_text() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(strerror(&e), "No such file or directory");
        let e = StateError::Mkdir {
            path: "/x/state".into(),
            source: e,
        };
        assert_eq!(
            e.to_string(),
            "mkdir '/x/state' failed: No such file or directory"
        );
        assert_eq!(e.exit_code(), ExitCode::IoError);
        assert_eq!(StateError::HomeNotSet.exit_code(), ExitCode::BadArguments);
    }

    #[test]
    fn concat_is_distccs_asprintf() {
        assert_eq!(concat(OsStr::new(""), "lock"), PathBuf::from("/lock"));
        assert_eq!(concat(OsStr::new("/d/"), "lock"), PathBuf::from("/d//lock"));
        assert_eq!(concat(OsStr::new("rel"), "x"), PathBuf::from("rel/x"));
    }
}
