//! Small system helpers that several binaries need, written once.
//!
//! - [`path`]: "is this an executable file", and `PATH` searches, each naming how it reads an
//!   empty element and which distcc it passes over ([`SkipDistcc`]): the client's exec and
//!   compiler-name rewriting, the daemon's compiler lookup and both zeroconf ends differ.
//! - [`lock`]: fcntl locks on a whole file, per open file (slot locks) or per process (the
//!   zeroconf browser's).
//! - [`atoi`]: C's `atoi`, in the two forms our programs read numbers with (the client's
//!   variables into 64 bits, distccmon's into a C `int`).
//! - [`host`]: this machine's host name.
//!
//! Which syscall crate is used for what is stated in docs/ARCHITECTURE.md.

pub mod atoi;
pub mod host;
pub mod lock;
pub mod path;

pub use atoi::{atoi_i32, atoi_i64};
pub use host::{hostname, hostname_or_localhost};
pub use path::{
    EmptyElement, SkipDistcc, candidates, find_on_path, is_executable_file, resolves_to_distcc,
};
