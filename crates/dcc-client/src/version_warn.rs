//! Issue 14, item 6: a helper whose compiler version differs from the master's is warned about
//! during builds, once per host and compiler per build, with `--check-hosts`' comparison
//! ([`crate::check::compiler_ident`] of the returned object against
//! [`crate::check::local_ident`], one copy of each).
//!
//! "Per build": distcc has no notion of a build, so a build here is a run of compiles on a
//! host with no pause of more than [`BUILD_GAP`]. The marker
//! `$DISTCC_DIR/lock/version_<host lock name>_<compiler>` records the last check: while it is
//! younger than [`BUILD_GAP`] nothing is compared (one `stat` per compile) and its time is
//! moved on at most once a minute; older or missing, the next compile compares (one local
//! probe compile of the compiler, a few milliseconds) and warns if the versions differ.

use std::path::Path;
use std::time::{Duration, SystemTime};

use dcc_common::{Level, dcc_log};
use dcc_hosts::HostSpec;
use dcc_state::DistccDir;

use crate::exec::ChildEnv;

/// A pause longer than this ends a build.
pub const BUILD_GAP: Duration = Duration::from_secs(10 * 60);
/// The marker's time is moved on at most this often.
const REFRESH: Duration = Duration::from_secs(60);

/// After a good object from `host`, compiled by `compiler`, written to `object`.
pub fn after_reply(
    dir: Option<&DistccDir>,
    cenv: &ChildEnv,
    tmpdir: &Path,
    host: &HostSpec,
    compiler: &str,
    object: &Path,
) {
    let Some(lock_dir) = dir.and_then(|d| d.lock_dir().ok()) else {
        return;
    };
    let cc: String = compiler
        .rsplit('/')
        .next()
        .unwrap_or(compiler)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let marker = lock_dir.join(format!("version_{}_{cc}", host.lock_name()));
    let now = SystemTime::now();
    let age = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .map(|t| now.duration_since(t).unwrap_or_default());
    match age {
        Some(a) if a < REFRESH => return,
        Some(a) if a < BUILD_GAP => {
            // Same build: keep the marker alive, compare nothing.
            let _ = std::fs::File::options()
                .write(true)
                .open(&marker)
                .and_then(|f| f.set_modified(now));
            return;
        }
        _ => {}
    }
    if std::fs::write(&marker, b"").is_err() {
        return;
    }
    let Some(there) = std::fs::read(object)
        .ok()
        .and_then(|o| crate::check::compiler_ident(&o))
    else {
        dcc_log!(
            Level::Debug,
            "dcc_check_version",
            "no compiler version in {}",
            object.display()
        );
        return;
    };
    let argv = [compiler.to_owned()];
    match crate::check::local_ident(cenv, &argv, tmpdir) {
        Ok(here) if here != there => dcc_log!(
            Level::Warning,
            "dcc_check_version",
            "{}: compiler version differs: \"{there}\" there, \"{here}\" here: install the \
             same compiler packages on both, or objects will differ (distcc --check-hosts)",
            host.spec
        ),
        Ok(_) => {}
        Err(why) => dcc_log!(Level::Debug, "dcc_check_version", "{why}"),
    }
}
