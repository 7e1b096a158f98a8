//! The run's context for the report: when, on what machine, which versions, how busy the
//! machine was (load average before and after: other work on a 2-core machine shows in every
//! timing).

use std::process::Command;

use crate::config::Config;
use crate::error::Result;
use crate::record::{Record, Sink};

fn first_line(prog: &str, args: &[&str]) -> String {
    Command::new(prog)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "unknown".into())
}

fn file_field(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `HEAD`'s short hash, with `+dirty` if tracked files have changes.
fn git_commit() -> String {
    let head = first_line("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if dirty { format!("{head}+dirty") } else { head }
}

/// The 1-minute load average.
pub fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Write the `meta` record (`phase` = start or end).
pub fn write(cfg: &Config, sink: &mut Sink, phase: &str) -> Result<()> {
    let mut r = Record::new("meta").s("phase", phase).n("load1", load1());
    if phase == "start" {
        let ours = cfg.bin_dir.join("distcc");
        let commit = cfg.commit.clone().unwrap_or_else(git_commit);
        r = r
            .s("date", first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]))
            .s("cpu", file_field("/proc/cpuinfo", "model name"))
            .i(
                "cores",
                std::thread::available_parallelism().map_or(0, |n| n.get()),
            )
            .s("memory", file_field("/proc/meminfo", "MemTotal"))
            .s("kernel", first_line("uname", &["-sr"]))
            .s("os", {
                let pretty = std::fs::read_to_string("/etc/os-release")
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                            .map(|v| v.trim_matches('"').to_owned())
                    });
                pretty.unwrap_or_else(|| "unknown".into())
            })
            .s("gcc", first_line("gcc", &["--version"]))
            .s(
                "distcc_package",
                first_line("dpkg-query", &["-W", "-f=${Version}", "distcc"]),
            )
            .s(
                "distcc_version",
                first_line("/usr/bin/distcc", &["--version"]),
            )
            .s(
                "ours_version",
                Command::new(&ours)
                    .arg("--version")
                    .output()
                    .ok()
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .lines()
                            .find(|l| l.contains("distcc-rs"))
                            .unwrap_or_default()
                            .trim()
                            .to_owned()
                    })
                    .unwrap_or_default(),
            )
            .s("commit", commit.trim_end_matches("+dirty"))
            .b("dirty", commit.ends_with("+dirty"))
            .s("rustc", first_line("rustc", &["--version"]))
            .s(
                "profile",
                cfg.bin_dir
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            )
            .b("smoke", cfg.smoke);
    }
    sink.write(&r)
}
