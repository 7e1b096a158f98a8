//! LZO1X, the compression of distcc protocols 2 and 3.
//!
//! distcc compresses every bulk body (`DOTI`, `DOTO`, `SERR`, `SOUT`, `DOTD`, `FILE`) with
//! miniLZO's `lzo1x_1_compress` as **one raw block**: no header, no checksum, no length; the
//! block ends with the end-of-stream marker `11 00 00` and the receiver does not know the
//! uncompressed size (distcc src/compress.c). This module is a clean-room implementation
//! written from the public description of the format (Linux `Documentation/staging/lzo.rst`):
//!
//! - [`compress`] / [`compress_into`] (`compress.rs`): an LZO1X-1 style greedy encoder.
//! - [`decompress`] (`decompress.rs`): a safe decoder for any LZO1X stream, capped at a caller
//!   given output size, for bodies that come from the network; [`decompressed_len`] walks a
//!   block the same way and only counts, so a receiver can weigh a block before decoding it.
//!
//! # The format, as implemented
//!
//! A stream is a sequence of instructions. Each match instruction carries, in its low two bits
//! (`S`), a run of 0..3 literals that follows it; `state` is the number of literals the last
//! instruction copied (4 meaning "4 or more"), and only changes the meaning of bytes `0..=15`.
//!
//! | first byte | meaning |
//! |---|---|
//! | `18..=255` (first byte only) | literal run of `byte - 17` bytes; `state` = min(run, 4) |
//! | `0000LLLL`, state 0 | literal run of `3 + L` bytes (L = 0: extended), state 4 |
//! | `0000DDSS H`, state 1..3 | M1: copy 2 bytes from distance `(H << 2) + D + 1` |
//! | `0000DDSS H`, state 4 | M1: copy 3 bytes from distance `(H << 2) + D + 2049` |
//! | `0001HLLL LE16` | M4: copy `2 + L` bytes (L = 0: extended, base 7) from `16384 + (H << 14) + (LE16 >> 2)`; distance 16384 ends the stream |
//! | `001LLLLL LE16` | M3: copy `2 + L` bytes (L = 0: extended, base 31) from `(LE16 >> 2) + 1` |
//! | `01LDDDSS H` / `1LLDDDSS H` | M2: copy `(byte >> 5) + 1` (3..8) bytes from `(H << 3) + D + 1` |
//!
//! An extended length is the field's maximum, plus 255 for each following zero byte, plus the
//! first non-zero byte. For M3/M4 the `S` bits are the low two bits of the LE16 operand.
//!
//! The encoder emits the first-byte form for an initial run, `0000LLLL` for other runs of 4 or
//! more literals, folds runs of 1..3 into the preceding match's `S` bits, and uses M2, M3 or M4
//! for matches (never M1). The decoder accepts all of the above.

mod compress;
mod decompress;

pub use compress::{compress, compress_into};
pub use decompress::{decompress, decompressed_len};

/// Why an LZO1X block could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LzoError {
    /// The input ends in the middle of an instruction or its literals.
    #[error("LZO input overrun: the block ends in the middle of an instruction")]
    InputOverrun,
    /// Decoding would produce more than the caller's limit.
    #[error("LZO output exceeds the limit of {limit} bytes")]
    OutputLimit {
        /// The `max_output` given to [`decompress`].
        limit: usize,
    },
    /// A match refers to bytes before the start of the output.
    #[error(
        "LZO look-behind overrun: a match reaches {distance} bytes back with only {available} bytes decoded"
    )]
    LookBehindOverrun {
        /// How far back the match starts.
        distance: usize,
        /// How many bytes had been decoded at that point.
        available: usize,
    },
    /// Bytes follow the end-of-stream marker.
    #[error("LZO block has {extra} bytes of trailing input after its end marker")]
    TrailingInput {
        /// How many bytes follow the marker.
        extra: usize,
    },
    /// The input ends between two instructions without the end-of-stream marker.
    #[error("LZO block ends without its end-of-stream marker")]
    MissingEndMarker,
}

#[cfg(test)]
mod tests;
