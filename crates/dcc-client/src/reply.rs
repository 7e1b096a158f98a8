//! Receiving a helper's reply without trusting it (docs/decisions/client.md, "A rogue
//! helper"): the client's own limits, a deadline, and bodies kept out of memory.
//!
//! - [`reply_limits`]: the client's [`Limits`], sized for real compiles (not the daemon's,
//!   which are sized for requests). dcc-proto's [`ReplyStream`] applies them while it
//!   decompresses, so a body stops the moment it passes its limit.
//! - [`Spool`]: a body in memory up to [`SPILL_AT`], then in an unlinked temporary file, so a
//!   large object or a flood of diagnostics never sits in memory whole.
//! - [`receive`]: the read loop. `DISTCC_IO_TIMEOUT` bounds each silent wait (the compile
//!   itself included, as in distcc); once the reply has started it must be complete within
//!   [`reply_allowance`], a deadline scaled to what was sent and received, which is also a
//!   floor on throughput. A status that is not a wait status ends it at once.
//!
//! What the client then does with the reply is decided by [`crate::verdict`].

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dcc_proto::load::{LoadReport, carries_report};
use dcc_proto::reply::{ReplyEvent, ReplyStream};
use dcc_proto::{Limits, ProtoError, Protocol, Token};

use crate::remote::RemoteError;
use crate::verdict::parse_wait_status;

/// The default for `DISTCC_RS_REPLY_LIMIT_MB`: the most one body of a reply (object,
/// diagnostics, dependency file) may hold after decompression, in MiB. A whole reply may hold
/// twice that. Real objects are far smaller; a unit that needs more sets the variable.
pub const DEFAULT_REPLY_LIMIT_MB: u64 = 64;
/// The largest `DISTCC_RS_REPLY_LIMIT_MB` (a body's length on the wire is 32 bits).
pub const MAX_REPLY_LIMIT_MB: u64 = 3800;

/// The client's limits for a reply whose bodies may each hold `mb` MiB.
pub fn reply_limits(mb: u64) -> Limits {
    let body = mb.clamp(1, MAX_REPLY_LIMIT_MB) << 20;
    // On the wire an LZO body may be slightly larger than its content (incompressible data
    // grows by at most 1/16 plus a few bytes).
    let wire = body + body / 16 + 64;
    Limits {
        max_body: u32::try_from(wire).unwrap_or(u32::MAX),
        max_decompressed: usize::try_from(body).unwrap_or(usize::MAX),
        max_total: 2 * body,
        ..Limits::default()
    }
}

/// A body larger than this goes to a temporary file instead of memory.
pub const SPILL_AT: usize = 4 << 20;

/// Once a helper has started to answer, the reply must be complete within this grace plus
/// the time its size takes at [`REPLY_FLOOR`].
pub const REPLY_GRACE: Duration = Duration::from_secs(5);
/// The slowest a reply may arrive, in bytes per second (512 kbit/s).
pub const REPLY_FLOOR: u64 = 64 * 1024;

/// How long a reply that started arriving may take: [`REPLY_GRACE`] plus the larger of the
/// request (`sent`) and the reply so far (`received`) at [`REPLY_FLOOR`]. As long as bytes
/// keep coming faster than the floor, the deadline moves ahead of them; a helper that
/// trickles runs into it.
pub fn reply_allowance(sent: u64, received: u64) -> Duration {
    REPLY_GRACE + Duration::from_millis(sent.max(received).saturating_mul(1000) / REPLY_FLOOR)
}

/// One body of a reply, in memory or spilled to an unlinked temporary file.
#[derive(Debug, Default)]
pub struct Spool {
    mem: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl Spool {
    /// Append `data`, spilling to a file in `tmpdir` once the body passes `spill_at`.
    pub fn push(&mut self, data: &[u8], tmpdir: &Path, spill_at: usize) -> io::Result<()> {
        self.len += data.len() as u64;
        if let Some(f) = &mut self.file {
            return f.write_all(data);
        }
        if self.mem.len() + data.len() <= spill_at {
            self.mem.extend_from_slice(data);
            return Ok(());
        }
        let mut f = unlinked_file(tmpdir)?;
        f.write_all(&self.mem)?;
        f.write_all(data)?;
        self.mem = Vec::new();
        self.file = Some(f);
        Ok(())
    }

    /// The body's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body went to a file.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// The first `n` bytes (or all, if shorter).
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        match &self.file {
            None => Ok(self.mem[..n.min(self.mem.len())].to_vec()),
            Some(f) => {
                let n = usize::try_from(self.len).map_or(n, |l| l.min(n));
                let mut v = vec![0; n];
                f.read_exact_at(&mut v, 0)?;
                Ok(v)
            }
        }
    }

