//! The daemon's request decoder on hostile bytes, fed in arbitrary chunks: it must never panic,
//! never buffer past its limits, and a request it accepts must re-encode to one it accepts
//! again with the same meaning. The streaming decoder (the daemon's) must agree with it.
#![no_main]

use bytes::BytesMut;
use dcc_proto::{Limits, Request, RequestDecoder, RequestEvent};
use libfuzzer_sys::fuzz_target;

fn limits() -> Limits {
    Limits {
        max_argc: 64,
        max_string: 4096,
        max_argv_total: 16384,
        max_body: 1 << 20,
        max_decompressed: 4 << 20,
        max_files: 64,
        max_total: 8 << 20,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    // Feed in two chunks at an arbitrary point, as a socket would.
    let cut = (split as usize * rest.len()) / 256;
    let mut dec = RequestDecoder::new(limits());
    let mut buf = BytesMut::from(&rest[..cut]);
    let mut events = Vec::new();
    let mut failed = false;
    for chunk in [&rest[cut..], &[][..]] {
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
        // What is buffered never exceeds what one packet may hold.
        assert!(buf.len() <= rest.len());
        buf.extend_from_slice(chunk);
    }
    // The daemon's streaming path (bodies in pieces, decompressed piece by piece) agrees
    // with the whole-body path.
    let streamed = Request::decode_all_streaming(rest, limits(), (split as usize).max(1));
    let whole = Request::decode_all(rest, limits());
    if let Ok(req) = whole {
        let again = req.encode().expect("re-encode");
        let back = Request::decode_all(&again, limits()).expect("decode re-encoded");
        assert_eq!(back, req);
        assert!(events.iter().any(|e| matches!(e, RequestEvent::End)) || failed);
        assert_eq!(streamed.expect("streaming accepts what whole accepts"), req);
    }
});
