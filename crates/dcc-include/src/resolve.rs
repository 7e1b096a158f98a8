//! Where an include lands, and what is on the way there.
//!
//! Search order, as gcc documents it (cpp manual, "Search Path" and "Wrapper Headers"):
//! - `"x"`: the includer's directory (the directory part of the path the includer was opened
//!   by, not its real path), then the quote chain, then the bracket chain;
//! - `<x>`: the bracket chain;
//! - `#include_next`: the directories after the one the includer was found in; for a file
//!   found in its includer's directory that is the whole chain from the start, and for the
//!   main file or a file named by an absolute path it is a plain `#include`;
//! - `-include`/`-imacros`: the compiler's working directory, then the quote chain.
//!
//! Paths are built as gcc builds them (`dir/name`, no clean-up), so `..` after a symlinked
//! directory means what the kernel says. To let a helper recreate the path, [`Walker`] walks
//! each one component by component as the kernel does and records every directory and every
//! symbolic link it passes (the link's own path and its text).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::outcome::Reason;

/// Where a file was found, which decides where `#include_next` goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Found {
    /// In chain directory `n` (quote chain first, then bracket chain).
    Chain(usize),
    /// In the includer's directory (or the working directory, for `-include`).
    Local,
    /// The main file, or an absolute name.
    Absolute,
}

/// What a path is, after following symlinks on the way (a file or a directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    File,
    Dir,
    Missing,
}

/// Walks paths as the kernel resolves them, remembering every lookup of one scan.
#[derive(Debug, Default)]
pub struct Walker {
    /// lstat of physical paths: `Some(target)` for a link, else its kind.
    pub(crate) lstat: HashMap<PathBuf, Result<Option<PathBuf>, Node>>,
    /// stat (following links) of paths as written.
    pub(crate) stat: HashMap<PathBuf, Node>,
    /// Every physical directory on the way to something recorded.
    pub dirs: BTreeSet<PathBuf>,
    /// Every symbolic link on the way: link path → its text.
    pub links: BTreeMap<PathBuf, PathBuf>,
}

/// Links followed for one path before it counts as a loop (Linux's limit).
const MAX_LINKS: usize = 40;

/// What `stat` (following links) says a path is.
pub(crate) fn stat_node(p: &Path) -> Node {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Node::Dir,
        Ok(_) => Node::File,
        Err(_) => Node::Missing,
    }
}

/// What `lstat` says a path is: `Ok(Some(target))` for a link.
pub(crate) fn lstat_node(p: &Path) -> Result<Option<PathBuf>, Node> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::read_link(p).map(Some).map_err(|_| Node::Missing)
        }
        Ok(m) if m.is_dir() => Err(Node::Dir),
        Ok(_) => Err(Node::File),
        Err(_) => Err(Node::Missing),
    }
}

impl Walker {
    fn kind(&mut self, p: &Path) -> Node {
        if let Some(k) = self.stat.get(p) {
            return *k;
        }
        let k = stat_node(p);
        self.stat.insert(p.to_path_buf(), k);
        k
    }

    /// Whether `p` names an existing non-directory (gcc passes over directories).
    pub fn is_file(&mut self, p: &Path) -> bool {
        self.kind(p) == Node::File
    }

    /// Whether `p` names an existing directory.
    pub fn is_dir(&mut self, p: &Path) -> bool {
        self.kind(p) == Node::Dir
    }

    /// Resolve absolute `p` as the kernel does, recording directories and links on the way;
    /// returns the physical path.
    pub fn walk(&mut self, p: &Path) -> Result<PathBuf, Reason> {
        let mut cur = PathBuf::from("/");
        let mut todo: Vec<OsString> = components(p);
        todo.reverse();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            if c == "." {
                continue;
            }
            if c == ".." {
                cur.pop();
                continue;
            }
            let cand = cur.join(&c);
            let info = match self.lstat.get(&cand) {
                Some(i) => i.clone(),
                None => {
                    let i = lstat_node(&cand);
                    self.lstat.insert(cand.clone(), i.clone());
                    i
                }
            };
            match info {
                Ok(Some(target)) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Reason::SymlinkLoop(p.to_path_buf()));
                    }
                    self.links.insert(cand, target.clone());
                    if target.is_absolute() {
                        cur = PathBuf::from("/");
                    }
                    let mut more = components(&target);
                    more.reverse();
                    todo.extend(more);
                }
                Ok(None) | Err(Node::Missing) => {
                    return Err(Reason::Unreadable {
                        path: p.to_path_buf(),
                        error: "vanished while its path was walked".to_owned(),
                    });
                }
                Err(Node::Dir) => {
                    self.dirs.insert(cand.clone());
                    cur = cand;
                }
                Err(Node::File) => {
                    if !todo.is_empty() {
                        return Err(Reason::Unreadable {
                            path: p.to_path_buf(),
                            error: "not a directory".to_owned(),
                        });
                    }
                    cur = cand;
                }
            }
        }
        Ok(cur)
    }
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::CurDir => Some(".".into()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// `dir/name` as gcc writes it (an empty dir is the working directory).
pub fn join(dir: &Path, name: &str) -> PathBuf {
    let mut s = dir.as_os_str().as_bytes().to_vec();
    if !s.ends_with(b"/") {
        s.push(b'/');
    }
    s.extend_from_slice(name.as_bytes());
    PathBuf::from(std::ffi::OsStr::from_bytes(&s))
}

/// The directory part of an includer's path, as gcc takes it for `"..."` includes.
pub fn dir_of(p: &Path) -> PathBuf {
    p.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// Search `chain[from..]` for `name`; the path and where it was found.
pub fn search(
    w: &mut Walker,
    chain: &[PathBuf],
    from: usize,
    name: &str,
) -> Option<(PathBuf, Found)> {
    for (i, d) in chain.iter().enumerate().skip(from) {
        let p = join(d, name);
        if w.is_file(&p) {
            return Some((p, Found::Chain(i)));
        }
    }
    None
}
