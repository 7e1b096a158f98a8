//! Executables and `PATH` searches.
//!
//! Every program of ours looks for compilers on a `PATH`, and each must not find distcc's
//! own masquerade links (`/usr/lib/distcc/gcc -> ../../bin/distcc`) instead of the compiler,
//! or a compile would call distcc again. distcc itself tells distcc apart differently in
//! each place, and so do we, to stay compatible; [`SkipDistcc`] names each rule and every
//! search states which one it uses. How an empty `PATH` element is read differs too
//! ([`EmptyElement`]).
//!
//! A candidate is `dir/name`, joined with one `/` as execvp(3) and distcc join them.

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A regular file (after following links) with an execute bit.
pub fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `p` resolves to a file whose name contains `distcc` (distcc src/serve.c
/// `dcc_check_compiler_masq`'s test).
pub fn resolves_to_distcc(p: &Path) -> bool {
    std::fs::canonicalize(p).is_ok_and(|t| {
        t.file_name()
            .is_some_and(|n| n.to_string_lossy().contains("distcc"))
    })
}

/// What an empty element of `PATH` (`a::b`, a leading or trailing `:`) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyElement {
    /// The current directory, as execvp(3) reads it.
    CurrentDir,
    /// Nothing: it is passed over.
    Skip,
    /// The end of the search: later elements are not tried (distcc src/compile.c
    /// `dcc_gcc_rewrite_fqn`).
    End,
}

/// Which executables a search passes over as being distcc rather than a compiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipDistcc<'a> {
    /// None: the first executable wins (execvp; the daemon asking `cc` for its identity).
    Never,
    /// Every directory whose name contains `distcc` (distcc src/compile.c `dcc_which`, for the
    /// client's compiler-name rewriting).
    DirsNamedDistcc,
    /// Symbolic links that resolve to a file whose name contains `distcc` (distcc
    /// src/serve.c `dcc_check_compiler_masq`, for the compiler the daemon runs).
    LinksToDistcc,
    /// Files that resolve to `me` (the running binary) or to a file named exactly `distcc`
    /// (the zeroconf browser, which runs inside the client, asking `cc` for its identity).
    SelfOrNamedDistcc { me: Option<&'a Path> },
}

/// The files tried for `name` on `path`, in order, after the rules that concern directories
/// alone (empty elements, [`SkipDistcc::DirsNamedDistcc`]). Touches no file.
pub fn candidates<'a>(
    path: &'a OsStr,
    name: &'a OsStr,
    empty: EmptyElement,
    skip: SkipDistcc<'a>,
) -> impl Iterator<Item = PathBuf> + 'a {
    path.as_bytes()
        .split(|&c| c == b':')
        .take_while(move |d| !(d.is_empty() && empty == EmptyElement::End))
        .filter_map(move |d| {
            let d: &[u8] = match (d.is_empty(), empty) {
                (true, EmptyElement::CurrentDir) => b".",
                (true, _) => return None,
                (false, _) => d,
            };
            if skip == SkipDistcc::DirsNamedDistcc && d.windows(6).any(|w| w == b"distcc") {
                return None;
            }
            let mut p = d.to_vec();
            p.push(b'/');
            p.extend_from_slice(name.as_bytes());
            Some(PathBuf::from(std::ffi::OsString::from_vec(p)))
        })
}

