//! Protocol 3 (pump) on the server: the client's files written into a private root, and the
//! results cleaned of that root (reference §1.4, §4.8).
//!
//! distcc writes each `NAME` at `root + NAME` without looking at `..` (two FIXMEs in
//! src/srvrpc.c) and follows links while writing. We are stricter, because the daemon writes
//! what a network peer names:
//! - a `NAME` must be absolute and may not contain `.` or `..` components;
//! - nothing is ever written through a symbolic link: every directory on the way to a file is
//!   created by us inside the root, and a link met on the way is a refusal;
//! - a `LINK` may point inside the root, or out of it only into a system include directory of
//!   the server (that is how the include server hands over `/usr/include`: a run of `../`
//!   climbing back to the server's real directory). Any other target is refused.
//!
//! - no name or link target may make gcc or clang load a precompiled header
//!   ([`dcc_args::filename::is_pch_path`]: `.gch`, `.pch`, `.pcm`, a `NAME.gch/` directory).
//!
//! The compiler reads through those links, which is the point: system headers come from the
//! server's own toolchain. Nothing else outside the job's directory is reachable through the
//! tree we build.

use std::io;
use std::path::{Component, Path, PathBuf};

use dcc_args::filename::is_pch_path;
use dcc_proto::FileEntry;

/// Most components in a `NAME` or `CDIR`. Real trees are a few dozen levels deep; distcc has no
/// bound, and a `NAME` 2000 directories deep (about 4 KB) made the daemon create, and then fail
/// to remove, a tree that deep (issue 10). Checked before any directory is made.
pub const MAX_DEPTH: usize = 128;

/// Most directories one request's tree may create (its `CDIR` and the directories of every
/// `NAME`). A big project's include tree is a few thousand directories; without a bound, one
/// request of 100 000 names each 127 directories deep made 12.7 million (issue 10). Checked
/// before each directory is made.
pub const MAX_DIRS: usize = 10_000;

/// What each directory, file and link of a tree costs in the disk budget (`--receive-disk`)
/// besides its contents: about a block and an inode, so that empty files, links and
/// directories are not free.
pub const ENTRY_COST: u64 = 4096;

/// Where a `LINK` may lead outside the root: the server's system include directories.
pub const SYSTEM_INCLUDE_PREFIXES: &[&str] = &[
    "/usr/include",
    "/usr/local/include",
    "/usr/lib/gcc",
    "/usr/lib/gcc-cross",
    "/usr/lib/clang",
    "/usr/lib64/gcc",
    "/usr/libexec/gcc",
];

#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    #[error("file name {0:?} is not a clean absolute path")]
    BadName(String),
    #[error("link {name:?} -> {target:?} leads outside the job and the system include directories")]
    BadLink { name: String, target: String },
    #[error("refusing to write {0:?} through a symbolic link")]
    ThroughLink(String),
    #[error("{0:?} is a precompiled header name: the compiler would load it as trusted memory")]
    Pch(String),
    #[error("duplicate file name {0:?}")]
    Duplicate(String),
    #[error("file name {name:?} is {depth} directories deep, over the limit of {MAX_DEPTH}")]
    TooDeep { name: String, depth: usize },
    #[error("the file list needs more than {MAX_DIRS} directories (at {0:?})")]
    TooManyDirs(String),
    #[error("working directory {0:?} is not a clean absolute path")]
    BadCwd(String),
    #[error("failed to create {path}: {source}")]
    Io { path: String, source: io::Error },
}

/// The components of a clean absolute path, or `None` (relative, `.`, `..`, empty).
pub fn clean_components(path: &str) -> Option<Vec<&str>> {
    if !path.starts_with('/') {
        return None;
    }
    let mut out = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir => {}
            Component::Normal(s) => out.push(s.to_str()?),
            _ => return None,
        }
    }
    // Path::components drops "." silently: reject it explicitly.
    if path.split('/').any(|s| s == "." || s == "..") {
        return None;
    }
    Some(out)
}

