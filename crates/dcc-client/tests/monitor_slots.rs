//! What other programs on the master see of our client: Debian's `distccmon-text` lists its
//! jobs, and its slot locks are the ones Debian's client uses, so mixed clients never put more
//! jobs on a host than its limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;
use std::time::{Duration, Instant};

use dcc_testkit::client::{self, counting_compiler, read_peak, slow_compiler};
use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World, bins};

fn daemon_with(w: &World, compiler: &str, jobs: Option<u32>) -> Daemon {
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.whitelist.push(compiler.to_owned());
    o.jobs = jobs;
    Daemon::start(w, o.env("PATH", &client::client_path(w)))
}

#[test]
fn distccmon_text_lists_our_running_job() {
    let w = World::new();
    slow_compiler(&w, "slow-gcc", 3.0);
    let d = daemon_with(&w, "slow-gcc", None);
    w.write("src/watched.c", "int watched(void) { return 1; }\n");
    let mut c = client::ours(&w, &d.host());
    c.args(["slow-gcc", "-c", "watched.c", "-o", "watched.o"])
        .env("DISTCC_FALLBACK", "0");
    let mut job = c.spawn().unwrap();
    let pid = job.id().to_string();
    let start = Instant::now();
    let line = loop {
        let o = Command::new(bins::reference("distccmon-text"))
            .env_clear()
            .env("DISTCC_DIR", w.path("distcc_dir"))
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("watched.c") && l.contains(" Compile "))
        {
            break l.to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "distccmon-text never showed the job compiling; last output:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(line.split_whitespace().next(), Some(pid.as_str()), "{line}");
    assert!(line.trim_end().ends_with("127.0.0.1[0]"), "{line}");
    assert!(job.wait().unwrap().success());
    assert!(w.path("src/watched.o").exists());
    // Gone from the monitor once done.
    let o = Command::new(bins::reference("distccmon-text"))
        .env_clear()
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains("watched.c"));
}

#[test]
fn mixed_clients_share_the_hosts_slot_limit() {
    let w = World::new();
    let (_cc, peak) = counting_compiler(&w, "count-gcc", 1.0);
    // The daemon would run 8 at once: only the clients' locks can hold it to 2.
    let d = daemon_with(&w, "count-gcc", Some(8));
    let hosts = format!("{}/2", d.host());
    let mut jobs = Vec::new();
    for i in 0..6 {
        w.write(
            &format!("src/u{i}.c"),
            format!("int u{i}(void) {{ return {i}; }}\n"),
        );
        // Alternate: ours, Debian's, ours, Debian's …
        let mut c = if i % 2 == 0 {
            client::ours(&w, &hosts)
        } else {
            client::debian(&w, &hosts)
        };
        c.args([
            "count-gcc",
            "-c",
            &format!("u{i}.c"),
            "-o",
            &format!("u{i}.o"),
        ])
        .env("DISTCC_FALLBACK", "0");
        jobs.push(c.spawn().unwrap());
    }
    for mut j in jobs {
        assert!(j.wait().unwrap().success());
    }
    let log = d.wait_log(" COMPILE_OK ", 6);
    assert_eq!(log.matches(" COMPILE_OK ").count(), 6, "all ran remotely");
    let p = read_peak(&peak);
    assert!(
        (1..=2).contains(&p),
        "peak concurrency on a /2 host was {p}"
    );
}
