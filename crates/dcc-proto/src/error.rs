//! Protocol errors. Every one maps to distcc's EXIT_PROTOCOL_ERROR (109) or EXIT_TRUNCATED (108)
//! at the edge; the variants carry what a log line needs.

use crate::Token;
use crate::lzo::LzoError;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// distcc: `protocol derailment: expected token "X"`.
    #[error(
        "protocol derailment: expected token \"{expected}\", got \"{got}\" (context: {context:?})"
    )]
    UnexpectedToken {
        expected: &'static str,
        got: Token,
        /// Up to 200 bytes from the point of derailment, as distcc's `dcc_explain_mismatch`.
        context: String,
    },
    #[error("failed to parse parameter of token \"{token}\": {text:?}")]
    BadValue { token: Token, text: String },
    #[error("can't handle requested protocol version is {0}")]
    UnsupportedVersion(u32),
    #[error("{token} body of {len} bytes is over the limit of {limit}")]
    TooLong { token: Token, len: u64, limit: u64 },
    #[error("{token} count {count} is over the limit of {limit}")]
    TooMany {
        token: Token,
        count: u32,
        limit: u32,
    },
    #[error("{token} count must not be 0")]
    ZeroCount { token: Token },
    #[error("{token} string is not valid UTF-8")]
    NotUtf8 { token: Token },
    #[error("{token} string contains a NUL byte")]
    Nul { token: Token },
    #[error("{token} body failed to decompress: {source}")]
    Lzo { token: Token, source: LzoError },
    #[error("{token} body failed to decompress (zstd): {message}")]
    Zstd { token: Token, message: String },
    #[error("got version {got} not {expected} in response from server")]
    VersionMismatch { expected: u32, got: u32 },
    #[error("stream ended while waiting for token \"{expected}\"")]
    Truncated { expected: &'static str },
    #[error("compression failed: {0}")]
    Compress(String),
    #[error("data after the end of the message")]
    TrailingData,
}

impl ProtoError {
    /// distcc's exit code for this error: 108 for a stream cut short, 109 otherwise.
    pub fn exit_code(&self) -> dcc_common::ExitCode {
        match self {
            ProtoError::Truncated { .. } => dcc_common::ExitCode::Truncated,
            _ => dcc_common::ExitCode::ProtocolError,
        }
    }
}
