//! `$DISTCC_DIR`, or `~/.distcc`, and its `lock/` and `state/` sub-directories.
//!
//! distcc src/tempfile.c (`dcc_get_top_dir`, `dcc_get_subdir`): `$DISTCC_DIR` is used as given
//! and never created, so a missing one makes `mkdir '…/lock' failed` and the job runs locally;
//! `~/.distcc` is created. Sub-directories are created (mode 0777 & ~umask) when first needed.
//!
//! Nothing here touches the disk until a sub-directory is asked for, and each is created at
//! most once per [`DistccDir`]: `lock_dir()` costs one `mkdir` (normally `EEXIST`), and a
//! missing `~/.distcc` costs one more.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use dcc_common::Env;

use crate::{StateError, concat, concat_path};

/// The distcc directory of this user (`$DISTCC_DIR` or `~/.distcc`).
#[derive(Debug)]
pub struct DistccDir {
    top: PathBuf,
    /// True for `~/.distcc`, which distcc creates; false for `$DISTCC_DIR`, which it does not.
    create_top: bool,
    lock: OnceCell<PathBuf>,
    state: OnceCell<PathBuf>,
}

impl DistccDir {
    /// `$DISTCC_DIR` if set (even if empty, as distcc), otherwise `<home>/.distcc`. `home` is
    /// normally `$HOME` from the same environment; `None` fails as distcc does without `HOME`.
    /// Nothing is created yet.
    pub fn from_env(env: &dyn Env, home: Option<&Path>) -> Result<DistccDir, StateError> {
        if let Some(dir) = env.var_os("DISTCC_DIR") {
            return Ok(DistccDir::new(PathBuf::from(dir), false));
        }
        let home = home.ok_or(StateError::HomeNotSet)?;
        Ok(DistccDir::new(concat(home.as_os_str(), ".distcc"), true))
    }

    /// `from_env` with `home` read from the same environment's `HOME`.
    pub fn from_env_home(env: &dyn Env) -> Result<DistccDir, StateError> {
        let home: Option<OsString> = env.var_os("HOME");
        DistccDir::from_env(env, home.as_deref().map(Path::new))
    }

    /// A directory used as given, never created (like `$DISTCC_DIR`). For tests and tools.
    pub fn at(path: impl Into<PathBuf>) -> DistccDir {
        DistccDir::new(path.into(), false)
    }

    fn new(top: PathBuf, create_top: bool) -> DistccDir {
        DistccDir {
            top,
            create_top,
            lock: OnceCell::new(),
            state: OnceCell::new(),
        }
    }

    /// The directory itself (`hosts` lives here). It may not exist.
    pub fn path(&self) -> &Path {
        &self.top
    }

    /// `<dir>/lock`, created if missing.
    pub fn lock_dir(&self) -> Result<&Path, StateError> {
        self.subdir(&self.lock, "lock")
    }

    /// `<dir>/state`, created if missing.
    pub fn state_dir(&self) -> Result<&Path, StateError> {
        self.subdir(&self.state, "state")
    }

    fn subdir<'a>(&self, cell: &'a OnceCell<PathBuf>, name: &str) -> Result<&'a Path, StateError> {
        if let Some(p) = cell.get() {
            return Ok(p);
        }
        let path = concat_path(&self.top, name);
        match mkdir(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.create_top => {
                // distcc creates ~/.distcc first; we do it only when it turns out to be missing.
                mkdir(&self.top).map_err(|source| StateError::Mkdir {
                    path: self.top.clone(),
                    source,
                })?;
                mkdir(&path)
            }
            r => r,
        }
        .map_err(|source| StateError::Mkdir {
            path: path.clone(),
            source,
        })?;
        Ok(cell.get_or_init(|| path))
    }
}

/// distcc's `dcc_mkdir`: `mkdir(path, 0777)`, where an existing entry is success.
fn mkdir(path: &Path) -> io::Result<()> {
    match std::fs::create_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;

    #[test]
    fn distcc_dir_wins_and_is_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let env = MapEnv::new().with("DISTCC_DIR", missing.as_os_str());
        let d = DistccDir::from_env(&env, Some(tmp.path())).unwrap();
        assert_eq!(d.path(), missing);
        let err = d.lock_dir().unwrap_err();
        assert!(matches!(err, StateError::Mkdir { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "mkdir '{}/lock' failed: No such file or directory",
                missing.display()
            )
        );
        assert!(!missing.exists());
    }

    #[test]
    fn home_dot_distcc_is_created_with_subdirs() {
        let tmp = tempfile::tempdir().unwrap();
        let d = DistccDir::from_env(&MapEnv::new(), Some(tmp.path())).unwrap();
        assert_eq!(d.path(), tmp.path().join(".distcc"));
        assert!(!d.path().exists(), "nothing is created up front");
        let lock = d.lock_dir().unwrap().to_owned();
        assert_eq!(lock, tmp.path().join(".distcc/lock"));
        assert!(lock.is_dir());
        assert!(d.state_dir().unwrap().is_dir());
        // Cached: removing the directory does not make a second call fail or recreate it.
        std::fs::remove_dir(&lock).unwrap();
        assert_eq!(d.lock_dir().unwrap(), lock);
        assert!(!lock.exists());
    }

    #[test]
    fn no_home_and_no_distcc_dir_is_bad_arguments() {
        let err = DistccDir::from_env(&MapEnv::new(), None).unwrap_err();
        assert!(matches!(err, StateError::HomeNotSet));
        assert_eq!(err.exit_code().code(), 101);
        let err = DistccDir::from_env_home(&MapEnv::new()).unwrap_err();
        assert!(matches!(err, StateError::HomeNotSet));
        let env = MapEnv::new().with("HOME", "/h");
        let d = DistccDir::from_env_home(&env).unwrap();
        assert_eq!(d.path(), Path::new("/h/.distcc"));
    }

    #[test]
    fn existing_distcc_dir_gets_subdirs() {
        let tmp = tempfile::tempdir().unwrap();
        let env = MapEnv::new().with("DISTCC_DIR", tmp.path().as_os_str());
        let d = DistccDir::from_env(&env, None).unwrap();
        assert_eq!(d.state_dir().unwrap(), tmp.path().join("state"));
        assert!(tmp.path().join("state").is_dir());
    }
}
