//! One attempt to compile on one helper (distcc src/remote.c `dcc_compile_remote`,
//! src/clirpc.c; reference §1.3, §1.5).
//!
//! 1. Connect (the preprocessor keeps running; its pipe is drained while we wait).
//! 2. Send `DIST`/`ARGC`/`ARGV` at once, then wait for the preprocessor and release the local
//!    cpp slot. If cpp failed, drop the connection: its status is the answer.
//! 3. Send `DOTI` (compressed per the protocol; protocol 1 writes the source straight from
//!    the buffer, with no copy). A unit for a `,cpp` host that the scanner could prove
//!    complete ([`Body::Pump`]) sends protocol 3 instead of steps 2-3 ([`crate::pump::send`]).
//! 4. Read the reply ([`crate::reply::receive`]): streamed through dcc-proto's `ReplyStream`
//!    under the client's own limits and deadline, large bodies spooled to a file.
//!
//! The state file follows distcc's phases: Connect, Preprocess, Send, Compile, Receive.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use dcc_common::ExitCode;
use dcc_hosts::{HostKind, HostSpec};
use dcc_proto::compress::compress_into;
use dcc_proto::token::{HEADER_LEN, encode_header};
use dcc_proto::{Compression, Limits, ProtoError, Protocol, Token};
use dcc_state::{Phase, SlotLock};

use crate::config::CONNECT_TIMEOUT;
use crate::conn::{Conn, ConnectError, connect_ssh, connect_tcp, connect_tcp_stream, resolve};
use crate::cpp::Preprocessed;
use crate::exec::ChildEnv;
use crate::placement::JobState;
use crate::reply::{Receive, Received};
use crate::secure::{self, Files, HandshakeError, SecureFailure};

/// What a helper (or the preprocessor) gave us.
#[derive(Debug)]
pub enum Outcome {
    /// The server ran the compiler and replied.
    Reply(Received),
    /// The local preprocessor failed: nothing was compiled, this is the status.
    CppFailed(ExitStatus),
}

/// Why an attempt failed. Each is a failure of the host (or of the network), never of the
/// source: the caller marks the host and tries elsewhere.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("failed to send request: {}", dcc_state::strerror(.0))]
    Write(io::Error),
    #[error(
        "read failed while waiting for token \"{expected}\": {}",
        dcc_state::strerror(source)
    )]
    Read {
        expected: &'static str,
        source: io::Error,
    },
    #[error("unexpected eof while waiting for token \"{expected}\"")]
    Eof { expected: &'static str },
    #[error(transparent)]
    Protocol(#[from] ProtoError),
    #[error("failed to run the preprocessor: {}", dcc_state::strerror(.0))]
    Cpp(io::Error),
    #[error(transparent)]
    Secure(#[from] SecureFailure),
    /// A body over the client's limits (docs/decisions/client.md).
    #[error(
        "refused the reply from {host}: {source} (DISTCC_RS_REPLY_LIMIT_MB raises the limit, in MiB)"
    )]
    Refused { host: String, source: ProtoError },
    /// The reply started but did not arrive within its deadline.
    #[error(
        "{host} is too slow: {received} bytes of reply in {:.1} s, under the floor of {} KiB/s",
        elapsed.as_secs_f64(),
        crate::reply::REPLY_FLOOR / 1024
    )]
    TooSlow {
        host: String,
        received: u64,
        elapsed: Duration,
    },
    /// `STAT` is not a wait status: nothing can be concluded from the reply.
    #[error("{host} sent status {status:#x}, which is neither 0, an exit code nor a signal")]
    BadStatus { host: String, status: u32 },
    /// Our side: a large body could not be spooled to `TMPDIR`.
    #[error("failed to store the reply in a temporary file: {}", dcc_state::strerror(.0))]
    Spool(io::Error),
}

