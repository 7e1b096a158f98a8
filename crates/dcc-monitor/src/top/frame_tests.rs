//! Frames drawn with ratatui's `TestBackend` from fixture state files and events.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, SystemTime};

use dcc_state::{Event, EventKind, Phase, TaskState, append_event, encode_state};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{Sources, buffer_text, render_text};
use super::stats::{DaemonStats, Helper};
use super::ui::{View, draw};

/// Live processes to own the fixture state files (the reader skips files of dead pids).
struct Sleepers(Vec<Child>);

impl Sleepers {
    fn new(n: usize) -> Sleepers {
        Sleepers(
            (0..n)
                .map(|_| {
                    Command::new("sleep")
                        .arg("60")
                        .spawn()
                        .expect("spawn sleep")
                })
                .collect(),
        )
    }

    fn pid(&self, i: usize) -> u32 {
        self.0[i].id()
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn put(state: &Path, pid: u32, phase: Phase, file: &str, host: &str, slot: i32) {
    let s = TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot,
        phase,
    };
    std::fs::write(state.join(format!("binstate_{pid}")), encode_state(&s)).unwrap();
}

fn event(state: &Path, kind: EventKind, host: &str, file: &str, reason: &str) {
    append_event(state, &Event::now(kind, host, file, reason)).unwrap();
}

fn draw_text(v: &View<'_>, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, v)).unwrap();
    buffer_text(t.backend().buffer())
}

/// The words of the first line that starts (inside its border) with `first`.
fn row_words<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| l.trim_start_matches('│').trim_end_matches('│'))
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no row starting with {first:?} in\n{text}"))
        .split_whitespace()
        .collect()
}

#[test]
fn hosts_phases_throughput_jobs_and_reasons_appear() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    let p = Sleepers::new(5);
    put(state, p.pid(0), Phase::Compile, "a.c", "alpha", 0);
    put(state, p.pid(1), Phase::Compile, "b.c", "alpha", 1);
    put(state, p.pid(2), Phase::Send, "c.c", "beta", 0);
    put(state, p.pid(3), Phase::Blocked, "d.c", "", -1);
    put(state, p.pid(4), Phase::Preprocess, "e.c", "beta", 1);
    event(
        state,
        EventKind::Backoff,
        "beta:3632/4",
        "c.c",
        "failed to connect to beta:3632: Connection refused",
    );
    event(
        state,
        EventKind::Local,
        "gamma:3632",
        "x.c",
        "distccd refuses '-fplugin=evil.so': plugins are not allowed",
    );

    let mut src = Sources::new(state, None);
    let t0 = SystemTime::now();
    src.refresh(t0).unwrap();
    // Two jobs end: one file disappears, one reaches Done.
    std::fs::remove_file(state.join(format!("binstate_{}", p.pid(2)))).unwrap();
    put(state, p.pid(0), Phase::Done, "a.c", "alpha", 0);
    src.refresh(t0 + Duration::from_secs(2)).unwrap();

    let dir = state.display().to_string();
    let view = View {
        model: &src.model,
        helpers: &[],
        farm: &[],
        dir: &dir,
        live: true,
    };
    let text = draw_text(&view, 120, 40);
    //                      HOST     Blk  Con  Cpp  Send Comp Recv RUN DONE/MIN
    assert_eq!(
        row_words(&text, "alpha")[..9],
        ["alpha", "0", "0", "0", "0", "1", "0", "1", "1"],
        "{text}"
    );
    assert_eq!(
        row_words(&text, "beta")[..9],
        ["beta", "0", "0", "1", "0", "0", "0", "1", "1"],
        "{text}"
    );
    // The last minute in 5-second bars: both finished jobs are in the newest bucket.
    assert!(text.contains("[           █]"), "{text}");
    assert_eq!(
        row_words(&text, "(no")[..10],
        ["(no", "host", "yet)", "1", "0", "0", "0", "0", "0", "1"],
        "{text}"
    );
    // beta's backoff counts as its failure (the last column).
    assert_eq!(row_words(&text, "beta").last(), Some(&"1"), "{text}");
    assert!(text.contains("3 running  2 done/min"), "{text}");
    assert!(text.contains("q: quit"));
    // The jobs running now.
    assert_eq!(
        row_words(&text, &p.pid(1).to_string()),
        [
            p.pid(1).to_string().as_str(),
            "b.c",
            "alpha[1]",
            "Compile",
            "2s"
        ]
    );
    assert_eq!(
        row_words(&text, &p.pid(3).to_string())[1..4],
        ["d.c", "-", "Blocked"]
    );
    // Failures and fallbacks, newest first, with their reasons.
    let refused = text
        .find("distccd refuses '-fplugin=evil.so': plugins are not allowed")
        .expect(&text);
    let backoff = text
        .find("failed to connect to beta:3632: Connection refused")
        .expect(&text);
    assert!(refused < backoff, "newest first:\n{text}");
    assert_eq!(row_words(&text, "2s")[1..4], ["local", "gamma:3632", "x.c"]);
}

