//! Issue 14, item 6: a helper whose compiler version differs from the master's is warned
//! about during builds, once per host and compiler per build, with no compile of its own
//! (docs/decisions/client.md, "A helper with another compiler version").
//!
//! - The helper's version comes with every object it returns: its `.comment`, read by
//!   [`crate::check::compiler_ident_in`] (the one `--check-hosts` uses).
//! - The master's version is asked of the compiler binary once and cached in
//!   `$DISTCC_DIR/state/compilers/`, keyed by the binary's resolved path, inode, size and
//!   mtime (an upgrade changes the key). The question is the driver's `-v` on a preprocess
//!   of an empty file, which prints the same string ([`crate::check::ident_from_verbose`]).
//! - A build is a run of compiles with no pause longer than [`BUILD_GAP`]: the marker
//!   `$DISTCC_DIR/lock/version_<host>_<compiler>` holds the time of the last compile; while
//!   it is younger, a compile costs one `stat` (and a time update at most every [`REFRESH`]).

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use dcc_common::{Level, dcc_log};
use dcc_hosts::HostSpec;
use dcc_state::DistccDir;

use crate::check::{compiler_ident_in, ident_from_verbose};
use crate::exec::{ChildEnv, find_on_path};

/// A pause longer than this ends a build.
pub const BUILD_GAP: Duration = Duration::from_secs(10 * 60);
/// The marker's time is moved on at most this often.
const REFRESH: Duration = Duration::from_secs(60);
/// At most this much of the driver's `-v` output is read (GCC's is about 3 KiB).
const VERBOSE_MAX: u64 = 64 * 1024;

/// After a good object from `host`, compiled by `compiler`, written to `object`.
pub fn after_reply(
    dir: Option<&DistccDir>,
    cenv: &ChildEnv,
    host: &HostSpec,
    compiler: &str,
    object: &Path,
) {
    let Some(dir) = dir else { return };
    let Ok(lock_dir) = dir.lock_dir() else { return };
    let marker = lock_dir.join(format!(
        "version_{}_{}",
        host.lock_name(),
        file_word(compiler)
    ));
    if !new_build(&marker) {
        return;
    }
    // Read in bounded memory: the object may be large.
    let file = std::fs::File::open(object).ok();
    let Some(there) = file.and_then(compiler_ident_in) else {
        dcc_log!(
            Level::Debug,
            "dcc_check_version",
            "no compiler version in {}",
            object.display()
        );
        return;
    };
    match master_ident(dir, cenv, compiler) {
        Ok(here) if here != there => dcc_log!(
            Level::Warning,
            "dcc_check_version",
            "{}: compiler version differs: \"{there}\" there, \"{here}\" here: install the \
             same compiler packages on both, or objects will differ (distcc --check-hosts)",
            host.spec
        ),
        Ok(_) => {}
        Err(why) => dcc_log!(Level::Debug, "dcc_check_version", "{compiler}: {why}"),
    }
}

/// Whether this compile starts a build on the marker's host and compiler; the marker's time
/// is moved on either way. Of compiles that start at once (`make -j`), one wins: a stale
/// marker is taken away by one `rename`, a new one made by one exclusive create.
fn new_build(marker: &Path) -> bool {
    let now = SystemTime::now();
    let age = std::fs::metadata(marker)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| now.duration_since(t).unwrap_or_default());
    match age {
        Some(a) if a < REFRESH => false,
        Some(a) if a < BUILD_GAP => {
            let _ = std::fs::File::options()
                .write(true)
                .open(marker)
                .and_then(|f| f.set_modified(now));
            false
        }
        Some(_) => {
            let mut stale = marker.as_os_str().to_owned();
            stale.push(format!(".old.{}", std::process::id()));
            if std::fs::rename(marker, &stale).is_err() {
                return false; // another compile took it
            }
            let _ = std::fs::remove_file(&stale);
            create(marker)
        }
        None => create(marker),
    }
}

/// Make the marker if no one has; false also when it cannot be written (else every compile
/// would compare).
fn create(marker: &Path) -> bool {
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(marker)
        .is_ok()
}

/// `s` as one file-name word: its last path element, other than `[A-Za-z0-9+-._]` as `_`.
fn file_word(s: &str) -> String {
    s.rsplit('/')
        .next()
        .unwrap_or(s)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The master's compiler ident for `compiler`, from the cache or asked and cached.
fn master_ident(dir: &DistccDir, cenv: &ChildEnv, compiler: &str) -> Result<String, String> {
    let path = resolve(cenv, compiler).ok_or("not found on PATH")?;
    let meta = std::fs::metadata(&path).map_err(|e| dcc_state::strerror(&e))?;
    let cache = dir
        .state_dir()
        .map_err(|e| e.to_string())?
        .join("compilers");
    let entry = cache.join(format!(
        "{}_{}_{}_{}.{}",
        file_word(&path.to_string_lossy()),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec()
    ));
    // The entry: the resolved path (two binaries may share a name, inode and size on two
    // file systems), then the ident.
    let head = format!("{}\n", path.display());
    if let Ok(text) = std::fs::read_to_string(&entry)
        && let Some(ident) = text.strip_prefix(&head)
        && !ident.is_empty()
    {
        return Ok(ident.to_owned());
    }
    let ident = ask(cenv, &path)?;
    let _ = std::fs::create_dir(&cache);
    let tmp = cache.join(format!(".new.{}", std::process::id()));
    if std::fs::write(&tmp, format!("{head}{ident}")).is_ok() {
        let _ = std::fs::rename(&tmp, &entry);
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(ident)
}

/// `compiler` as the binary it runs: looked up on the children's `PATH`, links resolved.
fn resolve(cenv: &ChildEnv, compiler: &str) -> Option<PathBuf> {
    let found = if compiler.contains('/') {
        PathBuf::from(compiler)
    } else {
        let path = cenv.path.clone().or_else(|| std::env::var_os("PATH"))?;
        find_on_path(&path, OsStr::new(compiler))?
    };
    std::fs::canonicalize(found).ok()
}

/// The driver's `-v` on a preprocess of nothing: no compile, the same string as `.comment`.
fn ask(cenv: &ChildEnv, path: &Path) -> Result<String, String> {
    let args = [
        path.as_os_str(),
        OsStr::new("-v"),
        OsStr::new("-E"),
        OsStr::new("-x"),
        OsStr::new("c"),
        OsStr::new("/dev/null"),
        OsStr::new("-o"),
        OsStr::new("/dev/null"),
    ];
    let mut child = cenv
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| dcc_state::strerror(&e))?;
    let mut err = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let _ = stderr.take(VERBOSE_MAX).read_to_end(&mut err);
    }
    let _ = child.wait();
    ident_from_verbose(&err).ok_or_else(|| "no version in its -v output".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;

    #[test]
    fn one_compile_starts_a_build_and_a_stale_marker_starts_the_next() {
        let dir = std::env::temp_dir().join(format!("dcc_version_warn_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("version_h_gcc");
        let _ = std::fs::remove_file(&marker);
        assert!(new_build(&marker));
        assert!(!new_build(&marker));
        // Made by another compile between our stat and our create: not ours to compare.
        assert!(!create(&marker));
        let stale = SystemTime::now() - BUILD_GAP - Duration::from_secs(1);
        let f = std::fs::File::options().write(true).open(&marker).unwrap();
        f.set_modified(stale).unwrap();
        assert!(new_build(&marker));
        assert!(!new_build(&marker));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
