//! A helper's load report (dcc_proto::load) from arbitrary bytes: decoding never panics, never
//! reads past what it says it took, and a decoded report re-encodes to the same fields.
#![no_main]

use dcc_proto::load::LoadReport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((r, took))) = LoadReport::decode(data) {
        assert!(took <= data.len());
        let mut again = Vec::new();
        r.encode(&mut again);
        assert_eq!(LoadReport::decode(&again).expect("re-decode"), Some((r, again.len())));
    }
});
