//! The event log: `$DISTCC_DIR/state/events`, where our client notes why a job did not run
//! where it was meant to (a distcc-rs addition; C distcc has no such file).
//!
//! The client appends one line only on its failure and fallback paths, never on the success
//! path: a host that failed and was backed off, a job compiled locally instead, a job that
//! failed because fallbacks are disabled. `distccmon-top` reads the file to show recent
//! failures with their reasons. Debian's monitors read only `binstate_*` files and ignore it.
//!
//! # Format
//!
//! UTF-8 text, one event per line, six fields separated by one TAB, the last running to the
//! end of the line:
//!
//! ```text
//! TIME            PID   KIND     HOST                 FILE    REASON
//! 1715000000.123  4242  backoff  127.0.0.1:3632/4     src/a.c failed to connect to 127.0.0.1:3632: Connection refused
//! ```
//!
//! - `TIME`: seconds since the epoch, with milliseconds.
//! - `PID`: the client process.
//! - `KIND`: [`EventKind`]: `backoff` (the host failed this job and is now backed off),
//!   `failed` (the host failed this job but is not backed off: backoff is disabled, or the
//!   server refused an option, which is about the command rather than the host), `local`
//!   (the job is compiled here instead), `error` (the job failed; `DISTCC_FALLBACK=0`), `cpp`
//!   (a `,cpp` host was to preprocess the job, but it was preprocessed here; the reason starts
//!   with the include scanner's label, e.g. `computed-include: ...`).
//! - `HOST`: the host as written in the host list (what the client's warning shows), `-` for
//!   none.
//! - `FILE`: the input file as given on the command line, `-` for none.
//! - `REASON`: the text of the client's warning (`failed to connect to …: Connection
//!   refused`, the server's own `distccd refuses '-x': …` line, `every host is backed off`).
//!
//! Control characters in a field (a TAB or newline in a file name) are written as spaces;
//! `HOST` and `FILE` are cut to 255 bytes and `REASON` to 1000, at a character boundary, so a
//! line is always one `write` well under `PIPE_BUF`. Readers skip lines they cannot parse,
//! which leaves room for new kinds and fields later.
//!
//! # Writing and size
//!
//! [`append_event`] opens the file with `O_APPEND` (so concurrent clients never interleave
//! within a line), checks its size and writes one line. When the file has reached
//! [`EVENTS_MAX_BYTES`] (256 KiB) it is first renamed to `events.1` (replacing the previous
//! one), so the log never holds much more than 512 KiB. Two clients rotating at the same
//! moment can lose the older half; this is a monitor's history, not an audit log.
//!
//! # Reading
//!
//! [`read_events`] returns everything in `events.1` then `events`. [`EventTail`] follows the
//! file as a monitor does: each [`EventTail::poll`] returns the lines added since the last
//! one, across rotations.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{StateError, concat_path};

/// The log's name inside the state directory.
pub const EVENTS_FILE: &str = "events";
/// The previous log, after a rotation.
pub const EVENTS_OLD_FILE: &str = "events.1";
/// The size at which a writer rotates the log.
pub const EVENTS_MAX_BYTES: u64 = 256 * 1024;
/// How a failure's reason starts when the helper closed the connection before reading the
/// request, i.e. it refuses this master (its `--allow` list): the client writes it, the farm
/// panel of distccmon-top reads it to say `refusing`.
pub const REFUSED_PREFIX: &str = "refuses this machine: ";

/// Longest `HOST` and `FILE` written, in bytes.
const NAME_MAX: usize = 255;
/// Longest `REASON` written, in bytes.
const REASON_MAX: usize = 1000;
/// Readers ignore lines longer than this (no writer produces them).
const LINE_MAX: usize = 4096;
/// Readers look at no more than this much of the end of a file (a writer rotates at 256 KiB;
/// anything much larger was not written by one).
const READ_MAX: u64 = 2 * EVENTS_MAX_BYTES;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The host failed this job and now has a backoff mark.
    Backoff,
    /// The host failed this job and was not marked.
    Failed,
    /// The job is compiled locally instead.
    Local,
    /// The job failed without a local fallback (`DISTCC_FALLBACK=0`).
    Error,
    /// A `,cpp` host was to preprocess the job, but it is preprocessed here (the reason
    /// starts with the include scanner's label); it is still compiled on the host.
    Cpp,
}

