//! Pieces every distcc-rs binary shares.
//!
//! - [`exit`]: distcc's own exit codes (100-120), in one enum, so the client, the daemon and the
//!   tests agree on them. A compiler's own status never goes through this enum: it passes through.
//! - [`log`]: distcc's log line format (`distcc[pid] (function) Warning: message`), written to
//!   stderr, a file, an inherited fd or syslog. Both binaries use it, so their lines look like
//!   distcc's and the scripts that grep distcc's logs keep working.
//! - [`sys`]: small system helpers written once for every binary (C `atoi`, ...).
//! - [`env`]: environment access behind a trait, so configuration is parsed up front from a
//!   typed source and tests never mutate the process environment.

pub mod env;
pub mod exit;
pub mod log;
pub mod sys;

pub use env::{Env, MapEnv, ProcessEnv};
pub use exit::ExitCode;
pub use log::{Level, Logger, Sink};

/// The version line both binaries print first (`distcc 3.4 x86_64-pc-linux-gnu` in distcc), so
/// scripts that check the protocol list keep working. Our own version follows in brackets.
pub const DISTCC_COMPAT_VERSION: &str = "3.4";

/// The default TCP port of distccd.
pub const DEFAULT_PORT: u16 = 3632;

/// The default stats port of distccd (`--stats-port`).
pub const DEFAULT_STATS_PORT: u16 = 3633;

/// `<arch>-pc-linux-gnu`-style host triple as distcc 3.4 reports it in `--version`.
pub fn gnu_host() -> String {
    format!("{}-pc-{}-gnu", std::env::consts::ARCH, std::env::consts::OS)
}

/// The three-line version header of `distccd --version`: the daemon speaks protocols 1 to 3.
pub fn version_text(prog: &str) -> String {
    version_text_with(prog, "1, 2 and 3")
}

/// The version header naming the protocols this program speaks.
pub fn version_text_with(prog: &str, protocols: &str) -> String {
    format!(
        "{prog} {} {}\n  (protocols {protocols}) (default port {DEFAULT_PORT})\n  distcc-rs {}\n",
        DISTCC_COMPAT_VERSION,
        gnu_host(),
        env!("CARGO_PKG_VERSION")
    )
}