impl RemoteError {
    /// distcc's exit code for this failure (returned when `DISTCC_FALLBACK=0`).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            RemoteError::Connect(_) => ExitCode::ConnectFailed,
            RemoteError::Write(_) | RemoteError::Read { .. } => ExitCode::IoError,
            RemoteError::Eof { .. } => ExitCode::Truncated,
            RemoteError::Protocol(e) => e.exit_code(),
            RemoteError::Cpp(_) => ExitCode::LocalCpp,
            RemoteError::Secure(e) => e.exit_code(),
            RemoteError::Refused { .. } | RemoteError::BadStatus { .. } => ExitCode::ProtocolError,
            RemoteError::TooSlow { .. } | RemoteError::Spool(_) => ExitCode::IoError,
        }
    }

    /// distcc's function name for the log line.
    pub fn distcc_function(&self) -> &'static str {
        match self {
            RemoteError::Connect(ConnectError::Ssh { .. }) => "dcc_ssh_connect",
            RemoteError::Connect(ConnectError::Lookup { .. }) => "dcc_mk_tcp_sock",
            RemoteError::Connect(_) => "dcc_connect_by_addr",
            RemoteError::Write(_) => "dcc_writex",
            RemoteError::Read { .. } | RemoteError::Eof { .. } => "dcc_r_token_int",
            RemoteError::Protocol(_) => "dcc_retrieve_results",
            RemoteError::Cpp(_) => "dcc_cpp_maybe",
            RemoteError::Secure(_) => "dcc_secure_connect",
            RemoteError::Refused { .. }
            | RemoteError::TooSlow { .. }
            | RemoteError::BadStatus { .. }
            | RemoteError::Spool(_) => "dcc_retrieve_results",
        }
    }

    /// The connection closed before the reply started: distcc's hint about why.
    pub fn is_no_answer(&self) -> bool {
        matches!(
            self,
            RemoteError::Eof { expected: "DONE" }
                | RemoteError::Read {
                    expected: "DONE",
                    ..
                }
        )
    }

    /// The helper dropped the connection with our request unread: the reset that a close with
    /// unread data sends shows up on our write (`EPIPE`/`ECONNRESET`) or on the first read of
    /// the reply. A helper that refuses this client's address does exactly this.
    pub fn is_closed_unread(&self) -> bool {
        let reset = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            )
        };
        match self {
            RemoteError::Write(e) => reset(e),
            RemoteError::Read {
                expected: "DONE",
                source,
            } => reset(source),
            _ => false,
        }
    }

    /// What to do about this failure, when there is more to say than the error itself.
    pub fn hint(&self) -> Option<&'static str> {
        if self.is_closed_unread() {
            Some(CLOSED_UNREAD_HINT)
        } else if self.is_no_answer() {
            Some(NO_ANSWER_HINT)
        } else {
            None
        }
    }
}

/// For [`RemoteError::is_closed_unread`]: what nearly always causes it, and where to look.
pub const CLOSED_UNREAD_HINT: &str = "the helper closed the connection before reading the \
request: it refuses this machine. Its --allow list (ALLOWEDNETS in /etc/default/distcc) is the \
usual cause: add the address it sees this machine as; its log says \"denied by access list\"";

/// distcc src/clirpc.c `dcc_r_result_header`: what a silent close usually means.
pub const NO_ANSWER_HINT: &str = "server provided no answer. Is the server configured to allow \
access from your IP address? Is the server performing authentication and your client isn't? \
Does the server have the compiler installed? Is the server configured to access the compiler?";

/// The protocol this client speaks to `host`: the host's own (protocol 3 for `,cpp` hosts,
/// [`crate::pump`]).
pub fn protocol_for(host: &HostSpec) -> Protocol {
    Protocol::from_wire(host.protocol_version()).unwrap_or(Protocol::V1)
}

/// The protocol for a unit preprocessed here: a `,cpp` host's, one lower, with the same
/// compression, as distcc does when pump mode gives up on a unit.
pub fn plain_protocol_for(host: &HostSpec) -> Protocol {
    let wire = host.protocol_version();
    let plain = match wire & 0xff {
        3 => wire - 1,
        _ => wire,
    };
    Protocol::from_wire(plain).unwrap_or(Protocol::V1)
}

/// What an attempt sends after the header.
#[derive(Debug)]
pub enum Body<'a> {
    /// The preprocessor's output (`DOTI`, protocols 1 and 2).
    Cpp(&'a mut Preprocessed),
    /// The unit's files (protocol 3, [`crate::pump`]).
    Pump(&'a crate::pump::Unit),
}

/// Everything one attempt needs besides the host.
#[derive(Debug)]
pub struct Request<'a> {
    pub server_argv: &'a [String],
    pub io_timeout: Duration,
    pub cenv: &'a ChildEnv,
    pub ssh: &'a [String],
    /// The client key and known hosts, for `,secure` hosts.
    pub secure: Files,
    /// The client's limits for a reply.
    pub limits: Limits,
    /// Where large reply bodies spill (`TMPDIR`).
    pub tmpdir: &'a std::path::Path,
}

