//! `distccmon-top`: see `dcc_monitor::top`.

use std::io::IsTerminal;

use clap::Parser;
use dcc_common::log::{self, Level};
use dcc_common::{Env, ProcessEnv};
use dcc_monitor::top::farm::Farm;
use dcc_monitor::top::{Options, app};
use dcc_monitor::{exit_status, log_error, logger_from_env};
use dcc_state::DistccDir;

const PROG: &str = "distccmon-top";

fn main() {
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    let opts = Options::parse();
    let env = ProcessEnv;
    let (logger, log_failure) = logger_from_env(PROG, &env);
    log::init(logger);
    if let Some(msg) = log_failure {
        log::write(
            Level::Error,
            Some("dcc_set_trace_from_env"),
            format_args!("{msg}"),
        );
    }

    let dir = match DistccDir::from_env_home(&env as &dyn Env) {
        Ok(d) => d,
        Err(e) => {
            log_error(&e);
            return exit_status(&e);
        }
    };
    let state_dir = match dir.state_dir() {
        Ok(d) => d.to_owned(),
        Err(e) => {
            log_error(&e);
            return exit_status(&e);
        }
    };

    if opts.once {
        let width = opts.width.unwrap_or_else(|| {
            let tty = std::io::stdout().is_terminal();
            let size = tty.then(crossterm::terminal::size);
            match size {
                Some(Ok((w, _))) if w >= 40 => w,
                _ => app::DEFAULT_WIDTH,
            }
        });
        let mut out = std::io::stdout().lock();
        return match app::once(&state_dir, &opts.stats, farm(&env, &dir), width, &mut out) {
            Ok(()) => 0,
            Err(e) => {
                log_error(&e);
                exit_status(&e)
            }
        };
    }

    if !std::io::stdout().is_terminal() {
        eprintln!("{PROG}: standard output is not a terminal; use --once for a text frame");
        return 1;
    }
    // Warnings on stderr would scribble over the screen: only DISTCC_LOG gets them meanwhile.
    let quiet = env.var_os("DISTCC_LOG").is_none_or(|f| f.is_empty());
    match app::live(
        &state_dir,
        &opts.stats,
        farm(&env, &dir),
        opts.interval,
        quiet,
    ) {
        Ok(()) => 0,
        Err(app::LiveError::State(e)) => {
            log_error(&e);
            exit_status(&e)
        }
        Err(e @ (app::LiveError::Terminal(_) | app::LiveError::TerminalGone)) => {
            eprintln!("{PROG}: {e}");
            1
        }
    }
}

/// The farm panel's sources: the host list `distcc` would read, and its lock directory. None
/// (no panel) without a list; a list that does not parse is reported and left out.
fn farm(env: &dyn Env, dir: &DistccDir) -> Option<Farm> {
    let distcc_dir = env.var_os("DISTCC_DIR").map(std::path::PathBuf::from);
    let home = env.var_os("HOME").map(std::path::PathBuf::from);
    let text = match dcc_hosts::load(
        env,
        distcc_dir.as_deref(),
        home.as_deref(),
        std::path::Path::new(dcc_hosts::SYSCONFDIR),
    ) {
        Ok((_, text)) => text,
        Err(e) => {
            log::write(
                Level::Warning,
                Some("dcc_get_hostlist"),
                format_args!("{e}"),
            );
            return None;
        }
    };
    let hosts = match dcc_hosts::parse(&text) {
        Ok(h) => h,
        Err(dcc_hosts::HostsError::NoHosts) => return None,
        Err(e) => {
            log::write(Level::Warning, Some("dcc_parse_hosts"), format_args!("{e}"));
            return None;
        }
    };
    // As the client reads it (C atoi; 0 or negative: backoff disabled).
    let period = env
        .var("DISTCC_BACKOFF_PERIOD")
        .map_or(dcc_state::DEFAULT_BACKOFF_PERIOD, |v| {
            dcc_common::sys::atoi_i64(&v)
        });
    Some(Farm {
        hosts,
        lock_dir: dir.lock_dir().ok()?.to_owned(),
        period: std::time::Duration::from_secs(u64::try_from(period).unwrap_or(0)),
    })
}
