//! Backoff marks: `$DISTCC_DIR/lock/backoff_<host>_0` (distcc src/backoff.c, src/timefile.c).
//!
//! When a host fails, distcc writes one byte `x` to the mark (opened `O_WRONLY|O_CREAT`, mode
//! 0666, at offset 0, so the file is always that one byte): the write updates the mtime. A
//! host whose mark is younger than `DISTCC_BACKOFF_PERIOD` seconds (default 60) is left out of
//! the host list. A success removes the mark.
//!
//! `DISTCC_BACKOFF_PERIOD=0` disables the whole mechanism: the client must then neither mark nor
//! clear, and [`is_backed_off`] with a zero period says no. distcc reads the period with
//! `atoi`, so a negative value keeps the marks but never backs off; a caller that maps
//! negatives to [`Duration::ZERO`] gets that for [`is_backed_off`], and should still mark.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::lock::open_lock_file;
use crate::{StateError, concat_path};

/// `<lock_dir>/backoff_<name>_0`.
pub fn backoff_path(lock_dir: &Path, host_lock_name: &str) -> PathBuf {
    concat_path(lock_dir, &format!("backoff_{host_lock_name}_0"))
}

/// Mark a host as failed now (`dcc_disliked_host`).
pub fn mark_backoff(lock_dir: &Path, host_lock_name: &str) -> Result<(), StateError> {
    let path = backoff_path(lock_dir, host_lock_name);
    let mut f = open_lock_file(&path)?;
    // Merely opening does not update the mtime; writing does (src/timefile.c says the same).
    f.write_all(b"x")
        .map_err(|source| StateError::Write { path, source })
}

/// Remove a host's mark after a success (`dcc_enjoyed_host`). A missing mark is fine.
pub fn clear_backoff(lock_dir: &Path, host_lock_name: &str) -> Result<(), StateError> {
    let path = backoff_path(lock_dir, host_lock_name);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(StateError::Unlink { path, source: e })
        }
        _ => Ok(()),
    }
}

/// distcc src/backoff.c: default `DISTCC_BACKOFF_PERIOD`, seconds (0 disables backoff).
pub const DEFAULT_BACKOFF_PERIOD: i64 = 60;

/// Whether the host was marked less than `period` ago. A zero period is "backoff disabled".
pub fn is_backed_off(lock_dir: &Path, host_lock_name: &str, period: Duration) -> bool {
    is_backed_off_at(lock_dir, host_lock_name, period, SystemTime::now())
}

/// [`is_backed_off`] with the current time given.
///
/// distcc src/backoff.c `dcc_check_backoff`: `difftime(time(NULL), mtime) < period`, in whole
/// seconds, so a mark from the future (clock skew) also counts. If the mark exists but cannot
/// be examined, distcc drops the host too; so do we.
pub fn is_backed_off_at(
    lock_dir: &Path,
    host_lock_name: &str,
    period: Duration,
    now: SystemTime,
) -> bool {
    if period.is_zero() {
        return false;
    }
    let mtime = match std::fs::metadata(backoff_path(lock_dir, host_lock_name)) {
        Ok(m) => match m.modified() {
            Ok(t) => t,
            Err(_) => return true,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    let age = unix_secs(now) - unix_secs(mtime);
    age < i64::try_from(period.as_secs()).unwrap_or(i64::MAX)
}

/// Whole seconds since the epoch, negative before it (like `time_t`).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            // time_t floors: 0.5 s before the epoch is -1.
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 { -s - 1 } else { -s }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    /// Set the mark's mtime to a whole second, so that ages are exact.
    fn set_mark_time(dir: &Path, name: &str, t: SystemTime) {
        let f = File::options()
            .write(true)
            .open(backoff_path(dir, name))
            .unwrap();
        f.set_modified(t).unwrap();
    }

    #[test]
    fn mark_is_one_x_and_period_decides() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let name = "tcp_127.0.0.1_3698";
        let p60 = Duration::from_secs(60);
        assert!(!is_backed_off(d, name, p60), "no mark, no backoff");
        mark_backoff(d, name).unwrap();
        mark_backoff(d, name).unwrap();
        assert_eq!(
            std::fs::read(d.join("backoff_tcp_127.0.0.1_3698_0")).unwrap(),
            b"x"
        );
        assert!(is_backed_off(d, name, p60));
        assert!(!is_backed_off(d, name, Duration::ZERO), "0 disables");
        let marked = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        set_mark_time(d, name, marked);
        let now = marked + Duration::from_millis(10_900);
        assert!(is_backed_off_at(d, name, Duration::from_secs(11), now));
        assert!(!is_backed_off_at(d, name, Duration::from_secs(10), now));
        assert!(!is_backed_off_at(d, name, Duration::from_secs(5), now));
        assert!(!is_backed_off(d, name, p60), "marked long ago");
        // Marking again restarts the period.
        mark_backoff(d, name).unwrap();
        assert!(is_backed_off(d, name, Duration::from_secs(5)));
        clear_backoff(d, name).unwrap();
        assert!(!is_backed_off(d, name, p60));
        clear_backoff(d, name).unwrap();
    }

    #[test]
    fn a_mark_from_the_future_counts_and_now_is_injectable() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        mark_backoff(d, "h").unwrap();
        let past = SystemTime::now() - Duration::from_secs(3600);
        assert!(is_backed_off_at(d, "h", Duration::from_secs(1), past));
        let future = SystemTime::now() + Duration::from_secs(3600);
        assert!(!is_backed_off_at(d, "h", Duration::from_secs(60), future));
    }

    #[test]
    fn unix_secs_floors_like_time_t() {
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_millis(1500)), 1);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_millis(500)), -1);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(2)), -2);
    }

    #[test]
    fn mark_in_missing_dir_fails() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(mark_backoff(&tmp.path().join("x"), "h").is_err());
    }
}
