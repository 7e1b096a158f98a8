//! Errors of the secure transport.

use crate::handshake::Verdict;
use crate::keys::{KeyError, PublicKey};

/// Why a secure connection failed. Every variant is a reason to drop the connection; none
/// lets a byte through.
#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    /// A key file could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The daemon answered the handshake and refused this client's key.
    #[error("{verdict} (our key: {client})")]
    Refused { verdict: Verdict, client: PublicKey },
    /// A handshake message did not decrypt: for the daemon, a client that does not hold the
    /// key it claims, or a tampered message; for the client, a daemon that does not hold the
    /// key known_hosts lists for it (someone in the middle) or a tampered message.
    #[error("handshake failed: {0} message did not authenticate")]
    HandshakeAuth(&'static str),
    /// A transport message did not decrypt: tampered, reordered, replayed or truncated.
    #[error("message authentication failed (tampered, replayed or reordered data)")]
    Decrypt,
    /// A handshake message of the wrong size.
    #[error("malformed {what} message ({len} bytes)")]
    Malformed { what: &'static str, len: usize },
    /// The peer closed the connection in the middle of the handshake or of a message.
    #[error("connection closed during the {0}")]
    Eof(&'static str),
    /// A failure of the Noise library itself (bad parameters, random source).
    #[error("noise: {0}")]
    Noise(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl SecureError {
    pub(crate) fn noise(e: snow::Error) -> SecureError {
        SecureError::Noise(e.to_string())
    }

    /// As an IO error, for the `Read`/`AsyncRead` adapters.
    pub fn into_io(self) -> std::io::Error {
        match self {
            SecureError::Io(e) => e,
            SecureError::Eof(_) => std::io::Error::new(std::io::ErrorKind::UnexpectedEof, self),
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
