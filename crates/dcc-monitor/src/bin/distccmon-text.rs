//! `distccmon-text [DELAY]`: see the `dcc_monitor` crate docs.

use std::ffi::OsString;

use dcc_common::log::{self, Level};
use dcc_common::{Env, ProcessEnv};
use dcc_monitor::{exit_status, log_error, logger_from_env, parse_args, print_usage, run};
use dcc_state::DistccDir;

fn main() {
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    // Like the C program, die quietly of SIGPIPE when the reader of a pipe goes away.
    // SAFETY: restoring the default disposition of one signal before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };

    let env = ProcessEnv;
    let (logger, log_failure) = logger_from_env("distccmon-text", &env);
    log::init(logger);
    if let Some(msg) = log_failure {
        log::write(
            Level::Error,
            Some("dcc_set_trace_from_env"),
            format_args!("{msg}"),
        );
    }

    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(delay) = parse_args(&args) else {
        print_usage();
        return dcc_monitor::USAGE_EXIT;
    };

    let result = DistccDir::from_env_home(&env as &dyn Env).and_then(|dir| {
        let state_dir = dir.state_dir()?.to_owned();
        run(&state_dir, delay, &mut std::io::stdout().lock())
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            log_error(&e);
            exit_status(&e)
        }
    }
}
