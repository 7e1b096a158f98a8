use super::*;
use std::time::UNIX_EPOCH;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn st(pid: u32, phase: Phase, file: &str, host: &str, slot: i32) -> TaskState {
    TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot,
        phase,
    }
}

fn ev(at: u64, kind: EventKind, host: &str, reason: &str) -> Event {
    Event {
        time: t(at),
        pid: 9,
        kind,
        host: host.into(),
        file: "x.c".into(),
        reason: reason.into(),
    }
}

fn row<'a>(rows: &'a [HostRow], host: &str) -> &'a HostRow {
    rows.iter()
        .find(|r| r.host == host)
        .unwrap_or_else(|| panic!("no row {host} in {rows:?}"))
}

#[test]
fn phases_are_counted_per_host() {
    let mut m = Model::new();
    m.observe(
        t(0),
        &[
            st(1, Phase::Compile, "a.c", "alpha", 0),
            st(2, Phase::Compile, "b.c", "alpha", 1),
            st(3, Phase::Send, "c.c", "alpha", 2),
            st(4, Phase::Receive, "d.c", "beta", 0),
            st(5, Phase::Blocked, "e.c", "", -1),
            st(6, Phase::Startup, "f.c", "", -1),
            st(7, Phase::Compile, "g.c", "localhost", 0),
        ],
        |_| None,
    );
    let rows = m.host_rows();
    let hosts: Vec<&str> = rows.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["alpha", "beta", "localhost", NO_HOST]);
    let alpha = row(&rows, "alpha");
    // Blocked, Connect, Preprocess, Send, Compile, Receive
    assert_eq!(alpha.phases, [0, 0, 0, 1, 2, 0]);
    assert_eq!(alpha.running, 3);
    assert_eq!(row(&rows, "beta").phases, [0, 0, 0, 0, 0, 1]);
    let none = row(&rows, NO_HOST);
    assert_eq!(none.phases, [1, 0, 0, 0, 0, 0]);
    assert_eq!(none.running, 2, "Startup counts in the total only");
    assert_eq!(m.jobs().len(), 7);
    assert_eq!(m.per_minute(), 0);
}

#[test]
fn finished_jobs_count_on_their_last_host_in_a_sliding_window() {
    let mut m = Model::new();
    m.observe(
        t(0),
        &[
            st(1, Phase::Blocked, "a.c", "", -1),
            st(2, Phase::Compile, "b.c", "alpha", 0),
            // Already Done at the first look: finished before we looked, not counted.
            st(3, Phase::Done, "c.c", "alpha", 1),
        ],
        |_| None,
    );
    assert_eq!(m.per_minute(), 0);
    // 1 moved to beta; 2 vanished (our client removes its file without Done); 3 lingers.
    m.observe(
        t(2),
        &[
            st(1, Phase::Compile, "a.c", "beta", 0),
            st(3, Phase::Done, "c.c", "alpha", 1),
        ],
        |_| None,
    );
    assert_eq!(m.per_minute(), 1);
    // 1 reaches Done (C distcc's last write), and a job we never saw running shows up Done.
    m.observe(
        t(4),
        &[
            st(1, Phase::Done, "a.c", "beta", 0),
            st(8, Phase::Done, "z.c", "gamma", 0),
        ],
        |_| None,
    );
    assert_eq!(m.per_minute(), 3);
    // The lingering Done file does not count again.
    m.observe(t(6), &[st(1, Phase::Done, "a.c", "beta", 0)], |_| None);
    assert_eq!(m.per_minute(), 3);
    let rows = m.host_rows();
    assert_eq!(row(&rows, "alpha").per_minute, 1);
    assert_eq!(row(&rows, "beta").per_minute, 1);
    assert_eq!(row(&rows, "gamma").per_minute, 1);
    assert_eq!(row(&rows, "alpha").running, 0);
    // The bars: alpha's job finished 4 s ago (bucket 11), beta's and gamma's 2 s ago.
    assert_eq!(row(&rows, "alpha").history[BUCKETS - 1], 1);
    assert!(m.warming_up());
    // A minute later the window has slid past all three.
    m.observe(t(63), &[], |_| None);
    assert_eq!(
        m.per_minute(),
        2,
        "only the jobs finished at t=4 are within 60 s"
    );
    m.observe(t(70), &[], |_| None);
    assert_eq!(m.per_minute(), 0);
    assert!(!m.warming_up());
    assert!(m.host_rows().is_empty());
}

