//! Replies, server to client (distcc src/serve.c `dcc_run_job`, src/clirpc.c
//! `dcc_retrieve_results`; reference §1.5).
//!
//! ```text
//! DONE v  STAT waitstatus  SERR body  SOUT body  DOTO body  [DOTD body]
//! ```
//! `DOTO` is empty when the compile failed. `DOTD` comes only in pump mode and only when
//! `STAT` is 0. Bodies are compressed per the protocol.
//!
//! Two decoders share one state machine:
//! - [`ReplyStream`] streams: it hands out each body in decompressed chunks as they arrive,
//!   so its caller can write a large object to a file instead of holding it. A plain
//!   (protocol 1) body is handed out as slices of the receive buffer, never copied; a zstd body
//!   is decompressed a chunk at a time; an LZO body is one raw block (distcc's format), so it is
//!   decoded once whole. Every body's decompression stops at the lower of the per-body limit
//!   and what is left of the message's budget, the moment it would pass it, so a small reply
//!   that expands to gigabytes costs at most the limit.
//! - [`ReplyDecoder`] collects a whole [`Reply`] (probes, tests, fuzzing).

use bytes::{Buf, Bytes, BytesMut};
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use crate::compress::compress_into;
use crate::token::{HEADER_LEN, encode_body, encode_header, parse_header};
use crate::{Compression, Limits, ProtoError, Protocol, Token};

/// A whole reply with decompressed bodies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Raw Unix wait status of the compiler: `exit_code << 8 | signal`.
    pub status: u32,
    pub stderr: Vec<u8>,
    pub stdout: Vec<u8>,
    pub object: Vec<u8>,
    /// The cleaned dependency file (pump mode, success only).
    pub dotd: Option<Vec<u8>>,
}

/// Build a wait status from an exit code, as `W_EXITCODE(code, 0)`.
pub fn wait_status_exit(code: u8) -> u32 {
    u32::from(code) << 8
}

impl Reply {
    /// Append the reply. `protocol` is the request's: `DONE` echoes its exact wire value.
    pub fn encode(&self, protocol: Protocol, out: &mut Vec<u8>) -> Result<(), ProtoError> {
        let c = protocol.compression;
        let mut body = Vec::new();
        encode_header(out, Token::DONE, protocol.wire);
        encode_header(out, Token::STAT, self.status);
        for (token, data) in [
            (Token::SERR, &self.stderr),
            (Token::SOUT, &self.stdout),
            (Token::DOTO, &self.object),
        ] {
            body.clear();
            compress_into(c, data, &mut body)?;
            encode_body(out, token, &body)?;
        }
        if protocol.pump && self.status == 0 {
            body.clear();
            compress_into(c, self.dotd.as_deref().unwrap_or_default(), &mut body)?;
            encode_body(out, Token::DOTD, &body)?;
        }
        Ok(())
    }

    /// Whether the compiler exited 0.
    pub fn succeeded(&self) -> bool {
        self.status == 0
    }
}

/// Most bytes a zstd body yields per [`ReplyEvent::Data`], and the most plain bytes a caller
/// is asked to read at once: small enough to stay cheap, large enough for few system calls.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// The largest zstd window a reply may use: 2^23 = 8 MiB. Our daemon compresses at level 1
/// (a window of at most 2^19); without this a hostile frame could declare zstd's default
/// maximum of 128 MiB and make the decoder allocate it.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyEvent {
    /// `STAT`: the compiler's raw wait status.
    Status(u32),
    /// The next decompressed bytes of `token`'s body (a body may come in many chunks, or none
    /// when it is empty).
    Data(Token, Bytes),
    /// `token`'s body is complete.
    BodyEnd(Token),
    /// The reply is complete.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Done,
    Stat,
    Serr,
    Sout,
    Doto,
    Dotd,
    Finished,
    Ended,
}

