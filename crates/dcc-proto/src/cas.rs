//! Our content-addressed extension of protocol 3 (`DIST 00000303`, docs/PROTOCOL.md "Our
//! extensions", docs/decisions/content-addressed-files.md).
//!
//! After the usual `DIST`/`CDIR`/`ARGC`/`ARGV` ([`crate::encode_request_header`]) the client
//! sends the include scanner's manifest (`MNFT`, zstd) and the master's search chain (`CHNS`);
//! the helper answers `NEED` with the BLAKE3 hashes it lacks; the client sends one `BLOB` (zstd)
//! per hash, in that order; the helper replies as for any request. This module is the codec
//! only: no IO, no hashing (the store verifies), every length bounded before it is buffered.

use bytes::{Buf, BytesMut};

use crate::compress::decompress;
use crate::token::{HEADER_LEN, encode_body, parse_header};
use crate::{Compression, Limits, ProtoError, Protocol, Token};

/// The `DIST` value: protocol 3 (0x3) + zstd (0x100) + content-addressed files (0x200).
pub const CAS_WIRE: u32 = 0x303;
/// The request header's protocol ([`crate::encode_request_header`] writes `DIST`, `CDIR`,
/// `ARGC`/`ARGV` for it as for protocol 3); replies are zstd as for 0x103.
pub const PROTOCOL: Protocol = Protocol {
    wire: CAS_WIRE,
    compression: Compression::Zstd,
    pump: true,
};
/// Bit marking the content-addressed variant.
pub const CAS_FLAG: u32 = 0x200;
/// Length of a BLAKE3 hash on the wire.
pub const HASH_LEN: usize = 32;
/// Largest manifest text after decompression (lua's is about 40 KiB; a large C++ unit's a few
/// hundred KiB).
pub const MAX_MANIFEST: usize = 16 * 1024 * 1024;
/// Most directories in the search chain (gcc itself has no limit; real chains have tens).
pub const MAX_CHAIN: usize = 4096;

pub const MNFT: Token = Token(*b"MNFT");
pub const CHNS: Token = Token(*b"CHNS");
pub const NEED: Token = Token(*b"NEED");
pub const BLOB: Token = Token(*b"BLOB");

/// A BLAKE3 hash as sent on the wire.
pub type Hash = [u8; HASH_LEN];

/// How a directory of the search chain is searched, i.e. which option named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainKind {
    /// `-iquote` (and the source's own directory): `#include "..."` only.
    Quote,
    /// `-I`.
    Bracket,
    /// `-isystem` and the compiler's default system directories.
    System,
    /// `-idirafter`.
    After,
    /// Not a directory: a file the compiler reads before the source (`-include`, and the
    /// pre-include `stdc-predef.h` that `-nostdinc` turns off on the helper).
    Include,
}

impl ChainKind {
    fn word(self) -> &'static str {
        match self {
            ChainKind::Quote => "iquote",
            ChainKind::Bracket => "I",
            ChainKind::System => "isystem",
            ChainKind::After => "idirafter",
            ChainKind::Include => "include",
        }
    }

    fn from_word(w: &str) -> Option<ChainKind> {
        Some(match w {
            "iquote" => ChainKind::Quote,
            "I" => ChainKind::Bracket,
            "isystem" => ChainKind::System,
            "idirafter" => ChainKind::After,
            "include" => ChainKind::Include,
            _ => return None,
        })
    }
}

/// One directory of the master's search chain, in search order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChainDir {
    pub kind: ChainKind,
    /// Absolute path on the master; never contains a newline or NUL.
    pub path: String,
}

/// The chain's text form: one `KIND SP PATH LF` line per directory, in search order.
pub fn chain_text(chain: &[ChainDir]) -> Result<String, ProtoError> {
    let mut s = String::new();
    for d in chain {
        check_chain_path(&d.path)?;
        s.push_str(d.kind.word());
        s.push(' ');
        s.push_str(&d.path);
        s.push('\n');
    }
    Ok(s)
}

fn check_chain_path(p: &str) -> Result<(), ProtoError> {
    if !p.starts_with('/') || p.contains('\n') || p.contains('\0') {
        return Err(ProtoError::BadValue {
            token: CHNS,
            text: p.chars().take(200).collect(),
        });
    }
    Ok(())
}

/// Parse [`chain_text`]'s output; anything else (and more than [`MAX_CHAIN`] lines) is refused.
pub fn parse_chain(text: &str) -> Result<Vec<ChainDir>, ProtoError> {
    let mut out = Vec::new();
    if text.is_empty() {
        return Ok(out);
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err(bad_chain(text));
    };
    for line in body.split('\n') {
        if out.len() == MAX_CHAIN {
            return Err(ProtoError::TooMany {
                token: CHNS,
                count: u32::MAX,
                limit: MAX_CHAIN as u32,
            });
        }
        let (word, path) = line.split_once(' ').ok_or_else(|| bad_chain(line))?;
        let kind = ChainKind::from_word(word).ok_or_else(|| bad_chain(line))?;
        check_chain_path(path)?;
        out.push(ChainDir {
            kind,
            path: path.to_owned(),
        });
    }
    Ok(out)
}

fn bad_chain(line: &str) -> ProtoError {
    ProtoError::BadValue {
        token: CHNS,
        text: line.chars().take(200).collect(),
    }
}

