//! Start-up (distcc src/daemon.c, src/dparent.c, src/setuid.c; reference §4.2): everything
//! before the daemon serves, in distcc's order, and the process-level pieces around
//! [`crate::listen::serve`] (signals, pid file, systemd).
//!
//! Start-up order follows distcc: nice, drop root ([`crate::privileges`]), open the log, chdir
//! to `$TMPDIR`, log the PATH, check the whitelist directory; then inetd (one job on
//! stdin/stdout) or daemon mode: bind (exit 102 if the port is taken), detach (the parent
//! writes the pid file and exits, so a caller may connect as soon as `distccd --daemon`
//! returns), and only then build the tokio runtime (fork and privileges before threads).
//!
//! distcc pre-forks `--jobs` workers that each accept; we accept in one task
//! ([`crate::listen`]) and bound work with [`Server::admit`] (unfinished requests per client
//! address), semaphores ([`Server::intake_limit`] requests read at once, `--jobs` compiles at
//! once). `SIGTERM` and `SIGINT` are `serve`'s shutdown: stop accepting, kill running
//! compiles, remove every job directory; then the pid file goes and the daemon exits 0.
//! `SIGHUP` reopens `--log-file` (logrotate), where distcc 3.4 stops
//! (docs/decisions/daemon.md).

use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dcc_common::log::{self, Sink};
use dcc_common::{Env, ExitCode, Level, Logger, ProcessEnv, dcc_log};

use crate::access::{AllowList, private_ranges};
use crate::compiler::{CmdList, CompilerPolicy};
use crate::exec::ProcessRunner;
use crate::listen::{self, Listeners, bind_or_exit};
use crate::options::{self, Config, LogTarget, Parsed, ServeMode, ServerEnv};
use crate::privileges::discard_root;
use crate::secure::Gate;
use crate::server::Server;

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
    if let Err(e) = stop_signal_set().thread_block() {
        dcc_log!(Level::Warning, "main", "cannot hold the stop signals: {e}");
    }
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
        let own = nix::unistd::Pid::from_raw(0);
        if let Err(e) = nix::unistd::setpgid(own, own) {
            dcc_log!(Level::Warning, "dcc_detach", "setpgid failed: {e}");
        }
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
                if let Err(e) = nix::unistd::setsid() {
                    dcc_log!(Level::Warning, "dcc_detach", "setsid failed: {e}");
                }
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
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        dcc_log!(
            Level::Info,
            "main",
            "cannot raise the open files limit to {hard}: {e}"
        );
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
        let (srv, _stop) = Server::new(cfg, env, allow, compilers, ProcessRunner, safeguard);
        let listeners = Listeners {
            main: listen::on_runtime(listener, "main")?,
            secure: secure_listener
                .map(|l| listen::on_runtime(l, "--secure-port"))
                .transpose()?,
            stats: stats_listener
                .map(|l| listen::on_runtime(l, "--stats-port"))
                .transpose()?,
            gate,
        };
        dcc_log!(
            Level::Info,
            "dcc_log_daemon_started",
            "daemon started ({} {}, distcc-rs {})",
            dcc_common::DISTCC_COMPAT_VERSION,
            dcc_common::gnu_host(),
            env!("CARGO_PKG_VERSION")
        );
        // systemd (Type=notify): ready once the sockets accept. No-op without NOTIFY_SOCKET.
        notify(sd_notify::NotifyState::Ready);
        let stop = async {
            let why = wait_for_stop(lifetime).await;
            dcc_log!(Level::Notice, "dcc_daemon_terminate", "{why}");
            notify(sd_notify::NotifyState::Stopping);
        };
        listen::serve(listeners, srv, stop).await;
        Ok::<(), ExitCode>(())
    });
    if let Some(p) = pid_file
        && let Err(e) = std::fs::remove_file(&p)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        dcc_log!(
            Level::Warning,
            "dcc_remove_pid",
            "cannot remove pid file {}: {e}",
            p.display()
        );
    }
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Tell systemd (Type=notify) where the daemon is; nothing without NOTIFY_SOCKET.
fn notify(state: sd_notify::NotifyState) {
    let main_pid = sd_notify::NotifyState::MainPid(std::process::id());
    if let Err(e) = sd_notify::notify(&[state, main_pid]) {
        dcc_log!(Level::Warning, "sd_notify", "cannot notify systemd: {e}");
    }
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
    if let Err(e) = stop_signal_set().thread_unblock() {
        dcc_log!(
            Level::Warning,
            "main",
            "cannot unblock the stop signals: {e}"
        );
    }
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

fn serve_inetd(
    cfg: Config,
    env: ServerEnv,
    allow: Option<AllowList>,
    compilers: CompilerPolicy,
    safeguard: u32,
    gate: Option<Gate>,
) -> Result<(), ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            dcc_log!(Level::Error, "main", "failed to start runtime: {e}");
            ExitCode::DistccFailed
        })?;
    let result = rt.block_on(async move {
        let (srv, _stop) = Server::new(cfg, env, allow, compilers, ProcessRunner, safeguard);
        listen::serve_inetd(&srv, gate.as_ref()).await
    });
    // stdin's reader is a blocking thread that may wait forever on a pipe the peer keeps
    // open; do not wait for it.
    rt.shutdown_background();
    result
}
