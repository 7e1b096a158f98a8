//! `distccmon-top`: a live terminal monitor of this user's distcc jobs (a distcc-rs tool; C
//! distcc has `distccmon-text` and `distccmon-gnome`).
//!
//! It reads what every client of this `DISTCC_DIR` leaves behind, ours and C distcc's alike:
//! the `binstate_<pid>` state files (running jobs, their host, slot and phase) and our
//! client's event log `state/events` (failures and fallbacks with their reasons), and
//! optionally polls helpers' stats ports (`--stats HOST:PORT`).
//!
//! - [`farm`]: every helper of the host list: state, slots in use, this master's jobs.
//! - [`model`]: the jobs, per-host counts, finished-jobs window and recent events; no IO.
//! - [`stats`]: fetching and parsing distccd's stats page, and background polling.
//! - [`ui`]: drawing a frame with ratatui.
//! - [`app`]: the refresh loop on a real terminal, and `--once` (one frame as text).
//!
//! Options: `-i SECS`/`--interval SECS` (default 1, fractions allowed), `--once`,
//! `--stats HOST:PORT` (repeatable), `--width COLUMNS` (for `--once`). The user guide is
//! docs/guide/monitoring.md.

pub mod app;
pub mod farm;
pub mod model;
pub mod stats;
pub mod ui;

use std::time::Duration;

/// The command line of `distccmon-top`.
#[derive(Debug, Clone, PartialEq, clap::Parser)]
#[command(
    name = "distccmon-top",
    version,
    about = "Live view of this user's distcc jobs: the farm (every helper of the host list: \
             up or backed off, slots in use, this master's jobs on it), jobs per host and \
             phase, throughput, recent failures and fallbacks with their reasons.",
    after_help = "Reads $DISTCC_DIR/state (or ~/.distcc/state). Keys: q, Esc or Ctrl-C quit."
)]
pub struct Options {
    /// Seconds between refreshes (fractions allowed).
    #[arg(short = 'i', long = "interval", value_name = "SECS", default_value = "1",
          value_parser = parse_interval)]
    pub interval: Duration,
    /// Print one frame as plain text to stdout and exit.
    #[arg(long)]
    pub once: bool,
    /// Also show a helper's counters from its stats port (distccd --stats); repeatable.
    #[arg(long = "stats", value_name = "HOST:PORT")]
    pub stats: Vec<String>,
    /// Width of the --once frame (default: the terminal's, or 120).
    #[arg(long, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
}

/// A refresh interval: a positive number of seconds, at least 0.05 and at most a day.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !(0.05..=86400.0).contains(&secs) {
        return Err(format!("must be between 0.05 and 86400 seconds: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod frame_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn options() {
        let o = Options::try_parse_from(["distccmon-top"]).unwrap();
        assert_eq!(o.interval, Duration::from_secs(1));
        assert!(!o.once && o.stats.is_empty() && o.width.is_none());
        let o = Options::try_parse_from([
            "distccmon-top",
            "-i",
            "0.5",
            "--once",
            "--stats",
            "a:3633",
            "--stats",
            "b:3633",
            "--width",
            "100",
        ])
        .unwrap();
        assert_eq!(o.interval, Duration::from_millis(500));
        assert!(o.once);
        assert_eq!(o.stats, ["a:3633", "b:3633"]);
        assert_eq!(o.width, Some(100));
        for bad in ["0", "-1", "nan", "inf", "x", "1e9"] {
            assert!(
                Options::try_parse_from(["distccmon-top", "-i", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(Options::try_parse_from(["distccmon-top", "--width", "10"]).is_err());
    }
}
