//! `distcc --check-hosts [COMPILER]`: try every host of the list the way a compile would,
//! and print one line per host with what to fix (issue 14).
//!
//! Each host gets a real compile through [`crate::remote::attempt`], with the compile's
//! connect and IO timeouts, the host's protocol and, for `,secure` hosts, its keys: a tiny
//! preprocessed source ([`PROBE_SOURCE`]) compiled with `-c` under the compiler name a
//! compile would send (`gcc` rewritten to `x86_64-linux-gnu-gcc`, as in
//! [`crate::probe::rewrite_compiler`]). A refusal (110: compiler not whitelisted or not
//! installed), a closed connection, a protocol error each become a line saying what to fix.
//!
//! The compiler's version is compared through the object itself: gcc and clang write their
//! identification (`GCC: (Debian 12.2.0-14) 12.2.0`, `clang version 16.0.6`) into the
//! object's `.comment` section, from the compiler proper that ran on the helper. A macro like
//! `__VERSION__` would not do: the master's preprocessor expands it before the source is sent.
//! The same source is compiled here and the two strings must be equal, the guide's "same
//! packages installed".
//!
//! Exit status: 0 when every host is fine (`,down` hosts are listed and not tried), 1
//! otherwise; a list that does not parse exits 106 as a compile does.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;

use dcc_args::client::{Scan, scan_args, strip_local_args};
use dcc_common::{Env, ExitCode, Level, dcc_log};
use dcc_hosts::HostSpec;
use dcc_state::DistccDir;

use crate::config::Config;
use crate::cpp::Preprocessed;
use crate::exec::{ChildEnv, signal_name};
use crate::hosts;
use crate::placement::JobState;
use crate::remote::{self, Body, Outcome, RemoteError, Request};
use crate::reply::reply_limits;
use crate::verdict::{MESSAGE_HEAD, Verdict, classify, printable};

/// The probe, as the master's preprocessor would leave it.
pub const PROBE_SOURCE: &str =
    "# 1 \"distcc-probe.c\"\nconst char distcc_probe[] = \"DISTCC-PROBE\";\n";
/// How the first line, the master's own compiler, is labelled.
const HERE: &str = "(this machine)";
/// The longest compiler identification shown.
const IDENT_MAX: usize = 200;

/// One host's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCheck {
    pub ok: bool,
    /// What was found, and what to fix when not ok. Printable.
    pub text: String,
}

impl HostCheck {
    fn ok(text: impl Into<String>) -> HostCheck {
        HostCheck {
            ok: true,
            text: text.into(),
        }
    }

    fn fix(text: impl Into<String>) -> HostCheck {
        HostCheck {
            ok: false,
            text: text.into(),
        }
    }
}

/// Run the check; returns the exit code.
pub fn run(cfg: &Config, env: &dyn Env, compiler: &str) -> i32 {
    let list = match hosts::load(cfg, env) {
        Ok(h) if h.list.hosts.is_empty() => {
            hosts::warn_empty(&h.source);
            return 1;
        }
        Ok(h) => h.list,
        Err(e) => return hosts::report(&e).code(),
    };
    let io_timeout = match cfg.io_timeout_or_report() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let given: Vec<String> = [compiler, "-c", "distcc-probe.c", "-o", "distcc-probe.o"]
        .map(str::to_owned)
        .to_vec();
    let compile = match scan_args(&given) {
        Ok(Scan::Distribute(c)) => c,
        _ => {
            dcc_log!(
                Level::Error,
                "dcc_check_hosts",
                "{}: not a compiler distcc can distribute",
                printable(compiler)
            );
            return ExitCode::BadArguments.code();
        }
    };
    let server_argv = strip_local_args(&crate::probe::rewrite_compiler(cfg, compile.argv));
    let cenv = ChildEnv {
        path: None,
        safeguard: Some(crate::invoke::child_safeguard(cfg.safeguard).into()),
    };
    let local = local_ident(&cenv, &server_argv, &cfg.tmpdir);
    let dir = DistccDir::from_env(env, cfg.home.as_deref().map(Path::new)).ok();
    let ssh = cfg.ssh_command();
    let req = Request {
        server_argv: &server_argv,
        io_timeout,
        cenv: &cenv,
        ssh: &ssh,
        secure: crate::secure::Files::new(cfg, dir.as_ref()),
        limits: reply_limits(cfg.reply_limit_mb),
        tmpdir: &cfg.tmpdir,
    };
    let mut out = std::io::stdout().lock();
    let _ = match &local {
        Ok(ident) => writeln!(out, "{HERE}: ok: {}: {ident}", compiler_of(&server_argv)),
        Err(why) => writeln!(out, "{HERE}: FIX: {why}"),
    };
    let mut all_ok = local.is_ok();
    for host in &list.hosts {
        let c = check_host(&req, host, &local);
        all_ok &= c.ok;
        let verdict = if c.ok { "ok" } else { "FIX" };
        let _ = writeln!(out, "{}: {verdict}: {}", host.spec, c.text);
        let _ = out.flush();
    }
    if all_ok { 0 } else { 1 }
}

