//! Which program a job may run, and where it is (distcc src/serve.c: `dcc_remap_compiler`,
//! `dcc_check_compiler_masq`, `dcc_check_compiler_whitelist`; reference §4.4).
//!
//! Order, as distcc:
//! 1. `DISTCC_CMDLIST`: the last N path components of argv[0] must match a listed compiler,
//!    which then replaces it; the whitelist is skipped.
//! 2. Otherwise, unless `--enable-tcp-insecure`: a leading `/bin/` or `/usr/bin/` is removed
//!    (case-insensitively, distcc #279); any other `/` is refused; the name must be listed in a
//!    whitelist directory (`/usr/lib/distcc`: masquerade links, only their presence counts).
//! 3. The name is looked up on the daemon's PATH (`DISTCCD_PATH` or PATH).
//!
//! Improvement over distcc: a PATH entry whose hit is a link to a distcc binary (a masquerade
//! directory on the daemon's PATH) is skipped with a warning, where distcc warns and runs it,
//! which recurses into the client.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use dcc_common::sys::{EmptyElement, SkipDistcc, find_on_path, is_executable_file};

/// Why a compiler name was refused. The text is what the log and the client's SERR line say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompilerRefusal {
    #[error(
        "compiler name <{0}> cannot be an absolute path (or must set DISTCC_CMDLIST or pass --enable-tcp-insecure)"
    )]
    Path(String),
    #[error("{name} not in {dirs} whitelist.")]
    NotWhitelisted { name: String, dirs: String },
    #[error("lookup of {0} in DISTCC_CMDLIST failed")]
    CmdlistMiss(String),
    #[error("failed to exec {0}: No such file or directory")]
    NotFound(String),
}

/// A `DISTCC_CMDLIST` file: absolute compiler paths, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdList {
    entries: Vec<String>,
    numwords: usize,
}

impl CmdList {
    pub fn parse(text: &str, numwords: usize) -> CmdList {
        CmdList {
            entries: text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            numwords: numwords.max(1),
        }
    }

    pub fn load(path: &Path, numwords: usize) -> std::io::Result<CmdList> {
        Ok(CmdList::parse(&std::fs::read_to_string(path)?, numwords))
    }

    fn last_words(s: &str, n: usize) -> Vec<&str> {
        let parts: Vec<&str> = s.split('/').collect();
        parts[parts.len().saturating_sub(n)..].to_vec()
    }

    /// The listed compiler whose last N components match `name`'s.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        let want = Self::last_words(name, self.numwords);
        self.entries
            .iter()
            .find(|e| Self::last_words(e, self.numwords) == want)
            .map(String::as_str)
    }
}

/// Everything that decides which compiler runs.
#[derive(Debug, Clone)]
pub struct CompilerPolicy {
    pub insecure: bool,
    pub whitelist_dirs: Vec<PathBuf>,
    pub cmdlist: Option<CmdList>,
    /// The PATH compilers are found on.
    pub path: String,
}

/// The program a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Full path of the program that will be executed.
    pub program: PathBuf,
    /// Warnings to log and send to the client (a skipped masquerade entry).
    pub warnings: Vec<String>,
}

/// distcc #279: `/usr/bin/gcc` and `/bin/gcc` mean `gcc`.
pub fn strip_system_prefix(name: &str) -> &str {
    for prefix in ["/usr/bin/", "/bin/"] {
        if name.len() > prefix.len()
            && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        {
            return &name[prefix.len()..];
        }
    }
    name
}

