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
    let (token, value, kind) = checked_header(buf, limits)?;
    let Some(_) = kind else {
        buf.advance(HEADER_LEN);
        *want = HEADER_LEN;
        return Ok(Some(Packet::Value(token, value)));
    };
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

/// Parse the header at the start of `buf` (at least [`HEADER_LEN`] bytes, token already
/// allowed) and check a body's length against its limit.
fn checked_header(
    buf: &[u8],
    limits: &Limits,
) -> Result<(Token, u32, Option<BodyKind>), ProtoError> {
    let (token, value) = parse_header(&buf[..HEADER_LEN])?;
    let kind = body_kind(token);
    let limit = match kind {
        None => return Ok((token, value, None)),
        Some(BodyKind::String) => limits.max_string,
        Some(BodyKind::Bulk) => limits.max_body,
    };
    if value > limit {
        return Err(ProtoError::TooLong {
            token,
            len: u64::from(value),
            limit: u64::from(limit),
        });
    }
    Ok((token, value, kind))
}

/// Take only the header of the next packet, which must be a bulk body (`DOTI`, `FILE`, ...):
/// its token and body length, checked like [`next_packet`]; the body stays in the stream
/// for the caller to take piece by piece. A string body is returned whole as with
/// [`next_packet`] (`Err` is never "need more" for it: `Ok(None)` is).
pub(crate) fn next_packet_or_bulk_header(
    buf: &mut BytesMut,
    limits: &Limits,
    expected: &'static str,
    allowed: &[Token],
    want: &mut usize,
) -> Result<Option<PacketStart>, ProtoError> {
    if buf.len() < HEADER_LEN {
        *want = HEADER_LEN;
        return Ok(None);
    }
    if allowed.contains(&crate::Token([buf[0], buf[1], buf[2], buf[3]])) {
        let (_, value, kind) = checked_header(buf, limits)?;
        if let Some(BodyKind::Bulk) = kind {
            buf.advance(HEADER_LEN);
            *want = 1;
            return Ok(Some(PacketStart::Bulk(value)));
        }
    }
    Ok(next_packet(buf, limits, expected, allowed, want)?.map(PacketStart::Whole))
}

/// What [`next_packet_or_bulk_header`] found.
#[derive(Debug)]
pub(crate) enum PacketStart {
    /// A value, or a string body, whole.
    Whole(Packet),
    /// A bulk body's length; the body follows in the stream.
    Bulk(u32),
}

/// A string body as UTF-8 without NULs (distcc sends C strings, so a NUL cannot be meant).
pub(crate) fn string_body(token: Token, body: &[u8]) -> Result<String, ProtoError> {
    if body.contains(&0) {
        return Err(ProtoError::Nul { token });
    }
    String::from_utf8(body.to_vec()).map_err(|_| ProtoError::NotUtf8 { token })
}
