//! Running programs on this machine: the compiler (local jobs and fallbacks) and the
//! preprocessor, with the environment distcc gives its children (distcc src/exec.c), and
//! distcc's judgement of a finished command (`dcc_critique_status`).
//!
//! Children get `_DISTCC_SAFEGUARD=<level+1>` (the recursion guard) and, in masquerade mode,
//! the shortened `PATH`. The `distcc` binary puts both in its own environment once, as distcc
//! does, so children simply inherit them and `Command` can spawn with `posix_spawn` without
//! copying the environment (see `crate::ChildVars`). [`ChildEnv`] can also pass them per
//! child; then the compiler is looked up on the new `PATH` by us, which keeps the
//! `posix_spawn` path while `argv[0]` stays the name the user gave.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus};

use dcc_common::sys::{self, EmptyElement, SkipDistcc};
use dcc_common::{ExitCode, Level, dcc_log, dcc_log_noname};

use crate::signals::ChildGuard;

/// What every child of the client gets in its environment, beyond ours.
#[derive(Debug, Clone, Default)]
pub struct ChildEnv {
    /// The edited `PATH` (masquerade mode), or `None` to inherit ours.
    pub path: Option<OsString>,
    /// The value of `_DISTCC_SAFEGUARD` for children, or `None` to inherit ours.
    pub safeguard: Option<OsString>,
}

impl ChildEnv {
    /// Children inherit this process's environment unchanged.
    pub fn inherit() -> ChildEnv {
        ChildEnv::default()
    }

    /// A command for `args` (`args[0]` is the program, looked up on the child's `PATH`).
    pub fn command(&self, args: &[impl AsRef<OsStr>]) -> Command {
        let prog = args.first().map_or(OsStr::new(""), AsRef::as_ref);
        let mut cmd = match &self.path {
            Some(path) if !prog.as_bytes().contains(&b'/') => {
                let mut cmd = match find_on_path(path, prog) {
                    Some(full) => Command::new(full),
                    None => Command::new(prog),
                };
                cmd.arg0(prog).env("PATH", path);
                cmd
            }
            _ => Command::new(prog),
        };
        cmd.args(args.iter().skip(1));
        if let Some(level) = &self.safeguard {
            cmd.env("_DISTCC_SAFEGUARD", level);
        }
        cmd
    }
}

/// `execvp`'s search: the first `dir/prog` that is an executable file (an empty element is
/// the current directory); distcc's links are not passed over.
pub fn find_on_path(path: &OsStr, prog: &OsStr) -> Option<PathBuf> {
    sys::find_on_path(
        path,
        prog,
        EmptyElement::CurrentDir,
        SkipDistcc::Never,
        |_| {},
    )
}

/// Spawn `cmd`; if the program is not found under an absolute name, try its basename on
/// `PATH`, as distcc's `dcc_execvp` does.
pub fn spawn(
    cenv: &ChildEnv,
    args: &[impl AsRef<OsStr>],
    setup: impl Fn(&mut Command),
) -> io::Result<std::process::Child> {
    let mut cmd = cenv.command(args);
    setup(&mut cmd);
    match cmd.spawn() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let prog = args.first().map_or(OsStr::new(""), AsRef::as_ref);
            let base = crate::invoke::basename(prog);
            if base.len() == prog.len() {
                return Err(e);
            }
            let mut retry: Vec<&OsStr> = vec![base];
            retry.extend(args.iter().skip(1).map(AsRef::as_ref));
            let mut cmd = cenv.command(&retry);
            setup(&mut cmd);
            cmd.spawn().map_err(|_| e)
        }
        r => r,
    }
}

/// Run a compiler command here with inherited stdio, and return distcc's view of its status.
/// `input` names the source in the log (`compile x.c on localhost failed`).
pub fn compile_local(cenv: &ChildEnv, args: &[OsString], input: &str) -> i32 {
    if dcc_common::log::enabled(Level::Info) {
        let line: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        dcc_log_noname!(Level::Info, "exec on localhost: {}", line.join(" "));
    }
    let mut child = match spawn(cenv, args, |_| {}) {
        Ok(c) => c,
        Err(e) => {
            let prog = args
                .first()
                .map(|a| a.to_string_lossy())
                .unwrap_or_default();
            dcc_log!(
                Level::Error,
                "dcc_execvp",
                "failed to exec {prog}: {}",
                dcc_state::strerror(&e)
            );
            return ExitCode::CompilerMissing.code();
        }
    };
    let guard = ChildGuard::new(child.id());
    let status = wait(&mut child);
    drop(guard);
    match status {
        Ok(st) => critique(st, "compile", input, "localhost", true),
        Err(e) => {
            dcc_log!(Level::Error, "dcc_collect_child", "wait failed: {e}");
            ExitCode::DistccFailed.code()
        }
    }
}

