//! The client's lines in the event log, `$DISTCC_DIR/state/events` (format and rotation:
//! dcc-state's `events` module): a line when a host fails a job and when a job falls back to
//! a local compile, with the text of the warning as the reason, so that `distccmon-top` can
//! show what went wrong and where.
//!
//! Only failure and fallback paths call this: a compile that goes well never opens the file,
//! so the success path costs not one system call more. A line that cannot be written is
//! logged at debug level and otherwise ignored; the event log must never change a build.

use dcc_common::{Level, dcc_log};
use dcc_hosts::{HostList, HostSpec};
use dcc_state::{DistccDir, Event, EventKind, append_event};

use crate::hosts;

/// Append one event (`host` and `file` may be empty).
pub fn note(dir: Option<&DistccDir>, kind: EventKind, host: &str, file: &str, reason: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
