//! Running `distccmon-top`: reading the sources each tick into the [`Model`], and either the
//! live terminal loop or one plain-text frame (`--once`).
//!
//! The live loop redraws when the data is refreshed (every `--interval`) and when the terminal
//! is resized; in between it sleeps in `poll` on the terminal, waking for keys and signals.
//! `q`, Esc and Ctrl-C quit; so do SIGTERM and SIGHUP, and a terminal that hangs up (exit 1,
//! "the terminal went away"). The terminal is restored on every way out, including a panic
//! (ratatui's `init` installs a hook that restores it first).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use dcc_common::log::{self, Level, Logger, Sink};
use dcc_state::{EventTail, STATE_PREFIX, StateError, read_states};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::{DefaultTerminal, Terminal};

use super::farm::{Farm, FarmRow};
use super::model::Model;
use super::stats::{self, Helper, Poller};
use super::ui::{View, draw, frame_height};

const PROG: &str = "distccmon-top";
/// Width of a `--once` frame when stdout is not a terminal and `--width` is not given.
pub const DEFAULT_WIDTH: u16 = 120;
/// The longest the live loop sleeps before looking at the quit flag.
const WAKE: Duration = Duration::from_millis(250);

/// What the monitor reads, and what it has made of it.
#[derive(Debug)]
pub struct Sources {
    state_dir: PathBuf,
    tail: EventTail,
    pub model: Model,
    farm: Option<Farm>,
    /// The farm panel as of the last refresh.
    pub farm_rows: Vec<FarmRow>,
}

impl Sources {
    pub fn new(state_dir: &Path, farm: Option<Farm>) -> Sources {
        Sources {
            state_dir: state_dir.to_owned(),
            tail: EventTail::new(state_dir),
            model: Model::new(),
            farm,
            farm_rows: Vec::new(),
        }
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Read the state files and the new events into the model.
    pub fn refresh(&mut self, now: SystemTime) -> Result<(), StateError> {
        let states = read_states(&self.state_dir, now)?;
        let dir = &self.state_dir;
        // Only for pids not seen before: the file's mtime is when its current phase began,
        // which is as close to the job's start as the file tells.
        self.model.observe(now, &states, |pid| {
            std::fs::metadata(dir.join(format!("{STATE_PREFIX}{pid}")))
                .and_then(|m| m.modified())
                .ok()
        });
        let events = self.tail.poll()?;
        self.model.add_events(events);
        if let Some(farm) = &self.farm {
            let counters = dcc_state::read_counters(&self.state_dir)?;
            self.farm_rows = farm.rows(&self.model, &counters, now);
        }
        Ok(())
    }
}

/// One frame, `width` columns wide and as tall as its content, as text lines without
/// trailing spaces.
pub fn render_text(v: &View<'_>, width: u16) -> String {
    let height = frame_height(v);
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    if terminal.draw(|f| draw(f, v)).is_err() {
        return String::new();
    }
    buffer_text(terminal.backend().buffer())
}

/// A buffer's cells as lines of text, trailing spaces removed.
pub fn buffer_text(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell((x, y)) {
                line.push_str(cell.symbol());
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `--once`: read everything once (helpers in parallel) and print one frame.
pub fn once(
    state_dir: &Path,
    helpers: &[String],
    farm: Option<Farm>,
    width: u16,
    out: &mut dyn Write,
) -> Result<(), StateError> {
    let mut src = Sources::new(state_dir, farm);
    src.refresh(SystemTime::now())?;
    let helpers = stats::fetch_all(helpers, stats::TIMEOUT);
    let dir = state_dir.display().to_string();
    let view = View {
        model: &src.model,
        helpers: &helpers,
        farm: &src.farm_rows,
        dir: &dir,
        live: false,
    };
    // A closed pipe is not an error worth reporting.
    let _ = out
        .write_all(render_text(&view, width).as_bytes())
        .and_then(|()| out.flush());
    Ok(())
}

/// Why the live monitor stopped other than by the user's choice.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
    #[error("the terminal went away")]
    TerminalGone,
}

static QUIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    QUIT.store(true, Ordering::Relaxed);
}

/// The live monitor: take over the terminal until the user quits. `quiet`: log nowhere while
/// the screen is ours (the log goes to stderr), and to stderr again afterwards.
pub fn live(
    state_dir: &Path,
    helpers: &[String],
    farm: Option<Farm>,
    interval: Duration,
    quiet: bool,
) -> Result<(), LiveError> {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    }
    let mut src = Sources::new(state_dir, farm);
    // Read once before taking the terminal, so a bad directory is reported on a sane screen.
    src.refresh(SystemTime::now())?;
    let poller = (!helpers.is_empty()).then(|| Poller::spawn(helpers, interval));
    if quiet {
        log::init(Logger::new(PROG, Level::Warning, Sink::Null));
    }
    let result = match ratatui::try_init() {
        Ok(mut terminal) => {
            let r = run_loop(&mut terminal, &mut src, poller.as_ref(), interval);
            ratatui::restore();
            r
        }
        Err(e) => {
            // Raw mode may be on even if the alternate screen failed.
            let _ = ratatui::try_restore();
            Err(e.into())
        }
    };
    if quiet {
        log::init(Logger::new(PROG, Level::Warning, Sink::Stderr));
    }
    result
}