/// Wait for a child, retrying on EINTR (std does).
pub fn wait(child: &mut std::process::Child) -> io::Result<ExitStatus> {
    child.wait()
}

/// distcc src/exec.c `dcc_critique_status`: log the outcome of `command` on `host` and return
/// the exit code distcc uses for it: the code itself, or 128 + signal. `verbose` logs failures
/// as errors (the compile), otherwise at info level (the preprocessor).
pub fn critique(status: ExitStatus, command: &str, input: &str, host: &str, verbose: bool) -> i32 {
    critique_raw(status.into_raw(), command, input, host, verbose)
}

/// [`critique`] for a raw wait status (as the server's `STAT` carries it).
pub fn critique_raw(raw: i32, command: &str, input: &str, host: &str, verbose: bool) -> i32 {
    let level = if verbose { Level::Error } else { Level::Info };
    let st = ExitStatus::from_raw(raw);
    if let Some(sig) = st.signal() {
        dcc_log_noname!(
            level,
            "{command} {input} on {host}: {}{}",
            signal_name(sig),
            if st.core_dumped() {
                " (core dumped)"
            } else {
                ""
            }
        );
        return 128 + sig;
    }
    match (raw >> 8) & 0xff {
        0 => {
            dcc_log_noname!(Level::Info, "{command} {input} on {host} completed ok");
            0
        }
        1 => {
            dcc_log_noname!(level, "{command} {input} on {host} failed");
            1
        }
        code => {
            dcc_log_noname!(
                level,
                "{command} {input} on {host} failed with exit code {code}"
            );
            code
        }
    }
}

/// `strsignal` text ("Terminated", "Killed").
pub fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string (or NULL).
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: non-null, NUL-terminated.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cenv() -> ChildEnv {
        ChildEnv {
            path: None,
            safeguard: Some("1".into()),
        }
    }

    #[test]
    fn critique_codes() {
        assert_eq!(critique_raw(0, "compile", "x.c", "h", true), 0);
        assert_eq!(critique_raw(1 << 8, "compile", "x.c", "h", true), 1);
        assert_eq!(critique_raw(110 << 8, "compile", "x.c", "h", true), 110);
        assert_eq!(
            critique_raw(libc::SIGKILL, "compile", "x.c", "h", true),
            137
        );
        assert_eq!(signal_name(libc::SIGTERM), "Terminated");
    }

    #[test]
    fn children_get_the_safeguard_and_the_edited_path() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let c = ChildEnv {
            path: Some(OsString::from("/nonexistent:/usr/bin:/bin")),
            safeguard: Some("3".into()),
        };
        let st = spawn(
            &c,
            &[
                "sh",
                "-c",
                &format!("echo \"$0 $_DISTCC_SAFEGUARD $PATH\" > {}", out.display()),
            ],
            |_| {},
        )
        .unwrap()
        .wait()
        .unwrap();
        assert!(st.success());
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "sh 3 /nonexistent:/usr/bin:/bin\n",
            "argv[0] stays the bare name"
        );
    }

    #[test]
    fn missing_compiler_is_110_and_absolute_names_retry_on_path() {
        assert_eq!(
            compile_local(&cenv(), &["no-such-compiler-xyz".into()], "x.c"),
            110
        );
        // /nonexistent/true is not there; `true` on PATH is.
        assert_eq!(
            compile_local(&cenv(), &["/nonexistent/true".into()], "x.c"),
            0
        );
        assert_eq!(compile_local(&cenv(), &["false".into()], "x.c"), 1);
    }

    #[test]
    fn path_search() {
        assert_eq!(
            find_on_path(OsStr::new("/nonexistent::/bin"), OsStr::new("sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            find_on_path(OsStr::new("/nonexistent"), OsStr::new("sh")),
            None
        );
    }
}
