//! How things are measured.
//!
//! - [`run`]: wall time and CPU time of a command *and every descendant it waited for*
//!   (`wait4(2)`'s rusage: the child's own time plus its reaped children's). For a
//!   `distcc gcc -c` that is the client plus the `gcc -E` it runs; for `make` the whole local
//!   build. A remote daemon is not a descendant, so its work is not counted.
//! - [`perf_task_clock`]: CPU time of one process alone, without its children (`perf stat
//!   --no-inherit -e task-clock`): the client's own cost with nothing subtracted.
//! - [`callgrind_ir`]: user-space instructions of one process (`valgrind --tool=callgrind
//!   --trace-children=no`): deterministic, for comparing clients and finding hot spots.
//! - [`tree_rss`]: resident memory of a daemon: the sum of VmRSS over the daemon process and
//!   its descendants that are still the daemon's binary (Debian's pre-forked workers; not the
//!   compilers they run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result, io};

/// What a finished command cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// Raw wait status.
    pub status: i32,
}

impl Usage {
    /// User plus system CPU time.
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }

    pub fn success(&self) -> bool {
        libc::WIFEXITED(self.status) && libc::WEXITSTATUS(self.status) == 0
    }

    /// `exit N` or `signal N`, for messages.
    pub fn describe(&self) -> String {
        if libc::WIFEXITED(self.status) {
            format!("exit {}", libc::WEXITSTATUS(self.status))
        } else if libc::WIFSIGNALED(self.status) {
            format!("signal {}", libc::WTERMSIG(self.status))
        } else {
            format!("status {:#x}", self.status)
        }
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// Spawn `cmd` and wait for it with `wait4`, returning its wall and CPU time.
pub fn run(cmd: &mut Command) -> Result<Usage> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(io(format!("spawn {:?}", cmd.get_program())))?;
    wait(child.id(), start)
}

/// Wait for child `pid` (spawned at `start`) with `wait4`.
pub fn wait(pid: u32, start: Instant) -> Result<Usage> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child with valid pointers to a status and a rusage.
        let rc = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut ru) };
        if rc == pid as i32 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(BenchError::Io {
                what: format!("wait4 {pid}"),
                source: e,
            });
        }
    }
    Ok(Usage {
        wall: start.elapsed(),
        user: timeval(ru.ru_utime),
        sys: timeval(ru.ru_stime),
        status,
    })
}

