//! The client's environment, read once at start-up into a typed [`Config`] (reference §2.4).
//!
//! Every variable is distcc's own and is parsed the way distcc parses it: booleans with
//! `dcc_getenv_bool` (exactly "1"/"0"), numbers with C's `atoi`, and some variables count as
//! soon as they are set at all (`DISTCC_SKIP_LOCAL_RETRY`, `DISTCC_NO_REWRITE_CROSS`).
//! Nothing else in the crate reads the environment, so tests hand in a `MapEnv`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use dcc_common::Env;
use dcc_common::sys::atoi_i64;

/// distcc src/io.c: `DISTCC_IO_TIMEOUT` default, seconds.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(300);
/// distcc src/clinet.c `dcc_connect_timeout`: fixed, not configurable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
pub use dcc_state::DEFAULT_BACKOFF_PERIOD;

/// The typed client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DISTCC_VERBOSE=1`: debug-level log.
    pub verbose: bool,
    /// `DISTCC_LOG` (when non-empty): append the log to this file, at info level.
    pub log_file: Option<OsString>,
    /// `UNCACHED_ERR_FD` (without `DISTCC_LOG`): log to this inherited descriptor.
    pub uncached_err_fd: Option<i32>,
    /// `DISTCC_FALLBACK` (default on): compile locally when distribution fails.
    pub fallback: bool,
    /// `DISTCC_BACKOFF_PERIOD` as `atoi` reads it. 0 disables backoff marks entirely (and
    /// limits retries to 3); a negative value keeps the marks but never backs off.
    pub backoff_period: i64,
    /// `DISTCC_IO_TIMEOUT`: `Err(text)` for a value ≤ 0, which distcc reports (exit 101) only
    /// when it first does network IO.
    pub io_timeout: Result<Duration, String>,
    /// `DISTCC_SAVE_TEMPS=1`: keep the preprocessed source and server stderr in `TMPDIR`.
    pub save_temps: bool,
    /// `DISTCC_SSH`: the ssh command, split on spaces (distcc src/ssh.c).
    pub ssh: Option<String>,
    /// `DISTCC_SKIP_LOCAL_RETRY` set at all: a remote compile error is final.
    pub skip_local_retry: bool,
    /// `DISTCC_NO_REWRITE_CROSS` set at all: no compiler-name rewriting.
    pub no_rewrite_cross: bool,
    /// `TMPDIR`, default `/tmp`.
    pub tmpdir: PathBuf,
    /// `PATH` as the process started with it.
    pub path: Option<OsString>,
    /// `_DISTCC_SAFEGUARD`: recursion level (0 when unset; a value `atoi` reads as 0 is 1).
    pub safeguard: u32,
    /// `DEPENDENCIES_OUTPUT` (or `SUNPRO_DEPENDENCIES`): gcc's own dependency variable.
    pub dependencies_output: Option<String>,
    /// `DISTCC_DIR`, unset meaning `~/.distcc`.
    pub distcc_dir: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `DISTCC_RS_KEY` (ours): the client's private key for `,secure` hosts.
    pub secure_key: Option<PathBuf>,
    /// `DISTCC_RS_KNOWN_HOSTS` (ours): the daemons' public keys for `,secure` hosts.
    pub known_hosts: Option<PathBuf>,
    /// `DISTCC_RS_REPLY_LIMIT_MB` (ours): the most one body of a reply may hold, in MiB (a
    /// value `atoi` reads as 0 or less means the default; see [`crate::reply`]).
    pub reply_limit_mb: u64,
}

impl Config {
    /// `DISTCC_IO_TIMEOUT` for the first network IO: a bad value is reported as distcc does
    /// (only then: a compile that stays local never reads it) and gives exit 101.
    pub fn io_timeout_or_report(&self) -> Result<Duration, i32> {
        self.io_timeout.clone().map_err(|text| {
            dcc_common::dcc_log!(
                dcc_common::Level::Error,
                "dcc_get_io_timeout",
                "Bad DISTCC_IO_TIMEOUT value: {text}"
            );
            dcc_common::ExitCode::BadArguments.code()
        })
    }

