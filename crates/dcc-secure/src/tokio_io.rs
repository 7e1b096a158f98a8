//! The secure transport over tokio's `AsyncRead`/`AsyncWrite` halves: what the daemon uses.
//!
//! 1. [`sniff`] reads the first bytes of a connection, no more than it needs to tell our
//!    preamble from a plain distcc request, and hands back what it read.
//! 2. [`accept`] reads the hello, asks the caller whether the client's key is authorized,
//!    answers, and waits for the client's first transport message (key confirmation): a
//!    replayed or forged session fails here, before anything is handed on.
//! 3. [`SecureReader`] and [`SecureWriter`] are separate halves (each with its own nonce), so
//!    code written for a plain socket's halves (the daemon's job) runs unchanged on them.
//!
//! The caller bounds each step with its own timeout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::SecureError;
use crate::frame::{self, PREAMBLE, Sniff};
use crate::handshake::{Opener, Responder, Sealer, Verdict};
use crate::keys::{PrivateKey, PublicKey};

/// Encrypted bytes buffered before a write waits for the socket.
const HIGH_WATER: usize = 256 * 1024;

/// What the first bytes of a connection were.
#[derive(Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// Our preamble (consumed).
    Secure,
    /// Something else: these bytes were read and belong to the plain request.
    Plain(Vec<u8>),
    /// The peer closed before it sent enough to tell (these bytes were read).
    Eof(Vec<u8>),
}

/// Read just enough of `input` to tell the secure preamble from anything else.
pub async fn sniff<R: AsyncRead + Unpin>(input: &mut R) -> io::Result<Sniffed> {
    let mut got = Vec::with_capacity(PREAMBLE.len());
    loop {
        match frame::sniff(&got) {
            Sniff::Secure => return Ok(Sniffed::Secure),
            Sniff::Plain => return Ok(Sniffed::Plain(got)),
            Sniff::NeedMore => {}
        }
        let mut b = [0u8; PREAMBLE.len()];
        // Never read past the preamble: the rest is the hello, or the plain request.
        let want = PREAMBLE.len() - got.len();
        let n = input.read(&mut b[..want]).await?;
        if n == 0 {
            return Ok(Sniffed::Eof(got));
        }
        got.extend_from_slice(&b[..n]);
    }
}

/// Why [`accept`] refused a connection.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The hello was malformed or did not decrypt (not our client, a tampered message, or a
    /// client that has a different key for this daemon).
    #[error("{0}")]
    Handshake(SecureError),
    /// The client's key is not authorized (it was told so).
    #[error("key {client} refused: {verdict:?}")]
    Refused { client: PublicKey, verdict: Verdict },
    /// The client's first transport message did not decrypt: a replayed or tampered session.
    #[error("key {client} did not confirm the session ({error}): replayed or tampered")]
    Unconfirmed {
        client: PublicKey,
        error: SecureError,
    },
}

/// A connection whose handshake finished.
#[derive(Debug)]
pub struct Accepted<R, W> {
    pub reader: SecureReader<R>,
    pub writer: SecureWriter<W>,
    pub client: PublicKey,
}

/// Read one whole frame from `input` into `raw` (which may already hold some bytes).
async fn read_frame<R: AsyncRead + Unpin>(
    input: &mut R,
    raw: &mut Vec<u8>,
    during: &'static str,
) -> Result<std::ops::Range<usize>, SecureError> {
    loop {
        if let Some(r) = frame::complete(raw) {
            return Ok(r);
        }
        let missing = frame::missing(raw);
        let start = raw.len();
        raw.resize(start + missing, 0);
        let n = input.read(&mut raw[start..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                raw.truncate(start);
                return Err(e.into());
            }
        };
        raw.truncate(start + n);
        if n == 0 {
            return Err(SecureError::Eof(during));
        }
    }
}

