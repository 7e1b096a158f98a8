//! How the client was invoked (distcc src/distcc.c `main`, src/implicit.c, src/climasq.c,
//! src/safeguard.c; reference §2.1).
//!
//! - `basename(argv[0])` contains `distcc`: the options `--help`, `--version`,
//!   `--show-hosts`, `-j`, `--scan-includes` (and our `--check-hosts [COMPILER]`) as
//!   `argv[1]`; otherwise *implicit* mode when `argv[1]` is an option, a source or an object (`distcc -c x.c` runs `cc`), else
//!   *explicit* mode (`distcc gcc -c x.c`).
//! - Anything else is *masquerade* mode (a link `gcc -> distcc` in a directory on `PATH`): the
//!   part of `PATH` up to and including our directory is removed, so the real compiler is found
//!   next and we never find ourselves; the compiler is the bare basename.
//! - The recursion guard: children get `_DISTCC_SAFEGUARD=<level+1>`; a client that starts with
//!   a level above what one masquerade hop explains refuses with exit 111.
//!
//! Everything here is pure: the caller supplies the working directory and an executable test.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use dcc_args::filename;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// `distcc` alone: `distcc: missing option/operand`, exit 101.
    MissingOperand,
    Help,
    Version,
    /// `--show-hosts`: the host list, verbatim, one per line.
    ShowHosts,
    /// `-j`: the sum of the hosts' limits.
    Concurrency,
    /// `--scan-includes COMPILER ARGS`: the files a `,cpp` host would get (crate::pump).
    ScanIncludes,
    /// `--check-hosts [COMPILER]`: try every host as a compile would (ours, crate::check).
    CheckHosts {
        compiler: Option<OsString>,
    },
    /// `--show-stats`: this master's compile counters (ours, crate::stats).
    ShowStats,
    /// `--zero-stats`: start those counters again.
    ZeroStats,
    /// A compiler command line; `args[0]` is the compiler.
    Compile {
        args: Vec<OsString>,
        /// Reached through a masquerade link (the caller edits `PATH`).
        masquerade: bool,
    },
}

/// The part after the last `/`.
pub fn basename(p: &OsStr) -> &OsStr {
    let b = p.as_bytes();
    match b.iter().rposition(|&c| c == b'/') {
        Some(i) => OsStr::from_bytes(&b[i + 1..]),
        None => p,
    }
}

