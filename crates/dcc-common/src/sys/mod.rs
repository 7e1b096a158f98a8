//! Small system helpers that several binaries need, written once.
//!
//! - [`atoi`]: C's `atoi`, in the two forms our programs read numbers with (the client's
//!   variables into 64 bits, distccmon's into a C `int`).
//! - [`host`]: this machine's host name.
//!
//! Which syscall crate is used for what is stated in docs/ARCHITECTURE.md.

pub mod atoi;
pub mod host;

pub use atoi::{atoi_i32, atoi_i64};
pub use host::hostname;
