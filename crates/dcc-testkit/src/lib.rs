//! dcc-testkit: what the end-to-end tests share (the idea of ripgrep's `tests/util.rs`).
//!
//! - [`bins`]: paths of our built binaries and of Debian's distcc 3.4 (required: the reference
//!   peer; CI installs it).
//! - [`world`]: a temporary world per test: `DISTCC_DIR`, `TMPDIR`, a whitelist directory,
//!   made reachable by the unprivileged user a root-started daemon drops to.
//! - [`daemon`]: a distccd (ours or Debian's) on 127.0.0.1 with a free port, its log, killed on
//!   drop.
//! - [`wire`]: a raw TCP client that writes bytes and reads everything back.
//! - [`helper`]: a fake helper for the client's tests, answering crafted replies.
//! - [`workload`]: the shared C workloads (lua, zstd, sqlite), prepared once and cached.
//! - [`compare`]: byte-for-byte comparison of object trees.
//! - [`netns`]: a build farm on one machine (hosts as network namespaces on a bridge), and
//!   distcc's world on it in [`netns::farm`].
//!
//! Tests never hard-code a port, never depend on `$HOME`, and never mutate their own process
//! environment: every child gets an explicit environment.

// Test support only (dev-dependency of the tests): a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bins;
pub mod client;
pub mod compare;
pub mod daemon;
pub mod helper;
pub mod netns;
pub mod wire;
pub mod workload;
pub mod world;

pub use daemon::{Daemon, DaemonKind};
pub use world::World;
