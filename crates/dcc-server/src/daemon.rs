//! Start-up and the accept loop (distcc src/daemon.c, src/dparent.c, src/srvnet.c,
//! src/setuid.c; reference §4.2).
//!
//! Start-up order follows distcc: nice, drop root, open the log, chdir to `$TMPDIR`, log the
//! PATH, check the whitelist directory; then inetd (one job on stdin/stdout) or daemon mode:
//! bind (exit 102 if the port is taken), detach (the parent writes the pid file and exits, so
//! a caller may connect as soon as `distccd --daemon` returns), and only then build the tokio
//! runtime (fork and privileges before threads).
//!
//! distcc pre-forks `--jobs` workers that each accept; we accept in one task and bound work
//! with [`Server::admit`] (unfinished requests per client address), semaphores
//! ([`Server::intake_limit`] requests read at once, `--jobs` compiles at once). `SIGTERM` and
//! `SIGINT` stop accepting, kill running compiles, remove every job directory and the pid
//! file, and exit 0. `SIGHUP` reopens `--log-file` (logrotate), where distcc 3.4 stops
//! (docs/decisions/daemon.md).

use std::ffi::OsString;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dcc_common::log::{self, Sink};
use dcc_common::{Env, ExitCode, Level, Logger, ProcessEnv, dcc_log};
use socket2::{Domain, Protocol as SockProto, Socket, Type};
use tokio::net::TcpListener;

use crate::access::{AllowList, private_ranges};
use crate::compiler::{CmdList, CompilerPolicy};
use crate::exec::{ProcessRunner, Runner};
use crate::options::{self, Config, LogTarget, Parsed, ServeMode, ServerEnv};
use crate::secure::{self, Gate, Port};
use crate::server::Server;
use crate::stats_http;

/// Run `distccd` with these arguments (argv[0] included); returns the process exit code.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    // Until the configured log is open, messages go to stderr (distcc's startup log).
    log::init(Logger::new("distccd", Level::Warning, Sink::Stderr));
    let cfg = match options::parse(args) {
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(Parsed::Run(cfg)) => *cfg,
        Err(e) => {
            eprintln!("distccd: ERROR: {}", e.message);
            return e.exit_code().code();
        }
    };
    let env = match ServerEnv::from_env(&ProcessEnv) {
        Ok(e) => e,
        Err(e) => {
            dcc_log!(Level::Error, "dcc_get_io_timeout", "{}", e.message);
            return ExitCode::BadArguments.code();
        }
    };
    match run(cfg, env) {
        Ok(()) => 0,
        Err(code) => code.code(),
    }
}

