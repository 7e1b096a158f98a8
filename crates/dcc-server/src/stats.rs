//! Job statistics and distcc's stats page (`--stats`, distcc src/stats.c; reference §4.6).
//!
//! The page is byte-compatible with distcc 3.4's: same header, same fields in the same order,
//! LF line endings, so existing scrapers keep working. distcc does no HTTP parsing and answers
//! whatever is asked; we do the same for every path except the ones our extensions add.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How a connection ended, as distcc's job summary names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobResult {
    CompileOk,
    CompileError,
    CompileTimeout,
    CliDisconn,
    Other,
    RejBadReq,
    RejOverload,
}

impl JobResult {
    /// Every result, so counters can be shown at zero before the first job.
    pub const ALL: [JobResult; 7] = [
        JobResult::CompileOk,
        JobResult::CompileError,
        JobResult::CompileTimeout,
        JobResult::CliDisconn,
        JobResult::Other,
        JobResult::RejBadReq,
        JobResult::RejOverload,
    ];

    pub fn text(self) -> &'static str {
        match self {
            JobResult::CompileOk => "COMPILE_OK",
            JobResult::CompileError => "COMPILE_ERROR",
            JobResult::CompileTimeout => "COMPILE_TIMEOUT",
            JobResult::CliDisconn => "CLI_DISCONN",
            JobResult::Other => "OTHER",
            JobResult::RejBadReq => "REJ_BAD_REQ",
            JobResult::RejOverload => "REJ_OVERLOAD",
        }
    }

    fn index(self) -> usize {
        match self {
            JobResult::RejBadReq => 0,
            JobResult::RejOverload => 1,
            JobResult::CompileOk => 2,
            JobResult::CompileError => 3,
            JobResult::CompileTimeout => 4,
            JobResult::CliDisconn => 5,
            JobResult::Other => 6,
        }
    }
}

/// Seconds of history kept: 15 minutes, distcc's longest window.
const HISTORY: usize = 900;

#[derive(Debug)]
struct Longest {
    file: String,
    compiler: String,
    msecs: u64,
}

/// One second of history.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    /// Jobs running when the second was sampled.
    running: usize,
    /// Compiles finished during the second.
    compiles: u32,
}

#[derive(Debug)]
struct History {
    seconds: VecDeque<Second>,
    /// Compiles finished since the last sample.
    pending: u32,
    last_io: Option<(Instant, u64)>,
    io_rate: i64,
}

/// The daemon's counters.
#[derive(Debug)]
pub struct Stats {
    tcp_accept: AtomicU64,
    results: [AtomicU64; 7],
    running: AtomicUsize,
    max_kids: usize,
    longest: Mutex<Option<Longest>>,
    history: Mutex<History>,
}

impl Stats {
    pub fn new(max_kids: usize) -> Stats {
        Stats {
            tcp_accept: AtomicU64::new(0),
            results: Default::default(),
            running: AtomicUsize::new(0),
            max_kids,
            longest: Mutex::new(None),
            history: Mutex::new(History {
                seconds: VecDeque::with_capacity(HISTORY),
                pending: 0,
                last_io: None,
                io_rate: -1,
            }),
        }
    }

