//! `distccd`'s command line, with distcc's spelling (distcc src/dopt.c), parsed into a typed
//! [`Config`]; and the environment variables the daemon reads, parsed into [`ServerEnv`].
//!
//! popt accepted `--opt value`, `--opt=value` and, for short options, `-j4`; clap does too.
//! Bad options exit 101 (EXIT_BAD_ARGUMENTS) with distcc's message shape.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};
use dcc_common::{Env, ExitCode, Level};

use crate::access::{AllowEntry, AllowList, private_ranges};

/// What `--stats` serves, for `--help` and the man page (crate::stats_http).
pub const STATS_HELP: &str = "\
With --stats, the stats port (after the same --allow check) answers:
  GET /metrics      Prometheus/OpenMetrics counters, every one present from the start
  GET /status.json  this helper (host, port, version), counters, jobs now, recent failures
  GET /ui           a live page of the same, refreshed every second
  anything else     distcc's own statistics page, unchanged";

/// The command line as distcc spells it.
#[derive(Debug, Parser)]
#[command(
    name = "distccd",
    disable_version_flag = true,
    disable_help_flag = true,
    about = "distccd runs either from inetd or as a standalone daemon to compile\nfiles submitted by the distcc client.\n\ndistccd should only run on trusted networks.",
    after_help = STATS_HELP
)]
pub struct Options {
    /// explain usage and exit
    #[arg(long, action = ArgAction::SetTrue)]
    pub help: bool,
    /// show version and exit
    #[arg(long, action = ArgAction::SetTrue)]
    pub version: bool,
    /// save daemon process id to file [default: none]
    #[arg(short = 'P', long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// lower priority, 20=most nice [default: 5]
    #[arg(short = 'N', long, value_name = "LEVEL", allow_negative_numbers = true)]
    pub nice: Option<i32>,
    /// if run by root, change to this persona [default: distccd, else distcc, else nobody]
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// maximum tasks at any time [default: number of CPUs + 2]
    #[arg(short = 'j', long, value_name = "LIMIT", allow_negative_numbers = true)]
    pub jobs: Option<i64>,
    /// maximum lifetime of a compile request [default: 0, no limit]
    #[arg(
        long = "job-lifetime",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub job_lifetime: Option<i64>,
    /// TCP port to listen on [default: 3632]
    #[arg(short = 'p', long, value_name = "PORT", allow_negative_numbers = true)]
    pub port: Option<i64>,
    /// IP address to listen on [default: every address]
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<String>,
    /// client address access control, repeatable [default: the private ranges, with a warning]
    #[arg(short = 'a', long, value_name = "IP[/BITS]")]
    pub allow: Vec<String>,
    /// allow the private (non-Internet) address ranges
    #[arg(long = "allow-private")]
    pub allow_private: bool,
    /// enable statistics reporting via HTTP server: distcc's page, /metrics, /status.json, /ui [default: off]
    #[arg(long)]
    pub stats: bool,
    /// TCP port to listen on for statistics requests [default: 3633]
    #[arg(
        long = "stats-port",
        value_name = "PORT",
        allow_negative_numbers = true
    )]
    pub stats_port: Option<i64>,
    /// register via mDNS/DNS-SD
    #[arg(long)]
    pub zeroconf: bool,
    /// set detail level for log file (critical, error, warning, notice, info, debug) [default: notice]
    #[arg(long = "log-level", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// set log level to "debug"
    #[arg(long)]
    pub verbose: bool,
    /// don't detach from parent (for daemontools, systemd, etc)
    #[arg(long = "no-detach")]
    pub no_detach: bool,
    /// send messages here instead of syslog [default: syslog]
    #[arg(long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// send messages to stderr
    #[arg(long = "log-stderr")]
    pub log_stderr: bool,
    /// for running under gdb: --daemon --no-detach --no-fork --log-stderr --verbose
    #[arg(short = 'W', long)]
    pub wizard: bool,
    /// serve client connected to stdin
    #[arg(long)]
    pub inetd: bool,
    /// bind and listen on socket
    #[arg(long)]
    pub daemon: bool,
    /// serve every connection in the listening process (debugging)
    #[arg(long = "no-fork")]
    pub no_fork: bool,
    /// accepted and ignored (distcc legacy)
    #[arg(long = "no-fifo", hide = true)]
    pub no_fifo: bool,
    /// exit after SECONDS [default: 0, never]
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub lifetime: Option<i64>,
    /// skip the compiler whitelist (CVE-2004-2687): any compiler name runs
    #[arg(long = "enable-tcp-insecure", alias = "make-me-a-botnet")]
    pub enable_tcp_insecure: bool,
    /// allow -specs=FILE when DIR/FILE is a regular file (distcc HEAD) [default: none]
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// write N to /proc/self/oom_score_adj (distcc HEAD, Linux) [default: unchanged]
    #[arg(
        long = "oom-score-adj",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub oom_score_adj: Option<i32>,
    /// authorized client keys: enables the secure transport (distcc-rs) [default: none, plain only]
    #[arg(long = "auth-keys", value_name = "FILE")]
    pub auth_keys: Option<PathBuf>,
    /// this daemon's private key for the secure transport (distcc-rs) [default: none]
    #[arg(long = "host-key", value_name = "FILE")]
    pub host_key: Option<PathBuf>,
    /// refuse plain distcc clients: serve the secure transport only (distcc-rs)
    #[arg(long = "require-auth")]
    pub require_auth: bool,
    /// also listen on PORT for the secure transport only (distcc-rs) [default: none]
    #[arg(
        long = "secure-port",
        value_name = "PORT",
        allow_negative_numbers = true
    )]
    pub secure_port: Option<i64>,
    /// largest body after decompression: the .i, or one pump file (distcc-rs; K, M, G) [default: 256M]
    #[arg(long = "max-input-size", value_name = "SIZE")]
    pub max_input_size: Option<String>,
    /// largest sum of one request's bodies after decompression (distcc-rs; K, M, G) [default: 512M]
    #[arg(long = "max-request-size", value_name = "SIZE")]
    pub max_request_size: Option<String>,
    /// memory for decoding request bodies, all clients together (distcc-rs; K, M, G) [default: 256M]
    #[arg(long = "receive-memory", value_name = "SIZE")]
    pub receive_memory: Option<String>,
    /// disk for received request bodies, all clients together (distcc-rs; K, M, G) [default: 2G]
    #[arg(long = "receive-disk", value_name = "SIZE")]
    pub receive_disk: Option<String>,
    /// disk for headers kept by content hash for DIST 0x303 clients, least recently used
    /// evicted (distcc-rs; K, M, G) [default: 1G]
    #[arg(long = "header-cache-size", value_name = "SIZE")]
    pub header_cache_size: Option<String>,
}

