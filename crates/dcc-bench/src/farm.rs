//! Section 5, farm simulation: many helpers in network namespaces on one machine.
//!
//! Each helper is a distccd (`--jobs SLOTS`) in its own namespace on a private bridge
//! (dcc_testkit::netns), whose only compiler is a stand-in, `sleep-gcc` (standin.c): it
//! sleeps a fixed time and writes a fixed object, so two cores can play a large farm. The
//! master, in its own namespace, runs `make -jN` (N = helpers x slots) over `BENCH_FARM_JOBS`
//! already-preprocessed units (`.i`: the client runs no cpp), with `DISTCC_HOSTS` listing every
//! helper as `IP/SLOTS`. The makespan is compared with the ideal, jobs x time / slots.
//!
//! Variant: the first helper in `DISTCC_HOSTS` (the one every client tries first) is killed
//! with SIGKILL a third of the ideal time into the build; clients may then fall back to a local
//! compile (`DISTCC_FALLBACK=1`, distcc's default), which the stand-in on the master counts.
//!
//! Runs need root, the `ip` tool, and for Debian's daemon the whitelist link
//! /usr/lib/distcc/sleep-gcc (bench/run.sh makes and removes it).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dcc_testkit::netns::{Host, Network};

use crate::config::Config;
use crate::daemon::{Bins, Daemon, DaemonSpec, Impl, shared_dir, whitelist_dir};
use crate::error::{BenchError, Result, io};
use crate::measure;
use crate::record::{Record, Sink};
use crate::workload;

/// The stand-in compiler's name (whitelisted by both daemons).
pub const STANDIN: &str = "sleep-gcc";

/// Debian's daemon only runs compilers named in this directory.
pub const DEBIAN_WHITELIST: &str = "/usr/lib/distcc";

const STANDIN_C: &str = include_str!("standin.c");

/// The master's address, and helper `i`'s.
const MASTER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 10);
fn helper_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 3, 1, (i + 1) as u8)
}

/// The ideal makespan: every slot busy all the time.
pub fn ideal(jobs: usize, sleep_ms: u64, slots: usize) -> Duration {
    Duration::from_secs_f64(jobs as f64 * sleep_ms as f64 / 1e3 / slots.max(1) as f64)
}

/// Build the stand-in into `dir/bin` and return that directory.
pub fn build_standin(dir: &Path, sleep_ms: u64) -> Result<PathBuf> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(io("mkdir farm bin"))?;
    let src = dir.join("standin.c");
    std::fs::write(&src, STANDIN_C).map_err(io("write standin.c"))?;
    let st = std::process::Command::new("gcc")
        .args(["-O2", &format!("-DSLEEP_MS={sleep_ms}"), "-o"])
        .arg(bin.join(STANDIN))
        .arg(&src)
        .status()
        .map_err(io("gcc standin.c"))?;
    if !st.success() {
        return Err(BenchError::step(
            "farm",
            "cannot build the stand-in compiler",
        ));
    }
    Ok(bin)
}

/// Write `jobs` tiny preprocessed units and a Makefile compiling them; the Makefile's path.
fn write_units(dir: &Path, jobs: usize) -> Result<PathBuf> {
    let src = dir.join("src");
    workload::fresh_dir(&src)?;
    let mut all = String::new();
    for i in 0..jobs {
        std::fs::write(src.join(format!("u{i:05}.i")), format!("int u{i:05};\n"))
            .map_err(io("write unit"))?;
        all.push_str(&format!(" obj/u{i:05}.o"));
    }
    // No shell metacharacters in the recipe: make runs the client directly, with no sh.
    let text = format!(
        "# farm simulation units (crates/dcc-bench/src/farm.rs)\nSRC := {}\nall:{all}\n\
         obj/%.o: $(SRC)/%.i\n\t$(CC) -c $< -o $@\n",
        src.display()
    );
    let mk = dir.join("Makefile");
    std::fs::write(&mk, text).map_err(io("write farm Makefile"))?;
    Ok(mk)
}

/// The farm: the network, the master, the helper hosts and the fixtures.
struct Farm {
    // Dropped first: kills everything still running in the namespaces.
    _net: Network,
    master: Host,
    helpers: Vec<Host>,
    dir: PathBuf,
    standin_bin: PathBuf,
    makefile: PathBuf,
    whitelist: PathBuf,
    tmp: PathBuf,
}

/// One farm build's outcome.
#[derive(Debug)]
struct Outcome {
    makespan: Duration,
    master_cpu: Duration,
    remote_ok: usize,
    local: usize,
    min_per_helper: usize,
    max_per_helper: usize,
}

