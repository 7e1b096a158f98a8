//! The compiler's search path, learnt by asking the compiler, cached on disk.
//!
//! `COMPILER <probe flags> -E -dM -v -x LANG /dev/null` prints on stderr the two chains
//! (`#include "..." search starts here:` and `#include <...> search starts here:`) after the
//! compiler has applied all of its own rules: `-iquote`, `-I`, `-isystem`, the built-in system
//! directories, `-idirafter`, `--sysroot` and `=` prefixes, `-nostdinc`, dropping directories
//! that do not exist and duplicates. The scanner does not re-implement those rules; it asks
//! once per (compiler identity, probe flags, language) and keeps the answer. The same run
//! prints the predefined macros on stdout (for computed includes), and
//! `-print-file-name=include` names the compiler's own header directory, whose files the
//! helper's compiler brings itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::args::Lang;
use crate::cache::{file_identity, read_checked, write_checked};
use crate::manifest::{escape, unescape};
use crate::outcome::Reason;

/// What the compiler searches, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    /// The quote chain (`-iquote`), searched after the includer's directory for `"..."`.
    pub quote: Vec<PathBuf>,
    /// The bracket chain (`-I`, `-isystem`, system directories, `-idirafter`).
    pub bracket: Vec<PathBuf>,
    /// Directories that belong to the compiler (e.g. `/usr/lib/gcc/TRIPLE/VER`): files under
    /// them are marked [`crate::manifest::Origin::System`].
    pub compiler_dirs: Vec<PathBuf>,
    /// Files the compiler reads before the source without being asked (glibc's
    /// `stdc-predef.h`, which gcc pre-includes unless `-nostdinc` or `-ffreestanding`), as
    /// `-M` of an empty unit lists them.
    pub preinclude: Vec<PathBuf>,
    /// The compiler's predefined macros (`-dM` output).
    pub predefined: String,
}

impl SearchPath {
    /// The whole chain: quote directories, then bracket directories. `#include_next` goes
    /// on in this list after the directory its includer was found in.
    pub fn chain(&self) -> impl Iterator<Item = &Path> {
        self.quote.iter().chain(&self.bracket).map(PathBuf::as_path)
    }

    /// Whether a physical path lies under one of the compiler's own directories.
    pub fn is_compiler_owned(&self, p: &Path) -> bool {
        self.compiler_dirs.iter().any(|d| p.starts_with(d))
    }

    fn to_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, dirs) in [
            ("quote", &self.quote),
            ("bracket", &self.bracket),
            ("compiler", &self.compiler_dirs),
            ("preinclude", &self.preinclude),
        ] {
            for d in dirs {
                out.extend_from_slice(tag.as_bytes());
                out.push(b' ');
                escape(d.as_os_str(), &mut out);
                out.push(b'\n');
            }
        }
        out.extend_from_slice(b"predefined\n");
        out.extend_from_slice(self.predefined.as_bytes());
        out
    }

    fn from_text(t: &[u8]) -> Option<Self> {
        let mut sp = SearchPath::default();
        let mut rest = t;
        loop {
            let nl = rest.iter().position(|&c| c == b'\n')?;
            let line = &rest[..nl];
            rest = &rest[nl + 1..];
            if line == b"predefined" {
                sp.predefined = String::from_utf8(rest.to_vec()).ok()?;
                return Some(sp);
            }
            let sp_at = line.iter().position(|&c| c == b' ')?;
            let dir = unescape(&line[sp_at + 1..])?;
            match &line[..sp_at] {
                b"quote" => sp.quote.push(dir),
                b"bracket" => sp.bracket.push(dir),
                b"compiler" => sp.compiler_dirs.push(dir),
                b"preinclude" => sp.preinclude.push(dir),
                _ => return None,
            }
        }
    }
}

/// Environment variables that change gcc's or clang's search path.
const SEARCH_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "SDKROOT",
];

