//! Safe LZO1X decoder for untrusted input.
//!
//! The decoder walks the instruction stream described in `mod.rs` with a bounds-checked reader.
//! Every length is checked against `max_output` *before* a byte is written, and the output
//! vector is grown by hand (`reserve_exact`, never past `max_output`), so a hostile stream can
//! make us allocate at most `max_output` bytes plus the allocator's rounding.

use super::LzoError;

/// Decodes one raw LZO1X block (as sent by distcc: no header, no length, ending with the
/// end-of-stream marker `11 00 00`) into a new vector of at most `max_output` bytes.
///
/// The whole input must be consumed by the block: bytes after the end marker are an error, as
/// with miniLZO's `lzo1x_decompress_safe` (`LZO_E_INPUT_NOT_CONSUMED`), which distcc treats as
/// a failed transfer.
pub fn decompress(input: &[u8], max_output: usize) -> Result<Vec<u8>, LzoError> {
    let mut dec = Decoder {
        input,
        pos: 0,
        out: Vec::new(),
        limit: max_output,
        count_only: false,
        count: 0,
    };
    // Typical distcc payloads (preprocessed C, object files) expand 2-5x; start near that and
    // double as needed, never above the limit.
    dec.reserve_total(input.len().saturating_mul(4).max(64).min(max_output));
    dec.run()?;
    Ok(dec.out)
}

/// The size [`decompress`] would produce for `input`, found by walking the block without
/// writing a byte: a receiver can weigh the memory a block needs before it allocates any. The
/// same checks (and errors) as [`decompress`].
pub fn decompressed_len(input: &[u8], max_output: usize) -> Result<usize, LzoError> {
    let mut dec = Decoder {
        input,
        pos: 0,
        out: Vec::new(),
        limit: max_output,
        count_only: true,
        count: 0,
    };
    dec.run()?;
    Ok(dec.count)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    limit: usize,
    /// Count the output instead of writing it ([`decompressed_len`]).
    count_only: bool,
    count: usize,
}

