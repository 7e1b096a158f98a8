//! zstd bodies (our protocol extension) from a hostile peer: decompression never panics and
//! never returns more than its limit.
#![no_main]

use dcc_proto::{Compression, Token, compress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    const LIMIT: usize = 1 << 20;
    if let Ok(out) = compress::decompress(Compression::Zstd, Token::DOTI, data, LIMIT) {
        assert!(out.len() <= LIMIT);
    }
});
