//! DISTCC_HOSTS text from users and files: the parser is total, and every accepted host has a
//! usable limit and port.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mut list) = dcc_hosts::parse(&text) {
        for h in &list.hosts {
            assert!(h.limit > 0);
            let _ = h.lock_name();
            let _ = h.protocol_version();
        }
        let total = list.total_limit();
        list.shuffle(7);
        assert_eq!(list.total_limit(), total);
    }
});