fn run(cfg: Config, env: ServerEnv) -> Result<(), ExitCode> {
    if let Some(bad) = &cfg.bad_log_level {
        dcc_log!(
            Level::Warning,
            "distccd_parse_options",
            "invalid --log-level argument \"{bad}\""
        );
    }
    let (inetd, why) = match cfg.mode {
        ServeMode::Inetd => (true, None),
        ServeMode::Daemon => (false, None),
        ServeMode::Auto => {
            let (inetd, why) = should_be_inetd();
            (inetd, Some(why))
        }
    };
    let allow = match &cfg.allow {
        Some(a) => Some(a.clone()),
        None if inetd => None,
        None => {
            dcc_log!(
                Level::Warning,
                "main",
                "No --allow option specified. Defaulting to --allow-private. Allowing non-Internet (globally routable) addresses."
            );
            Some(AllowList::new(private_ranges()))
        }
    };

    // SAFETY: nice(2) has no memory effects.
    if unsafe { libc::nice(cfg.nice) } == -1 && cfg.nice != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error().unwrap_or(0) != 0 {
            dcc_log!(Level::Warning, "main", "nice {} failed: {err}", cfg.nice);
        }
    }
    if let Some(adj) = cfg.oom_score_adj
        && let Err(e) = std::fs::write("/proc/self/oom_score_adj", adj.to_string())
    {
        dcc_log!(
            Level::Warning,
            "main",
            "failed to set oom_score_adj {adj}: {e}"
        );
    }
    // The host key is usually root's alone: read it before dropping root.
    let gate = cfg.secure.as_ref().map(Gate::load).transpose()?;
    discard_root(cfg.user.as_deref())?;
    setup_log(&cfg);
    if let Some(g) = &gate {
        g.check()?;
    }
    if let Some(why) = why {
        dcc_log!(Level::Info, "dcc_should_be_inetd", "{why}");
    }
    if let Err(e) = std::env::set_current_dir(&env.tmpdir) {
        dcc_log!(
            Level::Error,
            "main",
            "failed to chdir to {}: {e}",
            env.tmpdir.display()
        );
        return Err(ExitCode::IoError);
    }
    if env.distccd_path.is_none() {
        dcc_log!(
            Level::Info,
            "dcc_setup_daemon_path",
            "daemon's PATH is {}",
            env.path
        );
    }
    let cmdlist = match &env.cmdlist {
        None => None,
        Some(p) => match CmdList::load(p, env.cmdlist_numwords) {
            Ok(l) => Some(l),
            Err(e) => {
                dcc_log!(
                    Level::Error,
                    "dcc_remap_compiler",
                    "stringmap_load({}, {}) failed: {e}",
                    p.display(),
                    env.cmdlist_numwords
                );
                return Err(ExitCode::CompilerMissing);
            }
        },
    };
    if !cfg.insecure && cmdlist.is_none() {
        check_whitelist_dirs(&env)?;
    }
    let compilers = CompilerPolicy {
        insecure: cfg.insecure,
        whitelist_dirs: env.whitelist_dirs.clone(),
        cmdlist,
        path: env.path.clone(),
    };
    let safeguard = ProcessEnv
        .var("_DISTCC_SAFEGUARD")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);

    if inetd {
        return serve_inetd(cfg, env, allow, compilers, safeguard, gate);
    }
    serve_daemon(cfg, env, allow, compilers, safeguard, gate)
}

/// distcc `dcc_should_be_inetd`: stdin a socket means inetd; a tty or anything else, daemon.
/// Returns the decision and the reason, logged once the log is open.
fn should_be_inetd() -> (bool, &'static str) {
    match nix::sys::stat::fstat(std::io::stdin()) {
        Ok(st) if (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK => {
            (true, "stdin is socket; assuming --inetd mode")
        }
        Ok(_) if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) => {
            (false, "stdin is a tty; assuming --daemon mode")
        }
        _ => (
            false,
            "stdin is neither a tty nor a socket; assuming --daemon mode",
        ),
    }
}

fn setup_log(cfg: &Config) {
    let sink = match &cfg.log {
        LogTarget::Stderr => Sink::Stderr,
        LogTarget::File(p) => match Sink::append_file(p) {
            Ok(s) => s,
            Err(e) => {
                dcc_log!(
                    Level::Error,
                    "dcc_setup_real_log",
                    "failed to open {}: {e}",
                    p.display()
                );
                Sink::syslog("distccd")
            }
        },
        LogTarget::Syslog => Sink::syslog("distccd"),
    };
    log::init(Logger::new("distccd", cfg.log_level, sink));
}