/// Run the daemon's side of the handshake on a connection whose preamble [`sniff`] consumed.
/// `authorize` sees the client's claimed key and decides; the client is told the verdict.
pub async fn accept<R, W>(
    mut input: R,
    mut output: W,
    local: &PrivateKey,
    authorize: impl FnOnce(&PublicKey) -> Verdict,
) -> Result<Accepted<R, W>, AcceptError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut raw = Vec::with_capacity(2 + frame::HELLO_LEN);
    let r = read_frame(&mut input, &mut raw, "handshake")
        .await
        .map_err(AcceptError::Handshake)?;
    let resp = Responder::read_hello(local, &raw[r]).map_err(AcceptError::Handshake)?;
    let client = resp.client();
    let verdict = authorize(&client);
    let (welcome, session) = resp.answer(verdict).map_err(AcceptError::Handshake)?;
    let sent = async {
        output.write_all(&welcome).await?;
        output.flush().await
    };
    sent.await
        .map_err(|e| AcceptError::Handshake(SecureError::Io(e)))?;
    let Some(session) = session else {
        let _ = output.shutdown().await;
        return Err(AcceptError::Refused { client, verdict });
    };
    let (sealer, mut opener) = session.split();
    // Key confirmation: the first transport message must decrypt under the fresh keys.
    raw.clear();
    let unconfirmed = |error| AcceptError::Unconfirmed { client, error };
    let r = read_frame(&mut input, &mut raw, "key confirmation")
        .await
        .map_err(unconfirmed)?;
    let mut plain = Vec::with_capacity(r.len());
    opener
        .open_into(&raw[r.clone()], &mut plain)
        .map_err(unconfirmed)?;
    raw.drain(..r.end);
    Ok(Accepted {
        reader: SecureReader {
            inner: input,
            opener,
            raw,
            raw_start: 0,
            plain,
            plain_pos: 0,
            eof: false,
        },
        writer: SecureWriter {
            inner: output,
            sealer,
            out: Vec::new(),
            written: 0,
        },
        client,
    })
}

/// The receiving half: decrypted bytes of the peer's transport messages.
#[derive(Debug)]
pub struct SecureReader<R> {
    inner: R,
    opener: Opener,
    /// Received bytes from `raw_start` on are not yet decrypted.
    raw: Vec<u8>,
    raw_start: usize,
    plain: Vec<u8>,
    plain_pos: usize,
    eof: bool,
}

