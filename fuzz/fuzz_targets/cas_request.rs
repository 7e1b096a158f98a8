//! Our content-addressed extension (DIST 0x303): the helper's decoder of the manifest, chain
//! and blobs, and the client's decoder of NEED, on arbitrary bytes. Neither may panic, and
//! neither may return a blob larger than the size it was given.
#![no_main]

use bytes::BytesMut;
use dcc_proto::Limits;
use dcc_proto::cas::{CasDecoder, decode_need};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let mut need = BytesMut::from(rest);
    let _ = decode_need(&mut need, usize::from(size));

    let mut buf = BytesMut::from(rest);
    let mut dec = CasDecoder::new(Limits::default());
    if let Ok(Some(_)) = dec.decode_manifest(&mut buf) {
        while let Ok(Some(blob)) = dec.decode_blob(&mut buf, u64::from(size)) {
            assert!(blob.len() <= usize::from(size));
        }
    }
});
