//! `distccmon-top` end to end: real compiles through our client against refusing daemons
//! leave events that `--once` shows with their reasons, and the live screen in tmux shows
//! jobs, redraws, quits on `q` and gives the terminal back. Needs our `distcc` and `distccd`
//! built (`cargo build --workspace`); the tmux test needs tmux (`apt-get install tmux`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dcc_state::{EventKind, Phase, TaskState, encode_state, read_events};
use dcc_testkit::client;
use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World};

const TOP: &str = env!("CARGO_BIN_EXE_distccmon-top");

fn top_once(w: &World, extra: &[&str]) -> String {
    let o: Output = Command::new(TOP)
        .arg("--once")
        .args(extra)
        .env_clear()
        .env("DISTCC_DIR", w.path("distcc_dir"))
        // No farm panel from the machine's /etc/distcc/hosts (tests/farm.rs tests it).
        .env("DISTCC_HOSTS", "")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run distccmon-top");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit {:?}: {err}", o.status);
    String::from_utf8(o.stdout).expect("utf-8 frame")
}

#[test]
fn refusals_reach_the_event_log_and_the_once_frame() {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 2; }\n");
    // A daemon that refuses one option (113, with its reason in SERR).
    let picky = Daemon::ours(&w);
    let mut c = client::ours(&w, &picky.host());
    c.args(["gcc", "-aux-info=aux.txt", "-c", "x.c", "-o", "x.o"]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A daemon whose access list does not include us: it closes without a word.
    let mut opts = DaemonOptions::new(DaemonKind::Ours);
    opts.allow = vec!["127.0.0.2".into()];
    let closed = Daemon::start(&w, opts);
    let mut c = client::ours(&w, &closed.host());
    c.args(["gcc", "-c", "x.c", "-o", "x2.o"]);
    let o = c.output().unwrap();
    let warning = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{warning}");
    assert!(w.path("src/x.o").exists() && w.path("src/x2.o").exists());

    let events = read_events(&w.path("distcc_dir/state")).unwrap();
    let kinds: Vec<(EventKind, &str)> = events.iter().map(|e| (e.kind, &*e.host)).collect();
    let (p, c) = (picky.host(), closed.host());
    assert_eq!(
        kinds,
        [
            (EventKind::Failed, p.as_str()),
            (EventKind::Local, p.as_str()),
            (EventKind::Backoff, c.as_str()),
            (EventKind::Local, c.as_str()),
        ]
    );
    assert!(
        events[0]
            .reason
            .contains("distccd refuses '-aux-info=aux.txt'")
    );
    // The reason of the silent refusal is the client's own warning text.
    let reason = &events[2].reason;
    assert!(
        !reason.is_empty() && warning.contains(reason.as_str()),
        "{reason:?} / {warning}"
    );

    let frame = top_once(&w, &["--width", "160"]);
    assert!(
        frame.contains("distccd refuses '-aux-info=aux.txt'"),
        "{frame}"
    );
    assert!(frame.contains(reason.as_str()), "{frame}");
    // Each host failure and the fallback after it are one row.
    assert!(
        frame.contains(&c) && frame.contains("backoff→local"),
        "{frame}"
    );
    assert!(frame.contains("failed→local"), "{frame}");
    // 127.0.0.1 had one host failure counted against it (the backoff; 113 counts too).
    let row: Vec<&str> = frame
        .lines()
        .find(|l| l.trim_start_matches('│').starts_with("127.0.0.1 "))
        .expect(&frame)
        .trim_matches('│')
        .split_whitespace()
        .collect();
    assert_eq!(row.last(), Some(&"2"), "{frame}");
}

#[test]
fn once_polls_a_stats_port() {
    let w = World::new();
    let mut opts = DaemonOptions::new(DaemonKind::Ours);
    opts.stats = true;
    opts.jobs = Some(3);
    let d = Daemon::start(&w, opts);
    let addr = format!("127.0.0.1:{}", d.stats_port.expect("stats port"));
    let frame = top_once(&w, &["--stats", &addr]);
    let row: Vec<&str> = frame
        .lines()
        .find(|l| l.contains(&addr))
        .expect(&frame)
        .trim_matches('│')
        .split_whitespace()
        .collect();
    assert_eq!(row[..3], [addr.as_str(), "0/3", "0"], "{frame}");
}

/// A tmux server of our own (its socket in the world), killed on drop.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().expect("run tmux");
        assert!(
            o.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "top"])
    }

    /// Capture until `pred` holds (at most 15 s).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn put_state(state: &Path, pid: u32, phase: Phase, file: &str, host: &str) {
    let s = TaskState {
        pid,
        file: file.into(),
        host: host.into(),
        slot: 0,
        phase,
    };
    std::fs::write(state.join(format!("binstate_{pid}")), encode_state(&s)).unwrap();
}

