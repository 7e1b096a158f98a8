//! The two implementations side by side, and their daemons.
//!
//! [`Impl`] names whose binary runs; [`Bins`] finds them (ours from the build, Debian's from
//! /usr/bin). [`Daemon::start`] runs a distccd as a helper does (`--no-detach --daemon`, an
//! access list, `--jobs`, a log at info level so every job's summary line can be counted) in
//! its own process group, from a [`Command`] the caller made: a plain one for 127.0.0.1, or
//! one that enters a farm host's network namespace.
//!
//! Both daemons run with the same environment: `PATH` (plus a directory of stand-in compilers
//! if given) and `TMPDIR`. Ours reads its whitelist from `DISTCC_RS_WHITELIST_DIR`, a directory
//! of links made here; Debian's always reads /usr/lib/distcc.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result, io};
use crate::measure::{Rss, tree_rss};

/// Whose binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// distcc-rs (this workspace).
    Ours,
    /// Debian's distcc 3.4.
    Debian,
}

impl Impl {
    /// The label used in results: `ours` or `distcc`.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Debian => "distcc",
        }
    }

    pub const BOTH: [Impl; 2] = [Impl::Ours, Impl::Debian];
}

/// Compiler names both daemons must accept: the native gcc under the names distcc's client
/// rewrites it to, and the farm's stand-in.
pub const WHITELIST: &[&str] = &[
    "gcc",
    "cc",
    "g++",
    "c++",
    "x86_64-linux-gnu-gcc",
    "x86_64-linux-gnu-g++",
    crate::farm::STANDIN,
];

/// The four binaries.
#[derive(Debug, Clone)]
pub struct Bins {
    pub ours_client: PathBuf,
    pub ours_daemon: PathBuf,
    pub debian_client: PathBuf,
    pub debian_daemon: PathBuf,
}

impl Bins {
    /// Ours from `dir`, Debian's from /usr/bin; an error names what is missing.
    pub fn find(dir: &Path) -> Result<Bins> {
        let b = Bins {
            ours_client: dir.join("distcc"),
            ours_daemon: dir.join("distccd"),
            debian_client: PathBuf::from("/usr/bin/distcc"),
            debian_daemon: PathBuf::from("/usr/bin/distccd"),
        };
        for (p, hint) in [
            (&b.ours_client, "cargo build --release --bins"),
            (&b.ours_daemon, "cargo build --release --bins"),
            (&b.debian_client, "apt-get install -y distcc"),
            (&b.debian_daemon, "apt-get install -y distcc"),
        ] {
            if !p.exists() {
                return Err(BenchError::step(
                    "binaries",
                    format!("{} is missing ({hint})", p.display()),
                ));
            }
        }
        Ok(b)
    }

    pub fn client(&self, i: Impl) -> &Path {
        match i {
            Impl::Ours => &self.ours_client,
            Impl::Debian => &self.debian_client,
        }
    }

    pub fn daemon(&self, i: Impl) -> &Path {
        match i {
            Impl::Ours => &self.ours_daemon,
            Impl::Debian => &self.debian_daemon,
        }
    }
}

/// Make `dir` (mode 1777, so a daemon that dropped root can write) and return it.
pub fn shared_dir(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(io(format!("mkdir {}", dir.display())))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
        .map_err(io(format!("chmod {}", dir.display())))?;
    Ok(dir.to_path_buf())
}

/// Our daemon's whitelist directory under `work` (links to /usr/bin/distcc, as Debian's
/// update-distcc-symlinks makes them; only their names matter).
pub fn whitelist_dir(work: &Path) -> Result<PathBuf> {
    let dir = work.join("whitelist");
    std::fs::create_dir_all(&dir).map_err(io("mkdir whitelist"))?;
    for n in WHITELIST {
        let l = dir.join(n);
        if std::fs::symlink_metadata(&l).is_err() {
            std::os::unix::fs::symlink("/usr/bin/distcc", &l).map_err(io("whitelist link"))?;
        }
    }
    Ok(dir)
}

/// How to start a daemon.
#[derive(Debug, Clone)]
pub struct DaemonSpec {
    pub imp: Impl,
    pub port: u16,
    /// `--listen` address (None: all addresses of the namespace).
    pub listen: Option<String>,
    pub allow: String,
    pub jobs: usize,
    pub log: PathBuf,
    pub tmp: PathBuf,
    pub whitelist: PathBuf,
    /// A directory put first on the daemon's PATH (stand-in compilers).
    pub extra_path: Option<PathBuf>,
    /// More options (our secure transport's keys).
    pub extra_args: Vec<String>,
}

/// Options of [`Daemon::loopback`] beyond the implementation.
#[derive(Debug, Clone, Default)]
pub struct LoopOpts {
    pub jobs: usize,
    /// Names the log file.
    pub tag: String,
    pub extra_path: Option<PathBuf>,
    pub extra_args: Vec<String>,
}

impl LoopOpts {
    pub fn new(jobs: usize, tag: &str) -> LoopOpts {
        LoopOpts {
            jobs,
            tag: tag.to_owned(),
            ..LoopOpts::default()
        }
    }
}

/// A running daemon, stopped (its whole process group) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub imp: Impl,
    pub port: u16,
    pub log: PathBuf,
    exe: PathBuf,
}

/// Where every started daemon's process group is recorded, so that bench/run.sh can stop them
/// if this harness is interrupted before its own clean-up runs.
static PID_FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Record started daemons' process groups in `path` (one per line).
pub fn record_pids_in(path: PathBuf) {
    let _ = PID_FILE.set(path);
}