impl State {
    fn token(self) -> Option<Token> {
        Some(match self {
            State::Done => Token::DONE,
            State::Stat => Token::STAT,
            State::Serr => Token::SERR,
            State::Sout => Token::SOUT,
            State::Doto => Token::DOTO,
            State::Dotd => Token::DOTD,
            State::Finished | State::Ended => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            State::Done => "DONE",
            State::Stat => "STAT",
            State::Serr => "SERR",
            State::Sout => "SOUT",
            State::Doto => "DOTO",
            State::Dotd => "DOTD",
            State::Finished | State::Ended => "end of reply",
        }
    }
}

/// The body being decoded.
#[derive(Debug)]
struct Body {
    token: Token,
    /// Wire bytes still to come.
    left: usize,
    /// Decompressed bytes so far, and the most this body may produce.
    produced: u64,
    limit: u64,
    /// zstd: whether the last frame seen is complete. LZO: whether the block was decoded.
    complete: bool,
}

/// A streaming reply decoder: a state machine over bytes (no IO).
pub struct ReplyStream {
    limits: Limits,
    protocol: Protocol,
    state: State,
    want: usize,
    status: Option<u32>,
    /// Decompressed bytes of every body so far.
    total: u64,
    body: Option<Body>,
    zstd: Option<zstd::stream::raw::Decoder<'static>>,
}

impl std::fmt::Debug for ReplyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyStream")
            .field("state", &self.state)
            .field("body", &self.body)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl ReplyStream {
    /// A decoder for the reply to a request made with `protocol`.
    pub fn new(protocol: Protocol, limits: Limits) -> Self {
        ReplyStream {
            limits,
            protocol,
            state: State::Done,
            want: HEADER_LEN,
            status: None,
            total: 0,
            body: None,
            zstd: None,
        }
    }

    /// How many bytes the buffer should hold for the next call to make progress (a hint for
    /// how much to read: a streamed body progresses with any byte).
    pub fn want(&self) -> usize {
        self.want
    }

    /// The token the decoder waits for (or is inside).
    pub fn expecting(&self) -> &'static str {
        self.state.name()
    }

    /// The error for a stream that ends now.
    pub fn truncated(&self) -> ProtoError {
        ProtoError::Truncated {
            expected: self.expecting(),
        }
    }

    /// The status, once it has been read.
    pub fn status(&self) -> Option<u32> {
        self.status
    }

