//! distcc's log format (src/trace.c): `<prog>[<pid>] (<function>) <SEVERITY><message>`.
//!
//! The severity prefix is `EMERGENCY! `, `ALERT! `, `CRITICAL! `, `ERROR: `, `Warning: ` or
//! nothing (notice, info, debug). Lines logged without a function (distcc's `RS_LOG_NONAME`) omit
//! `(<function>) `. One process has one global [`Logger`]; the macros below write through it.
//!
//! This is deliberately not `tracing`: the client starts once per compile and its whole budget
//! is well under a millisecond, and both binaries need distcc's exact line shape, function names
//! included, rather than a structured-event layout.

use std::ffi::CString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Severity, most severe first (syslog's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    /// The prefix distcc writes before the message.
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Emergency => "EMERGENCY! ",
            Level::Alert => "ALERT! ",
            Level::Critical => "CRITICAL! ",
            Level::Error => "ERROR: ",
            Level::Warning => "Warning: ",
            Level::Notice | Level::Info | Level::Debug => "",
        }
    }

    /// Parse a `--log-level` name as distcc's `rs_loglevel_from_name` does.
    pub fn from_name(name: &str) -> Option<Level> {
        Some(match name {
            "emerg" | "emergency" => Level::Emergency,
            "alert" => Level::Alert,
            "crit" | "critical" => Level::Critical,
            "err" | "error" => Level::Error,
            "warn" | "warning" => Level::Warning,
            "note" | "notice" => Level::Notice,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => return None,
        })
    }

    fn syslog_priority(self) -> libc::c_int {
        self as libc::c_int
    }
}

/// Where log lines go.
#[derive(Debug)]
pub enum Sink {
    /// Standard error.
    Stderr,
    /// An open file: an inherited descriptor (`UNCACHED_ERR_FD`).
    File(File),
    /// A file opened by name for append (`--log-file`, `DISTCC_LOG`): [`reopen`] opens the name
    /// again, after logrotate has moved the file away.
    Named { file: File, path: PathBuf },
    /// syslog with the daemon facility, as distccd does by default.
    Syslog,
    /// Nowhere.
    Null,
}

impl Sink {
    /// Open `path` for appending, creating it (mode 0666 & ~umask, as `open(2)` in distcc).
    pub fn append_file(path: &Path) -> io::Result<Sink> {
        Ok(Sink::Named {
            file: open_append(path)?,
            path: path.to_owned(),
        })
    }

    /// An inherited descriptor (`UNCACHED_ERR_FD`). The descriptor is duplicated, so the
    /// caller's copy stays open.
    pub fn fd(fd: RawFd) -> io::Result<Sink> {
        // SAFETY: dup of an arbitrary number is sound; it fails with EBADF if not open.
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is a fresh descriptor that we own.
        Ok(Sink::File(unsafe { File::from_raw_fd(dup) }))
    }

    /// Open syslog as `ident` with the daemon facility.
    pub fn syslog(ident: &str) -> Sink {
        let ident = CString::new(ident).unwrap_or_default();
        // openlog keeps the pointer: leak the one ident a process ever uses.
        let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
        // SAFETY: ident lives for the rest of the process.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
        Sink::Syslog
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).open(path)
}

/// A process's logger: program name, threshold and sink.
#[derive(Debug)]
pub struct Logger {
    prog: &'static str,
    pid: u32,
    level: Level,
    sink: Sink,
}

impl Logger {
    pub fn new(prog: &'static str, level: Level, sink: Sink) -> Logger {
        Logger {
            prog,
            pid: std::process::id(),
            level,
            sink,
        }
    }

    /// Whether a message at `level` would be written.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level && !matches!(self.sink, Sink::Null)
    }

    /// Format one line as distcc does, without the trailing newline.
    pub fn format_line(
        prog: &str,
        pid: u32,
        level: Level,
        func: Option<&str>,
        msg: fmt::Arguments<'_>,
    ) -> String {
        use fmt::Write as _;
        let mut line = String::with_capacity(96);
        let _ = write!(line, "{prog}[{pid}] ");
        if let Some(func) = func {
            let _ = write!(line, "({func}) ");
        }
        line.push_str(level.prefix());
        let _ = line.write_fmt(msg);
        line
    }

    /// Write one message. Errors writing the log are ignored: there is nowhere to report them.
    pub fn log(&mut self, level: Level, func: Option<&str>, msg: fmt::Arguments<'_>) {
        if !self.enabled(level) {
            return;
        }
        // The pid may change after a fork (daemon mode): read it per line, it is a cheap call.
        self.pid = std::process::id();
        match &mut self.sink {
            Sink::Syslog => {
                let mut body = String::new();
                if let Some(func) = func {
                    body.push_str(&format!("({func}) "));
                }
                body.push_str(level.prefix());
                body.push_str(&msg.to_string());
                let body = CString::new(body.replace('\0', "?")).unwrap_or_default();
                // SAFETY: "%s" with one NUL-terminated string argument.
                unsafe { libc::syslog(level.syslog_priority(), c"%s".as_ptr(), body.as_ptr()) };
            }
            Sink::Stderr => {
                let mut line = Self::format_line(self.prog, self.pid, level, func, msg);
                line.push('\n');
                let _ = io::stderr().lock().write_all(line.as_bytes());
            }
            Sink::File(f) | Sink::Named { file: f, .. } => {
                let mut line = Self::format_line(self.prog, self.pid, level, func, msg);
                line.push('\n');
                // One write per line: O_APPEND keeps lines of concurrent processes whole.
                let _ = f.write_all(line.as_bytes());
            }
            Sink::Null => {}
        }
    }

    /// Open a [`Sink::Named`] file again by its name (distccd on SIGHUP, after logrotate
    /// renamed it). Returns the name, or `None` for other sinks. On error the old file stays
    /// in use, so no line is lost.
    pub fn reopen(&mut self) -> io::Result<Option<PathBuf>> {
        match &mut self.sink {
            Sink::Named { file, path } => {
                *file = open_append(path)?;
                Ok(Some(path.clone()))
            }
            _ => Ok(None),
        }
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn set_level(&mut self, level: Level) {
        self.level = level;
    }
}

