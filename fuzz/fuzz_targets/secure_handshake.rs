//! Bytes an unauthenticated peer controls in the secure transport: the preamble sniffing, the
//! framing, the daemon's reading of a hello, and the text of the key files. None may panic; a
//! hello made of random bytes must never authenticate.
#![no_main]

use dcc_secure::frame::{self, Sniff};
use dcc_secure::{AuthorizedKeys, KnownHosts, PrivateKey, Responder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if frame::sniff(data) == Sniff::Secure {
        let rest = &data[frame::PREAMBLE.len()..];
        let _ = frame::missing(rest);
        if let Some(r) = frame::complete(rest) {
            let key = PrivateKey::from_bytes([7; 32]);
            assert!(
                Responder::read_hello(&key, &rest[r]).is_err(),
                "a random hello authenticated"
            );
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = AuthorizedKeys::parse(&text).len();
    let _ = KnownHosts::parse(&text).find("h", 3632);
    let _ = dcc_secure::base64::decode(&text);
});
