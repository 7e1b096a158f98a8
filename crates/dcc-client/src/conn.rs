//! Connections to a helper: TCP, or `ssh … distccd --inetd` over a pair of pipes (distcc
//! src/clinet.c, src/ssh.c), or TCP under our secure transport (`,secure`, crate::secure).
//! All carry the same byte stream; [`Conn`] reads and writes it with distcc's timeouts.
//!
//! - Connecting: a non-blocking `connect` with distcc's fixed 4 s limit, in a `poll` loop that
//!   also drains the preprocessor's pipe, so cpp never waits on a slow connect.
//! - Reading and writing: every operation may wait at most `DISTCC_IO_TIMEOUT` (which includes
//!   the remote compile time, as in distcc), and a reply read less once its deadline is near
//!   (crate::reply). On a socket that is `SO_RCVTIMEO`/`SO_SNDTIMEO`,
//!   set once, so each read is one system call; on pipes a `poll` precedes each call.
//! - Never `shutdown(SHUT_WR)`: distcc's server takes EOF as a disconnect and kills the job.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use crate::cpp::Preprocessed;
use crate::exec::{ChildEnv, spawn};

/// How long a finished ssh connection may take to exit before it is killed.
const SSH_EXIT_WAIT: Duration = Duration::from_secs(10);

/// A connection failure, in distcc's terms.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("failed to look up host \"{host}\": {message}")]
    Lookup { host: String, message: String },
    #[error("failed to connect to {addr}: {}", dcc_state::strerror(source))]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("timeout while connecting to {addr}")]
    Timeout { addr: SocketAddr },
    #[error("failed to start ssh: {}", dcc_state::strerror(source))]
    Ssh { source: io::Error },
    #[error("failed to read preprocessor output: {}", dcc_state::strerror(source))]
    Cpp { source: io::Error },
}

/// An open connection.
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    Ssh {
        child: Child,
        to: Option<ChildStdin>,
        from: ChildStdout,
        timeout: Duration,
    },
    /// `,secure`: encrypted and authenticated (the socket keeps its timeouts, and each read
    /// of the secure stream has a deadline: [`Deadlined`]).
    Secure(Box<dcc_secure::SecureStream<Deadlined>>),
}

/// Resolve `host` (an IP literal without a lookup; IPv6 without brackets) to one address.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, ConnectError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let lookup = |message: String| ConnectError::Lookup {
        host: host.to_owned(),
        message,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(|e| lookup(e.to_string()))?
        .next()
        .ok_or_else(|| lookup("no address".to_owned()))
}

/// Connect over TCP within `timeout`, reading preprocessor output meanwhile, then set the IO
/// timeouts and `TCP_NODELAY` (requests are written in a few large writes, so Nagle would only
/// delay the last segment).
pub fn connect_tcp(
    addr: SocketAddr,
    timeout: Duration,
    io_timeout: Duration,
    cpp: Option<&mut Preprocessed>,
) -> Result<Conn, ConnectError> {
    connect_tcp_stream(addr, timeout, io_timeout, cpp).map(Conn::Tcp)
}

/// [`connect_tcp`], returning the socket itself (for the secure handshake).
pub fn connect_tcp_stream(
    addr: SocketAddr,
    timeout: Duration,
    io_timeout: Duration,
    mut cpp: Option<&mut Preprocessed>,
) -> Result<TcpStream, ConnectError> {
    let err = |source: io::Error| ConnectError::Connect { addr, source };
    let stream = start_connect(addr).map_err(err)?;
    let fd = stream.as_raw_fd();
    if !stream.1 {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnectError::Timeout { addr });
            }
            let cpp_fd = cpp.as_deref().and_then(Preprocessed::fd);
            let (sock_ready, cpp_ready) = poll2(fd, libc::POLLOUT, cpp_fd, left).map_err(err)?;
            if cpp_ready && let Some(c) = cpp.as_deref_mut() {
                c.read_some()
                    .map_err(|source| ConnectError::Cpp { source })?;
            }
            if sock_ready {
                break;
            }
        }
        let so_error = socket_error(fd).map_err(err)?;
        if so_error != 0 {
            return Err(err(io::Error::from_raw_os_error(so_error)));
        }
    }
    let s = stream.0;
    s.set_nonblocking(false).map_err(err)?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(io_timeout)).map_err(err)?;
    s.set_write_timeout(Some(io_timeout)).map_err(err)?;
    Ok(s)
}

/// A non-blocking socket with `connect` started; `.1` is true when it completed at once.
struct Connecting(TcpStream, bool);