/// The search path for this compiler, flags and language: from the cache in `cache_dir`
/// when a probe of the same compiler binary (path, device, inode, size, times) with the same
/// flags is there, else by running the compiler (and then caching the answer).
/// Returns the search path and whether it came from the cache.
pub fn probe(
    compiler: &Path,
    flags: &[String],
    lang: Lang,
    cache_dir: Option<&Path>,
) -> Result<(SearchPath, bool), Reason> {
    let key = probe_key(compiler, flags, lang)?;
    probe_keyed(compiler, &key, flags, lang, cache_dir)
}

/// [`probe`] with its key already computed ([`probe_key`]).
pub(crate) fn probe_keyed(
    compiler: &Path,
    key: &[u8],
    flags: &[String],
    lang: Lang,
    cache_dir: Option<&Path>,
) -> Result<(SearchPath, bool), Reason> {
    let name = crate::manifest::hex(blake3::hash(key).as_bytes());
    let dir = cache_dir.map(|d| d.join("probe-2"));
    if let Some(d) = &dir
        && let Some(body) = read_checked(&d.join(&name), key)
        && let Some(sp) = SearchPath::from_text(&body)
    {
        return Ok((sp, true));
    }
    let sp = run_probe(&resolve_compiler(compiler)?, flags, lang)?;
    if let Some(d) = &dir {
        // A cache that cannot be written only costs the next client a probe.
        let _ = write_checked(d, &name, key, &sp.to_text());
    }
    Ok((sp, false))
}

/// What the probe's answer depends on: the compiler's real path and identity, the language,
/// the flags and the search-path environment variables.
pub(crate) fn probe_key(compiler: &Path, flags: &[String], lang: Lang) -> Result<Vec<u8>, Reason> {
    let real = resolve_compiler(compiler)?;
    let id = file_identity(&real).map_err(|e| Reason::Probe(format!("{}: {e}", real.display())))?;
    let mut key = Vec::new();
    escape(real.as_os_str(), &mut key);
    key.extend_from_slice(format!(" {id:?} {}", lang.as_x()).as_bytes());
    for f in flags {
        key.push(0);
        key.extend_from_slice(f.as_bytes());
    }
    // The compiler adds these to its search path; the probe inherits them, so they are part
    // of what it answered.
    for v in SEARCH_ENV {
        key.push(0);
        key.extend_from_slice(format!("{v}=").as_bytes());
        if let Some(val) = std::env::var_os(v) {
            key.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(val.as_os_str()));
        }
    }
    Ok(key)
}

/// The compiler as a path: a bare name is looked up in `PATH`.
fn resolve_compiler(compiler: &Path) -> Result<PathBuf, Reason> {
    if compiler.components().count() > 1 {
        return std::fs::canonicalize(compiler)
            .map_err(|e| Reason::Probe(format!("{}: {e}", compiler.display())));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let c = d.join(compiler);
        if c.is_file() {
            return std::fs::canonicalize(&c).map_err(|e| Reason::Probe(e.to_string()));
        }
    }
    Err(Reason::Probe(format!(
        "{} not found in PATH",
        compiler.display()
    )))
}

