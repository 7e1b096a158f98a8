//! What the daemon is doing now, for the JSON status and the web page: the jobs in flight
//! (client, compiler, file, phase, age) and the most recent failures with their reasons.
//! It also keeps a moving average of compile wall times, which the load report
//! ([`crate::load`]) gives our clients as this helper's speed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Reading the request.
    Receiving,
    /// Waiting for a `--jobs` slot.
    Queued,
    Compiling,
    /// Writing the reply.
    Sending,
}

#[derive(Debug, Clone)]
struct Entry {
    client: String,
    compiler: String,
    input: String,
    phase: Phase,
    started: Instant,
    /// When the job entered [`Phase::Compiling`].
    compiling_since: Option<Instant>,
}

/// A job in flight, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobView {
    pub client: String,
    pub compiler: String,
    pub input: String,
    pub phase: Phase,
    pub age_ms: u64,
}

/// A job that did not end with a good object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Seconds since the epoch.
    pub time: u64,
    pub client: String,
    /// The compiler the request named, empty when refused before its header was read.
    pub compiler: String,
    pub input: String,
    /// distcc's summary word (COMPILE_ERROR, OTHER, CLI_DISCONN ...).
    pub result: String,
    pub reason: String,
}

/// How many failures are remembered.
pub const RECENT: usize = 50;

/// The registry.
#[derive(Debug, Default)]
pub struct Live {
    next: AtomicU64,
    jobs: Mutex<BTreeMap<u64, Entry>>,
    recent: Mutex<VecDeque<Failure>>,
    /// Moving average of compile wall times in ms (0: none yet).
    compile_ms: AtomicU32,
}

/// A registered job; removed from the registry when dropped.
#[derive(Debug)]
pub struct LiveJob<'a> {
    live: &'a Live,
    id: u64,
}

impl Live {
    /// Register a connection from `client`.
    pub fn start(&self, client: &str) -> LiveJob<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            Entry {
                client: client.to_owned(),
                compiler: String::new(),
                input: String::new(),
                phase: Phase::Receiving,
                started: Instant::now(),
                compiling_since: None,
            },
        );
        LiveJob { live: self, id }
    }

    /// Remember a failure (newest first; at most [`RECENT`]).
    pub fn failed(&self, client: &str, compiler: &str, input: &str, result: &str, reason: &str) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() == RECENT {
            r.pop_back();
        }
        r.push_front(Failure {
            time,
            client: client.to_owned(),
            compiler: compiler.to_owned(),
            input: input.to_owned(),
            result: result.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// The jobs in flight, oldest first.
    pub fn jobs(&self) -> Vec<JobView> {
        let now = Instant::now();
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|e| JobView {
                client: e.client.clone(),
                compiler: e.compiler.clone(),
                input: e.input.clone(),
                phase: e.phase,
                age_ms: now.duration_since(e.started).as_millis() as u64,
            })
            .collect()
    }

    /// The recent failures, newest first.
    pub fn recent(&self) -> Vec<Failure> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The moving average of compile wall times, in ms; 0 before the first compile.
    pub fn compile_ms(&self) -> u32 {
        self.compile_ms.load(Ordering::Relaxed)
    }

    /// Fold one compile's wall time into the average (weight 1/4: a few jobs follow a change
    /// of load, one odd unit does not swing it).
    fn compiled(&self, took: std::time::Duration) {
        let ms = u32::try_from(took.as_millis()).unwrap_or(u32::MAX).max(1);
        let _ = self
            .compile_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    ms
                } else {
                    ((u64::from(old) * 3 + u64::from(ms)) / 4) as u32
                })
            });
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            f(e);
        }
    }
}

impl LiveJob<'_> {
    pub fn phase(&self, phase: Phase) {
        let mut took = None;
        self.live.update(self.id, |e| {
            if phase == Phase::Compiling {
                e.compiling_since = Some(Instant::now());
            } else if let Some(t) = e.compiling_since.take() {
                took = Some(t.elapsed());
            }
            e.phase = phase;
        });
        if let Some(t) = took {
            self.live.compiled(t);
        }
    }

    pub fn describe(&self, compiler: &str, input: &str) {
        self.live.update(self.id, |e| {
            e.compiler = compiler.to_owned();
            e.input = input.to_owned();
        });
    }
}

impl Drop for LiveJob<'_> {
    fn drop(&mut self) {
        self.live
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_come_and_go_and_failures_are_bounded() {
        let live = Live::default();
        {
            let j = live.start("10.3.0.10:4000");
            j.describe("gcc", "x.c");
            j.phase(Phase::Compiling);
            let v = live.jobs();
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].input, "x.c");
            assert_eq!(v[0].phase, Phase::Compiling);
            assert_eq!(live.compile_ms(), 0, "no compile has ended yet");
            j.phase(Phase::Sending);
        }
        assert!(live.jobs().is_empty(), "dropped guard unregisters");
        assert_ne!(live.compile_ms(), 0, "the compile was timed");
        for i in 0..(RECENT + 5) {
            live.failed("c", "gcc", &format!("f{i}.c"), "OTHER", "why");
        }
        let r = live.recent();
        assert_eq!(r.len(), RECENT);
        assert_eq!(r[0].input, format!("f{}.c", RECENT + 4), "newest first");
    }
}