/// Resolve `target` lexically as a link at `/parent/...` would (relative to the link's
/// directory, `..` above `/` staying at `/`). Returns the absolute client-side path.
fn resolve_link(link_dir: &[&str], target: &str) -> Vec<String> {
    let mut out: Vec<String> = if target.starts_with('/') {
        Vec::new()
    } else {
        link_dir.iter().map(|s| s.to_string()).collect()
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p.to_owned()),
        }
    }
    out
}

/// Whether `abs` (components of an absolute path) is or is below an allowed system prefix.
fn is_system_include(abs: &[String]) -> bool {
    let joined = format!("/{}", abs.join("/"));
    SYSTEM_INCLUDE_PREFIXES
        .iter()
        .any(|p| joined == *p || joined.starts_with(&format!("{p}/")))
        || (abs.len() >= 3 && abs[0] == "usr" && abs[2] == "include") // /usr/<triple>/include
}

/// A client's name as an error shows it: at most 200 characters (a `NAME` may be 128 KiB).
fn shown(name: &str) -> String {
    name.chars().take(200).collect()
}

/// A client's tree being built under its root, with what it has created so far. Its methods
/// do synchronous filesystem work: call them off the async workers
/// ([`tokio::task::spawn_blocking`]).
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    /// Directories created.
    dirs: usize,
    /// Files and links created.
    entries: usize,
}

impl Tree {
    pub fn new(root: PathBuf) -> Tree {
        Tree {
            root,
            dirs: 0,
            entries: 0,
        }
    }

    /// What the tree costs in the disk budget besides its files' contents ([`ENTRY_COST`]).
    pub fn cost(&self) -> u64 {
        (self.dirs + self.entries) as u64 * ENTRY_COST
    }

