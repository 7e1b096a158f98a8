//! Listening: the sockets, the accept loops, inetd's one connection, and shutdown (distcc
//! src/srvnet.c, src/dparent.c; reference §4.2).
//!
//! [`serve`] is the daemon's core, in the shape of mini-redis's `server::run(listener,
//! shutdown)`: it accepts on the given listeners until the `shutdown` future resolves, then
//! tells running jobs to stop (their compilers are killed), gives them a moment, removes every
//! job directory that is left, and returns. `distccd` passes its signal handling as
//! `shutdown` ([`crate::daemon`]); tests pass a channel and run it on a loopback listener in
//! their own runtime.
//!
//! Accepting never waits: a connection waits (or is closed) in [`Server::admit`], by its
//! address, so clients that send nothing cannot stop others from being accepted (issue 10).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;
use std::time::Duration;

use dcc_common::{ExitCode, Level, dcc_log};
use socket2::{Domain, Protocol as SockProto, Socket, Type};
use tokio::net::TcpListener;

use crate::exec::Runner;
use crate::observe::Event;
use crate::secure::{self, Gate, Port};
use crate::server::Server;
use crate::stats_http;

/// How long running jobs get, once shutdown starts, to kill their compilers and end.
pub const DRAIN: Duration = Duration::from_secs(5);

/// The sockets one daemon serves.
#[derive(Debug)]
pub struct Listeners {
    /// `--port`: distcc requests (and secure ones, with `--auth-keys`).
    pub main: TcpListener,
    /// `--secure-port`: secure requests only.
    pub secure: Option<TcpListener>,
    /// `--stats`: distcc's stats page, `/metrics`, `/status.json`, the live page.
    pub stats: Option<TcpListener>,
    /// The secure transport (`--auth-keys`); `None` serves plain distcc only.
    pub gate: Option<Arc<Gate>>,
}

impl From<TcpListener> for Listeners {
    /// The compile port alone, plain.
    fn from(main: TcpListener) -> Listeners {
        Listeners {
            main,
            secure: None,
            stats: None,
            gate: None,
        }
    }
}

