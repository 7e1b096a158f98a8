//! The one observer of connections and jobs: everything the three sinks learn, the distcc
//! counters ([`crate::stats`]), the Prometheus metrics ([`crate::metrics`]) and the live view
//! ([`crate::live`]), goes through [`Server::observe`]. A new field on the live page or a new
//! metric is fed here, from the event that already carries what it needs, not at the places
//! in the job that cause it. (Bytes on the wire are counted by `crate::counting`'s wrappers
//! around the connection, which see every read and write.)

use std::time::Duration;

use crate::exec::Runner;
use crate::live::{LiveJob, Phase};
use crate::metrics::RefusalReason;
use crate::server::Server;
use crate::stats::JobResult;

/// How a connection's job ended: what distcc's summary line, the counters and the live
/// view's failures say about it ([`crate::job`] returns it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutcome {
    pub result: JobResult,
    /// The raw wait status the summary line shows (`exit:`, `sig:`, `core:`).
    pub status: u32,
    /// distcc's `ret:` (an exit code of its own, or 0).
    pub ret: i32,
    /// Why the job did not produce an object (status page, failures).
    pub reason: Option<String>,
    /// Counted in `distccd_refusals` when set.
    pub refusal: Option<RefusalReason>,
    pub compiler: String,
    pub input: String,
}

impl JobOutcome {
    /// Nothing known yet: `OTHER`, no status.
    pub fn new() -> JobOutcome {
        JobOutcome {
            result: JobResult::Other,
            status: 0,
            ret: 0,
            reason: None,
            refusal: None,
            compiler: String::new(),
            input: String::new(),
        }
    }

    /// Ended with `result` because of `reason`.
    pub(crate) fn ended(mut self, result: JobResult, reason: impl Into<String>) -> JobOutcome {
        self.result = result;
        self.reason = Some(reason.into());
        self
    }
}

impl Default for JobOutcome {
    fn default() -> JobOutcome {
        JobOutcome::new()
    }
}

/// Something that happened to a connection or its job.
#[derive(Debug)]
pub enum Event<'a> {
    /// A connection passed admission (the compile ports).
    Accepted,
    /// A connection refused before it became a job: `word` is the live view's result
    /// (DENIED, BUSY, AUTH), `why` its reason.
    Refused {
        client: &'a str,
        reason: RefusalReason,
        word: &'a str,
        why: &'a str,
    },
    /// The job's compiler and input are known.
    Described {
        job: &'a LiveJob<'a>,
        compiler: &'a str,
        input: &'a str,
    },
    /// Received; waiting for a `--jobs` slot.
    Queued(&'a LiveJob<'a>),
    /// No longer waiting (a slot, or the client left).
    LeftQueue,
    /// Holding a `--jobs` slot, the compiler running.
    Compiling(&'a LiveJob<'a>),
    /// The compiler ended (or was killed).
    Compiled,
    /// Writing the reply.
    Sending(&'a LiveJob<'a>),
    /// The connection ended, its directory removed.
    Finished {
        client: &'a str,
        outcome: &'a JobOutcome,
        elapsed: Duration,
    },
}

impl<R: Runner> Server<R> {
    /// Feed the stats, the metrics and the live view with `event`.
    pub fn observe(&self, event: Event<'_>) {
        match event {
            Event::Accepted => {
                self.stats.accepted();
                self.metrics.connections.inc();
            }
            Event::Refused {
                client,
                reason,
                word,
                why,
            } => {
                self.metrics.refused(reason);
                self.live.failed(client, "", "", word, why);
            }
            Event::Described {
                job,
                compiler,
                input,
            } => job.describe(compiler, input),
            Event::Queued(job) => {
                job.phase(Phase::Queued);
                self.metrics.queued.inc();
            }
            Event::LeftQueue => {
                self.metrics.queued.dec();
            }
            Event::Compiling(job) => {
                job.phase(Phase::Compiling);
                self.stats.job_started();
                self.metrics.running.inc();
            }
            Event::Compiled => {
                self.metrics.running.dec();
                self.stats.job_stopped();
            }
            Event::Sending(job) => job.phase(Phase::Sending),
            Event::Finished {
                client,
                outcome: o,
                elapsed,
            } => {
                // The job counters move last: whoever sees a job counted (a test, the stats
                // page) also sees its failure in the live view and its metrics.
                if o.result != JobResult::CompileOk {
                    let reason = o.reason.as_deref().unwrap_or("unknown");
                    self.live
                        .failed(client, &o.compiler, &o.input, o.result.text(), reason);
                }
                self.metrics.job(o.result, elapsed.as_secs_f64());
                if let Some(r) = o.refusal {
                    self.metrics.refused(r);
                }
                self.stats
                    .finished(o.result, &o.compiler, &o.input, elapsed);
            }
        }
    }
}
