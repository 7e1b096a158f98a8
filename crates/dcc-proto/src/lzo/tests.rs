//! Tests for the LZO1X codec: hand-made streams for every instruction kind, error cases,
//! round-trips, and a cross-check with the independent `lzo` crate's decoder.

use super::{LzoError, compress, compress_into, decompress, decompressed_len};
use proptest::prelude::*;

const EOS: [u8; 3] = [0x11, 0x00, 0x00];
const BIG: usize = 1 << 24;

fn stream(parts: &[&[u8]]) -> Vec<u8> {
    let mut s: Vec<u8> = parts.concat();
    s.extend_from_slice(&EOS);
    s
}

/// 0..n as bytes, a pattern without repeats shorter than 256 bytes.
fn counting(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A literal run of `data.len()` (>= 19) bytes in the `0000LLLL` form with an extended length.
fn long_literal_run(data: &[u8]) -> Vec<u8> {
    let mut s = vec![0u8];
    let mut rest = data.len() - 18;
    while rest > 255 {
        s.push(0);
        rest -= 255;
    }
    s.push(rest as u8);
    s.extend_from_slice(data);
    s
}

// ---- hand-made streams, one per instruction kind ----

#[test]
fn empty_stream_is_just_the_end_marker() {
    assert_eq!(decompress(&EOS, 0), Ok(vec![]));
    assert_eq!(compress(b""), EOS.to_vec());
}

#[test]
fn first_byte_short_literal_runs() {
    // 18..=20: 1..3 literals, then state 1..3.
    assert_eq!(decompress(&stream(&[&[18], b"a"]), BIG), Ok(b"a".to_vec()));
    assert_eq!(
        decompress(&stream(&[&[20], b"abc"]), BIG),
        Ok(b"abc".to_vec())
    );
    // 255: the longest first-byte run, 238 literals.
    let lits = counting(238);
    assert_eq!(decompress(&stream(&[&[255], &lits]), BIG), Ok(lits));
}

#[test]
fn first_byte_17_is_an_ordinary_instruction() {
    // 17 = 0x11 is M4 with state 0, so `11 00 00` alone is the empty stream and a non-zero
    // distance at the start reaches before the output.
    assert_eq!(
        decompress(&[0x11, 0x04, 0x00, 0x11, 0x00, 0x00], BIG),
        Err(LzoError::LookBehindOverrun {
            distance: 16385,
            available: 0
        })
    );
}

#[test]
fn literal_run_instruction_short_and_extended() {
    // 0000LLLL at the start (state 0): 3 + L literals.
    let lits = counting(18);
    assert_eq!(decompress(&stream(&[&[15], &lits]), BIG), Ok(lits));
    let lits = counting(4);
    assert_eq!(decompress(&stream(&[&[1], &lits]), BIG), Ok(lits));
    // Extended: 18 + 255 * zeros + last byte, including an exact multiple of 255.
    for n in [19, 273, 18 + 255 + 255, 5000] {
        let lits = counting(n);
        let s = stream(&[&long_literal_run(&lits)]);
        assert_eq!(decompress(&s, BIG), Ok(lits), "run of {n}");
    }
}

#[test]
fn m2_short_and_long_with_trailing_literals() {
    // "abcdefgh" then M2 (len 4, dist 8: 011 DDD SS, D = 7, H = 0) with S = 2 literals "XY",
    // then M2 (len 8, dist 2: 111 001 00, H = 0).
    let s = stream(&[
        &[17 + 8],
        b"abcdefgh",
        &[0b0111_1110, 0],
        b"XY",
        &[0b1110_0100, 0],
    ]);
    assert_eq!(decompress(&s, BIG), Ok(b"abcdefghabcdXYXYXYXYXY".to_vec()));
}

#[test]
fn m2_overlapping_run_of_one_byte() {
    // "z" then M2 len 8 dist 1 (111 000 00), twice: a run of 17 'z'.
    let s = stream(&[&[18], b"z", &[0b1110_0000, 0, 0b1110_0000, 0]]);
    assert_eq!(decompress(&s, BIG), Ok(vec![b'z'; 17]));
}

#[test]
fn m1_after_short_literal_run_copies_two_bytes() {
    // "abcde", M2 len 3 dist 5 with S = 1 ("Q"): state 1, so 0000DDSS is M1: 2 bytes from
    // distance (H << 2) + D + 1 = (1 << 2) + 1 + 1 = 6 with S = 3 ("xyz").
    let s = stream(&[
        &[17 + 5],
        b"abcde",
        &[0b0101_0001, 0],
        b"Q",
        &[0b0000_0111, 1],
        b"xyz",
    ]);
    // after "abcdeabcQ" (9 bytes), distance 6 starts at index 3: "de".
    assert_eq!(decompress(&s, BIG), Ok(b"abcdeabcQdexyz".to_vec()));
}

#[test]
fn m1_after_long_literal_run_copies_three_bytes_from_2k() {
    // A literal run of 3000 bytes (state 4), then 0000DDSS + H: 3 bytes from distance
    // (H << 2) + D + 2049, here H = 1, D = 2: 2055, with S = 1 ("!"), then M1 again with
    // state 1 (2 bytes from distance 1).
    let lits = counting(3000);
    let s = stream(&[&long_literal_run(&lits), &[0b0000_1001, 1], b"!", &[0, 0]]);
    let mut want = lits.clone();
    let from = want.len() - 2055;
    want.extend_from_within(from..from + 3);
    want.push(b'!');
    want.extend_from_slice(b"!!");
    assert_eq!(decompress(&s, BIG), Ok(want));
    // The same after a first-byte run of 4+ literals (state 4): 3000 is too far for 238
    // bytes of output, so check the look-behind error names the 2k-based distance.
    let s = stream(&[&[17 + 4], b"abcd", &[0, 0]]);
    assert_eq!(
        decompress(&s, BIG),
        Err(LzoError::LookBehindOverrun {
            distance: 2049,
            available: 4
        })
    );
}

#[test]
fn m3_short_and_extended_length() {
    // "abcdefgh", M3 len 5 dist 8 (001 00011, LE16 = (7 << 2) | S=0), then M3 with L = 0,
    // extension 0, 0, 4 (len = 2 + 31 + 510 + 4 = 547), distance 1 with S = 1 ("!").
    let s = stream(&[
        &[17 + 8],
        b"abcdefgh",
        &[0b0010_0011, 7 << 2, 0],
        &[0b0010_0000, 0, 0, 4, 1, 0],
        b"!",
    ]);
    let mut want = b"abcdefghabcde".to_vec();
    want.extend(std::iter::repeat_n(b'e', 547));
    want.push(b'!');
    assert_eq!(decompress(&s, BIG), Ok(want));
}

#[test]
fn m3_distance_uses_all_fourteen_bits() {
    // Distance 16384 (the farthest M3): LE16 = (16383 << 2), i.e. bytes FC FF.
    let lits = counting(16384);
    let s = stream(&[&long_literal_run(&lits), &[0b0010_0010, 0xfc, 0xff]]);
    let mut want = lits.clone();
    want.extend_from_slice(&lits[..4]);
    assert_eq!(decompress(&s, BIG), Ok(want));
}

#[test]
fn m4_near_and_far_with_extended_length() {
    // 40000 literals, M4 with H = 0, len 3, distance 16384 + 1 (LE16 = 1 << 2) and S = 2,
    // then M4 with H = 1, L = 0 + extension 1 (len = 2 + 7 + 1 = 10), distance
    // 16384 + 16384 + 100.
    let lits = counting(40000);
    let s = stream(&[
        &long_literal_run(&lits),
        &[0b0001_0001, (1 << 2) | 2, 0],
        b"ST",
        &[0b0001_1000, 1, (100 << 2) as u8, 100 >> 6],
    ]);
    let mut want = lits.clone();
    let from = want.len() - 16385;
    want.extend_from_within(from..from + 3);
    want.extend_from_slice(b"ST");
    let from = want.len() - 32868;
    want.extend_from_within(from..from + 10);
    assert_eq!(decompress(&s, BIG), Ok(want));
}

#[test]
fn end_marker_with_any_length_bits_ends_the_stream() {
    // miniLZO treats any M4 with distance 0 as the end, whatever its L bits.
    assert_eq!(
        decompress(&[20, b'a', b'b', b'c', 0x13, 0, 0], BIG),
        Ok(b"abc".to_vec())
    );
}

/// A `SERR` body sent by Debian's distccd (miniLZO's `lzo1x_1_compress`) for a gcc warning:
/// a long first literal run in the `0000LLLL` form (not the first-byte form), M2 matches, and
/// a literal run right after a match.
const MINILZO_SERR: [u8; 95] = [
    0x00, 0x08, 0x77, 0x2e, 0x63, 0x3a, 0x20, 0x49, 0x6e, 0x20, 0x66, 0x75, 0x6e, 0x63, 0x74, 0x69,
    0x6f, 0x6e, 0x20, 0xe2, 0x80, 0x98, 0x66, 0xe2, 0x80, 0x99, 0x3a, 0x0a, 0x64, 0x03, 0x00, 0x0c,
    0x32, 0x3a, 0x31, 0x39, 0x3a, 0x20, 0x77, 0x61, 0x72, 0x6e, 0x69, 0x6e, 0x67, 0x3a, 0x20, 0x75,
    0x6e, 0x75, 0x73, 0x65, 0x64, 0x20, 0x76, 0x61, 0x72, 0x69, 0x61, 0x62, 0x6c, 0x65, 0x6c, 0x05,
    0xa8, 0x02, 0x00, 0x06, 0xe2, 0x80, 0x99, 0x20, 0x5b, 0x2d, 0x57, 0x75, 0x6e, 0x75, 0x73, 0x65,
    0x64, 0x2d, 0x76, 0x61, 0x72, 0x69, 0x61, 0x62, 0x6c, 0x65, 0x5d, 0x0a, 0x11, 0x00, 0x00,
];

#[test]
fn decodes_a_real_minilzo_block() {
    let want = "w.c: In function \u{2018}f\u{2019}:\n\
                w.c:2:19: warning: unused variable \u{2018}unused\u{2019} [-Wunused-variable]\n";
    assert_eq!(
        decompress(&MINILZO_SERR, 1000),
        Ok(want.as_bytes().to_vec())
    );
}

// ---- errors ----

#[test]
fn errors_on_garbage_and_truncation() {
    assert_eq!(decompress(&[], BIG), Err(LzoError::MissingEndMarker));
    assert_eq!(
        decompress(&[20, b'a', b'b', b'c'], BIG),
        Err(LzoError::MissingEndMarker)
    );
    assert_eq!(decompress(&[20, b'a'], BIG), Err(LzoError::InputOverrun));
    assert_eq!(decompress(&[0x11, 0], BIG), Err(LzoError::InputOverrun));
    // Extended length with only zero bytes.
    assert_eq!(decompress(&[0, 0, 0, 0], BIG), Err(LzoError::InputOverrun));
    assert_eq!(
        decompress(&[0x11, 0, 0, 0], BIG),
        Err(LzoError::TrailingInput { extra: 1 })
    );
    // M2 of distance 2 after one byte of output.
    assert_eq!(
        decompress(&[18, b'a', 0x44, 0, 0x11, 0, 0], BIG),
        Err(LzoError::LookBehindOverrun {
            distance: 2,
            available: 1
        })
    );
    // Bytes 16..=31 at the start are M4: nothing to copy from yet.
    assert!(matches!(
        decompress(&[0x12, 4, 0, 0x11, 0, 0], BIG),
        Err(LzoError::LookBehindOverrun { .. })
    ));
}

#[test]
fn every_truncation_of_a_real_stream_fails() {
    let data: Vec<u8> = b"int main(void) { return 0; } /* int main */ "
        .iter()
        .cycle()
        .take(3000)
        .copied()
        .collect();
    let c = compress(&data);
    for cut in 0..c.len() {
        let r = decompress(&c[..cut], BIG);
        assert!(
            matches!(r, Err(LzoError::InputOverrun | LzoError::MissingEndMarker)),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn output_limit_is_checked_before_writing() {
    // M3 with a length of ~255 * 100000 from a tiny input: refused without allocating it.
    let mut s = vec![18, b'a', 0b0010_0000];
    s.extend(std::iter::repeat_n(0u8, 100_000));
    s.extend_from_slice(&[1, 0, 0]);
    s.extend_from_slice(&EOS);
    assert_eq!(
        decompress(&s, 1 << 20),
        Err(LzoError::OutputLimit { limit: 1 << 20 })
    );
    let want_len = 1 + 2 + 31 + 255 * 100_000 + 1;
    let out = decompress(&s, want_len).expect("fits exactly");
    assert_eq!(out.len(), want_len);
    assert!(
        out.capacity() <= want_len + 64,
        "capacity {}",
        out.capacity()
    );
}

// ---- compressor ----

#[test]
fn compressor_output_ends_with_marker_and_compresses_repeats() {
    let data = vec![b'x'; 100_000];
    let c = compress(&data);
    assert!(c.ends_with(&EOS));
    assert!(c.len() < 1000, "{} bytes", c.len());
    assert_eq!(decompress(&c, data.len()), Ok(data));
}

#[test]
fn compress_into_appends() {
    let mut out = b"prefix".to_vec();
    compress_into(b"hello hello hello hello", &mut out);
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(
        decompress(&out[6..], 100),
        Ok(b"hello hello hello hello".to_vec())
    );
}

#[test]
fn compressor_uses_every_match_kind() {
    // 21 random bytes then "ABCD", 1600 times: the markers keep literal runs short, so the
    // encoder looks up every position. Then repeats at distances that need M2, M3 and M4,
    // some long enough for extended lengths, and a 2-byte literal run after a match.
    let mut seed = 0x1234_5678u32;
    let mut base = Vec::new();
    for _ in 0..1600 {
        base.extend((0..21).map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        }));
        base.extend_from_slice(b"ABCD");
    }
    let mut data = base.clone();
    data.extend_from_slice(&base[39_000..39_100]); // M3, distance 1000, extended length
    data.extend_from_slice(&base[30_000..30_006]); // M3, distance ~10000
    data.extend_from_slice(&base[100..400]); // M4, distance ~40000, extended length
    data.extend_from_slice(&base[39_990..39_996]); // M2, distance ~400
    data.extend_from_slice(b"xy"); // literals folded into the M2
    data.extend_from_slice(&base[200..206]); // M4, short
    data.extend_from_slice(b"; the last bytes are never searched");
    let c = compress(&data);
    assert!(c.len() < base.len(), "{} bytes", c.len());
    let kinds = instruction_kinds(&c);
    for k in [
        "first-run",
        "M2",
        "M3",
        "M3-ext",
        "M4",
        "M4-ext",
        "S-literals",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    assert_eq!(decompress(&c, data.len()), Ok(data));
}

#[test]
fn compressor_uses_long_literal_runs() {
    // A match, then 300 fresh bytes: a literal run with an extended length.
    let mut data = counting(300);
    data.extend_from_slice(&counting(300));
    data.extend((0..300u32).map(|i| (i * 7 % 256) as u8 ^ 0x55));
    data.extend_from_slice(b"tail");
    let c = compress(&data);
    let kinds = instruction_kinds(&c);
    assert!(kinds.contains(&"run-ext"), "{kinds:?}");
    assert_eq!(decompress(&c, data.len()), Ok(data));
}

/// Names the instruction kinds in a stream of our encoder (which never emits M1).
fn instruction_kinds(c: &[u8]) -> Vec<&'static str> {
    fn ext(c: &[u8], i: &mut usize) -> usize {
        let mut n = 0;
        while c[*i] == 0 {
            n += 255;
            *i += 1;
        }
        *i += 1;
        n + usize::from(c[*i - 1])
    }
    let mut kinds = Vec::new();
    let mut i = 0;
    if c[0] > 17 {
        kinds.push("first-run");
        i = 1 + usize::from(c[0] - 17);
    }
    loop {
        let b = c[i];
        i += 1;
        let s = match b {
            0 => {
                kinds.push("run-ext");
                i += 18 + ext(c, &mut i);
                continue;
            }
            1..=15 => {
                kinds.push("run");
                i += 3 + usize::from(b);
                continue;
            }
            16..=31 => {
                if b & 7 == 0 {
                    kinds.push("M4-ext");
                    ext(c, &mut i);
                }
                if c[i] >> 2 == 0 && c[i + 1] == 0 && b & 8 == 0 {
                    return kinds;
                }
                kinds.push("M4");
                i += 2;
                c[i - 2] & 3
            }
            32..=63 => {
                if b & 31 == 0 {
                    kinds.push("M3-ext");
                    ext(c, &mut i);
                }
                kinds.push("M3");
                i += 2;
                c[i - 2] & 3
            }
            _ => {
                kinds.push("M2");
                i += 1;
                b & 3
            }
        };
        if s > 0 {
            kinds.push("S-literals");
            i += usize::from(s);
        }
    }
}

fn reference_decode(c: &[u8], len: usize) -> Vec<u8> {
    lzo::decompress(c, len).expect("the lzo crate decodes our stream")
}

#[test]
fn independent_decoder_reads_our_stream() {
    let text: Vec<u8> = (0..20_000u32)
        .flat_map(|i| format!("static int v{} = {};\n", i % 97, i % 13).into_bytes())
        .collect();
    for data in [&b""[..], b"a", b"abcd", &text, &counting(70_000)] {
        let c = compress(data);
        assert_eq!(reference_decode(&c, data.len()), data);
    }
}

// ---- round-trips ----

fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Random bytes: mostly literals.
        proptest::collection::vec(any::<u8>(), 0..4096),
        // Small alphabet: many short matches at all distances.
        proptest::collection::vec(0u8..4, 0..20_000),
        // Long runs of a few bytes.
        proptest::collection::vec((any::<u8>(), 1usize..3000), 0..40).prop_map(|runs| runs
            .into_iter()
            .flat_map(|(b, n)| std::iter::repeat_n(b, n))
            .collect()),
        // A random chunk repeated with small edits, up to ~300 KB: far matches (M4).
        (
            proptest::collection::vec(any::<u8>(), 1..20_000),
            1usize..16,
            any::<u8>()
        )
            .prop_map(|(chunk, reps, edit)| {
                let mut v = Vec::new();
                for r in 0..reps {
                    v.extend_from_slice(&chunk);
                    let at = v.len() - 1 - (r * 7919) % chunk.len();
                    v[at] ^= edit;
                }
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip(data in data_strategy()) {
        let c = compress(&data);
        prop_assert_eq!(decompress(&c, data.len()), Ok(data.clone()));
        prop_assert_eq!(decompressed_len(&c, data.len()), Ok(data.len()));
        prop_assert_eq!(reference_decode(&c, data.len()), data.clone());
        if !data.is_empty() {
            prop_assert_eq!(
                decompress(&c, data.len() - 1),
                Err(LzoError::OutputLimit { limit: data.len() - 1 })
            );
        }
    }

    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), limit in 0usize..100_000) {
        // Counting agrees with decoding, errors included.
        prop_assert_eq!(
            decompressed_len(&data, limit),
            decompress(&data, limit).map(|o| o.len())
        );
        if let Ok(out) = decompress(&data, limit) {
            prop_assert!(out.len() <= limit);
            prop_assert!(out.len() <= 255 * data.len());
        }
    }

    #[test]
    fn corrupted_streams_never_panic(data in proptest::collection::vec(0u8..8, 1..3000), at in any::<prop::sample::Index>(), x in 1u8..) {
        let mut c = compress(&data);
        let i = at.index(c.len());
        c[i] ^= x;
        prop_assert_eq!(
            decompressed_len(&c, data.len() * 2),
            decompress(&c, data.len() * 2).map(|o| o.len())
        );
        if let Ok(out) = decompress(&c, data.len() * 2) {
            prop_assert!(out.len() <= data.len() * 2);
        }
    }
}

#[test]
fn round_trip_300k_sizes() {
    // Sizes up to 300 KB with mixed content, beyond the proptest ranges.
    let mut seed = 7u32;
    let mut data = Vec::new();
    while data.len() < 300_000 {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        match seed >> 30 {
            0 => data.extend(std::iter::repeat_n(
                (seed >> 8) as u8,
                (seed as usize >> 12) % 700,
            )),
            1 => data.extend_from_slice(format!("line {} of text\n", seed % 1000).as_bytes()),
            2 => {
                let n = data.len();
                let back = 1 + (seed as usize >> 4) % n.clamp(1, 60_000);
                let from = n.saturating_sub(back);
                let len = (seed as usize >> 20) % 300;
                data.extend_from_within(from..(from + len).min(n));
            }
            _ => data.push((seed >> 16) as u8),
        }
    }
    for len in [0, 1, 5, 12, 13, 14, 100, 65_536, 199_999, 300_000] {
        let d = &data[..len.min(data.len())];
        let c = compress(d);
        assert_eq!(decompress(&c, d.len()).as_deref(), Ok(d), "len {len}");
        assert_eq!(reference_decode(&c, d.len()), d, "len {len}");
    }
}