/// How the daemon serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeMode {
    /// Decide from stdin (distcc `dcc_should_be_inetd`).
    Auto,
    Daemon,
    Inetd,
}

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Syslog,
    File(PathBuf),
    Stderr,
}

/// The secure transport's settings (`--auth-keys` and the options that go with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecureOptions {
    /// `--auth-keys`: read again for every handshake.
    pub auth_keys: PathBuf,
    /// `--host-key`: read once, before privileges are dropped.
    pub host_key: PathBuf,
    /// `--require-auth`: plain requests on the main port are refused.
    pub require_auth: bool,
    /// `--secure-port`: a second listener that serves the secure transport only.
    pub port: Option<u16>,
}

/// Bounds on request bodies (issue 10; docs/decisions/daemon.md, "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimits {
    /// `--max-input-size`: one body after decompression.
    pub max_input: u64,
    /// `--max-request-size`: all bodies of one request after decompression.
    pub max_request: u64,
    /// `--receive-memory`: the daemon-wide memory budget for decoding bodies.
    pub memory: u64,
    /// `--receive-disk`: the daemon-wide disk budget for received bodies.
    pub disk: u64,
    /// `--header-cache-size`: the bound of the store of headers by content hash (DIST
    /// 0x303, [`crate::cas_job`]).
    pub header_cache: u64,
}

impl Default for ReceiveLimits {
    /// The largest preprocessed units of real projects are tens of MiB (a big C++ unit with
    /// Boost or Eigen, an amalgamation such as sqlite3.c at 9 MiB); 256 MiB per body leaves
    /// room. A protocol-3 request ships a unit's headers, each usually small.
    fn default() -> Self {
        ReceiveLimits {
            max_input: 256 << 20,
            max_request: 512 << 20,
            memory: 256 << 20,
            disk: 2 << 30,
            header_cache: dcc_store::DEFAULT_MAX_BYTES,
        }
    }
}