/// Serve `listeners` until `shutdown` resolves, then stop running jobs and remove what they
/// left (see the module's docs). Returns once that is done; connections still being read
/// are dropped when the caller's runtime ends, as they are when `distccd` exits.
pub async fn serve<R: Runner>(
    listeners: impl Into<Listeners>,
    srv: Arc<Server<R>>,
    shutdown: impl Future<Output = ()>,
) {
    let Listeners {
        main,
        secure,
        stats,
        gate,
    } = listeners.into();
    // Aborted when serve returns (the JoinSet is dropped).
    let mut background = tokio::task::JoinSet::new();
    if let Some(sl) = stats {
        background.spawn(stats_http::serve(srv.clone(), sl));
    }
    let ticker = srv.clone();
    background.spawn(async move {
        let mut iv = tokio::time::interval(Duration::from_secs(1));
        loop {
            iv.tick().await;
            ticker.stats.tick();
        }
    });
    let secure_port = async {
        match secure {
            Some(sl) => accept_loop(srv.clone(), sl, gate.clone(), Port::SecureOnly).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = accept_loop(srv.clone(), main, gate.clone(), Port::Main) => {}
        _ = secure_port => {}
        _ = shutdown => {}
    }
    drain(&srv).await;
}

/// Shutdown: running compiles are killed (`crate::job` watches [`Server::shutdown`]); give
/// their jobs [`DRAIN`] to end, then remove every job directory that is left.
async fn drain<R: Runner>(srv: &Server<R>) {
    srv.shut_down();
    let deadline = tokio::time::Instant::now() + DRAIN;
    while srv.stats.current_load() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let removed = srv.remove_job_dirs().await;
    if removed > 0 {
        dcc_log!(
            Level::Info,
            "dcc_cleanup_tempfiles",
            "deleted {removed} temporary directories"
        );
    }
}

/// Accept connections and serve each in its own task (in the loop itself with `--no-fork`).
async fn accept_loop<R: Runner>(
    srv: Arc<Server<R>>,
    listener: TcpListener,
    gate: Option<Arc<Gate>>,
    port: Port,
) {
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                dcc_log!(Level::Error, "dcc_accept_job", "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let srv2 = srv.clone();
        let gate = gate.clone();
        let task = async move {
            // A refused connection is dropped here: no byte (admit logged why).
            let Ok(admission) = srv2.admit(peer).await else {
                return;
            };
            srv2.observe(Event::Accepted);
            if let Err(e) = sock.set_nodelay(true) {
                dcc_log!(Level::Debug, "dcc_accept_job", "TCP_NODELAY: {e}");
            }
            let (r, w) = sock.into_split();
            secure::serve(
                &srv2,
                gate.as_deref(),
                port,
                r,
                w,
                Some(peer),
                Some(admission),
            )
            .await;
        };
        if srv.cfg.no_fork {
            task.await;
        } else {
            tokio::spawn(task);
        }
    }
}

/// inetd mode: the one connection on stdin/stdout. A socket's peer passes [`Server::admit`];
/// pipes (ssh mode) have no address and no access check (distcc: "NOTSOCKET").
pub async fn serve_inetd<R: Runner>(srv: &Server<R>, gate: Option<&Gate>) -> Result<(), ExitCode> {
    let stdin = std::io::stdin();
    let peer = socket2::SockRef::from(&stdin)
        .peer_addr()
        .ok()
        .and_then(|a| a.as_socket());
    match peer {
        Some(peer) => {
            // admit logs the refusal and counts it.
            let admission = srv.admit(peer).await.map_err(|_| ExitCode::AccessDenied)?;
            let io_error = |what: &str, e: std::io::Error| {
                dcc_log!(Level::Error, "dcc_inetd_server", "{what}: {e}");
                ExitCode::IoError
            };
            let fd = nix::unistd::dup(std::io::stdin())
                .map_err(|e| io_error("dup of stdin failed", e.into()))?;
            // SAFETY: fd is our own duplicate of a connected socket (getpeername succeeded);
            // the TcpStream takes it over, so the OwnedFd must not close it too.
            let std_sock = unsafe { std::net::TcpStream::from_raw_fd(fd.as_raw_fd()) };
            std::mem::forget(fd);
            std_sock
                .set_nonblocking(true)
                .map_err(|e| io_error("cannot make stdin non-blocking", e))?;
            let sock = tokio::net::TcpStream::from_std(std_sock)
                .map_err(|e| io_error("cannot use stdin as a socket", e))?;
            let (r, w) = sock.into_split();
            secure::serve(srv, gate, Port::Main, r, w, Some(peer), Some(admission)).await;
        }
        None => {
            let (r, w) = (tokio::io::stdin(), tokio::io::stdout());
            secure::serve(srv, gate, Port::Main, r, w, None, None).await;
        }
    }
    // The job's directory is removed on a blocking thread, which a runtime does not wait
    // for when it shuts down: finish here.
    srv.remove_job_dirs().await;
    Ok(())
}

/// Bind a listening socket: backlog 1024, SO_REUSEADDR, TCP_DEFER_ACCEPT, close-on-exec.
/// With no `--listen`, a dual-stack `[::]` socket (IPv4 clients appear as mapped addresses,
/// matched as IPv4), falling back to `0.0.0.0` where IPv6 is unavailable. distcc 3.4 listens
/// on IPv4 only by default; ours also answers `::1` and other IPv6 clients that --allow admits.
pub fn bind(
    listen: Option<IpAddr>,
    port: u16,
    defer_accept: bool,
) -> std::io::Result<std::net::TcpListener> {
    let attempt = |addr: SocketAddr, dual: bool| -> std::io::Result<std::net::TcpListener> {
        let sock = Socket::new(
            Domain::for_address(addr),
            Type::STREAM,
            Some(SockProto::TCP),
        )?;
        sock.set_reuse_address(true)?;
        if dual {
            sock.set_only_v6(false)?;
        }
        sock.bind(&addr.into())?;
        sock.listen(1024)?;
        if defer_accept {
            let one: libc::c_int = 1;
            // SAFETY: setsockopt with a pointer to a c_int of the stated size.
            unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_DEFER_ACCEPT,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        sock.set_nonblocking(true)?;
        Ok(sock.into())
    };
    match listen {
        Some(ip) => attempt(SocketAddr::new(ip, port), false),
        None => attempt(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            true,
        )
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                Err(e)
            } else {
                attempt(
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                    false,
                )
            }
        }),
    }
}

/// [`bind`], logging the address; a failure is distcc's exit 102.
pub(crate) fn bind_or_exit(
    listen: Option<IpAddr>,
    port: u16,
    defer: bool,
) -> Result<std::net::TcpListener, ExitCode> {
    match bind(listen, port, defer) {
        Ok(l) => {
            if let Ok(a) = l.local_addr() {
                dcc_log!(Level::Info, "dcc_listen_by_addr", "listening on {a}");
            }
            Ok(l)
        }
        Err(e) => {
            let shown = match listen {
                Some(ip) => SocketAddr::new(ip, port).to_string(),
                None => format!("port {port}"),
            };
            dcc_log!(
                Level::Error,
                "dcc_listen_by_addr",
                "bind of {shown} failed: {e}"
            );
            Err(ExitCode::BindFailed)
        }
    }
}

/// A std listener from [`bind`] on the runtime; a failure is logged.
pub(crate) fn on_runtime(l: std::net::TcpListener, what: &str) -> Result<TcpListener, ExitCode> {
    TcpListener::from_std(l).map_err(|e| {
        dcc_log!(Level::Error, "main", "{what} listener: {e}");
        ExitCode::DistccFailed
    })
}
