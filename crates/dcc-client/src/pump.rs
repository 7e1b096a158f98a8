//! Remote preprocessing for `,cpp` hosts: protocol 3 as distcc 3.4's pump client speaks it,
//! with the file list from dcc-include's scanner instead of an include server
//! (docs/decisions/remote-preprocessing.md; reference §1.4).
//!
//! 1. [`prepare`]: scan the unit ([`dcc_include::Scanner`], memos in
//!    `$DISTCC_DIR/include-cache`), then read every file the helper needs, checking each
//!    against the BLAKE3 and size the scan recorded (a header edited since the scan makes the
//!    unit take the plain path, never a request with new bytes under an old manifest).
//! 2. [`send`]: write the request on the connection. The kind of request is chosen in one
//!    place, [`request_kind`].
//!
//! What goes on the wire, as distcc's include server lays it out:
//! - every file and symbolic link of the manifest that is not the helper's own (below a
//!   system include directory or the compiler's own directory), at its absolute path on the
//!   master: `NAME` + `FILE` (compressed) or `NAME` + `LINK` (the link's text as it is);
//! - every directory of the manifest that nothing else creates (a search directory, a
//!   directory that `#include "d/../x.h"` passes through) as
//!   `NAME dir/forcing_technique_271828` + an empty `FILE`;
//! - each system include directory of the compiler (its default `#include <...>` chain, less
//!   the directories inside another) as a `LINK` climbing out of the helper's root back to
//!   the same directory on the helper (`../../…/usr/include`), so that an absolute `-I` into
//!   it, which the helper moves under its root, still reaches the helper's own headers;
//! - `CDIR` is the working directory; the argv is the whole command (the helper preprocesses:
//!   `-D`, `-I`, `-include` stay), plus `-MQ <output>` when a dependency file is wanted and
//!   the command names no target ([`dcc_args::client::dotd_info`]).
//!
//! Anything this module cannot send exactly gives a [`NotPumped`] with a stable label; the
//! caller then preprocesses here and sends protocol 2, as distcc does when pump gives up.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use dcc_args::client::{Compile, dotd_info};
use dcc_common::Env;
use dcc_hosts::HostSpec;
use dcc_include::{Kind, Manifest, Origin, Outcome, Scanner};
use dcc_proto::{FileEntry, Protocol, encode_files, encode_request_header};

use crate::conn::Conn;
use crate::remote::RemoteError;

/// The include server's directory placeholder: an empty `FILE` by this name makes the helper
/// create its directory.
pub const FORCING: &str = "forcing_technique_271828";

/// `../` runs this much deeper than the link's own directory, to climb out of a helper's
/// root wherever its `TMPDIR` is (distcc 3.4's roots are `/tmp/distccd_XXXXXX`; ours are
/// deeper). Extra `..` at `/` stay at `/`.
const CLIMB_SLACK: usize = 24;

/// Compiler variables that change the search path: the helper's compiler would not see them,
/// so such a unit is preprocessed here (as distcc does).
const SEARCH_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
];

/// Why a unit goes the plain way (local cpp, then protocol 2 or 0x102).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotPumped {
    /// Short and stable, for counters: a [`dcc_include::Reason::label`], or one of this
    /// module's own (`preprocessed`, `environment`, `changed-since-scan`, `non-utf8`).
    pub label: &'static str,
    /// What happened, for the log.
    pub detail: String,
}

impl std::fmt::Display for NotPumped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.label, self.detail)
    }
}

pub(crate) fn not(label: &'static str, detail: impl Into<String>) -> NotPumped {
    NotPumped {
        label,
        detail: detail.into(),
    }
}

/// A unit ready to be preprocessed on a helper.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The scan's manifest (every file with its hash).
    pub manifest: Manifest,
    /// The working directory (`CDIR`).
    pub cwd: String,
    /// The command the helper runs (the client's argv, dependency target added).
    pub argv: Vec<String>,
    /// The protocol-3 entries, contents read and checked against the manifest.
    pub files: Vec<FileEntry>,
    /// Where the helper's dependency file (`DOTD`) goes, if one is wanted.
    pub dotd: Option<PathBuf>,
    /// The master's search chain for `DIST 0x303` (`CHNS`), from the scan's own probe.
    pub chain: Vec<dcc_proto::cas::ChainDir>,
}

impl Unit {
    /// The contents' bytes, as sent before compression (for `--show-stats`).
    pub fn bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|f| match f {
                FileEntry::File { contents, .. } => contents.len() as u64,
                FileEntry::Link { .. } => 0,
            })
            .sum()
    }
}

