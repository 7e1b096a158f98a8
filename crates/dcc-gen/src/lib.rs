//! dcc-gen: the man pages and shell completions of every binary we ship, built from the clap
//! definitions (`distccd`'s real parser, `update-distcc-symlinks`' and `distcc-keygen`'s, and
//! documentation-only commands for the programs that must not use clap).
//!
//! - [`docs`]: every page as a [`man::Page`]; [`man`]: rendering, with the sections clap has
//!   no place for; [`generate`]: the files under `packaging/` and the staleness check.
//! - The `dcc-gen` binary writes them into `packaging/`; a test fails when the committed
//!   copies are stale.
//!
//! A development tool, not shipped: it is the one crate that depends on every binary's
//! crate, so that none of the shipped programs has to (update-distcc-symlinks in particular
//! links neither the daemon nor the monitor).

pub mod docs;
pub mod generate;
pub mod man;
