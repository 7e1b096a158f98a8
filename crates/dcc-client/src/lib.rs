//! dcc-client: the `distcc` client, a drop-in for Debian's distcc 3.4 client, and `lsdistcc`.
//!
//! One process per compile, blocking std IO, no runtime: everything it does beyond running the
//! preprocessor must cost well under a millisecond. How the pieces fit, in the order a compile
//! meets them:
//!
//! - [`config`]: the environment, read once into a typed [`config::Config`].
//! - [`run`] (this file): logging as distcc sets it up, `@file` expansion, then
//!   [`invoke`]: explicit / implicit / masquerade invocation, `PATH` editing, the
//!   `_DISTCC_SAFEGUARD` recursion guard, `--help`, `--version`, `--show-hosts`, `-j`.
//! - [`compile`]: the life of one compile: argument scan (dcc-args), compiler rewriting
//!   ([`probe`]), host list ([`hosts`], dcc-hosts), slots and state file ([`placement`],
//!   dcc-state), the preprocessor ([`cpp`]), the remote attempt ([`remote`] over [`conn`]),
//!   the reply received under the client's own limits and deadline ([`reply`], with
//!   dcc-proto's codec) and judged ([`verdict`]), writing the object ([`output`]), the fallback
//!   to a local compile ([`exec`]). Failures and fallbacks leave a line in the event log ([`events`]), which
//!   `distccmon-top` shows; a compile that goes well writes nothing there.
//! - [`signals`]: cleanup and re-raise on SIGTERM, SIGINT and SIGHUP.
//! - `+zeroconf`, the helpers a background mDNS browser keeps in
//!   `$DISTCC_DIR/zeroconf/hosts`, is dcc-zeroconf's (spliced into the host list by
//!   [`hosts`]).
//! - [`lsdistcc`]: the `lsdistcc` tool.
//!
//! Decisions and the ways we differ from distcc 3.4 are in docs/decisions/client.md.

pub mod cas;
pub mod check;
pub mod compile;
pub mod config;
pub mod conn;
pub mod cpp;
pub mod events;
pub mod exec;
pub mod hosts;
pub mod invoke;
pub mod lsdistcc;
pub mod output;
pub mod placement;
pub mod probe;
pub mod pump;
pub mod remote;
pub mod reply;
pub mod secure;
pub mod signals;
pub mod stats;
pub mod verdict;
pub mod version_warn;

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use dcc_common::log::{Logger, Sink};
use dcc_common::{Env, ExitCode, Level, dcc_log};
use dcc_state::DistccDir;

use crate::compile::Client;
use crate::config::Config;
use crate::exec::ChildEnv;
use crate::invoke::Invocation;

/// How the variables distcc gives its children (`_DISTCC_SAFEGUARD`, the masquerade `PATH`)
/// reach them.
pub enum ChildVars<'a> {
    /// Set in this process's own environment through the callback, once, before any child is
    /// started (what distcc does with `putenv`). Children then inherit them, and spawning needs
    /// no environment copy: the binary does this, while it is still single-threaded.
    Process(&'a mut dyn FnMut(&str, &OsStr)),
    /// Passed to each child explicitly; the process environment is left alone (for callers
    /// that must not change it).
    PerChild,
}

