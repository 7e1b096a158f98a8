//! The secure transport over a blocking byte stream (std `Read + Write`): what the client
//! uses. [`SecureStream::connect`] runs the whole handshake; a caller that wants to do other
//! work while it waits for the welcome (the distcc client drains its preprocessor) drives
//! [`crate::Initiator`] itself and hands the session over with [`SecureStream::new`].
//!
//! Every `send` encrypts its data into framed messages and writes them with one `write_all`,
//! so a request header travels in one segment, as in plain mode. Timeouts are the stream's
//! own (a `TcpStream`'s `SO_RCVTIMEO`/`SO_SNDTIMEO`).

use std::io::{self, Read, Write};

use crate::SecureError;
use crate::frame::{self, MAX_MESSAGE};
use crate::handshake::{Initiator, Opener, Sealer, Session};
use crate::keys::{PrivateKey, PublicKey};

/// An encrypted, authenticated stream.
#[derive(Debug)]
pub struct SecureStream<S> {
    inner: S,
    sealer: Sealer,
    opener: Opener,
    /// Received bytes not yet decrypted (frames, maybe a partial one at the end).
    raw: Vec<u8>,
    /// Decrypted bytes not yet handed out, from `plain_pos`.
    plain: Vec<u8>,
    plain_pos: usize,
    out: Vec<u8>,
}

/// Read into `raw` until its first frame is whole. `Ok(false)`: end of stream before any byte
/// of a frame; an end of stream inside a frame is an error.
pub(crate) fn fill_frame<S: Read>(
    inner: &mut S,
    raw: &mut Vec<u8>,
    during: &'static str,
) -> Result<bool, SecureError> {
    loop {
        let missing = frame::missing(raw);
        if missing == 0 {
            return Ok(true);
        }
        let start = raw.len();
        raw.resize(start + missing.max(64 * 1024), 0);
        let n = loop {
            match inner.read(&mut raw[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    raw.truncate(start);
                    return Err(e.into());
                }
            }
        };
        raw.truncate(start + n);
        if n == 0 {
            return if raw.is_empty() {
                Ok(false)
            } else {
                Err(SecureError::Eof(during))
            };
        }
    }
}

impl<S: Read + Write> SecureStream<S> {
    /// Connect as a client: send the preamble and hello, read the welcome.
    pub fn connect(
        mut inner: S,
        local: &PrivateKey,
        server: &PublicKey,
    ) -> Result<SecureStream<S>, SecureError> {
        let (init, flight) = Initiator::start(local, server)?;
        inner.write_all(&flight)?;
        let mut raw = Vec::new();
        if !fill_frame(&mut inner, &mut raw, "handshake")? {
            return Err(SecureError::Eof("handshake"));
        }
        let r = frame::complete(&raw).ok_or(SecureError::Eof("handshake"))?;
        let session = init.finish(&raw[r.clone()])?;
        raw.drain(..r.end);
        Ok(SecureStream::new(inner, session, raw))
    }

    /// Wrap a stream whose handshake is done; `leftover` are bytes already read after the
    /// welcome.
    pub fn new(inner: S, session: Session, leftover: Vec<u8>) -> SecureStream<S> {
        let (sealer, opener) = session.split();
        SecureStream {
            inner,
            sealer,
            opener,
            raw: leftover,
            plain: Vec::new(),
            plain_pos: 0,
            out: Vec::new(),
        }
    }

    /// Encrypt and write all of `data`.
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.send2(data, &[])
    }

    /// Encrypt and write `a` then `b` in one write.
    pub fn send2(&mut self, a: &[u8], b: &[u8]) -> io::Result<()> {
        self.out.clear();
        self.sealer
            .seal_into(a, &mut self.out)
            .and_then(|()| self.sealer.seal_into(b, &mut self.out))
            .map_err(SecureError::into_io)?;
        let r = self.inner.write_all(&self.out);
        if self.out.capacity() > 4 * MAX_MESSAGE {
            self.out = Vec::new();
        }
        r
    }

    /// The next decrypted bytes; empty at the end of the stream.
    pub fn recv(&mut self) -> io::Result<&[u8]> {
        if self.plain_pos >= self.plain.len() {
            self.plain.clear();
            self.plain_pos = 0;
            // Decrypt every whole frame already received, reading more only if there is none.
            loop {
                match frame::complete(&self.raw) {
                    Some(r) => {
                        self.opener
                            .open_into(&self.raw[r.clone()], &mut self.plain)
                            .map_err(SecureError::into_io)?;
                        self.raw.drain(..r.end);
                    }
                    None if !self.plain.is_empty() => break,
                    None => {
                        if !fill_frame(&mut self.inner, &mut self.raw, "transport message")
                            .map_err(SecureError::into_io)?
                        {
                            return Ok(&[]);
                        }
                    }
                }
            }
        }
        Ok(&self.plain[self.plain_pos..])
    }

    /// Mark `n` bytes of what [`recv`](Self::recv) returned as used.
    pub fn consume(&mut self, n: usize) {
        self.plain_pos = (self.plain_pos + n).min(self.plain.len());
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: Read + Write> Read for SecureStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.recv()?;
        let n = got.len().min(buf.len());
        buf[..n].copy_from_slice(&got[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<S: Read + Write> Write for SecureStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
