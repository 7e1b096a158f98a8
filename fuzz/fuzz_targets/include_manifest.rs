//! The include scanner's manifest text (a later step sends it to helpers and keys a cache on
//! it): the parser is total and accepts only canonical text, which prints back byte for byte.
#![no_main]

use dcc_include::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_text(data) {
        assert_eq!(m.to_text(), data);
    }
});