    /// An accepted (and allowed) connection.
    pub fn accepted(&self) {
        self.tcp_accept.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection ended with `result`; a successful compile also competes for "longest job".
    pub fn finished(&self, result: JobResult, compiler: &str, file: &str, time: Duration) {
        self.results[result.index()].fetch_add(1, Ordering::Relaxed);
        if result != JobResult::CompileOk {
            return;
        }
        let msecs = time.as_millis() as u64;
        {
            let mut l = self.longest.lock().unwrap_or_else(|e| e.into_inner());
            if l.as_ref().is_none_or(|l| msecs > l.msecs) {
                *l = Some(Longest {
                    file: file.to_owned(),
                    compiler: compiler.to_owned(),
                    msecs,
                });
            }
        }
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending += 1;
    }

    /// A compile started running (holds a `--jobs` slot).
    pub fn job_started(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    pub fn job_stopped(&self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }

    /// Jobs running now (`dcc_current_load`).
    pub fn current_load(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    pub fn count(&self, result: JobResult) -> u64 {
        self.results[result.index()].load(Ordering::Relaxed)
    }

    pub fn accepted_count(&self) -> u64 {
        self.tcp_accept.load(Ordering::Relaxed)
    }

    pub fn max_kids(&self) -> usize {
        self.max_kids
    }

    /// Record one second of history; the daemon calls this once a second.
    pub fn tick(&self) {
        let running = self.current_load();
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let compiles = std::mem::take(&mut h.pending);
        if h.seconds.len() == HISTORY {
            h.seconds.pop_front();
        }
        h.seconds.push_back(Second { running, compiles });
    }

    fn windows(&self) -> ([usize; 3], [u64; 3]) {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut avg = [0usize; 3];
        let mut compiles = [0u64; 3];
        for (i, w) in [60usize, 300, 900].into_iter().enumerate() {
            let last: Vec<&Second> = h.seconds.iter().rev().take(w).collect();
            if !last.is_empty() {
                avg[i] = last.iter().map(|s| s.running).sum::<usize>() / w;
            }
            compiles[i] =
                last.iter().map(|s| u64::from(s.compiles)).sum::<u64>() + u64::from(h.pending);
        }
        (avg, compiles)
    }

    /// Disk I/O rate in sectors per second since the previous call, refreshed at most every
    /// 50 s; -1 the first time (as distcc).
    fn io_rate(&self) -> i64 {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let Some(total) = disk_sectors() else {
            return -1;
        };
        match h.last_io {
            None => {
                h.last_io = Some((now, total));
                h.io_rate = -1;
            }
            Some((t, prev)) if now.duration_since(t) >= Duration::from_secs(50) => {
                let secs = now.duration_since(t).as_secs().max(1);
                h.io_rate = (total.saturating_sub(prev) / secs) as i64;
                h.last_io = Some((now, total));
            }
            Some(_) => {}
        }
        h.io_rate
    }

    /// distcc's stats page, complete with the HTTP header distcc writes.
    pub fn distcc_page(&self, tmpdir: &Path) -> String {
        let (avg, compiles) = self.windows();
        let load = loadavg();
        let (num_d, max_rss, max_rss_name) = proc_stats();
        let (longest_file, longest_compiler, longest_ms) = {
            let l = self.longest.lock().unwrap_or_else(|e| e.into_inner());
            match l.as_ref() {
                Some(l) => (l.file.clone(), l.compiler.clone(), l.msecs),
                None => ("none".to_owned(), "none".to_owned(), 0),
            }
        };
        let mut s = String::with_capacity(1024);
        // nosniff: a browser must not take a client-supplied name in the page for HTML.
        s.push_str(
            "HTTP/1.0 200 OK\nContent-Type: text/plain\nX-Content-Type-Options: nosniff\nConnection: close\n\n",
        );
        s.push_str("argv /distccd\n<distccstats>\n");
        let _ = writeln!(s, "dcc_tcp_accept {}", self.accepted_count());
        for (name, r) in [
            ("rej_bad_req", JobResult::RejBadReq),
            ("rej_overload", JobResult::RejOverload),
            ("compile_ok", JobResult::CompileOk),
            ("compile_error", JobResult::CompileError),
            ("compile_timeout", JobResult::CompileTimeout),
            ("cli_disconnect", JobResult::CliDisconn),
            ("other", JobResult::Other),
        ] {
            let _ = writeln!(s, "dcc_{name} {}", self.count(r));
        }
        let _ = writeln!(s, "dcc_longest_job {longest_file}");
        let _ = writeln!(s, "dcc_longest_job_compiler {longest_compiler}");
        let _ = writeln!(s, "dcc_longest_job_time_msecs {longest_ms}");
        let _ = writeln!(s, "dcc_max_kids {}", self.max_kids);
        for (i, a) in avg.iter().enumerate() {
            let _ = writeln!(s, "dcc_avg_kids{} {a}", i + 1);
        }
        let _ = writeln!(s, "dcc_current_load {}", self.current_load());
        for (i, l) in load.iter().enumerate() {
            let _ = writeln!(s, "dcc_load{} {l:.2}", i + 1);
        }
        for (i, c) in compiles.iter().enumerate() {
            let _ = writeln!(s, "dcc_num_compiles{} {c}", i + 1);
        }
        let _ = writeln!(s, "dcc_num_procstate_D {num_d}");
        let _ = writeln!(s, "dcc_max_RSS {max_rss}");
        let _ = writeln!(s, "dcc_max_RSS_name {max_rss_name}");
        let _ = writeln!(s, "dcc_io_rate {}", self.io_rate());
        let _ = writeln!(s, "dcc_free_space {} MB", free_space_mb(tmpdir));
        s.push_str("</distccstats>\n");
        s
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> [f64; 3] {
    let mut l = [0f64; 3];
    // SAFETY: getloadavg writes at most 3 doubles into the array.
    let n = unsafe { libc::getloadavg(l.as_mut_ptr(), 3) };
    if n < 3 { [0.0; 3] } else { l }
}

/// Free space of `dir` in MiB (`statvfs`, as distcc's `dcc_get_tmpdirinfo`).
pub fn free_space_mb(dir: &Path) -> i64 {
    nix::sys::statvfs::statvfs(dir)
        .map(|s| (s.blocks_available() as u128 * s.fragment_size() as u128 / (1024 * 1024)) as i64)
        .unwrap_or(-1)
}

/// Processes in state D, and the largest resident set (KiB) with its `(name)`, from /proc
/// (distcc `dcc_get_proc_stats`, which skips names ending in "cc" or "++").
fn proc_stats() -> (i64, i64, String) {
    let mut num_d = 0;
    let mut max_rss = 0i64;
    let mut name = String::new();
    // SAFETY: sysconf has no memory effects.
    let page_kb = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(1024) as i64 / 1024;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (-1, -1, "none".into());
    };
    for e in dir.flatten() {
        let fname = e.file_name();
        if !fname.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may contain spaces; it ends at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open..=close];
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if rest.first() == Some(&"D") {
            num_d += 1;
        }
        // rss is field 24 overall; after "pid (comm)" it is index 21 of the rest.
        let rss = rest
            .get(21)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            * page_kb;
        let inner = comm.trim_start_matches('(').trim_end_matches(')');
        let is_cc = inner.ends_with("cc") || inner.ends_with("++");
        if rss > max_rss && !is_cc {
            max_rss = rss;
            name = comm.to_owned();
        }
    }
    (num_d, max_rss, name)
}

/// Sectors read and written since boot, over all disks (/proc/diskstats).
fn disk_sectors() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/diskstats").ok()?;
    let mut total = 0u64;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 10 {
            total += f[5].parse::<u64>().unwrap_or(0) + f[9].parse::<u64>().unwrap_or(0);
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_distccs_fields_in_order() {
        let s = Stats::new(4);
        s.accepted();
        s.accepted();
        s.finished(
            JobResult::CompileOk,
            "gcc",
            "x.c",
            Duration::from_millis(103),
        );
        s.finished(JobResult::CompileOk, "gcc", "y.c", Duration::from_millis(5));
        s.finished(
            JobResult::CompileError,
            "gcc",
            "e.c",
            Duration::from_millis(500),
        );
        s.tick();
        let page = s.distcc_page(Path::new("/tmp"));
        assert!(page.starts_with(
            "HTTP/1.0 200 OK\nContent-Type: text/plain\nX-Content-Type-Options: nosniff\nConnection: close\n\nargv /distccd\n<distccstats>\n"
        ));
        assert!(!page.contains('\r'));
        let keys: Vec<&str> = page
            .lines()
            .skip(7)
            .take_while(|l| *l != "</distccstats>")
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "dcc_tcp_accept",
                "dcc_rej_bad_req",
                "dcc_rej_overload",
                "dcc_compile_ok",
                "dcc_compile_error",
                "dcc_compile_timeout",
                "dcc_cli_disconnect",
                "dcc_other",
                "dcc_longest_job",
                "dcc_longest_job_compiler",
                "dcc_longest_job_time_msecs",
                "dcc_max_kids",
                "dcc_avg_kids1",
                "dcc_avg_kids2",
                "dcc_avg_kids3",
                "dcc_current_load",
                "dcc_load1",
                "dcc_load2",
                "dcc_load3",
                "dcc_num_compiles1",
                "dcc_num_compiles2",
                "dcc_num_compiles3",
                "dcc_num_procstate_D",
                "dcc_max_RSS",
                "dcc_max_RSS_name",
                "dcc_io_rate",
                "dcc_free_space",
            ]
        );
        assert!(page.contains("\ndcc_tcp_accept 2\n"));
        assert!(page.contains("\ndcc_compile_ok 2\n"));
        assert!(page.contains("\ndcc_compile_error 1\n"));
        assert!(page.contains("\ndcc_longest_job x.c\n"));
        assert!(page.contains("\ndcc_longest_job_compiler gcc\n"));
        assert!(page.contains("\ndcc_longest_job_time_msecs 103\n"));
        assert!(page.contains("\ndcc_max_kids 4\n"));
        assert!(page.contains("\ndcc_num_compiles1 2\n"));
        assert!(page.contains("\ndcc_io_rate -1\n"));
        assert!(page.ends_with(" MB\n</distccstats>\n"));
    }

    #[test]
    fn before_any_job_longest_is_none() {
        let page = Stats::new(1).distcc_page(Path::new("/tmp"));
        assert!(page.contains("\ndcc_longest_job none\n"));
        assert!(page.contains("\ndcc_longest_job_compiler none\n"));
    }

    #[test]
    fn averages_follow_the_running_count() {
        let s = Stats::new(4);
        s.job_started();
        s.job_started();
        for _ in 0..60 {
            s.tick();
        }
        let (avg, _) = s.windows();
        assert_eq!(avg[0], 2);
        assert_eq!(avg[1], 0, "2 jobs over 60 of 300 seconds averages below 1");
        s.job_stopped();
        assert_eq!(s.current_load(), 1);
    }
}
