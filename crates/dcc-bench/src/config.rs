//! The knobs, read once from `BENCH_*` environment variables (bench/run.sh documents them and
//! sets the paths). `BENCH_SMOKE=1` switches every default to a tiny run that only proves each
//! step still works.

use std::path::PathBuf;

use dcc_common::Env;

use crate::error::{BenchError, Result};

/// Everything a benchmark run can be told.
#[derive(Debug, Clone)]
pub struct Config {
    pub smoke: bool,
    /// Scratch directory for builds, daemons' TMPDIR and logs.
    pub work: PathBuf,
    /// The results file (JSON lines).
    pub out: PathBuf,
    /// Where our `distcc` and `distccd` are.
    pub bin_dir: PathBuf,
    pub workload_script: PathBuf,
    pub workload_cache: PathBuf,
    /// Loopback builds: workloads, and the rounds for lua and for the bigger ones.
    pub workloads: Vec<String>,
    pub reps: usize,
    pub reps_big: usize,
    /// Workloads also built with the cross pairs (our client with distccd and the reverse).
    pub cross: Vec<String>,
    /// Only the first N units of each workload (0: all).
    pub units: usize,
    /// Master cost: rounds per unit, units of lua (0: all), units under callgrind.
    pub cpu_reps: usize,
    pub cpu_units: usize,
    pub callgrind_units: usize,
    /// Wire: workloads built once per protocol option.
    pub wire_workloads: Vec<String>,
    /// Daemon: trivial jobs per round (with gcc, and with a compiler that does nothing),
    /// concurrent connections, rounds, the daemons' --jobs.
    pub trivial_jobs: usize,
    pub null_jobs: usize,
    pub trivial_conc: usize,
    pub trivial_reps: usize,
    pub daemon_jobs: usize,
    /// Farm: helper counts, slots per helper, jobs, stand-in compile time, rounds, and whether
    /// to run the killed-helper variant.
    pub farm_helpers: Vec<usize>,
    pub farm_slots: usize,
    pub farm_jobs: usize,
    pub farm_sleep_ms: u64,
    pub farm_reps: usize,
    pub farm_kill: bool,
    /// The commit measured, when the harness does not run inside its git checkout
    /// (`BENCH_COMMIT`, e.g. `1a2b3c4d5e6f` or `1a2b3c4d5e6f+dirty`).
    pub commit: Option<String>,
}

fn words(env: &dyn Env, name: &str, default: &str) -> Vec<String> {
    env.var(name)
        .unwrap_or_else(|| default.to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn number<T: std::str::FromStr>(env: &dyn Env, name: &str, default: T) -> Result<T> {
    match env.var(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            BenchError::step("configuration", format!("{name}={v:?} is not a number"))
        }),
    }
}

