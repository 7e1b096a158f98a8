//! A distccd on a farm host, started as the guide's systemd units start it: on a fixed port, an
//! access list for the LAN, its own log file.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Host;
use crate::{DaemonKind, World, bins};

/// distcc's default port.
pub const DEFAULT_PORT: u16 = 3632;

/// How to start a [`Helper`].
#[derive(Debug, Clone)]
pub struct HelperOptions {
    pub kind: DaemonKind,
    pub port: u16,
    pub stats_port: Option<u16>,
    pub allow: Vec<String>,
    pub jobs: Option<u32>,
    /// Whitelist entries of our daemon, as links in a directory of this daemon's own (Debian's
    /// daemon always uses /usr/lib/distcc).
    pub whitelist: Vec<String>,
    pub extra_args: Vec<String>,
}

impl HelperOptions {
    /// Port 3632, `--allow 10.3.0.0/24`, `--jobs 2`, the native compilers whitelisted.
    pub fn new(kind: DaemonKind) -> Self {
        HelperOptions {
            kind,
            port: DEFAULT_PORT,
            stats_port: None,
            allow: vec![super::addr::ALLOW.to_owned()],
            jobs: Some(2),
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
        }
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `--stats --stats-port PORT`.
    pub fn stats_port(mut self, port: u16) -> Self {
        self.stats_port = Some(port);
        self
    }

    pub fn jobs(mut self, n: u32) -> Self {
        self.jobs = Some(n);
        self
    }

    /// Replace the whitelist.
    pub fn whitelist(mut self, names: &[&str]) -> Self {
        self.whitelist = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Add one whitelist entry (the guide's cross-compiler link).
    pub fn whitelist_add(mut self, name: &str) -> Self {
        self.whitelist.push(name.to_owned());
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.extra_args.push(a.to_owned());
        self
    }
}

/// One job summary line of a daemon's log:
/// `client: IP:PORT RESULT exit:.. sig:.. core:.. ret:.. time:..ms COMPILER INPUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub client: Ipv4Addr,
    pub result: String,
    pub compiler: String,
    pub input: String,
}

/// Parse the job summaries of a log (lines that do not parse are skipped).
pub fn jobs_in(log: &str) -> Vec<Job> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split_once(" client: ")?.1;
            let mut w = rest.split_whitespace();
            let (ip, _port) = w.next()?.rsplit_once(':')?;
            let result = w.next()?.to_owned();
            let mut tail: Vec<&str> = w.skip_while(|t| !t.starts_with("time:")).collect();
            if tail.is_empty() {
                return None;
            }
            tail.remove(0);
            Some(Job {
                client: ip.parse().ok()?,
                result,
                compiler: tail.first().map(|s| s.to_string()).unwrap_or_default(),
                input: tail.get(1).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// A running distccd on a farm host; stopped (its whole process group) on drop.
#[derive(Debug)]
pub struct Helper {
    child: Child,
    host: Host,
    pub kind: DaemonKind,
    pub port: u16,
    pub stats_port: Option<u16>,
    pub log: PathBuf,
    pub stderr: PathBuf,
}

impl Helper {
    /// Start a daemon on `host` and wait until it listens.
    pub fn start(world: &World, host: &Host, o: HelperOptions) -> Helper {
        let label = format!("{}-{}", host.label(), o.port);
        let log = world.path(&format!("logs/{label}.log"));
        let stderr_path = world.path(&format!("logs/{label}.stderr"));
        let bin = match o.kind {
            DaemonKind::Ours => bins::ours("distccd"),
            DaemonKind::Debian => bins::reference("distccd"),
        };
        let mut cmd = host.command(bin);
        cmd.args(["--no-detach", "--daemon"])
            .args(["--port", &o.port.to_string()])
            .args(["--log-file", &log.to_string_lossy()])
            .args(["--log-level", "debug"]);
        for a in &o.allow {
            cmd.args(["--allow", a]);
        }
        if let Some(j) = o.jobs {
            cmd.args(["--jobs", &j.to_string()]);
        }
        if let Some(sp) = o.stats_port {
            cmd.args(["--stats", "--stats-port", &sp.to_string()]);
        }
        cmd.args(&o.extra_args);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("TMPDIR", world.path("tmp"));
        if o.kind == DaemonKind::Ours {
            let dir = world.path(&format!("whitelist-{label}"));
            std::fs::create_dir_all(&dir).expect("mkdir whitelist");
            for n in &o.whitelist {
                std::os::unix::fs::symlink("/usr/bin/distcc", dir.join(n)).expect("symlink");
            }
            cmd.env("DISTCC_RS_WHITELIST_DIR", dir);
        }
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn distccd");
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                panic!(
                    "distccd on {label} exited with {st} before listening; stderr: {}; log: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("listening on")
                && (o.kind == DaemonKind::Debian || text.contains("daemon started"))
            {
                return Helper {
                    child,
                    host: host.clone(),
                    kind: o.kind,
                    port: o.port,
                    stats_port: o.stats_port,
                    log,
                    stderr: stderr_path,
                };
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "distccd on {label} did not start listening; log: {text}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.host.addr()
    }

    /// The DISTCC_HOSTS entry: `IP` on the default port, else `IP:PORT`; `/LIMIT` if given.
    pub fn spec(&self, limit: Option<u32>) -> String {
        let mut s = self.addr().to_string();
        if self.port != DEFAULT_PORT {
            s.push_str(&format!(":{}", self.port));
        }
        if let Some(l) = limit {
            s.push_str(&format!("/{l}"));
        }
        s
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The job summaries so far.
    pub fn jobs(&self) -> Vec<Job> {
        jobs_in(&self.log_text())
    }

    /// How many jobs ended with `result` (`COMPILE_OK`, ...).
    pub fn count(&self, result: &str) -> usize {
        self.jobs().iter().filter(|j| j.result == result).count()
    }

    /// Wait (up to 30 s) until the log holds `needle` at least `n` times; the log.
    pub fn wait_log(&self, needle: &str, n: usize) -> String {
        let start = Instant::now();
        loop {
            let t = self.log_text();
            if t.matches(needle).count() >= n {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} never logged {n}x {needle:?}:\n{t}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lines of the log containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9` the daemon and everything in its process group (Debian's pre-forked workers
    /// too), and reap it.
    pub fn kill9(&mut self) {
        // SAFETY: kill(2) on our child and its process group.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
            libc::kill(self.child.id() as i32, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_parse() {
        let log = "distccd[7] (dcc_job_summary) client: 10.3.0.10:40112 COMPILE_OK exit:0 sig:0 \
                   core:0 ret:0 time:20ms aarch64-linux-gnu-gcc lapi.c\n\
                   distccd[7] (dcc_check_client) ERROR: connection from client '10.3.1.5:1' \
                   denied by access list\n\
                   distccd[8] (dcc_job_summary) client: 10.3.0.11:5 OTHER exit:0 sig:0 core:0 \
                   ret:0 time:0ms\n";
        let j = jobs_in(log);
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].client, Ipv4Addr::new(10, 3, 0, 10));
        assert_eq!(j[0].result, "COMPILE_OK");
        assert_eq!(j[0].compiler, "aarch64-linux-gnu-gcc");
        assert_eq!(j[0].input, "lapi.c");
        assert_eq!(j[1].result, "OTHER");
        assert_eq!(j[1].compiler, "");
    }
}