/// Whether `host` preprocesses (`,cpp`).
pub fn wants_pump(host: &HostSpec) -> bool {
    Protocol::from_wire(host.protocol_version()).is_ok_and(|p| p.pump)
}

/// Scan `compile` (its argv already renamed) and read what the helper needs.
/// `given` is the command before `-Wp,` expansion; `include_cache` the scanner's memo
/// directory (`$DISTCC_DIR/include-cache`).
pub fn prepare(
    compile: &Compile,
    given: &[String],
    env: &dyn Env,
    include_cache: Option<PathBuf>,
) -> Result<Unit, NotPumped> {
    if compile.preprocessed {
        return Err(not("preprocessed", "the input is already preprocessed"));
    }
    for v in SEARCH_ENV
        .iter()
        .chain(&["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"])
    {
        if env.var_os(v).is_some() {
            return Err(not("environment", format!("{v} is set")));
        }
    }
    let cwd = std::env::current_dir().map_err(|e| not("unreadable", e.to_string()))?;
    let cwd_text = cwd
        .to_str()
        .ok_or_else(|| not("non-utf8", "the working directory is not UTF-8"))?
        .to_owned();
    let argv = &compile.argv;
    let compiler = Path::new(argv.first().map_or("", String::as_str));
    let scanner = Scanner {
        cache_dir: include_cache.clone(),
        ..Scanner::default()
    };
    let scan = scanner.scan(compiler, argv, &cwd);
    let manifest = match scan.outcome {
        Outcome::Complete(m) => m,
        Outcome::GiveUp(r) => return Err(not(r.label(), r.to_string())),
    };
    let system = system_dirs(compiler, argv, &cwd, include_cache.as_deref())?;
    let files = entries(&manifest, &system)?;
    let sp = match scan.search_path {
        Some(sp) => sp,
        // The unit's memo answered: the probe's answer is memoed in the same directory.
        None => {
            let args =
                dcc_include::args::parse(argv, &cwd).map_err(|r| not(r.label(), r.to_string()))?;
            let compiler = if compiler.is_relative() && compiler.components().count() > 1 {
                cwd.join(compiler)
            } else {
                compiler.to_path_buf()
            };
            dcc_include::search_path::probe(
                &compiler,
                &args.probe_flags,
                args.lang,
                include_cache.as_deref(),
            )
            .map_err(|r| not(r.label(), r.to_string()))?
            .0
        }
    };
    let chain = crate::cas::chain(&sp, &system)?;
    let info = dotd_info(given, None);
    let mut server_argv = argv.clone();
    if info.needs_dotd && !info.sets_target {
        server_argv.extend(info.target_args.iter().cloned());
    }
    Ok(Unit {
        manifest,
        cwd: cwd_text,
        argv: server_argv,
        files,
        dotd: info.needs_dotd.then(|| PathBuf::from(info.file.path)),
        chain,
    })
}

/// The directories whose files are the helper's own: the compiler's default `#include <...>`
/// chain (its answer without the command's `-I`-style options) and its own directory,
/// physical, without those inside another.
fn system_dirs(
    compiler: &Path,
    argv: &[String],
    cwd: &Path,
    cache: Option<&Path>,
) -> Result<Vec<PathBuf>, NotPumped> {
    let args = dcc_include::args::parse(argv, cwd).map_err(|r| not(r.label(), r.to_string()))?;
    let flags = without_dir_options(&args.probe_flags);
    let compiler = if compiler.is_relative() && compiler.components().count() > 1 {
        cwd.join(compiler)
    } else {
        compiler.to_path_buf()
    };
    let (sp, _) = dcc_include::search_path::probe(&compiler, &flags, args.lang, cache)
        .map_err(|r| not(r.label(), r.to_string()))?;
    let mut dirs: Vec<PathBuf> = sp
        .bracket
        .iter()
        .chain(&sp.compiler_dirs)
        .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()))
        .collect();
    dirs.sort();
    dirs.dedup();
    let outer: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect();
    Ok(outer)
}

/// The probe flags less the options that add directories to the chain (`-I dir`, `-Idir`,
/// `-iquote`, `-isystem`, `-idirafter`, `-iprefix`, `-iwithprefix`, `-iwithprefixbefore`).
fn without_dir_options(flags: &[String]) -> Vec<String> {
    const DIR: &[&str] = &[
        "-iwithprefixbefore",
        "-iwithprefix",
        "-iprefix",
        "-idirafter",
        "-isystem",
        "-iquote",
        "-I",
    ];
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        match DIR.iter().find(|o| f.starts_with(**o)) {
            Some(o) if f.len() == o.len() => {
                it.next();
            }
            Some(_) => {}
            None => out.push(f.clone()),
        }
    }
    out
}