impl<R: AsyncRead + Unpin> AsyncRead for SecureReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.plain_pos < me.plain.len() {
                let n = (me.plain.len() - me.plain_pos).min(buf.remaining());
                buf.put_slice(&me.plain[me.plain_pos..me.plain_pos + n]);
                me.plain_pos += n;
                return Poll::Ready(Ok(()));
            }
            me.plain.clear();
            me.plain_pos = 0;
            if me.eof {
                return Poll::Ready(Ok(()));
            }
            // Decrypt every whole frame already here.
            while let Some(r) = frame::complete(&me.raw[me.raw_start..]) {
                let (s, e) = (me.raw_start + r.start, me.raw_start + r.end);
                if let Err(err) = me.opener.open_into(&me.raw[s..e], &mut me.plain) {
                    return Poll::Ready(Err(err.into_io()));
                }
                me.raw_start = e;
            }
            if !me.plain.is_empty() {
                continue;
            }
            // Need more bytes: compact, then read.
            if me.raw_start > 0 {
                me.raw.drain(..me.raw_start);
                me.raw_start = 0;
            }
            let have = me.raw.len();
            let want = frame::missing(&me.raw).max(128 * 1024);
            me.raw.resize(have + want, 0);
            let mut rb = ReadBuf::new(&mut me.raw[have..]);
            let polled = Pin::new(&mut me.inner).poll_read(cx, &mut rb);
            let n = rb.filled().len();
            me.raw.truncate(have + n);
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if n == 0 => {
                    if me.raw.is_empty() {
                        me.eof = true;
                        return Poll::Ready(Ok(()));
                    }
                    return Poll::Ready(Err(SecureError::Eof("transport message").into_io()));
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

/// The sending half: encrypts what is written into framed transport messages. Data is
/// buffered (up to a quarter of a megabyte) until `flush` or `shutdown`, which the daemon's
/// job calls after each reply.
#[derive(Debug)]
pub struct SecureWriter<W> {
    inner: W,
    sealer: Sealer,
    out: Vec<u8>,
    written: usize,
}

impl<W: AsyncWrite + Unpin> SecureWriter<W> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.out.clear();
        self.written = 0;
        if self.out.capacity() > 2 * HIGH_WATER {
            self.out = Vec::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for SecureWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.out.len() - me.written >= HIGH_WATER {
            ready!(me.poll_drain(cx))?;
        }
        let n = buf.len().min(HIGH_WATER);
        me.sealer
            .seal_into(&buf[..n], &mut me.out)
            .map_err(SecureError::into_io)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_drain(cx))?;
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        ready!(me.poll_drain(cx))?;
        Pin::new(&mut me.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocking::SecureStream;
    use std::io::{Read as _, Write as _};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn sniff_reads_no_more_than_the_preamble() {
        rt().block_on(async {
            let mut r: &[u8] = b"DRSNOIS1\x00\x60rest";
            assert_eq!(sniff(&mut r).await.unwrap(), Sniffed::Secure);
            assert_eq!(r, b"\x00\x60rest");
            let mut r: &[u8] = b"DIST00000001";
            assert_eq!(
                sniff(&mut r).await.unwrap(),
                Sniffed::Plain(b"DIST0000".to_vec())
            );
            assert_eq!(r, b"0001", "at most the preamble's length is read");
            let mut r: &[u8] = b"DRS";
            assert_eq!(sniff(&mut r).await.unwrap(), Sniffed::Eof(b"DRS".to_vec()));
        });
    }

    /// A blocking client on one thread, the async daemon side on a runtime: a request and a
    /// large reply go through, and the reader sees the end of the stream.
    #[test]
    fn client_and_daemon_talk() {
        let client_key = PrivateKey::generate().unwrap();
        let server_key = PrivateKey::generate().unwrap();
        let server_pub = server_key.public();
        let client_pub = client_key.public();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let big2 = big.clone();
        let t = std::thread::spawn(move || {
            let s = std::net::TcpStream::connect(addr).unwrap();
            let mut c = SecureStream::connect(s, &client_key, &server_pub).unwrap();
            c.write_all(b"request").unwrap();
            let mut got = vec![0u8; big2.len()];
            c.read_exact(&mut got).unwrap();
            assert_eq!(got, big2);
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        });
        rt().block_on(async {
            let (sock, _) = tokio::net::TcpListener::from_std({
                l.set_nonblocking(true).unwrap();
                l
            })
            .unwrap()
            .accept()
            .await
            .unwrap();
            let (mut r, w) = sock.into_split();
            assert_eq!(sniff(&mut r).await.unwrap(), Sniffed::Secure);
            let mut a = accept(r, w, &server_key, |k| {
                assert_eq!(*k, client_pub);
                Verdict::Accepted
            })
            .await
            .unwrap();
            assert_eq!(a.client, client_pub);
            let mut req = [0u8; 7];
            a.reader.read_exact(&mut req).await.unwrap();
            assert_eq!(&req, b"request");
            a.writer.write_all(&big).await.unwrap();
            a.writer.shutdown().await.unwrap();
        });
        t.join().unwrap();
    }

    #[test]
    fn refused_client_is_told_and_nothing_is_read() {
        let client_key = PrivateKey::generate().unwrap();
        let server_key = PrivateKey::generate().unwrap();
        let server_pub = server_key.public();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || {
            SecureStream::connect(a, &client_key, &server_pub).unwrap_err()
        });
        let e = rt().block_on(async {
            b.set_nonblocking(true).unwrap();
            let s = tokio::net::UnixStream::from_std(b).unwrap();
            let (mut r, w) = s.into_split();
            assert_eq!(sniff(&mut r).await.unwrap(), Sniffed::Secure);
            accept(r, w, &server_key, |_| Verdict::UnknownKey)
                .await
                .unwrap_err()
        });
        assert!(matches!(e, AcceptError::Refused { .. }), "{e}");
        let ce = t.join().unwrap();
        assert!(
            ce.to_string().contains("not in its authorized keys"),
            "{ce}"
        );
    }
}
