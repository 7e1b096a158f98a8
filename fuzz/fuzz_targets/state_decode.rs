//! State files written by other processes (C distcc or a corrupt file): decoding never panics
//! and a decoded state re-encodes to a file that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = dcc_state::decode_state(data) {
        let bytes = dcc_state::encode_state(&s);
        assert_eq!(dcc_state::decode_state(&bytes).expect("re-decode"), s);
    }
});
