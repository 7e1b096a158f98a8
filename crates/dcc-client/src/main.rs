//! `distcc`: the binary only sets up the process; the library does the rest (see dcc_client).
//!
//! `no_main`: Rust's runtime start-up is skipped. It installs a stack-overflow guard (which
//! parses `/proc/self/maps`) and an alternate signal stack, about a fifth of the client's own
//! work for a compile. What it does that we need is done here: ignore SIGPIPE (a closed
//! connection must be an `EPIPE` error, not death). Arguments still come from std, which reads
//! them at load time on Linux.

#![no_main]

use std::ffi::{OsStr, c_char, c_int};

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: setting a disposition at start-up, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    dcc_client::signals::install();
    let mut set = |name: &str, value: &OsStr| {
        // SAFETY: the process is single-threaded (the client never starts a thread), and
        // nothing reads the environment concurrently. distcc itself uses putenv here.
        unsafe { std::env::set_var(name, value) }
    };
    let code = dcc_client::run(
        std::env::args_os().collect(),
        &dcc_common::ProcessEnv,
        dcc_client::ChildVars::Process(&mut set),
    );
    std::process::exit(code);
}
