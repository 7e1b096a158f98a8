//! Section 4, the daemon alone: jobs per second for a trivial unit, and its memory.
//!
//! - Idle memory: each daemon (`--jobs N`) is started and left alone for a second; then the
//!   VmRSS of all its processes is summed (Debian's parent and pre-forked workers).
//! - Throughput: a load generator (threads speaking protocol 1 directly, so no client's cost is
//!   in the figure) sends the same preprocessed trivial unit `BENCH_TRIVIAL_JOBS` times over
//!   `BENCH_TRIVIAL_CONC` connections at once; every reply must be a success with an object.
//!   Rounds alternate ours, distcc, ours, ... Memory is sampled every 10 ms meanwhile (peak).
//!   gcc's own work on even a trivial unit (~10 ms of CPU) dwarfs a daemon's, so the same load
//!   runs again `BENCH_NULL_JOBS` times with a compiler that does nothing (the farm's stand-in
//!   without its sleep): that rate is the daemon's own.
//! - Full stack: the same trivial unit compiled that many times by `make -jCONC` through each
//!   client to its own daemon.
//! - Idle memory again after the load.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::daemon::{Bins, Daemon, Impl, LoopOpts};
use crate::error::{BenchError, Result, io};
use crate::farm::{DEBIAN_WHITELIST, STANDIN, build_standin};
use crate::loopback::{check_remote, client_env};
use crate::measure::{self, Rss};
use crate::record::{Record, Sink};
use crate::workload;

/// The trivial unit.
pub const TRIVIAL_SOURCE: &str = "int trivial(int x) { return x + 1; }\n";

/// A protocol-1 request compiling `doti` with `COMPILER -c trivial.c -o trivial.o`.
pub fn trivial_request(compiler: &str, doti: &[u8]) -> Result<Vec<u8>> {
    let protocol = dcc_proto::Protocol::from_wire(1)
        .map_err(|e| BenchError::step("trivial request", e.to_string()))?;
    dcc_proto::Request {
        header: dcc_proto::RequestHeader {
            protocol,
            cdir: None,
            argv: [compiler, "-c", "trivial.c", "-o", "trivial.o"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        },
        body: dcc_proto::RequestBody::Doti(doti.to_vec()),
    }
    .encode()
    .map_err(|e| BenchError::step("trivial request", e.to_string()))
}

/// One job over a fresh connection; Ok if the daemon compiled it.
fn one_job(addr: SocketAddr, request: &[u8]) -> std::result::Result<(), String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    s.write_all(request).map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).map_err(|e| e.to_string())?;
    let protocol = dcc_proto::Protocol::from_wire(1).map_err(|e| e.to_string())?;
    let r = dcc_proto::Reply::decode_all(&reply, protocol, dcc_proto::Limits::default())
        .map_err(|e| format!("bad reply ({} bytes): {e}", reply.len()))?;
    if !r.succeeded() || r.object.is_empty() {
        return Err(format!(
            "status {:#x}, {} object bytes, stderr {}",
            r.status,
            r.object.len(),
            String::from_utf8_lossy(&r.stderr)
        ));
    }
    Ok(())
}

/// Send `jobs` requests over `conc` connections at a time; the wall time.
pub fn load(addr: SocketAddr, request: &[u8], jobs: usize, conc: usize) -> Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request.to_vec());
    let start = Instant::now();
    let workers: Vec<_> = (0..conc.max(1))
        .map(|_| {
            let (next, request) = (next.clone(), request.clone());
            std::thread::spawn(move || -> std::result::Result<(), String> {
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    one_job(addr, &request)?;
                }
                Ok(())
            })
        })
        .collect();
    let mut first_error = None;
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(_) => first_error = first_error.or(Some("load thread panicked".into())),
        }
    }
    match first_error {
        None => Ok(start.elapsed()),
        Some(e) => Err(BenchError::step("trivial load", e)),
    }
}