/// Classify the command line (`argv[0]` included).
pub fn classify(argv: &[OsString]) -> Invocation {
    let Some(argv0) = argv.first() else {
        return Invocation::MissingOperand;
    };
    let prog = basename(argv0);
    if !contains(prog.as_bytes(), b"distcc") {
        let mut args = argv.to_vec();
        args[0] = prog.to_owned();
        return Invocation::Compile {
            args,
            masquerade: true,
        };
    }
    let Some(first) = argv.get(1) else {
        return Invocation::MissingOperand;
    };
    match first.as_bytes() {
        b"--help" => return Invocation::Help,
        b"--version" => return Invocation::Version,
        b"--show-hosts" => return Invocation::ShowHosts,
        b"-j" => return Invocation::Concurrency,
        b"--scan-includes" => return Invocation::ScanIncludes,
        b"--show-stats" => return Invocation::ShowStats,
        b"--zero-stats" => return Invocation::ZeroStats,
        b"--check-hosts" => {
            return Invocation::CheckHosts {
                compiler: argv.get(2).cloned(),
            };
        }
        _ => {}
    }
    let first_str = first.to_string_lossy();
    // distcc src/implicit.c dcc_find_compiler.
    let implicit = first_str.starts_with('-')
        || filename::is_source(&first_str)
        || filename::is_object(&first_str);
    let args = if implicit {
        std::iter::once(OsString::from("cc"))
            .chain(argv[1..].iter().cloned())
            .collect()
    } else {
        argv[1..].to_vec()
    };
    Invocation::Compile {
        args,
        masquerade: false,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// distcc src/climasq.c `dcc_support_masquerade`: the new `PATH`, or `None` to leave it alone.
///
/// When `argv0` names a directory, every `PATH` element up to and including the one equal to
/// that directory (made absolute with `cwd` as distcc's `dcc_abspath` does) is removed;
/// otherwise every element up to and including the first holding an executable `progname`.
/// Nothing changes when no element matches or when the match is the last element.
pub fn masquerade_path(
    path: &OsStr,
    argv0: &OsStr,
    cwd: &[u8],
    is_executable: impl Fn(&[u8]) -> bool,
) -> Option<OsString> {
    let a = argv0.as_bytes();
    let progname = basename(argv0).as_bytes();
    let find_dir = a
        .iter()
        .rposition(|&c| c == b'/')
        .map(|slash| abspath(&a[..slash.max(1)], cwd));
    let p = path.as_bytes();
    let mut start = 0;
    loop {
        let end = p[start..]
            .iter()
            .position(|&c| c == b':')
            .map_or(p.len(), |i| start + i);
        let elem = &p[start..end];
        let matched = match &find_dir {
            Some(dir) => elem == dir.as_slice(),
            None => {
                let mut cand = elem.to_vec();
                cand.push(b'/');
                cand.extend_from_slice(progname);
                is_executable(&cand)
            }
        };
        if end >= p.len() {
            // Last element (or none matched): distcc leaves PATH alone.
            return None;
        }
        if matched {
            // distcc sets PATH only when something follows the match ("a:" stays as it is).
            let rest = &p[end + 1..];
            return (!rest.is_empty()).then(|| OsString::from_vec(rest.to_vec()));
        }
        start = end + 1;
    }
}

/// distcc src/util.c `dcc_abspath`: prefix `cwd/` to a relative path, drop one leading `./`,
/// and fold each `dir/../`.
fn abspath(path: &[u8], cwd: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(cwd.len() + path.len() + 1);
    let mut path = path;
    if path.first() != Some(&b'/') {
        buf.extend_from_slice(cwd);
        buf.push(b'/');
        if path.starts_with(b"./") {
            path = &path[2..];
        }
    }
    buf.extend_from_slice(path);
    while let Some(i) = find(&buf, b"/../") {
        let slash = buf[..i].iter().rposition(|&c| c == b'/').unwrap_or(i);
        buf.drain(slash..i + 3);
    }
    buf
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The recursion check of distcc src/distcc.c: `level - (PATH was edited) > 0` means distcc
/// ran itself.
pub fn is_recursion(safeguard_level: u32, path_edited: bool) -> bool {
    safeguard_level > u32::from(path_edited)
}

/// The value children get for `_DISTCC_SAFEGUARD` (distcc src/safeguard.c: one more than ours).
pub fn child_safeguard(level: u32) -> String {
    (level + 1).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn modes() {
        assert_eq!(classify(&os(&["distcc"])), Invocation::MissingOperand);
        assert_eq!(classify(&os(&["distcc", "--help"])), Invocation::Help);
        assert_eq!(
            classify(&os(&["/usr/bin/distcc", "--version", "x"])),
            Invocation::Version
        );
        assert_eq!(
            classify(&os(&["distcc", "--show-hosts"])),
            Invocation::ShowHosts
        );
        assert_eq!(classify(&os(&["distcc", "-j"])), Invocation::Concurrency);
        assert_eq!(
            classify(&os(&["distcc", "--check-hosts"])),
            Invocation::CheckHosts { compiler: None }
        );
        assert_eq!(
            classify(&os(&["distcc", "--check-hosts", "clang"])),
            Invocation::CheckHosts {
                compiler: Some("clang".into())
            }
        );
        assert_eq!(
            classify(&os(&["my-distcc-wrapper", "-c", "x.c"])),
            Invocation::Compile {
                args: os(&["cc", "-c", "x.c"]),
                masquerade: false
            }
        );
        for implicit in ["x.c", "x.o", "-O2"] {
            let Invocation::Compile { args, .. } = classify(&os(&["distcc", implicit])) else {
                panic!()
            };
            assert_eq!(args[0], "cc", "{implicit}");
        }
        assert_eq!(
            classify(&os(&["distcc", "gcc", "-c", "x.c"])),
            Invocation::Compile {
                args: os(&["gcc", "-c", "x.c"]),
                masquerade: false
            }
        );
        // --help is only an option in first place.
        assert!(matches!(
            classify(&os(&["distcc", "gcc", "--help"])),
            Invocation::Compile { .. }
        ));
        assert_eq!(
            classify(&os(&["/usr/lib/distcc/gcc", "-c", "x.c"])),
            Invocation::Compile {
                args: os(&["gcc", "-c", "x.c"]),
                masquerade: true
            }
        );
    }

    #[test]
    fn masquerade_removes_up_to_our_dir() {
        let exec = |p: &[u8]| p == b"/masq/gcc" || p == b"/usr/bin/gcc";
        let new = |path: &str, argv0: &str| {
            masquerade_path(OsStr::new(path), OsStr::new(argv0), b"/work", exec)
                .map(|p| p.to_string_lossy().into_owned())
        };
        // Reference §2.1 [measured]: PATH=/src/cap/masq:/usr/bin:/bin → /usr/bin:/bin.
        assert_eq!(
            new("/masq:/usr/bin:/bin", "gcc").as_deref(),
            Some("/usr/bin:/bin")
        );
        assert_eq!(
            new("/a:/masq:/usr/bin", "gcc").as_deref(),
            Some("/usr/bin"),
            "everything before our dir goes too"
        );
        // With a directory part, the element equal to that directory.
        assert_eq!(
            new("/x:/usr/lib/distcc:/usr/bin", "/usr/lib/distcc/gcc").as_deref(),
            Some("/usr/bin")
        );
        assert_eq!(
            new("/work/m:/usr/bin", "./m/gcc").as_deref(),
            Some("/usr/bin"),
            "relative to cwd, ./ dropped"
        );
        assert_eq!(
            new("/work/m:/usr/bin", "a/../m/gcc").as_deref(),
            Some("/usr/bin")
        );
        // No match, or a match in last place: PATH stays.
        assert_eq!(new("/usr/local/bin:/bin", "gcc"), None);
        assert_eq!(new("/usr/bin:/masq", "cc"), None);
        assert_eq!(new("/bin:/masq", "gcc"), None);
        // Regression (found by proptest): nothing after the match is no change either.
        assert_eq!(new("/masq:", "gcc"), None);
    }

    proptest::proptest! {
        #[test]
        fn masquerade_path_is_a_suffix_of_path(
            elems in proptest::collection::vec("[a-z/.]{0,6}", 0..6),
            argv0 in "[a-z/.]{0,8}",
        ) {
            let path = elems.join(":");
            let new = masquerade_path(OsStr::new(&path), OsStr::new(&argv0), b"/cwd", |p| p.len() % 3 == 0);
            if let Some(new) = new {
                let new = new.to_string_lossy().into_owned();
                proptest::prop_assert!(!new.is_empty());
                let suffix = format!(":{}", new);
                proptest::prop_assert!(path.ends_with(&suffix));
            }
        }
    }

    #[test]
    fn recursion_guard() {
        assert!(!is_recursion(0, false));
        assert!(is_recursion(1, false), "distcc gcc with the guard set");
        assert!(!is_recursion(1, true), "one masquerade hop is expected");
        assert!(is_recursion(2, true));
        assert_eq!(child_safeguard(0), "1");
        assert_eq!(child_safeguard(1), "2");
    }
}