impl EventKind {
    /// The word in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Backoff => "backoff",
            EventKind::Failed => "failed",
            EventKind::Local => "local",
            EventKind::Error => "error",
            EventKind::Cpp => "cpp",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "backoff" => EventKind::Backoff,
            "failed" => EventKind::Failed,
            "local" => EventKind::Local,
            "error" => EventKind::Error,
            "cpp" => EventKind::Cpp,
            _ => return None,
        })
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened (kept to the millisecond).
    pub time: SystemTime,
    pub pid: u32,
    pub kind: EventKind,
    /// The host spec, empty for none.
    pub host: String,
    /// The input file, empty for none.
    pub file: String,
    pub reason: String,
}

impl Event {
    /// An event of this process, now.
    pub fn now(kind: EventKind, host: &str, file: &str, reason: &str) -> Event {
        Event {
            time: SystemTime::now(),
            pid: std::process::id(),
            kind,
            host: host.to_owned(),
            file: file.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// `<state_dir>/events`.
pub fn events_path(state_dir: &Path) -> PathBuf {
    concat_path(state_dir, EVENTS_FILE)
}

/// `<state_dir>/events.1`.
pub fn events_old_path(state_dir: &Path) -> PathBuf {
    concat_path(state_dir, EVENTS_OLD_FILE)
}

/// The line for `e`, newline included.
pub fn encode_event(e: &Event) -> String {
    let ms = e
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut line = String::with_capacity(64 + e.host.len() + e.file.len() + e.reason.len());
    line.push_str(&format!("{}.{:03}\t{}\t", ms / 1000, ms % 1000, e.pid));
    line.push_str(e.kind.as_str());
    for (field, max) in [
        (&e.host, NAME_MAX),
        (&e.file, NAME_MAX),
        (&e.reason, REASON_MAX),
    ] {
        line.push('\t');
        push_field(&mut line, field, max, max != REASON_MAX);
    }
    line.push('\n');
    line
}

/// Append `field`, cut to `max` bytes at a character boundary, control characters as spaces;
/// an empty name as `-`.
fn push_field(line: &mut String, field: &str, max: usize, dash_if_empty: bool) {
    if field.is_empty() && dash_if_empty {
        line.push('-');
        return;
    }
    let mut end = field.len().min(max);
    while !field.is_char_boundary(end) {
        end -= 1;
    }
    line.extend(
        field[..end]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c }),
    );
}

/// Parse one line (without its newline). `None` for anything a writer would not produce.
pub fn decode_event(line: &str) -> Option<Event> {
    let mut f = line.splitn(6, '\t');
    let time = parse_time(f.next()?)?;
    let pid = f.next()?.parse().ok()?;
    let kind = EventKind::parse(f.next()?)?;
    let name = |s: &str| {
        if s == "-" {
            String::new()
        } else {
            s.to_owned()
        }
    };
    let host = name(f.next()?);
    let file = name(f.next()?);
    let reason = f.next()?.to_owned();
    Some(Event {
        time,
        pid,
        kind,
        host,
        file,
        reason,
    })
}

/// `SECS[.FRACTION]`, digits only.
fn parse_time(s: &str) -> Option<SystemTime> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u32>().ok()? * 10u32.pow(9 - frac.len() as u32)
    };
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Append `e` to `<state_dir>/events`, rotating to `events.1` first when the file has reached
/// [`EVENTS_MAX_BYTES`]. Costs open, fstat, write and close (plus rename and open on rotation).
pub fn append_event(state_dir: &Path, e: &Event) -> Result<(), StateError> {
    let path = events_path(state_dir);
    let mut f = open_append(&path)?;
    let full = f
        .metadata()
        .map(|m| m.len() >= EVENTS_MAX_BYTES)
        .unwrap_or(false);
    if full {
        // Another client may have rotated it already; then this renames its fresh file, which
        // loses a little history and nothing else.
        let _ = std::fs::rename(&path, events_old_path(state_dir));
        f = open_append(&path)?;
    }
    f.write_all(encode_event(e).as_bytes())
        .map_err(|source| StateError::Write { path, source })
}

fn open_append(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o666)
        .open(path)
        .map_err(|source| StateError::Open {
            path: path.to_owned(),
            source,
        })
}