/// `SIZE` with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, shift) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 10),
        (i, 'm' | 'M') => (&v[..i], 20),
        (i, 'g' | 'G') => (&v[..i], 30),
        _ => (v, 0),
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(1u64 << shift).filter(|n| *n > 0)
}

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: ServeMode,
    /// `None`: no `--allow` and no `--allow-private` (private ranges with distcc's warning).
    pub allow: Option<AllowList>,
    pub listen: Option<IpAddr>,
    pub port: u16,
    pub jobs: usize,
    pub nice: i32,
    pub no_detach: bool,
    pub no_fork: bool,
    pub pid_file: Option<PathBuf>,
    pub user: Option<String>,
    pub lifetime: Option<Duration>,
    pub job_lifetime: Option<Duration>,
    pub log: LogTarget,
    pub log_level: Level,
    /// A `--log-level` name that was not understood: warned about, not fatal (as distcc).
    pub bad_log_level: Option<String>,
    pub stats: bool,
    pub stats_port: u16,
    pub insecure: bool,
    pub zeroconf: bool,
    pub sysroot: Option<PathBuf>,
    pub oom_score_adj: Option<i32>,
    /// The secure transport, when `--auth-keys` is given.
    pub secure: Option<SecureOptions>,
    pub receive: ReceiveLimits,
}

/// What parsing the command line decided.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Config>),
    /// Print this on stdout and exit 0 (`--help`, `--version`).
    Print(String),
}

/// A command-line error: message for stderr, and exit code 101.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OptionError {
    pub message: String,
}

impl OptionError {
    fn new(message: impl Into<String>) -> Self {
        OptionError {
            message: message.into(),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::BadArguments
    }
}

/// Number of CPUs online (for the default `--jobs`, distcc's ncpus + 2).
pub fn ncpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Config {
    /// What `--zeroconf` announces (dcc-zeroconf), or `None` without `--zeroconf`.
    pub fn zeroconf_helper<'a>(
        &self,
        env: &'a ServerEnv,
    ) -> Option<dcc_zeroconf::announce::Helper<'a>> {
        self.zeroconf.then(|| dcc_zeroconf::announce::Helper {
            listen: self.listen,
            port: self.port,
            cpus: ncpus(),
            jobs: self.jobs,
            compiler_path: &env.path,
        })
    }
}

fn port(v: Option<i64>, default: u16) -> Result<u16, OptionError> {
    match v {
        None => Ok(default),
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Some(p) => Err(OptionError::new(format!("port number out of range: {p}"))),
    }
}

/// Parse `distccd`'s arguments (including argv[0]).
pub fn parse<I, T>(args: I) -> Result<Parsed, OptionError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let o = Options::try_parse_from(args).map_err(|e| {
        use clap::error::{ContextKind, ErrorKind};
        let arg = e
            .get(ContextKind::InvalidArg)
            .map(|v| v.to_string())
            .unwrap_or_default();
        match e.kind() {
            ErrorKind::UnknownArgument => OptionError::new(format!("{arg}: unknown option")),
            _ => OptionError::new(
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
                    .to_owned(),
            ),
        }
    })?;
    if o.help {
        use clap::CommandFactory;
        let mut text = dcc_common::version_text("distccd");
        text.push('\n');
        text.push_str(&Options::command().render_help().to_string());
        return Ok(Parsed::Print(text));
    }
    if o.version {
        return Ok(Parsed::Print(dcc_common::version_text("distccd")));
    }
    Ok(Parsed::Run(Box::new(to_config(o)?)))
}