/// Run one attempt on `host`, holding slot `slot` there.
pub fn attempt(
    req: &Request<'_>,
    host: &HostSpec,
    slot: u32,
    body: Body<'_>,
    cpp_lock: &mut Option<SlotLock>,
    state: &mut JobState<'_>,
) -> Result<Outcome, RemoteError> {
    let mut ready = Preprocessed::ready(Vec::new());
    let (protocol, source, unit) = match body {
        Body::Cpp(s) => (plain_protocol_for(host), s, None),
        Body::Pump(u) => (protocol_for(host), &mut ready, Some(u)),
    };
    state.note(Phase::Connect, Some(host.hostname()), Some(slot));
    let mut conn = match &host.kind {
        HostKind::Tcp { host: name, port } if host.secure => {
            // Keys first: without them nothing is sent anywhere.
            let keys = secure::keys(&req.secure, name, *port)?;
            let addr = resolve(name, *port)?;
            let pending = (!source.is_finished()).then_some(&mut *source);
            let sock = connect_tcp_stream(addr, CONNECT_TIMEOUT, req.io_timeout, pending)?;
            let pending = (!source.is_finished()).then_some(&mut *source);
            match secure::handshake(sock, &keys, name, req.io_timeout, pending) {
                Ok(s) => Conn::Secure(Box::new(s)),
                Err(HandshakeError::Host(e)) => return Err(e.into()),
                Err(HandshakeError::Cpp(e)) => return Err(RemoteError::Cpp(e)),
            }
        }
        HostKind::Tcp { host: name, port } => {
            let addr = resolve(name, *port)?;
            let pending = (!source.is_finished()).then_some(&mut *source);
            connect_tcp(addr, CONNECT_TIMEOUT, req.io_timeout, pending)?
        }
        HostKind::Ssh {
            user,
            host: name,
            command,
        } => connect_ssh(
            req.cenv,
            req.ssh,
            user.as_deref(),
            name,
            command.as_deref(),
            req.io_timeout,
        )?,
        // The caller runs localhost jobs itself.
        HostKind::Local => {
            return Err(ConnectError::Lookup {
                host: "localhost".into(),
                message: "not a remote host".into(),
            }
            .into());
        }
    };

    // A 0x303 request is answered as DONE 0x303 (zstd bodies, as 0x103).
    let reply_protocol = match unit {
        Some(_) => crate::pump::reply_protocol(protocol),
        None => protocol,
    };
    let sent = if let Some(unit) = unit {
        state.note(Phase::Send, None, None);
        crate::pump::send(&mut conn, protocol, unit)?
    } else {
        let mut head = Vec::with_capacity(256);
        dcc_proto::encode_request_header(&mut head, protocol, None, req.server_argv)?;
        conn.write_all(&head).map_err(RemoteError::Write)?;
        if !source.is_finished() {
            state.note(Phase::Preprocess, None, None);
        }
        let status = source.finish().map_err(RemoteError::Cpp)?;
        // Preprocessing is over: let another job preprocess (distcc releases it here too).
        *cpp_lock = None;
        if !status.success() {
            return Ok(Outcome::CppFailed(status));
        }
        state.note(Phase::Send, None, None);
        head.len() as u64 + send_doti(&mut conn, protocol.compression, source.output())?
    };

    state.note(Phase::Compile, None, None);
    let how = Receive {
        host: &host.spec,
        protocol: reply_protocol,
        limits: req.limits,
        io_timeout: req.io_timeout,
        sent,
        tmpdir: req.tmpdir,
        spill_at: crate::reply::SPILL_AT,
    };
    let reply = crate::reply::receive(&mut conn, &how, &mut || {
        state.note(Phase::Receive, None, None);
    })?;
    Ok(Outcome::Reply(reply))
}

