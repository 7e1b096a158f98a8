//! `distccmon-text`: the compile jobs of this user's distcc clients, as text
//! (distcc src/mon-text.c; the state files come from `dcc_state`).
//!
//! `distccmon-text [DELAY]` reads `$DISTCC_DIR/state` (or `~/.distcc/state`), prints one line per
//! job that is not Done, in distcc's `"%6ld  %-10.10s  %-30.30s %24.24s[%d]\n"` (pid, phase,
//! file, host, slot), then an empty line. With a DELAY it repeats every DELAY seconds, which
//! may be fractional (`0.5`), as the man page says. Without one it prints once.
//!
//! Arguments are read as distcc does (`strtod`, then the whole argument must have been used):
//! an empty argument means "once"; anything unparsable, or more than one argument, prints the
//! usage on stderr and exits 1 (not 101: mon-text.c returns 1). Two deliberate differences:
//! hexadecimal delays (`0x1p1`, which `strtod` accepts) are refused, and so are negative,
//! infinite and NaN delays, for which distcc sleeps for an unspecified time (a negative float
//! converted to `useconds_t` is about 71 minutes on x86-64) or loops without sleeping.
//!
//! Failures exit with distcc's code and log line: a missing `$DISTCC_DIR` is
//! `(dcc_mkdir) ERROR: mkdir '…/state' failed: …` and 107; no `HOME` is 101.
//!
//! The pieces: [`parse_args`] turns argv into a [`Delay`], [`render`] formats one block,
//! [`run`] loops; `src/bin/distccmon-text.rs` wires them to the process and distcc's logging
//! ([`logger_from_env`]).
//!
//! [`top`] is `distccmon-top`, the live terminal monitor (`src/bin/distccmon-top.rs`), which
//! reads the same state files plus our client's event log; it shares only the logging set-up
//! with `distccmon-text`, whose behaviour it leaves alone.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use dcc_common::log::{Level, Logger, Sink};
use dcc_common::{Env, ExitCode};
use dcc_state::{Phase, StateError, TaskState, read_states};

pub mod top;

/// mon-text.c `usage()`, printed to stderr on bad arguments.
pub const USAGE: &str = "usage: distccmon-text [DELAY]\n\
\n\
Displays current compilation jobs in text form.\n\
\n\
If delay is specified, repeatedly updates after that many (fractional)\n\
seconds.  Otherwise, runs just once.\n";

/// The exit status for bad arguments: mon-text.c returns 1, not distcc's 101.
pub const USAGE_EXIT: i32 = 1;

/// How often to print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    /// Print once (no argument, an empty one, or 0).
    Once,
    /// Print, sleep this long, repeat.
    Every(Duration),
}

/// The arguments after the program name. `None` means: print [`USAGE`], exit [`USAGE_EXIT`].
pub fn parse_args(args: &[OsString]) -> Option<Delay> {
    match args {
        [] => Some(Delay::Once),
        [arg] => parse_delay(arg),
        _ => None,
    }
}

/// `strtod` with the rest of the argument required to be empty.
fn parse_delay(arg: &OsStr) -> Option<Delay> {
    let bytes = arg.as_encoded_bytes();
    // strtod("") converts nothing and leaves `end` on the terminating NUL: delay 0.
    if bytes.is_empty() {
        return Some(Delay::Once);
    }
    // strtod skips leading white space (but "  " alone converts nothing: `end` is not at NUL).
    let start = bytes
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let text = std::str::from_utf8(&bytes[start..]).ok()?;
    let secs: f64 = text.parse().ok()?;
    if secs == 0.0 {
        Some(Delay::Once)
    } else {
        Duration::try_from_secs_f64(secs).ok().map(Delay::Every)
    }
}

/// One block: a line per job that is not Done, then an empty line.
pub fn render(states: &[TaskState]) -> Vec<u8> {
    let mut out = Vec::with_capacity(80 * (states.len() + 1));
    for s in states.iter().filter(|s| s.phase != Phase::Done) {
        format_job(s, &mut out);
    }
    out.push(b'\n');
    out
}