/// Run the client on `argv` (`argv[0]` included) with the environment `env`, and return the
/// exit code.
pub fn run(argv: Vec<OsString>, env: &dyn Env, vars: ChildVars<'_>) -> i32 {
    let cfg = Config::from_env(env);
    init_log(&cfg);
    let argv = expand_response_files(argv);
    match invoke::classify(&argv) {
        Invocation::MissingOperand => {
            let me = argv
                .first()
                .map_or_else(|| "distcc".into(), |a| a.to_string_lossy().into_owned());
            eprintln!("{me}: missing option/operand\nTry `{me} --help' for more information.");
            ExitCode::BadArguments.code()
        }
        Invocation::Help => {
            print_stdout(&usage());
            0
        }
        Invocation::Version => {
            print_stdout(&version());
            0
        }
        Invocation::ShowHosts => {
            if let Some(list) = host_list_for_query(&cfg, env, "dcc_show_hosts") {
                let mut out = String::new();
                for h in &list.hosts {
                    out.push_str(&h.spec);
                    out.push('\n');
                }
                print_stdout(&out);
            }
            0
        }
        Invocation::Concurrency => {
            // `make -j$(distcc -j)` must never become an unlimited `make -j`: with a list
            // that does not parse, the slots of localhost alone (warned about on stderr).
            let slots = match host_list_for_query(&cfg, env, "dcc_concurrency_level") {
                Some(list) => list.total_limit(),
                None => {
                    let slots = hosts::local_only_limit();
                    dcc_log!(
                        Level::Warning,
                        "dcc_concurrency_level",
                        "printing {slots}, the slots of localhost alone, until DISTCC_HOSTS is fixed"
                    );
                    slots
                }
            };
            print_stdout(&format!("{slots}\n"));
            0
        }
        Invocation::ScanIncludes => {
            let home = cfg.home.clone();
            let dir = DistccDir::from_env(env, home.as_deref().map(std::path::Path::new)).ok();
            pump::scan_includes(&cfg, env, dir.as_ref(), argv.get(2..).unwrap_or(&[]))
        }
        Invocation::CheckHosts { compiler } => {
            let compiler =
                compiler.map_or_else(|| "gcc".into(), |c| c.to_string_lossy().into_owned());
            check::run(&cfg, env, &compiler)
        }
        Invocation::ShowStats => stats::show(stats_dir(&cfg, env).as_ref()),
        Invocation::ZeroStats => stats::zero(stats_dir(&cfg, env).as_ref()),
        Invocation::Compile { args, masquerade } => {
            let code = compile_entry(cfg, env, &argv, args, masquerade, vars);
            log_peak_memory();
            code
        }
    }
}

/// `$DISTCC_DIR` for `--show-stats` and `--zero-stats`, as a compile finds it.
fn stats_dir(cfg: &Config, env: &dyn Env) -> Option<dcc_state::DistccDir> {
    let home = cfg.home.as_deref().map(std::path::Path::new);
    dcc_state::DistccDir::from_env(env, home).ok()
}

/// Debug level: the client's peak resident memory (`VmHWM`), which the hostile-helper tests
/// hold to the documented bound (docs/decisions/client.md).
fn log_peak_memory() {
    if !dcc_common::log::enabled(Level::Debug) {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
        dcc_log!(Level::Debug, "main", "peak memory: VmHWM {}", hwm.trim());
    }
}