impl AsRawFd for Connecting {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

fn start_connect(addr: SocketAddr) -> io::Result<Connecting> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket(2); the descriptor is owned by the TcpStream right away.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr(addr);
    // SAFETY: storage holds a valid sockaddr of `len` bytes.
    let rc = unsafe { libc::connect(fd, (&raw const storage).cast(), len) };
    if rc == 0 {
        return Ok(Connecting(stream, true));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok(Connecting(stream, false))
    } else {
        Err(e)
    }
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn socket_error(fd: RawFd) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: v and len are valid for getsockopt(SO_ERROR).
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut v).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(v)
    }
}

/// Poll `fd` for `events` and, if given, `other` for input. Returns which were ready
/// (errors and hang-ups count as ready, so the following call reports them).
pub fn poll2(
    fd: RawFd,
    events: libc::c_short,
    other: Option<RawFd>,
    timeout: Duration,
) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: other.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ms = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: fds is a valid array of two pollfd; a negative fd is ignored by poll.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok((false, false));
        }
        return Err(e);
    }
    Ok((fds[0].revents != 0, fds[1].revents != 0))
}

/// `ssh [DISTCC_SSH words] [-l user] host command --inetd --enable-tcp-insecure` (distcc
/// src/ssh.c), with the protocol on its stdin and stdout; ssh's stderr is ours.
pub fn connect_ssh(
    cenv: &ChildEnv,
    ssh: &[String],
    user: Option<&str>,
    host: &str,
    command: Option<&str>,
    io_timeout: Duration,
) -> Result<Conn, ConnectError> {
    let mut argv: Vec<OsString> = ssh.iter().map(OsString::from).collect();
    if let Some(u) = user {
        argv.push("-l".into());
        argv.push(u.into());
    }
    argv.push(host.into());
    argv.push(command.unwrap_or("distccd").into());
    argv.push("--inetd".into());
    argv.push("--enable-tcp-insecure".into());
    let mut child = spawn(cenv, &argv, |c| {
        c.stdin(Stdio::piped()).stdout(Stdio::piped());
    })
    .map_err(|source| ConnectError::Ssh { source })?;
    let (Some(to), Some(from)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ConnectError::Ssh {
            source: io::Error::other("no pipes"),
        });
    };
    Ok(Conn::Ssh {
        child,
        to: Some(to),
        from,
        timeout: io_timeout,
    })
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "IO timeout")
}

impl Conn {
    /// Write all of `buf` (each wait bounded by the IO timeout).
    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.write_all(buf).map_err(map_timeout),
            Conn::Secure(s) => s.send(buf).map_err(map_timeout),
            Conn::Ssh { to, timeout, .. } => {
                let to = to
                    .as_mut()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
                let mut rest = buf;
                while !rest.is_empty() {
                    let (ready, _) = poll2(to.as_raw_fd(), libc::POLLOUT, None, *timeout)?;
                    if !ready {
                        return Err(timed_out());
                    }
                    match to.write(rest) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => rest = &rest[n..],
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
        }
    }

    /// Write `a` then `b` (a packet header and its body) without joining them first: one
    /// `writev` on a socket, so the header does not travel alone.
    pub fn write_all2(&mut self, a: &[u8], b: &[u8]) -> io::Result<()> {
        if let Conn::Secure(s) = self {
            return s.send2(a, b).map_err(map_timeout);
        }
        let Conn::Tcp(s) = self else {
            self.write_all(a)?;
            return self.write_all(b);
        };
        let mut bufs = [io::IoSlice::new(a), io::IoSlice::new(b)];
        let mut bufs = &mut bufs[..];
        while !bufs.is_empty() {
            match s.write_vectored(bufs) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(map_timeout(e)),
            }
        }
        Ok(())
    }

    /// One read into the spare capacity of `buf` (grown by at least `want` bytes, within
    /// reason). `Ok(0)` is end of stream.
    pub fn read_into(&mut self, buf: &mut bytes::BytesMut, want: usize) -> io::Result<usize> {
        buf.reserve(want.clamp(16 * 1024, 4 << 20));
        let fd = match self {
            Conn::Secure(s) => {
                let got = s.recv().map_err(map_timeout)?;
                let n = got.len();
                buf.extend_from_slice(got);
                s.consume(n);
                return Ok(n);
            }
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::Ssh { from, timeout, .. } => {
                let (ready, _) = poll2(from.as_raw_fd(), libc::POLLIN, None, *timeout)?;
                if !ready {
                    return Err(timed_out());
                }
                from.as_raw_fd()
            }
        };
        let spare = buf.spare_capacity_mut();
        loop {
            // SAFETY: reading into the buffer's spare capacity, at most its length.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
            if n >= 0 {
                let n = n as usize;
                // SAFETY: the kernel initialised the first n spare bytes.
                unsafe { buf.set_len(buf.len() + n) };
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(map_timeout(e));
            }
        }
    }
}

