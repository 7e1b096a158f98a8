//! Requests, client to server (distcc src/clirpc.c, src/srvrpc.c; reference §1.3, §1.4).
//!
//! ```text
//! DIST v  [CDIR cwd]  ARGC n  ARGV × n  then  DOTI body            (v1, v2)
//!                                        or  NFIL k  (NAME, FILE|LINK) × k   (v3)
//! ```
//! `CDIR` is present exactly in pump mode. `DOTI` and `FILE` bodies are compressed per the
//! protocol; `ARGV`, `CDIR`, `NAME` and `LINK` never are.
//!
//! [`RequestDecoder::new`] yields each body whole and decompressed (tests, fuzzing, callers
//! that hold whole requests anyway). A server uses [`RequestDecoder::streaming`]: bodies come
//! as [`RequestEvent::DotiStart`] / [`RequestEvent::FileStart`], then the wire bytes in
//! [`RequestEvent::Chunk`]s as they arrive, then [`RequestEvent::BodyEnd`], so nothing is
//! buffered whole on a peer's word; the caller decompresses with
//! [`crate::compress::BodyDecoder`] and enforces the decompressed limits.

use bytes::{Bytes, BytesMut};

use crate::compress::{BodyDecoder, compress_into, decompress};
use crate::frame::{Packet, PacketStart, next_packet, next_packet_or_bulk_header, string_body};
use crate::token::{encode_body, encode_header};
use crate::{Limits, ProtoError, Protocol, Token};

/// Everything before the body: the part a server vets before it reads any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    pub protocol: Protocol,
    /// The client's working directory (pump mode only).
    pub cdir: Option<String>,
    pub argv: Vec<String>,
}

/// One entry of a protocol-3 file list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEntry {
    /// A regular file at an absolute client path, with its (decompressed) contents.
    File { name: String, contents: Vec<u8> },
    /// A symbolic link at an absolute client path.
    Link { name: String, target: String },
}

impl FileEntry {
    pub fn name(&self) -> &str {
        match self {
            FileEntry::File { name, .. } | FileEntry::Link { name, .. } => name,
        }
    }
}

/// What the decoder yields, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestEvent {
    /// `DIST`, `CDIR` and all `ARGV`s have arrived.
    Header(RequestHeader),
    /// The preprocessed source (v1/v2), decompressed.
    Doti(Vec<u8>),
    /// `NFIL`: this many file entries follow (v3).
    FileCount(u32),
    /// One file entry (v3).
    File(FileEntry),
    /// The request is complete.
    End,
    /// Streaming decoders only: a `DOTI` body of `len` bytes on the wire follows in chunks.
    DotiStart { len: u32 },
    /// Streaming decoders only: a `FILE` body of `len` bytes on the wire follows in chunks.
    FileStart { name: String, len: u32 },
    /// Streaming decoders only: the next bytes of the body, as on the wire (compressed).
    Chunk(Bytes),
    /// Streaming decoders only: the body is complete.
    BodyEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Dist,
    Cdir,
    Argc,
    Argv,
    Body,
    Name,
    FileOrLink,
    /// Streaming: inside a bulk body; `body_left` bytes to go.
    BodyData,
    End,
    Finished,
}

/// A request decoder: a state machine over bytes (no IO). Feed it a buffer; it consumes whole
/// packets and yields [`RequestEvent`]s. `Ok(None)` means it needs more bytes: at least
/// [`RequestDecoder::want`] in the buffer.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    state: State,
    want: usize,
    protocol: Protocol,
    cdir: Option<String>,
    argc: u32,
    argv: Vec<String>,
    argv_bytes: u64,
    files_left: u32,
    pending_name: Option<String>,
    body_total: u64,
    streaming: bool,
    body_left: u32,
    /// Streaming: the body is a `DOTI` (else a `FILE`).
    body_is_doti: bool,
}