fn compile_entry(
    mut cfg: Config,
    env: &dyn Env,
    argv: &[OsString],
    args: Vec<OsString>,
    masquerade: bool,
    vars: ChildVars<'_>,
) -> i32 {
    let mut child_path = None;
    if masquerade && let Some(path) = cfg.path.clone() {
        let argv0 = argv.first().map_or(OsStr::new(""), OsString::as_os_str);
        let cwd = if argv0.as_bytes().contains(&b'/') && !argv0.as_bytes().starts_with(b"/") {
            std::env::current_dir()
                .map(|d| d.into_os_string().into_vec())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if let Some(new) = invoke::masquerade_path(&path, argv0, &cwd, |p| {
            dcc_common::sys::is_executable_file(std::path::Path::new(OsStr::from_bytes(p)))
        }) {
            dcc_log!(
                Level::Debug,
                "dcc_set_path",
                "setting PATH={}",
                new.to_string_lossy()
            );
            cfg.path = Some(new.clone());
            child_path = Some(new);
        }
    }
    if invoke::is_recursion(cfg.safeguard, child_path.is_some()) {
        dcc_log!(
            Level::Critical,
            "main",
            "distcc seems to have invoked itself recursively!"
        );
        return ExitCode::Recursion.code();
    }
    let safeguard = OsString::from(invoke::child_safeguard(cfg.safeguard));
    let cenv = match vars {
        ChildVars::Process(set) => {
            set("_DISTCC_SAFEGUARD", &safeguard);
            if let Some(p) = &child_path {
                set("PATH", p);
            }
            ChildEnv::inherit()
        }
        ChildVars::PerChild => ChildEnv {
            path: child_path,
            safeguard: Some(safeguard),
        },
    };
    let dir = DistccDir::from_env(env, cfg.home.as_deref().map(std::path::Path::new)).ok();
    let client = Client {
        cfg,
        env,
        cenv,
        dir,
    };
    compile::build(&client, &args)
}

use std::os::unix::ffi::OsStringExt;

/// Debian's distcc 3.4 expands `@file` arguments before anything else (libiberty's
/// `expandargv`). Non-UTF-8 command lines and runaway nesting are left as they are: the
/// compiler, which runs them locally, reports what is wrong.
fn expand_response_files(argv: Vec<OsString>) -> Vec<OsString> {
    if !argv
        .iter()
        .skip(1)
        .any(|a| a.as_bytes().first() == Some(&b'@'))
    {
        return argv;
    }
    let Some(strings) = argv
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()
    else {
        return argv;
    };
    let read = |name: &str| {
        std::fs::read(name)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    match dcc_args::client::expand_response_files(&strings, read) {
        Ok(v) => v.into_iter().map(OsString::from).collect(),
        Err(e) => {
            dcc_log!(Level::Warning, "expandargv", "{e}");
            argv
        }
    }
}

/// The host list for `--show-hosts` and `-j`, which exit 0 even when it does not parse.
fn host_list_for_query(cfg: &Config, env: &dyn Env, func: &str) -> Option<dcc_hosts::HostList> {
    match hosts::load(cfg, env) {
        Ok(h) => Some(h.list),
        Err(e) => {
            hosts::report(&e);
            dcc_log!(Level::Critical, func, "Failed to get host list");
            None
        }
    }
}

/// distcc src/traceenv.c: warnings to stderr by default; `DISTCC_LOG` (info and up) to a
/// file, else `UNCACHED_ERR_FD`; `DISTCC_VERBOSE=1` makes either debug.
fn init_log(cfg: &Config) {
    let mut level = Level::Warning;
    let mut failed = None;
    let sink = if let Some(path) = &cfg.log_file {
        match Sink::append_file(std::path::Path::new(path)) {
            Ok(s) => {
                level = Level::Info;
                s
            }
            Err(e) => {
                failed = Some((path, e));
                Sink::Stderr
            }
        }
    } else if let Some(fd) = cfg.uncached_err_fd {
        Sink::fd(fd).unwrap_or(Sink::Stderr)
    } else {
        Sink::Stderr
    };
    if cfg.verbose {
        level = Level::Debug;
    }
    dcc_common::log::init(Logger::new("distcc", level, sink));
    if let Some((path, e)) = failed {
        dcc_log!(
            Level::Error,
            "dcc_set_trace_from_env",
            "failed to open logfile {}: {}",
            path.to_string_lossy(),
            dcc_state::strerror(&e)
        );
    }
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The protocols this client speaks, as distcc 3.4 says them (protocol 3 for `,cpp` hosts:
/// [`pump`]).
const PROTOCOLS: &str = "1, 2 and 3";

/// `distcc --version`: distcc's three-line header, with the protocols this client speaks.
pub fn version() -> String {
    dcc_common::version_text_with("distcc", PROTOCOLS)
}

/// `distcc --help`: distcc's version header, then the usage.
pub fn usage() -> String {
    format!(
        "{}Usage:\n\
         \x20  distcc [COMPILER] [compile options] -o OBJECT -c SOURCE\n\
         \x20  distcc [--help|--version|--show-hosts|-j]\n\
         \x20  distcc --check-hosts [COMPILER]\n\
         \x20  distcc --show-stats | --zero-stats\n\
         \n\
         Options:\n\
         \x20  COMPILER                   Defaults to \"cc\".\n\
         \x20  --help                     Explain usage, and exit.\n\
         \x20  --version                  Show version, and exit.\n\
         \x20  --show-hosts               Show host list, and exit.\n\
         \x20  -j                         Show the concurrency level, as calculated from\n\
         \x20                             the host list, and exit.\n\
         \x20  --check-hosts [COMPILER]   Try a tiny compile with COMPILER (default gcc)\n\
         \x20                             on every host; print a line per host with what\n\
         \x20                             to fix; exit 1 unless all are fine.\n\
         \x20  --show-stats               Show this master's counters: jobs per helper,\n\
         \x20                             bytes, time, failures and local fallbacks, why.\n\
         \x20  --zero-stats               Zero those counters.\n\
         \n\
         Environment variables (see the manual page for all of them):\n\
         \x20  DISTCC_HOSTS               The host list (see below).\n\
         \x20  DISTCC_VERBOSE=1           Debug messages.\n\
         \x20  DISTCC_LOG                 Write messages to this file, not stderr.\n\
         \x20  DISTCC_FALLBACK=0          Fail rather than compile locally.\n\
         \x20  DISTCC_SSH                 Command for SSH connections.\n\
         \x20  DISTCC_DIR                 Directory for the host list, locks and state.\n\
         \n\
         Hosts are read from $DISTCC_HOSTS, or $DISTCC_DIR/hosts, or ~/.distcc/hosts,\n\
         or {}/distcc/hosts. Each host is one of:\n\
         \n\
         \x20  localhost                  Compile here.\n\
         \x20  HOST                       TCP connection, port {}.\n\
         \x20  HOST:PORT                  TCP connection, given port.\n\
         \x20  @HOST                      SSH connection to HOST.\n\
         \x20  USER@HOST                  SSH connection as USER.\n\
         \x20  HOSTSPEC/LIMIT             At most LIMIT jobs at once on the host.\n\
         \x20  HOSTSPEC,lzo               Compress with LZO.\n\
         \x20  HOSTSPEC,zstd              Compress with zstd (distcc-rs daemons only).\n\
         \x20  --randomize                Shuffle the host list.\n\
         \x20  --localslots=N             Local jobs that cannot be distributed.\n\
         \x20  --localslots_cpp=N         Local preprocessing jobs.\n\
         \x20  +zeroconf                  Add the helpers that announce themselves over\n\
         \x20                             mDNS (distccd --zeroconf) on this network.\n\
         \n\
         Jobs that cannot be distributed, such as linking, run here. Use make -jN to\n\
         run several compiles at once.\n",
        version(),
        hosts::SYSCONFDIR,
        dcc_common::DEFAULT_PORT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_starts_with_the_version_lines() {
        let u = usage();
        let mut lines = u.lines();
        assert!(lines.next().unwrap().starts_with("distcc 3.4 "));
        assert_eq!(
            lines.next().unwrap(),
            "  (protocols 1, 2 and 3) (default port 3632)"
        );
        assert!(u.contains("/etc/distcc/hosts"));
        assert!(u.starts_with(&version()));
        assert!(
            u.lines().any(|l| l.trim_start().starts_with("+zeroconf ")),
            "{u}"
        );
    }

    #[test]
    fn response_files_expand_first() {
        let dir = tempfile::tempdir().unwrap();
        let rsp = dir.path().join("args.rsp");
        std::fs::write(&rsp, "-c 'x y.c' -o x.o").unwrap();
        let argv = vec![
            OsString::from("distcc"),
            OsString::from("gcc"),
            OsString::from(format!("@{}", rsp.display())),
        ];
        let got = expand_response_files(argv);
        assert_eq!(got, ["distcc", "gcc", "-c", "x y.c", "-o", "x.o"]);
        let untouched = vec![
            OsString::from("distcc"),
            OsString::from("@/nonexistent/rsp"),
        ];
        assert_eq!(expand_response_files(untouched.clone()), untouched);
    }
}