pub fn run(cfg: &Config, bins: &Bins, sink: &mut Sink) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(BenchError::step(
            "farm",
            "the farm simulation creates network namespaces and needs root",
        ));
    }
    if !Path::new(DEBIAN_WHITELIST).join(STANDIN).exists() {
        return Err(BenchError::step(
            "farm",
            format!(
                "{DEBIAN_WHITELIST}/{STANDIN} is missing: Debian's distccd only runs whitelisted \
                 compilers (bench/run.sh creates the link ../../bin/distcc and removes it after)"
            ),
        ));
    }
    let dir = cfg.work.join("farm");
    workload::fresh_dir(&dir)?;
    let max = cfg.farm_helpers.iter().copied().max().unwrap_or(0);
    eprintln!("  farm: setting up {max} helper namespaces");
    let mut net = Network::new();
    let master = net.host("master", MASTER);
    let helpers = (0..max)
        .map(|i| net.host(&format!("h{i}"), helper_addr(i)))
        .collect();
    let farm = Farm {
        master,
        helpers,
        standin_bin: build_standin(&dir, cfg.farm_sleep_ms)?,
        makefile: write_units(&dir, cfg.farm_jobs)?,
        whitelist: whitelist_dir(&cfg.work)?,
        tmp: shared_dir(&dir.join("tmp"))?,
        dir,
        _net: net,
    };
    let mut runs: Vec<(usize, bool)> = cfg.farm_helpers.iter().map(|&n| (n, false)).collect();
    if cfg.farm_kill {
        runs.push((max, true));
    }
    for (n, kill) in runs {
        for round in 0..cfg.farm_reps {
            for imp in Impl::BOTH {
                let o = farm_build(cfg, bins, &farm, imp, n, kill, round)?;
                let slots = n * cfg.farm_slots;
                let ideal = ideal(cfg.farm_jobs, cfg.farm_sleep_ms, slots);
                let ratio = o.makespan.as_secs_f64() / ideal.as_secs_f64();
                eprintln!(
                    "  farm {} {n}x{} {}round {}: {:.2} s (ideal {:.2} s, x{ratio:.2}), \
                     {} remote, {} local, master CPU {:.2} s",
                    imp.label(),
                    cfg.farm_slots,
                    if kill { "one killed, " } else { "" },
                    round + 1,
                    o.makespan.as_secs_f64(),
                    ideal.as_secs_f64(),
                    o.remote_ok,
                    o.local,
                    o.master_cpu.as_secs_f64()
                );
                sink.write(
                    &Record::new("farm")
                        .s("impl", imp.label())
                        .i("helpers", n)
                        .i("slots_per_helper", cfg.farm_slots)
                        .i("jobs", cfg.farm_jobs)
                        .i("sleep_ms", cfg.farm_sleep_ms)
                        .b("killed", kill)
                        .i("round", round)
                        .n("makespan_s", o.makespan.as_secs_f64())
                        .n("ideal_s", ideal.as_secs_f64())
                        .n("ratio", ratio)
                        .n("master_cpu_s", o.master_cpu.as_secs_f64())
                        .i("remote_ok", o.remote_ok)
                        .i("local", o.local)
                        .i("min_per_helper", o.min_per_helper)
                        .i("max_per_helper", o.max_per_helper),
                )?;
            }
        }
    }
    Ok(())
}