    /// Decompressed bytes of all bodies so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The next event from `buf`, or `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<ReplyEvent>, ProtoError> {
        loop {
            if self.body.is_some() {
                return self.body_step(buf);
            }
            let Some(expected) = self.state.token() else {
                if self.state == State::Finished {
                    self.state = State::Ended;
                    self.want = 0;
                    return Ok(Some(ReplyEvent::End));
                }
                return Ok(None);
            };
            if buf.len() < HEADER_LEN {
                self.want = HEADER_LEN;
                return Ok(None);
            }
            if buf[..4] != expected.0 {
                let n = buf.len().min(200);
                return Err(ProtoError::UnexpectedToken {
                    expected: self.state.name(),
                    got: Token([buf[0], buf[1], buf[2], buf[3]]),
                    context: String::from_utf8_lossy(&buf[..n]).into_owned(),
                });
            }
            let (token, value) = parse_header(&buf[..HEADER_LEN])?;
            match self.state {
                State::Done => {
                    if value != self.protocol.wire {
                        return Err(ProtoError::VersionMismatch {
                            expected: self.protocol.wire,
                            got: value,
                        });
                    }
                    buf.advance(HEADER_LEN);
                    self.state = State::Stat;
                }
                State::Stat => {
                    buf.advance(HEADER_LEN);
                    self.status = Some(value);
                    self.state = State::Serr;
                    return Ok(Some(ReplyEvent::Status(value)));
                }
                _ => self.start_body(buf, token, value)?,
            }
        }
    }

    fn start_body(&mut self, buf: &mut BytesMut, token: Token, len: u32) -> Result<(), ProtoError> {
        let too_long = |len: u64, limit: u64| ProtoError::TooLong { token, len, limit };
        let per_body = u64::try_from(self.limits.max_decompressed).unwrap_or(u64::MAX);
        let limit = per_body.min(self.limits.max_total.saturating_sub(self.total));
        // A plain body is its own size: refuse it before reading a byte of it.
        if self.protocol.compression == Compression::None && u64::from(len) > limit {
            return Err(too_long(len.into(), limit));
        }
        if len > self.limits.max_body {
            return Err(too_long(len.into(), self.limits.max_body.into()));
        }
        buf.advance(HEADER_LEN);
        if let (Compression::Zstd, Some(z)) = (self.protocol.compression, self.zstd.as_mut()) {
            // A fresh frame for each body, whatever the last one left behind.
            z.reinit().map_err(|e| zstd_err(token, &e))?;
        }
        self.body = Some(Body {
            token,
            left: len as usize,
            produced: 0,
            limit,
            // "Send 0 as 0": an empty body is empty in every protocol.
            complete: len == 0,
        });
        Ok(())
    }

    /// Count `n` more decompressed bytes of the current body against its limit.
    fn account(&mut self, n: usize) -> Result<(), ProtoError> {
        let Some(b) = self.body.as_mut() else {
            return Ok(());
        };
        b.produced += n as u64;
        self.total += n as u64;
        if b.produced > b.limit {
            return Err(ProtoError::TooLong {
                token: b.token,
                len: b.produced,
                limit: b.limit,
            });
        }
        Ok(())
    }

    fn end_body(&mut self, token: Token) -> Option<ReplyEvent> {
        self.body = None;
        self.want = HEADER_LEN;
        self.state = match self.state {
            State::Serr => State::Sout,
            State::Sout => State::Doto,
            State::Doto if self.protocol.pump && self.status == Some(0) => State::Dotd,
            _ => State::Finished,
        };
        Some(ReplyEvent::BodyEnd(token))
    }

    fn body_step(&mut self, buf: &mut BytesMut) -> Result<Option<ReplyEvent>, ProtoError> {
        let Some(b) = self.body.as_ref() else {
            return Ok(None);
        };
        let (token, left, complete) = (b.token, b.left, b.complete);
        if left == 0 && (complete || self.protocol.compression == Compression::None) {
            return Ok(self.end_body(token));
        }
        match self.protocol.compression {
            Compression::None => {
                if buf.is_empty() {
                    self.want = left.min(STREAM_CHUNK);
                    return Ok(None);
                }
                let n = left.min(buf.len());
                // Split off, not copied: the chunk shares the receive buffer.
                let chunk = buf.split_to(n).freeze();
                self.set_left(left - n);
                self.account(n)?;
                Ok(Some(ReplyEvent::Data(token, chunk)))
            }
            Compression::Lzo => {
                if buf.len() < left {
                    self.want = left;
                    return Ok(None);
                }
                let raw = buf.split_to(left);
                let limit = self.body.as_ref().map_or(0, |b| b.limit);
                let cap = usize::try_from(limit).unwrap_or(usize::MAX);
                let data = crate::lzo::decompress(&raw, cap).map_err(|source| match source {
                    crate::lzo::LzoError::OutputLimit { .. } => ProtoError::TooLong {
                        token,
                        len: limit.saturating_add(1),
                        limit,
                    },
                    source => ProtoError::Lzo { token, source },
                })?;
                drop(raw);
                self.set_left(0);
                if let Some(b) = self.body.as_mut() {
                    b.complete = true;
                }
                self.account(data.len())?;
                if data.is_empty() {
                    return Ok(self.end_body(token));
                }
                Ok(Some(ReplyEvent::Data(token, Bytes::from(data))))
            }
            Compression::Zstd => self.zstd_step(buf, token, left),
        }
    }

    fn set_left(&mut self, left: usize) {
        if let Some(b) = self.body.as_mut() {
            b.left = left;
        }
    }

    fn zstd_step(
        &mut self,
        buf: &mut BytesMut,
        token: Token,
        mut left: usize,
    ) -> Result<Option<ReplyEvent>, ProtoError> {
        if self.zstd.is_none() {
            let mut z = zstd::stream::raw::Decoder::new().map_err(|e| zstd_err(token, &e))?;
            z.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(
                ZSTD_WINDOW_LOG_MAX,
            ))
            .map_err(|e| zstd_err(token, &e))?;
            self.zstd = Some(z);
        }
        let (produced, limit) = self.body.as_ref().map_or((0, 0), |b| (b.produced, b.limit));
        // Never produce more than one byte past the limit: enough to tell that it was passed.
        let room = usize::try_from(limit - produced.min(limit))
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        // A frame that states its size (ours do) gets just that much room for its first
        // chunk: a small body costs one small allocation, not a whole chunk's.
        let stated = (produced == 0)
            .then(|| zstd::zstd_safe::get_frame_content_size(&buf[..left.min(buf.len())]))
            .and_then(|r| r.ok().flatten())
            .map_or(usize::MAX, |n| {
                usize::try_from(n.saturating_add(1)).unwrap_or(usize::MAX)
            });
        let mut out = Vec::with_capacity(room.min(STREAM_CHUNK).min(stated));
        loop {
            let input_len = left.min(buf.len());
            if input_len == 0 && left > 0 {
                self.want = left.min(STREAM_CHUNK);
                return Ok(None);
            }
            let Some(z) = self.zstd.as_mut() else {
                return Ok(None);
            };
            let mut input = InBuffer::around(&buf[..input_len]);
            let mut output = OutBuffer::around(&mut out);
            let hint = z
                .run(&mut input, &mut output)
                .map_err(|e| zstd_err(token, &e))?;
            let (consumed, made) = (input.pos(), output.pos());
            buf.advance(consumed);
            left -= consumed;
            if let Some(b) = self.body.as_mut() {
                b.left = left;
                // 0: a frame ended and everything it held has been handed out.
                b.complete = hint == 0;
            }
            self.account(made)?;
            if made > 0 {
                return Ok(Some(ReplyEvent::Data(token, Bytes::from(out))));
            }
            if left == 0 {
                if hint == 0 {
                    return Ok(self.end_body(token));
                }
                return Err(ProtoError::Zstd {
                    token,
                    message: "the body ends inside a zstd frame".into(),
                });
            }
            if consumed == 0 {
                // Input was offered, the output had room, and nothing happened: wait for
                // more rather than spin.
                self.want = buf.len() + 1;
                return Ok(None);
            }
            // Frame headers consumed without output yet: go round with the rest.
        }
    }
}