    /// Create the directories of `parts` below the root, refusing to pass through a link, to
    /// go deeper than [`MAX_DEPTH`] or to make more than [`MAX_DIRS`] in all.
    fn make_dirs(&mut self, parts: &[&str], name: &str) -> Result<PathBuf, PumpError> {
        if parts.len() >= MAX_DEPTH {
            return Err(PumpError::TooDeep {
                name: shown(name),
                depth: parts.len() + 1,
            });
        }
        let mut p = self.root.clone();
        for part in parts {
            p.push(part);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(PumpError::ThroughLink(name.to_owned()));
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(PumpError::ThroughLink(name.to_owned())),
                Err(_) => {
                    if self.dirs >= MAX_DIRS {
                        return Err(PumpError::TooManyDirs(shown(name)));
                    }
                    std::fs::create_dir(&p).map_err(|source| PumpError::Io {
                        path: name.to_owned(),
                        source,
                    })?;
                    self.dirs += 1;
                }
            }
        }
        Ok(p)
    }

    /// Check a `NAME` (and a link's target) and make its directories: the path to create, the
    /// directories on the way (client components), and the last component.
    fn place<'a>(
        &mut self,
        name: &'a str,
        link_target: Option<&str>,
    ) -> Result<(PathBuf, Vec<&'a str>, &'a str), PumpError> {
        let mut parts = clean_components(name).ok_or_else(|| PumpError::BadName(shown(name)))?;
        let Some(last) = parts.pop() else {
            return Err(PumpError::BadName(shown(name)));
        };
        // gcc loads `H.gch` (or any file in a `H.gch/` directory) instead of the header `H`,
        // and trusts the pointers in it: nothing shipped may carry such a name, nor lead to
        // one.
        if is_pch_path(name) || link_target.is_some_and(is_pch_path) {
            return Err(PumpError::Pch(shown(name)));
        }
        let dir = self.make_dirs(&parts, name)?;
        let path = dir.join(last);
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(PumpError::Duplicate(shown(name)));
        }
        Ok((path, parts, last))
    }

    /// Create the file `name` of the client's tree, for its contents to be written into.
    /// `None` for the include server's directory placeholder (`forcing_technique_271828` with
    /// no contents): its directory is made, nothing else.
    pub fn create_file(
        &mut self,
        name: &str,
        empty: bool,
    ) -> Result<Option<std::fs::File>, PumpError> {
        let (path, _, last) = self.place(name, None)?;
        if last == "forcing_technique_271828" && empty {
            return Ok(None);
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| PumpError::Io {
                path: shown(name),
                source,
            })?;
        self.entries += 1;
        Ok(Some(f))
    }

    /// Write one entry of the client's tree.
    pub fn write_entry(&mut self, entry: &FileEntry) -> Result<(), PumpError> {
        match entry {
            FileEntry::File { name, contents } => {
                use std::io::Write;
                if let Some(mut f) = self.create_file(name, contents.is_empty())? {
                    f.write_all(contents).map_err(|source| PumpError::Io {
                        path: shown(name),
                        source,
                    })?;
                }
                Ok(())
            }
            FileEntry::Link { name, target } => self.write_link(name, target),
        }
    }

    /// Write the link `name -> target` of the client's tree.
    pub fn write_link(&mut self, name: &str, target: &str) -> Result<(), PumpError> {
        let bad = || PumpError::BadLink {
            name: shown(name),
            target: shown(target),
        };
        // `..` only as a leading run: after a name it would climb out of whatever that name
        // is on disk, maybe a link already written (`inc -> ../../usr/include`, then
        // `r -> inc/../..` is the server's `/`), which the lexical checks below cannot see.
        // The leading run climbs from the link's own directory, which is a real directory
        // made by us.
        if !target.starts_with('/') && climbs_after_a_name(target) {
            return Err(bad());
        }
        let (path, dirs, _) = self.place(name, Some(target))?;
        let resolved = resolve_link(&dirs, target);
        let inside = !target.starts_with('/') && !escapes(dirs.len(), target);
        // distcc prefixes an absolute target with the root; such a target then stays inside
        // the client's tree.
        let fs_target: PathBuf = if target.starts_with('/') {
            if clean_components(target).is_none() {
                return Err(bad());
            }
            self.root.join(target.trim_start_matches('/'))
        } else if inside {
            PathBuf::from(target)
        } else if is_system_include(&resolved) {
            PathBuf::from(format!("/{}", resolved.join("/")))
        } else {
            return Err(bad());
        };
        std::os::unix::fs::symlink(&fs_target, &path).map_err(|source| PumpError::Io {
            path: shown(name),
            source,
        })?;
        self.entries += 1;
        Ok(())
    }

    /// Make the directory `name` (and those on the way) of the client's tree; one that
    /// exists already is fine (a content-addressed manifest lists every directory).
    pub fn make_dir(&mut self, name: &str) -> Result<PathBuf, PumpError> {
        let parts = clean_components(name).ok_or_else(|| PumpError::BadName(shown(name)))?;
        if is_pch_path(name) {
            return Err(PumpError::Pch(shown(name)));
        }
        self.make_dirs(&parts, name)
    }

    /// Check the new file `name` and make its directories: the path for the caller to create
    /// (a hard link from the content-addressed store), counted as an entry.
    pub fn new_file_path(&mut self, name: &str) -> Result<PathBuf, PumpError> {
        let (path, _, _) = self.place(name, None)?;
        self.entries += 1;
        Ok(path)
    }

    /// Create the client's working directory inside the root and return its server path.
    pub fn make_cwd(&mut self, cdir: &str) -> Result<PathBuf, PumpError> {
        let parts = clean_components(cdir).ok_or_else(|| PumpError::BadCwd(cdir.to_owned()))?;
        self.make_dirs(&parts, cdir)
    }
}

/// Whether a `..` in `target` follows a normal component (`a/..`, `inc/../..`, `./x/..`).
fn climbs_after_a_name(target: &str) -> bool {
    let mut named = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if named => return true,
            ".." => {}
            _ => named = true,
        }
    }
    false
}

/// Whether a relative `target` in a directory `depth` levels below the root climbs above it.
fn escapes(depth: usize, target: &str) -> bool {
    let mut d = depth as isize;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                d -= 1;
                if d < 0 {
                    return true;
                }
            }
            _ => d += 1,
        }
    }
    false
}