/// The protocol-3 entries for `m`, files read and checked.
fn entries(m: &Manifest, system: &[PathBuf]) -> Result<Vec<FileEntry>, NotPumped> {
    let helpers = |p: &Path| system.iter().any(|s| p.starts_with(s));
    let name = |p: &Path| -> Result<String, NotPumped> {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| not("non-utf8", format!("{} is not UTF-8", p.display())))
    };
    let mut out = Vec::new();
    // Directories that a file, a link or a system directory's link creates anyway.
    let mut made: HashSet<&Path> = system.iter().flat_map(|s| s.ancestors()).collect();
    let mut dirs = Vec::new();
    for (path, e) in &m.entries {
        if e.origin == Origin::System || helpers(path) {
            continue;
        }
        match &e.kind {
            Kind::Dir => {
                dirs.push(path.as_path());
                continue;
            }
            Kind::File { size, hash } => {
                let contents = read_checked(path, *size, hash)?;
                out.push(FileEntry::File {
                    name: name(path)?,
                    contents,
                });
            }
            Kind::Symlink { target } => {
                let now = std::fs::read_link(path)
                    .map_err(|e| not("changed-since-scan", format!("{}: {e}", path.display())))?;
                if now != *target {
                    return Err(not(
                        "changed-since-scan",
                        format!("{} was retargeted since the scan", path.display()),
                    ));
                }
                out.push(FileEntry::Link {
                    name: name(path)?,
                    target: name(target)?,
                });
            }
        }
        made.extend(path.ancestors().skip(1));
    }
    for d in dirs {
        if !made.contains(d) {
            out.push(FileEntry::File {
                name: name(&d.join(FORCING))?,
                contents: Vec::new(),
            });
        }
    }
    for s in system {
        let depth = s.components().count().saturating_sub(2);
        let rel = s.strip_prefix("/").unwrap_or(s);
        out.push(FileEntry::Link {
            name: name(s)?,
            target: format!("{}{}", "../".repeat(depth + CLIMB_SLACK), name(rel)?),
        });
    }
    Ok(out)
}