/// distcc src/setuid.c: when started as root, become `--user` (default: the packaged
/// `distccd` or `distcc` user, else `nobody`, else 65534), drop supplementary groups, and set
/// no_new_privs. Refuse to go on as root.
fn discard_root(user: Option<&str>) -> Result<(), ExitCode> {
    use nix::unistd::{Gid, Uid, User, geteuid, getuid, setgid, setgroups, setuid};
    if !getuid().is_root() && !geteuid().is_root() {
        if user.is_some() {
            dcc_log!(
                Level::Warning,
                "distccd_parse_options",
                "--user is ignored when distccd is not run by root"
            );
        }
        return Ok(());
    }
    let candidates: Vec<&str> = match user {
        Some(u) => vec![u],
        None => vec!["distccd", "distcc"],
    };
    let mut found = None;
    for name in &candidates {
        if let Ok(Some(u)) = User::from_name(name) {
            found = Some((u.uid, u.gid));
            break;
        }
    }
    let (uid, gid) = match found {
        Some(ids) => ids,
        None => {
            if let Some(u) = user {
                dcc_log!(
                    Level::Warning,
                    "dcc_preferred_user",
                    "no such user as \"{u}\""
                );
            }
            match User::from_name("nobody") {
                Ok(Some(u)) => (u.uid, u.gid),
                _ => (Uid::from_raw(65534), Gid::from_raw(65534)),
            }
        }
    };
    if uid.is_root() {
        dcc_log!(
            Level::Critical,
            "dcc_discard_root",
            "refusing to run compiles as root (--user resolves to uid 0)"
        );
        return Err(ExitCode::SetuidFailed);
    }
    let fail = |what: &str, e: nix::Error| {
        dcc_log!(Level::Error, "dcc_discard_root", "{what} failed: {e}");
        ExitCode::SetuidFailed
    };
    setgid(gid).map_err(|e| fail("setgid", e))?;
    setgroups(&[gid]).map_err(|e| fail("setgroups", e))?;
    setuid(uid).map_err(|e| fail("setuid", e))?;
    if getuid().is_root() || geteuid().is_root() {
        dcc_log!(
            Level::Critical,
            "dcc_discard_root",
            "still have root privileges after trying to discard them!"
        );
        return Err(ExitCode::SetuidFailed);
    }
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    dcc_log!(
        Level::Debug,
        "dcc_discard_root",
        "discarded root privileges, changed to uid={uid} gid={gid}"
    );
    Ok(())
}