impl CompilerPolicy {
    /// The whitelist directories, as distcc names them in its message.
    fn dirs_text(&self) -> String {
        self.whitelist_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// Check `argv0` and find the program to run.
    pub fn resolve(&self, argv0: &str) -> Result<Resolved, CompilerRefusal> {
        let name: String = if let Some(list) = &self.cmdlist {
            list.lookup(argv0)
                .ok_or_else(|| CompilerRefusal::CmdlistMiss(argv0.to_owned()))?
                .to_owned()
        } else if self.insecure {
            argv0.to_owned()
        } else {
            let bare = strip_system_prefix(argv0);
            if bare.contains('/') || bare.is_empty() || bare == "." || bare == ".." {
                return Err(CompilerRefusal::Path(argv0.to_owned()));
            }
            let listed = self.whitelist_dirs.iter().any(|d| {
                let entry = d.join(bare);
                std::fs::symlink_metadata(&entry).is_ok()
            });
            if !listed {
                return Err(CompilerRefusal::NotWhitelisted {
                    name: bare.to_owned(),
                    dirs: self.dirs_text(),
                });
            }
            bare.to_owned()
        };
        if name.contains('/') {
            // Only DISTCC_CMDLIST and --enable-tcp-insecure get here.
            let p = PathBuf::from(&name);
            if is_executable_file(&p) {
                return Ok(Resolved {
                    program: p,
                    warnings: Vec::new(),
                });
            }
            // distcc: an absolute name that does not exist is looked up by its basename.
            let base = p
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            return self.lookup(&base, &name);
        }
        self.lookup(&name, &name)
    }

    fn lookup(&self, name: &str, shown: &str) -> Result<Resolved, CompilerRefusal> {
        let mut warnings = Vec::new();
        if !name.is_empty() {
            // A link to distcc on the daemon's PATH is passed over with a warning (distcc
            // src/serve.c dcc_check_compiler_masq only warns; see the module notes).
            let found = find_on_path(
                OsStr::new(&self.path),
                OsStr::new(name),
                EmptyElement::Skip,
                SkipDistcc::LinksToDistcc,
                |cand| {
                    warnings.push(format!(
                        "{} on distccd's path is a link to distcc; skipping it",
                        cand.display()
                    ));
                },
            );
            if let Some(program) = found {
                return Ok(Resolved { program, warnings });
            }
        }
        Err(CompilerRefusal::NotFound(shown.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _dir: tempfile::TempDir,
        wl: PathBuf,
        bin: PathBuf,
        masq: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let wl = dir.path().join("whitelist");
        let bin = dir.path().join("bin");
        let masq = dir.path().join("masq");
        for d in [&wl, &bin, &masq] {
            std::fs::create_dir(d).unwrap();
        }
        let cc = bin.join("mycc");
        std::fs::write(&cc, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let distcc = bin.join("distcc");
        std::fs::write(&distcc, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&distcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        symlink(&distcc, wl.join("mycc")).unwrap();
        symlink(&distcc, masq.join("mycc")).unwrap();
        Fixture {
            _dir: dir,
            wl,
            bin,
            masq,
        }
    }

    fn policy(f: &Fixture) -> CompilerPolicy {
        CompilerPolicy {
            insecure: false,
            whitelist_dirs: vec![f.wl.clone()],
            cmdlist: None,
            path: format!("{}:{}", f.masq.display(), f.bin.display()),
        }
    }

    #[test]
    fn whitelisted_names_resolve_past_masquerade_links() {
        let f = fixture();
        let r = policy(&f).resolve("mycc").unwrap();
        assert_eq!(r.program, f.bin.join("mycc"));
        assert_eq!(
            r.warnings.len(),
            1,
            "the masquerade entry is skipped loudly"
        );
        let r = policy(&f).resolve("/usr/bin/mycc").unwrap();
        assert_eq!(r.program, f.bin.join("mycc"));
        let r = policy(&f).resolve("/BIN/mycc").unwrap();
        assert_eq!(r.program, f.bin.join("mycc"));
    }

    #[test]
    fn everything_else_is_refused() {
        let f = fixture();
        let p = policy(&f);
        for bad in ["sh", "/bin/sh", "gcc", "distcc"] {
            assert!(
                matches!(p.resolve(bad), Err(CompilerRefusal::NotWhitelisted { .. })),
                "{bad}"
            );
        }
        for bad in [
            "/usr/local/bin/mycc",
            "../mycc",
            "./mycc",
            "/tmp/x/mycc",
            "",
            "..",
        ] {
            assert!(
                matches!(p.resolve(bad), Err(CompilerRefusal::Path(_))),
                "{bad}"
            );
        }
        let msg = p.resolve("sh").unwrap_err().to_string();
        assert!(msg.starts_with("sh not in "), "{msg}");
        assert!(msg.ends_with(" whitelist."), "{msg}");
    }

    #[test]
    fn whitelisted_but_missing_is_not_found() {
        let f = fixture();
        symlink("/nonexistent/distcc", f.wl.join("ghostcc")).unwrap();
        assert_eq!(
            policy(&f).resolve("ghostcc"),
            Err(CompilerRefusal::NotFound("ghostcc".into()))
        );
    }

    #[test]
    fn insecure_mode_skips_the_whitelist_only() {
        let f = fixture();
        let mut p = policy(&f);
        p.insecure = true;
        assert_eq!(
            p.resolve(&f.bin.join("mycc").display().to_string())
                .unwrap()
                .program,
            f.bin.join("mycc")
        );
        assert!(p.resolve("nosuchcc").is_err());
    }

    #[test]
    fn cmdlist_remaps_by_final_words() {
        let f = fixture();
        let mut p = policy(&f);
        let full = f.bin.join("mycc").display().to_string();
        p.cmdlist = Some(CmdList::parse(&format!("{full}\n/opt/x/bin/other\n"), 1));
        assert_eq!(p.resolve("mycc").unwrap().program, f.bin.join("mycc"));
        assert_eq!(
            p.resolve("/somewhere/else/mycc").unwrap().program,
            f.bin.join("mycc")
        );
        assert!(matches!(
            p.resolve("gcc"),
            Err(CompilerRefusal::CmdlistMiss(_))
        ));
        let two = CmdList::parse("/opt/a/bin/cc\n/opt/b/bin/cc\n", 3);
        assert_eq!(two.lookup("b/bin/cc"), Some("/opt/b/bin/cc"));
        assert_eq!(two.lookup("cc"), None);
    }
}
