//! The farm panel of `distccmon-top`: one row per helper of this master's host list (what
//! `distcc` itself would read: `DISTCC_HOSTS`, else the hosts files), whether or not it has
//! run anything, from files that already exist:
//!
//! - state: `refusing` when its last failure was a connection closed before the request was
//!   read (it refuses this master: `--allow`) and it is backed off or failed recently;
//!   `backed off` while its backoff mark is younger than `DISTCC_BACKOFF_PERIOD`,
//!   `failing` when it failed in the last [`FAILURE_WINDOW`] without a mark (backoff
//!   disabled), else `up`; `why` is the reason of its last failure in the event log;
//! - slots: the slot locks (`cpu_<host>_<n>`) some client holds now, of the host's limit,
//!   probed with `F_GETLK`, which takes no lock;
//! - jobs/min: jobs finished on its host name in the last minute (from the state files,
//!   which carry the host name only: helpers sharing a host name share the count);
//! - mine and failed: this master's totals in `state/counters` (`distcc --show-stats`), for
//!   the same host and port whatever options the list gave it when they were counted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use dcc_hosts::{HostList, HostSpec};
use dcc_state::{Counters, EventKind};

use super::model::{FAILURE_WINDOW, Model};

/// Where the farm's state is read from.
#[derive(Debug, Clone)]
pub struct Farm {
    pub hosts: HostList,
    pub lock_dir: PathBuf,
    /// `DISTCC_BACKOFF_PERIOD` (zero: backoff disabled).
    pub period: Duration,
}

/// One helper's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FarmRow {
    /// `host` or `host:port`, as the client's logs name it.
    pub host: String,
    /// `up`, `refusing`, `backed off`, `failing` or `local`.
    pub state: &'static str,
    pub slots_busy: u32,
    pub slots: u32,
    pub per_minute: usize,
    /// This master's jobs on it, and its failures and refusals, since the counters were zeroed.
    pub mine: u64,
    pub failed: u64,
    /// The reason of its last failure in the event log, empty for none.
    pub why: String,
}

impl Farm {
    /// The rows, in the host list's order.
    pub fn rows(&self, model: &Model, counters: &Counters, now: SystemTime) -> Vec<FarmRow> {
        let per_minute: HashMap<String, usize> = model
            .host_rows()
            .into_iter()
            .map(|r| (r.host, r.per_minute))
            .collect();
        let horizon = now.checked_sub(FAILURE_WINDOW).unwrap_or(now);
        self.hosts
            .hosts
            .iter()
            .map(|h| {
                let lock = h.lock_name();
                let (mine, failed) = counters
                    .hosts
                    .iter()
                    .filter(|(spec, _)| lock_name(spec).as_deref() == Some(&lock))
                    .fold((0, 0), |(j, f), (_, t)| (j + t.jobs, f + t.failed));
                // Newest first.
                let last_failure = model.events().find(|e| {
                    matches!(e.kind, EventKind::Backoff | EventKind::Failed)
                        && lock_name(&e.host).as_deref() == Some(&lock)
                });
                let backed_off =
                    dcc_state::is_backed_off_at(&self.lock_dir, &lock, self.period, now);
                let recent = last_failure.is_some_and(|e| e.time >= horizon);
                let refused =
                    last_failure.is_some_and(|e| e.reason.starts_with(dcc_state::REFUSED_PREFIX));
                let state = if h.is_local() {
                    "local"
                } else if refused && (backed_off || recent) {
                    "refusing"
                } else if backed_off {
                    "backed off"
                } else if recent {
                    "failing"
                } else {
                    "up"
                };
                FarmRow {
                    host: h.display_name(),
                    state,
                    slots_busy: busy_slots(&self.lock_dir, h),
                    slots: h.limit,
                    per_minute: per_minute.get(h.hostname()).copied().unwrap_or(0),
                    mine,
                    failed,
                    why: last_failure.map(|e| e.reason.clone()).unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// The lock name of one host's spec, as the counters and events record it: the same helper
/// with other options (`/3`, `,lzo`) in another list is the same helper.
fn lock_name(spec: &str) -> Option<String> {
    match dcc_hosts::parse(spec) {
        Ok(list) if list.hosts.len() == 1 => Some(list.hosts[0].lock_name()),
        _ => None,
    }
}

/// How many of the host's slot locks a process holds now.
fn busy_slots(lock_dir: &Path, h: &HostSpec) -> u32 {
    let lock = h.lock_name();
    (0..h.limit)
        .filter(|&slot| held(&dcc_state::slot_path(lock_dir, &lock, slot)))
        .fold(0, |n, _| n + 1)
}

/// Whether another process holds a lock on the file (fcntl `F_GETLK`: asks, takes nothing).
fn held(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // SAFETY: a zeroed flock is a valid value; the fd is open for the call's duration.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: F_GETLK with a pointer to a valid flock.
    let r = unsafe { libc::fcntl(fd, libc::F_GETLK, &mut fl) };
    r == 0 && fl.l_type != libc::F_UNLCK as libc::c_short
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_state::{Event, Phase, TaskState};
    use std::time::UNIX_EPOCH;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    /// Jobs/min from the state files by host name; a helper that failed with backoff disabled
    /// is `failing` with its reason; counters recorded under another spelling of the same
    /// helper (`/2`) are its own; `localhost` is `local`.
    #[test]
    fn rows_from_model_counters_and_events() {
        let tmp = tempfile::tempdir().unwrap();
        let farm = Farm {
            hosts: dcc_hosts::parse("a:4000/3 b localhost").unwrap(),
            lock_dir: tmp.path().to_owned(),
            period: Duration::ZERO,
        };
        let mut m = Model::new();
        let job = |pid, host: &str| TaskState {
            pid,
            file: "x.c".into(),
            host: host.into(),
            slot: 0,
            phase: Phase::Compile,
        };
        m.observe(t(0), &[], |_| None);
        m.observe(t(1), &[job(1, "a"), job(2, "a")], |_| None);
        m.observe(t(2), &[], |_| None);
        m.add_events(vec![Event {
            time: t(2),
            pid: 9,
            kind: EventKind::Failed,
            host: "b,lzo".into(),
            file: "x.c".into(),
            reason: "refused: not allowed".into(),
        }]);
        let mut counters = Counters::default();
        counters.hosts.entry("a:4000/2".into()).or_default().jobs = 5;
        counters.hosts.entry("a:4001".into()).or_default().jobs = 7;
        counters.hosts.entry("b".into()).or_default().failed = 1;
        let rows = farm.rows(&m, &counters, t(3));
        let cols: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.host.as_str(),
                    r.state,
                    r.slots,
                    r.per_minute,
                    r.mine,
                    r.failed,
                )
            })
            .collect();
        assert_eq!(
            cols,
            [
                ("a:4000", "up", 3, 2, 5, 0),
                ("b", "failing", 4, 0, 0, 1),
                ("localhost", "local", 2, 0, 0, 0),
            ]
        );
        assert_eq!(rows[1].why, "refused: not allowed");
        assert_eq!(rows[0].why, "");
    }
}
