//! Section 2, master cost: what one compile costs the machine that runs make.
//!
//! For every unit of lua (at -O2, its Makefile's flags), run in turn, round after round:
//! - `gcc -c` locally (the compile a helper takes off the master);
//! - `gcc -E` (the preprocessing the master keeps);
//! - `distcc gcc -c` through each client to its own daemon on 127.0.0.1, per protocol option
//!   (plain, `,lzo`, and ours' `,zstd`); `wait4` gives the CPU of the client and the `gcc -E`
//!   it ran (the daemon's work is in another process tree);
//! - the same client commands under `perf stat --no-inherit` (the client process alone), if
//!   perf works here.
//!
//! The report derives: master CPU per compile, client CPU beyond preprocessing (= distcc gcc
//! -c minus gcc -E, per unit, from medians), and the distribution ceiling (= local compile CPU /
//! master CPU under distribution: how many remote cores one master core can feed). Finally a
//! few units run under callgrind, client process only, for instruction counts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::config::Config;
use crate::daemon::{Bins, Daemon, Impl, LoopOpts};
use crate::error::{BenchError, Result, io};
use crate::loopback::client_env;
use crate::measure;
use crate::record::{Record, Sink};
use crate::secure::{Keys, is_secure};
use crate::workload::Workload;

/// The client configurations measured: (client, host options).
pub const CLIENTS: &[(Impl, &str)] = &[
    (Impl::Ours, ""),
    (Impl::Debian, ""),
    (Impl::Ours, ",lzo"),
    (Impl::Debian, ",lzo"),
    (Impl::Ours, ",zstd"),
    (Impl::Ours, ",secure"),
];

/// `plain`, `lzo`, `zstd`, `secure` or `secure+zstd` for host options `opts`.
pub fn protocol_label(opts: &str) -> &'static str {
    match opts {
        ",lzo" => "lzo",
        ",zstd" => "zstd",
        ",secure" => "secure",
        ",secure,zstd" => "secure+zstd",
        _ => "plain",
    }
}