#[test]
fn live_screen_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed (apt-get install tmux): skipping the live-screen test");
        return;
    }
    let w = World::new();
    let state = w.path("distcc_dir/state");
    std::fs::create_dir_all(&state).unwrap();
    let tmux = Tmux {
        socket: w.path("tmux.sock"),
    };
    let status_file = w.path("status");
    let command = format!(
        "env -i DISTCC_DIR={} TERM=tmux-256color {TOP} -i 0.2; echo $? > {}",
        w.path("distcc_dir").display(),
        status_file.display()
    );
    tmux.run(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "120",
        "-y",
        "40",
    ]);
    tmux.run(&["set-option", "-t", "top", "remain-on-exit", "on"]);
    tmux.run(&["respawn-pane", "-k", "-t", "top", &command]);
    tmux.wait_for("the first frame", |s| {
        s.contains("distccmon-top") && s.contains("no jobs running")
    });
    // A resize redraws the frame at the new width.
    tmux.run(&["resize-window", "-t", "top", "-x", "100", "-y", "30"]);
    tmux.wait_for("the frame redrawn 100 columns wide", |s| {
        let widest = s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        widest == 100 && s.contains("no jobs running")
    });

    // A job appears (its owner must be alive: a sleep), then finishes.
    let mut owner = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = owner.id();
    put_state(&state, pid, Phase::Compile, "live.c", "helper1");
    let screen = tmux.wait_for("the job", |s| s.contains("live.c"));
    assert!(screen.contains("helper1[0]"), "{screen}");
    std::fs::remove_file(state.join(format!("binstate_{pid}"))).unwrap();
    let _ = owner.kill();
    let _ = owner.wait();
    tmux.wait_for("the finished job counted", |s| {
        s.contains("0 running  1 done/min") && !s.contains("live.c")
    });
    // An event appears with its reason.
    dcc_state::append_event(
        &state,
        &dcc_state::Event::now(
            EventKind::Backoff,
            "helper1:3632",
            "w.c",
            "timeout while connecting",
        ),
    )
    .unwrap();
    tmux.wait_for("the event", |s| s.contains("timeout while connecting"));

    // q quits with status 0 and leaves the alternate screen. (The status comes from the
    // wrapping shell: tmux sometimes leaves a dead pane's process unreaped for a while.)
    tmux.run(&["send-keys", "-t", "top", "q"]);
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match std::fs::read_to_string(&status_file) {
            Ok(s) if s.ends_with('\n') => break s,
            _ => {}
        }
        assert!(Instant::now() < end, "distccmon-top did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.trim(), "0", "exit status");
    let screen = tmux.capture();
    assert!(
        !screen.contains("distccmon-top"),
        "the screen was given back:\n{screen}"
    );
}

/// A terminal that goes away without a SIGHUP reaching us (the emulator's side of the pty
/// closed; we are not in its session, so the kernel signals nobody): the input then polls
/// ready forever with nothing to read, and a redraw of an unchanged screen writes nothing.
/// distccmon-top must leave with an error, not spin.
#[test]
fn a_vanished_terminal_ends_the_live_screen() {
    let w = World::new();
    std::fs::create_dir_all(w.path("distcc_dir/state")).unwrap();
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the given ints; the name and termios
    // arguments may be null, and the window size is read only.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // openpty's descriptors are inherited across exec: a child holding the terminal's side
    // would keep the terminal alive.
    for fd in [master, slave] {
        // SAFETY: fcntl on descriptors we own.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
            0
        );
    }
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: both descriptors were just opened by openpty and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // A long interval: no refresh in the test's time, so nothing is drawn that could fail on
    // the dead terminal; only noticing the hang-up itself ends the program.
    let mut top = Command::new(TOP)
        .args(["-i", "60"])
        .env_clear()
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("TERM", "xterm")
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::from(slave.try_clone().unwrap()))
        .stdout(std::process::Stdio::from(slave))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start distccmon-top");
    // Wait for the first frame on the terminal and for the terminal to fall quiet (the frame
    // written whole), then close the terminal's side.
    let mut screen = std::fs::File::from(master);
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let framed = String::from_utf8_lossy(&seen).contains("no jobs running");
        let mut p = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&screen),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut p, 1, 500) };
        if ready == 0 && framed {
            break;
        }
        assert!(
            Instant::now() < end,
            "no first frame: {:?}",
            String::from_utf8_lossy(&seen)
        );
        if ready == 1 {
            let mut buf = [0u8; 4096];
            let n = std::io::Read::read(&mut screen, &mut buf).expect("read the terminal");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    drop(screen);
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = top.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = top.kill();
            let _ = top.wait();
            panic!("distccmon-top still runs 20 s after its terminal went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut top.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "exit {status:?}: {err}");
    assert!(
        err.contains("distccmon-top:"),
        "the reason is said: {err:?}"
    );
}