static GLOBAL: Mutex<Option<Logger>> = Mutex::new(None);

/// Install the process's logger, replacing any earlier one.
pub fn init(logger: Logger) {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    *g = Some(logger);
}

/// [`Logger::reopen`] on the global logger.
pub fn reopen() -> io::Result<Option<PathBuf>> {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(l) => l.reopen(),
        None => Ok(None),
    }
}

/// Whether a message at `level` would be written by the global logger.
pub fn enabled(level: Level) -> bool {
    let g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    g.as_ref().is_some_and(|l| l.enabled(level))
}

/// Write through the global logger (used by the macros). Without a logger, warnings and worse
/// go to stderr under the name `distcc`, which is what distcc does before its trace is set up.
pub fn write(level: Level, func: Option<&str>, msg: fmt::Arguments<'_>) {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(l) => l.log(level, func, msg),
        None if level <= Level::Warning => {
            let line = Logger::format_line("distcc", std::process::id(), level, func, msg);
            let _ = writeln!(io::stderr(), "{line}");
        }
        None => {}
    }
}

/// Log with a function name: `dcc_log!(Level::Warning, "dcc_build_somewhere", "x {}", y)`.
#[macro_export]
macro_rules! dcc_log {
    ($level:expr, $func:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, Some($func), format_args!($($arg)+));
        }
    };
}

/// Log without a function name (distcc's `RS_LOG_NONAME`).
#[macro_export]
macro_rules! dcc_log_noname {
    ($level:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, None, format_args!($($arg)+));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_matches_distcc() {
        let l = Logger::format_line(
            "distcc",
            9358,
            Level::Warning,
            None,
            format_args!("failed to distribute x.c to 127.0.0.1, running locally instead"),
        );
        assert_eq!(
            l,
            "distcc[9358] Warning: failed to distribute x.c to 127.0.0.1, running locally instead"
        );
        let l = Logger::format_line(
            "distcc",
            28982,
            Level::Error,
            Some("dcc_readx"),
            format_args!("unexpected eof on fd{}", 4),
        );
        assert_eq!(l, "distcc[28982] (dcc_readx) ERROR: unexpected eof on fd4");
        let l = Logger::format_line(
            "distccd",
            1,
            Level::Critical,
            Some("dcc_check_compiler_whitelist"),
            format_args!("mycc not in /usr/lib/distcc whitelist."),
        );
        assert!(l.starts_with("distccd[1] (dcc_check_compiler_whitelist) CRITICAL! mycc"));
        let l = Logger::format_line("distccd", 1, Level::Info, Some("f"), format_args!("x"));
        assert_eq!(l, "distccd[1] (f) x");
    }

    #[test]
    fn level_names_follow_distcc() {
        assert_eq!(Level::from_name("warn"), Some(Level::Warning));
        assert_eq!(Level::from_name("warning"), Some(Level::Warning));
        assert_eq!(Level::from_name("note"), Some(Level::Notice));
        assert_eq!(Level::from_name("crit"), Some(Level::Critical));
        assert_eq!(Level::from_name("emergency"), Some(Level::Emergency));
        assert_eq!(Level::from_name("loud"), None);
        assert!(Level::Error < Level::Warning);
    }

    #[test]
    fn threshold_filters_and_file_sink_appends_whole_lines() {
        let dir = std::env::temp_dir().join(format!("dcc-common-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let mut l = Logger::new("distccd", Level::Notice, Sink::append_file(&path).unwrap());
        l.log(Level::Info, Some("f"), format_args!("hidden"));
        l.log(Level::Notice, Some("f"), format_args!("shown"));
        l.log(Level::Error, None, format_args!("bad"));
        let text = std::fs::read_to_string(&path).unwrap();
        let pid = std::process::id();
        assert_eq!(
            text,
            format!("distccd[{pid}] (f) shown\ndistccd[{pid}] ERROR: bad\n")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// logrotate renames the file, then the daemon reopens: the next line goes to a new file
    /// under the old name, the earlier lines stay in the renamed one.
    #[test]
    fn reopen_after_rename_writes_to_a_new_file_by_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("distccd.log");
        let mut l = Logger::new("distccd", Level::Info, Sink::append_file(&path).unwrap());
        l.log(Level::Info, None, format_args!("before"));
        let rotated = dir.path().join("distccd.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        l.log(Level::Info, None, format_args!("still old"));
        assert_eq!(l.reopen().unwrap(), Some(path.clone()));
        l.log(Level::Info, None, format_args!("after"));
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(&rotated).unwrap(),
            format!("distccd[{pid}] before\ndistccd[{pid}] still old\n")
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("distccd[{pid}] after\n")
        );
        // A name that can no longer be opened keeps the old file.
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_dir_all(dir.path()).unwrap();
        assert!(l.reopen().is_err());
        let mut stderr = Logger::new("distccd", Level::Info, Sink::Stderr);
        assert_eq!(stderr.reopen().unwrap(), None);
    }
}
