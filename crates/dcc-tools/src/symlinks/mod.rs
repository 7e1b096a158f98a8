//! `update-distcc-symlinks`: keep the daemon's compiler whitelist and the client's masquerade
//! directory in step with the installed compilers (reference §4.4).
//!
//! - `/usr/lib/distcc/<name> -> ../../bin/distcc`: the whitelist. distccd runs a compiler only
//!   if its name is present here (the CVE-2004-2687 fix); only the entry's existence counts.
//!   Debian's `distcc` package keeps these links with the same command.
//! - `/usr/lib/distcc/bin/<name> -> ../../../bin/distcc`: the masquerade directory that Arch's
//!   makepkg puts first on `PATH` for `BUILDENV=(distcc)`, so `gcc` there runs the client.
//!
//! [`scan`] finds the compilers; [`plan`] compares them with what the directories hold and
//! returns the [`Action`]s (new links, links whose compiler is gone); [`apply`] carries them
//! out. Only symbolic links that point at a `distcc` binary are ever removed: a file or a
//! link the administrator put there for another purpose is left alone, with a warning.

pub mod scan;

use std::fmt;
use std::path::{Component, Path, PathBuf};

pub use scan::{Compiler, find_compilers, known_triples, triple_of};

/// The whitelist directory distccd reads (distcc's `LIBDIR/distcc`).
pub const DEFAULT_DIR: &str = "/usr/lib/distcc";
/// Where compilers are looked for.
pub const DEFAULT_BINDIR: &str = "/usr/bin";
/// The client the links point at.
pub const DEFAULT_DISTCC: &str = "/usr/bin/distcc";
/// Extra bin directories, one per line (cross toolchains outside `/usr/bin`), read on every
/// run so a package upgrade that reruns the command keeps their links.
pub const DEFAULT_DIRS_FILE: &str = "/etc/distcc/compiler-dirs";
/// The masquerade directory, inside the whitelist directory (Arch: `/usr/lib/distcc/bin`).
pub const MASQUERADE_SUBDIR: &str = "bin";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The whitelist directory; the masquerade directory is `<dir>/bin`.
    pub dir: PathBuf,
    /// Directories searched for compilers, in order.
    pub bindirs: Vec<PathBuf>,
    /// The distcc client the links point at.
    pub distcc: PathBuf,
    /// Maintain `<dir>` (the daemon's whitelist).
    pub whitelist: bool,
    /// Maintain `<dir>/bin` (the client's masquerade links).
    pub masquerade: bool,
    /// Remove every distcc link instead (package removal).
    pub remove_all: bool,
}

impl Request {
    /// The directories this request maintains, whitelist first.
    pub fn link_dirs(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        if self.whitelist {
            v.push(self.dir.clone());
        }
        if self.masquerade {
            v.push(self.dir.join(MASQUERADE_SUBDIR));
        }
        v
    }
}

/// One change to the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateDir(PathBuf),
    Link { link: PathBuf, target: PathBuf },
    Remove { link: PathBuf },
    RemoveDir(PathBuf),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateDir(d) => write!(f, "mkdir {}", d.display()),
            Action::Link { link, target } => {
                write!(f, "link {} -> {}", link.display(), target.display())
            }
            Action::Remove { link } => write!(f, "remove {}", link.display()),
            Action::RemoveDir(d) => write!(f, "rmdir {}", d.display()),
        }
    }
}

/// What a run found and would change.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub compilers: Vec<Compiler>,
    pub actions: Vec<Action>,
    /// Entries left alone, and why.
    pub warnings: Vec<String>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create link {}: {source}", path.display())]
    Link {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the failure was a permission problem (the caller suggests root or `--dir`).
    pub fn is_permission(&self) -> bool {
        let (Error::Read { source, .. }
        | Error::CreateDir { source, .. }
        | Error::Link { source, .. }
        | Error::Remove { source, .. }) = self;
        source.kind() == std::io::ErrorKind::PermissionDenied
    }
}

/// The bin directories listed in a dirs file: one absolute path per line; blank lines and
/// `#` comments are skipped. A missing file lists nothing.
pub fn read_dirs_file(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect())
}

/// Lexically clean an absolute path (`.` and `..` removed).
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `p` made absolute, with the symbolic links of its longest existing ancestor resolved, so
/// a relative link computed from it is right on disk (`/lib/distcc` on a merged-/usr system
/// is `/usr/lib/distcc`).
pub fn physical(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    let abs = clean(&abs);
    let mut head = abs.clone();
    let mut tail = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&head) {
            let mut out = real;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out;
        }
        match (head.file_name().map(|n| n.to_owned()), head.parent()) {
            (Some(name), Some(parent)) => {
                tail.push(name);
                head = parent.to_owned();
            }
            _ => return abs,
        }
    }
}

