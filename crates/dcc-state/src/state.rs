//! State files: `$DISTCC_DIR/state/binstate_<pid>` (distcc src/state.c, src/state.h, src/mon.c).
//!
//! Each client keeps one file holding the raw native `struct dcc_task_state`, which Debian's
//! `distccmon-text` and `distccmon-gnome` read. The format is private to distcc and native to
//! the machine; on x86-64 it is 296 bytes:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | `size_t struct_size` | 296 |
//! | 8 | `unsigned long magic` | `0x44494800` ("DIH\0") |
//! | 16 | `unsigned long cpid` | client pid |
//! | 24 | `char file[128]` | basename of the input, NUL-terminated |
//! | 152 | `char host[128]` | host name (no port), NUL-terminated |
//! | 280 | `int slot` | |
//! | 284 | `enum dcc_phase` | [`Phase`] |
//! | 288 | `struct dcc_task_state *next` | 0 in the file |
//!
//! On 32-bit Linux the word-sized fields shrink to 4 bytes (280 bytes in all); the offsets are
//! computed from the pointer width.
//!
//! distcc reopens the file with `O_TRUNC` and rewrites it at every phase change; [`StateFile`]
//! keeps it open and rewrites it with one `pwrite` at offset 0, so a monitor never sees it empty
//! mid-update. Readers ([`read_states`]) follow src/mon.c: files older than 60 s are deleted,
//! files with a short read, wrong magic or wrong size are skipped (the last two with a warning),
//! and files of vanished processes are skipped. distcc does not delete those (the reference
//! notes say it does; src/mon.c `dcc_mon_check_orphans` only hides them), and neither do we: a
//! monitor in another pid namespace must not delete live clients' files; the 60 s rule cleans
//! them up.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::mem::size_of;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use dcc_common::dcc_log;
use dcc_common::log::Level;
use rustix::io::Errno;
use rustix::process::{Pid, test_kill_process};

use crate::backoff::unix_secs;
use crate::{StateError, concat_path};

/// `DCC_STATE_MAGIC`, "DIH\0".
pub const STATE_MAGIC: u64 = 0x4449_4800;
/// `dcc_state_prefix`.
pub const STATE_PREFIX: &str = "binstate_";
/// `dcc_phase_max_age`: readers delete state files older than this.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// `size_t`, `unsigned long` and pointers are all one word on Linux (LP64 and ILP32).
const WORD: usize = size_of::<usize>();
const NAME_LEN: usize = 128;
const OFF_SIZE: usize = 0;
const OFF_MAGIC: usize = WORD;
const OFF_PID: usize = 2 * WORD;
const OFF_FILE: usize = 3 * WORD;
const OFF_HOST: usize = OFF_FILE + NAME_LEN;
const OFF_SLOT: usize = OFF_HOST + NAME_LEN;
const OFF_PHASE: usize = OFF_SLOT + 4;
const OFF_NEXT: usize = (OFF_PHASE + 4).next_multiple_of(WORD);
/// `sizeof(struct dcc_task_state)`: 296 on 64-bit Linux.
pub const STATE_SIZE: usize = OFF_NEXT + WORD;

/// `enum dcc_phase`, in the order a job goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Phase {
    Startup = 0,
    Blocked = 1,
    Connect = 2,
    Preprocess = 3,
    Send = 4,
    Compile = 5,
    Receive = 6,
    Done = 7,
}

impl Phase {
    /// distcc's `dcc_get_phase_name` (src/state.c), as distccmon-text prints it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Startup => "Startup",
            Phase::Blocked => "Blocked",
            Phase::Connect => "Connect",
            Phase::Preprocess => "Preprocess",
            Phase::Send => "Send",
            Phase::Compile => "Compile",
            Phase::Receive => "Receive",
            Phase::Done => "Done",
        }
    }

    /// src/mon.c `dcc_mon_read_state`: a value past Done reads as Compile ("or unknown").
    pub fn from_raw(v: u32) -> Phase {
        match v {
            0 => Phase::Startup,
            1 => Phase::Blocked,
            2 => Phase::Connect,
            3 => Phase::Preprocess,
            4 => Phase::Send,
            6 => Phase::Receive,
            7 => Phase::Done,
            _ => Phase::Compile,
        }
    }
}

/// One client's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub pid: u32,
    /// The input file. Written as its basename, at most 127 bytes, as distcc does.
    pub file: String,
    /// The host name, at most 127 bytes.
    pub host: String,
    pub slot: i32,
    pub phase: Phase,
}