    /// Write the whole body to `w` (file to file, the kernel copies: `copy_file_range`).
    pub fn copy_to<W: Write>(&mut self, w: &mut W) -> io::Result<()> {
        match &mut self.file {
            None => w.write_all(&self.mem),
            Some(f) => {
                f.rewind()?;
                let n = io::copy(&mut f.take(self.len), w)?;
                if n == self.len {
                    Ok(())
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                }
            }
        }
    }
}

/// A file with no name in `dir` (`O_TMPFILE`; where the filesystem lacks it, a new name
/// removed at once), so nothing is left behind however the client ends.
fn unlinked_file(dir: &Path) -> io::Result<File> {
    let mut open = std::fs::OpenOptions::new();
    open.read(true).write(true).mode(0o600);
    match open.clone().custom_flags(libc::O_TMPFILE).open(dir) {
        Ok(f) => return Ok(f),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Err(e),
        Err(_) => {}
    }
    let (path, _) = dcc_state::make_tmpnam(dir, "distcc_reply", ".tmp")?;
    let f = open.open(&path);
    let _ = std::fs::remove_file(&path);
    f
}

/// A reply received in full, its status checked to be a wait status.
#[derive(Debug, Default)]
pub struct Received {
    pub status: u32,
    pub stderr: Spool,
    pub stdout: Spool,
    pub object: Spool,
    /// The helper's load report (our extension versions only; see [`read_report`]).
    pub load: Option<LoadReport>,
    /// The helper's dependency file (protocol 3 only, and only after a success).
    pub dotd: Spool,
}

/// Where reply bytes come from: a connection, or bytes in memory (tests, fuzzing).
pub trait Source {
    /// One read into `buf` of about `want` bytes. `wait`, when given, is the new longest wait
    /// (it stays in force until changed again). `Ok(0)` is the end of the stream; a wait that
    /// runs out is `ErrorKind::TimedOut`.
    fn read_some(
        &mut self,
        buf: &mut BytesMut,
        want: usize,
        wait: Option<Duration>,
    ) -> io::Result<usize>;
}