/// Whether `perf stat` works here (installed, and allowed by perf_event_paranoid).
pub fn perf_available() -> bool {
    Command::new("perf")
        .args([
            "stat",
            "--no-inherit",
            "-x,",
            "-e",
            "task-clock",
            "--",
            "true",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run `cmd` (its program, arguments, environment and directory) under `perf stat
/// --no-inherit -e task-clock`, returning the CPU time of that one process and the command's
/// usage (which includes perf itself: only its success matters).
pub fn perf_task_clock(cmd: &Command, scratch: &Path) -> Result<(Duration, Usage)> {
    let out = scratch.join("perf-stat.csv");
    let _ = std::fs::remove_file(&out);
    let mut p = Command::new("perf");
    p.args(["stat", "--no-inherit", "-x,", "-e", "task-clock", "-o"])
        .arg(&out)
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    copy_env_and_dir(cmd, &mut p);
    let u = run(&mut p)?;
    let text = std::fs::read_to_string(&out).map_err(io("read perf stat output"))?;
    let ms = parse_perf_task_clock(&text)
        .ok_or_else(|| BenchError::step("perf stat", format!("no task-clock in {text:?}")))?;
    Ok((Duration::from_secs_f64(ms / 1e3), u))
}

/// The task-clock milliseconds of `perf stat -x,` output (`3.05,msec,task-clock,...`).
pub fn parse_perf_task_clock(text: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let mut f = l.split(',');
        let v = f.next()?.trim();
        let unit = f.next()?;
        let event = f.next()?;
        (unit == "msec" && event.starts_with("task-clock"))
            .then(|| v.parse().ok())
            .flatten()
    })
}

fn copy_env_and_dir(from: &Command, to: &mut Command) {
    // Commands built by this harness always start from env_clear(), so the explicit variables
    // are the whole environment.
    to.env_clear();
    for (k, v) in from.get_envs() {
        if let Some(v) = v {
            to.env(k, v);
        }
    }
    if let Some(d) = from.get_current_dir() {
        to.current_dir(d);
    }
    to.stdin(std::process::Stdio::null());
}

/// Run `cmd` under callgrind (this process only, not its children) and return the
/// instructions it executed.
pub fn callgrind_ir(cmd: &Command, scratch: &Path, tag: &str) -> Result<u64> {
    let out = scratch.join(format!("callgrind.{tag}.out"));
    let mut v = Command::new("valgrind");
    v.args(["--tool=callgrind", "--trace-children=no", "-q"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    copy_env_and_dir(cmd, &mut v);
    v.stdout(std::process::Stdio::null());
    let u = run(&mut v)?;
    if !u.success() {
        return Err(BenchError::step(
            "callgrind",
            format!("{:?} under valgrind: {}", cmd.get_program(), u.describe()),
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(io("read callgrind output"))?;
    let ir = parse_callgrind_total(&text)
        .ok_or_else(|| BenchError::step("callgrind", "no totals line in its output"))?;
    Ok(ir)
}

/// The `totals:` (or `summary:`) line of a callgrind output file.
pub fn parse_callgrind_total(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l
            .strip_prefix("totals:")
            .or_else(|| l.strip_prefix("summary:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resident memory of a daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rss {
    pub kib: u64,
    pub processes: usize,
}

/// Sum VmRSS of `root` and of its descendants whose executable is `exe`.
pub fn tree_rss(root: u32, exe: &Path) -> Rss {
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let mut total = Rss::default();
    let mut todo = vec![root];
    let mut seen = 0;
    while let Some(pid) = todo.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let is_daemon =
            pid == root || std::fs::read_link(proc_dir.join("exe")).is_ok_and(|p| p == exe);
        if is_daemon && let Some(kib) = vm_rss_kib(&proc_dir) {
            total.kib += kib;
            total.processes += 1;
        }
        todo.extend(children(&proc_dir));
    }
    total
}

fn vm_rss_kib(proc_dir: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:` value of a `/proc/PID/status` text, in KiB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Children of every thread of a process (a child belongs to the thread that forked it).
fn children(proc_dir: &Path) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(proc_dir.join("task")) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            v.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait4_reports_cpu_of_the_tree() {
        // A shell whose child spins for a moment: the child's CPU is in the total.
        let u = run(Command::new("sh").args([
            "-c",
            "sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'; true",
        ]))
        .expect("run");
        assert!(u.success());
        assert!(u.cpu() > Duration::ZERO);
        assert!(u.wall >= u.cpu() / 4);
    }

    #[test]
    fn failure_is_reported() {
        let u = run(Command::new("sh").args(["-c", "exit 3"])).expect("run");
        assert!(!u.success());
        assert_eq!(u.describe(), "exit 3");
    }

    #[test]
    fn perf_output_parses() {
        let text =
            "\n# started on ...\n\n3.05,msec,task-clock,3051593,100.00,0.008,CPUs utilized\n";
        assert_eq!(parse_perf_task_clock(text), Some(3.05));
        assert_eq!(parse_perf_task_clock("<not counted>,,task-clock,0,0"), None);
    }

    #[test]
    fn callgrind_totals_parse() {
        let text = "events: Ir\nfn=main\n5 10\ntotals: 537090\n";
        assert_eq!(parse_callgrind_total(text), Some(537_090));
        assert_eq!(parse_callgrind_total("summary: 12\n"), Some(12));
        assert_eq!(parse_callgrind_total("events: Ir\n"), None);
    }

    #[test]
    fn vm_rss_parses() {
        let s = "Name:\tdistccd\nVmPeak:\t  9000 kB\nVmRSS:\t    4316 kB\n";
        assert_eq!(parse_vm_rss(s), Some(4316));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn own_rss_is_found() {
        let me = std::process::id();
        let exe = std::env::current_exe().expect("exe");
        let r = tree_rss(me, &exe);
        // Other tests of this binary may be spawning a command: between fork and exec that
        // child still runs this executable and is counted too.
        assert!(r.processes >= 1, "{r:?}");
        assert!(r.kib > 100, "{r:?}");
    }
}