fn to_config(o: Options) -> Result<Config, OptionError> {
    let jobs = match o.jobs {
        None => ncpus() + 2,
        // distcc 3.4 also refused more than 200; HEAD lifted that, and so do we.
        Some(j) if j >= 1 => usize::try_from(j).unwrap_or(usize::MAX),
        Some(_) => return Err(OptionError::new("--jobs argument must be more than 0")),
    };
    let mut entries = Vec::new();
    for a in &o.allow {
        entries.push(
            a.parse::<AllowEntry>()
                .map_err(|e| OptionError::new(e.to_string()))?,
        );
    }
    if o.allow_private {
        entries.extend(private_ranges());
    }
    let allow = (!entries.is_empty()).then(|| AllowList::new(entries));
    let listen = match &o.listen {
        None => None,
        Some(a) => Some(
            a.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| {
                    OptionError::new(format!("listen address \"{a}\" is not a valid IP address"))
                })?,
        ),
    };
    let (mut log_level, mut bad_log_level) = (Level::Notice, None);
    if let Some(name) = &o.log_level {
        match Level::from_name(name) {
            Some(l) => log_level = l,
            None => bad_log_level = Some(name.clone()),
        }
    }
    if o.verbose || o.wizard {
        log_level = Level::Debug;
    }
    let log = if o.log_stderr || o.wizard {
        LogTarget::Stderr
    } else if let Some(f) = &o.log_file {
        LogTarget::File(f.clone())
    } else {
        LogTarget::Syslog
    };
    let mode = match (o.inetd, o.daemon || o.wizard) {
        (true, false) => ServeMode::Inetd,
        (false, true) => ServeMode::Daemon,
        (false, false) => ServeMode::Auto,
        (true, true) => {
            return Err(OptionError::new(
                "--inetd and --daemon are mutually exclusive",
            ));
        }
    };
    let secs = |v: Option<i64>| v.filter(|s| *s > 0).map(|s| Duration::from_secs(s as u64));
    let main_port = port(o.port, dcc_common::DEFAULT_PORT)?;
    let secure = secure_options(&o, main_port)?;
    let receive = receive_limits(&o)?;
    Ok(Config {
        mode,
        allow,
        listen,
        port: main_port,
        jobs,
        nice: o.nice.unwrap_or(5),
        no_detach: o.no_detach || o.wizard,
        no_fork: o.no_fork || o.wizard,
        pid_file: o.pid_file,
        user: o.user,
        lifetime: secs(o.lifetime),
        job_lifetime: secs(o.job_lifetime),
        log,
        log_level,
        bad_log_level,
        stats: o.stats,
        stats_port: port(o.stats_port, dcc_common::DEFAULT_STATS_PORT)?,
        insecure: o.enable_tcp_insecure,
        zeroconf: o.zeroconf,
        sysroot: o.sysroot,
        oom_score_adj: o.oom_score_adj,
        secure,
        receive,
    })
}

fn receive_limits(o: &Options) -> Result<ReceiveLimits, OptionError> {
    let d = ReceiveLimits::default();
    let size = |v: &Option<String>, name: &str, default: u64| match v {
        None => Ok(default),
        Some(s) => parse_size(s)
            .ok_or_else(|| OptionError::new(format!("{name}: bad size \"{s}\" (e.g. 64M, 2G)"))),
    };
    let r = ReceiveLimits {
        max_input: size(&o.max_input_size, "--max-input-size", d.max_input)?,
        max_request: size(&o.max_request_size, "--max-request-size", d.max_request)?,
        memory: size(&o.receive_memory, "--receive-memory", d.memory)?,
        disk: size(&o.receive_disk, "--receive-disk", d.disk)?,
        header_cache: size(&o.header_cache_size, "--header-cache-size", d.header_cache)?,
    };
    // A body's wire length is a u32; bigger limits mean nothing.
    if r.max_input > u64::from(u32::MAX) {
        return Err(OptionError::new("--max-input-size: at most 4G"));
    }
    Ok(r)
}

/// `--auth-keys` turns the secure transport on; the other secure options need it, and it
/// needs `--host-key`.
fn secure_options(o: &Options, main_port: u16) -> Result<Option<SecureOptions>, OptionError> {
    let Some(auth_keys) = o.auth_keys.clone() else {
        for (set, name) in [
            (o.host_key.is_some(), "--host-key"),
            (o.require_auth, "--require-auth"),
            (o.secure_port.is_some(), "--secure-port"),
        ] {
            if set {
                return Err(OptionError::new(format!(
                    "{name} needs --auth-keys (the authorized client keys)"
                )));
            }
        }
        return Ok(None);
    };
    let Some(host_key) = o.host_key.clone() else {
        return Err(OptionError::new(
            "--auth-keys needs --host-key (this daemon's private key; make one with distcc-keygen -f FILE)",
        ));
    };
    let secure_port = match o.secure_port {
        None => None,
        Some(_) => Some(port(o.secure_port, 0)?),
    };
    if secure_port == Some(main_port) {
        return Err(OptionError::new(format!(
            "--secure-port {main_port} is the main port: the main port already serves the secure transport"
        )));
    }
    Ok(Some(SecureOptions {
        auth_keys,
        host_key,
        require_auth: o.require_auth,
        port: secure_port,
    }))
}