#[test]
fn job_age_starts_at_first_sight_or_the_files_mtime() {
    let mut m = Model::new();
    m.observe(t(10), &[st(1, Phase::Compile, "a.c", "h", 0)], |_| {
        Some(t(4))
    });
    assert_eq!(m.jobs()[0].since, t(4));
    // Later readings keep the start; a future mtime is clamped to now.
    m.observe(t(12), &[st(1, Phase::Receive, "a.c", "h", 0)], |_| {
        Some(t(11))
    });
    assert_eq!(m.jobs()[0].since, t(4));
    m.observe(
        t(14),
        &[
            st(1, Phase::Receive, "a.c", "h", 0),
            st(2, Phase::Send, "b.c", "h", 1),
        ],
        |_| Some(t(99)),
    );
    assert_eq!(m.jobs()[1].since, t(14));
    // A reused pid with another file is a new job, and the old one finished.
    m.observe(t(16), &[st(2, Phase::Send, "other.c", "h", 1)], |_| None);
    assert_eq!(m.jobs()[0].since, t(16));
    assert_eq!(m.per_minute(), 2);
}

#[test]
fn failures_are_counted_per_host_name_and_events_kept_newest_first() {
    let mut m = Model::new();
    m.add_events(vec![
        ev(0, EventKind::Backoff, "alpha:3632/4,lzo", "timeout"),
        ev(1, EventKind::Local, "alpha:3632/4,lzo", "timeout"),
        ev(2, EventKind::Failed, "fred@beta:/opt/distccd", "refused"),
        ev(3, EventKind::Local, "", "every host is backed off"),
    ]);
    m.observe(t(5), &[], |_| None);
    let rows = m.host_rows();
    assert_eq!(
        row(&rows, "alpha").failures,
        1,
        "local is not a host failure"
    );
    assert_eq!(row(&rows, "beta").failures, 1);
    assert_eq!(rows.len(), 2);
    let reasons: Vec<&str> = m.events().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["every host is backed off", "refused", "timeout", "timeout"]
    );
    // Ten minutes on, the failures no longer count (but stay listed).
    m.observe(t(700), &[], |_| None);
    assert!(m.host_rows().is_empty());
    assert_eq!(m.events().count(), 4);
    // Only the newest are kept.
    m.add_events(
        (0..EVENTS_KEPT as u64 + 5)
            .map(|i| ev(i, EventKind::Local, "", "r"))
            .collect(),
    );
    assert_eq!(m.events().count(), EVENTS_KEPT);
}

#[test]
fn host_names_of_specs() {
    assert_eq!(host_name("127.0.0.1:3632/4,lzo"), "127.0.0.1");
    assert_eq!(host_name("fred@build:/opt/distccd"), "build");
    assert_eq!(host_name("@build"), "build");
    assert_eq!(host_name("[::1]:4000"), "::1");
    assert_eq!(host_name("localhost/2"), "localhost");
    assert_eq!(host_name("not a spec ::"), "not a spec ::");
}

#[test]
fn short_ages() {
    assert_eq!(short_age(Duration::from_secs(0)), "0s");
    assert_eq!(short_age(Duration::from_secs(59)), "59s");
    assert_eq!(short_age(Duration::from_secs(60)), "1m");
    assert_eq!(short_age(Duration::from_secs(7200)), "2h");
    assert_eq!(short_age(Duration::from_secs(200_000)), "2d");
}

#[test]
fn a_failure_and_its_fallback_are_one_row() {
    let mut m = Model::new();
    let mut other_pid = ev(3, EventKind::Local, "h:1", "timeout");
    other_pid.pid = 10;
    m.add_events(vec![
        ev(0, EventKind::Backoff, "h:1", "timeout"),
        ev(0, EventKind::Local, "h:1", "timeout"),
        // A second host failed before the fallback: only the last pairs up.
        ev(1, EventKind::Backoff, "a:1", "refused"),
        ev(1, EventKind::Failed, "b:1", "closed"),
        ev(1, EventKind::Error, "b:1", "closed"),
        ev(2, EventKind::Failed, "c:1", "x"),
        ev(2, EventKind::Local, "c:1", "another reason"),
        other_pid,
    ]);
    let rows: Vec<(String, &str)> = m
        .event_rows()
        .iter()
        .map(|r| (r.label(), r.event.host.as_str()))
        .collect();
    let want = [
        ("local", "h:1"),
        ("local", "c:1"),
        ("failed", "c:1"),
        ("failed→error", "b:1"),
        ("backoff", "a:1"),
        ("backoff→local", "h:1"),
    ];
    assert_eq!(
        rows,
        want.map(|(l, h)| (l.to_owned(), h)).to_vec(),
        "newest first"
    );
}