/// distcc `dcc_warn_masquerade_whitelist`: without a readable, non-empty whitelist
/// directory no compiler could ever run: say so and exit 110.
fn check_whitelist_dirs(env: &ServerEnv) -> Result<(), ExitCode> {
    let warn = "You must set up masquerade (see distcc(1)) to list whitelisted compilers or pass --enable-tcp-insecure. To set up masquerade automatically run update-distcc-symlinks.";
    let dirs: Vec<_> = env
        .whitelist_dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .collect();
    let first = env
        .whitelist_dirs
        .first()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    if dirs.is_empty() {
        dcc_log!(
            Level::Critical,
            "dcc_warn_masquerade_whitelist",
            "{first} not found. {warn}"
        );
        return Err(ExitCode::CompilerMissing);
    }
    if dirs.into_iter().all(|mut d| d.next().is_none()) {
        dcc_log!(
            Level::Critical,
            "dcc_warn_masquerade_whitelist",
            "{first} empty. {warn}"
        );
        return Err(ExitCode::CompilerMissing);
    }
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

fn bind_or_exit(
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

fn write_pid_file(path: &Path, pid: u32) {
    let r = std::fs::File::create(path).and_then(|mut f| writeln!(f, "{pid}"));
    if let Err(e) = r {
        dcc_log!(
            Level::Error,
            "dcc_save_pid",
            "failed to open pid file: {}: {e}",
            path.display()
        );
    }
}

fn serve_daemon(
    cfg: Config,
    env: ServerEnv,
    allow: Option<AllowList>,
    compilers: CompilerPolicy,
    safeguard: u32,
    gate: Option<Gate>,
) -> Result<(), ExitCode> {
    // Hold SIGTERM/SIGINT/SIGHUP from before the port is bound until the runtime's handlers
    // exist: a signal in between (a service manager stopping us at once) would otherwise kill
    // the daemon without cleanup. Threads inherit the mask; the handlers are registered, and
    // the signals unblocked, on the thread that runs the accept loop. Compilers start with an
    // empty mask (std resets it when spawning).
    let stop_signals = stop_signal_set();
    let _ = stop_signals.thread_block();
    let listener = bind_or_exit(cfg.listen, cfg.port, env.defer_accept)?;
    let stats_listener = if cfg.stats {
        Some(bind_or_exit(cfg.listen, cfg.stats_port, false)?)
    } else {
        None
    };
    let secure_listener = match cfg.secure.as_ref().and_then(|s| s.port) {
        Some(p) => Some(bind_or_exit(cfg.listen, p, env.defer_accept)?),
        None => None,
    };
    let gate = gate.map(Arc::new);
    dcc_log!(
        Level::Info,
        "dcc_standalone_server",
        "{} CPU{} online on this server",
        options::ncpus(),
        if options::ncpus() == 1 { "" } else { "s" }
    );
    dcc_log!(
        Level::Info,
        "dcc_standalone_server",
        "allowing up to {} active jobs",
        cfg.jobs
    );
    if cfg.no_detach {
        // distcc: stay in the foreground but in a new process group.
        let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    } else {
        // SAFETY: no other threads exist yet (the runtime is built after this).
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                if let Some(p) = &cfg.pid_file {
                    write_pid_file(p, child.as_raw() as u32);
                }
                // SAFETY: _exit skips destructors; the child owns the sockets now.
                unsafe { libc::_exit(0) };
            }
            Ok(nix::unistd::ForkResult::Child) => {
                let _ = nix::unistd::setsid();
            }
            Err(e) => {
                dcc_log!(Level::Error, "dcc_detach", "fork failed: {e}");
                return Err(ExitCode::DistccFailed);
            }
        }
    }
    if cfg.no_detach
        && let Some(p) = &cfg.pid_file
    {
        write_pid_file(p, std::process::id());
    }
    // distcc src/dparent.c: --zeroconf announces once detached (mdns-sd starts a thread, so
    // not before the fork); the guard withdraws it when serve_daemon returns.
    let _zeroconf = cfg
        .zeroconf_helper(&env)
        .and_then(|h| dcc_zeroconf::announce::publish(&h));
    // Each connection is a descriptor, and admission (crate::admit) may hold a few hundred
    // waiting ones: use the hard limit on open files, not the usual soft 1024.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    // Job directories a killed or crashed daemon left (none of a live daemon's: those are
    // locked), before the first job can make new ones.
    let swept = crate::workdir::sweep(&env.tmpdir);
    if swept > 0 {
        dcc_log!(
            Level::Notice,
            "dcc_cleanup_tempfiles",
            "removed {swept} job directories left in {} by an earlier daemon",
            env.tmpdir.display()
        );
    }
    let pid_file = cfg.pid_file.clone();
    let lifetime = cfg.lifetime;
    let no_fork = cfg.no_fork;
    let workers = options::ncpus().clamp(1, 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(8)
        .thread_stack_size(256 * 1024)
        .enable_all()
        .build()
        .map_err(|e| {
            dcc_log!(Level::Error, "main", "failed to start runtime: {e}");
            ExitCode::DistccFailed
        })?;
    let result = rt.block_on(async move {
        let (srv, tx) = Server::new(cfg, env, allow, compilers, ProcessRunner, safeguard);
        let listener = TcpListener::from_std(listener).map_err(|e| {
            dcc_log!(Level::Error, "main", "listener: {e}");
            ExitCode::DistccFailed
        })?;
        dcc_log!(
            Level::Info,
            "dcc_log_daemon_started",
            "daemon started ({} {}, distcc-rs {})",
            dcc_common::DISTCC_COMPAT_VERSION,
            dcc_common::gnu_host(),
            env!("CARGO_PKG_VERSION")
        );
        if let Some(sl) = stats_listener {
            let sl = TcpListener::from_std(sl).map_err(|_| ExitCode::DistccFailed)?;
            tokio::spawn(stats_http::serve(srv.clone(), sl));
        }
        // systemd (Type=notify): ready once the sockets accept. No-op without NOTIFY_SOCKET.
        let _ = sd_notify::notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::MainPid(std::process::id()),
        ]);
        let ticker = srv.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_secs(1));
            loop {
                iv.tick().await;
                ticker.stats.tick();
            }
        });
        if let Some(sl) = secure_listener {
            let sl = TcpListener::from_std(sl).map_err(|_| ExitCode::DistccFailed)?;
            let gate = gate.clone();
            tokio::spawn(accept_loop(
                srv.clone(),
                sl,
                no_fork,
                gate,
                Port::SecureOnly,
            ));
        }
        let accept = accept_loop(srv.clone(), listener, no_fork, gate, Port::Main);
        let stop = wait_for_stop(lifetime);
        tokio::select! {
            _ = accept => {}
            why = stop => dcc_log!(Level::Notice, "dcc_daemon_terminate", "{why}"),
        }
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let _ = tx.send(true);
        // Give running jobs a moment to see the shutdown and kill their compilers.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while srv.stats.current_load() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let removed = srv.registry.remove_all();
        if removed > 0 {
            dcc_log!(
                Level::Info,
                "dcc_cleanup_tempfiles",
                "deleted {removed} temporary directories"
            );
        }
        Ok::<(), ExitCode>(())
    });
    if let Some(p) = pid_file {
        let _ = std::fs::remove_file(p);
    }
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

