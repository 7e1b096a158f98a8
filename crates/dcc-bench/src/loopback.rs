//! Section 1, loopback overhead: `make -j2` of each workload with plain gcc, and through a client and a
//! daemon on 127.0.0.1 (`DISTCC_HOSTS=127.0.0.1:PORT/2`, protocol 1, `--jobs 2`). Both full
//! stacks, and the cross pairs for the workloads named in `BENCH_CROSS`.
//!
//! Runs alternate (gcc, ours, distcc, [cross pairs], gcc, ours, ...). Every distributed build
//! runs with `DISTCC_FALLBACK=0` and is checked: the daemon's log must hold one `COMPILE_OK`
//! per unit, so no job ran locally. The last round's objects are compared with gcc's.

use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use crate::daemon::{Bins, Daemon, Impl, LoopOpts, shared_dir};
use crate::error::{BenchError, Result};
use crate::measure;
use crate::record::{Record, Sink};
use crate::workload::{self, Workload};

/// One way to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Gcc,
    Distributed { client: Impl, daemon: Impl },
}

impl Way {
    pub fn label(self) -> String {
        match self {
            Way::Gcc => "gcc".into(),
            Way::Distributed { client, daemon } if client == daemon => client.label().into(),
            Way::Distributed { client, daemon } => {
                format!("{}-client+{}-daemon", client.label(), daemon.label())
            }
        }
    }
}

/// The ways to build `workload`: gcc and the two stacks, then the cross pairs if asked.
pub fn ways(cross: bool) -> Vec<Way> {
    let mut v = vec![
        Way::Gcc,
        Way::Distributed {
            client: Impl::Ours,
            daemon: Impl::Ours,
        },
        Way::Distributed {
            client: Impl::Debian,
            daemon: Impl::Debian,
        },
    ];
    if cross {
        v.push(Way::Distributed {
            client: Impl::Ours,
            daemon: Impl::Debian,
        });
        v.push(Way::Distributed {
            client: Impl::Debian,
            daemon: Impl::Ours,
        });
    }
    v
}

/// The environment of a distributed build through `port` with `slots` and host options
/// `opts` (`,lzo`).
pub fn client_env(
    work: &Path,
    tag: &str,
    port: u16,
    slots: usize,
    opts: &str,
) -> Result<Vec<(&'static str, String)>> {
    let distcc_dir = work.join(format!("distcc-dir-{tag}"));
    workload::fresh_dir(&distcc_dir)?;
    let tmp = shared_dir(&work.join("client-tmp"))?;
    Ok(vec![
        ("DISTCC_HOSTS", format!("127.0.0.1:{port}/{slots}{opts}")),
        ("DISTCC_DIR", distcc_dir.to_string_lossy().into_owned()),
        ("DISTCC_FALLBACK", "0".into()),
        ("TMPDIR", tmp.to_string_lossy().into_owned()),
    ])
}

/// Check that a distributed build's `units` all compiled on `daemon` (its COMPILE_OK count
/// grew from `before` by exactly that many).
pub fn check_remote(daemon: &Daemon, before: usize, units: usize, what: &str) -> Result<()> {
    let after = daemon.wait_count("COMPILE_OK", before + units, Duration::from_secs(10));
    if after - before != units {
        return Err(BenchError::step(
            what,
            format!(
                "{} of {units} units compiled on the daemon (log {})",
                after - before,
                daemon.log.display()
            ),
        ));
    }
    Ok(())
}

pub fn run(cfg: &Config, bins: &Bins, sink: &mut Sink) -> Result<()> {
    for name in &cfg.workloads {
        let w = Workload::prepare(name, &cfg.workload_script, &cfg.workload_cache)?;
        bench_workload(cfg, bins, sink, &w)?;
    }
    Ok(())
}

