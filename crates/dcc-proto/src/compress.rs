//! Body compression by protocol: none (v1), LZO1X-1 as one raw block (v2, v3), zstd (ours).
//!
//! An empty body is always sent as length 0 with no bytes, even when compressed ("send 0 as 0",
//! distcc src/compress.c), so an empty body never reaches the decompressors.

use crate::{Compression, ProtoError, Token, lzo};

/// zstd level for bodies, chosen by measurement (docs/security/secure-transport.md, "zstd
/// level"): level 1 is the only level that costs the master no more CPU than LZO, and sends
/// 0.76 of LZO's bytes on the lua and zstd workloads.
pub const ZSTD_LEVEL: i32 = 1;

/// Append `body` compressed as `c`. An empty body appends nothing.
pub fn compress_into(c: Compression, body: &[u8], out: &mut Vec<u8>) -> Result<(), ProtoError> {
    if body.is_empty() {
        return Ok(());
    }
    match c {
        Compression::None => out.extend_from_slice(body),
        Compression::Lzo => lzo::compress_into(body, out),
        Compression::Zstd => {
            let start = out.len();
            out.resize(start + zstd::zstd_safe::compress_bound(body.len()), 0);
            let n = zstd::bulk::compress_to_buffer(body, &mut out[start..], ZSTD_LEVEL)
                .map_err(|e| ProtoError::Compress(e.to_string()))?;
            out.truncate(start + n);
        }
    }
    Ok(())
}

/// Compress into a new buffer.
pub fn compress(c: Compression, body: &[u8]) -> Result<Vec<u8>, ProtoError> {
    let mut v = Vec::new();
    compress_into(c, body, &mut v)?;
    Ok(v)
}

/// Largest zstd window a body may use: 8 MiB (window log 23). Our encoder (level 1) uses at
/// most 512 KiB; zstd's default limit (128 MiB) would let every hostile frame make its
/// decoder allocate that much.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// An upper bound on the memory one zstd [`BodyDecoder`] holds: its window and zstd's own
/// buffers (a block is at most 128 KiB).
pub const ZSTD_DECODER_MEMORY: usize = (1 << ZSTD_WINDOW_LOG_MAX) + (1 << 20);

/// Decompress one body received under `token`, producing at most `limit` bytes.
pub fn decompress(
    c: Compression,
    token: Token,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, ProtoError> {
    const STEP: usize = 1 << 20;
    let mut dec = BodyDecoder::new(c, token, limit)?;
    let mut out = Vec::new();
    let mut input = body;
    loop {
        let before = out.len();
        dec.decode_some(&mut input, &mut out, STEP)?;
        if input.is_empty() && out.len() - before < STEP {
            break;
        }
    }
    dec.finish(&mut out)?;
    Ok(out)
}

/// A valid zstd frame of `blocks` RLE blocks of 128 KiB of zeros each, 4 bytes on the wire per
/// block: a decompression bomb for tests (8192 blocks: the 32 KiB body that inflates to 1 GiB
/// of issue 10), written by hand so no test needs 1 GiB to make one.
pub fn zstd_rle_frame(blocks: usize) -> Vec<u8> {
    let mut v = vec![0x28, 0xb5, 0x2f, 0xfd]; // magic
    v.push(0x00); // no content size, no checksum, not single-segment
    v.push(7 << 3); // window 2^17
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = (131_072u32 << 3) | (1 << 1) | last; // an RLE block of 128 KiB
        v.extend_from_slice(&header.to_le_bytes()[..3]);
        v.push(0);
    }
    v
}

/// An LZO error as a body's error: over the output limit is [`ProtoError::TooLong`].
fn lzo_error(token: Token, source: lzo::LzoError) -> ProtoError {
    match source {
        lzo::LzoError::OutputLimit { limit } => ProtoError::TooLong {
            token,
            len: limit as u64 + 1,
            limit: limit as u64,
        },
        source => ProtoError::Lzo { token, source },
    }
}

/// A body decompressor fed piece by piece, for bodies that are written to disk as they
/// arrive (the daemon) instead of being held whole.
///
/// - none: bytes pass through;
/// - zstd: streaming, with its window bounded by [`ZSTD_WINDOW_LOG_MAX`]; output comes in
///   pieces of a caller-chosen size however much a small input expands;
/// - LZO: distcc sends one raw block with no length and no framing, and instructions refer
///   back up to 48 KiB into the output, so the block is collected whole (its wire length is
///   bounded) and decoded by [`BodyDecoder::finish`] into at most `limit` bytes. A caller that
///   budgets memory first asks [`BodyDecoder::lzo_output_len`], which walks the block without
///   writing (and refuses a bomb before a byte of it is allocated).
///
/// More than `limit` bytes of output is [`ProtoError::TooLong`], detected as soon as it happens.
pub struct BodyDecoder {
    token: Token,
    limit: usize,
    produced: usize,
    inner: Inner,
}

