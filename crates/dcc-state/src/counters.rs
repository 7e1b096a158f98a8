//! The master's compile counters, `$DISTCC_DIR/state/counters`, which `distcc --show-stats`
//! prints and `distcc --zero-stats` resets (a distcc-rs addition, like `sccache --show-stats`).
//!
//! One small text file for every client of the master: each compile that ends on a helper or
//! falls back adds to it once, under an exclusive fcntl lock on the file (open, lock, read,
//! write, close: a few microseconds; measured in docs/benchmarks.md). The file is bounded:
//! at most [`MAX_HOSTS`] host rows and [`MAX_REASONS`] reason rows (further ones are added to
//! one `(other)` row), reasons cut to [`REASON_MAX`] bytes, and a file over [`MAX_BYTES`] is
//! read as empty and rewritten. A counter file that cannot be written never changes a build:
//! the caller logs at debug level and goes on.
//!
//! Format, one record per line, TAB-separated, after the header `distcc-rs-counters 1`:
//!
//! ```text
//! since    <seconds since the epoch when counting started>
//! host     <host as in DISTCC_HOSTS>  <jobs>  <failed>  <bytes sent>  <bytes received>  <ms>
//! failed   <host>  <count>  <reason>
//! fallback <host or ->  <count>  <reason>
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use dcc_common::sys::lock::{LockKind, Owner, Wait, lock};

use crate::StateError;

/// The file's name in the state directory.
pub const COUNTERS_FILE: &str = "counters";
/// Host rows kept; compiles on further hosts count in the `(other)` row.
pub const MAX_HOSTS: usize = 64;
/// Reason rows kept (failures and fallbacks together).
pub const MAX_REASONS: usize = 64;
/// Longest reason kept, in bytes.
pub const REASON_MAX: usize = 160;
/// A larger file is not ours to trust: it is read as empty.
pub const MAX_BYTES: u64 = 64 * 1024;
const HEADER: &str = "distcc-rs-counters 1";
/// The row that collects what does not fit.
pub const OTHER: &str = "(other)";

/// One helper's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTotals {
    /// Compiles that came back with a good object (or the compiler's own error).
    pub jobs: u64,
    /// Attempts that failed on the helper's side (refused, unreachable, broken reply).
    pub failed: u64,
    /// Preprocessed bytes sent (before the wire's compression).
    pub sent: u64,
    /// Object and message bytes received (after decompression).
    pub received: u64,
    /// Time from connecting to the end of the reply, summed.
    pub millis: u64,
}

/// Everything the file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// When counting started (seconds since the epoch; 0 when unknown).
    pub since: u64,
    pub hosts: BTreeMap<String, HostTotals>,
    /// (host, reason) of a helper's failure, and how often.
    pub failures: BTreeMap<(String, String), u64>,
    /// (host or `-`, reason) of a compile that ran here instead, and how often.
    pub fallbacks: BTreeMap<(String, String), u64>,
}

/// What one compile adds.
#[derive(Debug, Clone, Copy)]
pub enum Count<'a> {
    /// A reply from `host`.
    Sent {
        host: &'a str,
        sent: u64,
        received: u64,
        millis: u64,
    },
    /// `host` failed the job for `reason`.
    Failed { host: &'a str, reason: &'a str },
    /// The job ran here for `reason` (`host`: the last helper tried, if any).
    Fallback {
        host: Option<&'a str>,
        reason: &'a str,
    },
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The file in `state_dir`.
pub fn counters_path(state_dir: &Path) -> PathBuf {
    state_dir.join(COUNTERS_FILE)
}

