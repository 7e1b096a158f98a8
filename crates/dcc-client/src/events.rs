//! The client's lines in the event log, `$DISTCC_DIR/state/events` (format and rotation:
//! dcc-state's `events` module): a line when a host fails a job and when a job falls back to
//! a local compile, with the text of the warning as the reason, so that `distccmon-top` can
//! show what went wrong and where.
//!
//! Only failure and fallback paths call this: a compile that goes well never opens the file,
//! so the success path costs not one system call more. A line that cannot be written is
//! logged at debug level and otherwise ignored; the event log must never change a build.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcc_common::{Level, dcc_log};
use dcc_hosts::{HostList, HostSpec};
use dcc_state::{DistccDir, Event, EventKind, append_event};

use crate::hosts;
use crate::verdict::printable;

/// Append one event (`host` and `file` may be empty), and count it for `--show-stats`.
pub fn note(dir: Option<&DistccDir>, kind: EventKind, host: &str, file: &str, reason: &str) {
    crate::stats::count(dir, crate::stats::of_event(kind, host, reason));
    let Some(dir) = dir else {
        return;
    };
    let written = dir
        .state_dir()
        .and_then(|d| append_event(d, &Event::now(kind, host, file, reason)));
    if let Err(e) = written {
        dcc_log!(Level::Debug, e.distcc_function(), "{e}");
    }
}

/// Why no host was left for this compile, when `hosts::usable` returned none: every host
/// that could be used is in its backoff period, or there was none to begin with.
pub fn no_host_reason(list: &HostList) -> &'static str {
    let usable_at_all = |h: &HostSpec| !h.down && !h.is_local() && hosts::unsupported(h).is_none();
    if list.hosts.iter().any(usable_at_all) {
        "every host is backed off"
    } else {
        "no usable host"
    }
}

/// For each host of `list` that is in its backoff period, a line saying since when and why:
/// the mark's time is the mtime of distcc's (empty, shared) mark file, the reason the last
/// `backoff` event this client family logged for the host. Read only when a compile found no
/// host left, so the success path never opens the event log.
pub fn backoff_notes(
    dir: &DistccDir,
    lock_dir: &Path,
    list: &HostList,
    period: Duration,
    now: SystemTime,
) -> Vec<String> {
    let marked: Vec<(&HostSpec, SystemTime)> = list
        .hosts
        .iter()
        .filter(|h| !h.down && !h.is_local())
        .filter(|h| dcc_state::is_backed_off_at(lock_dir, &h.lock_name(), period, now))
        .filter_map(|h| {
            let mark = dcc_state::backoff_path(lock_dir, &h.lock_name());
            Some((h, std::fs::metadata(mark).ok()?.modified().ok()?))
        })
        .collect();
    if marked.is_empty() {
        return Vec::new();
    }
    let log = dir
        .state_dir()
        .and_then(dcc_state::read_events)
        .unwrap_or_default();
    marked
        .into_iter()
        .map(|(h, since)| {
            let reason = log
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Backoff && e.host == h.spec)
                .map_or(
                    "no reason recorded (marked by another distcc, or the event log has \
                     been rotated)"
                        .into(),
                    |e| printable(&e.reason).into_owned(),
                );
            let ago = now.duration_since(since).unwrap_or_default().as_secs();
            let left = period.as_secs().saturating_sub(ago);
            format!(
                "{} is backed off since {} ({ago} s ago, for {left} s more; \
                 DISTCC_BACKOFF_PERIOD={}): {reason}",
                h.spec,
                utc_clock(since),
                period.as_secs()
            )
        })
        .collect()
}

/// `HH:MM:SS UTC` of a time (the date is today's or yesterday's: a backoff period is short).
fn utc_clock(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_notes_say_when_and_why() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DistccDir::at(tmp.path());
        let lock_dir = dir.lock_dir().unwrap().to_owned();
        let list = dcc_hosts::parse("a:1/2 b:2 c:3 localhost").unwrap();
        let period = Duration::from_secs(60);
        for h in &list.hosts[..2] {
            dcc_state::mark_backoff(&lock_dir, &h.lock_name()).unwrap();
        }
        note(Some(&dir), EventKind::Backoff, "a:1/2", "x.c", "old reason");
        note(Some(&dir), EventKind::Local, "a:1/2", "x.c", "not this one");
        let hostile = "refused \u{202e}x";
        note(Some(&dir), EventKind::Backoff, "a:1/2", "y.c", hostile);
        let marked = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 3600 + 61);
        for h in &list.hosts[..2] {
            let f = std::fs::File::options()
                .write(true)
                .open(dcc_state::backoff_path(&lock_dir, &h.lock_name()))
                .unwrap();
            f.set_modified(marked).unwrap();
        }
        let now = marked + Duration::from_secs(5);
        let got = backoff_notes(&dir, &lock_dir, &list, period, now);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            "a:1/2 is backed off since 23:14:21 UTC (5 s ago, for 55 s more; \
             DISTCC_BACKOFF_PERIOD=60): refused \\u{202e}x"
        );
        assert!(got[1].starts_with("b:2 is backed off since 23:14:21 UTC"));
        assert!(got[1].ends_with(
            "no reason recorded (marked by another distcc, or the event log has been rotated)"
        ));
        // Past the period, nothing.
        let later = marked + Duration::from_secs(61);
        assert!(backoff_notes(&dir, &lock_dir, &list, period, later).is_empty());
    }

    #[test]
    fn reasons_for_no_host() {
        let list = dcc_hosts::parse("a b,down").unwrap();
        assert_eq!(no_host_reason(&list), "every host is backed off");
        let list = dcc_hosts::parse("b,down c,auth").unwrap();
        assert_eq!(no_host_reason(&list), "no usable host");
    }

    #[test]
    fn note_appends_and_needs_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DistccDir::at(tmp.path());
        note(Some(&dir), EventKind::Local, "h:1", "a.c", "no usable host");
        note(None, EventKind::Local, "h:1", "b.c", "dropped");
        let got = dcc_state::read_events(&tmp.path().join("state")).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].pid, std::process::id());
        assert_eq!(
            (got[0].kind, &*got[0].host, &*got[0].file, &*got[0].reason),
            (EventKind::Local, "h:1", "a.c", "no usable host")
        );
        // A directory that cannot be used: nothing, and no panic.
        let missing = DistccDir::at(tmp.path().join("missing"));
        note(Some(&missing), EventKind::Local, "", "c.c", "x");
    }
}