/// The file's bytes, if they are still what the scan hashed.
pub(crate) fn read_checked(path: &Path, size: u64, hash: &[u8; 32]) -> Result<Vec<u8>, NotPumped> {
    let bytes = std::fs::read(path)
        .map_err(|e| not("changed-since-scan", format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 != size || blake3::hash(&bytes).as_bytes() != hash {
        return Err(not(
            "changed-since-scan",
            format!("{} changed after the scan", path.display()),
        ));
    }
    Ok(bytes)
}

/// Say at info level (`DISTCC_VERBOSE`, `DISTCC_LOG`) why `input` is preprocessed here.
pub fn log_not_pumped(input: &str, host: &str, n: &NotPumped) {
    use dcc_common::{Level, dcc_log};
    dcc_log!(
        Level::Info,
        "dcc_build_somewhere",
        "{input}: preprocessing here, not on {host}: {n}"
    );
}

/// After a protocol-3 success: the helper's dependency file (`DOTD`), where gcc would write
/// it, if one is wanted.
pub fn write_dotd(unit: &Unit, dotd: &mut crate::reply::Spool) -> Result<(), String> {
    let Some(path) = &unit.dotd else {
        return Ok(());
    };
    let written = crate::output::open_output(path).and_then(|mut f| dotd.copy_to(&mut f));
    written.map_err(|e| {
        format!(
            "failed to write {}: {}",
            path.display(),
            dcc_state::strerror(&e)
        )
    })
}

/// The kinds of request a `,cpp` host can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// distcc 3.4's protocol 3: every file in `NAME`/`FILE`/`LINK` (`,cpp`, `,cpp,lzo`).
    Protocol3,
    /// Our content-addressed files, `DIST 0x303` (`,cpp,zstd`; [`crate::cas`]).
    Cas,
}

/// THE CHOICE POINT: which request a pump host gets. The content-addressed extension
/// (issue 12 step 3, `,cpp,zstd` hosts only: a distcc 3.4 peer never sees it) is chosen here.
pub fn request_kind(protocol: Protocol) -> RequestKind {
    if protocol.pump && protocol.compression == dcc_proto::Compression::Zstd {
        RequestKind::Cas
    } else {
        RequestKind::Protocol3
    }
}

/// The protocol the reply to `unit`'s request comes in (`DONE` echoes the request's `DIST`).
pub fn reply_protocol(protocol: Protocol) -> Protocol {
    match request_kind(protocol) {
        RequestKind::Protocol3 => protocol,
        RequestKind::Cas => dcc_proto::cas::PROTOCOL,
    }
}

/// Write the request for `unit` on `conn`; returns the bytes sent.
pub fn send(conn: &mut Conn, protocol: Protocol, unit: &Unit) -> Result<u64, RemoteError> {
    match request_kind(protocol) {
        RequestKind::Protocol3 => {
            let mut out = Vec::with_capacity(4096);
            encode_request_header(&mut out, protocol, Some(&unit.cwd), &unit.argv)?;
            encode_files(&mut out, protocol, &unit.files)?;
            conn.write_all(&out).map_err(RemoteError::Write)?;
            Ok(out.len() as u64)
        }
        RequestKind::Cas => crate::cas::send(conn, unit),
    }
}

/// `distcc --scan-includes`: one line per entry, as distcc prints them (`%-9s %s`:
/// `FILE`, `SYMLINK`, `DIRECTORY`, `SYSTEMDIR`).
pub fn scan_lines(unit: &Unit) -> Vec<String> {
    unit.files
        .iter()
        .map(|f| match f {
            FileEntry::File { name, .. } => match name.strip_suffix(&format!("/{FORCING}")) {
                Some(dir) => format!(
                    "{:<9} {}",
                    "DIRECTORY",
                    if dir.is_empty() { "/" } else { dir }
                ),
                None => format!("{:<9} {name}", "FILE"),
            },
            FileEntry::Link { name, target }
                if target.starts_with("../") && is_climb(target, name) =>
            {
                format!("{:<9} {name}", "SYSTEMDIR")
            }
            FileEntry::Link { name, .. } => format!("{:<9} {name}", "SYMLINK"),
        })
        .collect()
}

/// `distcc --scan-includes COMPILER ARGS`: print what a `,cpp` host would be sent. Without
/// a `,cpp` host distcc's error and exit 100; a unit the scanner refuses prints nothing but
/// the reason (as distcc's include server giving up).
pub fn scan_includes(
    cfg: &crate::config::Config,
    env: &dyn Env,
    dir: Option<&dcc_state::DistccDir>,
    args: &[std::ffi::OsString],
) -> i32 {
    use dcc_common::{ExitCode, Level, dcc_log};
    let list = match crate::hosts::load(cfg, env) {
        Ok(h) => h.list,
        Err(e) => return crate::hosts::report(&e).code(),
    };
    if !list.hosts.iter().any(wants_pump) {
        dcc_log!(
            Level::Error,
            "main",
            "'--scan_includes' specified, but distcc wouldn't have used include server (make sure hosts list includes ',cpp' option?)"
        );
        return ExitCode::DistccFailed.code();
    }
    let Some(given) = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<String>>>()
    else {
        dcc_log!(Level::Error, "main", "argument is not valid UTF-8");
        return ExitCode::BadArguments.code();
    };
    let expanded = dcc_args::client::expand_preprocessor_options(&given);
    let mut compile = match dcc_args::client::scan_args(&expanded) {
        Ok(dcc_args::client::Scan::Distribute(c)) => c,
        Ok(dcc_args::client::Scan::Local(r)) => {
            dcc_log!(Level::Warning, "main", "{r}: nothing would be sent");
            return 0;
        }
        Err(e) => {
            dcc_log!(Level::Error, "dcc_scan_args", "{e}");
            return ExitCode::BadArguments.code();
        }
    };
    compile.argv = crate::probe::rewrite_compiler(cfg, compile.argv);
    let cache = dir.map(|d| d.path().join("include-cache"));
    match prepare(&compile, &given, env, cache) {
        Ok(unit) => {
            let mut out = scan_lines(&unit).join("\n");
            out.push('\n');
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
            0
        }
        Err(n) => {
            dcc_log!(
                Level::Warning,
                "main",
                "preprocessed here, not on a ',cpp' host: {n}"
            );
            0
        }
    }
}

/// Whether a link's target is this module's climb back to its own name.
fn is_climb(target: &str, name: &str) -> bool {
    target.trim_start_matches("../") == name.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_options_leave_the_probe_flags() {
        let f: Vec<String> = [
            "-O2",
            "-I",
            "a",
            "-Ib",
            "-isystem",
            "/s",
            "-nostdinc",
            "-iquote",
            "q",
            "-m32",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(without_dir_options(&f), ["-O2", "-nostdinc", "-m32"]);
    }
}