/// Send the source; returns the bytes written.
fn send_doti(conn: &mut Conn, c: Compression, source: &[u8]) -> Result<u64, RemoteError> {
    let mut packet = Vec::new();
    let body: &[u8] = match c {
        Compression::None => source,
        _ => {
            // Header first, body compressed right behind it: one buffer, one write.
            packet.resize(HEADER_LEN, 0);
            compress_into(c, source, &mut packet)?;
            &[]
        }
    };
    let len = if packet.is_empty() {
        body.len()
    } else {
        packet.len() - HEADER_LEN
    };
    let len = u32::try_from(len).map_err(|_| ProtoError::TooLong {
        token: Token::DOTI,
        len: len as u64,
        limit: u64::from(u32::MAX),
    })?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    encode_header(&mut header, Token::DOTI, len);
    if packet.is_empty() {
        conn.write_all2(&header, body)
    } else {
        packet[..HEADER_LEN].copy_from_slice(&header);
        conn.write_all(&packet)
    }
    .map_err(RemoteError::Write)?;
    Ok((HEADER_LEN + len as usize) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(spec: &str) -> HostSpec {
        dcc_hosts::parse(spec).unwrap().hosts.remove(0)
    }

    #[test]
    fn protocols() {
        assert_eq!(protocol_for(&host("h")), Protocol::V1);
        assert_eq!(protocol_for(&host("h,lzo")), Protocol::V2);
        assert_eq!(protocol_for(&host("h,lzo,cpp")), Protocol::V3);
        assert_eq!(protocol_for(&host("h,zstd")), Protocol::ZSTD);
        assert_eq!(protocol_for(&host("h,zstd,cpp")), Protocol::ZSTD_PUMP);
        // A unit preprocessed here goes one protocol lower, same compression.
        assert_eq!(plain_protocol_for(&host("h,lzo,cpp")), Protocol::V2);
        assert_eq!(plain_protocol_for(&host("h,zstd,cpp")), Protocol::ZSTD);
        assert_eq!(plain_protocol_for(&host("h,lzo")), Protocol::V2);
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            RemoteError::Eof { expected: "DONE" }.exit_code(),
            ExitCode::Truncated
        );
        assert!(RemoteError::Eof { expected: "DONE" }.is_no_answer());
        assert!(!RemoteError::Eof { expected: "DOTO" }.is_no_answer());
        assert_eq!(
            RemoteError::Protocol(ProtoError::VersionMismatch {
                expected: 1,
                got: 2
            })
            .exit_code(),
            ExitCode::ProtocolError
        );
        // A rogue helper's reply: refused (109), too slow (107, as a timeout), a strange
        // status (109); a temporary file we cannot write is ours (107), never the host's.
        let host = || "h:1".to_owned();
        let too_long = ProtoError::TooLong {
            token: Token::DOTO,
            len: 2,
            limit: 1,
        };
        for (e, code) in [
            (
                RemoteError::Refused {
                    host: host(),
                    source: too_long,
                },
                ExitCode::ProtocolError,
            ),
            (
                RemoteError::TooSlow {
                    host: host(),
                    received: 9,
                    elapsed: Duration::from_secs(6),
                },
                ExitCode::IoError,
            ),
            (
                RemoteError::BadStatus {
                    host: host(),
                    status: 0x80,
                },
                ExitCode::ProtocolError,
            ),
            (
                RemoteError::Spool(io::ErrorKind::StorageFull.into()),
                ExitCode::IoError,
            ),
        ] {
            assert_eq!(e.exit_code(), code, "{e}");
            assert!(!e.is_no_answer());
            assert_eq!(e.hint(), None);
        }
    }

    #[test]
    fn a_reset_before_the_reply_is_a_refusal() {
        let reset = || io::Error::from(io::ErrorKind::ConnectionReset);
        let closed = [
            RemoteError::Write(io::ErrorKind::BrokenPipe.into()),
            RemoteError::Write(reset()),
            RemoteError::Read {
                expected: "DONE",
                source: reset(),
            },
        ];
        for e in closed {
            assert_eq!(e.hint(), Some(CLOSED_UNREAD_HINT), "{e}");
        }
        // A reset in the middle of the reply is no refusal; a plain close keeps distcc's hint.
        let mid = RemoteError::Read {
            expected: "DOTO",
            source: reset(),
        };
        assert_eq!(mid.hint(), None);
        assert_eq!(
            RemoteError::Eof { expected: "DONE" }.hint(),
            Some(NO_ANSWER_HINT)
        );
        assert_eq!(
            RemoteError::Write(io::ErrorKind::TimedOut.into()).hint(),
            None
        );
    }
}
