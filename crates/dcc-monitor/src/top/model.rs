//! What `distccmon-top` knows, built from successive observations of the state directory and
//! the event log: the jobs running now, the jobs finished recently (per host, in a sliding
//! window) and the recent failures. No IO here: the caller passes in what it read and the
//! time, so tests can drive it with fixtures and a fake clock.
//!
//! A job is one client process (`binstate_<pid>`). It counts as finished, on the last host it
//! was seen on, when its file disappears or reaches `Done`. Jobs seen only in `Startup` or
//! `Blocked` have no host yet; they are listed under [`NO_HOST`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use dcc_state::{Event, EventKind, Phase, TaskState};

/// How far back "jobs per minute" looks.
pub const THROUGHPUT_WINDOW: Duration = Duration::from_secs(60);
/// The throughput history drawn per host: this many buckets of [`BUCKET`].
pub const BUCKETS: usize = 12;
pub const BUCKET: Duration = Duration::from_secs(5);
/// How far back the per-host failure count looks.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);
/// How many events are kept for the failures panel.
pub const EVENTS_KEPT: usize = 200;
/// The host row of jobs that have no host yet.
pub const NO_HOST: &str = "(no host yet)";

/// The phases shown as columns, in a job's order. `Startup` and `Done` are not columns:
/// a starting job counts in the row's total only.
pub const PHASE_COLUMNS: [Phase; 6] = [
    Phase::Blocked,
    Phase::Connect,
    Phase::Preprocess,
    Phase::Send,
    Phase::Compile,
    Phase::Receive,
];

/// A job running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub pid: u32,
    pub file: String,
    /// Empty until the client has a host.
    pub host: String,
    pub slot: i32,
    pub phase: Phase,
    /// When the monitor first saw it (or its state file's mtime, if older).
    pub since: SystemTime,
}

/// One row of the failures panel: an event, or a host's failure merged with the fallback
/// that followed it in the same client for the same reason (`backoff→local`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRow<'a> {
    pub event: &'a Event,
    /// What the job did next, when merged.
    pub then: Option<EventKind>,
}

impl EventRow<'_> {
    /// `backoff`, `failed→local` …
    pub fn label(&self) -> String {
        match self.then {
            Some(k) => format!("{}→{}", self.event.kind.as_str(), k.as_str()),
            None => self.event.kind.as_str().to_owned(),
        }
    }
}

/// One row of the hosts panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    pub host: String,
    /// Running jobs in each of [`PHASE_COLUMNS`].
    pub phases: [usize; 6],
    /// All running jobs (including `Startup`).
    pub running: usize,
    /// Jobs finished in the last [`THROUGHPUT_WINDOW`].
    pub per_minute: usize,
    /// Jobs finished per [`BUCKET`], oldest first, the last one being the current bucket.
    pub history: [usize; BUCKETS],
    /// `backoff` and `failed` events for this host in the last [`FAILURE_WINDOW`].
    pub failures: usize,
}

