//! Where the host list comes from (distcc src/hosts.c `dcc_get_hostlist`, src/loadfile.c).
//!
//! The caller passes the directories (it already knows `$DISTCC_DIR`, `$HOME` and the
//! configured sysconfdir), so this module reads no global state besides the files named.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use dcc_common::Env;

use crate::HostsError;

/// Where distcc 3.4 looks for `distcc/hosts` last (SYSCONFDIR on Debian).
pub const SYSCONFDIR: &str = "/etc";

/// distcc src/loadfile.c refuses files over 1 MiB ("too large to load").
pub const MAX_HOSTS_FILE_SIZE: u64 = 1 << 20;

/// Where a host list was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSource {
    /// `$DISTCC_HOSTS`, which wins whenever it is set, even to "".
    Env,
    /// A hosts file.
    File(PathBuf),
    /// Nowhere: distcc warns `no hostlist is set; can't distribute work` and builds locally.
    None,
}

impl fmt::Display for HostSource {
    /// The name distcc puts in `<source> contained no hosts; can't distribute work`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostSource::Env => f.write_str("$DISTCC_HOSTS"),
            HostSource::File(path) => write!(f, "{}", path.display()),
            HostSource::None => f.write_str("no hostlist"),
        }
    }
}

/// Find the host list text, in distcc's order:
///
/// 1. `$DISTCC_HOSTS` from `env`, if set at all (an empty value is returned as is; parsing it
///    gives [`HostsError::NoHosts`]);
/// 2. `<distcc_dir>/hosts` when `distcc_dir` (the value of `$DISTCC_DIR`) is given, otherwise
///    `<home>/.distcc/hosts` when `home` is given: never both;
/// 3. `<sysconfdir>/distcc/hosts` (`/etc/distcc/hosts` on Debian);
/// 4. none: `(HostSource::None, "")`.
///
/// A file that cannot be opened (missing, unreadable: distcc's `access(R_OK)` test) is skipped.
/// A file that opens but cannot be read is an error, as in distcc, and so is one over
/// [`MAX_HOSTS_FILE_SIZE`]. Like distcc's C string, the text ends at a NUL byte; invalid UTF-8
/// is replaced (a host name with it could not be resolved anyway).
pub fn load(
    env: &dyn Env,
    distcc_dir: Option<&Path>,
    home: Option<&Path>,
    sysconfdir: &Path,
) -> Result<(HostSource, String), HostsError> {
    if let Some(value) = env.var_os("DISTCC_HOSTS") {
        return Ok((HostSource::Env, value.to_string_lossy().into_owned()));
    }
    // distcc src/tempfile.c `dcc_get_top_dir`: $DISTCC_DIR, else ~/.distcc.
    let user_file = match (distcc_dir, home) {
        (Some(dir), _) => Some(dir.join("hosts")),
        (None, Some(home)) => Some(home.join(".distcc").join("hosts")),
        (None, None) => None,
    };
    let system_file = sysconfdir.join("distcc").join("hosts");
    for path in user_file.into_iter().chain(Some(system_file)) {
        if let Some(text) = read_hosts_file(&path)? {
            return Ok((HostSource::File(path), text));
        }
    }
    Ok((HostSource::None, String::new()))
}

