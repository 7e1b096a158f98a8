//! dcc-secure: distcc-rs's authenticated, encrypted transport (`,secure` hosts).
//!
//! distcc's TCP mode trusts anyone its `--allow` list admits (CVE-2004-2687). This crate puts
//! a Noise handshake (`Noise_IK_25519_ChaChaPoly_BLAKE2s`, through `snow`) in front of the
//! unchanged distcc byte stream: the client proves it holds a key listed in the daemon's
//! authorized keys, the daemon proves it holds the key the client's known_hosts lists, and
//! everything after the handshake is encrypted and authenticated. Design and threat model:
//! docs/security/secure-transport.md; wire format: docs/PROTOCOL.md.
//!
//! How the pieces fit:
//! - [`keys`]: X25519 keys and their one-line files (private keys mode 0600, checked);
//!   [`authorized`]: the daemon's authorized keys file; [`known_hosts`]: the client's list of
//!   daemon keys. [`base64`] spells keys in those files.
//! - [`frame`]: the preamble that tells a secure connection from a plain one on a shared
//!   port, and the u16-length framing of Noise messages. Pure.
//! - [`handshake`]: the handshake as state machines ([`Initiator`], [`Responder`]) and the
//!   transport messages after it ([`Sealer`], [`Opener`]). Pure, no IO.
//! - [`blocking`]: a std `Read`/`Write` adapter for the client; `tokio_io` (feature `tokio`,
//!   which the daemon turns on): sniffing, the daemon's handshake and `AsyncRead`/`AsyncWrite`
//!   halves, so the daemon's job code runs unchanged on a secure connection. The client
//!   leaves the feature off and links no tokio.
//! - `distcc-keygen`, which makes key pairs, is the dcc-keygen crate.

pub mod authorized;
pub mod base64;
pub mod blocking;
mod error;
pub mod frame;
pub mod handshake;
pub mod keys;
pub mod known_hosts;
#[cfg(feature = "tokio")]
pub mod tokio_io;

pub use authorized::AuthorizedKeys;
pub use blocking::SecureStream;
pub use error::SecureError;
pub use handshake::{Initiator, NOISE_PATTERN, Opener, Responder, Sealer, Session, Verdict};
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use known_hosts::KnownHosts;