impl TaskState {
    /// A state of this process.
    pub fn new(phase: Phase, file: &str, host: &str, slot: i32) -> TaskState {
        TaskState {
            pid: std::process::id(),
            file: file.to_owned(),
            host: host.to_owned(),
            slot,
            phase,
        }
    }
}

/// Why a state file was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadState {
    /// Fewer than [`STATE_SIZE`] bytes (empty is just bad timing).
    Short,
    WrongMagic,
    WrongSize,
}

/// The native bytes of `state`.
pub fn encode_state(state: &TaskState) -> [u8; STATE_SIZE] {
    let mut b = [0u8; STATE_SIZE];
    put_word(&mut b, OFF_SIZE, STATE_SIZE as u64);
    put_word(&mut b, OFF_MAGIC, STATE_MAGIC);
    put_word(&mut b, OFF_PID, u64::from(state.pid));
    // src/state.c dcc_note_state: dcc_find_basename, then strlcpy into 128 bytes.
    let file = state.file.as_bytes();
    let base = match file.iter().rposition(|&c| c == b'/') {
        Some(i) => &file[i + 1..],
        None => file,
    };
    put_str(&mut b[OFF_FILE..OFF_FILE + NAME_LEN], base);
    put_str(&mut b[OFF_HOST..OFF_HOST + NAME_LEN], state.host.as_bytes());
    b[OFF_SLOT..OFF_SLOT + 4].copy_from_slice(&state.slot.to_ne_bytes());
    b[OFF_PHASE..OFF_PHASE + 4].copy_from_slice(&(state.phase as u32).to_ne_bytes());
    // `next` stays 0.
    b
}

/// Parse a state file's first [`STATE_SIZE`] bytes as src/mon.c does. Extra bytes are ignored;
/// so is a pid that is not a valid process id (it reads as 0).
pub fn decode_state(bytes: &[u8]) -> Result<TaskState, BadState> {
    let b = bytes.get(..STATE_SIZE).ok_or(BadState::Short)?;
    if word(b, OFF_MAGIC) != STATE_MAGIC {
        return Err(BadState::WrongMagic);
    }
    if word(b, OFF_SIZE) != STATE_SIZE as u64 {
        return Err(BadState::WrongSize);
    }
    Ok(TaskState {
        pid: u32::try_from(word(b, OFF_PID)).unwrap_or(0),
        file: get_str(&b[OFF_FILE..OFF_FILE + NAME_LEN]),
        host: get_str(&b[OFF_HOST..OFF_HOST + NAME_LEN]),
        slot: i32::from_ne_bytes(b[OFF_SLOT..OFF_SLOT + 4].try_into().unwrap_or([0; 4])),
        phase: Phase::from_raw(u32::from_ne_bytes(
            b[OFF_PHASE..OFF_PHASE + 4].try_into().unwrap_or([0; 4]),
        )),
    })
}

fn put_word(b: &mut [u8], off: usize, v: u64) {
    // Truncation to 32 bits on ILP32 is the native layout there.
    let bytes = v.to_ne_bytes();
    if cfg!(target_endian = "little") {
        b[off..off + WORD].copy_from_slice(&bytes[..WORD]);
    } else {
        b[off..off + WORD].copy_from_slice(&bytes[8 - WORD..]);
    }
}

fn word(b: &[u8], off: usize) -> u64 {
    let mut bytes = [0u8; 8];
    if cfg!(target_endian = "little") {
        bytes[..WORD].copy_from_slice(&b[off..off + WORD]);
    } else {
        bytes[8 - WORD..].copy_from_slice(&b[off..off + WORD]);
    }
    u64::from_ne_bytes(bytes)
}

/// strlcpy: at most len-1 bytes, stopping at a NUL, always terminated (the rest stays zero).
fn put_str(dst: &mut [u8], src: &[u8]) {
    let src = src.split(|&c| c == 0).next().unwrap_or_default();
    let n = src.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&src[..n]);
}

/// Up to the first NUL; the last byte is forced to be one, as src/mon.c does.
fn get_str(src: &[u8]) -> String {
    let src = &src[..src.len() - 1];
    let end = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}

/// This process's state file, removed when dropped (distcc removes it `atexit`).
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    file: File,
    pid: u32,
    removed: bool,
}