/// `Ok(None)` when the file cannot be opened, so the next source is tried.
fn read_hosts_file(path: &Path) -> Result<Option<String>, HostsError> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let read_error = |source| HostsError::Read {
        path: path.to_owned(),
        source,
    };
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_HOSTS_FILE_SIZE {
        return Err(HostsError::FileTooLarge {
            path: path.to_owned(),
            size,
        });
    }
    let mut bytes = Vec::new();
    // Bounded even if the file grows after the size check.
    file.take(MAX_HOSTS_FILE_SIZE)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;
    use std::fs;

    /// A temp tree with optional `distcc_dir/hosts`, `home/.distcc/hosts`, `etc/distcc/hosts`.
    struct Tree {
        root: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            let root = tempfile::tempdir().unwrap();
            for dir in ["dd", "home/.distcc", "etc/distcc"] {
                fs::create_dir_all(root.path().join(dir)).unwrap();
            }
            Tree { root }
        }
        fn path(&self, rel: &str) -> PathBuf {
            self.root.path().join(rel)
        }
        fn write(&self, rel: &str, text: &[u8]) -> PathBuf {
            let path = self.path(rel);
            fs::write(&path, text).unwrap();
            path
        }
        fn load(&self, env: &MapEnv, with_dd: bool) -> Result<(HostSource, String), HostsError> {
            let dd = self.path("dd");
            let home = self.path("home");
            load(
                env,
                with_dd.then_some(dd.as_path()),
                Some(&home),
                &self.path("etc"),
            )
        }
    }

    #[test]
    fn env_wins_even_when_empty() {
        let tree = Tree::new();
        tree.write("dd/hosts", b"fromdir");
        tree.write("etc/distcc/hosts", b"frometc");
        let env = MapEnv::new().with("DISTCC_HOSTS", "a b");
        assert_eq!(
            tree.load(&env, true).unwrap(),
            (HostSource::Env, "a b".into())
        );
        let empty = MapEnv::new().with("DISTCC_HOSTS", "");
        assert_eq!(
            tree.load(&empty, true).unwrap(),
            (HostSource::Env, "".into())
        );
    }

    #[test]
    fn distcc_dir_then_sysconfdir_then_none() {
        let tree = Tree::new();
        let env = MapEnv::new();
        let etc = tree.write("etc/distcc/hosts", b"127.0.0.1\n");
        let dd = tree.write("dd/hosts", b"fromdir");
        assert_eq!(
            tree.load(&env, true).unwrap(),
            (HostSource::File(dd.clone()), "fromdir".into())
        );
        fs::remove_file(&dd).unwrap();
        assert_eq!(
            tree.load(&env, true).unwrap(),
            (HostSource::File(etc.clone()), "127.0.0.1\n".into())
        );
        fs::remove_file(&etc).unwrap();
        assert_eq!(
            tree.load(&env, true).unwrap(),
            (HostSource::None, String::new())
        );
    }

    #[test]
    fn home_file_only_when_distcc_dir_is_unset() {
        let tree = Tree::new();
        let env = MapEnv::new();
        let home = tree.write("home/.distcc/hosts", b"fromhome");
        let etc = tree.write("etc/distcc/hosts", b"frometc");
        assert_eq!(
            tree.load(&env, false).unwrap(),
            (HostSource::File(home), "fromhome".into())
        );
        // $DISTCC_DIR set but without a hosts file: ~/.distcc/hosts is not consulted.
        assert_eq!(
            tree.load(&env, true).unwrap(),
            (HostSource::File(etc.clone()), "frometc".into())
        );
        // Neither DISTCC_DIR nor HOME: straight to sysconfdir.
        assert_eq!(
            load(&env, None, None, &tree.path("etc")).unwrap(),
            (HostSource::File(etc), "frometc".into())
        );
    }

    #[test]
    fn text_stops_at_nul_and_survives_bad_utf8() {
        let tree = Tree::new();
        tree.write("dd/hosts", b"a \xff b\0c d");
        let (_, text) = tree.load(&MapEnv::new(), true).unwrap();
        assert_eq!(text, "a \u{fffd} b");
    }

    #[test]
    fn unreadable_source_errors() {
        let tree = Tree::new();
        // A directory opens but does not read: distcc's access(R_OK) passes, then the read fails.
        fs::create_dir(tree.path("dd/hosts")).unwrap();
        tree.write("etc/distcc/hosts", b"frometc");
        let err = tree.load(&MapEnv::new(), true).unwrap_err();
        assert!(matches!(err, HostsError::Read { .. }), "{err:?}");
        assert_eq!(err.exit_code(), dcc_common::ExitCode::IoError);
    }

    #[test]
    fn oversized_file_is_refused() {
        let tree = Tree::new();
        let big = vec![b'a'; usize::try_from(MAX_HOSTS_FILE_SIZE).unwrap() + 1];
        tree.write("dd/hosts", &big);
        let err = tree.load(&MapEnv::new(), true).unwrap_err();
        assert!(
            matches!(err, HostsError::FileTooLarge { size, .. } if size == MAX_HOSTS_FILE_SIZE + 1)
        );
        assert_eq!(err.exit_code(), dcc_common::ExitCode::OutOfMemory);
    }

    #[test]
    fn source_names_for_messages() {
        assert_eq!(HostSource::Env.to_string(), "$DISTCC_HOSTS");
        assert_eq!(
            HostSource::File(PathBuf::from("/etc/distcc/hosts")).to_string(),
            "/etc/distcc/hosts"
        );
    }
}