impl Source for &[u8] {
    fn read_some(
        &mut self,
        buf: &mut BytesMut,
        want: usize,
        _: Option<Duration>,
    ) -> io::Result<usize> {
        let n = want.clamp(1, 64 * 1024).min(self.len());
        buf.extend_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// How a reply is received.
#[derive(Debug, Clone)]
pub struct Receive<'a> {
    /// The helper, for messages.
    pub host: &'a str,
    pub protocol: Protocol,
    pub limits: Limits,
    /// `DISTCC_IO_TIMEOUT`: the longest silent wait.
    pub io_timeout: Duration,
    /// Bytes of the request (for [`reply_allowance`]).
    pub sent: u64,
    /// Where large bodies spill (`TMPDIR`), and from what size.
    pub tmpdir: &'a Path,
    pub spill_at: usize,
}

/// Read and decode a reply from `src`; `started` is called when its first byte arrives.
pub fn receive(
    src: &mut dyn Source,
    how: &Receive<'_>,
    started: &mut dyn FnMut(),
) -> Result<Received, RemoteError> {
    let mut dec = ReplyStream::new(how.protocol, how.limits);
    let mut buf = BytesMut::new();
    let mut got = Received::default();
    let mut first: Option<Instant> = None;
    let mut received = 0u64;
    // The connection starts with DISTCC_IO_TIMEOUT; it is changed only when it must be.
    let mut current_wait = how.io_timeout;
    let refused = |source: ProtoError| match source {
        ProtoError::TooLong { .. } => RemoteError::Refused {
            host: how.host.to_owned(),
            source,
        },
        source => RemoteError::Protocol(source),
    };
    loop {
        while let Some(event) = dec.decode(&mut buf).map_err(refused)? {
            let (token, data) = match event {
                ReplyEvent::Status(s) => {
                    if parse_wait_status(s).is_none() {
                        return Err(RemoteError::BadStatus {
                            host: how.host.to_owned(),
                            status: s,
                        });
                    }
                    got.status = s;
                    continue;
                }
                ReplyEvent::Data(token, data) => (token, data),
                ReplyEvent::BodyEnd(_) => continue,
                ReplyEvent::End => {
                    if carries_report(how.protocol) {
                        got.load = read_report(src, &mut buf);
                    }
                    return Ok(got);
                }
            };
            let spool = match token {
                Token::SERR => &mut got.stderr,
                Token::SOUT => &mut got.stdout,
                Token::DOTO => &mut got.object,
                Token::DOTD => &mut got.dotd,
                _ => continue,
            };
            spool
                .push(&data, how.tmpdir, how.spill_at)
                .map_err(RemoteError::Spool)?;
        }
        let too_slow = |t0: Instant, received: u64| RemoteError::TooSlow {
            host: how.host.to_owned(),
            received,
            elapsed: t0.elapsed(),
        };
        let wait = match first {
            None => how.io_timeout,
            Some(t0) => {
                let left = reply_allowance(how.sent, received).saturating_sub(t0.elapsed());
                if left.is_zero() {
                    return Err(too_slow(t0, received));
                }
                left.min(how.io_timeout)
            }
        };
        let want = dec.want().saturating_sub(buf.len());
        let change = (wait != current_wait).then_some(wait);
        current_wait = wait;
        let n = match src.read_some(&mut buf, want, change) {
            Ok(n) => n,
            Err(e) => {
                if let Some(t0) = first
                    && e.kind() == io::ErrorKind::TimedOut
                    && t0.elapsed() >= reply_allowance(how.sent, received)
                {
                    return Err(too_slow(t0, received));
                }
                return Err(RemoteError::Read {
                    expected: dec.expecting(),
                    source: e,
                });
            }
        };
        if n == 0 {
            return Err(RemoteError::Eof {
                expected: dec.expecting(),
            });
        }
        received += n as u64;
        if first.is_none() {
            first = Some(Instant::now());
            started();
        }
    }
}

/// How long the client waits for a load report not yet in its buffer. The daemon writes it
/// with the reply, so it is nearly always there already; an older daemon sends none.
pub const REPORT_WAIT: Duration = Duration::from_millis(2);

/// The load report after a reply, if it is there: never an error (a report is a hint; the
/// reply is complete without it).
pub fn read_report(src: &mut dyn Source, buf: &mut BytesMut) -> Option<LoadReport> {
    for _ in 0..2 {
        match LoadReport::decode(buf) {
            Ok(Some((r, _))) => return Some(r),
            Ok(None) => {}
            Err(_) => return None,
        }
        let want = dcc_proto::HEADER_LEN + dcc_proto::load::LOAD_MAX_LEN;
        if !matches!(src.read_some(buf, want, Some(REPORT_WAIT)), Ok(n) if n > 0) {
            return None;
        }
    }
    LoadReport::decode(buf).ok().flatten().map(|(r, _)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_proto::Reply;

    fn how(tmp: &Path, protocol: Protocol, limits: Limits, spill_at: usize) -> Receive<'_> {
        Receive {
            host: "helper:1",
            protocol,
            limits,
            io_timeout: Duration::from_secs(5),
            sent: 100,
            tmpdir: tmp,
            spill_at,
        }
    }

    #[test]
    fn limits_scale_with_the_setting() {
        let l = reply_limits(DEFAULT_REPLY_LIMIT_MB);
        assert_eq!(l.max_decompressed, 64 << 20);
        assert_eq!(l.max_total, 128 << 20);
        assert!(u64::from(l.max_body) > 64 << 20);
        let huge = reply_limits(u64::MAX);
        assert_eq!(huge.max_decompressed as u64, MAX_REPLY_LIMIT_MB << 20);
        assert!(u64::from(huge.max_body) >= huge.max_decompressed as u64);
    }

    #[test]
    fn the_deadline_grows_with_what_was_sent_and_received() {
        assert_eq!(reply_allowance(0, 0), REPLY_GRACE);
        assert_eq!(
            reply_allowance(10 * REPLY_FLOOR, 0),
            REPLY_GRACE + Duration::from_secs(10)
        );
        assert_eq!(
            reply_allowance(0, 2 * REPLY_FLOOR),
            reply_allowance(2 * REPLY_FLOOR, 1)
        );
    }

    #[test]
    fn large_bodies_spill_to_an_unlinked_file_and_come_back_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Reply {
            stderr: b"warning\n".to_vec(),
            object: (0..300_000u32).flat_map(u32::to_le_bytes).collect(),
            ..Reply::default()
        };
        for p in [Protocol::V1, Protocol::V2, Protocol::ZSTD] {
            let mut bytes = Vec::new();
            r.encode(p, &mut bytes).unwrap();
            let mut started = 0;
            let mut got = receive(
                &mut &bytes[..],
                &how(tmp.path(), p, reply_limits(2), 64 * 1024),
                &mut || started += 1,
            )
            .unwrap();
            assert_eq!(started, 1);
            assert!(got.object.spilled() && !got.stderr.spilled());
            assert_eq!(got.stderr.head(4).unwrap(), b"warn");
            assert_eq!(got.object.head(4).unwrap(), [0, 0, 0, 0]);
            let mut out = Vec::new();
            got.object.copy_to(&mut out).unwrap();
            assert_eq!(out, r.object, "{p:?}");
            assert_eq!(
                std::fs::read_dir(tmp.path()).unwrap().count(),
                0,
                "no names"
            );
        }
    }

