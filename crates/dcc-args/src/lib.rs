//! dcc-args: compiler command-line analysis. Pure: no IO, no environment reads (callers pass
//! what they read).
//!
//! - [`filename`]: which names are sources, preprocessed, objects (distcc src/filename.c).
//! - [`client`]: what the `distcc` client decides about a command line: distribute or run
//!   locally and why, the preprocessor command, the argv sent to the server, dependency-file
//!   handling (distcc src/arg.c, src/strip.c, src/dotd.c).
//! - [`server`]: what `distccd` does with a received argv: vet it against an allow-list of
//!   options (nothing may run another program, read a server file or write outside the job),
//!   then rewrite input and output to the job's temporary files.

pub mod client;
pub mod filename;
pub mod server;