/// The first executable file `name` on `path` that `skip` does not rule out. `skipped` is told
/// of each executable passed over as distcc (the daemon logs them).
pub fn find_on_path(
    path: &OsStr,
    name: &OsStr,
    empty: EmptyElement,
    skip: SkipDistcc<'_>,
    mut skipped: impl FnMut(&Path),
) -> Option<PathBuf> {
    candidates(path, name, empty, skip).find(|p| {
        if !is_executable_file(p) {
            return false;
        }
        let distcc = match skip {
            SkipDistcc::Never | SkipDistcc::DirsNamedDistcc => false,
            SkipDistcc::LinksToDistcc => {
                std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                    && resolves_to_distcc(p)
            }
            SkipDistcc::SelfOrNamedDistcc { me } => p.canonicalize().is_ok_and(|r| {
                Some(r.as_path()) == me || r.file_name() == Some(OsStr::new("distcc"))
            }),
        };
        if distcc {
            skipped(p);
        }
        !distcc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(path: &str, empty: EmptyElement, skip: SkipDistcc<'_>) -> Vec<String> {
        candidates(OsStr::new(path), OsStr::new("cc"), empty, skip)
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn empty_elements_and_distcc_directories() {
        let path = "/usr/lib/distcc:/usr/local/bin::/usr/bin";
        assert_eq!(
            names(path, EmptyElement::Skip, SkipDistcc::DirsNamedDistcc),
            ["/usr/local/bin/cc", "/usr/bin/cc"]
        );
        assert_eq!(
            names(path, EmptyElement::End, SkipDistcc::Never),
            ["/usr/lib/distcc/cc", "/usr/local/bin/cc"]
        );
        assert_eq!(
            names(path, EmptyElement::CurrentDir, SkipDistcc::Never),
            [
                "/usr/lib/distcc/cc",
                "/usr/local/bin/cc",
                "./cc",
                "/usr/bin/cc"
            ]
        );
        assert!(names("", EmptyElement::End, SkipDistcc::Never).is_empty());
        assert!(names("", EmptyElement::Skip, SkipDistcc::Never).is_empty());
        assert_eq!(
            names("", EmptyElement::CurrentDir, SkipDistcc::Never),
            ["./cc"]
        );
        // One slash is added, as execvp does, whatever the element ends with.
        assert_eq!(
            names("/opt/bin/", EmptyElement::Skip, SkipDistcc::Never),
            ["/opt/bin//cc"]
        );
    }

    /// A directory holding a masquerade link `cc -> distcc` (and `distcc` itself), and
    /// another holding a real `cc` script.
    struct Fixture {
        _dir: tempfile::TempDir,
        masq: PathBuf,
        real: PathBuf,
        path: String,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let masq = dir.path().join("masq");
        let real = dir.path().join("real");
        std::fs::create_dir_all(&masq).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        for f in [masq.join("distcc"), real.join("cc")] {
            std::fs::write(&f, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::symlink("distcc", masq.join("cc")).unwrap();
        // Not executable: never found.
        std::fs::write(masq.join("notexec"), "").unwrap();
        let path = format!("/nonexistent:{}:{}", masq.display(), real.display());
        Fixture {
            _dir: dir,
            masq,
            real,
            path,
        }
    }

    fn find(f: &Fixture, name: &str, skip: SkipDistcc<'_>) -> (Option<PathBuf>, Vec<PathBuf>) {
        let mut skipped = Vec::new();
        let found = find_on_path(
            OsStr::new(&f.path),
            OsStr::new(name),
            EmptyElement::Skip,
            skip,
            |p| skipped.push(p.to_owned()),
        );
        (found, skipped)
    }

    #[test]
    fn each_rule_passes_over_the_masquerade_link_its_own_way() {
        let f = fixture();
        let (masq_cc, real_cc) = (f.masq.join("cc"), f.real.join("cc"));
        assert_eq!(
            find(&f, "cc", SkipDistcc::Never),
            (Some(masq_cc.clone()), vec![])
        );
        assert_eq!(
            find(&f, "cc", SkipDistcc::LinksToDistcc),
            (Some(real_cc.clone()), vec![masq_cc.clone()])
        );
        assert_eq!(
            find(&f, "cc", SkipDistcc::SelfOrNamedDistcc { me: None }),
            (Some(real_cc.clone()), vec![masq_cc.clone()])
        );
        // The directory is not named distcc: DirsNamedDistcc finds the link.
        assert_eq!(find(&f, "cc", SkipDistcc::DirsNamedDistcc).0, Some(masq_cc));
        // `me`: a file that is this very program is skipped whatever it is called.
        let me = real_cc.canonicalize().unwrap();
        assert_eq!(
            find(&f, "cc", SkipDistcc::SelfOrNamedDistcc { me: Some(&me) }).0,
            None
        );
        assert_eq!(find(&f, "notexec", SkipDistcc::Never).0, None);
        assert_eq!(find(&f, "missing", SkipDistcc::Never).0, None);
    }

    #[test]
    fn a_regular_file_named_distcc_counts_only_for_the_browser() {
        let f = fixture();
        let distcc = f.masq.join("distcc");
        assert_eq!(
            find(&f, "distcc", SkipDistcc::LinksToDistcc).0,
            Some(distcc)
        );
        assert_eq!(
            find(&f, "distcc", SkipDistcc::SelfOrNamedDistcc { me: None }).0,
            None
        );
        assert!(resolves_to_distcc(&f.masq.join("cc")));
        assert!(!resolves_to_distcc(&f.real.join("cc")));
    }

    #[test]
    fn executables() {
        let f = fixture();
        assert!(is_executable_file(&f.real.join("cc")));
        assert!(is_executable_file(&f.masq.join("cc")), "through the link");
        assert!(!is_executable_file(&f.masq.join("notexec")));
        assert!(!is_executable_file(&f.masq), "a directory");
        assert!(!is_executable_file(&f.masq.join("missing")));
    }
}