/// Client: append `MNFT` (the manifest's canonical text, zstd) and `CHNS`.
pub fn encode_manifest(
    out: &mut Vec<u8>,
    manifest_text: &[u8],
    chain: &[ChainDir],
) -> Result<(), ProtoError> {
    if manifest_text.len() > MAX_MANIFEST {
        return Err(ProtoError::TooLong {
            token: MNFT,
            len: manifest_text.len() as u64,
            limit: MAX_MANIFEST as u64,
        });
    }
    let body = crate::compress::compress(Compression::Zstd, manifest_text)?;
    encode_body(out, MNFT, &body)?;
    encode_body(out, CHNS, chain_text(chain)?.as_bytes())
}

/// Helper: append `NEED` with the hashes it lacks, in the order the blobs must come.
pub fn encode_need(out: &mut Vec<u8>, need: &[Hash]) -> Result<(), ProtoError> {
    encode_body(out, NEED, need.concat().as_slice())
}

/// Client: append one `BLOB` (zstd) with a file's content.
pub fn encode_blob(out: &mut Vec<u8>, content: &[u8]) -> Result<(), ProtoError> {
    let body = crate::compress::compress(Compression::Zstd, content)?;
    encode_body(out, BLOB, &body)
}

/// Take one body packet of `token` whose wire length is at most `limit`, if complete.
fn take_body(buf: &mut BytesMut, token: Token, limit: u64) -> Result<Option<Vec<u8>>, ProtoError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let (got, len) = parse_header(&buf[..HEADER_LEN])?;
    if got != token {
        let n = buf.len().min(200);
        return Err(ProtoError::UnexpectedToken {
            expected: match token {
                MNFT => "MNFT",
                CHNS => "CHNS",
                NEED => "NEED",
                _ => "BLOB",
            },
            got,
            context: String::from_utf8_lossy(&buf[..n]).into_owned(),
        });
    }
    if u64::from(len) > limit {
        return Err(ProtoError::TooLong {
            token,
            len: u64::from(len),
            limit,
        });
    }
    let total = HEADER_LEN + len as usize;
    if buf.len() < total {
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    Ok(Some(buf.split_to(len as usize).to_vec()))
}

/// What the helper reads before answering: the manifest text (still to be parsed by the
/// scanner's canonical parser) and the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPart {
    pub manifest_text: Vec<u8>,
    pub chain: Vec<ChainDir>,
}

/// Helper side: decodes `MNFT` + `CHNS`, then (after the helper has sent `NEED`) the blobs.
#[derive(Debug)]
pub struct CasDecoder {
    limits: Limits,
    manifest: Option<Vec<u8>>,
    /// Decompressed bytes received so far, against `limits.max_total`.
    total: u64,
}

impl CasDecoder {
    pub fn new(limits: Limits) -> Self {
        CasDecoder {
            limits,
            manifest: None,
            total: 0,
        }
    }

    /// `Ok(None)`: more bytes needed.
    pub fn decode_manifest(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<ManifestPart>, ProtoError> {
        if self.manifest.is_none() {
            let Some(body) = take_body(buf, MNFT, u64::from(self.limits.max_body))? else {
                return Ok(None);
            };
            let text = decompress(Compression::Zstd, MNFT, &body, MAX_MANIFEST)?;
            self.total += text.len() as u64;
            self.manifest = Some(text);
        }
        let Some(body) = take_body(buf, CHNS, u64::from(self.limits.max_string))? else {
            return Ok(None);
        };
        let text = String::from_utf8(body).map_err(|_| ProtoError::NotUtf8 { token: CHNS })?;
        let chain = parse_chain(&text)?;
        let manifest_text = self.manifest.take().unwrap_or_default();
        Ok(Some(ManifestPart {
            manifest_text,
            chain,
        }))
    }

    /// One blob's content, at most `size` bytes (what the manifest says the file holds; the
    /// store then checks the hash). `Ok(None)`: more bytes needed.
    pub fn decode_blob(
        &mut self,
        buf: &mut BytesMut,
        size: u64,
    ) -> Result<Option<Vec<u8>>, ProtoError> {
        let Some(body) = take_body(buf, BLOB, u64::from(self.limits.max_body))? else {
            return Ok(None);
        };
        let room = self.limits.max_total.saturating_sub(self.total);
        let limit = size.min(room).min(self.limits.max_decompressed as u64);
        let content = decompress(Compression::Zstd, BLOB, &body, limit as usize)?;
        self.total += content.len() as u64;
        Ok(Some(content))
    }
}

/// Client side: the helper's `NEED`, at most `max` hashes (the manifest's file count).
/// `Ok(None)`: more bytes needed.
pub fn decode_need(buf: &mut BytesMut, max: usize) -> Result<Option<Vec<Hash>>, ProtoError> {
    let limit = (max as u64).saturating_mul(HASH_LEN as u64);
    let Some(body) = take_body(buf, NEED, limit)? else {
        return Ok(None);
    };
    if body.len() % HASH_LEN != 0 {
        return Err(ProtoError::BadValue {
            token: NEED,
            text: format!("{} bytes is not a whole number of hashes", body.len()),
        });
    }
    let mut out = Vec::with_capacity(body.len() / HASH_LEN);
    for c in body.chunks_exact(HASH_LEN) {
        let mut h = [0u8; HASH_LEN];
        h.copy_from_slice(c);
        out.push(h);
    }
    Ok(Some(out))
}

#[cfg(test)]
#[path = "cas_tests.rs"]
mod tests;
