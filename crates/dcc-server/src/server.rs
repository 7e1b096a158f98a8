//! The shared state of a running daemon: configuration, policies, the `--jobs` semaphore,
//! statistics, live job directories and the shutdown signal.

use std::sync::Arc;

use dcc_proto::Limits;
use tokio::sync::{Semaphore, watch};

use crate::access::AllowList;
use crate::admit::Admissions;
use crate::budget::Budget;
use crate::compiler::CompilerPolicy;
use crate::exec::Runner;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::options::{Config, ServerEnv};
use crate::stats::Stats;
use crate::workdir::Registry;

/// Everything a connection needs.
#[derive(Debug)]
pub struct Server<R: Runner> {
    pub cfg: Config,
    pub env: ServerEnv,
    pub allow: Option<AllowList>,
    pub compilers: CompilerPolicy,
    /// Limits on what a request may carry (from [`crate::options::ReceiveLimits`]).
    pub limits: Limits,
    /// The daemon-wide memory and disk budget for bodies being received.
    pub budget: Budget,
    /// Unfinished requests per client address ([`crate::admit`]).
    pub admissions: Arc<Admissions>,
    /// Requests read at once, daemon-wide ([`Server::intake_limit`]).
    pub intake: Semaphore,
    /// `--jobs`: compiles running at once.
    pub jobs: Semaphore,
    pub stats: Stats,
    /// Prometheus metrics (`/metrics` on the stats port).
    pub metrics: Metrics,
    /// Jobs in flight and recent failures (JSON status, web page).
    pub live: Live,
    pub registry: Arc<Registry>,
    pub runner: R,
    /// Becomes true when the daemon shuts down: running compiles are killed.
    pub shutdown: watch::Receiver<bool>,
    /// The sending side of [`Server::shutdown`] ([`Server::shut_down`]).
    stopper: watch::Sender<bool>,
    /// Headers kept by content hash for DIST 0x303 ([`crate::cas_job`]); `None` if it could
    /// not be opened (0x303 requests are then refused).
    pub store: Option<Arc<dcc_store::Store>>,
    /// `_DISTCC_SAFEGUARD` of the daemon's own environment; children get one more.
    pub safeguard_level: u32,
}

impl<R: Runner> Server<R> {
    /// Build the shared state. Returns the sender that triggers shutdown.
    pub fn new(
        cfg: Config,
        env: ServerEnv,
        allow: Option<AllowList>,
        compilers: CompilerPolicy,
        runner: R,
        safeguard_level: u32,
    ) -> (Arc<Server<R>>, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let jobs = cfg.jobs;
        let store = crate::cas_job::open_store(&env.tmpdir, cfg.receive.header_cache);
        let srv = Server {
            store,
            admissions: Arc::default(),
            intake: Semaphore::new(intake_limit(jobs)),
            allow,
            compilers,
            limits: request_limits(&cfg.receive),
            budget: Budget::new(cfg.receive.memory, cfg.receive.disk),
            jobs: Semaphore::new(jobs),
            stats: Stats::new(jobs),
            metrics: Metrics::new(jobs),
            live: Live::default(),
            registry: Registry::new(),
            runner,
            shutdown: rx,
            stopper: tx.clone(),
            safeguard_level,
            env,
            cfg,
        };
        (Arc::new(srv), tx)
    }

    /// Start shutting down: running compiles are killed, their jobs end.
    pub fn shut_down(&self) {
        self.stopper.send_replace(true);
    }

    /// Remove every live job directory, on a blocking thread (a client's tree may be large
    /// or deep: no work for a runtime worker). Returns how many were removed.
    pub async fn remove_job_dirs(&self) -> usize {
        let registry = self.registry.clone();
        match tokio::task::spawn_blocking(move || registry.remove_all()).await {
            Ok(n) => n,
            Err(e) => {
                dcc_common::dcc_log!(
                    dcc_common::Level::Error,
                    "dcc_cleanup_tempfiles",
                    "removing job directories failed: {e}"
                );
                0
            }
        }
    }

    /// Whether a client address may connect (no list: everyone, as in inetd mode).
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        self.allow.as_ref().is_none_or(|a| a.allows(ip))
    }

    /// Connections read at once. Requests are read before a `--jobs` slot is taken, so this
    /// bounds the memory and descriptors of queued clients; the rest wait in the kernel's
    /// listen backlog, as they do with distcc's pre-forked workers.
    pub fn intake_limit(&self) -> usize {
        intake_limit(self.cfg.jobs)
    }
}

fn intake_limit(jobs: usize) -> usize {
    jobs.saturating_mul(4).clamp(32, 1024)
}

/// The decoder's limits for requests: the defaults for headers; bodies per `--max-input-size`
/// and `--max-request-size`. On the wire a body may be a little longer than decoded: LZO's
/// worst case for incompressible data is n + n/16 + 67 bytes.
pub fn request_limits(r: &crate::options::ReceiveLimits) -> Limits {
    let wire = r.max_input + r.max_input / 16 + 1024;
    Limits {
        max_body: u32::try_from(wire).unwrap_or(u32::MAX),
        max_decompressed: usize::try_from(r.max_input).unwrap_or(usize::MAX),
        max_total: r.max_request,
        ..Limits::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::exec::ProcessRunner;

    /// A server with default options that allows 127.0.0.0/8.
    pub(crate) fn test_server() -> Arc<Server<ProcessRunner>> {
        let cfg = match crate::options::parse(["distccd", "--allow", "127.0.0.0/8", "-j", "2"]) {
            Ok(crate::options::Parsed::Run(c)) => *c,
            _ => panic!("options"),
        };
        let env = ServerEnv::from_env(&dcc_common::MapEnv::new()).unwrap();
        let allow = cfg.allow.clone();
        let compilers = CompilerPolicy {
            insecure: false,
            whitelist_dirs: Vec::new(),
            cmdlist: None,
            path: String::new(),
        };
        Server::new(cfg, env, allow, compilers, ProcessRunner, 0).0
    }
}
