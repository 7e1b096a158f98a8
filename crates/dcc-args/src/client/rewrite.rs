//! Compiler-name rewriting on the client (distcc src/compile.c, reference §2.6): the decisions
//! only. The file-system questions (what is on PATH, where a symlink points) go through
//! [`CompilerProbe`], which the client implements with real lookups and tests with a table.
//!
//! distcc does three things in order, unless `DISTCC_NO_REWRITE_CROSS` is set (the caller's
//! check):
//! 1. `cc`/`c++` whose PATH entry is a symlink to `gcc`/`g++`/`clang`/`clang++` (through
//!    `/etc/alternatives/cc` once, the Debian layout) is renamed to that compiler;
//! 2. `clang`, `clang-*`, `clang++`, `clang++-*` without `-target`/`--target*` get
//!    `-target <triple>` appended (clang is a cross compiler and the server may differ);
//! 3. `gcc`, `gcc-*`, `g++`, `g++-*` become `<triple>-<name>` when that program is on PATH,
//!    so the server runs the same target's compiler. Absolute paths are never rewritten.

use std::ffi::OsStr;
use std::fmt;

use dcc_common::sys::path::{EmptyElement, SkipDistcc, candidates};

use super::scan::basename;

/// File-system lookups needed by [`rewrite_compiler`].
pub trait CompilerProbe {
    /// distcc src/util.c `dcc_which`: the path (`dir/name`) of the first executable `name`
    /// among the PATH directories, skipping directories whose name contains `distcc` (the
    /// masquerade directory). [`which_candidates`] lists the paths to try.
    fn which(&self, name: &str) -> Option<String>;
    /// The target of the symbolic link `path`, as stored (possibly relative), or `None` when
    /// `path` is not a symbolic link.
    fn read_link(&self, path: &str) -> Option<String>;
    /// Whether `path` is executable (`access(X_OK)`).
    fn is_executable(&self, path: &str) -> bool;
    /// Whether an executable `name` is in PATH, as `dcc_gcc_rewrite_fqn` searches it (see
    /// [`fqn_candidates`]).
    fn on_path(&self, name: &str) -> bool;
}

/// One change made by [`rewrite_compiler`]; `Display` gives distcc's log text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// `cc` → `gcc` (distcc logs this at trace level).
    Generic { from: String, to: String },
    /// `-target <triple>` appended for clang.
    ClangTarget(String),
    /// `gcc` → `x86_64-linux-gnu-gcc`.
    Fqn { from: String, to: String },
}

impl fmt::Display for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::Generic { from, to } => write!(f, "Rewriting '{from}' to '{to}'"),
            Rewrite::ClangTarget(t) => {
                write!(
                    f,
                    "Adding '-target {t}' to support clang cross-compilation."
                )
            }
            Rewrite::Fqn { from, to } => {
                write!(
                    f,
                    "Re-writing call to '{from}' to '{to}' to support cross-compilation."
                )
            }
        }
    }
}

/// The triple distcc 3.4 puts in front of `gcc`: the GNU host triple without its `-pc`
/// vendor (`x86_64-pc-linux-gnu` → `x86_64-linux-gnu`, Debian's compiler names). The clang
/// `-target` keeps the full triple.
pub fn fqn_triple(gnu_host: &str) -> String {
    match gnu_host.find("-pc-") {
        Some(i) => format!("{}{}", &gnu_host[..i], &gnu_host[i + 3..]),
        None => gnu_host.to_string(),
    }
}

/// The paths `dcc_which` tries for `name`, in order, given the value of PATH: every
/// non-empty directory whose name does not contain `distcc`.
///
/// distcc 3.4 tests `distcc` against the *rest* of PATH rather than the one directory, and so
/// skips every directory before a distcc one; this is the intended rule.
pub fn which_candidates(path: &str, name: &str) -> Vec<String> {
    candidate_strings(path, name, EmptyElement::Skip, SkipDistcc::DirsNamedDistcc)
}