/// A reason as stored: one line, no TAB, at most [`REASON_MAX`] bytes (on a char boundary).
fn clean(reason: &str) -> String {
    let mut s: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.len() > REASON_MAX {
        let mut cut = REASON_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl Counters {
    /// Add one compile's count, within the bounds.
    pub fn add(&mut self, c: Count<'_>) {
        match c {
            Count::Sent {
                host,
                sent,
                received,
                millis,
            } => {
                let t = self.host(host);
                t.jobs += 1;
                t.sent = t.sent.saturating_add(sent);
                t.received = t.received.saturating_add(received);
                t.millis = t.millis.saturating_add(millis);
            }
            Count::Failed { host, reason } => {
                self.host(host).failed += 1;
                let key = self.reason_key(host, reason);
                *self.failures.entry(key).or_insert(0) += 1;
            }
            Count::Fallback { host, reason } => {
                let key = self.reason_key(host.unwrap_or("-"), reason);
                *self.fallbacks.entry(key).or_insert(0) += 1;
            }
        }
    }

    fn host(&mut self, host: &str) -> &mut HostTotals {
        let host = clean(host);
        let key = if self.hosts.contains_key(&host) || self.hosts.len() < MAX_HOSTS {
            host
        } else {
            OTHER.to_owned()
        };
        self.hosts.entry(key).or_default()
    }

    fn reason_key(&self, host: &str, reason: &str) -> (String, String) {
        let key = (clean(host), clean(reason));
        let known = self.failures.contains_key(&key) || self.fallbacks.contains_key(&key);
        if known || self.failures.len() + self.fallbacks.len() < MAX_REASONS {
            key
        } else {
            (OTHER.to_owned(), OTHER.to_owned())
        }
    }

    /// Every compile counted in [`Counters::hosts`] and [`Counters::fallbacks`].
    pub fn fallback_total(&self) -> u64 {
        self.fallbacks.values().sum()
    }
}

/// The file's text for `c`.
pub fn encode_counters(c: &Counters) -> String {
    let mut s = format!("{HEADER}\nsince\t{}\n", c.since);
    for (h, t) in &c.hosts {
        s.push_str(&format!(
            "host\t{h}\t{}\t{}\t{}\t{}\t{}\n",
            t.jobs, t.failed, t.sent, t.received, t.millis
        ));
    }
    for ((h, r), n) in &c.failures {
        s.push_str(&format!("failed\t{h}\t{n}\t{r}\n"));
    }
    for ((h, r), n) in &c.fallbacks {
        s.push_str(&format!("fallback\t{h}\t{n}\t{r}\n"));
    }
    s
}

/// Read the file's text; lines that do not parse are skipped, and the bounds hold whatever
/// the file says.
pub fn decode_counters(text: &str) -> Counters {
    let mut c = Counters::default();
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return c;
    }
    let num = |s: Option<&str>| s.and_then(|v| v.parse::<u64>().ok());
    for line in lines {
        let mut f = line.splitn(7, '\t');
        match f.next() {
            Some("since") => c.since = num(f.next()).unwrap_or(0),
            Some("host") => {
                let Some(h) = f.next() else { continue };
                let v: Vec<u64> = f.filter_map(|x| x.parse().ok()).collect();
                if let [jobs, failed, sent, received, millis] = v[..] {
                    let t = c.host(h);
                    t.jobs = t.jobs.saturating_add(jobs);
                    t.failed = t.failed.saturating_add(failed);
                    t.sent = t.sent.saturating_add(sent);
                    t.received = t.received.saturating_add(received);
                    t.millis = t.millis.saturating_add(millis);
                }
            }
            Some(kind @ ("failed" | "fallback")) => {
                let mut f = line.splitn(4, '\t').skip(1);
                let (Some(h), Some(n), Some(r)) = (f.next(), num(f.next()), f.next()) else {
                    continue;
                };
                let key = c.reason_key(h, r);
                let map = if kind == "failed" {
                    &mut c.failures
                } else {
                    &mut c.fallbacks
                };
                let e = map.entry(key).or_insert(0);
                *e = e.saturating_add(n);
            }
            _ => {}
        }
    }
    c
}

fn open(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path)
        .map_err(|source| StateError::Open {
            path: path.to_owned(),
            source,
        })
}

fn lock_file(f: &File, path: &Path, kind: LockKind) -> Result<(), StateError> {
    lock(f.as_fd(), kind, Owner::OpenFile, Wait::Yes)
        .map(|_| ())
        .map_err(|source| StateError::Lock {
            path: path.to_owned(),
            source,
        })
}

fn read_locked(f: &mut File) -> Counters {
    let mut text = String::new();
    let small = f.metadata().is_ok_and(|m| m.len() <= MAX_BYTES);
    if small && f.take(MAX_BYTES).read_to_string(&mut text).is_ok() {
        decode_counters(&text)
    } else {
        Counters::default()
    }
}