impl Config {
    /// Read the configuration. `exe_dir` is where this harness lives (our binaries are beside
    /// it unless `BENCH_BIN_DIR` says otherwise).
    pub fn from_env(env: &dyn Env, exe_dir: PathBuf) -> Result<Config> {
        let smoke = env.bool_or("BENCH_SMOKE", false);
        // Full run / smoke run defaults.
        let d = |full: usize, smoke_v: usize| if smoke { smoke_v } else { full };
        let work = env
            .var_os("BENCH_WORK")
            .map(PathBuf::from)
            .ok_or_else(|| BenchError::step("configuration", "BENCH_WORK is not set"))?;
        let out = env
            .var_os("BENCH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| work.join("results.jsonl"));
        let bin_dir = env
            .var_os("BENCH_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| exe_dir.clone());
        let workload_script = env
            .var_os("BENCH_WORKLOAD_SCRIPT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/workload.sh")
            });
        let workload_cache = env
            .var_os("BENCH_WORKLOAD_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| exe_dir.join("../bench-workloads"));
        let farm_helpers: Vec<usize> = words(
            env,
            "BENCH_FARM_HELPERS",
            if smoke { "4" } else { "16 32 64" },
        )
        .iter()
        .map(|w| {
            w.parse().map_err(|_| {
                BenchError::step("configuration", format!("BENCH_FARM_HELPERS: {w:?}"))
            })
        })
        .collect::<Result<_>>()?;
        if farm_helpers.iter().any(|&n| n == 0 || n > 200) {
            return Err(BenchError::step(
                "configuration",
                "BENCH_FARM_HELPERS: each count must be 1..=200",
            ));
        }
        Ok(Config {
            smoke,
            work,
            out,
            bin_dir,
            workload_script,
            workload_cache,
            workloads: words(
                env,
                "BENCH_WORKLOADS",
                if smoke { "lua" } else { "lua zstd sqlite" },
            ),
            reps: number(env, "BENCH_REPS", d(5, 1))?,
            reps_big: number(env, "BENCH_REPS_BIG", d(3, 1))?,
            cross: words(env, "BENCH_CROSS", "lua"),
            units: number(env, "BENCH_UNITS", d(0, 4))?,
            cpu_reps: number(env, "BENCH_CPU_REPS", d(3, 1))?,
            cpu_units: number(env, "BENCH_CPU_UNITS", d(0, 2))?,
            callgrind_units: number(env, "BENCH_CALLGRIND_UNITS", d(4, 1))?,
            wire_workloads: words(
                env,
                "BENCH_WIRE_WORKLOADS",
                if smoke { "lua" } else { "lua zstd" },
            ),
            trivial_jobs: number(env, "BENCH_TRIVIAL_JOBS", d(200, 20))?,
            null_jobs: number(env, "BENCH_NULL_JOBS", d(2000, 20))?,
            trivial_conc: number(env, "BENCH_TRIVIAL_CONC", 8)?,
            trivial_reps: number(env, "BENCH_TRIVIAL_REPS", d(5, 1))?,
            daemon_jobs: number(env, "BENCH_DAEMON_JOBS", 4)?,
            farm_helpers,
            farm_slots: number(env, "BENCH_FARM_SLOTS", d(4, 2))?,
            farm_jobs: number(env, "BENCH_FARM_JOBS", d(1024, 40))?,
            farm_sleep_ms: number(env, "BENCH_FARM_SLEEP_MS", if smoke { 50 } else { 1000 })?,
            farm_reps: number(env, "BENCH_FARM_REPS", d(3, 1))?,
            farm_kill: env.bool_or("BENCH_FARM_KILL", true),
            commit: env.var("BENCH_COMMIT").filter(|c| !c.is_empty()),
        })
    }

    /// Rounds for a loopback workload.
    pub fn rounds(&self, workload: &str) -> usize {
        if workload == "lua" {
            self.reps
        } else {
            self.reps_big
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_common::MapEnv;

    #[test]
    fn smoke_defaults_are_tiny() {
        let env = MapEnv::new()
            .with("BENCH_SMOKE", "1")
            .with("BENCH_WORK", "/w");
        let c = Config::from_env(&env, PathBuf::from("/t/debug")).expect("config");
        assert!(c.smoke);
        assert_eq!(c.workloads, ["lua"]);
        assert_eq!((c.reps, c.units, c.farm_jobs), (1, 4, 40));
        assert_eq!(c.farm_helpers, [4]);
        assert_eq!(c.out, PathBuf::from("/w/results.jsonl"));
        assert_eq!(
            c.workload_cache,
            PathBuf::from("/t/debug/../bench-workloads")
        );
    }

    #[test]
    fn knobs_override_defaults() {
        let env = MapEnv::new()
            .with("BENCH_WORK", "/w")
            .with("BENCH_REPS", "7")
            .with("BENCH_FARM_HELPERS", "8 32")
            .with("BENCH_WORKLOADS", "zstd");
        let c = Config::from_env(&env, PathBuf::from("/t")).expect("config");
        assert!(!c.smoke);
        assert_eq!((c.reps, c.reps_big), (7, 3));
        assert_eq!(c.farm_helpers, [8, 32]);
        assert_eq!(c.workloads, ["zstd"]);
        assert_eq!(c.rounds("lua"), 7);
        assert_eq!(c.rounds("zstd"), 3);
    }

    #[test]
    fn bad_values_are_errors() {
        let base = MapEnv::new().with("BENCH_WORK", "/w");
        assert!(Config::from_env(&base.clone().with("BENCH_REPS", "x"), PathBuf::new()).is_err());
        assert!(
            Config::from_env(
                &base.clone().with("BENCH_FARM_HELPERS", "0"),
                PathBuf::new()
            )
            .is_err()
        );
        assert!(Config::from_env(&MapEnv::new(), PathBuf::new()).is_err());
    }
}
