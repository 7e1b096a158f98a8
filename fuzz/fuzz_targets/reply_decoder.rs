//! The client's reply decoder on hostile bytes (a malicious or broken server): never panics,
//! and whatever it accepts round-trips.
#![no_main]

use dcc_proto::{Limits, Protocol, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else {
        return;
    };
    let protocol = [Protocol::V1, Protocol::V2, Protocol::V3, Protocol::ZSTD][v as usize % 4];
    let limits = Limits {
        max_body: 1 << 20,
        max_decompressed: 4 << 20,
        max_total: 8 << 20,
        ..Limits::default()
    };
    if let Ok(reply) = Reply::decode_all(rest, protocol, limits) {
        let mut out = Vec::new();
        reply.encode(protocol, &mut out).expect("re-encode");
        assert_eq!(Reply::decode_all(&out, protocol, limits).expect("again"), reply);
    }
});
