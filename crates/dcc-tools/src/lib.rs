//! dcc-tools: `update-distcc-symlinks`, which keeps the daemon's compiler whitelist
//! (`/usr/lib/distcc`) and the client's masquerade directory (`/usr/lib/distcc/bin`) in step
//! with the installed compilers (reference §4.4): [`symlinks`] does the work, [`cli`] is the
//! command line.
//!
//! Its man page and completions are made by the dcc-gen crate from [`cli::Options`]; this
//! crate depends on no other binary's crate.
//!
//! The packaging itself (systemd units, conf.d, Debian maintainer scripts, the Arch recipe)
//! lives in `packaging/` at the workspace root, the Debian recipe in
//! `crates/dcc-package/Cargo.toml`; this crate's tests check them (`systemd-analyze verify`,
//! asset lists).

pub mod cli;
pub mod symlinks;
