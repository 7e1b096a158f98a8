//! Replies, server to client (distcc src/serve.c `dcc_run_job`, src/clirpc.c
//! `dcc_retrieve_results`; reference §1.5).
//!
//! ```text
//! DONE v  STAT waitstatus  SERR body  SOUT body  DOTO body  [DOTD body]
//! ```
//! `DOTO` is empty when the compile failed. `DOTD` comes only in pump mode and only when
//! `STAT` is 0. Bodies are compressed per the protocol.

use bytes::BytesMut;

use crate::compress::{compress_into, decompress};
use crate::frame::{Packet, next_packet};
use crate::token::{encode_body, encode_header};
use crate::{Limits, ProtoError, Protocol, Token};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Done,
    Stat,
    Serr,
    Sout,
    Doto,
    Dotd,
    Finished,
}

/// A reply decoder: a state machine over bytes (no IO).
#[derive(Debug)]
pub struct ReplyDecoder {
    limits: Limits,
    protocol: Protocol,
    state: State,
    want: usize,
    reply: Reply,
    total: u64,
}

impl ReplyDecoder {
    /// A decoder for the reply to a request made with `protocol`.
    pub fn new(protocol: Protocol, limits: Limits) -> Self {
        ReplyDecoder {
            limits,
            protocol,
            state: State::Done,
            want: crate::token::HEADER_LEN,
            reply: Reply::default(),
            total: 0,
        }
    }

    /// Bytes the buffer must hold before the next call can make progress.
    pub fn want(&self) -> usize {
        self.want
    }

    /// The token the decoder waits for.
    pub fn expecting(&self) -> &'static str {
        match self.state {
            State::Done => "DONE",
            State::Stat => "STAT",
            State::Serr => "SERR",
            State::Sout => "SOUT",
            State::Doto => "DOTO",
            State::Dotd => "DOTD",
            State::Finished => "end of reply",
        }
    }

    /// The error for a stream that ends now.
    pub fn truncated(&self) -> ProtoError {
        ProtoError::Truncated {
            expected: self.expecting(),
        }
    }

    /// Whether the status has been read (so a caller can report it even if the rest fails).
    pub fn status(&self) -> Option<u32> {
        (!matches!(self.state, State::Done | State::Stat)).then_some(self.reply.status)
    }

    fn body(&mut self, token: Token, raw: &[u8]) -> Result<Vec<u8>, ProtoError> {
        let data = decompress(
            self.protocol.compression,
            token,
            raw,
            self.limits.max_decompressed,
        )?;
        self.total += data.len() as u64;
        if self.total > self.limits.max_total {
            return Err(ProtoError::TooLong {
                token,
                len: self.total,
                limit: self.limits.max_total,
            });
        }
        Ok(data)
    }

    /// Decode from `buf`; returns the whole reply once it is complete.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ProtoError> {
        loop {
            let (expected, allowed): (&'static str, &[Token]) = match self.state {
                State::Done => ("DONE", &[Token::DONE]),
                State::Stat => ("STAT", &[Token::STAT]),
                State::Serr => ("SERR", &[Token::SERR]),
                State::Sout => ("SOUT", &[Token::SOUT]),
                State::Doto => ("DOTO", &[Token::DOTO]),
                State::Dotd => ("DOTD", &[Token::DOTD]),
                State::Finished => return Ok(None),
            };
            let Some(packet) = next_packet(buf, &self.limits, expected, allowed, &mut self.want)?
            else {
                return Ok(None);
            };
            match (self.state, packet) {
                (State::Done, Packet::Value(_, v)) => {
                    if v != self.protocol.wire {
                        return Err(ProtoError::VersionMismatch {
                            expected: self.protocol.wire,
                            got: v,
                        });
                    }
                    self.state = State::Stat;
                }
                (State::Stat, Packet::Value(_, v)) => {
                    self.reply.status = v;
                    self.state = State::Serr;
                }
                (State::Serr, Packet::Body(t, b)) => {
                    self.reply.stderr = self.body(t, &b)?;
                    self.state = State::Sout;
                }
                (State::Sout, Packet::Body(t, b)) => {
                    self.reply.stdout = self.body(t, &b)?;
                    self.state = State::Doto;
                }
                (State::Doto, Packet::Body(t, b)) => {
                    self.reply.object = self.body(t, &b)?;
                    if self.protocol.pump && self.reply.status == 0 {
                        self.state = State::Dotd;
                    } else {
                        return Ok(Some(self.finish()));
                    }
                }
                (State::Dotd, Packet::Body(t, b)) => {
                    self.reply.dotd = Some(self.body(t, &b)?);
                    return Ok(Some(self.finish()));
                }
                // next_packet only returns the allowed token, whose kind is fixed.
                (_, Packet::Value(t, _) | Packet::Body(t, _)) => {
                    return Err(ProtoError::UnexpectedToken {
                        expected,
                        got: t,
                        context: String::new(),
                    });
                }
            }
        }
    }

    fn finish(&mut self) -> Reply {
        self.state = State::Finished;
        self.want = 0;
        std::mem::take(&mut self.reply)
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