    /// Read every variable the client uses.
    pub fn from_env(env: &dyn Env) -> Config {
        let log_file = env.var_os("DISTCC_LOG").filter(|v| !v.is_empty());
        // distcc src/traceenv.c: atoi, and 0 (or junk) means stderr.
        let uncached_err_fd = env
            .var("UNCACHED_ERR_FD")
            .map(|v| atoi_i64(&v))
            .filter(|&fd| fd != 0)
            .and_then(|fd| i32::try_from(fd).ok());
        let backoff_period = env
            .var("DISTCC_BACKOFF_PERIOD")
            .map_or(DEFAULT_BACKOFF_PERIOD, |v| atoi_i64(&v));
        let io_timeout = match env.var_os("DISTCC_IO_TIMEOUT") {
            None => Ok(DEFAULT_IO_TIMEOUT),
            Some(v) => {
                let text = v.to_string_lossy().into_owned();
                match u64::try_from(atoi_i64(&text)) {
                    Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
                    _ => Err(text),
                }
            }
        };
        let safeguard = match env.var("_DISTCC_SAFEGUARD") {
            None => 0,
            // distcc src/safeguard.c: any value that atoi reads as 0 still counts as level 1.
            Some(v) => u32::try_from(atoi_i64(&v))
                .ok()
                .filter(|&l| l != 0)
                .unwrap_or(1),
        };
        Config {
            verbose: env.bool_or("DISTCC_VERBOSE", false),
            log_file,
            uncached_err_fd,
            fallback: env.bool_or("DISTCC_FALLBACK", true),
            backoff_period,
            io_timeout,
            save_temps: env.bool_or("DISTCC_SAVE_TEMPS", false),
            ssh: env.var("DISTCC_SSH"),
            skip_local_retry: env.is_set("DISTCC_SKIP_LOCAL_RETRY"),
            no_rewrite_cross: env.is_set("DISTCC_NO_REWRITE_CROSS"),
            tmpdir: env
                .var_os("TMPDIR")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
            path: env.var_os("PATH"),
            safeguard,
            dependencies_output: env
                .var("DEPENDENCIES_OUTPUT")
                .or_else(|| env.var("SUNPRO_DEPENDENCIES")),
            distcc_dir: env.var_os("DISTCC_DIR"),
            home: env.var_os("HOME"),
            secure_key: env
                .var_os("DISTCC_RS_KEY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            known_hosts: env
                .var_os("DISTCC_RS_KNOWN_HOSTS")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            reply_limit_mb: env
                .var("DISTCC_RS_REPLY_LIMIT_MB")
                .and_then(|v| u64::try_from(atoi_i64(&v)).ok())
                .filter(|&mb| mb > 0)
                .unwrap_or(crate::reply::DEFAULT_REPLY_LIMIT_MB),
        }
    }

    /// Whether backoff marks are managed at all (distcc: any period but 0).
    pub fn backoff_enabled(&self) -> bool {
        self.backoff_period != 0
    }

    /// The period hosts are skipped after a failure (zero for a negative setting: marked but
    /// never skipped, as distcc's `difftime < period` with a negative period).
    pub fn backoff_duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.backoff_period).unwrap_or(0))
    }

    /// The words of the ssh command (distcc splits `DISTCC_SSH` on spaces, contrary to its
    /// man page).
    pub fn ssh_command(&self) -> Vec<String> {
        let words: Vec<String> = self
            .ssh
            .as_deref()
            .unwrap_or("ssh")
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if words.is_empty() {
            vec!["ssh".to_owned()]
        } else {
            words
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;

    #[test]
    fn defaults() {
        let c = Config::from_env(&MapEnv::new());
        assert!(!c.verbose && c.fallback && !c.save_temps && !c.skip_local_retry);
        assert_eq!(c.backoff_period, 60);
        assert!(c.backoff_enabled());
        assert_eq!(c.io_timeout, Ok(DEFAULT_IO_TIMEOUT));
        assert_eq!(c.safeguard, 0);
        assert_eq!(c.tmpdir, PathBuf::from("/tmp"));
        assert_eq!(c.ssh_command(), vec!["ssh"]);
        assert_eq!(c.uncached_err_fd, None);
        assert_eq!(c.reply_limit_mb, crate::reply::DEFAULT_REPLY_LIMIT_MB);
    }

    #[test]
    fn distccs_parsing_rules() {
        let env = MapEnv::new()
            .with("DISTCC_VERBOSE", "yes") // not "1": the default
            .with("DISTCC_FALLBACK", "0")
            .with("DISTCC_BACKOFF_PERIOD", "junk")
            .with("DISTCC_IO_TIMEOUT", "0")
            .with("_DISTCC_SAFEGUARD", "x")
            .with("DISTCC_SKIP_LOCAL_RETRY", "")
            .with("DISTCC_SSH", "ssh  -p 22 -o X=y")
            .with("UNCACHED_ERR_FD", "7")
            .with("SUNPRO_DEPENDENCIES", "d.d tgt")
            .with("TMPDIR", "")
            .with("DISTCC_RS_REPLY_LIMIT_MB", "-3");
        let c = Config::from_env(&env);
        assert!(!c.verbose);
        assert!(!c.fallback);
        assert!(!c.backoff_enabled(), "atoi(junk) = 0 disables backoff");
        assert_eq!(c.io_timeout, Err("0".to_owned()));
        assert_eq!(c.safeguard, 1);
        assert!(c.skip_local_retry, "set at all, even empty");
        assert_eq!(c.ssh_command(), vec!["ssh", "-p", "22", "-o", "X=y"]);
        assert_eq!(c.uncached_err_fd, Some(7));
        assert_eq!(c.dependencies_output.as_deref(), Some("d.d tgt"));
        assert_eq!(c.tmpdir, PathBuf::from("/tmp"));
        assert_eq!(c.reply_limit_mb, crate::reply::DEFAULT_REPLY_LIMIT_MB);

        let c = Config::from_env(
            &MapEnv::new()
                .with("DISTCC_IO_TIMEOUT", "-5")
                .with("DISTCC_BACKOFF_PERIOD", "-1")
                .with("_DISTCC_SAFEGUARD", "2")
                .with("DISTCC_RS_REPLY_LIMIT_MB", "512"),
        );
        assert_eq!(c.reply_limit_mb, 512);
        assert_eq!(c.io_timeout, Err("-5".to_owned()));
        assert!(c.backoff_enabled());
        assert_eq!(c.backoff_duration(), Duration::ZERO);
        assert_eq!(c.safeguard, 2);
    }
}