/// The environment variables the daemon reads (reference §4.1), parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub struct ServerEnv {
    /// `DISTCCD_PATH`: replaces PATH for compiler lookup.
    pub distccd_path: Option<String>,
    /// The PATH the compiler is looked up on (DISTCCD_PATH, else PATH).
    pub path: String,
    /// `DISTCC_CMDLIST` and `DISTCC_CMDLIST_NUMWORDS` (default 1).
    pub cmdlist: Option<PathBuf>,
    pub cmdlist_numwords: usize,
    /// `DISTCC_SAVE_TEMPS=1`: keep job directories.
    pub save_temps: bool,
    /// `TMPDIR`, default /tmp.
    pub tmpdir: PathBuf,
    /// `DISTCC_TCP_DEFER_ACCEPT` (default on).
    pub defer_accept: bool,
    /// `DISTCC_IO_TIMEOUT` seconds (default 300).
    pub io_timeout: Duration,
    /// `DISTCC_RS_HEADER_TIMEOUT` seconds (default 30): a request's header must be complete
    /// this long after the connection is accepted (issue 10; [`crate::admit`]).
    pub header_timeout: Duration,
    /// `DISTCC_RS_BODY_TIMEOUT` seconds (default 10) and `DISTCC_RS_BODY_RATE` KiB/s (default
    /// 64): once a body's token is in, the body must arrive within the timeout plus its
    /// length at the rate, and a request's bodies within the sum of theirs
    /// ([`ServerEnv::body_allowance`]; issue 10).
    pub body_timeout: Duration,
    pub body_rate: u64,
    /// `DISTCC_RS_WHITELIST_DIR`: colon-separated whitelist directories replacing the built-in
    /// `/usr/lib/distcc` (ours: for tests and non-standard prefixes).
    pub whitelist_dirs: Vec<PathBuf>,
}

/// The built-in whitelist directories (distcc: `LIBDIR/distcc` and `/usr/lib/distcc`).
pub const DEFAULT_WHITELIST_DIRS: &[&str] = &["/usr/lib/distcc"];

