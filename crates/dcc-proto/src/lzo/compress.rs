//! LZO1X-1 style encoder: one hash table of 4-byte sequences, greedy parsing.
//!
//! For each position we hash the next four bytes and look up the last position with the same
//! hash. If it is within 48 KiB and really holds the same four bytes, the match is extended as
//! far as it goes and emitted with the cheapest instruction that can encode it; otherwise we
//! move on, taking longer strides the longer the current literal run is (incompressible data
//! is skipped quickly). Literals between matches are emitted as a run; runs of 1..3 bytes ride
//! in the low two bits of the preceding match instruction.

/// Shortest match we look for (the hash covers 4 bytes).
const MIN_MATCH: usize = 4;
/// log2 of the hash table size: 16 Ki entries of u32 (64 KiB) stays in L2 cache.
const HASH_LOG: u32 = 14;
/// Farthest distances of each match kind (see `mod.rs`).
const M2_MAX_DIST: usize = 2048;
const M3_MAX_DIST: usize = 16384;
const M4_MAX_DIST: usize = 49151;
/// Longest match M2 can encode.
const M2_MAX_LEN: usize = 8;
/// Longest literal run the first-byte form (`17 + n`) can encode.
const FIRST_RUN_MAX: usize = 238;
/// Largest extra stride on a miss (see [`find_matches`]).
const MAX_SKIP: usize = 31;
/// Matches are not searched for in the last bytes of the input: the 8-byte comparisons in
/// [`common_prefix`] stay simple and the tail goes out as literals.
const TAIL: usize = 8;

/// Compresses `input` into a new vector holding one raw LZO1X block (ends with `11 00 00`).
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compress_into(input, &mut out);
    out
}

/// Appends the LZO1X block for `input` to `out`.
pub fn compress_into(input: &[u8], out: &mut Vec<u8>) {
    // Worst case (incompressible input): one literal run, which costs one extra byte per
    // 255 literals, plus the run header and the end marker.
    out.reserve(input.len() + input.len() / 255 + 16);
    let mut enc = Encoder {
        out,
        first_instruction: true,
        last_match_tail: None,
    };
    let lit_start = if input.len() > MIN_MATCH + TAIL {
        find_matches(input, &mut enc)
    } else {
        0
    };
    enc.literals(&input[lit_start..]);
    // End of stream: a far match (M4) with distance 0.
    enc.out.extend_from_slice(&[0x11, 0x00, 0x00]);
}

/// Greedy match search. Emits every match and the literals before it; returns where the
/// final, still unemitted literal run starts.
fn find_matches(input: &[u8], enc: &mut Encoder<'_>) -> usize {
    let mut table = vec![0u32; 1 << HASH_LOG];
    // Positions are stored as u32 and compared with wrapping arithmetic: on inputs over
    // 4 GiB a stale entry may alias, but every candidate is verified against the data, so
    // the worst case is a missed match, never a wrong one.
    let end = input.len() - TAIL;
    let mut lit_start = 0;
    let mut pos = 1;
    while pos + MIN_MATCH <= end {
        let seq = read_u32(input, pos);
        let slot = hash(seq);
        let cand = table[slot];
        table[slot] = pos as u32;
        let distance = (pos as u32).wrapping_sub(cand) as usize;
        if distance == 0
            || distance > M4_MAX_DIST
            || distance > pos
            || read_u32(input, pos - distance) != seq
        {
            // Miss: the stride grows by one every 32 literals, so incompressible stretches
            // are crossed in far fewer than one lookup per byte. It is capped so that a
            // repeat after a long incompressible stretch is still found (backward extension
            // then recovers its start).
            pos += 1 + ((pos - lit_start) >> 5).min(MAX_SKIP);
            continue;
        }
        let mut start = pos;
        // Extend backwards into the pending literals (the stride may have overshot).
        while start > lit_start
            && start > distance
            && input[start - 1] == input[start - distance - 1]
        {
            start -= 1;
        }
        let length = pos - start
            + MIN_MATCH
            + common_prefix(input, pos + MIN_MATCH, pos - distance + MIN_MATCH);
        enc.literals(&input[lit_start..start]);
        enc.copy(distance, length);
        pos = start + length;
        lit_start = pos;
        // Index a position inside the match so that repeats of its end are found.
        if pos + MIN_MATCH <= end {
            let p = pos - 2;
            table[hash(read_u32(input, p))] = p as u32;
        }
    }
    lit_start
}