/// The socket under a secure stream. One read of the secure stream may read the socket many
/// times (until a whole frame is in), so a per-read timeout alone would let a helper that
/// sends a byte a second hold it for as long as a frame is long: here each read of the secure
/// stream gets one deadline for all its socket reads.
#[derive(Debug)]
pub struct Deadlined {
    stream: TcpStream,
    /// The longest one read of the secure stream may take.
    wait: Duration,
    /// While a read of the secure stream is under way: when it must end.
    deadline: Option<Instant>,
}

impl Deadlined {
    pub fn new(stream: TcpStream, wait: Duration) -> Deadlined {
        Deadlined {
            stream,
            wait,
            deadline: None,
        }
    }
}

impl io::Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        self.stream.read(buf).map_err(map_timeout)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl crate::reply::Source for Conn {
    fn read_some(
        &mut self,
        buf: &mut bytes::BytesMut,
        want: usize,
        wait: Option<Duration>,
    ) -> io::Result<usize> {
        // The wait shrinks as a reply's deadline nears (a setsockopt only then).
        if let Some(wait) = wait.map(|w| w.max(Duration::from_millis(1))) {
            match self {
                Conn::Tcp(s) => s.set_read_timeout(Some(wait))?,
                Conn::Secure(s) => s.get_mut().wait = wait,
                Conn::Ssh { timeout, .. } => *timeout = wait,
            }
        }
        if let Conn::Secure(s) = self {
            let d = s.get_mut();
            d.deadline = Some(Instant::now() + d.wait);
            let r = self.read_into(buf, want);
            if let Conn::Secure(s) = self {
                s.get_mut().deadline = None;
            }
            return r;
        }
        self.read_into(buf, want)
    }
}

/// A socket timeout shows as `WouldBlock`; call it what it is.
fn map_timeout(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        timed_out()
    } else {
        e
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Conn::Ssh { child, to, .. } = self {
            // Closing its stdin ends ssh once the remote distccd is done; distcc collects the
            // ssh child too. A peer that never exits is killed after a while.
            *to = None;
            let deadline = Instant::now() + SSH_EXIT_WAIT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => return,
                    Ok(None) if Instant::now() >= deadline => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn resolve_literals_without_lookup() {
        assert_eq!(
            resolve("127.0.0.1", 3632).unwrap(),
            "127.0.0.1:3632".parse().unwrap()
        );
        assert_eq!(resolve("::1", 7).unwrap(), "[::1]:7".parse().unwrap());
        assert!(resolve("no-such-host.invalid", 1).is_err());
    }

    #[test]
    fn connect_read_write_and_refusal() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 5];
            s.read_exact(&mut b).unwrap();
            s.write_all(&b).unwrap();
        });
        let mut c =
            connect_tcp(addr, Duration::from_secs(4), Duration::from_secs(5), None).unwrap();
        c.write_all(b"hello").unwrap();
        let mut buf = bytes::BytesMut::new();
        let mut got = 0;
        while got < 5 {
            let n = c.read_into(&mut buf, 5).unwrap();
            assert!(n > 0);
            got += n;
        }
        assert_eq!(&buf[..], b"hello");
        t.join().unwrap();
        assert_eq!(c.read_into(&mut buf, 5).unwrap(), 0, "EOF");

        // A port nobody listens on.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e =
            connect_tcp(closed, Duration::from_secs(4), Duration::from_secs(5), None).unwrap_err();
        assert!(e.to_string().contains("Connection refused"), "{e}");
    }

    #[test]
    fn read_timeout_is_reported() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut c = connect_tcp(
            addr,
            Duration::from_secs(4),
            Duration::from_millis(50),
            None,
        )
        .unwrap();
        let _peer = l.accept().unwrap();
        let mut buf = bytes::BytesMut::new();
        let e = c.read_into(&mut buf, 12).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn ssh_transport_over_pipes() {
        // A fake ssh: `cat` echoes the request, ignoring the distccd arguments.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-ssh");
        std::fs::write(&fake, "#!/bin/sh\necho \"$@\" >&2\nexec cat\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let cenv = ChildEnv {
            path: None,
            safeguard: Some("1".into()),
        };
        let mut c = connect_ssh(
            &cenv,
            &[fake.to_string_lossy().into_owned()],
            Some("me"),
            "box",
            None,
            Duration::from_secs(5),
        )
        .unwrap();
        c.write_all(b"DIST00000001").unwrap();
        let mut buf = bytes::BytesMut::new();
        while buf.len() < 12 {
            assert!(c.read_into(&mut buf, 12).unwrap() > 0);
        }
        assert_eq!(&buf[..], b"DIST00000001");
    }
}
