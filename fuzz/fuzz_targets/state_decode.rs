//! State files written by other processes (C distcc or a corrupt file): decoding never panics,
//! and a decoded state re-encodes as distcc writes one: the file's basename and the host, each
//! cut to 127 bytes like strlcpy (which may split a character that the next decoding then
//! shows as U+FFFD), pid, slot and phase unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// What decoding the re-encoded field must give: `s` (after its last '/' for the file name)
/// cut to 127 bytes, read as UTF-8 with replacement.
fn strlcpy_view(s: &str, basename: bool) -> String {
    let b = s.as_bytes();
    let b = match b.iter().rposition(|&c| c == b'/') {
        Some(i) if basename => &b[i + 1..],
        _ => b,
    };
    String::from_utf8_lossy(&b[..b.len().min(127)]).into_owned()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = dcc_state::decode_state(data) {
        let bytes = dcc_state::encode_state(&s);
        let again = dcc_state::decode_state(&bytes).expect("re-decode");
        assert_eq!((again.pid, again.slot, again.phase), (s.pid, s.slot, s.phase));
        assert_eq!(again.file, strlcpy_view(&s.file, true));
        assert_eq!(again.host, strlcpy_view(&s.host, false));
        if s.host.len() <= 127 && !s.file.contains('/') && s.file.len() <= 127 {
            assert_eq!(again, s);
        }
    }
});