/// The compiler an argv runs.
fn compiler_of(argv: &[String]) -> &str {
    argv.first().map_or("", String::as_str)
}

/// The compiler's identification from a local compile of the probe.
fn local_ident(cenv: &ChildEnv, server_argv: &[String], tmpdir: &Path) -> Result<String, String> {
    let cc = compiler_of(server_argv);
    let (path, _file) = dcc_state::make_tmpnam(tmpdir, "distcc_probe", ".o")
        .map_err(|e| format!("cannot compile the probe here: {e}"))?;
    let args: Vec<OsString> = [cc, "-c", "-x", "cpp-output", "-", "-o"]
        .iter()
        .map(OsString::from)
        .chain([path.clone().into_os_string()])
        .collect();
    let result = run_local(cenv, &args, &path);
    let _ = std::fs::remove_file(&path);
    let object = result.map_err(|why| format!("{cc} does not compile the probe here: {why}"))?;
    compiler_ident(&object)
        .ok_or_else(|| format!("{cc} left no version string in its object (.comment)"))
}

fn run_local(cenv: &ChildEnv, args: &[OsString], output: &Path) -> Result<Vec<u8>, String> {
    let mut cmd = cenv.command(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| dcc_state::strerror(&e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(PROBE_SOURCE.as_bytes());
    }
    let mut err = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr
            .by_ref()
            .take(MESSAGE_HEAD as u64)
            .read_to_end(&mut err);
    }
    let status = child.wait().map_err(|e| dcc_state::strerror(&e))?;
    if !status.success() {
        return Err(first_line(&err, &status.to_string()));
    }
    std::fs::read(output).map_err(|e| dcc_state::strerror(&e))
}

/// The first non-empty line of `bytes`, printable, or `default`.
fn first_line(bytes: &[u8], default: &str) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(default);
    let cut: String = line.chars().take(IDENT_MAX).collect();
    printable(&cut).into_owned()
}

/// The compiler's identification in an object's `.comment`: the NUL-terminated string from
/// `GCC: `, or one that contains `clang version`, printable and cut. `.comment` may follow
/// the code with no NUL between (`... c3 GCC: (Debian ...)`), so `GCC: ` is looked for
/// inside each piece, not only at its start.
pub fn compiler_ident(object: &[u8]) -> Option<String> {
    compiler_ident_in(object)
}

/// A piece between NULs longer than this is looked at by its last this many bytes only, so
/// an object is read in bounded memory (a helper's object may be hundreds of MiB).
const PIECE_MAX: usize = 64 * 1024;

/// [`compiler_ident`] of an object read from `r`, in bounded memory.
pub fn compiler_ident_in(mut r: impl Read) -> Option<String> {
    let mut chunk = vec![0u8; PIECE_MAX];
    let mut piece: Vec<u8> = Vec::new();
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return ident_of_piece(&piece),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let mut parts = chunk[..n].split(|&b| b == 0).peekable();
        while let Some(part) = parts.next() {
            piece.extend_from_slice(part);
            if piece.len() > PIECE_MAX {
                piece.drain(..piece.len() - PIECE_MAX);
            }
            if parts.peek().is_some() {
                // `part` ended at a NUL: the piece is whole.
                if let Some(ident) = ident_of_piece(&piece) {
                    return Some(ident);
                }
                piece.clear();
            }
        }
    }
}

fn ident_of_piece(s: &[u8]) -> Option<String> {
    let from = match s.windows(5).position(|w| w == b"GCC: ") {
        Some(at) => &s[at..],
        None if s.windows(13).any(|w| w == b"clang version") => s,
        None => return None,
    };
    let text = String::from_utf8_lossy(from);
    let cut: String = text.chars().take(IDENT_MAX).collect();
    Some(printable(&cut).into_owned())
}