    #[test]
    fn over_the_limit_is_a_refusal_naming_the_helper() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Reply {
            object: vec![1; (1 << 20) + 1],
            ..Reply::default()
        };
        let mut bytes = Vec::new();
        r.encode(Protocol::ZSTD, &mut bytes).unwrap();
        let e = receive(
            &mut &bytes[..],
            &how(tmp.path(), Protocol::ZSTD, reply_limits(1), SPILL_AT),
            &mut || {},
        )
        .unwrap_err();
        assert!(matches!(e, RemoteError::Refused { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("helper:1") && text.contains("DISTCC_RS_REPLY_LIMIT_MB"),
            "{text}"
        );
    }

    #[test]
    fn a_status_that_is_no_wait_status_stops_the_reply() {
        let tmp = tempfile::tempdir().unwrap();
        for status in [0x80, 0x10000, 0x7f, 0x17f, 0x101] {
            let r = Reply {
                status,
                ..Reply::default()
            };
            let mut bytes = Vec::new();
            r.encode(Protocol::V1, &mut bytes).unwrap();
            let e = receive(
                &mut &bytes[..],
                &how(tmp.path(), Protocol::V1, reply_limits(1), SPILL_AT),
                &mut || {},
            )
            .unwrap_err();
            assert!(
                matches!(e, RemoteError::BadStatus { status: s, .. } if s == status),
                "{status:#x}: {e}"
            );
        }
    }

    #[test]
    fn a_load_report_after_the_reply_is_read_only_in_our_versions() {
        let tmp = tempfile::tempdir().unwrap();
        let report = LoadReport {
            free: 2,
            queued: 1,
            slots: 4,
            cores: 8,
            compile_ms: 900,
        };
        for (p, with, expect) in [
            (Protocol::ZSTD, true, Some(report)),
            (Protocol::ZSTD, false, None),
            (Protocol::V1, true, None),
        ] {
            let mut bytes = Vec::new();
            Reply::default().encode(p, &mut bytes).unwrap();
            if with {
                report.encode(&mut bytes);
            }
            let got = receive(
                &mut &bytes[..],
                &how(tmp.path(), p, reply_limits(1), SPILL_AT),
                &mut || {},
            )
            .unwrap();
            assert_eq!(got.load, expect, "{p:?} report sent: {with}");
        }
        // Garbage where the report would be is ignored, the reply stands.
        let mut bytes = Vec::new();
        Reply::default().encode(Protocol::ZSTD, &mut bytes).unwrap();
        bytes.extend_from_slice(b"LOADffffffff");
        let how = how(tmp.path(), Protocol::ZSTD, reply_limits(1), SPILL_AT);
        assert_eq!(
            receive(&mut &bytes[..], &how, &mut || {}).unwrap().load,
            None
        );
    }

    /// A source that delivers one byte per call and reports time passing in big steps.
    struct Trickle<'a>(&'a [u8], Duration);

    impl Source for Trickle<'_> {
        fn read_some(
            &mut self,
            buf: &mut BytesMut,
            _: usize,
            wait: Option<Duration>,
        ) -> io::Result<usize> {
            if let Some(w) = wait {
                self.1 = w;
            }
            if self.0.is_empty() {
                return Ok(0);
            }
            // A byte every 50 ms; the deadline (5 s + 100 B at the floor) is what ends it.
            if self.1 < Duration::from_millis(50) {
                std::thread::sleep(self.1);
                return Err(io::ErrorKind::TimedOut.into());
            }
            std::thread::sleep(Duration::from_millis(50));
            buf.extend_from_slice(&self.0[..1]);
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn a_trickling_reply_runs_into_the_deadline() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Reply {
            object: vec![1; 1 << 20],
            ..Reply::default()
        };
        let mut bytes = Vec::new();
        r.encode(Protocol::V1, &mut bytes).unwrap();
        let start = Instant::now();
        let e = receive(
            &mut Trickle(&bytes, Duration::from_secs(5)),
            &how(tmp.path(), Protocol::V1, reply_limits(2), SPILL_AT),
            &mut || {},
        )
        .unwrap_err();
        assert!(matches!(e, RemoteError::TooSlow { .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(60));
    }
}
