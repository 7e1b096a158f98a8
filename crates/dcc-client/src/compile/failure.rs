//! Where a failed job falls back from (crate::compile).

use dcc_hosts::HostSpec;

use crate::reply::Received;

/// Where a failed job falls back from.
pub(super) struct Failure<'h> {
    pub host: Option<&'h HostSpec>,
    pub code: i32,
    pub reply: Option<Received>,
    /// Mark the host (and clear the mark again if the local result matches).
    pub blame: bool,
    /// The reason, for the event log.
    pub why: String,
}

impl<'h> Failure<'h> {
    pub fn none(code: i32, why: impl Into<String>) -> Failure<'h> {
        Failure {
            host: None,
            code,
            reply: None,
            blame: false,
            why: why.into(),
        }
    }

    pub fn from(host: &'h HostSpec, code: i32, blame: bool, why: String) -> Failure<'h> {
        Failure {
            host: Some(host),
            code,
            reply: None,
            blame,
            why,
        }
    }

    pub fn from_reply(
        host: &'h HostSpec,
        code: i32,
        reply: Received,
        blame: bool,
        why: String,
    ) -> Failure<'h> {
        Failure {
            host: Some(host),
            code,
            reply: Some(reply),
            blame,
            why,
        }
    }
}