impl StateFile {
    /// Create (or truncate a leftover) `<state_dir>/binstate_<pid>`, mode 0666 & ~umask as
    /// distcc's `dcc_open_state`. Nothing is written yet.
    pub fn create(state_dir: &Path) -> Result<StateFile, StateError> {
        let pid = std::process::id();
        let path = concat_path(state_dir, &format!("{STATE_PREFIX}{pid}"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o666)
            .open(&path)
            .map_err(|source| StateError::Open {
                path: path.clone(),
                source,
            })?;
        Ok(StateFile {
            path,
            file,
            pid,
            removed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrite the whole record with one `pwrite` at offset 0. The pid written is always this
    /// process's, as in distcc; `state.pid` is ignored.
    pub fn write(&mut self, state: &TaskState) -> Result<(), StateError> {
        let mut bytes = encode_state(state);
        put_word(&mut bytes, OFF_PID, u64::from(self.pid));
        self.file
            .write_all_at(&bytes, 0)
            .map_err(|source| StateError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Remove the file now, reporting failure (a missing file is fine).
    pub fn finish(mut self) -> Result<(), StateError> {
        self.removed = true;
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StateError::Unlink {
                path: self.path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        if !self.removed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// src/mon.c `dcc_mon_poll`: every believable state in `state_dir`, sorted by host (bytewise)
/// then slot, ties in directory order. Jobs in phase Done are included; the monitor skips them.
/// Stale files (mtime more than [`MAX_AGE`] before `now`) are deleted on the way.
pub fn read_states(state_dir: &Path, now: SystemTime) -> Result<Vec<TaskState>, StateError> {
    let dir = std::fs::read_dir(state_dir).map_err(|source| StateError::OpenDir {
        path: state_dir.to_owned(),
        source,
    })?;
    let now = unix_secs(now);
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(STATE_PREFIX.as_bytes()) {
            continue;
        }
        let path = entry.path();
        if let Some(state) = read_one(&path, now) {
            out.push(state);
        }
    }
    // Stable: equal (host, slot) keep directory order, as the C insertion sort does.
    out.sort_by(|a, b| {
        a.host
            .as_bytes()
            .cmp(b.host.as_bytes())
            .then(a.slot.cmp(&b.slot))
    });
    Ok(out)
}

fn read_one(path: &Path, now: i64) -> Option<TaskState> {
    // Open first: the file may vanish at any time, and then we still hold it.
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn(
                "dcc_mon_do_file",
                format_args!("failed to open {}: {}", path.display(), crate::strerror(&e)),
            );
            return None;
        }
    };
    let mtime = match f.metadata().and_then(|m| m.modified()) {
        Ok(t) => unix_secs(t),
        Err(e) => {
            warn(
                "dcc_mon_kill_old",
                format_args!("error statting {}: {}", path.display(), crate::strerror(&e)),
            );
            return None;
        }
    };
    if now - mtime > MAX_AGE.as_secs() as i64 {
        drop(f);
        if let Err(e) = std::fs::remove_file(path) {
            warn(
                "dcc_mon_kill_old",
                format_args!("unlink {} failed: {}", path.display(), crate::strerror(&e)),
            );
        }
        return None;
    }
    let mut buf = [0u8; STATE_SIZE];
    let mut n = 0;
    while n < STATE_SIZE {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let state = match decode_state(&buf[..n]) {
        Ok(s) => s,
        Err(BadState::Short) => return None,
        Err(BadState::WrongMagic) => {
            warn(
                "dcc_mon_read_state",
                format_args!("wrong magic number: {}", path.display()),
            );
            return None;
        }
        Err(BadState::WrongSize) => {
            let msg = format_args!(
                "wrong structure size: {}: version mismatch?",
                path.display()
            );
            warn("dcc_mon_read_state", msg);
            return None;
        }
    };
    if state.phase != Phase::Done && !process_exists(state.pid) {
        return None;
    }
    Some(state)
}

/// src/mon.c `dcc_mon_check_orphans`: `kill(pid, 0)`; EPERM means it exists but is not ours.
fn process_exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    match test_kill_process(pid) {
        Ok(()) | Err(Errno::PERM) => true,
        Err(Errno::SRCH) => false,
        Err(e) => {
            let e = io::Error::from(e);
            warn(
                "dcc_mon_check_orphans",
                format_args!(
                    "kill {}, 0 failed: {}",
                    pid.as_raw_pid(),
                    crate::strerror(&e)
                ),
            );
            false
        }
    }
}

fn warn(func: &str, msg: std::fmt::Arguments<'_>) {
    dcc_log!(Level::Warning, func, "{msg}");
}

#[cfg(test)]
mod tests;