fn write_locked(f: &mut File, path: &Path, c: &Counters) -> Result<(), StateError> {
    let text = encode_counters(c);
    let w = |f: &mut File| -> std::io::Result<()> {
        f.seek(SeekFrom::Start(0))?;
        f.write_all(text.as_bytes())?;
        f.set_len(text.len() as u64)
    };
    w(f).map_err(|source| StateError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Add one compile's count to the file (created on first use). The lock is the open file's
/// and goes when the file is closed, on return.
pub fn count(state_dir: &Path, c: Count<'_>) -> Result<(), StateError> {
    let path = counters_path(state_dir);
    let mut f = open(&path)?;
    lock_file(&f, &path, LockKind::Write)?;
    let mut counters = read_locked(&mut f);
    if counters.since == 0 {
        counters.since = now();
    }
    counters.add(c);
    write_locked(&mut f, &path, &counters)
}

/// The counters as they are now (empty when there is no file).
pub fn read_counters(state_dir: &Path) -> Result<Counters, StateError> {
    let path = counters_path(state_dir);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Counters::default()),
        Err(source) => return Err(StateError::Open { path, source }),
    };
    lock_file(&f, &path, LockKind::Read)?;
    Ok(read_locked(&mut f))
}

/// Start counting again from zero, now.
pub fn zero_counters(state_dir: &Path) -> Result<(), StateError> {
    let path = counters_path(state_dir);
    let mut f = open(&path)?;
    lock_file(&f, &path, LockKind::Write)?;
    let fresh = Counters {
        since: now(),
        ..Counters::default()
    };
    write_locked(&mut f, &path, &fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for _ in 0..3 {
            count(
                d,
                Count::Sent {
                    host: "h1:3632/4",
                    sent: 1000,
                    received: 200,
                    millis: 30,
                },
            )
            .unwrap();
        }
        count(
            d,
            Count::Failed {
                host: "h2",
                reason: "closed\tthe connection",
            },
        )
        .unwrap();
        count(
            d,
            Count::Fallback {
                host: Some("h2"),
                reason: "closed",
            },
        )
        .unwrap();
        let c = read_counters(d).unwrap();
        assert!(c.since > 0);
        assert_eq!(
            c.hosts["h1:3632/4"],
            HostTotals {
                jobs: 3,
                failed: 0,
                sent: 3000,
                received: 600,
                millis: 90
            }
        );
        assert_eq!(c.hosts["h2"].failed, 1);
        assert_eq!(
            c.failures[&("h2".to_owned(), "closed the connection".to_owned())],
            1
        );
        assert_eq!(c.fallback_total(), 1);
        zero_counters(d).unwrap();
        let z = read_counters(d).unwrap();
        assert!(z.hosts.is_empty() && z.fallbacks.is_empty() && z.since > 0);
    }

    /// A hostile or corrupt file: too many rows, huge reasons, junk lines. The bounds hold.
    #[test]
    fn a_file_with_too_many_rows_is_read_within_the_bounds() {
        let mut text = format!("{HEADER}\nsince\t5\njunk\n");
        for i in 0..500 {
            text.push_str(&format!("host\th{i}\t1\t0\t1\t1\t1\n"));
            text.push_str(&format!("fallback\t-\t1\t{}{i}\n", "x".repeat(1000)));
        }
        let c = decode_counters(&text);
        assert_eq!(c.hosts.len(), MAX_HOSTS + 1, "64 hosts and (other)");
        assert_eq!(c.hosts[OTHER].jobs, 500 - MAX_HOSTS as u64);
        assert!(c.fallbacks.len() <= MAX_REASONS + 1);
        assert!(c.fallbacks.keys().all(|(_, r)| r.len() <= REASON_MAX));
        assert_eq!(c.fallback_total(), 500);
        assert!(encode_counters(&c).len() < MAX_BYTES as usize);
    }

    #[test]
    fn an_oversized_file_is_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let junk = format!("{HEADER}\n{}", "host\th\t1\t0\t0\t0\t0\n".repeat(10_000));
        std::fs::write(counters_path(dir.path()), junk).unwrap();
        assert_eq!(read_counters(dir.path()).unwrap().hosts.len(), 0);
    }
}
