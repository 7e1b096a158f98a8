//! `distccmon-top`: see `dcc_monitor::top`.

use std::io::IsTerminal;

use clap::Parser;
use dcc_common::log::{self, Level};
use dcc_common::{Env, ProcessEnv};
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
        return match app::once(&state_dir, &opts.stats, width, &mut out) {
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
    match app::live(&state_dir, &opts.stats, opts.interval, quiet) {
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