/// Every event in `events.1` then `events`, oldest first (as far as the files go). Missing
/// files are empty; unparsable lines are skipped.
pub fn read_events(state_dir: &Path) -> Result<Vec<Event>, StateError> {
    let mut tail = EventTail::new(state_dir);
    tail.poll()
}

/// Follows the log: [`EventTail::poll`] returns the events added since the previous call,
/// including those written just before a rotation.
#[derive(Debug)]
pub struct EventTail {
    path: PathBuf,
    old_path: PathBuf,
    /// `(dev, ino)` of the file being followed, and how far it has been read.
    followed: Option<((u64, u64), u64)>,
    first: bool,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
    /// Discard bytes up to the next newline (after a skip or an over-long line).
    resync: bool,
}

impl EventTail {
    /// Follow `<state_dir>/events`. The first poll returns what is already there.
    pub fn new(state_dir: &Path) -> EventTail {
        EventTail {
            path: events_path(state_dir),
            old_path: events_old_path(state_dir),
            followed: None,
            first: true,
            partial: Vec::new(),
            resync: false,
        }
    }

    /// The events added since the last poll, oldest first. A file that cannot be read (yet)
    /// is no events; only a directory error is an error.
    pub fn poll(&mut self) -> Result<Vec<Event>, StateError> {
        let mut out = Vec::new();
        let current = match File::open(&self.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StateError::Open {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let id = current
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| ((m.dev(), m.ino()), m.len()));
        let same = matches!((self.followed, id), (Some((a, _)), Some((b, _))) if a == b);
        if !same {
            // A new file (or none): first finish the one we followed, now `events.1` if it
            // was rotated; on the first poll, read `events.1` whole.
            if let Ok(old) = File::open(&self.old_path)
                && let Ok(m) = old.metadata()
            {
                let old_id = (m.dev(), m.ino());
                match self.followed {
                    Some((fid, off)) if fid == old_id => {
                        self.read(old, off, m.len(), &mut out);
                    }
                    None if self.first => {
                        self.read(old, 0, m.len(), &mut out);
                    }
                    _ => {}
                }
            }
            self.partial.clear();
            self.resync = false;
            self.followed = id.map(|(fid, _)| (fid, 0));
        }
        self.first = false;
        if let (Some(f), Some((fid, len)), Some((_, off))) = (current, id, self.followed) {
            // Shorter than what we read: truncated by hand; start again.
            let off = if len < off {
                self.partial.clear();
                self.resync = false;
                0
            } else {
                off
            };
            let end = self.read(f, off, len, &mut out);
            self.followed = Some((fid, end));
        }
        Ok(out)
    }

    /// Read `file` from `off` to `len` (at most [`READ_MAX`] of its end) and decode complete
    /// lines into `out`; returns the offset reached.
    fn read(&mut self, mut file: File, off: u64, len: u64, out: &mut Vec<Event>) -> u64 {
        let mut off = off;
        if len.saturating_sub(off) > READ_MAX {
            off = len - READ_MAX;
            self.partial.clear();
            self.resync = true;
        }
        if len <= off || file.seek(SeekFrom::Start(off)).is_err() {
            return off;
        }
        let mut buf = Vec::new();
        let got = match (&mut file).take(len - off).read_to_end(&mut buf) {
            Ok(n) => n,
            Err(_) => return off,
        };
        for chunk in buf.split_inclusive(|&b| b == b'\n') {
            let Some(line) = chunk.strip_suffix(b"\n") else {
                // An unfinished line: keep it for the next poll (bounded).
                if !self.resync {
                    self.partial.extend_from_slice(chunk);
                    if self.partial.len() > LINE_MAX {
                        self.partial.clear();
                        self.resync = true;
                    }
                }
                continue;
            };
            if self.resync {
                self.resync = false;
                self.partial.clear();
                continue;
            }
            let whole;
            let line = if self.partial.is_empty() {
                line
            } else {
                self.partial.extend_from_slice(line);
                whole = std::mem::take(&mut self.partial);
                &whole[..]
            };
            if line.len() <= LINE_MAX
                && let Some(e) = decode_event(&String::from_utf8_lossy(line))
            {
                out.push(e);
            }
        }
        off + got as u64
    }
}

#[cfg(test)]
mod tests;