/// The paths `dcc_gcc_rewrite_fqn` tries for `name`: the PATH directories up to the first
/// empty one, distcc directories included.
pub fn fqn_candidates(path: &str, name: &str) -> Vec<String> {
    candidate_strings(path, name, EmptyElement::End, SkipDistcc::Never)
}

/// dcc_common's candidate list (the one statement of each rule), as strings.
fn candidate_strings(path: &str, name: &str, empty: EmptyElement, skip: SkipDistcc) -> Vec<String> {
    candidates(OsStr::new(path), OsStr::new(name), empty, skip)
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Apply distcc's three rewrites to `argv` (the scanned argv). `gnu_host` is the host triple
/// as distcc's `--version` prints it (`x86_64-pc-linux-gnu`); the gcc prefix is derived from
/// it as Debian's 3.4 does ([`fqn_triple`]). Returns the new argv and what changed, for the log.
pub fn rewrite_compiler(
    argv: &[String],
    gnu_host: &str,
    probe: &impl CompilerProbe,
) -> (Vec<String>, Vec<Rewrite>) {
    rewrite_compiler_for(argv, gnu_host, &fqn_triple(gnu_host), probe)
}

/// [`rewrite_compiler`] with the two triples given separately: `clang_target` for clang's
/// `-target`, `gcc_triple` for the `<triple>-gcc` names (distcc HEAD takes it from
/// `cc -dumpmachine` at build time: `x86_64-linux-gnu` on Debian, `aarch64-unknown-linux-gnu`
/// on Arch Linux ARM, which is what that system's cross compilers are called).
pub fn rewrite_compiler_for(
    argv: &[String],
    clang_target: &str,
    gcc_triple: &str,
    probe: &impl CompilerProbe,
) -> (Vec<String>, Vec<Rewrite>) {
    let mut argv = argv.to_vec();
    let mut notes = Vec::new();
    let Some(first) = argv.first().cloned() else {
        return (argv, notes);
    };

    if let Some(to) = generic_target(&first, probe) {
        notes.push(Rewrite::Generic {
            from: first,
            to: to.to_string(),
        });
        argv[0] = to.to_string();
    }

    let name = argv[0].clone();
    if is_family(&name, "clang") || is_family(&name, "clang++") {
        let has_target = argv
            .iter()
            .any(|a| a == "-target" || a.starts_with("--target"));
        if !has_target {
            argv.push("-target".to_string());
            argv.push(clang_target.to_string());
            notes.push(Rewrite::ClangTarget(clang_target.to_string()));
        }
    }

    if is_family(&name, "gcc") || is_family(&name, "g++") {
        let fqn = format!("{gcc_triple}-{name}");
        if probe.on_path(&fqn) {
            notes.push(Rewrite::Fqn {
                from: name,
                to: fqn.clone(),
            });
            argv[0] = fqn;
        }
    }
    (argv, notes)
}

/// `name` is `base` or `base-<anything>` (`gcc-12`, `clang++-16`).
fn is_family(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// distcc src/compile.c `dcc_rewrite_generic_compiler`: the compiler `cc`/`c++` really is.
fn generic_target(name: &str, probe: &impl CompilerProbe) -> Option<&'static str> {
    let candidates: &[&'static str] = match name {
        "cc" => &["clang", "gcc"],
        "c++" => &["clang++", "g++"],
        _ => return None,
    };
    let found = probe.which(name)?;
    let dir = &found[..found.rfind('/')?];
    let mut target = probe.read_link(&found)?;
    // Debian: /usr/bin/cc -> /etc/alternatives/cc -> /usr/bin/gcc. One more step, no more.
    if target == format!("/etc/alternatives/{name}")
        && let Some(t) = probe.read_link(&target)
    {
        target = t;
    }
    let resolved = if target.starts_with('/') {
        target.clone()
    } else {
        format!("{dir}/{target}")
    };
    if !probe.is_executable(&resolved) {
        return None;
    }
    let base = basename(&target);
    candidates.iter().copied().find(|c| *c == base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// A PATH of `/usr/bin` and a symlink table.
    #[derive(Default)]
    struct Fs {
        links: HashMap<&'static str, &'static str>,
        exec: HashSet<&'static str>,
    }

    impl CompilerProbe for Fs {
        fn which(&self, name: &str) -> Option<String> {
            let p = format!("/usr/bin/{name}");
            self.exec.contains(p.as_str()).then_some(p)
        }
        fn read_link(&self, path: &str) -> Option<String> {
            self.links.get(path).map(|s| s.to_string())
        }
        fn is_executable(&self, path: &str) -> bool {
            self.exec.contains(path)
        }
        fn on_path(&self, name: &str) -> bool {
            self.which(name).is_some()
        }
    }

    fn debian() -> Fs {
        let mut fs = Fs::default();
        fs.links.insert("/usr/bin/cc", "/etc/alternatives/cc");
        fs.links.insert("/etc/alternatives/cc", "/usr/bin/gcc");
        fs.links.insert("/usr/bin/c++", "/etc/alternatives/c++");
        fs.links.insert("/etc/alternatives/c++", "/usr/bin/g++");
        fs.links.insert("/usr/bin/gcc", "gcc-12");
        for e in [
            "/usr/bin/cc",
            "/usr/bin/c++",
            "/usr/bin/gcc",
            "/usr/bin/g++",
            "/usr/bin/gcc-12",
            "/usr/bin/x86_64-linux-gnu-gcc",
            "/usr/bin/x86_64-linux-gnu-g++",
            "/usr/bin/x86_64-linux-gnu-gcc-12",
        ] {
            fs.exec.insert(e);
        }
        fs
    }

    fn v(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    const HOST: &str = "x86_64-pc-linux-gnu";

    #[test]
    fn triple_without_vendor() {
        assert_eq!(fqn_triple(HOST), "x86_64-linux-gnu");
        assert_eq!(
            fqn_triple("aarch64-unknown-linux-gnu"),
            "aarch64-unknown-linux-gnu"
        );
    }

    // Reference §2.6 [measured]: `distcc cc …` → `Rewriting 'cc' to 'gcc'` → x86_64-linux-gnu-gcc.
    #[test]
    fn cc_becomes_fqn_gcc_on_debian() {
        let (argv, notes) = rewrite_compiler(&v("cc -c x.c -o x.o"), HOST, &debian());
        assert_eq!(argv, v("x86_64-linux-gnu-gcc -c x.c -o x.o"));
        assert_eq!(notes[0].to_string(), "Rewriting 'cc' to 'gcc'");
        assert_eq!(
            notes[1].to_string(),
            "Re-writing call to 'gcc' to 'x86_64-linux-gnu-gcc' to support cross-compilation."
        );
        let (argv, _) = rewrite_compiler(&v("c++ -c x.cc"), HOST, &debian());
        assert_eq!(argv[0], "x86_64-linux-gnu-g++");
    }

    #[test]
    fn versioned_and_absolute_gcc() {
        let fs = debian();
        assert_eq!(
            rewrite_compiler(&v("gcc-12 -c x.c"), HOST, &fs).0[0],
            "x86_64-linux-gnu-gcc-12"
        );
        // No x86_64-linux-gnu-g++-12 on PATH: unchanged.
        assert_eq!(
            rewrite_compiler(&v("g++-12 -c x.c"), HOST, &fs).0[0],
            "g++-12"
        );
        assert_eq!(
            rewrite_compiler(&v("/usr/bin/gcc -c x.c"), HOST, &fs).0[0],
            "/usr/bin/gcc"
        );
        // Not a gcc family name.
        assert_eq!(
            rewrite_compiler(&v("gccfoo -c x.c"), HOST, &fs).0[0],
            "gccfoo"
        );
    }

    // Arch Linux ARM names its compilers aarch64-unknown-linux-gnu-*: the gcc prefix is the
    // triple `cc -dumpmachine` gives, not one derived from the host triple.
    #[test]
    fn gcc_prefix_is_the_given_triple() {
        let mut fs = Fs::default();
        fs.exec.insert("/usr/bin/gcc");
        fs.exec.insert("/usr/bin/aarch64-unknown-linux-gnu-gcc");
        let run = |triple: &str| {
            rewrite_compiler_for(&v("gcc -c x.c"), "aarch64-pc-linux-gnu", triple, &fs).0
        };
        assert_eq!(
            run("aarch64-unknown-linux-gnu")[0],
            "aarch64-unknown-linux-gnu-gcc"
        );
        assert_eq!(run("aarch64-linux-gnu")[0], "gcc", "not on PATH: unchanged");
    }

    #[test]
    fn clang_gets_a_target_once() {
        let fs = Fs::default();
        let (argv, notes) = rewrite_compiler(&v("clang -c x.c"), HOST, &fs);
        assert_eq!(argv, v("clang -c x.c -target x86_64-pc-linux-gnu"));
        assert_eq!(notes, vec![Rewrite::ClangTarget(HOST.to_string())],);
        assert_eq!(
            notes[0].to_string(),
            "Adding '-target x86_64-pc-linux-gnu' to support clang cross-compilation."
        );
        for cmd in [
            "clang-16 -target arm -c x.c",
            "clang++ --target=arm -c x.c",
            "clang++-16 --target arm",
        ] {
            let (argv, notes) = rewrite_compiler(&v(cmd), HOST, &fs);
            assert_eq!(argv, v(cmd));
            assert!(notes.is_empty());
        }
        assert_eq!(
            rewrite_compiler(&v("clang++-16 -c x.cc"), HOST, &fs)
                .0
                .len(),
            5
        );
        assert_eq!(rewrite_compiler(&v("clangd -c x.cc"), HOST, &fs).0.len(), 3);
    }

    #[test]
    fn cc_to_clang_then_target() {
        let mut fs = Fs::default();
        fs.links.insert("/usr/bin/cc", "clang-16");
        fs.exec.insert("/usr/bin/cc");
        fs.exec.insert("/usr/bin/clang-16");
        // The target's basename must be exactly clang: clang-16 is not rewritten.
        assert_eq!(
            rewrite_compiler(&v("cc -c x.c"), HOST, &fs).0,
            v("cc -c x.c")
        );
        fs.links.insert("/usr/bin/cc", "../lib/llvm/bin/clang");
        fs.exec.insert("/usr/bin/../lib/llvm/bin/clang");
        assert_eq!(
            rewrite_compiler(&v("cc -c x.c"), HOST, &fs).0,
            v("clang -c x.c -target x86_64-pc-linux-gnu")
        );
    }

    #[test]
    fn generic_needs_symlink_and_executable_target() {
        let mut fs = Fs::default();
        fs.exec.insert("/usr/bin/cc");
        // Not a symlink.
        assert_eq!(rewrite_compiler(&v("cc -c x.c"), HOST, &fs).0[0], "cc");
        // Dangling symlink.
        fs.links.insert("/usr/bin/cc", "gcc");
        assert_eq!(rewrite_compiler(&v("cc -c x.c"), HOST, &fs).0[0], "cc");
        // c++ never becomes gcc.
        fs.exec.insert("/usr/bin/gcc");
        fs.exec.insert("/usr/bin/c++");
        fs.links.insert("/usr/bin/c++", "gcc");
        assert_eq!(rewrite_compiler(&v("c++ -c x.cc"), HOST, &fs).0[0], "c++");
        assert_eq!(rewrite_compiler(&v("cc -c x.c"), HOST, &fs).0[0], "gcc");
        assert!(rewrite_compiler(&[], HOST, &fs).0.is_empty());
    }

    #[test]
    fn path_candidates() {
        assert_eq!(
            which_candidates("/usr/lib/distcc:/usr/local/bin::/usr/bin", "cc"),
            ["/usr/local/bin/cc", "/usr/bin/cc"]
        );
        assert_eq!(
            fqn_candidates("/usr/lib/distcc:/bin::/usr/bin", "x"),
            ["/usr/lib/distcc/x", "/bin/x"]
        );
        assert!(fqn_candidates("", "x").is_empty());
    }
}
