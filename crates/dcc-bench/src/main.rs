//! `dcc-bench`: distcc-rs measured against Debian's distcc 3.4 in the same run, on the same
//! machine. `bash bench/run.sh` drives it (building the binaries, making the farm's
//! whitelist link, and turning the results into docs/benchmarks.md with bench/report.py).
//!
//! `dcc-bench [SECTION...]` runs the named sections (all by default) and appends one JSON
//! record per run to `$BENCH_OUT`:
//! - [`loopback`]: `make -j2` of real workloads through client and daemon on 127.0.0.1 vs gcc;
//! - [`master`]: the master's CPU per compile, the client's share, the distribution ceiling;
//! - [`wire`]: bytes up and down per build per protocol option;
//! - [`service`]: the daemon alone: trivial-unit jobs/s, idle and peak memory;
//! - [`farm`]: 16-64 helpers in network namespaces with a stand-in compiler, makespan vs
//!   ideal, also with one helper killed.
//!
//! Supporting pieces: [`config`] (the `BENCH_*` knobs), [`daemon`] (starting either daemon),
//! [`measure`] (wait4 rusage, perf, callgrind, RSS), [`workload`] (the shared C workloads),
//! [`record`] (the results file), [`meta`] (machine and versions), [`secure`] (keys for
//! our `,secure` transport). Every distributed build runs with `DISTCC_FALLBACK=0` and its
//! daemon's `COMPILE_OK` lines are counted, so a number never silently measures a local
//! compile.

mod config;
mod daemon;
mod error;
mod farm;
mod loopback;
mod master;
mod measure;
mod meta;
mod record;
mod secure;
mod service;
mod wire;
mod workload;

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::daemon::Bins;
use crate::record::{Record, Sink};

const SECTIONS: &[&str] = &["loopback", "master", "wire", "daemon", "farm"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: dcc-bench [SECTION...]   sections: {}\n\
             Knobs are BENCH_* environment variables (see bench/README.md); BENCH_WORK is \
             required. Normally run through `bash bench/run.sh`.",
            SECTIONS.join(" ")
        );
        return Ok(());
    }
    for a in &args {
        if !SECTIONS.contains(&a.as_str()) {
            bail!("unknown section {a:?}; sections: {}", SECTIONS.join(" "));
        }
    }
    let sections: Vec<&str> = if args.is_empty() {
        SECTIONS.to_vec()
    } else {
        SECTIONS
            .iter()
            .copied()
            .filter(|s| args.iter().any(|a| a == s))
            .collect()
    };
    let exe = std::env::current_exe().context("current_exe")?;
    let exe_dir = exe.parent().context("exe dir")?.to_path_buf();
    let cfg = Config::from_env(&dcc_common::ProcessEnv, exe_dir)?;
    std::fs::create_dir_all(&cfg.work).context("mkdir BENCH_WORK")?;
    // Daemons drop root: they must reach their TMPDIR, logs and the stand-in under it.
    std::fs::set_permissions(&cfg.work, std::fs::Permissions::from_mode(0o755))
        .context("chmod BENCH_WORK")?;
    let bins = Bins::find(&cfg.bin_dir)?;
    daemon::record_pids_in(cfg.work.join("daemons.pids"));
    let mut sink = Sink::open(&cfg.out)?;
    meta::write(&cfg, &mut sink, "start")?;
    for s in sections {
        eprintln!("== {s}");
        let start = Instant::now();
        let load_before = meta::load1();
        match s {
            "loopback" => loopback::run(&cfg, &bins, &mut sink),
            "master" => master::run(&cfg, &bins, &mut sink),
            "wire" => wire::run(&cfg, &bins, &mut sink),
            "daemon" => service::run(&cfg, &bins, &mut sink),
            "farm" => farm::run(&cfg, &bins, &mut sink),
            _ => unreachable!("sections are checked above"),
        }
        .with_context(|| format!("benchmark section {s}"))?;
        sink.write(
            &Record::new("section")
                .s("name", s)
                .n("elapsed_s", start.elapsed().as_secs_f64())
                .n("load1_before", load_before)
                .n("load1_after", meta::load1()),
        )?;
        eprintln!("   ({s}: {:.0} s)", start.elapsed().as_secs_f64());
    }
    meta::write(&cfg, &mut sink, "end")?;
    Ok(())
}