fn zstd_err(token: Token, e: &std::io::Error) -> ProtoError {
    ProtoError::Zstd {
        token,
        message: e.to_string(),
    }
}

/// A whole-reply decoder (over [`ReplyStream`]): collects every body in memory.
#[derive(Debug)]
pub struct ReplyDecoder {
    stream: ReplyStream,
    reply: Reply,
}

impl ReplyDecoder {
    /// A decoder for the reply to a request made with `protocol`.
    pub fn new(protocol: Protocol, limits: Limits) -> Self {
        ReplyDecoder {
            stream: ReplyStream::new(protocol, limits),
            reply: Reply::default(),
        }
    }

    /// Bytes the buffer should hold before the next call can make progress.
    pub fn want(&self) -> usize {
        self.stream.want()
    }

    /// The token the decoder waits for.
    pub fn expecting(&self) -> &'static str {
        self.stream.expecting()
    }

    /// The error for a stream that ends now.
    pub fn truncated(&self) -> ProtoError {
        self.stream.truncated()
    }

    /// Whether the status has been read (so a caller can report it even if the rest fails).
    pub fn status(&self) -> Option<u32> {
        self.stream.status()
    }

    /// Decode from `buf`; returns the whole reply once it is complete.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ProtoError> {
        while let Some(event) = self.stream.decode(buf)? {
            match event {
                ReplyEvent::Status(s) => self.reply.status = s,
                ReplyEvent::Data(token, data) => {
                    let body = match token {
                        Token::SERR => &mut self.reply.stderr,
                        Token::SOUT => &mut self.reply.stdout,
                        Token::DOTO => &mut self.reply.object,
                        _ => self.reply.dotd.get_or_insert_with(Vec::new),
                    };
                    body.extend_from_slice(&data);
                }
                ReplyEvent::BodyEnd(Token::DOTD) => {
                    self.reply.dotd.get_or_insert_with(Vec::new);
                }
                ReplyEvent::BodyEnd(_) => {}
                ReplyEvent::End => return Ok(Some(std::mem::take(&mut self.reply))),
            }
        }
        Ok(None)
    }
}

