//! Bytes on the wire, no crypto and no IO.
//!
//! ```text
//! client → daemon   PREAMBLE  FRAME(hello)  FRAME(transport)…
//! daemon → client   FRAME(welcome)  FRAME(transport)…
//! FRAME(m) = u16 big-endian length of m, then m (a Noise message, at most 65535 bytes)
//! ```
//!
//! The preamble is 8 ASCII bytes that no distcc request starts with (every distcc request
//! starts with `DIST`), so one port can serve plain and secure clients: [`sniff`] tells them
//! apart as soon as a byte differs from the preamble, usually the second one.

/// Version 1 of our transport: Noise_IK_25519_ChaChaPoly_BLAKE2s with this framing. It is
/// also the Noise prologue, so a client and a daemon that disagree on it cannot finish a
/// handshake.
pub const PREAMBLE: [u8; 8] = *b"DRSNOIS1";
/// The largest Noise message.
pub const MAX_MESSAGE: usize = 65535;
/// The Poly1305 tag on every encrypted payload.
pub const TAG_LEN: usize = 16;
/// The most plaintext one transport message carries.
pub const MAX_PAYLOAD: usize = MAX_MESSAGE - TAG_LEN;
/// IK message 1 with an empty payload: e (32), encrypted s (32 + 16), empty payload's tag.
pub const HELLO_LEN: usize = 32 + 48 + TAG_LEN;
/// IK message 2 with the one-byte verdict: e (32), encrypted verdict (1 + 16).
pub const WELCOME_LEN: usize = 32 + 1 + TAG_LEN;

/// What the first bytes of a connection say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// All of the preamble: the secure transport.
    Secure,
    /// A byte differs from the preamble: a plain distcc request (or garbage, which the distcc
    /// decoder refuses).
    Plain,
    /// A proper prefix of the preamble so far.
    NeedMore,
}

/// Classify the first bytes of a connection.
pub fn sniff(first: &[u8]) -> Sniff {
    let n = first.len().min(PREAMBLE.len());
    if first[..n] != PREAMBLE[..n] {
        Sniff::Plain
    } else if n == PREAMBLE.len() {
        Sniff::Secure
    } else {
        Sniff::NeedMore
    }
}

/// Append `msg` as one frame. `msg` is at most [`MAX_MESSAGE`] bytes (the Noise layer never
/// makes a longer one).
pub fn push(out: &mut Vec<u8>, msg: &[u8]) {
    debug_assert!(msg.len() <= MAX_MESSAGE);
    let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
}

/// If `buf` starts with a whole frame, the range of its message within `buf`.
pub fn complete(buf: &[u8]) -> Option<std::ops::Range<usize>> {
    let len = usize::from(u16::from_be_bytes([*buf.first()?, *buf.get(1)?]));
    (buf.len() >= 2 + len).then_some(2..2 + len)
}

/// How many more bytes `buf` needs before its first frame is whole (at least 1 when it is
/// not whole yet, 0 when it is).
pub fn missing(buf: &[u8]) -> usize {
    match buf {
        [a, b, rest @ ..] => {
            let len = usize::from(u16::from_be_bytes([*a, *b]));
            len.saturating_sub(rest.len())
        }
        _ => 2 - buf.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b""), Sniff::NeedMore);
        assert_eq!(sniff(b"D"), Sniff::NeedMore);
        assert_eq!(sniff(b"DI"), Sniff::Plain);
        assert_eq!(sniff(b"DIST00000001"), Sniff::Plain);
        assert_eq!(sniff(b"DRSNOIS"), Sniff::NeedMore);
        assert_eq!(sniff(b"DRSNOIS1"), Sniff::Secure);
        assert_eq!(sniff(b"DRSNOIS1\x00\x60"), Sniff::Secure);
        assert_eq!(
            sniff(b"DRSNOIS2"),
            Sniff::Plain,
            "another version is not ours"
        );
        assert_eq!(sniff(b"GET / HTTP/1.0"), Sniff::Plain);
    }

    #[test]
    fn frames() {
        let mut out = Vec::new();
        push(&mut out, b"hello");
        push(&mut out, b"");
        assert_eq!(&out[..7], b"\x00\x05hello");
        assert_eq!(complete(&out), Some(2..7));
        assert_eq!(complete(&out[..6]), None);
        assert_eq!(missing(&out[..6]), 1);
        assert_eq!(missing(&out[..1]), 1);
        assert_eq!(missing(&[]), 2);
        assert_eq!(missing(&out), 0);
        assert_eq!(complete(&out[7..]), Some(2..2));
        assert_eq!(complete(&[]), None);
    }

    proptest::proptest! {
        #[test]
        fn frame_round_trip(msgs in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 0..5)) {
            let mut out = Vec::new();
            for m in &msgs {
                push(&mut out, m);
            }
            let mut rest = &out[..];
            for m in &msgs {
                proptest::prop_assert_eq!(missing(rest), 0);
                let r = complete(rest).unwrap();
                proptest::prop_assert_eq!(&rest[r.clone()], &m[..]);
                rest = &rest[r.end..];
            }
            proptest::prop_assert!(rest.is_empty());
        }

        #[test]
        fn complete_never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..10)) {
            if let Some(r) = complete(&buf) {
                proptest::prop_assert!(r.end <= buf.len());
            }
            let _ = missing(&buf);
        }
    }
}
