//! Packet framing (distcc src/rpc.c, doc/protocol-1.txt).
//!
//! Every packet starts with a 12-byte header: four ASCII token characters and eight hex digits
//! of a 32-bit value, most significant first. For value tokens (`DIST`, `ARGC`, `NFIL`, `DONE`,
//! `STAT`) the value is the payload; for string and bulk tokens it is the length of the body that
//! follows at once. Nothing separates packets.

use std::fmt;

use crate::ProtoError;

/// Length of a packet header.
pub const HEADER_LEN: usize = 12;

/// A four-character token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub [u8; 4]);

impl Token {
    pub const DIST: Token = Token(*b"DIST");
    pub const CDIR: Token = Token(*b"CDIR");
    pub const ARGC: Token = Token(*b"ARGC");
    pub const ARGV: Token = Token(*b"ARGV");
    pub const DOTI: Token = Token(*b"DOTI");
    pub const NFIL: Token = Token(*b"NFIL");
    pub const NAME: Token = Token(*b"NAME");
    pub const FILE: Token = Token(*b"FILE");
    pub const LINK: Token = Token(*b"LINK");
    pub const DONE: Token = Token(*b"DONE");
    pub const STAT: Token = Token(*b"STAT");
    pub const SERR: Token = Token(*b"SERR");
    pub const SOUT: Token = Token(*b"SOUT");
    pub const DOTO: Token = Token(*b"DOTO");
    pub const DOTD: Token = Token(*b"DOTD");

    /// The token as text (lossy for garbage bytes), for messages.
    pub fn as_str(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append a header. The value is written as eight lowercase hex digits, as `dcc_x_token_int`
/// does.
pub fn encode_header(out: &mut Vec<u8>, token: Token, value: u32) {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&token.0);
    for (i, b) in h[4..].iter_mut().enumerate() {
        *b = HEX[((value >> (28 - 4 * i)) & 0xf) as usize];
    }
    out.extend_from_slice(&h);
}

/// Append a string or bulk packet: header with the body's length, then the body.
pub fn encode_body(out: &mut Vec<u8>, token: Token, body: &[u8]) -> Result<(), ProtoError> {
    let len = u32::try_from(body.len()).map_err(|_| ProtoError::TooLong {
        token,
        len: body.len() as u64,
        limit: u32::MAX as u64,
    })?;
    encode_header(out, token, len);
    out.extend_from_slice(body);
    Ok(())
}

/// Parse the first [`HEADER_LEN`] bytes of `buf` into a token and its value.
///
/// distcc parses the value with `strtoul(.., 16)` and requires it to consume all eight
/// characters; we accept exactly eight `[0-9a-fA-F]` digits (distcc itself only ever writes
/// lowercase). The caller guarantees `buf.len() >= HEADER_LEN`.
pub fn parse_header(buf: &[u8]) -> Result<(Token, u32), ProtoError> {
    let token = Token([buf[0], buf[1], buf[2], buf[3]]);
    let mut value: u32 = 0;
    for &c in &buf[4..HEADER_LEN] {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => {
                return Err(ProtoError::BadValue {
                    token,
                    text: String::from_utf8_lossy(&buf[4..HEADER_LEN]).into_owned(),
                });
            }
        };
        value = (value << 4) | u32::from(d);
    }
    Ok((token, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_lowercase_zero_padded() {
        let mut v = Vec::new();
        encode_header(&mut v, Token::DOTI, 0x460d);
        assert_eq!(&v, b"DOTI0000460d");
        v.clear();
        encode_header(&mut v, Token::STAT, u32::MAX);
        assert_eq!(&v, b"STATffffffff");
    }

    #[test]
    fn parse_accepts_upper_and_rejects_garbage() {
        assert_eq!(parse_header(b"DIST00000001").unwrap(), (Token::DIST, 1));
        assert_eq!(parse_header(b"DOTO00000ABC").unwrap(), (Token::DOTO, 0xabc));
        assert!(matches!(
            parse_header(b"DIST0000000z"),
            Err(ProtoError::BadValue { .. })
        ));
        assert!(parse_header(b"DIST+0000001").is_err());
        assert!(parse_header(b"DIST 0000001").is_err());
    }
}
