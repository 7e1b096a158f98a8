//! A helper's load report (ours; docs/PROTOCOL.md "Our extensions").
//!
//! A distcc-rs daemon that answers one of our extension versions (`DIST` 0x102/0x103) appends
//! one more packet after the reply, in the same write:
//!
//! ```text
//! LOAD <len>  version:u8  free:u16  queued:u16  slots:u16  cores:u16  compile_ms:u32
//! ```
//!
//! (big-endian; `len` is at least [`LOAD_BODY_LEN`] and at most [`LOAD_MAX_LEN`], bytes past
//! the known fields are for later versions and ignored). Clients read it when it is already
//! there and never wait for it: a reply without it (an older distcc-rs daemon) is complete.
//! distcc's own versions (0-3) never get it, so a distcc 3.4 peer sees nothing new.

use crate::token::{HEADER_LEN, Token, encode_body, parse_header};
use crate::{ProtoError, Protocol};

/// The report's token.
pub const LOAD: Token = Token(*b"LOAD");
/// Version 1's body: 1 + 4 x 2 + 4 bytes.
pub const LOAD_BODY_LEN: usize = 13;
/// The longest body accepted (later versions may add fields up to here).
pub const LOAD_MAX_LEN: usize = 64;

/// How busy a helper is and how fast it compiles, as it sees itself right after a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadReport {
    /// `--jobs` slots free now.
    pub free: u16,
    /// Jobs received and waiting for a slot.
    pub queued: u16,
    /// `--jobs`.
    pub slots: u16,
    /// CPUs the daemon may use.
    pub cores: u16,
    /// Recent compile wall time (moving average), milliseconds; 0 = no compile yet.
    pub compile_ms: u32,
}

/// Why a load report was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("expected token LOAD, got {0:?}")]
    NotLoad(String),
    #[error("LOAD body of {0} bytes is outside {LOAD_BODY_LEN}..={LOAD_MAX_LEN}")]
    BadLength(u32),
    #[error("LOAD version {0} is not 1")]
    BadVersion(u8),
    #[error(transparent)]
    Header(#[from] ProtoError),
}

/// Whether a reply in `protocol` carries a report (our extension versions only).
pub fn carries_report(protocol: Protocol) -> bool {
    !protocol.is_distcc()
}

impl LoadReport {
    /// Append the packet.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = [0u8; LOAD_BODY_LEN];
        body[0] = 1;
        for (i, v) in [self.free, self.queued, self.slots, self.cores]
            .into_iter()
            .enumerate()
        {
            body[1 + 2 * i..3 + 2 * i].copy_from_slice(&v.to_be_bytes());
        }
        body[9..13].copy_from_slice(&self.compile_ms.to_be_bytes());
        // 13 bytes always fit a body length.
        let _ = encode_body(out, LOAD, &body);
    }

    /// Decode a packet at the start of `buf`: `Ok(None)` when more bytes are needed, else the
    /// report and how many bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(LoadReport, usize)>, LoadError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let (token, len) = parse_header(buf)?;
        if token != LOAD {
            return Err(LoadError::NotLoad(token.as_str()));
        }
        let n = len as usize;
        if !(LOAD_BODY_LEN..=LOAD_MAX_LEN).contains(&n) {
            return Err(LoadError::BadLength(len));
        }
        let Some(body) = buf.get(HEADER_LEN..HEADER_LEN + n) else {
            return Ok(None);
        };
        if body[0] != 1 {
            return Err(LoadError::BadVersion(body[0]));
        }
        let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        let report = LoadReport {
            free: u16_at(1),
            queued: u16_at(3),
            slots: u16_at(5),
            cores: u16_at(7),
            compile_ms: u32::from_be_bytes([body[9], body[10], body[11], body[12]]),
        };
        Ok(Some((report, HEADER_LEN + n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_input() {
        let r = LoadReport {
            free: 3,
            queued: 7,
            slots: 4,
            cores: 8,
            compile_ms: 1234,
        };
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(&out[..12], b"LOAD0000000d");
        assert_eq!(out.len(), HEADER_LEN + LOAD_BODY_LEN);
        for cut in 0..out.len() {
            assert_eq!(LoadReport::decode(&out[..cut]), Ok(None), "cut at {cut}");
        }
        out.extend_from_slice(b"junk");
        assert_eq!(LoadReport::decode(&out), Ok(Some((r, 25))));
    }

    #[test]
    fn hostile_reports_are_refused() {
        assert!(matches!(
            LoadReport::decode(b"DOTO00000000"),
            Err(LoadError::NotLoad(_))
        ));
        assert_eq!(
            LoadReport::decode(b"LOADffffffff"),
            Err(LoadError::BadLength(u32::MAX))
        );
        assert_eq!(
            LoadReport::decode(b"LOAD00000001x"),
            Err(LoadError::BadLength(1))
        );
        let mut v2 = b"LOAD0000000d".to_vec();
        v2.extend_from_slice(&[2; 13]);
        assert_eq!(LoadReport::decode(&v2), Err(LoadError::BadVersion(2)));
        // A longer body from a later version: known fields read, the rest skipped.
        let mut long = b"LOAD00000010".to_vec();
        long.extend_from_slice(&[1, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 5, 9, 9, 9]);
        let (r, n) = LoadReport::decode(&long).unwrap().unwrap();
        assert_eq!((r.free, r.cores, r.compile_ms, n), (1, 4, 5, 28));
    }

    #[test]
    fn only_our_versions_carry_it() {
        for p in [Protocol::V1, Protocol::V2, Protocol::V3] {
            assert!(!carries_report(p));
        }
        assert!(carries_report(Protocol::ZSTD) && carries_report(Protocol::ZSTD_PUMP));
    }
}
