//! The daemon's side of "may this run?": the compiler name ([`crate::compiler`]) and the
//! argument allow-list (`dcc_args::server`), turned into a [`Prepared`] job or a
//! [`Refusal`] the client is told about.
//!
//! Refusals are answered with a failing status and one `SERR` line (distcc closes without a
//! word). The status is one of distcc's own exit codes, which no compiler uses:
//! - 110 (COMPILER_MISSING) when the compiler is not allowed or not installed: the code distcc
//!   itself sends when it cannot exec the compiler, so C distcc clients already handle it;
//! - 113 (ACCESS_DENIED) when an option or a pump-mode path is refused.
//!
//! A distcc 3.4 client then logs "compile x.c on host failed with exit code N", retries
//! locally and the build goes on. With DISTCC_SKIP_LOCAL_RETRY set, a C client instead prints
//! our SERR line and fails the compile (it trusts the server's verdict); our own client always
//! falls back locally on these codes. See docs/security/argument-allow-list.md.

use std::path::{Path, PathBuf};

use dcc_args::filename;
use dcc_args::server::{self as args, Mode, Policy, Vetted};
use dcc_common::{ExitCode, Level};
use dcc_proto::RequestHeader;

use crate::compiler::CompilerRefusal;
use crate::exec::Runner;
use crate::metrics::RefusalReason;
use crate::pump::PumpError;
use crate::server::Server;

/// Why a request is refused, and how to say it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub exit: ExitCode,
    /// The metrics label.
    pub kind: RefusalReason,
    pub level: Level,
    /// The distcc function name the log line carries.
    pub func: &'static str,
    pub message: String,
    /// The client's input file, if known (for the summary line).
    pub input: Option<String>,
}

/// A vetted job.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub vetted: Vetted,
    /// The program to execute (full path).
    pub program: PathBuf,
    /// The client's names, for logs.
    pub input_name: String,
    pub output_name: String,
    /// Extension of the file the daemon writes the source to (`.i`, `.ii`, ...).
    pub input_ext: String,
    /// `.o`, or `.s` with -S.
    pub output_ext: String,
    /// Warnings to pass on to the client.
    pub warnings: Vec<String>,
}

/// The refusal for a compiler that cannot be run, as distcc words it.
fn compiler_refusal(e: CompilerRefusal, input: Option<String>) -> Refusal {
    let (level, func) = match e {
        CompilerRefusal::NotFound(_) => (Level::Error, "dcc_execvp"),
        _ => (Level::Critical, "dcc_check_compiler_whitelist"),
    };
    Refusal {
        exit: ExitCode::CompilerMissing,
        kind: RefusalReason::Compiler,
        level,
        func,
        message: e.to_string(),
        input,
    }
}

/// A name that is not a gcc/clang driver is refused by the allow-list, which only knows
/// those drivers' options. But when the program does not exist at all (reachable only with
/// `--enable-tcp-insecure` or `DISTCC_CMDLIST`, which skip the whitelist), nothing could run
/// anyway: answer as distcc does, "failed to exec" with status 110, so the client's message
/// and exit code are distcc's (distcc's test suite checks this with `nosuchcc`).
fn missing_compiler<R: Runner>(
    srv: &Server<R>,
    argv: &[String],
    refusal: &args::Refusal,
) -> Option<Refusal> {
    if !matches!(refusal, args::Refusal::Compiler { reason, .. } if *reason == args::NOT_A_DRIVER) {
        return None;
    }
    match srv.compilers.resolve(argv.first()?) {
        Err(e @ CompilerRefusal::NotFound(_)) => Some(compiler_refusal(e, None)),
        _ => None,
    }
}

/// The source file a refused request names, for the log, the live page and the recent failures
/// (vetting stopped before it found the input): the last argument that looks like a source.
fn named_source(argv: &[String]) -> Option<String> {
    argv.iter()
        .skip(1)
        .rev()
        .find(|a| !a.starts_with('-') && filename::is_source(a))
        .cloned()
}

/// Check the header of a request.
pub fn prepare<R: Runner>(srv: &Server<R>, header: &RequestHeader) -> Result<Prepared, Refusal> {
    let argv = &header.argv;
    let mode = if header.protocol.pump {
        Mode::Pump {
            cwd: PathBuf::from(header.cdir.as_deref().unwrap_or("/")),
        }
    } else {
        Mode::Plain
    };
    let sysroot = srv.cfg.sysroot.as_deref();
    let spec_exists = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    let policy = Policy {
        sysroot,
        spec_exists: &spec_exists,
        allow_compiler_path: srv.cfg.insecure || srv.compilers.cmdlist.is_some(),
    };
    let vetted = args::vet(argv, &mode, &policy).map_err(|r| {
        if let Some(mut missing) = missing_compiler(srv, argv, &r) {
            missing.input = named_source(argv);
            return missing;
        }
        let (exit, kind) = match r {
            args::Refusal::Compiler { .. } => (ExitCode::CompilerMissing, RefusalReason::Compiler),
            _ => (ExitCode::AccessDenied, RefusalReason::Option),
        };
        Refusal {
            exit,
            kind,
            level: Level::Warning,
            func: "dcc_check_args",
            message: r.to_string(),
            input: named_source(argv),
        }
    })?;
    let input_name = argv.get(vetted.input_index).cloned().unwrap_or_default();
    let resolved = srv
        .compilers
        .resolve(&vetted.compiler)
        .map_err(|e| compiler_refusal(e, Some(input_name.clone())))?;
    for w in &resolved.warnings {
        dcc_common::dcc_log!(Level::Warning, "dcc_check_compiler_masq", "{w}");
    }
    let input_ext = filename::preproc_ext(&input_name)
        .unwrap_or(".tmp")
        .to_owned();
    let output_ext = if vetted.assembly { ".s" } else { ".o" }.to_owned();
    let output_name = vetted.client_output.clone();
    Ok(Prepared {
        program: resolved.program,
        input_name,
        output_name,
        input_ext,
        output_ext,
        warnings: resolved.warnings,
        vetted,
    })
}

/// Plain mode: the argv to run, with the job's input and output.
pub fn rewrite_plain(argv: &[String], p: &Prepared, input: &Path, output: &Path) -> Vec<String> {
    args::rewrite_plain(argv, &p.vetted, input, output)
}

/// Pump mode: the argv to run and the .d target. The root is mapped away in everything the
/// compiler records (`-ffile-prefix-map`, gcc >= 8, clang >= 10), so debug info and
/// `__FILE__` name the client's paths, as a local build would.
pub fn rewrite_pump(
    argv: &[String],
    p: &Prepared,
    root: &Path,
    output: &Path,
    deps: &Path,
) -> (Vec<String>, String) {
    let r = args::rewrite_pump(argv, &p.vetted, root, output, deps);
    let mut argv = r.argv;
    argv.push(format!("-ffile-prefix-map={}=", root.display()));
    (argv, r.dotd_target)
}

/// Pump mode: the server's .d made the client's.
pub fn cleanup_dotd(dotd: &str, server_output: &str, client_target: &str, root: &str) -> String {
    args::cleanup_dotd(dotd, server_output, client_target, root)
}

/// A pump-mode tree refusal.
pub fn pump_refusal(e: &PumpError) -> Refusal {
    Refusal {
        exit: match e {
            PumpError::Io { .. } => ExitCode::IoError,
            _ => ExitCode::AccessDenied,
        },
        kind: RefusalReason::PumpPath,
        level: Level::Warning,
        func: "dcc_r_many_files",
        message: format!("distccd refuses the file list: {e}"),
        input: None,
    }
}
