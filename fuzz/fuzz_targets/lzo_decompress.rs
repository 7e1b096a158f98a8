//! Hostile input for the LZO1X decoder: it must never panic, never exceed its output limit,
//! and agree with an independent decoder (the `lzo` crate) on every stream that one accepts.
#![no_main]

use dcc_proto::lzo::{LzoError, decompress};
use libfuzzer_sys::fuzz_target;

/// The independent decoder allocates its whole limit up front: keep it modest.
const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let ours = decompress(data, LIMIT);
    if let Ok(out) = &ours {
        assert!(out.len() <= LIMIT);
        // One input byte yields at most 255 output bytes (a zero length-extension byte).
        assert!(out.len() <= 255 * data.len());
        // One byte less must be refused as such, not accepted or misreported.
        if let Some(tight) = out.len().checked_sub(1) {
            assert_eq!(
                decompress(data, tight),
                Err(LzoError::OutputLimit { limit: tight })
            );
        }
    }
    // The reference is stricter in one place (it wants the end marker to be exactly
    // `11 00 00`, where miniLZO and we accept any length bits), so only its successes bind us.
    if let Ok(theirs) = lzo::decompress(data, LIMIT) {
        assert_eq!(ours.as_ref(), Ok(&theirs), "decoders disagree");
    }
});