impl RequestDecoder {
    /// A decoder that yields bodies whole and decompressed.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            streaming: false,
            body_left: 0,
            body_is_doti: false,
            limits,
            state: State::Dist,
            want: crate::token::HEADER_LEN,
            protocol: Protocol::V1,
            cdir: None,
            argc: 0,
            argv: Vec::new(),
            argv_bytes: 0,
            files_left: 0,
            pending_name: None,
            body_total: 0,
        }
    }

    /// A decoder that yields bulk bodies as they arrive, compressed (see the module docs).
    /// `max_body` bounds a body's wire length; decompressed sizes are the caller's to check.
    pub fn streaming(limits: Limits) -> Self {
        RequestDecoder {
            streaming: true,
            ..RequestDecoder::new(limits)
        }
    }

    /// Bytes the buffer must hold before the next call can make progress.
    pub fn want(&self) -> usize {
        self.want
    }

    /// The token the decoder waits for, for "stream ended while waiting for X".
    pub fn expecting(&self) -> &'static str {
        match self.state {
            State::Dist => "DIST",
            State::Cdir => "CDIR",
            State::Argc => "ARGC",
            State::Argv => "ARGV",
            State::Body => {
                if self.protocol.pump {
                    "NFIL"
                } else {
                    "DOTI"
                }
            }
            State::Name => "NAME",
            State::FileOrLink => "FILE or LINK",
            State::BodyData => {
                if self.body_is_doti {
                    "DOTI"
                } else {
                    "FILE"
                }
            }
            State::End | State::Finished => "end of request",
        }
    }

    /// The error for a stream that ends now.
    pub fn truncated(&self) -> ProtoError {
        ProtoError::Truncated {
            expected: self.expecting(),
        }
    }

    /// Whether [`RequestEvent::End`] has been returned.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    fn take(
        &mut self,
        buf: &mut BytesMut,
        allowed: &[Token],
    ) -> Result<Option<Packet>, ProtoError> {
        let expected = self.expecting();
        next_packet(buf, &self.limits, expected, allowed, &mut self.want)
    }

    fn add_body(&mut self, token: Token, len: usize) -> Result<(), ProtoError> {
        self.body_total += len as u64;
        if self.body_total > self.limits.max_total {
            return Err(ProtoError::TooLong {
                token,
                len: self.body_total,
                limit: self.limits.max_total,
            });
        }
        Ok(())
    }

    /// One file entry is complete: the next `NAME`, or the end.
    fn next_file(&mut self) {
        self.files_left = self.files_left.saturating_sub(1);
        self.state = if self.files_left == 0 {
            State::End
        } else {
            State::Name
        };
    }

    /// Decode the next event from `buf`, consuming what it uses.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RequestEvent>, ProtoError> {
        loop {
            match self.state {
                State::Dist => {
                    let Some(Packet::Value(_, v)) = self.take(buf, &[Token::DIST])? else {
                        return Ok(None);
                    };
                    self.protocol = Protocol::from_wire(v)?;
                    self.state = if self.protocol.pump {
                        State::Cdir
                    } else {
                        State::Argc
                    };
                }
                State::Cdir => {
                    let Some(Packet::Body(t, b)) = self.take(buf, &[Token::CDIR])? else {
                        return Ok(None);
                    };
                    self.cdir = Some(string_body(t, &b)?);
                    self.state = State::Argc;
                }
                State::Argc => {
                    let Some(Packet::Value(t, n)) = self.take(buf, &[Token::ARGC])? else {
                        return Ok(None);
                    };
                    if n == 0 {
                        return Err(ProtoError::ZeroCount { token: t });
                    }
                    if n > self.limits.max_argc {
                        return Err(ProtoError::TooMany {
                            token: t,
                            count: n,
                            limit: self.limits.max_argc,
                        });
                    }
                    self.argc = n;
                    // Reserve by what has arrived, never by what a peer claims.
                    self.argv = Vec::with_capacity((n as usize).min(64));
                    self.state = State::Argv;
                }
                State::Argv => {
                    let Some(Packet::Body(t, b)) = self.take(buf, &[Token::ARGV])? else {
                        return Ok(None);
                    };
                    self.argv_bytes += b.len() as u64;
                    if self.argv_bytes > self.limits.max_argv_total {
                        return Err(ProtoError::TooLong {
                            token: t,
                            len: self.argv_bytes,
                            limit: self.limits.max_argv_total,
                        });
                    }
                    self.argv.push(string_body(t, &b)?);
                    if self.argv.len() as u32 == self.argc {
                        self.state = State::Body;
                        return Ok(Some(RequestEvent::Header(RequestHeader {
                            protocol: self.protocol,
                            cdir: self.cdir.take(),
                            argv: std::mem::take(&mut self.argv),
                        })));
                    }
                }
                State::Body if self.protocol.pump => {
                    let Some(Packet::Value(t, n)) = self.take(buf, &[Token::NFIL])? else {
                        return Ok(None);
                    };
                    if n > self.limits.max_files {
                        return Err(ProtoError::TooMany {
                            token: t,
                            count: n,
                            limit: self.limits.max_files,
                        });
                    }
                    self.files_left = n;
                    self.state = if n == 0 { State::End } else { State::Name };
                    return Ok(Some(RequestEvent::FileCount(n)));
                }
                State::Body if self.streaming => {
                    let expected = self.expecting();
                    let Some(PacketStart::Bulk(len)) = next_packet_or_bulk_header(
                        buf,
                        &self.limits,
                        expected,
                        &[Token::DOTI],
                        &mut self.want,
                    )?
                    else {
                        return Ok(None);
                    };
                    self.body_is_doti = true;
                    self.body_left = len;
                    self.state = State::BodyData;
                    return Ok(Some(RequestEvent::DotiStart { len }));
                }
                State::Body => {
                    let Some(Packet::Body(t, b)) = self.take(buf, &[Token::DOTI])? else {
                        return Ok(None);
                    };
                    let doti = decompress(
                        self.protocol.compression,
                        t,
                        &b,
                        self.limits.max_decompressed,
                    )?;
                    self.add_body(t, doti.len())?;
                    self.state = State::End;
                    return Ok(Some(RequestEvent::Doti(doti)));
                }
                State::Name => {
                    let Some(Packet::Body(t, b)) = self.take(buf, &[Token::NAME])? else {
                        return Ok(None);
                    };
                    self.pending_name = Some(string_body(t, &b)?);
                    self.state = State::FileOrLink;
                }
                State::FileOrLink if self.streaming => {
                    let expected = self.expecting();
                    let start = next_packet_or_bulk_header(
                        buf,
                        &self.limits,
                        expected,
                        &[Token::FILE, Token::LINK],
                        &mut self.want,
                    )?;
                    let name = match &start {
                        None => return Ok(None),
                        Some(_) => self.pending_name.take().unwrap_or_default(),
                    };
                    match start {
                        Some(PacketStart::Bulk(len)) => {
                            self.body_is_doti = false;
                            self.body_left = len;
                            self.state = State::BodyData;
                            return Ok(Some(RequestEvent::FileStart { name, len }));
                        }
                        Some(PacketStart::Whole(Packet::Body(t, b))) => {
                            let target = string_body(t, &b)?;
                            self.next_file();
                            return Ok(Some(RequestEvent::File(FileEntry::Link { name, target })));
                        }
                        _ => return Err(ProtoError::Truncated { expected }),
                    }
                }
                State::BodyData => {
                    if self.body_left == 0 {
                        if self.body_is_doti {
                            self.state = State::End;
                        } else {
                            self.next_file();
                        }
                        self.want = crate::token::HEADER_LEN;
                        return Ok(Some(RequestEvent::BodyEnd));
                    }
                    if buf.is_empty() {
                        self.want = 1;
                        return Ok(None);
                    }
                    let n = buf.len().min(self.body_left as usize);
                    self.body_left -= n as u32;
                    return Ok(Some(RequestEvent::Chunk(buf.split_to(n).freeze())));
                }
                State::FileOrLink => {
                    let Some(Packet::Body(t, b)) = self.take(buf, &[Token::FILE, Token::LINK])?
                    else {
                        return Ok(None);
                    };
                    let name = self.pending_name.take().unwrap_or_default();
                    let entry = if t == Token::FILE {
                        let contents = decompress(
                            self.protocol.compression,
                            t,
                            &b,
                            self.limits.max_decompressed,
                        )?;
                        self.add_body(t, contents.len())?;
                        FileEntry::File { name, contents }
                    } else {
                        FileEntry::Link {
                            name,
                            target: string_body(t, &b)?,
                        }
                    };
                    self.next_file();
                    return Ok(Some(RequestEvent::File(entry)));
                }
                State::End => {
                    self.state = State::Finished;
                    self.want = 0;
                    return Ok(Some(RequestEvent::End));
                }
                State::Finished => return Ok(None),
            }
        }
    }
}

