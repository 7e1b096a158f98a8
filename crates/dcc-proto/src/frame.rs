//! The piece both decoders share: take the next packet from a buffer, checking its token
//! against what may come next and its length against the limits before waiting for the body.

use bytes::{Buf, Bytes, BytesMut};

use crate::token::{HEADER_LEN, parse_header};
use crate::{Limits, ProtoError, Token};

/// One packet: a value token or a token with its body.
#[derive(Debug)]
pub(crate) enum Packet {
    Value(Token, u32),
    Body(Token, Bytes),
}

/// Whether `token` carries a body, and whether that body is a string (vs bulk data).
fn body_kind(token: Token) -> Option<BodyKind> {
    Some(match token {
        Token::ARGV | Token::CDIR | Token::NAME | Token::LINK => BodyKind::String,
        Token::DOTI | Token::FILE | Token::SERR | Token::SOUT | Token::DOTO | Token::DOTD => {
            BodyKind::Bulk
        }
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum BodyKind {
    String,
    Bulk,
}

/// Take the next packet if it is complete. `allowed` lists the tokens that may come next;
/// `expected` names them for the error (distcc: `expected token "DIST"`). On `Ok(None)`,
/// `*want` is the total number of bytes the buffer must hold for the packet to complete.
pub(crate) fn next_packet(
    buf: &mut BytesMut,
    limits: &Limits,
    expected: &'static str,
    allowed: &[Token],
    want: &mut usize,
) -> Result<Option<Packet>, ProtoError> {
    if buf.len() < HEADER_LEN {
        *want = HEADER_LEN;
        return Ok(None);
    }
    let token = crate::Token([buf[0], buf[1], buf[2], buf[3]]);
    if !allowed.contains(&token) {
        let n = buf.len().min(200);
        return Err(ProtoError::UnexpectedToken {
            expected,
            got: token,
            context: String::from_utf8_lossy(&buf[..n]).into_owned(),
        });
    }
    let (token, value) = parse_header(&buf[..HEADER_LEN])?;
    let Some(kind) = body_kind(token) else {
        buf.advance(HEADER_LEN);
        *want = HEADER_LEN;
        return Ok(Some(Packet::Value(token, value)));
    };
    let limit = match kind {
        BodyKind::String => limits.max_string,
        BodyKind::Bulk => limits.max_body,
    };
    if value > limit {
        return Err(ProtoError::TooLong {
            token,
            len: u64::from(value),
            limit: u64::from(limit),
        });
    }
    let total = HEADER_LEN + value as usize;
    if buf.len() < total {
        *want = total;
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    let body = buf.split_to(value as usize).freeze();
    *want = HEADER_LEN;
    Ok(Some(Packet::Body(token, body)))
}

/// A string body as UTF-8 without NULs (distcc sends C strings, so a NUL cannot be meant).
pub(crate) fn string_body(token: Token, body: &[u8]) -> Result<String, ProtoError> {
    if body.contains(&0) {
        return Err(ProtoError::Nul { token });
    }
    String::from_utf8(body.to_vec()).map_err(|_| ProtoError::NotUtf8 { token })
}