pub fn run(cfg: &Config, bins: &Bins, sink: &mut Sink) -> Result<()> {
    let w = Workload::prepare("lua", &cfg.workload_script, &cfg.workload_cache)?;
    let units = w.take(cfg.cpu_units);
    let dir = cfg.work.join("master");
    std::fs::create_dir_all(&dir).map_err(io("mkdir master"))?;
    let keys = Keys::make(&cfg.bin_dir, &cfg.work)?;
    let o = LoopOpts {
        extra_args: keys.as_ref().map(Keys::daemon_args).unwrap_or_default(),
        ..LoopOpts::new(2, "master")
    };
    let ours = Daemon::loopback(bins, Impl::Ours, &cfg.work, &o)?;
    let deb = Daemon::loopback(bins, Impl::Debian, &cfg.work, &o)?;
    let daemon = |i: Impl| if i == Impl::Ours { &ours } else { &deb };
    let perf = measure::perf_available();
    if !perf {
        eprintln!("  perf stat is not usable here: skipping the direct client-CPU measurement");
    }
    let obj = dir.join("out.o");
    let mut expected = [0usize; 2];
    for round in 0..cfg.cpu_reps {
        for (unit_obj, src) in units {
            let unit = unit_obj.trim_start_matches("obj/").to_owned();
            let base = |prog: &Path| {
                let mut c = Command::new(prog);
                c.current_dir(&w.src)
                    .env_clear()
                    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                    .stdin(Stdio::null());
                c
            };
            // Local compile and preprocessing alone.
            let mut local = base(Path::new("gcc"));
            local.args(&w.flags).args(["-c", src, "-o"]).arg(&obj);
            let mut cpp = base(Path::new("gcc"));
            cpp.args(&w.flags)
                .args(["-E", src])
                .stdout(std::fs::File::create(dir.join("out.i")).map_err(io("create out.i"))?);
            for (label, mut cmd) in [("local", local), ("cpp", cpp)] {
                let u = checked(&mut cmd, label)?;
                sink.write(
                    &Record::new("master")
                        .s("unit", &unit)
                        .s("config", label)
                        .i("round", round)
                        .n("cpu_ms", ms(u.cpu()))
                        .n("wall_ms", ms(u.wall)),
                )?;
            }
            // Through each client.
            for &(client, opts) in CLIENTS {
                if is_secure(opts) && keys.is_none() {
                    continue;
                }
                let d = daemon(client);
                let mut cmd = base(bins.client(client));
                cmd.arg("gcc")
                    .args(&w.flags)
                    .args(["-c", src, "-o"])
                    .arg(&obj);
                for (k, v) in client_env(&cfg.work, "master", d.port, 2, opts)? {
                    cmd.env(k, v);
                }
                if let (true, Some(k)) = (is_secure(opts), &keys) {
                    for (n, v) in k.client_env(d.port)? {
                        cmd.env(n, v);
                    }
                }
                let label = format!("{}-{}", client.label(), protocol_label(opts));
                let u = checked(&mut cmd, &label)?;
                expected[client as usize] += 1;
                sink.write(
                    &Record::new("master")
                        .s("unit", &unit)
                        .s("config", &label)
                        .s("client", client.label())
                        .s("protocol", protocol_label(opts))
                        .i("round", round)
                        .n("cpu_ms", ms(u.cpu()))
                        .n("wall_ms", ms(u.wall)),
                )?;
                if perf && opts.is_empty() {
                    let (own, u) = measure::perf_task_clock(&cmd, &dir)?;
                    if !u.success() {
                        return Err(BenchError::step(format!("perf stat {label}"), u.describe()));
                    }
                    expected[client as usize] += 1;
                    sink.write(
                        &Record::new("master")
                            .s("unit", &unit)
                            .s("config", format!("{label}-own"))
                            .s("client", client.label())
                            .s("protocol", "plain")
                            .i("round", round)
                            .n("cpu_ms", ms(own)),
                    )?;
                }
            }
        }
        eprintln!(
            "  master cost: round {} of {} done",
            round + 1,
            cfg.cpu_reps
        );
    }
    for i in Impl::BOTH {
        let d = daemon(i);
        let n = d.wait_count("COMPILE_OK", expected[i as usize], Duration::from_secs(10));
        if n != expected[i as usize] {
            return Err(BenchError::step(
                "master cost",
                format!(
                    "{} daemon compiled {n} of {} jobs: some ran locally",
                    i.label(),
                    expected[i as usize]
                ),
            ));
        }
    }
    callgrind(cfg, bins, sink, &w, &dir, &ours, &deb)
}

/// Instructions of the client process alone, for the first `callgrind_units` units.
fn callgrind(
    cfg: &Config,
    bins: &Bins,
    sink: &mut Sink,
    w: &Workload,
    dir: &Path,
    ours: &Daemon,
    deb: &Daemon,
) -> Result<()> {
    if cfg.callgrind_units == 0 {
        return Ok(());
    }
    if Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        eprintln!("  valgrind is not installed: skipping instruction counts");
        return Ok(());
    }
    let obj = dir.join("out.o");
    for (unit_obj, src) in w.take(cfg.callgrind_units) {
        let unit = unit_obj.trim_start_matches("obj/").to_owned();
        for (client, d) in [(Impl::Ours, ours), (Impl::Debian, deb)] {
            let mut cmd = Command::new(bins.client(client));
            cmd.current_dir(&w.src)
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .arg("gcc")
                .args(&w.flags)
                .args(["-c", src, "-o"])
                .arg(&obj);
            for (k, v) in client_env(&cfg.work, "callgrind", d.port, 2, "")? {
                cmd.env(k, v);
            }
            let tag = format!("{}-{unit}", client.label());
            let ir = measure::callgrind_ir(&cmd, dir, &tag)?;
            sink.write(
                &Record::new("callgrind")
                    .s("unit", &unit)
                    .s("client", client.label())
                    .i("instructions", ir),
            )?;
        }
    }
    Ok(())
}

fn checked(cmd: &mut Command, what: &str) -> Result<measure::Usage> {
    let u = measure::run(cmd)?;
    if !u.success() {
        return Err(BenchError::step(
            format!("master cost: {what}"),
            u.describe(),
        ));
    }
    Ok(u)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