/// The string [`compiler_ident`] finds in this compiler's objects, read from what the
/// driver prints under `-v` instead of from a compiled object: GCC prints
/// `gcc version VERSION (PKGVERSION)` and writes `GCC: (PKGVERSION) VERSION`; clang prints
/// and writes the same `... clang version ...` line.
pub fn ident_from_verbose(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let ident = text.lines().find_map(|l| {
        let l = l.trim();
        match l.strip_prefix("gcc version ") {
            Some(rest) => Some(match rest.split_once(' ') {
                Some((version, pkg)) => format!("GCC: {} {version}", pkg.trim()),
                None => format!("GCC: {rest}"),
            }),
            None => l.contains("clang version").then(|| l.to_owned()),
        }
    })?;
    let cut: String = ident.chars().take(IDENT_MAX).collect();
    Some(printable(&cut).into_owned())
}

/// Try one host.
fn check_host(req: &Request<'_>, host: &HostSpec, local: &Result<String, String>) -> HostCheck {
    if host.is_local() {
        return HostCheck::ok("compiles here");
    }
    if host.down {
        return HostCheck::ok("marked ,down: not tried, not used");
    }
    if let Some(why) = hosts::unsupported(host) {
        return HostCheck::fix(format!("{why}: remove it, or use ,secure"));
    }
    let mut source = Preprocessed::ready(PROBE_SOURCE.as_bytes().to_vec());
    let mut state = JobState::new(None, "distcc-probe.c");
    match remote::attempt(req, host, 0, Body::Cpp(&mut source), &mut None, &mut state) {
        Ok(Outcome::Reply(mut r)) => {
            let head = match r.status {
                0 => Vec::new(),
                _ => r.stderr.head(MESSAGE_HEAD).unwrap_or_default(),
            };
            match classify(r.status, &head) {
                Verdict::Keep => {
                    let mut object = Vec::new();
                    if let Err(e) = r.object.copy_to(&mut object) {
                        return HostCheck::fix(format!(
                            "cannot read the object: {}",
                            dcc_state::strerror(&e)
                        ));
                    }
                    same_compiler(compiler_ident(&object), local)
                }
                Verdict::ServerFailed { code, messages } => refused(req, code, &messages),
                Verdict::CompileFailed(code) => HostCheck::fix(format!(
                    "{} failed on the probe there (exit {code}): {}",
                    compiler_of(req.server_argv),
                    first_line(&head, "no message")
                )),
                Verdict::Signaled { signal, .. } => HostCheck::fix(format!(
                    "{} was killed there: {}",
                    compiler_of(req.server_argv),
                    signal_name(signal)
                )),
                Verdict::Invalid(status) => {
                    HostCheck::fix(format!("sent status {status:#x}: not a distcc helper?"))
                }
            }
        }
        Ok(Outcome::CppFailed(_)) => HostCheck::fix("the probe could not be prepared"),
        Err(e) => unreachable_host(&e),
    }
}

fn same_compiler(remote: Option<String>, local: &Result<String, String>) -> HostCheck {
    match (remote, local) {
        (None, _) => HostCheck::fix("compiled, but the object has no version string"),
        (Some(there), Ok(here)) if &there == here => HostCheck::ok(there),
        (Some(there), Ok(here)) => HostCheck::fix(format!(
            "compiler version differs: \"{there}\" there, \"{here}\" here: install the same \
             compiler packages on both, or objects will differ"
        )),
        (Some(there), Err(_)) => HostCheck::fix(format!(
            "compiles with \"{there}\", but the compiler here does not (see {HERE})"
        )),
    }
}

/// A `STAT` of 100-120: the helper refused.
fn refused(req: &Request<'_>, code: i32, messages: &[String]) -> HostCheck {
    let said = match messages.join("; ") {
        m if m.is_empty() => String::new(),
        m => format!(" ({m})"),
    };
    let cc = compiler_of(req.server_argv);
    if code == ExitCode::CompilerMissing.code() {
        HostCheck::fix(format!(
            "refuses {cc}: not installed or not whitelisted there{said}: install the same \
             compiler there, then run update-distcc-symlinks (or add it to distccd's \
             --whitelist directory) and restart distccd"
        ))
    } else {
        HostCheck::fix(format!("refused the probe with distcc code {code}{said}"))
    }
}