impl Reply {
    /// Decode a whole reply from a complete buffer (tests, fuzzing).
    pub fn decode_all(
        bytes: &[u8],
        protocol: Protocol,
        limits: Limits,
    ) -> Result<Reply, ProtoError> {
        let mut buf = BytesMut::from(bytes);
        let mut dec = ReplyDecoder::new(protocol, limits);
        let reply = dec.decode(&mut buf)?.ok_or_else(|| dec.truncated())?;
        if !buf.is_empty() {
            return Err(ProtoError::TrailingData);
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::compress;

    fn limits(per_body: usize, total: u64) -> Limits {
        Limits {
            max_body: 1 << 30,
            max_decompressed: per_body,
            max_total: total,
            ..Limits::default()
        }
    }

    /// Feed `bytes` in pieces of `step`, collecting events.
    fn stream(
        bytes: &[u8],
        protocol: Protocol,
        limits: Limits,
        step: usize,
    ) -> Result<Vec<ReplyEvent>, ProtoError> {
        let mut dec = ReplyStream::new(protocol, limits);
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for piece in bytes.chunks(step) {
            buf.extend_from_slice(piece);
            while let Some(e) = dec.decode(&mut buf)? {
                events.push(e);
            }
        }
        Ok(events)
    }

    fn body_of(events: &[ReplyEvent], token: Token) -> Vec<u8> {
        let mut v = Vec::new();
        for e in events {
            if let ReplyEvent::Data(t, d) = e
                && *t == token
            {
                v.extend_from_slice(d);
            }
        }
        v
    }

    fn sample() -> Reply {
        Reply {
            status: 0,
            stderr: b"x.c:1: warning: \x1b[01mcolour\x1b[m\n".to_vec(),
            stdout: Vec::new(),
            object: (0..200_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
            dotd: None,
        }
    }

    #[test]
    fn streamed_bodies_match_the_whole_reply_in_every_protocol() {
        let r = sample();
        for p in [Protocol::V1, Protocol::V2, Protocol::ZSTD] {
            let mut out = Vec::new();
            r.encode(p, &mut out).unwrap();
            for step in [1, 7, 4096, out.len()] {
                if step == 1 && p != Protocol::V1 {
                    continue; // byte-at-a-time on 800 KB of LZO is just slow
                }
                let ev = stream(&out, p, Limits::default(), step).unwrap();
                assert_eq!(ev[0], ReplyEvent::Status(0));
                assert_eq!(ev.last(), Some(&ReplyEvent::End), "{p:?} step {step}");
                assert_eq!(body_of(&ev, Token::SERR), r.stderr);
                assert_eq!(body_of(&ev, Token::DOTO), r.object, "{p:?} step {step}");
                let ends = ev
                    .iter()
                    .filter(|e| matches!(e, ReplyEvent::BodyEnd(_)))
                    .count();
                assert_eq!(ends, 3);
            }
            assert_eq!(Reply::decode_all(&out, p, Limits::default()).unwrap(), r);
        }
    }

    #[test]
    fn plain_chunks_share_the_receive_buffer() {
        let r = sample();
        let mut out = Vec::new();
        r.encode(Protocol::V1, &mut out).unwrap();
        let mut buf = BytesMut::from(&out[..]);
        let base = buf.as_ptr() as usize;
        let mut dec = ReplyStream::new(Protocol::V1, Limits::default());
        while let Some(e) = dec.decode(&mut buf).unwrap() {
            if let ReplyEvent::Data(Token::DOTO, d) = e {
                let at = d.as_ptr() as usize;
                assert!(at >= base && at < base + out.len(), "a slice, not a copy");
                assert_eq!(d.len(), r.object.len());
            }
        }
    }

    /// `DONE STAT` then three bodies of `bodies` already compressed for `p`.
    fn raw_reply(p: Protocol, status: u32, bodies: [&[u8]; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_header(&mut out, Token::DONE, p.wire);
        encode_header(&mut out, Token::STAT, status);
        for (t, b) in [Token::SERR, Token::SOUT, Token::DOTO]
            .into_iter()
            .zip(bodies)
        {
            encode_body(&mut out, t, b).unwrap();
        }
        out
    }

    #[test]
    fn a_zstd_bomb_stops_one_byte_past_the_limit() {
        let zeros = compress(Compression::Zstd, &vec![0u8; 16 << 20]).unwrap();
        let bytes = raw_reply(Protocol::ZSTD, 0, [&zeros, &zeros, &zeros]);
        let mut dec = ReplyStream::new(Protocol::ZSTD, limits(1 << 20, 3 << 20));
        let mut buf = BytesMut::from(&bytes[..]);
        let e = loop {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("complete input"),
                Err(e) => break e,
            }
        };
        assert_eq!(
            e,
            ProtoError::TooLong {
                token: Token::SERR,
                len: (1 << 20) + 1,
                limit: 1 << 20
            }
        );
        assert_eq!(dec.total(), (1 << 20) + 1, "decoding stopped at once");
    }

    #[test]
    fn each_body_gets_only_what_is_left_of_the_message_budget() {
        let p = Protocol::ZSTD;
        let mb = compress(Compression::Zstd, &vec![7u8; 1 << 20]).unwrap();
        let bytes = raw_reply(p, 0, [&mb, &mb, &mb]);
        // Per body 2 MiB, whole message 2.5 MiB: the third body has half a MiB left.
        let e = Reply::decode_all(&bytes, p, limits(2 << 20, 5 << 19)).unwrap_err();
        assert_eq!(
            e,
            ProtoError::TooLong {
                token: Token::DOTO,
                len: (1 << 19) + 1,
                limit: 1 << 19
            }
        );
        assert!(Reply::decode_all(&bytes, p, limits(2 << 20, 3 << 20)).is_ok());
    }

    #[test]
    fn plain_and_lzo_bodies_over_the_limit_are_refused() {
        let big = vec![0u8; 3000];
        // Plain: at the header, before the body is read (none of it is here).
        let bytes = raw_reply(Protocol::V1, 0, [b"", b"", &big]);
        let cut = bytes.len() - big.len();
        let mut buf = BytesMut::from(&bytes[..cut]);
        let mut dec = ReplyStream::new(Protocol::V1, limits(2000, 10_000));
        let e = loop {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("refused at the header"),
                Err(e) => break e,
            }
        };
        assert!(matches!(
            e,
            ProtoError::TooLong {
                token: Token::DOTO,
                len: 3000,
                limit: 2000
            }
        ));
        let lzo = compress(Compression::Lzo, &big).unwrap();
        let bytes = raw_reply(Protocol::V2, 0, [b"", b"", &lzo]);
        let e = Reply::decode_all(&bytes, Protocol::V2, limits(2000, 10_000)).unwrap_err();
        assert!(
            matches!(
                e,
                ProtoError::TooLong {
                    token: Token::DOTO,
                    limit: 2000,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn zstd_frames_must_be_whole_and_use_a_small_window() {
        let z = compress(Compression::Zstd, &b"int x;\n".repeat(1000)).unwrap();
        let cut = raw_reply(Protocol::ZSTD, 0, [&z[..z.len() - 3], b"", b""]);
        let e = Reply::decode_all(&cut, Protocol::ZSTD, Limits::default()).unwrap_err();
        assert!(
            matches!(
                e,
                ProtoError::Zstd {
                    token: Token::SERR,
                    ..
                }
            ),
            "{e}"
        );
        // A frame declaring a 128 MiB window (descriptor exponent 17): one RLE block of 1 byte.
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3];
        frame.extend_from_slice(&[(1 << 3 | 1 << 1 | 1) as u8, 0, 0, b'x']);
        let big_window = raw_reply(Protocol::ZSTD, 0, [&frame, b"", b""]);
        let e = Reply::decode_all(&big_window, Protocol::ZSTD, Limits::default()).unwrap_err();
        assert!(
            matches!(
                e,
                ProtoError::Zstd {
                    token: Token::SERR,
                    ..
                }
            ),
            "{e}"
        );
        frame[5] = 10 << 3; // 1 MiB: fine
        let ok = raw_reply(Protocol::ZSTD, 0, [&frame, b"", b""]);
        let r = Reply::decode_all(&ok, Protocol::ZSTD, Limits::default()).unwrap();
        assert_eq!(r.stderr, b"x");
    }
}