fn run_loop(
    terminal: &mut DefaultTerminal,
    src: &mut Sources,
    poller: Option<&Poller>,
    interval: Duration,
) -> Result<(), LiveError> {
    let dir = src.state_dir().display().to_string();
    let mut next = Instant::now() + interval;
    let mut dirty = true;
    let mut helpers: Vec<Helper> = Vec::new();
    // A terminal that went away (its emulator killed, an ssh session dropped, without a
    // SIGHUP reaching us) is hung up: reads from it return end-of-file at once, forever.
    // crossterm 0.29 then loops inside `event::poll` reading nothing and never returns
    // (measured: 100% CPU, strace shows read(0) = 0 without end), and a redraw of an
    // unchanged screen writes nothing, so no error ever comes. So we wait on the terminal
    // ourselves and hand crossterm only input that is there: a hang-up ends the loop.
    let input = Input::open();
    loop {
        if QUIT.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = Instant::now();
        if now >= next {
            src.refresh(SystemTime::now())?;
            // Keep the beat: a slow refresh does not pile up ticks.
            next += interval;
            if next <= now {
                next = now + interval;
            }
            dirty = true;
        }
        if dirty {
            if let Some(p) = poller {
                helpers = p.snapshot();
            }
            let view = View {
                model: &src.model,
                helpers: &helpers,
                farm: &src.farm_rows,
                dir: &dir,
                live: true,
            };
            terminal.draw(|f| draw(f, &view))?;
            dirty = false;
        }
        let wait = next.saturating_duration_since(Instant::now()).min(WAKE);
        if input.wait(wait) == Waited::HungUp {
            return Err(LiveError::TerminalGone);
        }
        // Keys, and resizes (crossterm's SIGWINCH handler interrupts our wait).
        while event::poll(Duration::ZERO)? {
            match event::read()? {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                    let ctrl_c =
                        k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) {
                        return Ok(());
                    }
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}

/// The terminal the keys come from, as crossterm picks it: standard input when that is a
/// terminal, else `/dev/tty` (opened here too, only to be polled).
struct Input {
    fd: libc::c_int,
    _tty: Option<std::fs::File>,
}

impl Input {
    fn open() -> Input {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } == 1 {
            return Input {
                fd: libc::STDIN_FILENO,
                _tty: None,
            };
        }
        match std::fs::File::open("/dev/tty") {
            Ok(f) => Input {
                fd: std::os::fd::AsRawFd::as_raw_fd(&f),
                _tty: Some(f),
            },
            // No terminal to watch (crossterm would have failed first).
            Err(_) => Input { fd: -1, _tty: None },
        }
    }

    /// Wait up to `timeout` for input, a signal, or the terminal hanging up (its other side
    /// closed: POLLHUP, POLLERR or POLLNVAL).
    fn wait(&self, timeout: Duration) -> Waited {
        if self.fd < 0 {
            std::thread::sleep(timeout);
            return Waited::Other;
        }
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n == 1 && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            Waited::HungUp
        } else {
            Waited::Other
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Waited {
    /// Input, a signal, or the timeout.
    Other,
    HungUp,
}