fn record_pid(pid: u32) {
    if let Some(p) = PID_FILE.get() {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            let _ = writeln!(f, "{pid}");
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("bind 127.0.0.1:0"))?;
    Ok(l.local_addr().map_err(io("local_addr"))?.port())
}

impl Daemon {
    /// A daemon on 127.0.0.1 with a free port, TMPDIR and log under `work`.
    pub fn loopback(bins: &Bins, imp: Impl, work: &Path, o: &LoopOpts) -> Result<Daemon> {
        let mut last = None;
        // The port can be taken between probing and binding: try a few.
        for _ in 0..5 {
            let port = free_port()?;
            let spec = DaemonSpec {
                imp,
                port,
                listen: Some("127.0.0.1".into()),
                allow: "127.0.0.1".into(),
                jobs: o.jobs,
                log: shared_dir(&work.join("logs"))?.join(format!(
                    "{}-{}-{port}.log",
                    o.tag,
                    imp.label()
                )),
                tmp: shared_dir(&work.join("tmp"))?,
                whitelist: whitelist_dir(work)?,
                extra_path: o.extra_path.clone(),
                // Only ours knows them.
                extra_args: if imp == Impl::Ours {
                    o.extra_args.clone()
                } else {
                    Vec::new()
                },
            };
            match Daemon::start(bins, &spec, Command::new(bins.daemon(imp))) {
                Ok(d) => return Ok(d),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| BenchError::step("daemon", "never started")))
    }

    /// Start a daemon from `cmd` (whose program is the daemon binary) and wait until it
    /// listens.
    pub fn start(bins: &Bins, spec: &DaemonSpec, mut cmd: Command) -> Result<Daemon> {
        let _ = std::fs::remove_file(&spec.log);
        cmd.args(["--no-detach", "--daemon", "--port", &spec.port.to_string()])
            .args(["--allow", &spec.allow])
            .args(["--jobs", &spec.jobs.to_string()])
            .arg("--log-file")
            .arg(&spec.log)
            .args(["--log-level", "info"]);
        if let Some(l) = &spec.listen {
            cmd.args(["--listen", l]);
        }
        cmd.args(&spec.extra_args);
        let mut path = String::new();
        if let Some(p) = &spec.extra_path {
            path.push_str(&p.to_string_lossy());
            path.push(':');
        }
        path.push_str("/usr/local/bin:/usr/bin:/bin");
        cmd.env_clear().env("PATH", path).env("TMPDIR", &spec.tmp);
        if spec.imp == Impl::Ours {
            cmd.env("DISTCC_RS_WHITELIST_DIR", &spec.whitelist);
        }
        let stderr_path = spec.log.with_extension("stderr");
        let stderr = std::fs::File::create(&stderr_path).map_err(io("daemon stderr file"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0);
        let child = cmd.spawn().map_err(io("spawn distccd"))?;
        record_pid(child.id());
        let mut d = Daemon {
            child,
            imp: spec.imp,
            port: spec.port,
            log: spec.log.clone(),
            exe: bins.daemon(spec.imp).to_path_buf(),
        };
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = d.child.try_wait() {
                return Err(BenchError::step(
                    format!("{} distccd on port {}", spec.imp.label(), spec.port),
                    format!(
                        "exited with {st} before listening: {}{}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                        d.log_text()
                    ),
                ));
            }
            if d.log_text().contains("listening on") {
                return Ok(d);
            }
            if start.elapsed() > Duration::from_secs(20) {
                return Err(BenchError::step(
                    format!("{} distccd on port {}", spec.imp.label(), spec.port),
                    format!("not listening after 20 s: {}", d.log_text()),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Job summaries with `result` (`COMPILE_OK`, ...) in the log so far.
    pub fn count(&self, result: &str) -> usize {
        count_results(&self.log_text(), result)
    }

    /// Wait (up to `limit`) until the log holds at least `n` summaries with `result`: a daemon
    /// writes the summary after its reply, so the client can be done first. Returns the count.
    pub fn wait_count(&self, result: &str, n: usize, limit: Duration) -> usize {
        let start = Instant::now();
        loop {
            let c = self.count(result);
            if c >= n || start.elapsed() > limit {
                return c;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The daemon's resident memory (all its processes).
    pub fn rss(&self) -> Rss {
        tree_rss(self.child.id(), &self.exe)
    }

    /// Ask the daemon to stop (SIGTERM to its group) without waiting; drop reaps it.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the process group we created for our own child.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
        }
    }

    /// `kill -9` the daemon's process group (Debian's workers too) and reap it.
    pub fn kill9(&mut self) {
        // SAFETY: kill(2) on the process group we created for our own child.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: kill(2) on the process group we created for our own child.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Count job summary lines (`... client: IP:PORT RESULT exit:...`) with `result`.
pub fn count_results(log: &str, result: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.split_once(" client: ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                == Some(result)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_counted() {
        let log = "distccd[1] (dcc_job_summary) client: 127.0.0.1:5 COMPILE_OK exit:0 sig:0 \
                   core:0 ret:0 time:20ms gcc a.c\n\
                   distccd[1] (dcc_job_summary) client: 127.0.0.1:6 OTHER exit:110 sig:0 \
                   core:0 ret:110 time:1ms\n\
                   distccd[1] (x) listening on 127.0.0.1:4000\n\
                   distccd[2] (dcc_job_summary) client: 127.0.0.1:7 COMPILE_OK exit:0\n";
        assert_eq!(count_results(log, "COMPILE_OK"), 2);
        assert_eq!(count_results(log, "OTHER"), 1);
        assert_eq!(count_results(log, "COMPILE_ERROR"), 0);
    }

    #[test]
    fn labels() {
        assert_eq!(Impl::Ours.label(), "ours");
        assert_eq!(Impl::Debian.label(), "distcc");
    }
}
