//! Which compilers are installed: the names `update-distcc-symlinks` links.
//!
//! Debian's script (reference §4.4) builds candidate names from the `<triple>/<version>`
//! directories under `/usr/lib/gcc`, `/usr/lib/gcc-cross` and `/usr/lib/x86_64-linux-gnu/gcc`
//! (`<triple>-gcc`, `gcc-<version>`, `<triple>-gcc-<version>`, the same for `g++`), adds `cc`,
//! `c++`, `gcc`, `g++`, `c89-gcc`, `c99-gcc` and the `clang` family, and keeps those executable
//! in `/usr/bin`. We list the bin directory instead and keep every executable whose name
//! * passes the daemon's own driver-name check (`dcc_args::server::is_compiler_driver`, so no
//!   link is made that the daemon would refuse anyway: no `nvcc`, `ccache`, `gcc-ar`), and
//! * has no target-triple prefix, or one that names a gcc target directory beside the bin
//!   directory (`<bindir>/../lib/gcc/<triple>`, `../lib/gcc-cross/<triple>`,
//!   `../lib/*/gcc/<triple>`, `../libexec/gcc/<triple>`), so `foo-cc` is not taken for a
//!   compiler.
//!
//! For `/usr/bin` this yields Debian's list (plus `c89`/`c99`, which upstream's script links
//! too, and `clang-<ver>` however the version is spelt); for a crosstool-NG tree
//! (`x-tools/aarch64-unknown-linux-gnu/bin`, the Arch Linux ARM guide's toolchains) it finds
//! the cross compilers through the tree's own `lib/gcc/aarch64-unknown-linux-gnu`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dcc_args::server::{driver_triple, is_compiler_driver};
use dcc_common::sys::{is_executable_file, resolves_to_distcc};

/// An installed compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiler {
    /// The name the link gets (`gcc`, `x86_64-linux-gnu-gcc-12`).
    pub name: String,
    /// Where it was found.
    pub path: PathBuf,
}

/// The target-triple prefix of a compiler name, or `None` for a bare driver (`gcc`,
/// `gcc-12`, `c89-gcc`, `clang++-15`): the daemon's own parse of driver names, so a MinGW
/// `-posix`/`-win32` suffix and a numeric version suffix are ignored.
pub fn triple_of(name: &str) -> Option<&str> {
    driver_triple(name)
}

fn subdir_names(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.path().is_dir()
            && let Ok(name) = e.file_name().into_string()
        {
            out.insert(name);
        }
    }
}

/// The gcc target directories beside a bin directory (reference §4.4's `/usr/lib/gcc`,
/// `/usr/lib/gcc-cross`, `/usr/lib/x86_64-linux-gnu/gcc`, upstream's `/usr/libexec/gcc`, for
/// `/usr/bin`), as triples.
pub fn known_triples(bindir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(prefix) = bindir.parent() else {
        return out;
    };
    for sub in ["lib/gcc", "lib/gcc-cross", "lib64/gcc", "libexec/gcc"] {
        subdir_names(&prefix.join(sub), &mut out);
    }
    // Multiarch: lib/<triple>/gcc/<triple>.
    if let Ok(entries) = std::fs::read_dir(prefix.join("lib")) {
        for e in entries.flatten() {
            let gcc = e.path().join("gcc");
            if gcc.is_dir() {
                subdir_names(&gcc, &mut out);
            }
        }
    }
    out
}

/// Every compiler in `bindirs`, by name; a name found in two directories is the first one's.
pub fn find_compilers(bindirs: &[PathBuf]) -> Vec<Compiler> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for bindir in bindirs {
        let Ok(entries) = std::fs::read_dir(bindir) else {
            continue;
        };
        let triples = known_triples(bindir);
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            if found.contains_key(&name) || !is_compiler_driver(&name) {
                continue;
            }
            if triple_of(&name).is_some_and(|t| !triples.contains(t)) {
                continue;
            }
            let path = bindir.join(&name);
            if is_executable_file(&path) && !resolves_to_distcc(&path) {
                found.insert(name, path);
            }
        }
    }
    found
        .into_iter()
        .map(|(name, path)| Compiler { name, path })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_are_what_precedes_the_driver() {
        for (name, want) in [
            ("gcc", None),
            ("gcc-12", None),
            ("g++-12", None),
            ("c89-gcc", None),
            ("c99-gcc", None),
            ("cc", None),
            ("c++", None),
            ("clang", None),
            ("clang++-15", None),
            ("clang-14.0.6", None),
            ("x86_64-linux-gnu-gcc", Some("x86_64-linux-gnu")),
            ("x86_64-linux-gnu-gcc-12", Some("x86_64-linux-gnu")),
            ("x86_64-linux-gnu-g++-12", Some("x86_64-linux-gnu")),
            (
                "aarch64-unknown-linux-gnu-c++",
                Some("aarch64-unknown-linux-gnu"),
            ),
            (
                "aarch64-unknown-linux-gnu-cc",
                Some("aarch64-unknown-linux-gnu"),
            ),
            ("x86_64-linux-gnu-clang++", Some("x86_64-linux-gnu")),
            ("i686-w64-mingw32-g++-win32", Some("i686-w64-mingw32")),
            (
                "x86_64-w64-mingw32-gcc-10-posix",
                Some("x86_64-w64-mingw32"),
            ),
            ("avr-gcc", Some("avr")),
            ("musl-gcc", Some("musl")),
        ] {
            assert_eq!(triple_of(name), want, "{name}");
        }
    }
}
