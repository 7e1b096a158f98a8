//! dcc-server: `distccd`, the daemon a helper runs.
//!
//! - [`options`]: the command line (distcc's spelling) and environment, parsed once into a
//!   typed `Config` / `ServerEnv`.
//! - [`daemon`]: start-up in distcc's order (nice, drop root ([`privileges`]), log, chdir,
//!   whitelist check), bind, detach, pid file, the tokio runtime, signals.
//! - [`listen`]: [`listen::serve`], the daemon's core: the accept loops until a shutdown
//!   future resolves, then the drain; inetd's one connection. Tests run it in-process.
//! - [`access`]: `--allow` lists, checked before a connection gets a single byte.
//! - [`job`]: one connection: read and vet the request, receive the body into a private
//!   directory ([`receive`], streaming, within the daemon-wide [`budget`]; [`workdir`];
//!   [`pump`] for protocol 3), run the compiler ([`exec`], behind a trait) under the
//!   `--jobs` semaphore, reply ([`reply`]), log distcc's summary line.
//! - [`compiler`] and [`vetting`]: what may run (the CVE-2004-2687 whitelist, DISTCC_CMDLIST)
//!   and with which arguments (dcc_args::server's allow-list).
//! - [`secure`]: the authenticated, encrypted transport (`--auth-keys`, dcc-secure) in front
//!   of the job: sniffs plain from secure, runs the handshake, refuses plain clients with
//!   `--require-auth` or on `--secure-port`.
//! - [`observe`]: the one observer: [`Server::observe`] feeds every event of a connection to
//!   the three sinks below; [`observe::JobOutcome`] is how a job ended.
//! - [`stats`], [`stats_http`]: counters and distcc's stats page; on the same port our
//!   `/metrics` ([`metrics`], Prometheus), `/status.json` and a live web page ([`live`]).
//! - [`load`]: the load report appended to replies in our extension versions.
//! - `--zeroconf`, the mDNS/DNS-SD announcement `+zeroconf` clients browse for, is
//!   dcc-zeroconf's.
//!
//! The codec is dcc-proto's; this crate only drives it over sockets.

pub mod access;
pub mod admit;
pub mod budget;
pub mod cas_job;
pub mod cas_root;
pub mod compiler;
pub mod counting;
pub mod daemon;
pub mod exec;
pub mod job;
pub mod listen;
pub mod live;
pub mod load;
pub mod metrics;
pub mod observe;
pub mod options;
pub mod privileges;
pub mod pump;
pub mod receive;
pub mod reply;
pub mod secure;
pub mod server;
pub mod stats;
pub mod stats_http;
pub mod vetting;
pub mod workdir;

pub use daemon::main_with_args;
pub use listen::{Listeners, serve};
pub use server::Server;