fn stop_signal_set() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(s);
    }
    set
}

/// Resolve when the daemon should stop: a signal, or the end of `--lifetime`.
async fn wait_for_stop(lifetime: Option<Duration>) -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    // Handlers exist: let the signals held since start-up through (see serve_daemon).
    let _ = stop_signal_set().thread_unblock();
    async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let life = async {
        match lifetime {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(life);
    loop {
        tokio::select! {
            _ = recv(&mut term) => return "Terminated",
            _ = recv(&mut int) => return "Interrupt",
            _ = recv(&mut hup) => reopen_log(),
            _ = &mut life => return "lifetime expired",
        }
    }
}

/// SIGHUP: logrotate has moved the log file away; write to a new one by the same name.
fn reopen_log() {
    match log::reopen() {
        Ok(Some(p)) => dcc_log!(Level::Info, "dcc_reopen_log", "reopened {}", p.display()),
        Ok(None) => {}
        Err(e) => dcc_log!(Level::Error, "dcc_reopen_log", "cannot reopen the log: {e}"),
    }
}

/// Accept connections and serve each in its own task. Accepting never waits: a connection
/// waits (or is closed) in [`Server::admit`], by its address, so clients that send nothing
/// cannot stop others from being accepted (issue 10).
async fn accept_loop<R: Runner>(
    srv: Arc<Server<R>>,
    listener: TcpListener,
    no_fork: bool,
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
            // A refused connection is dropped here: no byte.
            let Ok(admission) = srv2.admit(peer).await else {
                return;
            };
            srv2.stats.accepted();
            srv2.metrics.connections.inc();
            let _ = sock.set_nodelay(true);
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
        if no_fork {
            task.await;
        } else {
            tokio::spawn(task);
        }
    }
}

fn serve_inetd(
    cfg: Config,
    env: ServerEnv,
    allow: Option<AllowList>,
    compilers: CompilerPolicy,
    safeguard: u32,
    gate: Option<Gate>,
) -> Result<(), ExitCode> {
    use std::os::fd::FromRawFd;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| ExitCode::DistccFailed)?;
    let result = rt.block_on(async move {
        let (srv, _tx) = Server::new(cfg, env, allow, compilers, ProcessRunner, safeguard);
        // A socket on stdin (inetd, systemd socket activation): check its peer.
        let stdin = std::io::stdin();
        let peer = socket2::SockRef::from(&stdin)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket());
        match peer {
            Some(peer) => {
                let admission = srv.admit(peer).await.map_err(|_| ExitCode::AccessDenied)?;
                // SAFETY: fd 0 is a connected socket (getpeername succeeded); we take a dup.
                let fd = nix::unistd::dup(std::io::stdin()).map_err(|_| ExitCode::IoError)?;
                let std_sock = unsafe { std::net::TcpStream::from_raw_fd(fd.as_raw_fd()) };
                std::mem::forget(fd);
                std_sock
                    .set_nonblocking(true)
                    .map_err(|_| ExitCode::IoError)?;
                let sock =
                    tokio::net::TcpStream::from_std(std_sock).map_err(|_| ExitCode::IoError)?;
                let (r, w) = sock.into_split();
                secure::serve(
                    &srv,
                    gate.as_ref(),
                    Port::Main,
                    r,
                    w,
                    Some(peer),
                    Some(admission),
                )
                .await;
            }
            None => {
                // Pipes (ssh mode): no address, no access check (distcc: "NOTSOCKET").
                let (r, w) = (tokio::io::stdin(), tokio::io::stdout());
                secure::serve(&srv, gate.as_ref(), Port::Main, r, w, None, None).await;
            }
        }
        // The job's directory is removed on a blocking thread, which this runtime does not
        // wait for when it shuts down: finish here.
        srv.registry.remove_all();
        Ok(())
    });
    // stdin's reader is a blocking thread that may wait forever on a pipe the peer keeps
    // open; do not wait for it.
    rt.shutdown_background();
    result
}