#[test]
fn helpers_panel_and_once_text() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    for i in 0..30 {
        event(
            state,
            EventKind::Local,
            "",
            &format!("f{i}.c"),
            "no usable host",
        );
    }
    let mut src = Sources::new(state, None);
    src.refresh(SystemTime::now()).unwrap();
    let helpers = [
        Helper {
            addr: "127.0.0.1:3633".into(),
            last: Some(Ok(DaemonStats {
                current_load: 3,
                max_kids: 8,
                compile_ok: 120,
                compile_error: 4,
                load1: 1.5,
                ..DaemonStats::default()
            })),
            when: None,
        },
        Helper {
            addr: "127.0.0.1:9".into(),
            last: Some(Err("connect: Connection refused".into())),
            when: None,
        },
    ];
    let view = View {
        model: &src.model,
        helpers: &helpers,
        farm: &[],
        dir: "/d/state",
        live: false,
    };
    let text = render_text(&view, 100);
    assert_eq!(
        row_words(&text, "127.0.0.1:3633"),
        ["127.0.0.1:3633", "3/8", "120", "4", "0", "0", "0", "1.50"],
        "{text}"
    );
    assert!(
        text.contains("127.0.0.1:9") && text.contains("Connection refused"),
        "{text}"
    );
    assert!(text.contains("no jobs running"), "{text}");
    assert!(!text.contains("q: quit"), "no key help in --once");
    // --once is as tall as its content: all panels, the newest 20 events.
    assert!(text.contains("f29.c") && text.contains("f10.c"), "{text}");
    assert!(!text.contains("f9.c"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100));
    assert!(text.lines().last().unwrap().starts_with('└'));
}

#[test]
fn tiny_terminals_do_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Sleepers::new(1);
    put(tmp.path(), p.pid(0), Phase::Compile, "a.c", "alpha", 0);
    event(tmp.path(), EventKind::Backoff, "alpha", "a.c", "timeout");
    let mut src = Sources::new(tmp.path(), None);
    src.refresh(SystemTime::now()).unwrap();
    let view = View {
        model: &src.model,
        helpers: &[],
        farm: &[],
        dir: "d",
        live: true,
    };
    for (w, h) in [(1, 1), (20, 5), (40, 10), (80, 12), (200, 3)] {
        let text = draw_text(&view, w, h);
        assert_eq!(text.lines().count(), usize::from(h));
    }
    assert!(draw_text(&view, 80, 12).starts_with("distccmon-top"));
    // Narrow: short phase titles, no bars, the host name still readable.
    let text = draw_text(&view, 80, 24);
    assert!(text.contains("HOST") && text.contains("Comp") && !text.contains("LAST MINUTE"));
    assert_eq!(
        row_words(&text, "alpha"),
        ["alpha", "0", "0", "0", "0", "1", "0", "1", "0", "1"],
        "{text}"
    );
}