/// Samples a daemon's memory every 10 ms until dropped; the peak.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32, exe: std::path::PathBuf) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let r = measure::tree_rss(pid, &exe);
                p.fetch_max(r.kib, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Sampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn memory_record(d: &Daemon, phase: &str, r: Rss, jobs: usize) -> Record {
    Record::new("memory")
        .s("impl", d.imp.label())
        .s("phase", phase)
        .i("jobs_option", jobs)
        .i("rss_kib", r.kib)
        .i("processes", r.processes)
}

pub fn run(cfg: &Config, bins: &Bins, sink: &mut Sink) -> Result<()> {
    let dir = cfg.work.join("daemon");
    workload::fresh_dir(&dir)?;
    std::fs::write(dir.join("trivial.c"), TRIVIAL_SOURCE).map_err(io("write trivial.c"))?;
    let out = std::process::Command::new("gcc")
        .args(["-E", "trivial.c"])
        .current_dir(&dir)
        .output()
        .map_err(io("gcc -E trivial.c"))?;
    if !out.status.success() {
        return Err(BenchError::step("daemon", "gcc -E trivial.c failed"));
    }
    let gcc_request = trivial_request("gcc", &out.stdout)?;
    // The same job for a compiler that does nothing (the farm's stand-in with no sleep): what
    // is left is the daemon's own cost per job. Debian's daemon needs the stand-in in its
    // whitelist directory (bench/run.sh links it there as root).
    let standin = build_standin(&dir, 0)?;
    let null_request = Path::new(DEBIAN_WHITELIST)
        .join(STANDIN)
        .exists()
        .then(|| trivial_request(STANDIN, &out.stdout))
        .transpose()?;
    if null_request.is_none() {
        eprintln!("  {DEBIAN_WHITELIST}/{STANDIN} is missing: skipping the null-compiler load");
    }
    let jobs_opt = cfg.daemon_jobs;
    let o = LoopOpts {
        extra_path: Some(standin),
        ..LoopOpts::new(jobs_opt, "daemon")
    };
    let ours = Daemon::loopback(bins, Impl::Ours, &cfg.work, &o)?;
    let deb = Daemon::loopback(bins, Impl::Debian, &cfg.work, &o)?;
    std::thread::sleep(Duration::from_secs(1));
    for d in [&ours, &deb] {
        let r = d.rss();
        eprintln!(
            "  {} distccd --jobs {jobs_opt} idle: {} KiB in {} processes",
            d.imp.label(),
            r.kib,
            r.processes
        );
        sink.write(&memory_record(d, "idle", r, jobs_opt))?;
    }
    let addr = |d: &Daemon| SocketAddr::from(([127, 0, 0, 1], d.port));
    let mut loads = vec![("raw", &gcc_request, cfg.trivial_jobs)];
    if let Some(r) = &null_request {
        loads.push(("null", r, cfg.null_jobs));
    }
    // Warm-up: the compilers' pages, the daemons' first connections.
    let mut sent = [0usize; 2];
    for d in [&ours, &deb] {
        for (_, req, _) in &loads {
            load(addr(d), req, 2 * cfg.trivial_conc, cfg.trivial_conc)?;
            sent[d.imp as usize] += 2 * cfg.trivial_conc;
        }
    }
    for round in 0..cfg.trivial_reps {
        for &(driver, req, jobs) in &loads {
            for d in [&ours, &deb] {
                let sampler = Sampler::start(d.pid(), bins.daemon(d.imp).to_path_buf());
                let wall = load(addr(d), req, jobs, cfg.trivial_conc)?;
                let peak = sampler.finish();
                sent[d.imp as usize] += jobs;
                let jps = jobs as f64 / wall.as_secs_f64();
                eprintln!(
                    "  {} daemon, {driver}: {jobs} jobs in {:.2} s ({jps:.0}/s), peak {peak} KiB",
                    d.imp.label(),
                    wall.as_secs_f64()
                );
                sink.write(
                    &Record::new("throughput")
                        .s("impl", d.imp.label())
                        .s("driver", driver)
                        .i("round", round)
                        .i("jobs", jobs)
                        .i("concurrency", cfg.trivial_conc)
                        .n("wall_s", wall.as_secs_f64())
                        .n("jobs_per_s", jps)
                        .i("peak_rss_kib", peak),
                )?;
            }
        }
        full_stack(cfg, bins, sink, &dir, [&ours, &deb], round)?;
    }
    for d in [&ours, &deb] {
        let want = sent[d.imp as usize] + cfg.trivial_reps * cfg.trivial_jobs;
        let n = d.wait_count("COMPILE_OK", want, Duration::from_secs(10));
        if n != want {
            return Err(BenchError::step(
                "daemon",
                format!(
                    "{} daemon logged {n} COMPILE_OK of {want} jobs",
                    d.imp.label()
                ),
            ));
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    for d in [&ours, &deb] {
        sink.write(&memory_record(d, "idle-after-load", d.rss(), jobs_opt))?;
    }
    Ok(())
}

/// `make -jCONC` of the trivial unit `trivial_jobs` times through each client to its daemon.
fn full_stack(
    cfg: &Config,
    bins: &Bins,
    sink: &mut Sink,
    dir: &std::path::Path,
    daemons: [&Daemon; 2],
    round: usize,
) -> Result<()> {
    let mk = dir.join("Makefile");
    if !mk.exists() {
        let mut text = String::from("# trivial units (crates/dcc-bench/src/service.rs)\nall:");
        for i in 0..cfg.trivial_jobs {
            text.push_str(&format!(" obj/t{i}.o"));
        }
        text.push('\n');
        text.push_str(&format!(
            "obj/t%.o:\n\t@mkdir -p obj\n\tcd {} && $(CC) -c trivial.c -o $(CURDIR)/$@\n",
            dir.display()
        ));
        std::fs::write(&mk, text).map_err(io("write trivial Makefile"))?;
    }
    for d in daemons {
        let build = dir.join(format!("build-{}", d.imp.label()));
        workload::fresh_dir(&build)?;
        let before = d.count("COMPILE_OK");
        // As many host slots as make's jobs: the figure is throughput, not how a client
        // waits for a free slot (distcc 3.4 polls for one, ours is woken by inotify).
        let env = client_env(
            &cfg.work,
            &format!("trivial-{}", d.imp.label()),
            d.port,
            cfg.trivial_conc,
            "",
        )?;
        let cc = format!("{} gcc", bins.client(d.imp).display());
        let mut cmd = workload::make(&build, &mk, cfg.trivial_conc, &cc, &[], &env);
        let u = measure::run(&mut cmd)?;
        let what = format!("trivial full stack {}", d.imp.label());
        if !u.success() {
            return Err(BenchError::step(&what, format!("make {}", u.describe())));
        }
        check_remote(d, before, cfg.trivial_jobs, &what)?;
        let jps = cfg.trivial_jobs as f64 / u.wall.as_secs_f64();
        eprintln!("  {what}: {:.2} s ({jps:.0}/s)", u.wall.as_secs_f64());
        sink.write(
            &Record::new("throughput")
                .s("impl", d.imp.label())
                .s("driver", "client")
                .i("round", round)
                .i("jobs", cfg.trivial_jobs)
                .i("concurrency", cfg.trivial_conc)
                .n("wall_s", u.wall.as_secs_f64())
                .n("jobs_per_s", jps)
                .n("master_cpu_s", u.cpu().as_secs_f64()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_request_round_trips() {
        let req = trivial_request("gcc", b"int trivial;\n").expect("encode");
        let back =
            dcc_proto::Request::decode_all(&req, dcc_proto::Limits::default()).expect("decode");
        assert_eq!(back.header.argv[0], "gcc");
        assert_eq!(
            back.body,
            dcc_proto::RequestBody::Doti(b"int trivial;\n".to_vec())
        );
    }
}
