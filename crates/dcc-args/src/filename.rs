//! File-name classification (distcc src/filename.c): which inputs are sources, which are
//! already preprocessed, and what extension the preprocessor output gets.

/// The extension of `name` including the dot: the last `.`, which must be followed by at least
/// one character (`hello.2.4.c` -> `.c`, `.foo` -> `.foo`, `gcc` -> none, `x.` -> none).
pub fn find_extension(name: &str) -> Option<&str> {
    let dot = name.rfind('.')?;
    if dot + 1 == name.len() {
        return None;
    }
    Some(&name[dot..])
}

/// Whether `name` is a source file distcc can distribute. `.s`/`.S` never are: `.include` must
/// be resolved locally (distcc builds without ENABLE_REMOTE_ASSEMBLE).
pub fn is_source(name: &str) -> bool {
    matches!(
        find_extension(name),
        Some(
            ".i" | ".ii"
                | ".c"
                | ".cc"
                | ".cpp"
                | ".cxx"
                | ".cp"
                | ".c++"
                | ".C"
                | ".m"
                | ".mm"
                | ".mi"
                | ".mii"
                | ".M"
        )
    )
}

/// Whether `name` is already preprocessed (not run through cpp again).
pub fn is_preprocessed(name: &str) -> bool {
    matches!(find_extension(name), Some(".i" | ".ii" | ".mi" | ".mii"))
}

/// The extension (with dot) of the preprocessed form of `name`, or `None` for an unknown kind
/// (the server then uses `.tmp`).
pub fn preproc_ext(name: &str) -> Option<&'static str> {
    Some(match find_extension(name)? {
        ".c" | ".i" => ".i",
        ".cc" | ".cpp" | ".cxx" | ".cp" | ".c++" | ".C" | ".ii" => ".ii",
        ".m" | ".mi" => ".mi",
        ".mm" | ".M" | ".mii" => ".mii",
        ".s" | ".S" => ".s",
        _ => return None,
    })
}

/// Whether `name` looks like an object file (`.o`), which distcc takes as the output.
pub fn is_object(name: &str) -> bool {
    find_extension(name) == Some(".o")
}

/// Extensions under which gcc and clang load a file as a precompiled header or module: gcc
/// tries `H.gch` (a file, or a directory of candidates) before every header `H`; clang's
/// `-include H` tries `H.pch` and `H.gch`; `.pcm` is clang's module file. Such a file is a raw
/// image of the compiler's memory, loaded with its pointers trusted.
const PCH_EXTENSIONS: &[&str] = &[".gch", ".pch", ".pcm"];

/// Whether a file shipped to a server at `path` could be loaded by the compiler as a
/// precompiled header: any component of the path (so also every file inside a `NAME.gch/`
/// directory) ends with a PCH extension, in any letter case. Servers refuse such files from
/// clients (issue 10, docs/security/argument-allow-list.md).
pub fn is_pch_path(path: &str) -> bool {
    path.split('/').any(|c| {
        PCH_EXTENSIONS.iter().any(|ext| {
            c.len() > ext.len()
                && c.get(c.len() - ext.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(ext))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pch_paths() {
        for p in [
            "/src/a.h.gch",
            "/src/a.h.gch/x86_64.gch",
            "/src/a.h.gch/variant",
            "/src/inc/a.h.pch",
            "/src/m.pcm",
            "/src/A.H.GCH",
            "a.gch",
        ] {
            assert!(is_pch_path(p), "{p}");
        }
        for p in [
            "/src/a.h",
            "/src/gch",
            "/src/.gch",
            "/src/a.gch.h",
            "/src/a.hgch",
            "/",
        ] {
            assert!(!is_pch_path(p), "{p}");
        }
    }

    // test/testdistcc.py ExtractExtension_Case
    #[test]
    fn extract_extension_case() {
        assert_eq!(find_extension("hello.c"), Some(".c"));
        assert_eq!(find_extension("hello.2.4.4.4.c"), Some(".c"));
        assert_eq!(find_extension(".foo"), Some(".foo"));
        assert_eq!(find_extension("gcc"), None);
        assert_eq!(find_extension("x."), None);
    }

    // test/testdistcc.py IsSource_Case
    #[test]
    fn is_source_case() {
        for s in [
            "a.c", "a.cc", "a.cxx", "a.cpp", "a.c++", "a.m", "a.M", "a.mm",
        ] {
            assert!(is_source(s) && !is_preprocessed(s), "{s}");
        }
        for s in ["a.mi", "a.mii", "a.i", "a.ii", "hello.2.4.4.i"] {
            assert!(is_source(s) && is_preprocessed(s), "{s}");
        }
        for s in ["a.foo", "gcc", "boot.s", "boot.S", "x.cu", "x.f90", "x.o"] {
            assert!(!is_source(s) && !is_preprocessed(s), "{s}");
        }
    }

    #[test]
    fn preprocessed_extensions() {
        assert_eq!(preproc_ext("x.c"), Some(".i"));
        assert_eq!(preproc_ext("x.i"), Some(".i"));
        assert_eq!(preproc_ext("x.C"), Some(".ii"));
        assert_eq!(preproc_ext("x.cpp"), Some(".ii"));
        assert_eq!(preproc_ext("x.m"), Some(".mi"));
        assert_eq!(preproc_ext("x.M"), Some(".mii"));
        assert_eq!(preproc_ext("x.S"), Some(".s"));
        assert_eq!(preproc_ext("x.f"), None);
        assert!(is_object("a/b.o"));
    }
}