/// Append `DIST`, `CDIR` (pump only) and `ARGC`/`ARGV`.
pub fn encode_request_header(
    out: &mut Vec<u8>,
    protocol: Protocol,
    cdir: Option<&str>,
    argv: &[String],
) -> Result<(), ProtoError> {
    encode_header(out, Token::DIST, protocol.wire);
    if protocol.pump {
        encode_body(out, Token::CDIR, cdir.unwrap_or("/").as_bytes())?;
    }
    let argc = u32::try_from(argv.len()).map_err(|_| ProtoError::TooMany {
        token: Token::ARGC,
        count: u32::MAX,
        limit: u32::MAX,
    })?;
    encode_header(out, Token::ARGC, argc);
    for a in argv {
        encode_body(out, Token::ARGV, a.as_bytes())?;
    }
    Ok(())
}

/// Append `DOTI` with `source` compressed per the protocol.
pub fn encode_doti(out: &mut Vec<u8>, protocol: Protocol, source: &[u8]) -> Result<(), ProtoError> {
    let mut body = Vec::new();
    compress_into(protocol.compression, source, &mut body)?;
    encode_body(out, Token::DOTI, &body)
}

/// Append `NFIL` and the entries (protocol 3).
pub fn encode_files(
    out: &mut Vec<u8>,
    protocol: Protocol,
    files: &[FileEntry],
) -> Result<(), ProtoError> {
    let n = u32::try_from(files.len()).map_err(|_| ProtoError::TooMany {
        token: Token::NFIL,
        count: u32::MAX,
        limit: u32::MAX,
    })?;
    encode_header(out, Token::NFIL, n);
    let mut body = Vec::new();
    for f in files {
        encode_body(out, Token::NAME, f.name().as_bytes())?;
        match f {
            FileEntry::File { contents, .. } => {
                body.clear();
                compress_into(protocol.compression, contents, &mut body)?;
                encode_body(out, Token::FILE, &body)?;
            }
            FileEntry::Link { target, .. } => encode_body(out, Token::LINK, target.as_bytes())?,
        }
    }
    Ok(())
}

