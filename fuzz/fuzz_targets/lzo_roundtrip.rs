//! Any input must survive compress -> decompress unchanged, and the stream must be read
//! identically by an independent decoder (the `lzo` crate).
#![no_main]

use dcc_proto::lzo::{compress, decompress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let c = compress(data);
    assert!(c.ends_with(&[0x11, 0, 0]));
    assert_eq!(decompress(&c, data.len()).as_deref(), Ok(data));
    assert_eq!(lzo::decompress(&c, data.len()).as_deref(), Ok(data));
});