/// Replace every occurrence of `root` in `data` with `/` padded with slashes to the same
/// length (distcc src/fix_debug_info.c), so no server path is left and no offset moves. We
/// already ask the compiler to map the root away (`-ffile-prefix-map`); this catches anything
/// a compiler wrote without honouring that.
pub fn scrub_root(data: &mut [u8], root: &[u8]) -> usize {
    if root.is_empty() || data.len() < root.len() {
        return 0;
    }
    let mut n = 0;
    let mut i = 0;
    while i + root.len() <= data.len() {
        if &data[i..i + root.len()] == root {
            data[i..i + root.len()].fill(b'/');
            n += 1;
            i += root.len();
        } else {
            i += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, body: &[u8]) -> FileEntry {
        FileEntry::File {
            name: name.into(),
            contents: body.to_vec(),
        }
    }

    fn link(name: &str, target: &str) -> FileEntry {
        FileEntry::Link {
            name: name.into(),
            target: target.into(),
        }
    }

    /// One entry into a tree at `root` (what is on disk is the tree's state for these tests).
    fn write_entry(root: &Path, e: &FileEntry) -> Result<(), PumpError> {
        Tree::new(root.to_owned()).write_entry(e)
    }

    fn make_cwd(root: &Path, cdir: &str) -> Result<PathBuf, PumpError> {
        Tree::new(root.to_owned()).make_cwd(cdir)
    }

    /// Issue 10: 100 000 names 127 directories deep made 12.7 million directories, none of
    /// them charged to the disk budget. A tree stops at MAX_DIRS and counts what it made.
    #[test]
    fn a_tree_makes_at_most_max_dirs_and_counts_every_entry() {
        let root = tempfile::tempdir().unwrap();
        let mut t = Tree::new(root.path().to_owned());
        t.make_cwd("/src").unwrap();
        t.write_entry(&file("/src/a/m.c", b"int m;")).unwrap();
        t.write_entry(&file("/src/a/e.h", b"")).unwrap();
        t.write_entry(&link("/src/l", "a")).unwrap();
        // Two directories (/src, /src/a) and three entries.
        assert_eq!(t.cost(), 5 * ENTRY_COST);
        let deep = format!("/x/{}f", "b/".repeat(100));
        let mut refused = None;
        for i in 0..200 {
            if let Err(e) = t.write_entry(&file(&deep.replacen("/x/", &format!("/x{i}/"), 1), b""))
            {
                refused = Some(e);
                break;
            }
        }
        assert!(
            matches!(refused, Some(PumpError::TooManyDirs(_))),
            "{refused:?}"
        );
        assert!(t.dirs == MAX_DIRS, "{}", t.dirs);
        let mut n = 0;
        let mut stack = vec![root.path().to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    n += 1;
                    stack.push(e.path());
                }
            }
        }
        assert_eq!(n, MAX_DIRS);
    }

    #[test]
    fn writes_the_captured_tree() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write_entry(r, &file("/src/cap/p3src/m.c", b"int m;")).unwrap();
        write_entry(r, &file("/src/cap/p3src/inc/a.h", b"int a;")).unwrap();
        let up = "../".repeat(22);
        write_entry(r, &link("/usr/include", &format!("{up}usr/include"))).unwrap();
        write_entry(r, &file("/src/cap/p3src/inc/forcing_technique_271828", b"")).unwrap();
        assert_eq!(
            std::fs::read(r.join("src/cap/p3src/m.c")).unwrap(),
            b"int m;"
        );
        assert_eq!(
            std::fs::read_link(r.join("usr/include")).unwrap(),
            PathBuf::from("/usr/include")
        );
        assert!(
            !r.join("src/cap/p3src/inc/forcing_technique_271828")
                .exists()
        );
        let cwd = make_cwd(r, "/src/cap/p3src").unwrap();
        assert!(cwd.is_dir());
    }

    #[test]
    fn escapes_are_refused_and_nothing_is_written_outside() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        std::fs::create_dir(&root).unwrap();
        for bad in [
            "/../escape.c",
            "/a/../../escape.c",
            "relative.c",
            "/a/./b.c",
            "/",
            "",
        ] {
            assert!(
                matches!(
                    write_entry(&root, &file(bad, b"x")),
                    Err(PumpError::BadName(_))
                ),
                "{bad}"
            );
        }
        // A link out of the root to anything but system headers.
        for (n, t) in [
            ("/x", "../../../../etc"),
            ("/y", "../../../../tmp"),
            ("/deep/z", "../../../../../../../../home"),
            ("/w", "/../../etc"),
        ] {
            assert!(
                matches!(
                    write_entry(&root, &link(n, t)),
                    Err(PumpError::BadLink { .. })
                ),
                "{n} -> {t}"
            );
        }
        // A legitimate system link, then an attempt to write through it.
        write_entry(
            &root,
            &link("/usr/include", "../../../../../../usr/include"),
        )
        .unwrap();
        assert!(matches!(
            write_entry(&root, &file("/usr/include/evil.h", b"x")),
            Err(PumpError::ThroughLink(_))
        ));
        // A link inside the tree, then writing through it.
        write_entry(&root, &link("/inner", "src")).unwrap();
        assert!(matches!(
            write_entry(&root, &file("/inner/x.c", b"x")),
            Err(PumpError::ThroughLink(_))
        ));
        // An absolute link target stays inside the root, as distcc does.
        write_entry(&root, &link("/abs", "/etc")).unwrap();
        assert_eq!(
            std::fs::read_link(root.join("abs")).unwrap(),
            root.join("etc")
        );
        assert!(matches!(
            write_entry(&root, &file("/abs/passwd", b"x")),
            Err(PumpError::ThroughLink(_))
        ));
        // Duplicates are refused instead of overwriting.
        write_entry(&root, &file("/d.c", b"1")).unwrap();
        assert!(matches!(
            write_entry(&root, &file("/d.c", b"2")),
            Err(PumpError::Duplicate(_))
        ));
        // Nothing appeared beside the root.
        let names: Vec<_> = std::fs::read_dir(outer.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("root")]);
        assert!(make_cwd(&root, "/a/../..").is_err());
    }

    /// Hole 1 of issue 10: the exact `NAME` is refused before any directory is made.
    #[test]
    fn a_name_2000_directories_deep_is_refused_before_any_mkdir() {
        let root = tempfile::tempdir().unwrap();
        let name = format!("/src/{}f", "d/".repeat(2000));
        assert!(matches!(
            write_entry(root.path(), &file(&name, b"int x;")),
            Err(PumpError::TooDeep { depth: 2002, .. })
        ));
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        assert!(matches!(
            make_cwd(root.path(), &format!("/{}", "d/".repeat(200))),
            Err(PumpError::TooDeep { .. })
        ));
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        // The deepest allowed name is written.
        let ok = format!("/{}f", "d/".repeat(MAX_DEPTH - 1));
        write_entry(root.path(), &file(&ok, b"int x;")).unwrap();
    }

    /// Issue 10, weakness 6: a second link climbing through the first reached the server's `/`.
    #[test]
    fn a_link_may_not_climb_through_another_link() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write_entry(r, &link("/src/inc", "../../../../../../usr/include")).unwrap();
        assert!(matches!(
            write_entry(r, &link("/src/r", "inc/../..")),
            Err(PumpError::BadLink { .. })
        ));
        assert!(!r.join("src/r").exists());
        // In the other order too: the first link may not anticipate the second.
        assert!(matches!(
            write_entry(r, &link("/src/s", "later/../..")),
            Err(PumpError::BadLink { .. })
        ));
        // Leading climbs and plain descents still work.
        write_entry(r, &link("/src/a/b/up", "../../inc")).unwrap();
        write_entry(r, &link("/src/down", "inc/stdio.h")).unwrap();
    }

    #[test]
    fn scrub_keeps_lengths() {
        let mut d = b"xx/tmp/distccd_abc123/src/m.c\0/tmp/distccd_abc123".to_vec();
        let len = d.len();
        assert_eq!(scrub_root(&mut d, b"/tmp/distccd_abc123"), 2);
        assert_eq!(d.len(), len);
        assert_eq!(&d[..8], b"xx//////");
        assert!(!d.windows(7).any(|w| w == b"distccd"));
    }
}