/// A whole request, for tests and for callers that have everything at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub header: RequestHeader,
    pub body: RequestBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    Doti(Vec<u8>),
    Files(Vec<FileEntry>),
}

impl Request {
    /// Encode the whole request.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        let mut out = Vec::new();
        let h = &self.header;
        encode_request_header(&mut out, h.protocol, h.cdir.as_deref(), &h.argv)?;
        match &self.body {
            RequestBody::Doti(d) => encode_doti(&mut out, h.protocol, d)?,
            RequestBody::Files(f) => encode_files(&mut out, h.protocol, f)?,
        }
        Ok(out)
    }

    /// Decode a whole request from a complete buffer (tests, fuzzing).
    pub fn decode_all(bytes: &[u8], limits: Limits) -> Result<Request, ProtoError> {
        let mut buf = BytesMut::from(bytes);
        let mut dec = RequestDecoder::new(limits);
        let mut header = None;
        let mut body = None;
        let mut files = Vec::new();
        loop {
            match dec.decode(&mut buf)? {
                None => return Err(dec.truncated()),
                Some(RequestEvent::Header(h)) => header = Some(h),
                Some(RequestEvent::Doti(d)) => body = Some(RequestBody::Doti(d)),
                Some(RequestEvent::FileCount(_)) => {}
                Some(RequestEvent::File(f)) => files.push(f),
                Some(RequestEvent::End) => break,
                Some(
                    RequestEvent::DotiStart { .. }
                    | RequestEvent::FileStart { .. }
                    | RequestEvent::Chunk(_)
                    | RequestEvent::BodyEnd,
                ) => {}
            }
        }
        if !buf.is_empty() {
            return Err(ProtoError::TrailingData);
        }
        let header = header.ok_or(ProtoError::Truncated { expected: "ARGV" })?;
        let body = body.unwrap_or(RequestBody::Files(files));
        Ok(Request { header, body })
    }

    /// Decode a whole request with a [`RequestDecoder::streaming`] decoder, fed `step` bytes
    /// at a time, bodies decompressed by [`BodyDecoder`] in pieces of at most `step` bytes:
    /// the daemon's path, for tests and fuzzing. The same result as [`Request::decode_all`].
    pub fn decode_all_streaming(
        bytes: &[u8],
        limits: Limits,
        step: usize,
    ) -> Result<Request, ProtoError> {
        let step = step.max(1);
        let mut dec = RequestDecoder::streaming(limits);
        let mut buf = BytesMut::new();
        let mut rest = bytes;
        let mut header = None;
        let mut doti = None;
        let mut files = Vec::new();
        // The body being received: its decoder, output so far, and the FILE name.
        let mut body: Option<(BodyDecoder, Vec<u8>, Option<String>)> = None;
        let mut total = 0u64;
        loop {
            let ev = match dec.decode(&mut buf)? {
                Some(ev) => ev,
                None if rest.is_empty() => return Err(dec.truncated()),
                None => {
                    let n = rest.len().min(step);
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    continue;
                }
            };
            let compression = dec.protocol.compression;
            match ev {
                RequestEvent::Header(h) => header = Some(h),
                RequestEvent::DotiStart { .. } => {
                    let d = BodyDecoder::new(compression, Token::DOTI, limits.max_decompressed)?;
                    body = Some((d, Vec::new(), None));
                }
                RequestEvent::FileStart { name, .. } => {
                    let d = BodyDecoder::new(compression, Token::FILE, limits.max_decompressed)?;
                    body = Some((d, Vec::new(), Some(name)));
                }
                RequestEvent::Chunk(c) => {
                    let Some((d, out, _)) = body.as_mut() else {
                        return Err(ProtoError::TrailingData);
                    };
                    let mut input = &c[..];
                    loop {
                        let before = out.len();
                        d.decode_some(&mut input, out, step)?;
                        if input.is_empty() && out.len() - before < step {
                            break;
                        }
                    }
                }
                RequestEvent::BodyEnd => {
                    let Some((mut d, mut out, name)) = body.take() else {
                        return Err(ProtoError::TrailingData);
                    };
                    d.finish(&mut out)?;
                    total += out.len() as u64;
                    if total > limits.max_total {
                        return Err(ProtoError::TooLong {
                            token: Token::FILE,
                            len: total,
                            limit: limits.max_total,
                        });
                    }
                    match name {
                        Some(name) => files.push(FileEntry::File {
                            name,
                            contents: out,
                        }),
                        None => doti = Some(RequestBody::Doti(out)),
                    }
                }
                RequestEvent::File(f) => files.push(f),
                RequestEvent::FileCount(_) => {}
                RequestEvent::Doti(d) => doti = Some(RequestBody::Doti(d)),
                RequestEvent::End => break,
            }
        }
        if !buf.is_empty() || !rest.is_empty() {
            return Err(ProtoError::TrailingData);
        }
        let header = header.ok_or(ProtoError::Truncated { expected: "ARGV" })?;
        let body = doti.unwrap_or(RequestBody::Files(files));
        Ok(Request { header, body })
    }
}