/// `"%6ld  %-10.10s  %-30.30s %24.24s[%d]\n"`. printf's precision counts bytes, so names are
/// cut by bytes too, even inside a UTF-8 character, exactly as distcc's output is.
pub fn format_job(s: &TaskState, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{:>6}  ", s.pid).as_bytes());
    pad(out, s.phase.name().as_bytes(), 10, false);
    out.extend_from_slice(b"  ");
    pad(out, s.file.as_bytes(), 30, false);
    out.push(b' ');
    pad(out, s.host.as_bytes(), 24, true);
    out.extend_from_slice(format!("[{}]\n", s.slot).as_bytes());
}

/// `%-W.Ws` (left) or `%W.Ws` (right).
fn pad(out: &mut Vec<u8>, s: &[u8], width: usize, right: bool) {
    let s = &s[..s.len().min(width)];
    let fill = width - s.len();
    if right {
        out.resize(out.len() + fill, b' ');
    }
    out.extend_from_slice(s);
    if !right {
        out.resize(out.len() + fill, b' ');
    }
}

/// Print blocks to `out` until an error: once for [`Delay::Once`], forever otherwise. A write
/// error (a closed pipe) ends the loop quietly; a state directory that cannot be read is the
/// error distcc reports.
pub fn run(state_dir: &Path, delay: Delay, out: &mut dyn Write) -> Result<(), StateError> {
    loop {
        let states = read_states(state_dir, SystemTime::now())?;
        // One write per block, so a reader never sees half of one.
        if out
            .write_all(&render(&states))
            .and_then(|()| out.flush())
            .is_err()
        {
            return Ok(());
        }
        match delay {
            Delay::Once => return Ok(()),
            Delay::Every(d) => std::thread::sleep(d),
        }
    }
}

/// distcc src/traceenv.c `dcc_set_trace_from_env`: warnings to stderr; `DISTCC_LOG` (if set and
/// non-empty) appends info and worse to that file, or falls back to stderr with an error;
/// otherwise `UNCACHED_ERR_FD` names a descriptor; `DISTCC_VERBOSE=1` adds debug. Returns the
/// logger and the error line to log once it is installed.
pub fn logger_from_env(prog: &'static str, env: &dyn Env) -> (Logger, Option<String>) {
    let verbose = env.bool_or("DISTCC_VERBOSE", false);
    let pick = |normal: Level| if verbose { Level::Debug } else { normal };
    if let Some(file) = env.var_os("DISTCC_LOG").filter(|f| !f.is_empty()) {
        return match Sink::append_file(Path::new(&file)) {
            Ok(sink) => (Logger::new(prog, pick(Level::Info), sink), None),
            Err(e) => {
                let msg = format!(
                    "failed to open logfile {}: {}",
                    Path::new(&file).display(),
                    dcc_state::strerror(&e)
                );
                (
                    Logger::new(prog, pick(Level::Warning), Sink::Stderr),
                    Some(msg),
                )
            }
        };
    }
    let fd = env
        .var("UNCACHED_ERR_FD")
        .map(|v| dcc_common::sys::atoi_i32(&v))
        .filter(|&fd| fd != 0);
    let sink = fd.and_then(|fd| Sink::fd(fd).ok()).unwrap_or(Sink::Stderr);
    (Logger::new(prog, pick(Level::Warning), sink), None)
}

/// The exit status for a failure that [`run`] or the directory lookup returned.
pub fn exit_status(err: &StateError) -> i32 {
    let code: ExitCode = err.exit_code();
    code.code()
}

/// Convenience for the binary: log `err` the way distcc would.
pub fn log_error(err: &StateError) {
    let level = match err {
        StateError::HomeNotSet => Level::Warning,
        _ => Level::Error,
    };
    dcc_common::log::write(level, Some(err.distcc_function()), format_args!("{err}"));
}

/// Write the usage text to stderr.
pub fn print_usage() {
    let _ = io::stderr().write_all(USAGE.as_bytes());
}

#[cfg(test)]
mod tests;