/// An attempt that failed before a reply: what to fix.
fn unreachable_host(e: &RemoteError) -> HostCheck {
    let what = printable(&e.to_string()).into_owned();
    let fix = match e {
        _ if e.is_closed_unread() => {
            "it refuses this machine: add this machine's address to its --allow list \
             (ALLOWEDNETS in /etc/default/distcc)"
        }
        RemoteError::Connect(_) => {
            "is distccd running there, on this port (systemctl status distccd; the port in \
             DISTCC_HOSTS), and no firewall in between?"
        }
        RemoteError::Secure(_) => {
            "fix the ,secure keys: this client's key (distcc-keygen) and the helper's public \
             key in the known-hosts file (docs/security/secure-transport.md)"
        }
        _ if e.is_no_answer() => {
            "it closed without answering: its --allow list, or a protocol option (,lzo, \
             ,zstd) that it does not speak"
        }
        RemoteError::Protocol(_) => {
            "does the helper speak this host's protocol (,lzo, ,zstd, ,cpp in DISTCC_HOSTS)?"
        }
        _ => "check the helper's log",
    };
    HostCheck::fix(format!("{what}: {fix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ident_is_found_cut_and_escaped() {
        let obj = b"\x7fELF\0\0junk\0GCC: (Debian 12.2.0-14) 12.2.0\0.symtab\0";
        assert_eq!(
            compiler_ident(obj).as_deref(),
            Some("GCC: (Debian 12.2.0-14) 12.2.0")
        );
        let obj = b"x\0Debian clang version 16.0.6 (15)\0";
        assert_eq!(
            compiler_ident(obj).as_deref(),
            Some("Debian clang version 16.0.6 (15)")
        );
        assert_eq!(compiler_ident(b"\0no ident\0"), None);
        // Read in chunks: an ident across a chunk's end, after a NUL-less run longer than a
        // piece's bound, is found whole.
        let long = [
            &vec![b'x'; PIECE_MAX * 2 - 3][..],
            b"GCC: (Debian 12.2.0-14) 12.2.0\0",
        ]
        .concat();
        assert_eq!(
            compiler_ident(&long).as_deref(),
            Some("GCC: (Debian 12.2.0-14) 12.2.0")
        );
        // The same strings from the drivers' `-v` (crate::version_warn's cheap query).
        let gcc = b"Using built-in specs.\nTarget: x86_64-linux-gnu\n\
                    gcc version 12.2.0 (Debian 12.2.0-14) \n\
                    GNU C17 (Debian 12.2.0-14) version 12.2.0 (x86_64-linux-gnu)\n";
        assert_eq!(
            ident_from_verbose(gcc).as_deref(),
            Some("GCC: (Debian 12.2.0-14) 12.2.0")
        );
        let clang = b"Debian clang version 16.0.6 (15)\nTarget: x86_64-pc-linux-gnu\n";
        assert_eq!(
            ident_from_verbose(clang).as_deref(),
            Some("Debian clang version 16.0.6 (15)")
        );
        assert_eq!(ident_from_verbose(b"cc: fatal error\n"), None);
        // Regression (issue 14, item 6): a function's code ends right before `.comment`
        // (`pop rbp; ret` = 5d c3), with no NUL between.
        let obj = b"UH\x89\xe5\xb8\x03\0\0\0]\xc3GCC: (Debian 12.2.0-14) 12.2.0\0";
        assert_eq!(
            compiler_ident(obj).as_deref(),
            Some("GCC: (Debian 12.2.0-14) 12.2.0")
        );
        let hostile = [b"GCC: \x1b[2J".as_slice(), &[b'a'; 5000], b"\0"].concat();
        let got = compiler_ident(&hostile).unwrap();
        assert!(got.starts_with("GCC: \\x1b[2J"), "{got}");
        assert_eq!(got.chars().count(), IDENT_MAX + 3);
    }

    proptest::proptest! {
        /// Whatever object a helper returns: no panic, a bounded and printable string.
        #[test]
        fn any_object_gives_a_short_printable_ident(
            junk: Vec<u8>,
            ident: Vec<u8>,
        ) {
            let object = [junk.as_slice(), b"\0GCC: ", &ident, b"\0"].concat();
            let got = compiler_ident(&object).unwrap_or_default();
            proptest::prop_assert!(got.chars().count() <= IDENT_MAX * 10);
            proptest::prop_assert_eq!(printable(&got), got.as_str());
        }
    }

    #[test]
    fn versions_are_compared() {
        let here: Result<String, String> = Ok("GCC: 12".into());
        assert!(same_compiler(Some("GCC: 12".into()), &here).ok);
        let c = same_compiler(Some("GCC: 11".into()), &here);
        assert!(!c.ok && c.text.contains("version differs"), "{c:?}");
        assert!(!same_compiler(None, &here).ok);
        assert!(!same_compiler(Some("GCC: 12".into()), &Err("x".into())).ok);
    }
}
