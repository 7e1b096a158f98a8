//! dcc-proto: distcc's wire protocol, with no IO.
//!
//! See docs/ARCHITECTURE.md.

pub mod lzo;