fn run_probe(compiler: &Path, flags: &[String], lang: Lang) -> Result<SearchPath, Reason> {
    let out = Command::new(compiler)
        .args(flags)
        .args(["-E", "-dM", "-v", "-x", lang.as_x(), "/dev/null"])
        .stdin(Stdio::null())
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| Reason::Probe(format!("{}: {e}", compiler.display())))?;
    if !out.status.success() {
        return Err(Reason::Probe(format!(
            "{} -E -v exited with {}",
            compiler.display(),
            out.status
        )));
    }
    let (quote, bracket) = parse_v(&String::from_utf8_lossy(&out.stderr))
        .ok_or_else(|| Reason::Probe("no search list in the -v output".to_owned()))?;
    let own = Command::new(compiler)
        .args(flags)
        .arg("-print-file-name=include")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Reason::Probe(e.to_string()))?;
    let own = String::from_utf8_lossy(&own.stdout).trim().to_owned();
    // `include` alone means "not found"; otherwise its parent is the compiler's own tree
    // (gcc: include and include-fixed; clang: the resource directory).
    let compiler_dirs = match Path::new(&own).parent() {
        Some(p) if Path::new(&own).is_absolute() => {
            vec![std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())]
        }
        _ => Vec::new(),
    };
    let deps = Command::new(compiler)
        .args(flags)
        .args(["-M", "-x", lang.as_x(), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Reason::Probe(e.to_string()))?;
    if !deps.status.success() {
        return Err(Reason::Probe(format!(
            "{} -M exited with {}",
            compiler.display(),
            deps.status
        )));
    }
    Ok(SearchPath {
        quote,
        bracket,
        compiler_dirs,
        preinclude: parse_deps(&String::from_utf8_lossy(&deps.stdout)),
        predefined: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// The prerequisites of `-M` output for /dev/null, other than /dev/null itself.
pub(crate) fn parse_deps(text: &str) -> Vec<PathBuf> {
    let joined = text.replace("\\\n", " ");
    let Some((_, deps)) = joined.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Make's escaping: `\ ` is a space inside a name.
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            ' ' | '\t' | '\n' => {
                if !cur.is_empty() && cur != "/dev/null" {
                    out.push(PathBuf::from(&cur));
                }
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() && cur != "/dev/null" {
        out.push(PathBuf::from(&cur));
    }
    out
}

/// The two chains from `-v` output. `None` when the markers are missing.
pub(crate) fn parse_v(stderr: &str) -> Option<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut quote = Vec::new();
    let mut bracket = Vec::new();
    let mut which: Option<bool> = None;
    let mut seen_end = false;
    for line in stderr.lines() {
        if line.starts_with("#include \"...\" search starts here:") {
            which = Some(false);
        } else if line.starts_with("#include <...> search starts here:") {
            which = Some(true);
        } else if line.starts_with("End of search list.") {
            seen_end = true;
            which = None;
        } else if let (Some(b), Some(dir)) = (which, line.strip_prefix(' ')) {
            let dir = dir.strip_suffix(" (framework directory)").unwrap_or(dir);
            let dir = PathBuf::from(dir.trim_end());
            if b {
                bracket.push(dir);
            } else {
                quote.push(dir);
            }
        } else {
            which = None;
        }
    }
    seen_end.then_some((quote, bracket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gcc_v_output() {
        let v = "ignoring nonexistent directory \"/nope\"\n#include \"...\" search starts here:\n /q\n#include <...> search starts here:\n /w/inc\n /usr/lib/gcc/x86_64-linux-gnu/12/include\n /usr/include\nEnd of search list.\n";
        let (q, b) = parse_v(v).expect("lists");
        assert_eq!(q, vec![PathBuf::from("/q")]);
        assert_eq!(
            b,
            [
                "/w/inc",
                "/usr/lib/gcc/x86_64-linux-gnu/12/include",
                "/usr/include"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(parse_v("no lists\n"), None);
    }

    #[test]
    fn parses_the_preincludes_of_an_empty_unit() {
        assert_eq!(
            parse_deps("null.o: /dev/null /usr/include/stdc-predef.h \\\n /x/a\\ b.h\n"),
            vec![
                PathBuf::from("/usr/include/stdc-predef.h"),
                PathBuf::from("/x/a b.h")
            ]
        );
        assert_eq!(parse_deps("null.o: /dev/null\n"), Vec::<PathBuf>::new());
    }

    #[test]
    fn search_path_text_round_trips() {
        let sp = SearchPath {
            quote: vec!["/a b".into()],
            bracket: vec!["/x".into(), "/y".into()],
            compiler_dirs: vec!["/usr/lib/gcc/t/12".into()],
            preinclude: vec!["/usr/include/stdc-predef.h".into()],
            predefined: "#define __GNUC__ 12\n".into(),
        };
        assert_eq!(SearchPath::from_text(&sp.to_text()), Some(sp));
    }
}
