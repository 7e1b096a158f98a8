//! dcc-tools: the operations side of distcc-rs.
//!
//! - [`symlinks`] and [`cli`]: `update-distcc-symlinks`, which keeps the daemon's compiler
//!   whitelist (`/usr/lib/distcc`) and the client's masquerade directory
//!   (`/usr/lib/distcc/bin`) in step with the installed compilers (reference §4.4).
//! - [`docs`], [`man`] and [`generate`]: the man pages and shell completions of every binary, built
//!   from the clap definitions (`distccd`'s real parser, ours, and documentation-only commands
//!   for the programs that must not use clap). The `dcc-gen` binary writes them into
//!   `packaging/`; a test fails when the committed copies are stale.
//!
//! The packaging itself (systemd units, conf.d, Debian maintainer scripts, the Arch recipe)
//! lives in `packaging/` at the workspace root, the Debian recipe in
//! `crates/dcc-package/Cargo.toml`; this crate's tests check them (`systemd-analyze verify`,
//! asset lists).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod docs;
pub mod generate;
pub mod man;
pub mod symlinks;