#[inline]
fn read_u32(input: &[u8], pos: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&input[pos..pos + 4]);
    u32::from_le_bytes(b)
}

#[inline]
fn read_u64(input: &[u8], pos: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&input[pos..pos + 8]);
    u64::from_le_bytes(b)
}

#[inline]
fn hash(seq: u32) -> usize {
    // Multiplicative (Fibonacci) hashing: the top bits of the product mix all four bytes.
    (seq.wrapping_mul(0x9E37_79B1) >> (32 - HASH_LOG)) as usize
}

/// Number of equal bytes at `a` and `b` (`b < a`), not reading past the input.
#[inline]
fn common_prefix(input: &[u8], mut a: usize, mut b: usize) -> usize {
    let start = a;
    while a + 8 <= input.len() {
        let x = read_u64(input, a) ^ read_u64(input, b);
        if x != 0 {
            return a - start + (x.trailing_zeros() / 8) as usize;
        }
        a += 8;
        b += 8;
    }
    while a < input.len() && input[a] == input[b] {
        a += 1;
        b += 1;
    }
    a - start
}

/// Writes instructions. Tracks which output byte holds the two "trailing literals" bits of
/// the last match, so that a following run of 1..3 literals can be folded into it.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    first_instruction: bool,
    last_match_tail: Option<usize>,
}

impl Encoder<'_> {
    fn literals(&mut self, lits: &[u8]) {
        let n = lits.len();
        if n == 0 {
            return;
        }
        match self.last_match_tail.take() {
            _ if self.first_instruction && n <= FIRST_RUN_MAX => self.out.push(17 + n as u8),
            Some(at) if n <= 3 => self.out[at] |= n as u8,
            _ if n <= 18 => self.out.push(n as u8 - 3),
            _ => {
                self.out.push(0);
                self.extended_length(n - 18);
            }
        }
        self.first_instruction = false;
        self.out.extend_from_slice(lits);
    }

    fn copy(&mut self, distance: usize, length: usize) {
        debug_assert!(length >= 3 && (1..=M4_MAX_DIST).contains(&distance));
        self.first_instruction = false;
        if distance <= M2_MAX_DIST && length <= M2_MAX_LEN {
            let d = distance - 1;
            self.last_match_tail = Some(self.out.len());
            self.out
                .extend_from_slice(&[((length - 1) << 5 | (d & 7) << 2) as u8, (d >> 3) as u8]);
            return;
        }
        let d = if distance <= M3_MAX_DIST {
            if length <= 33 {
                self.out.push(32 | (length - 2) as u8);
            } else {
                self.out.push(32);
                self.extended_length(length - 33);
            }
            distance - 1
        } else {
            let d = distance - 16384;
            let h = ((d >> 14) << 3) as u8;
            if length <= 9 {
                self.out.push(16 | h | (length - 2) as u8);
            } else {
                self.out.push(16 | h);
                self.extended_length(length - 9);
            }
            d & 0x3fff
        };
        self.last_match_tail = Some(self.out.len());
        self.out
            .extend_from_slice(&[(d << 2) as u8, (d >> 6) as u8]);
    }

    /// Writes `n` (>= 1) as the extension of a zero length field: 255 per zero byte, then the
    /// remainder as one non-zero byte.
    fn extended_length(&mut self, mut n: usize) {
        debug_assert!(n >= 1);
        while n > 255 {
            self.out.push(0);
            n -= 255;
        }
        self.out.push(n as u8);
    }
}
