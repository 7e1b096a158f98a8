//! Prometheus metrics for `/metrics` on the stats port (OpenMetrics text from
//! prometheus-client; no global state: one registry per daemon).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `distccd_connections` | counter | — (accepted after the access check) |
//! | `distccd_jobs` | counter | `result` (distcc's summary word, lowercase) |
//! | `distccd_job_duration_seconds` | histogram | `result` |
//! | `distccd_refusals` | counter | `reason`: access, protocol, compiler, option, pump_path |
//! | `distccd_jobs_running` | gauge | — (compiles holding a `--jobs` slot) |
//! | `distccd_jobs_queued` | gauge | — (received, waiting for a slot) |
//! | `distccd_max_jobs` | gauge | — (`--jobs`) |
//! | `distccd_received_bytes` / `distccd_sent_bytes` | counter | — (wire bytes, compressed as sent) |

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::stats::JobResult;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// Why a request was refused (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    Access,
    Protocol,
    Compiler,
    Option,
    PumpPath,
    /// A body over its size limit, or the daemon's receive budget in use (issue 10).
    Size,
    Busy,
}

impl RefusalReason {
    const ALL: [RefusalReason; 7] = [
        RefusalReason::Access,
        RefusalReason::Protocol,
        RefusalReason::Compiler,
        RefusalReason::Option,
        RefusalReason::PumpPath,
        RefusalReason::Size,
        RefusalReason::Busy,
    ];

    fn label(self) -> &'static str {
        match self {
            RefusalReason::Access => "access",
            RefusalReason::Protocol => "protocol",
            RefusalReason::Compiler => "compiler",
            RefusalReason::Option => "option",
            RefusalReason::PumpPath => "pump_path",
            RefusalReason::Size => "size",
            RefusalReason::Busy => "busy",
        }
    }
}

fn result_label(r: JobResult) -> ResultLabel {
    ResultLabel {
        result: r.text().to_ascii_lowercase(),
    }
}

fn reason_label(r: RefusalReason) -> ReasonLabel {
    ReasonLabel {
        reason: r.label().to_owned(),
    }
}

fn job_histogram() -> Histogram {
    // 10 ms .. ~5 min.
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

/// The daemon's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub connections: Counter,
    pub jobs: Family<ResultLabel, Counter>,
    pub durations: Family<ResultLabel, Histogram, fn() -> Histogram>,
    pub refusals: Family<ReasonLabel, Counter>,
    pub running: Gauge,
    pub queued: Gauge,
    pub max_jobs: Gauge,
    pub received: Counter<u64, AtomicU64>,
    pub sent: Counter<u64, AtomicU64>,
}

impl Metrics {
    pub fn new(max_jobs: usize) -> Metrics {
        let mut registry = Registry::with_prefix("distccd");
        let m = Metrics {
            connections: Counter::default(),
            jobs: Family::default(),
            durations: Family::new_with_constructor(job_histogram as fn() -> Histogram),
            refusals: Family::default(),
            running: Gauge::default(),
            queued: Gauge::default(),
            max_jobs: Gauge::default(),
            received: Counter::default(),
            sent: Counter::default(),
            registry: Registry::default(),
        };
        m.max_jobs.set(i64::try_from(max_jobs).unwrap_or(i64::MAX));
        registry.register(
            "connections",
            "Connections accepted after the access check",
            m.connections.clone(),
        );
        registry.register("jobs", "Jobs by distcc's summary result", m.jobs.clone());
        registry.register(
            "job_duration_seconds",
            "Time from connection to reply, by result",
            m.durations.clone(),
        );
        registry.register(
            "refusals",
            "Requests refused, by reason",
            m.refusals.clone(),
        );
        registry.register(
            "jobs_running",
            "Compiles holding a --jobs slot",
            m.running.clone(),
        );
        registry.register(
            "jobs_queued",
            "Received requests waiting for a --jobs slot",
            m.queued.clone(),
        );
        registry.register("max_jobs", "The --jobs limit", m.max_jobs.clone());
        registry.register(
            "received_bytes",
            "Bytes read from clients",
            m.received.clone(),
        );
        registry.register("sent_bytes", "Bytes written to clients", m.sent.clone());
        // Every labelled counter exists from the start, at zero: a scraper's rate() and an
        // alert on "refusals > 0" need the series before the first event.
        for r in JobResult::ALL {
            drop(m.jobs.get_or_create(&result_label(r)));
        }
        for r in RefusalReason::ALL {
            drop(m.refusals.get_or_create(&reason_label(r)));
        }
        Metrics { registry, ..m }
    }

    /// A finished connection.
    pub fn job(&self, result: JobResult, secs: f64) {
        let label = result_label(result);
        self.jobs.get_or_create(&label).inc();
        self.durations.get_or_create(&label).observe(secs);
    }

    pub fn refused(&self, reason: RefusalReason) {
        self.refusals.get_or_create(&reason_label(reason)).inc();
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = Metrics::new(4);
        m.connections.inc();
        m.job(JobResult::CompileOk, 0.2);
        m.job(JobResult::CompileError, 1.5);
        m.refused(RefusalReason::Option);
        m.received.inc_by(1000);
        let text = m.encode();
        for needle in [
            "distccd_connections_total 1",
            "distccd_jobs_total{result=\"compile_ok\"} 1",
            "distccd_jobs_total{result=\"compile_error\"} 1",
            "distccd_job_duration_seconds_count{result=\"compile_ok\"} 1",
            "distccd_refusals_total{reason=\"option\"} 1",
            "distccd_max_jobs 4",
            "distccd_jobs_running 0",
            "distccd_received_bytes_total 1000",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
    }

    #[test]
    fn counters_are_present_at_zero_before_any_job() {
        let text = Metrics::new(2).encode();
        for needle in [
            "distccd_connections_total 0",
            "distccd_jobs_total{result=\"compile_ok\"} 0",
            "distccd_jobs_total{result=\"rej_overload\"} 0",
            "distccd_refusals_total{reason=\"access\"} 0",
            "distccd_refusals_total{reason=\"busy\"} 0",
            "distccd_received_bytes_total 0",
            "distccd_sent_bytes_total 0",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
    }
}