enum Inner {
    Plain,
    Lzo(Vec<u8>),
    Zstd {
        dec: Box<zstd::stream::raw::Decoder<'static>>,
        /// Whether input arrived, and whether the last frame was complete.
        started: bool,
        frame_done: bool,
    },
}

impl std::fmt::Debug for BodyDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyDecoder")
            .field("token", &self.token)
            .field("limit", &self.limit)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl BodyDecoder {
    pub fn new(c: Compression, token: Token, limit: usize) -> Result<BodyDecoder, ProtoError> {
        let inner = match c {
            Compression::None => Inner::Plain,
            Compression::Lzo => Inner::Lzo(Vec::new()),
            Compression::Zstd => {
                let err = |e: std::io::Error| ProtoError::Zstd {
                    token,
                    message: e.to_string(),
                };
                let mut dec = zstd::stream::raw::Decoder::new().map_err(err)?;
                dec.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(
                    ZSTD_WINDOW_LOG_MAX,
                ))
                .map_err(err)?;
                Inner::Zstd {
                    dec: Box::new(dec),
                    started: false,
                    frame_done: false,
                }
            }
        };
        Ok(BodyDecoder {
            token,
            limit,
            produced: 0,
            inner,
        })
    }

    /// Bytes of output so far.
    pub fn produced(&self) -> usize {
        self.produced
    }

    /// For LZO: the exact size [`BodyDecoder::finish`] will allocate for the output of the
    /// block collected so far, found without decoding it (the same errors as decoding; over
    /// the limit is [`ProtoError::TooLong`]). 0 for the streaming kinds.
    pub fn lzo_output_len(&self) -> Result<usize, ProtoError> {
        match &self.inner {
            Inner::Lzo(block) if !block.is_empty() => {
                lzo::decompressed_len(block, self.limit).map_err(|e| lzo_error(self.token, e))
            }
            _ => Ok(0),
        }
    }

    fn too_long(&self) -> ProtoError {
        ProtoError::TooLong {
            token: self.token,
            len: self.produced as u64,
            limit: self.limit as u64,
        }
    }

    /// Take what it can from `input` (advancing it) and append at most `room` bytes of output
    /// to `out`. Call again while `input` is not empty or a call appended `room` bytes.
    pub fn decode_some(
        &mut self,
        input: &mut &[u8],
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<(), ProtoError> {
        // One byte past the limit tells "at the limit" from "over it".
        let room = room.min(self.limit.saturating_sub(self.produced).saturating_add(1));
        let written = match &mut self.inner {
            Inner::Plain => {
                let n = input.len().min(room);
                out.extend_from_slice(&input[..n]);
                *input = &input[n..];
                n
            }
            Inner::Lzo(block) => {
                block.extend_from_slice(input);
                *input = &[];
                0
            }
            Inner::Zstd {
                dec,
                started,
                frame_done,
            } => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let start = out.len();
                out.resize(start + room, 0);
                let mut ib = InBuffer::around(input);
                let mut ob = OutBuffer::around_pos(&mut out[..], start);
                let hint = dec.run(&mut ib, &mut ob).map_err(|e| ProtoError::Zstd {
                    token: self.token,
                    message: e.to_string(),
                })?;
                let (consumed, end) = (ib.pos(), ob.pos());
                out.truncate(end);
                *input = &input[consumed..];
                if consumed > 0 || end > start {
                    *started = true;
                    *frame_done = hint == 0;
                }
                end - start
            }
        };
        self.produced += written;
        if self.produced > self.limit {
            return Err(self.too_long());
        }
        Ok(())
    }

    /// The body is complete. LZO: decode the block into `out` now. zstd: check that the
    /// frame ended (an empty body is empty in every mode).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        match &mut self.inner {
            Inner::Plain => Ok(()),
            Inner::Lzo(block) => {
                if block.is_empty() {
                    return Ok(());
                }
                let decoded =
                    lzo::decompress(block, self.limit).map_err(|e| lzo_error(self.token, e))?;
                *block = Vec::new();
                self.produced += decoded.len();
                if out.is_empty() {
                    *out = decoded;
                } else {
                    out.extend_from_slice(&decoded);
                }
                Ok(())
            }
            Inner::Zstd {
                started,
                frame_done,
                ..
            } => {
                if *started && !*frame_done {
                    return Err(ProtoError::Zstd {
                        token: self.token,
                        message: "the body ends inside a zstd frame".into(),
                    });
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_round_trip_and_limit() {
        let body = b"int main(void) { return 0; }\n".repeat(100);
        let z = compress(Compression::Zstd, &body).unwrap();
        assert!(z.len() < body.len());
        assert_eq!(
            decompress(Compression::Zstd, Token::DOTI, &z, body.len()).unwrap(),
            body
        );
        assert!(matches!(
            decompress(Compression::Zstd, Token::DOTI, &z, body.len() - 1),
            Err(ProtoError::TooLong { .. })
        ));
        assert!(decompress(Compression::Zstd, Token::DOTI, b"garbage!", 100).is_err());
    }

    #[test]
    fn a_zstd_bomb_stops_at_the_limit_with_bounded_output() {
        let bomb = zstd_rle_frame(8192);
        assert!(bomb.len() < 33 * 1024);
        let limit = 10 << 20;
        let mut dec = BodyDecoder::new(Compression::Zstd, Token::DOTI, limit).unwrap();
        let mut input = &bomb[..];
        let mut out = Vec::new();
        let mut biggest = 0;
        let err = loop {
            out.clear();
            match dec.decode_some(&mut input, &mut out, 256 * 1024) {
                Ok(()) => biggest = biggest.max(out.len()),
                Err(e) => break e,
            }
            assert!(
                !(input.is_empty() && out.is_empty()),
                "the bomb ended early"
            );
        };
        assert!(matches!(err, ProtoError::TooLong { .. }), "{err}");
        assert!(biggest <= 256 * 1024);
        assert!(dec.produced() <= limit + 1);
        // Whole-body decoding stops at the limit too.
        assert!(matches!(
            decompress(Compression::Zstd, Token::FILE, &bomb, limit),
            Err(ProtoError::TooLong { .. })
        ));
        // And a small one decodes.
        let small = zstd_rle_frame(3);
        assert_eq!(
            decompress(Compression::Zstd, Token::FILE, &small, 1 << 20).unwrap(),
            vec![0; 3 * 131_072]
        );
    }

    #[test]
    fn zstd_windows_over_the_bound_are_refused() {
        let mut frame = zstd_rle_frame(1);
        frame[5] = (ZSTD_WINDOW_LOG_MAX as u8 + 1 - 10) << 3;
        assert!(decompress(Compression::Zstd, Token::DOTI, &frame, 1 << 30).is_err());
        frame[5] = (ZSTD_WINDOW_LOG_MAX as u8 - 10) << 3;
        assert!(decompress(Compression::Zstd, Token::DOTI, &frame, 1 << 30).is_ok());
    }

    #[test]
    fn streaming_in_small_pieces_matches_whole() {
        let body: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in [Compression::None, Compression::Lzo, Compression::Zstd] {
            let wire = compress(c, &body).unwrap();
            let mut dec = BodyDecoder::new(c, Token::FILE, body.len()).unwrap();
            let mut out = Vec::new();
            for piece in wire.chunks(1000) {
                let mut input = piece;
                loop {
                    let before = out.len();
                    dec.decode_some(&mut input, &mut out, 4096).unwrap();
                    if input.is_empty() && out.len() - before < 4096 {
                        break;
                    }
                }
            }
            dec.finish(&mut out).unwrap();
            assert_eq!(out, body, "{c:?}");
            // A body cut short is an error.
            let mut dec = BodyDecoder::new(c, Token::FILE, body.len()).unwrap();
            let mut input = &wire[..wire.len() / 2];
            let mut sink = Vec::new();
            let cut = loop {
                sink.clear();
                if let Err(e) = dec.decode_some(&mut input, &mut sink, 1 << 20) {
                    break Err(e);
                }
                if input.is_empty() && sink.len() < 1 << 20 {
                    break dec.finish(&mut sink);
                }
            };
            assert!(c == Compression::None || cut.is_err(), "{c:?}");
        }
    }

    #[test]
    fn empty_is_empty_in_every_mode() {
        for c in [Compression::None, Compression::Lzo, Compression::Zstd] {
            assert!(compress(c, b"").unwrap().is_empty());
            assert!(decompress(c, Token::DOTO, b"", 0).unwrap().is_empty());
        }
    }
}