/// The link text that makes a link in `dir` reach `target`: relative when they share a
/// top-level directory (`/usr/lib/distcc` → `../../bin/distcc`, as Debian's links), else
/// absolute.
pub fn link_target(dir: &Path, target: &Path) -> PathBuf {
    let (d, t) = (physical(dir), physical(target));
    let dc: Vec<_> = d.components().collect();
    let tc: Vec<_> = t.components().collect();
    let common = dc.iter().zip(&tc).take_while(|(a, b)| a == b).count();
    // Only the root in common: an absolute link survives moving either tree.
    if common <= 1 {
        return t;
    }
    let mut out = PathBuf::new();
    for _ in common..dc.len() {
        out.push("..");
    }
    for c in &tc[common..] {
        out.push(c);
    }
    out
}

/// Whether `p` is a symbolic link whose text names a `distcc` binary (ours, Debian's, or
/// one an administrator made the same way).
pub fn is_distcc_link(p: &Path) -> bool {
    match std::fs::read_link(p) {
        Ok(t) => t
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("distcc")),
        Err(_) => false,
    }
}

/// The distcc links in `dir`, by name.
fn distcc_links(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| is_distcc_link(&e.path()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Compare the installed compilers with the link directories.
pub fn plan(req: &Request) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    if req.remove_all {
        // The masquerade directory first: it sits inside the whitelist directory.
        let mut removed_dirs: Vec<PathBuf> = Vec::new();
        for dir in req.link_dirs().iter().rev() {
            let links = distcc_links(dir)?;
            for name in &links {
                plan.actions.push(Action::Remove {
                    link: dir.join(name),
                });
            }
            let left = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| {
                            let p = e.path();
                            !removed_dirs.contains(&p) && !is_distcc_link(&p)
                        })
                        .count()
                })
                .unwrap_or(1);
            if left == 0 {
                plan.actions.push(Action::RemoveDir(dir.clone()));
                removed_dirs.push(dir.clone());
            }
        }
        return Ok(plan);
    }
    plan.compilers = find_compilers(&req.bindirs);
    let wanted: std::collections::BTreeSet<&str> =
        plan.compilers.iter().map(|c| c.name.as_str()).collect();
    if !req.distcc.exists() {
        plan.warnings.push(format!(
            "{} does not exist: the links will dangle until it is installed",
            req.distcc.display()
        ));
    }
    for dir in req.link_dirs() {
        if !dir.is_dir() {
            plan.actions.push(Action::CreateDir(dir.clone()));
        }
        let target = link_target(&dir, &req.distcc);
        for c in &plan.compilers {
            let link = dir.join(&c.name);
            match std::fs::symlink_metadata(&link) {
                Err(_) => plan.actions.push(Action::Link {
                    link,
                    target: target.clone(),
                }),
                Ok(_) if is_distcc_link(&link) => {}
                Ok(_) => plan.warnings.push(format!(
                    "{} exists and is not a link to distcc; left alone",
                    link.display()
                )),
            }
        }
        let existing = if dir.is_dir() {
            distcc_links(&dir)?
        } else {
            Vec::new()
        };
        for name in existing {
            if !wanted.contains(name.as_str()) {
                plan.actions.push(Action::Remove {
                    link: dir.join(name),
                });
            }
        }
    }
    Ok(plan)
}

/// Carry out the actions, in order.
pub fn apply(actions: &[Action]) -> Result<(), Error> {
    for a in actions {
        match a {
            Action::CreateDir(d) => {
                std::fs::create_dir_all(d).map_err(|source| Error::CreateDir {
                    path: d.clone(),
                    source,
                })?
            }
            Action::Link { link, target } => {
                std::os::unix::fs::symlink(target, link).map_err(|source| Error::Link {
                    path: link.clone(),
                    source,
                })?
            }
            Action::Remove { link } => {
                std::fs::remove_file(link).map_err(|source| Error::Remove {
                    path: link.clone(),
                    source,
                })?
            }
            Action::RemoveDir(d) => std::fs::remove_dir(d).map_err(|source| Error::Remove {
                path: d.clone(),
                source,
            })?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_are_debians() {
        assert_eq!(
            link_target(Path::new("/usr/lib/distcc"), Path::new("/usr/bin/distcc")),
            PathBuf::from("../../bin/distcc")
        );
        assert_eq!(
            link_target(
                Path::new("/usr/lib/distcc/bin"),
                Path::new("/usr/bin/distcc")
            ),
            PathBuf::from("../../../bin/distcc")
        );
        assert_eq!(
            link_target(
                Path::new("/nonexistent-x/lib/distcc"),
                Path::new("/usr/bin/distcc")
            ),
            PathBuf::from("/usr/bin/distcc")
        );
    }

    #[test]
    fn dirs_files_skip_comments() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("dirs");
        std::fs::write(&f, "# cross\n/opt/x-tools8/aarch64/bin\n\n  /opt/b/bin  \n").unwrap();
        assert_eq!(
            read_dirs_file(&f).unwrap(),
            vec![
                PathBuf::from("/opt/x-tools8/aarch64/bin"),
                PathBuf::from("/opt/b/bin")
            ]
        );
        assert!(read_dirs_file(&d.path().join("none")).unwrap().is_empty());
    }
}
