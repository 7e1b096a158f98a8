//! The farm tests: one binary, one module per part of the issue. Every test builds its own
//! network (`dcc_testkit::netns::Network`), which serialises them machine-wide and tears
//! everything down even when an assertion fails.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;
mod cross;
mod failures;
mod guide;
mod makepkg;
mod mixed;
mod netns;