fn farm_build(
    cfg: &Config,
    bins: &Bins,
    farm: &Farm,
    imp: Impl,
    n: usize,
    kill: bool,
    round: usize,
) -> Result<Outcome> {
    let tag = format!(
        "{}-{n}{}-{round}",
        imp.label(),
        if kill { "-kill" } else { "" }
    );
    let logs = shared_dir(&farm.dir.join("logs"))?;
    let mut daemons = Vec::with_capacity(n);
    for (i, h) in farm.helpers[..n].iter().enumerate() {
        let spec = DaemonSpec {
            imp,
            port: dcc_common::DEFAULT_PORT,
            listen: None,
            allow: "10.3.0.0/16".into(),
            jobs: cfg.farm_slots,
            log: logs.join(format!("{tag}-h{i}.log")),
            tmp: farm.tmp.clone(),
            whitelist: farm.whitelist.clone(),
            extra_path: Some(farm.standin_bin.clone()),
            extra_args: Vec::new(),
        };
        daemons.push(Daemon::start(bins, &spec, h.command(bins.daemon(imp)))?);
    }
    let hosts: Vec<String> = (0..n)
        .map(|i| format!("{}/{}", helper_addr(i), cfg.farm_slots))
        .collect();
    let build = farm.dir.join(format!("build-{tag}"));
    workload::fresh_dir(&build.join("obj"))?;
    let distcc_dir = farm.dir.join(format!("distcc-dir-{tag}"));
    workload::fresh_dir(&distcc_dir)?;
    let local_log = farm.dir.join(format!("local-{tag}.log"));
    let _ = std::fs::remove_file(&local_log);
    let make_jobs = n * cfg.farm_slots;
    let cc = format!("{} {STANDIN}", bins.client(imp).display());
    let mut cmd = farm.master.command("make");
    cmd.arg("-s")
        .arg("-C")
        .arg(&build)
        .arg("-f")
        .arg(&farm.makefile)
        .arg(format!("-j{make_jobs}"))
        .arg(format!("CC={cc}"))
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin",
                farm.standin_bin.display()
            ),
        )
        .env("HOME", &build)
        .env("TMPDIR", &farm.tmp)
        .env("DISTCC_HOSTS", hosts.join(" "))
        .env("DISTCC_DIR", &distcc_dir)
        .env("DISTCC_FALLBACK", if kill { "1" } else { "0" })
        .env("DCC_BENCH_STANDIN_LOG", &local_log)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    let err_path = farm.dir.join(format!("make-{tag}.stderr"));
    workload::stderr_to(&mut cmd, &err_path)?;
    let started = Instant::now();
    let runner = std::thread::spawn(move || measure::run(&mut cmd));
    if kill {
        let at = ideal(cfg.farm_jobs, cfg.farm_sleep_ms, make_jobs) / 3;
        std::thread::sleep(at.saturating_sub(started.elapsed()));
        daemons[0].kill9();
    }
    let u = runner
        .join()
        .map_err(|_| BenchError::step("farm", "make thread panicked"))??;
    let what = format!("farm {tag}");
    workload::check_make(&u, &err_path, &what)?;
    let objects = std::fs::read_dir(build.join("obj"))
        .map_err(io("read farm objects"))?
        .count();
    if objects != cfg.farm_jobs {
        return Err(BenchError::step(
            &what,
            format!("{objects} objects for {} jobs", cfg.farm_jobs),
        ));
    }
    let local = std::fs::read_to_string(&local_log)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    // Summaries are written after the replies: wait until they add up.
    let start = Instant::now();
    let per_helper = loop {
        let c: Vec<usize> = daemons.iter().map(|d| d.count("COMPILE_OK")).collect();
        let total: usize = c.iter().sum();
        if total + local >= cfg.farm_jobs || start.elapsed() > Duration::from_secs(10) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let remote_ok: usize = per_helper.iter().sum();
    // The killed helper may have sent replies whose summary lines it never wrote (a daemon
    // logs after replying), and may have finished jobs unheard that then ran again elsewhere.
    let unlogged = if kill { cfg.farm_slots } else { 0 };
    if remote_ok + local + unlogged < cfg.farm_jobs {
        return Err(BenchError::step(
            &what,
            format!(
                "{remote_ok} remote + {local} local compiles for {} jobs",
                cfg.farm_jobs
            ),
        ));
    }
    if !kill && local > 0 {
        return Err(BenchError::step(&what, format!("{local} jobs ran locally")));
    }
    // Stop them all at once, then reap.
    for d in &daemons {
        d.terminate();
    }
    drop(daemons);
    let alive = &per_helper[usize::from(kill)..];
    Ok(Outcome {
        makespan: u.wall,
        master_cpu: u.cpu(),
        remote_ok,
        local,
        min_per_helper: alive.iter().copied().min().unwrap_or(0),
        max_per_helper: alive.iter().copied().max().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_makespan() {
        assert_eq!(ideal(1024, 1000, 256), Duration::from_secs(4));
        assert_eq!(ideal(40, 50, 8), Duration::from_millis(250));
    }

    #[test]
    fn addresses_are_in_the_farm_lan() {
        assert_eq!(helper_addr(0), Ipv4Addr::new(10, 3, 1, 1));
        assert_eq!(helper_addr(63), Ipv4Addr::new(10, 3, 1, 64));
    }

    #[test]
    fn units_and_makefile() {
        let d = tempfile::tempdir().expect("tempdir");
        let mk = write_units(d.path(), 3).expect("units");
        let text = std::fs::read_to_string(mk).expect("read");
        assert!(
            text.contains("all: obj/u00000.o obj/u00001.o obj/u00002.o\n"),
            "{text}"
        );
        assert!(text.contains("\t$(CC) -c $< -o $@\n"));
        assert_eq!(
            std::fs::read_to_string(d.path().join("src/u00001.i")).expect("unit"),
            "int u00001;\n"
        );
    }

    #[test]
    fn standin_sleeps_and_writes() {
        let d = tempfile::tempdir().expect("tempdir");
        let bin = build_standin(d.path(), 20).expect("build");
        let out = d.path().join("x.o");
        let log = d.path().join("local.log");
        let start = Instant::now();
        let st = std::process::Command::new(bin.join(STANDIN))
            .args(["-c", "x.i", "-o"])
            .arg(&out)
            .env("DCC_BENCH_STANDIN_LOG", &log)
            .status()
            .expect("run");
        assert!(st.success());
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(
            std::fs::read_to_string(&out).expect("obj"),
            "stand-in object\n"
        );
        assert_eq!(
            std::fs::read_to_string(&log).expect("log").lines().count(),
            1
        );
    }
}
