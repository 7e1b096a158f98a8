//! `distcc --show-stats` and `distcc --zero-stats` (like `sccache --show-stats`): what this
//! master's compiles did since the counters were last zeroed, from dcc-state's counter file
//! (`$DISTCC_DIR/state/counters`).
//!
//! Each compile adds to the file once: a reply from a helper in [`reply`], a helper's failure
//! and a fallback through [`crate::events::note`] (which every failure path already calls).
//! The cost on the normal path is one small locked read and write (docs/benchmarks.md).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use dcc_common::{Level, dcc_log};
use dcc_hosts::HostSpec;
use dcc_state::{Count, Counters, DistccDir, EventKind};

use crate::reply::Received;
use crate::verdict::printable;

/// Add to the counters; a failure is logged at debug level and otherwise ignored.
pub fn count(dir: Option<&DistccDir>, c: Count<'_>) {
    let Some(dir) = dir else {
        return;
    };
    if let Err(e) = dir.state_dir().and_then(|d| dcc_state::count_compile(d, c)) {
        dcc_log!(Level::Debug, e.distcc_function(), "{e}");
    }
}

/// A reply from `host` to the preprocessed `source`, for an attempt that `began` then.
pub fn reply(dir: Option<&DistccDir>, host: &HostSpec, sent: u64, r: &Received, began: Instant) {
    let millis = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    count(
        dir,
        Count::Sent {
            host: &host.spec,
            sent,
            received: r.object.len() + r.stderr.len() + r.stdout.len(),
            millis,
        },
    );
}

/// What an event of the log adds to the counters.
pub fn of_event<'a>(kind: EventKind, host: &'a str, reason: &'a str) -> Count<'a> {
    match kind {
        EventKind::Backoff | EventKind::Failed => Count::Failed { host, reason },
        _ => Count::Fallback {
            host: (!host.is_empty()).then_some(host),
            reason,
        },
    }
}

/// `--show-stats`: print the counters; exit code.
pub fn show(dir: Option<&DistccDir>) -> i32 {
    let counters = match dir.map(DistccDir::state_dir) {
        Some(Ok(d)) => dcc_state::read_counters(d),
        Some(Err(e)) => Err(e),
        None => {
            dcc_log!(
                Level::Error,
                "dcc_show_stats",
                "HOME is not set; can't find distcc directory"
            );
            return dcc_common::ExitCode::BadArguments.code();
        }
    };
    match counters {
        Ok(c) => {
            crate::print_stdout(&render(&c, unix_now()));
            0
        }
        Err(e) => {
            dcc_log!(Level::Error, e.distcc_function(), "{e}");
            e.exit_code().code()
        }
    }
}

/// `--zero-stats`: start counting again; exit code.
pub fn zero(dir: Option<&DistccDir>) -> i32 {
    let done = match dir.map(DistccDir::state_dir) {
        Some(Ok(d)) => dcc_state::zero_counters(d),
        Some(Err(e)) => Err(e),
        None => Err(dcc_state::StateError::HomeNotSet),
    };
    match done {
        Ok(()) => {
            crate::print_stdout("distcc statistics zeroed\n");
            0
        }
        Err(e) => {
            dcc_log!(Level::Error, e.distcc_function(), "{e}");
            e.exit_code().code()
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Bytes as sccache prints them: `0 bytes`, `12.3 KiB`, `4.0 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

fn secs(ms: u64) -> String {
    format!("{:.3} s", ms as f64 / 1000.0)
}

/// The report. `now` is seconds since the epoch (for "since ... ago").
pub fn render(c: &Counters, now: u64) -> String {
    let jobs: u64 = c.hosts.values().map(|t| t.jobs).sum();
    let failed: u64 = c.hosts.values().map(|t| t.failed).sum();
    let sent: u64 = c.hosts.values().map(|t| t.sent).sum();
    let received: u64 = c.hosts.values().map(|t| t.received).sum();
    let millis: u64 = c.hosts.values().map(|t| t.millis).sum();
    let mut s = String::new();
    let since = match c.since {
        0 => "the first compile (none counted yet)".to_owned(),
        t => format!("{} s ago", now.saturating_sub(t)),
    };
    s.push_str(&format!("distcc statistics since {since}\n"));
    let line = |s: &mut String, k: &str, v: String| s.push_str(&format!("{k:<36}{v:>14}\n"));
    line(&mut s, "Compile requests sent to helpers", jobs.to_string());
    line(&mut s, "Helper failures and refusals", failed.to_string());
    line(&mut s, "Local fallbacks", c.fallback_total().to_string());
    line(&mut s, "Preprocessed bytes sent", bytes(sent));
    line(&mut s, "Object bytes received", bytes(received));
    line(&mut s, "Time on helpers", secs(millis));
    if !c.hosts.is_empty() {
        s.push_str(&format!(
            "\nPer helper:\n{:<28} {:>6} {:>6} {:>12} {:>12} {:>10} {:>9}\n",
            "HOST", "JOBS", "FAILED", "SENT", "RECEIVED", "TIME", "AVG"
        ));
        for (h, t) in &c.hosts {
            let avg = match t.jobs {
                0 => "-".to_owned(),
                n => format!("{} ms", t.millis / n),
            };
            s.push_str(&format!(
                "{:<28} {:>6} {:>6} {:>12} {:>12} {:>10} {:>9}\n",
                printable(h),
                t.jobs,
                t.failed,
                bytes(t.sent),
                bytes(t.received),
                secs(t.millis),
                avg
            ));
        }
    }
    let reasons =
        |s: &mut String, title: &str, rows: &std::collections::BTreeMap<(String, String), u64>| {
            if rows.is_empty() {
                return;
            }
            s.push_str(&format!(
                "\n{title}:\n{:>6}  {:<28} REASON\n",
                "COUNT", "HOST"
            ));
            let mut sorted: Vec<_> = rows.iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for ((h, r), n) in sorted {
                s.push_str(&format!("{n:>6}  {:<28} {}\n", printable(h), printable(r)));
            }
        };
    reasons(&mut s, "Helper failures and refusals, why", &c.failures);
    reasons(&mut s, "Local fallbacks, why", &c.fallbacks);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_hosts_reasons_and_totals() {
        let mut c = Counters {
            since: 1000,
            ..Counters::default()
        };
        for _ in 0..2 {
            c.add(Count::Sent {
                host: "a:1/4",
                sent: 2048,
                received: 512,
                millis: 100,
            });
        }
        c.add(Count::Failed {
            host: "b:2",
            reason: "the helper closed the connection",
        });
        c.add(of_event(EventKind::Local, "b:2", "closed"));
        c.add(of_event(EventKind::Local, "", "every host is backed off"));
        let r = render(&c, 1060);
        assert!(r.starts_with("distcc statistics since 60 s ago\n"), "{r}");
        for needle in [
            "Compile requests sent to helpers                 2\n",
            "Local fallbacks                                  2\n",
            "Preprocessed bytes sent                    4.0 KiB\n",
            "\na:1/4                             2      0      4.0 KiB",
            "\nb:2                               0      1",
            "     1  b:2                          the helper closed the connection\n",
            "     1  -                            every host is backed off\n",
        ] {
            assert!(r.contains(needle), "{needle:?} missing:\n{r}");
        }
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(5), "5 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