fn bench_workload(cfg: &Config, bins: &Bins, sink: &mut Sink, w: &Workload) -> Result<()> {
    let goals = w.goals(cfg.units);
    let units = w.take(cfg.units).len();
    let o = LoopOpts::new(2, &format!("loop-{}", w.name));
    let ours = Daemon::loopback(bins, Impl::Ours, &cfg.work, &o)?;
    let deb = Daemon::loopback(bins, Impl::Debian, &cfg.work, &o)?;
    let daemon = |i: Impl| if i == Impl::Ours { &ours } else { &deb };
    let ways = ways(cfg.cross.contains(&w.name));
    let rounds = cfg.rounds(&w.name);
    warm_up(w, units)?;
    for round in 0..rounds {
        for &way in &ways {
            let label = way.label();
            let dir = cfg.work.join(format!("loop-{}-{label}", w.name));
            workload::fresh_dir(&dir)?;
            let what = format!("loopback {} {label} round {}", w.name, round + 1);
            let (cc, env, before) = match way {
                Way::Gcc => ("gcc".to_owned(), Vec::new(), 0),
                Way::Distributed { client, daemon: d } => {
                    let dd = daemon(d);
                    (
                        format!("{} gcc", bins.client(client).display()),
                        client_env(&cfg.work, &label, dd.port, 2, "")?,
                        dd.count("COMPILE_OK"),
                    )
                }
            };
            let mut cmd = workload::make(&dir, &w.makefile, 2, &cc, &goals, &env);
            let u = workload::run_make(&mut cmd, &dir.join("make.stderr"), &what)?;
            if let Way::Distributed { daemon: d, .. } = way {
                check_remote(daemon(d), before, units, &what)?;
            }
            eprintln!(
                "  {what}: {:.2} s wall, {:.2} s local CPU",
                u.wall.as_secs_f64(),
                u.cpu().as_secs_f64()
            );
            sink.write(
                &Record::new("loopback")
                    .s("workload", &w.name)
                    .s("way", &label)
                    .s(
                        "client",
                        match way {
                            Way::Gcc => "gcc",
                            Way::Distributed { client, .. } => client.label(),
                        },
                    )
                    .s(
                        "daemon",
                        match way {
                            Way::Gcc => "-",
                            Way::Distributed { daemon, .. } => daemon.label(),
                        },
                    )
                    .i("round", round)
                    .i("units", units)
                    .n("wall_s", u.wall.as_secs_f64())
                    .n("local_cpu_s", u.cpu().as_secs_f64()),
            )?;
        }
    }
    // Same objects as gcc's: a benchmark of a build that compiles something else is void.
    let reference = cfg.work.join(format!("loop-{}-gcc/obj", w.name));
    for &way in &ways[1..] {
        let got = cfg
            .work
            .join(format!("loop-{}-{}/obj", w.name, way.label()));
        let diffs = workload::differing_objects(&reference, &got)?;
        sink.write(
            &Record::new("loopback-check")
                .s("workload", &w.name)
                .s("way", way.label())
                .i("units", units)
                .i("differing_objects", diffs.len()),
        )?;
        if !diffs.is_empty() {
            eprintln!(
                "  warning: {} {}: objects differ from gcc's: {diffs:?}",
                w.name,
                way.label()
            );
        }
    }
    Ok(())
}

/// Read every source and header once (`gcc -E`), so the first timed build does not pay for a
/// cold page cache.
fn warm_up(w: &Workload, units: usize) -> Result<()> {
    for (_, src) in &w.units[..units] {
        let _ = measure::run(
            std::process::Command::new("gcc")
                .args(&w.flags)
                .args(["-E", src, "-o", "/dev/null"])
                .current_dir(&w.src),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn way_labels() {
        let w = ways(true);
        let labels: Vec<String> = w.iter().map(|w| w.label()).collect();
        assert_eq!(
            labels,
            [
                "gcc",
                "ours",
                "distcc",
                "ours-client+distcc-daemon",
                "distcc-client+ours-daemon"
            ]
        );
        assert_eq!(ways(false).len(), 3);
    }
}