impl ServerEnv {
    pub fn from_env(env: &dyn Env) -> Result<ServerEnv, OptionError> {
        let distccd_path = env.var("DISTCCD_PATH");
        let path = distccd_path
            .clone()
            .or_else(|| env.var("PATH"))
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        let io_timeout = match env.var("DISTCC_IO_TIMEOUT") {
            None => Duration::from_secs(300),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => Duration::from_secs(n as u64),
                _ => return Err(OptionError::new("Bad DISTCC_IO_TIMEOUT value")),
            },
        };
        let header_timeout = match env.var("DISTCC_RS_HEADER_TIMEOUT") {
            None => Duration::from_secs(30),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Duration::from_secs(n),
                _ => return Err(OptionError::new("Bad DISTCC_RS_HEADER_TIMEOUT value")),
            },
        };
        let positive = |name: &str, default: u64| match env.var(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(OptionError::new(format!("Bad {name} value"))),
            },
        };
        let body_timeout = Duration::from_secs(positive("DISTCC_RS_BODY_TIMEOUT", 10)?);
        let body_rate = positive("DISTCC_RS_BODY_RATE", 64)?.saturating_mul(1024);
        let whitelist_dirs = match env.var("DISTCC_RS_WHITELIST_DIR") {
            Some(v) if !v.is_empty() => v.split(':').map(PathBuf::from).collect(),
            _ => DEFAULT_WHITELIST_DIRS.iter().map(PathBuf::from).collect(),
        };
        Ok(ServerEnv {
            distccd_path,
            path,
            cmdlist: env.var_os("DISTCC_CMDLIST").map(PathBuf::from),
            cmdlist_numwords: env
                .var("DISTCC_CMDLIST_NUMWORDS")
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(1),
            save_temps: env.bool_or("DISTCC_SAVE_TEMPS", false),
            tmpdir: env
                .var_os("TMPDIR")
                .filter(|t| !t.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp")),
            defer_accept: env.bool_or("DISTCC_TCP_DEFER_ACCEPT", true),
            io_timeout,
            header_timeout,
            body_timeout,
            body_rate,
            whitelist_dirs,
        })
    }

    /// How long a body of `len` bytes on the wire may take once its token is in: the body
    /// timeout plus its length at the body rate. A plain client's pause before its `DOTI`
    /// (it preprocesses then) is not counted: that is `DISTCC_IO_TIMEOUT`'s, as in distcc.
    pub fn body_allowance(&self, len: u32) -> Duration {
        self.body_timeout + Duration::from_secs(u64::from(len) / self.body_rate.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, OptionError> {
        let mut v = vec!["distccd"];
        v.extend_from_slice(args);
        match parse(v)? {
            Parsed::Run(c) => Ok(*c),
            Parsed::Print(_) => panic!("printed"),
        }
    }

    #[test]
    fn the_guides_command_line_parses() {
        let c = run(&[
            "--no-detach",
            "--daemon",
            "--allow",
            "10.3.0.0/24",
            "--jobs",
            "20",
            "--log-file",
            "/var/log/distccd.log",
            "--port",
            "3932",
            "--stats-port",
            "3933",
        ])
        .unwrap();
        assert_eq!(c.mode, ServeMode::Daemon);
        assert!(c.no_detach);
        assert_eq!(c.jobs, 20);
        assert_eq!(c.port, 3932);
        assert_eq!(c.stats_port, 3933);
        assert_eq!(c.log, LogTarget::File("/var/log/distccd.log".into()));
        assert!(c.allow.unwrap().allows("10.3.0.6".parse().unwrap()));
        assert_eq!(c.nice, 5);
    }

    #[test]
    fn popt_spellings_work() {
        let c = run(&[
            "-j4",
            "--port=4000",
            "-a",
            "127.0.0.1",
            "--log-level=info",
            "-N",
            "10",
        ])
        .unwrap();
        assert_eq!((c.jobs, c.port, c.nice), (4, 4000, 10));
        assert_eq!(c.log_level, Level::Info);
        let c = run(&["--make-me-a-botnet"]).unwrap();
        assert!(c.insecure);
        let c = run(&["--wizard"]).unwrap();
        assert!(c.no_detach && c.no_fork && c.log == LogTarget::Stderr);
        assert_eq!(c.log_level, Level::Debug);
    }

    #[test]
    fn bad_options_are_distccs_errors() {
        assert_eq!(
            run(&["--bogus-option"]).unwrap_err().message,
            "--bogus-option: unknown option"
        );
        assert_eq!(
            run(&["--port", "80000"]).unwrap_err().message,
            "port number out of range: 80000"
        );
        assert!(run(&["--jobs", "0"]).is_err());
        assert!(run(&["--allow", "10.0.0.0/33"]).is_err());
        assert!(run(&["--listen", "nowhere"]).is_err());
        // An unknown log level is a warning, not an error (distcc).
        assert_eq!(
            run(&["--log-level", "loud"])
                .unwrap()
                .bad_log_level
                .as_deref(),
            Some("loud")
        );
    }

    #[test]
    fn secure_options() {
        assert!(run(&[]).unwrap().secure.is_none());
        let c = run(&[
            "--auth-keys",
            "/etc/distcc/authorized_keys",
            "--host-key=/etc/distcc/host.key",
            "--require-auth",
            "--secure-port",
            "3633",
        ])
        .unwrap();
        assert_eq!(
            c.secure,
            Some(SecureOptions {
                auth_keys: "/etc/distcc/authorized_keys".into(),
                host_key: "/etc/distcc/host.key".into(),
                require_auth: true,
                port: Some(3633),
            })
        );
        let msg = |a: &[&str]| run(a).unwrap_err().message;
        assert!(msg(&["--require-auth"]).contains("needs --auth-keys"));
        assert!(msg(&["--host-key", "k"]).contains("needs --auth-keys"));
        assert!(msg(&["--secure-port", "4000"]).contains("needs --auth-keys"));
        assert!(msg(&["--auth-keys", "a"]).contains("needs --host-key"));
        assert!(
            msg(&[
                "--auth-keys",
                "a",
                "--host-key",
                "k",
                "--secure-port",
                "3632"
            ])
            .contains("is the main port")
        );
        assert!(
            msg(&["--auth-keys", "a", "--host-key", "k", "--secure-port", "0"])
                .contains("out of range")
        );
    }

    #[test]
    fn receive_limits_parse() {
        assert_eq!(run(&[]).unwrap().receive, ReceiveLimits::default());
        let c = run(&[
            "--max-input-size",
            "64M",
            "--max-request-size=1G",
            "--receive-memory",
            "512k",
            "--receive-disk",
            "1048576",
            "--header-cache-size",
            "64M",
        ])
        .unwrap();
        assert_eq!(
            c.receive,
            ReceiveLimits {
                max_input: 64 << 20,
                max_request: 1 << 30,
                memory: 512 << 10,
                disk: 1 << 20,
                header_cache: 64 << 20,
            }
        );
        assert!(run(&["--receive-disk", "lots"]).is_err());
        assert!(run(&["--receive-disk", "0"]).is_err());
        assert!(run(&["--max-input-size", "5G"]).is_err());
        assert_eq!(parse_size("99999999999999G"), None);
    }

    #[test]
    fn help_and_version_print() {
        match parse(["distccd", "--version"]).unwrap() {
            Parsed::Print(t) => assert!(t.starts_with("distccd 3.4 ")),
            _ => panic!(),
        }
        match parse(["distccd", "--help"]).unwrap() {
            Parsed::Print(t) => {
                assert!(t.contains("--allow"));
                // Issue 14: the stats endpoints are listed.
                for path in ["/metrics", "/status.json", "/ui"] {
                    assert!(t.contains(path), "{path} missing in:\n{t}");
                }
            }
            _ => panic!(),
        }
    }

    /// Issue 14: `--help` (and the man page, generated from the same text) gives the default
    /// of every option that takes a value.
    #[test]
    fn every_option_with_a_value_names_its_default() {
        use clap::CommandFactory;
        let cmd = Options::command();
        for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if a.get_action().takes_values() {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    help.contains("[default: "),
                    "--{} has no default in its help: {help}",
                    a.get_long().unwrap_or_default()
                );
            }
        }
    }

    #[test]
    fn environment_is_read_once() {
        let env = dcc_common::MapEnv::new()
            .with("PATH", "/usr/bin")
            .with("DISTCCD_PATH", "/opt/cross/bin")
            .with("DISTCC_SAVE_TEMPS", "1")
            .with("TMPDIR", "/var/tmp");
        let e = ServerEnv::from_env(&env).unwrap();
        assert_eq!(e.path, "/opt/cross/bin");
        assert!(e.save_temps);
        assert_eq!(e.tmpdir, PathBuf::from("/var/tmp"));
        assert_eq!(e.whitelist_dirs, vec![PathBuf::from("/usr/lib/distcc")]);
        let bad = dcc_common::MapEnv::new().with("DISTCC_IO_TIMEOUT", "0");
        assert!(ServerEnv::from_env(&bad).is_err());
    }

    #[test]
    fn a_body_gets_its_timeout_plus_its_length_at_the_body_rate() {
        let e = ServerEnv::from_env(&dcc_common::MapEnv::new()).unwrap();
        assert_eq!(e.body_allowance(0), Duration::from_secs(10));
        assert_eq!(e.body_allowance(64 << 20), Duration::from_secs(10 + 1024));
        let env = dcc_common::MapEnv::new()
            .with("DISTCC_RS_BODY_TIMEOUT", "2")
            .with("DISTCC_RS_BODY_RATE", "1024");
        let e = ServerEnv::from_env(&env).unwrap();
        assert_eq!(e.body_allowance(2 << 20), Duration::from_secs(4));
        for (k, v) in [
            ("DISTCC_RS_BODY_TIMEOUT", "0"),
            ("DISTCC_RS_BODY_RATE", "fast"),
        ] {
            let bad = dcc_common::MapEnv::new().with(k, v);
            assert!(ServerEnv::from_env(&bad).is_err(), "{k}={v}");
        }
    }
}
