//! Lexical path checks for pump mode.
//!
//! In pump mode the job's root directory stands for the client's `/`: the client's file `/a/b`
//! is `<root>/a/b` on the server, and the compiler runs in `<root><cwd>`. A path argument is
//! acceptable if, read in the client's namespace (relative to the client's cwd) and normalised
//! without touching the file system, it never climbs above `/`. That keeps `..` from leaving
//! the root by name. It does not see through symbolic links inside the tree (the include
//! server sends system directories as links to the server's own copies), which is why reads
//! are only a second line of defence: see docs/security/argument-allow-list.md.

/// The components of `path` (absolute, or relative to the absolute `cwd`) after removing `.`
/// and resolving `..` lexically; `None` if a `..` would climb above `/`.
pub(crate) fn resolve<'a>(cwd: &'a str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut parts: Vec<&str> = Vec::new();
    let base = if path.starts_with('/') { "" } else { cwd };
    for comp in base.split('/').chain(path.split('/')) {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts)
}

/// Whether `path`, read relative to `cwd` in the client's namespace, stays under `/`.
pub(crate) fn stays_inside(cwd: &str, path: &str) -> bool {
    resolve(cwd, path).is_some()
}

/// Whether any component of `path` is `..`.
pub(crate) fn has_dotdot(path: &str) -> bool {
    path.split('/').any(|c| c == "..")
}

/// `root` followed by the absolute client path `path`: distcc src/serve.c
/// `tweak_include_arguments_for_server` simply concatenates them.
pub(crate) fn under_root(root: &str, path: &str) -> String {
    format!("{}{}", root.trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_cwd() {
        assert_eq!(
            resolve("/src/p", "inc/a.h"),
            Some(vec!["src", "p", "inc", "a.h"])
        );
        assert_eq!(resolve("/src/p", "../q/./x"), Some(vec!["src", "q", "x"]));
        assert_eq!(
            resolve("/src/p", "/usr/include"),
            Some(vec!["usr", "include"])
        );
        assert!(stays_inside("/src/p", "../.."));
        assert!(!stays_inside("/src/p", "../../.."));
        assert!(!stays_inside("/", "/../etc/passwd"));
        assert!(!stays_inside("/src", "a/../../../etc"));
    }

    #[test]
    fn root_is_prefixed_by_concatenation() {
        assert_eq!(
            under_root("/tmp/distccd_ab", "/usr/include"),
            "/tmp/distccd_ab/usr/include"
        );
        assert_eq!(under_root("/tmp/distccd_ab/", "/x"), "/tmp/distccd_ab/x");
        assert!(has_dotdot("a/../b") && !has_dotdot("a/..b"));
    }
}
