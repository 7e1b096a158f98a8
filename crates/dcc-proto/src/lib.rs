//! dcc-proto: distcc's wire protocol, with no IO.
//!
//! The blocking client, the tokio daemon, `--inetd` and ssh mode all drive the same codec:
//!
//! - [`token`]: the 12-byte packet header (`DIST00000001`) and body framing.
//! - [`version`]: protocol versions 1-3 (and our zstd variants) and what they imply.
//! - [`request`] / [`reply`]: encoders, and decoders that are state machines over a byte buffer
//!   (`Ok(None)` = need more bytes, `Ok(Some(event))`, or an error). A driver reads from its
//!   socket into a `BytesMut` until the decoder makes progress.
//! - [`load`]: the load report our daemon appends to replies in our extension versions.
//! - [`cas`]: our content-addressed extension (`DIST 0x303`): manifest, chain, `NEED`, `BLOB`.
//! - [`compress`]: body compression per protocol; [`lzo`]: our LZO1X-1 codec.
//! - [`limits`]: every length from the wire is checked against a [`Limits`] before buffering,
//!   so a hostile peer cannot make a decoder allocate more than the limits allow.
//!
//! Decoders are fuzzed (fuzz/) and must never panic.

pub mod cas;
pub mod compress;
pub mod error;
mod frame;
pub mod limits;
pub mod load;
pub mod lzo;
pub mod reply;
pub mod request;
pub mod token;
pub mod version;

pub use error::ProtoError;
pub use limits::Limits;
pub use reply::{Reply, ReplyDecoder, wait_status_exit};
pub use request::{
    FileEntry, Request, RequestBody, RequestDecoder, RequestEvent, RequestHeader, encode_doti,
    encode_files, encode_request_header,
};
pub use token::{HEADER_LEN, Token};
pub use version::{Compression, Protocol};