/// The monitor's memory between refreshes.
#[derive(Debug)]
pub struct Model {
    /// Running jobs by pid, in the order of the last `read_states` (host, slot).
    jobs: Vec<Job>,
    /// Pids seen in `Done`, so a lingering file is counted once.
    done_seen: HashSet<u32>,
    /// (when, host) of each finished job, oldest first, at most a window old.
    finished: VecDeque<(SystemTime, String)>,
    events: VecDeque<Event>,
    observations: u64,
    /// When the first observation was made.
    pub started: Option<SystemTime>,
    /// When the last observation was made.
    pub now: SystemTime,
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Model {
    pub fn new() -> Model {
        Model {
            jobs: Vec::new(),
            done_seen: HashSet::new(),
            finished: VecDeque::new(),
            events: VecDeque::new(),
            observations: 0,
            started: None,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    /// Take in one reading of the state directory (`read_states`' order) at `now`. `since`
    /// tells when a job the monitor has not seen before started, as far as is known (its
    /// state file's mtime); it is asked only for new pids.
    pub fn observe(
        &mut self,
        now: SystemTime,
        states: &[TaskState],
        mut since: impl FnMut(u32) -> Option<SystemTime>,
    ) {
        let first = self.observations == 0;
        self.observations += 1;
        self.started.get_or_insert(now);
        self.now = now;
        let mut previous: HashMap<u32, Job> = self.jobs.drain(..).map(|j| (j.pid, j)).collect();
        let mut present = HashSet::with_capacity(states.len());
        for s in states {
            present.insert(s.pid);
            if s.phase == Phase::Done {
                let counted = !self.done_seen.insert(s.pid);
                let was_running = previous.remove(&s.pid);
                // A Done file of a job never seen running: it ran between two readings. One
                // already there at the first reading finished before we looked.
                if !counted && (was_running.is_some() || !first) {
                    let host = was_running.map_or_else(|| s.host.clone(), |j| j.host);
                    self.finish(
                        now,
                        if s.host.is_empty() {
                            host
                        } else {
                            s.host.clone()
                        },
                    );
                }
                continue;
            }
            let since = match previous.remove(&s.pid) {
                Some(j) if j.file == s.file => j.since,
                other => {
                    // A new job, or a reused pid: the old one has finished.
                    if let Some(old) = other {
                        self.finish(now, old.host);
                    }
                    since(s.pid).map_or(now, |t| t.min(now))
                }
            };
            self.jobs.push(Job {
                pid: s.pid,
                file: s.file.clone(),
                host: s.host.clone(),
                slot: s.slot,
                phase: s.phase,
                since,
            });
        }
        // Gone without a Done: finished too (our client removes its file without writing Done).
        let mut gone: Vec<Job> = previous.into_values().collect();
        gone.sort_by_key(|j| j.pid);
        for j in gone {
            self.finish(now, j.host);
        }
        self.done_seen.retain(|pid| present.contains(pid));
        let horizon = now.checked_sub(THROUGHPUT_WINDOW).unwrap_or(now);
        while self.finished.front().is_some_and(|(t, _)| *t < horizon) {
            self.finished.pop_front();
        }
    }

    fn finish(&mut self, now: SystemTime, host: String) {
        self.finished.push_back((now, host));
    }

    /// Take in new lines of the event log (oldest first).
    pub fn add_events(&mut self, new: Vec<Event>) {
        for e in new {
            if self.events.len() == EVENTS_KEPT {
                self.events.pop_front();
            }
            self.events.push_back(e);
        }
    }

    /// The running jobs, by host then slot.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Recent events, newest first.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().rev()
    }

    /// The failures panel, newest first: a client's host failure and the fallback it then
    /// made for the same reason are one row.
    pub fn event_rows(&self) -> Vec<EventRow<'_>> {
        let mut out = Vec::new();
        let mut it = self.events.iter().rev().peekable();
        while let Some(e) = it.next() {
            let fallback = matches!(e.kind, EventKind::Local | EventKind::Error);
            if fallback
                && let Some(prev) = it.peek()
                && matches!(prev.kind, EventKind::Backoff | EventKind::Failed)
                && (prev.pid, &prev.host, &prev.reason) == (e.pid, &e.host, &e.reason)
            {
                out.push(EventRow {
                    event: prev,
                    then: Some(e.kind),
                });
                it.next();
                continue;
            }
            out.push(EventRow {
                event: e,
                then: None,
            });
        }
        out
    }

    /// Jobs finished in the last minute, all hosts.
    pub fn per_minute(&self) -> usize {
        self.finished.len()
    }

    /// True until the window has been watched for a whole minute.
    pub fn warming_up(&self) -> bool {
        self.started
            .is_none_or(|s| self.now.duration_since(s).unwrap_or_default() < THROUGHPUT_WINDOW)
    }

    /// One row per host that has running jobs, finished recently or failed recently; named
    /// hosts in byte order, then `localhost`, then [`NO_HOST`].
    pub fn host_rows(&self) -> Vec<HostRow> {
        let mut rows: HashMap<String, HostRow> = HashMap::new();
        fn row<'a>(rows: &'a mut HashMap<String, HostRow>, host: &str) -> &'a mut HostRow {
            let name = if host.is_empty() { NO_HOST } else { host };
            rows.entry(name.to_owned()).or_insert_with(|| HostRow {
                host: name.to_owned(),
                phases: [0; 6],
                running: 0,
                per_minute: 0,
                history: [0; BUCKETS],
                failures: 0,
            })
        }
        for j in &self.jobs {
            let r = row(&mut rows, &j.host);
            r.running += 1;
            if let Some(i) = PHASE_COLUMNS.iter().position(|&p| p == j.phase) {
                r.phases[i] += 1;
            }
        }
        for (t, host) in &self.finished {
            let r = row(&mut rows, host);
            r.per_minute += 1;
            let age = self.now.duration_since(*t).unwrap_or_default();
            let back = (age.as_secs() / BUCKET.as_secs()) as usize;
            if back < BUCKETS {
                r.history[BUCKETS - 1 - back] += 1;
            }
        }
        let horizon = self.now.checked_sub(FAILURE_WINDOW).unwrap_or(self.now);
        for e in self.events.iter().filter(|e| e.time >= horizon) {
            if matches!(e.kind, EventKind::Backoff | EventKind::Failed) && !e.host.is_empty() {
                row(&mut rows, &host_name(&e.host)).failures += 1;
            }
        }
        let mut out: Vec<HostRow> = rows.into_values().collect();
        let rank = |h: &str| match h {
            NO_HOST => 2,
            "localhost" => 1,
            _ => 0,
        };
        out.sort_by(|a, b| {
            rank(&a.host)
                .cmp(&rank(&b.host))
                .then_with(|| a.host.as_bytes().cmp(b.host.as_bytes()))
        });
        out
    }
}

/// The host name of a host-list entry, as the state files carry it (no user, port or
/// options): `fred@build:/opt/distccd` is `build`, `127.0.0.1:3632/4,lzo` is `127.0.0.1`.
pub fn host_name(spec: &str) -> String {
    match dcc_hosts::parse(spec) {
        Ok(list) if list.hosts.len() == 1 => list.hosts[0].hostname().to_owned(),
        _ => spec.to_owned(),
    }
}

/// `12s`, `4m`, `3h`, `2d`: a short age.
pub fn short_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests;
