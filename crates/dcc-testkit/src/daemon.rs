//! A distccd on 127.0.0.1 for one test: ours or Debian's, on a free port, killed on drop.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::World;
use crate::bins;

/// Which implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonKind {
    Ours,
    Debian,
}

/// A port that was free a moment ago (the daemon retries on exit code 102 if it was taken).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("addr").port()
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub kind: DaemonKind,
    pub port: u16,
    pub stats_port: Option<u16>,
    pub log: PathBuf,
    /// The daemon's stderr (its start-up messages before the log is open).
    pub stderr: PathBuf,
}

/// Options for [`Daemon::start`].
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub kind: DaemonKind,
    pub allow: Vec<String>,
    pub listen: String,
    pub jobs: Option<u32>,
    pub stats: bool,
    pub insecure: bool,
    /// Whitelist entries (ours: in the world's whitelist dir; Debian's always uses
    /// /usr/lib/distcc).
    pub whitelist: Vec<String>,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// A command that runs the daemon (its path and arguments appended) and must exec it in
    /// the same process, e.g. `unshare --mount ... sh -c '...; exec "$0" "$@"'`.
    pub wrapper: Vec<String>,
}

impl DaemonOptions {
    pub fn new(kind: DaemonKind) -> Self {
        DaemonOptions {
            kind,
            allow: vec!["127.0.0.1".into()],
            listen: "127.0.0.1".into(),
            jobs: None,
            stats: false,
            insecure: false,
            whitelist: [
                "gcc",
                "cc",
                "g++",
                "c++",
                "x86_64-linux-gnu-gcc",
                "x86_64-linux-gnu-g++",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            extra_args: Vec::new(),
            env: Vec::new(),
            wrapper: Vec::new(),
        }
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.extra_args.push(a.into());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

impl Daemon {
    /// Start ours with defaults.
    pub fn ours(world: &World) -> Daemon {
        Self::start(world, DaemonOptions::new(DaemonKind::Ours))
    }

    /// Start Debian's with defaults.
    pub fn debian(world: &World) -> Daemon {
        Self::start(world, DaemonOptions::new(DaemonKind::Debian))
    }

    /// Start a daemon and wait until it listens.
    pub fn start(world: &World, o: DaemonOptions) -> Daemon {
        for _attempt in 0..10 {
            let port = free_port();
            let stats_port = o.stats.then(free_port);
            let log = world.path(&format!("logs/distccd-{port}.log"));
            let bin = match o.kind {
                DaemonKind::Ours => bins::ours("distccd"),
                DaemonKind::Debian => bins::reference("distccd"),
            };
            let mut cmd = match o.wrapper.split_first() {
                Some((w, rest)) => {
                    let mut c = Command::new(w);
                    c.args(rest).arg(bin);
                    c
                }
                None => Command::new(bin),
            };
            cmd.args(["--no-detach", "--daemon", "--listen", &o.listen])
                .args(["--port", &port.to_string()])
                .args(["--log-file", &log.to_string_lossy()])
                .args(["--log-level", "debug"]);
            for a in &o.allow {
                cmd.args(["--allow", a]);
            }
            if let Some(j) = o.jobs {
                cmd.args(["--jobs", &j.to_string()]);
            }
            if let Some(sp) = stats_port {
                cmd.args(["--stats", "--stats-port", &sp.to_string()]);
            }
            if o.insecure {
                cmd.arg("--enable-tcp-insecure");
            }
            cmd.args(&o.extra_args);
            cmd.env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("TMPDIR", world.path("tmp"));
            if o.kind == DaemonKind::Ours {
                let refs: Vec<&str> = o.whitelist.iter().map(String::as_str).collect();
                cmd.env("DISTCC_RS_WHITELIST_DIR", world.whitelist(&refs));
            }
            for (k, v) in &o.env {
                cmd.env(k, v);
            }
            let stderr_path = world.path(&format!("logs/distccd-{port}.stderr"));
            let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            let mut child = cmd.spawn().expect("spawn distccd");
            let start = Instant::now();
            loop {
                if let Some(st) = child.try_wait().expect("try_wait") {
                    if st.code() == Some(102) {
                        break; // port taken meanwhile: try another
                    }
                    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!(
                        "distccd exited with {st} before listening; stderr: {err}; log: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("listening on")
                    && (o.kind == DaemonKind::Debian || text.contains("daemon started"))
                {
                    {
                        return Daemon {
                            child,
                            kind: o.kind,
                            port,
                            stats_port,
                            log,
                            stderr: stderr_path,
                        };
                    }
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "distccd did not start listening; log: {text}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("could not find a free port for distccd");
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The host spec for DISTCC_HOSTS.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the daemon wrote on stderr.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until the log contains `needle` `count` times (job summaries are written after the
    /// reply, so a client can finish before the line lands).
    pub fn wait_log(&self, needle: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let t = self.log_text();
            if t.matches(needle).count() >= count {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "log never had {count}x {needle:?}:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Wait for the daemon to exit (after a signal); its exit status.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Debian's daemon forks workers into its process group: signal the group.
        // SAFETY: kill(2) on our own child and its group.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