impl Decoder<'_> {
    fn run(&mut self) -> Result<(), LzoError> {
        // `state` is the number of literals copied by the previous instruction, capped at 4.
        // It decides what an instruction byte below 16 means.
        let mut state: usize = 0;
        match self.input.first() {
            None => return Err(LzoError::MissingEndMarker),
            // First byte 18..=255: a literal run of (byte - 17) bytes. No dictionary exists
            // yet, so the encoder uses this short form for the first run.
            Some(&b) if b > 17 => {
                self.pos = 1;
                let n = usize::from(b - 17);
                self.literals(n)?;
                state = n.min(4);
            }
            // 0..=17: an ordinary instruction, read by the loop below with state 0.
            Some(_) => {}
        }
        loop {
            if self.pos == self.input.len() {
                return Err(LzoError::MissingEndMarker);
            }
            let inst = usize::from(self.byte()?);
            let (distance, length, trailing);
            if inst < 16 {
                if state == 0 {
                    // 0000LLLL after no literals: a literal run of 4 or more bytes.
                    let n = 3 + self.length(inst, 15)?;
                    self.literals(n)?;
                    state = 4;
                    continue;
                }
                // 0000DDSS + H: a short match (M1). After a short literal run it copies 2
                // bytes from within 1 KiB; after a run of 4+ literals it copies 3 bytes from
                // 2..3 KiB back.
                let h = usize::from(self.byte()?);
                let near = (h << 2) + ((inst >> 2) & 3) + 1;
                (distance, length) = if state < 4 {
                    (near, 2)
                } else {
                    (near + 2048, 3)
                };
                trailing = inst & 3;
            } else if inst < 32 {
                // 0001HLLL + LE16: a far match (M4), 16 KiB..48 KiB back.
                length = 2 + self.length(inst, 7)?;
                let (d, s) = self.le16_distance()?;
                distance = 16384 + ((inst & 8) << 11) + d;
                if distance == 16384 {
                    // A far match of distance 0 is the end-of-stream marker (`11 00 00`).
                    let extra = self.input.len() - self.pos;
                    return if extra == 0 {
                        Ok(())
                    } else {
                        Err(LzoError::TrailingInput { extra })
                    };
                }
                trailing = s;
            } else if inst < 64 {
                // 001LLLLL + LE16: a match (M3) up to 16 KiB back.
                length = 2 + self.length(inst, 31)?;
                let (d, s) = self.le16_distance()?;
                distance = d + 1;
                trailing = s;
            } else {
                // 01LDDDSS / 1LLDDDSS + H: a match (M2) of 3..8 bytes up to 2 KiB back.
                let h = usize::from(self.byte()?);
                length = (inst >> 5) + 1;
                distance = (h << 3) + ((inst >> 2) & 7) + 1;
                trailing = inst & 3;
            }
            self.copy_match(distance, length)?;
            // The low two bits of the instruction (or of its distance) are a literal run of
            // 0..3 bytes that follows the match without an instruction of its own.
            self.literals(trailing)?;
            state = trailing;
        }
    }

    fn byte(&mut self) -> Result<u8, LzoError> {
        let b = *self.input.get(self.pos).ok_or(LzoError::InputOverrun)?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads the length field held in the low bits of `inst` (masked by `mask`). Zero means
    /// "extended": `mask`, plus 255 per following zero byte, plus the first non-zero byte.
    fn length(&mut self, inst: usize, mask: usize) -> Result<usize, LzoError> {
        let short = inst & mask;
        if short != 0 {
            return Ok(short);
        }
        let mut n = mask;
        loop {
            match self.byte()? {
                // Saturating: a length this large fails the output limit anyway.
                0 => n = n.saturating_add(255),
                b => return Ok(n.saturating_add(usize::from(b))),
            }
        }
    }

    /// Reads the little-endian 16-bit operand of M3/M4: a 14-bit distance and 2 literal bits.
    fn le16_distance(&mut self) -> Result<(usize, usize), LzoError> {
        let lo = usize::from(self.byte()?);
        let hi = usize::from(self.byte()?);
        Ok(((lo >> 2) | (hi << 6), lo & 3))
    }

    /// Makes sure `out` can hold `total` bytes, growing geometrically but never past the limit.
    fn reserve_total(&mut self, total: usize) {
        if total > self.out.capacity() {
            let want = total
                .max(self.out.capacity().saturating_mul(2))
                .min(self.limit);
            // `want >= total > capacity >= len`, so the subtraction cannot underflow.
            self.out.reserve_exact(want - self.out.len());
        }
    }

    /// Output so far.
    fn produced(&self) -> usize {
        if self.count_only {
            self.count
        } else {
            self.out.len()
        }
    }

    /// Checks that `n` more output bytes fit under the limit, and makes room for them (when
    /// counting, counts them instead: the caller then writes nothing).
    fn room(&mut self, n: usize) -> Result<(), LzoError> {
        let total = self
            .produced()
            .checked_add(n)
            .filter(|&t| t <= self.limit)
            .ok_or(LzoError::OutputLimit { limit: self.limit })?;
        if self.count_only {
            self.count = total;
        } else {
            self.reserve_total(total);
        }
        Ok(())
    }

    fn literals(&mut self, n: usize) -> Result<(), LzoError> {
        if n == 0 {
            return Ok(());
        }
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or(LzoError::InputOverrun)?;
        self.room(n)?;
        if !self.count_only {
            self.out.extend_from_slice(&self.input[self.pos..end]);
        }
        self.pos = end;
        Ok(())
    }

    fn copy_match(&mut self, distance: usize, length: usize) -> Result<(), LzoError> {
        let available = self.produced();
        if distance > available {
            return Err(LzoError::LookBehindOverrun {
                distance,
                available,
            });
        }
        self.room(length)?;
        if self.count_only {
            return Ok(());
        }
        let start = available - distance;
        if distance == 1 {
            // A run of one repeated byte: common in object files (zero padding).
            let b = self.out[start];
            self.out.resize(available + length, b);
            return Ok(());
        }
        // The source may overlap the bytes being written (distance < length): the output
        // is then periodic with period `distance`. Copy what already exists, which doubles
        // the copyable span each round, instead of going byte by byte.
        let mut left = length;
        while left > 0 {
            let n = left.min(self.out.len() - start);
            self.out.extend_from_within(start..start + n);
            left -= n;
        }
        Ok(())
    }
}
