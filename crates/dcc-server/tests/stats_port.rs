//! The stats port: distcc's page unchanged for any request, plus `/metrics` (Prometheus),
//! `/status.json` and the live page `/ui`, which is checked in headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::wire::{decode_reply, exchange, preprocess, request};
use dcc_testkit::{Daemon, DaemonKind, World};

const T: Duration = Duration::from_secs(60);

fn get(d: &Daemon, path: &str) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], d.stats_port.expect("stats")));
    let req = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    String::from_utf8(exchange(addr, req.as_bytes(), T).reply).expect("utf-8")
}

fn body(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

/// A compile that succeeds, one that fails to compile, and one refused for an option.
fn traffic(w: &World, d: &Daemon) {
    w.write("src/ok.c", "int ok(void) { return 1; }\n");
    w.write("src/bad.c", "int bad(void) { return nope; }\n");
    for (f, extra) in [("ok", None), ("bad", None), ("ok", Some("-save-temps"))] {
        let i = preprocess(&w.path("src"), &format!("{f}.c"), &[]);
        let mut argv = vec!["gcc", "-c"];
        let src = format!("{f}.c");
        let obj = format!("{f}.o");
        argv.extend([src.as_str(), "-o", obj.as_str()]);
        if let Some(e) = extra {
            argv.push(e);
        }
        let ex = exchange(d.addr(), &request(2, &argv, &i), T);
        decode_reply(&ex.reply, 2).expect("reply");
    }
    d.wait_log("client: ", 3);
}

#[test]
fn metrics_status_and_distccs_page() {
    let w = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.stats = true;
    o.jobs = Some(3);
    let d = Daemon::start(&w, o);
    // Issue 14: every counter is there at zero before the first job, so rate() and alerts work.
    let fresh = get(&d, "/metrics");
    for needle in [
        "distccd_jobs_total{result=\"compile_ok\"} 0",
        "distccd_jobs_total{result=\"other\"} 0",
        "distccd_refusals_total{reason=\"access\"} 0",
        "distccd_refusals_total{reason=\"option\"} 0",
        "distccd_connections_total 0",
    ] {
        assert!(fresh.contains(needle), "{needle} missing:\n{fresh}");
    }
    traffic(&w, &d);

    let m = get(&d, "/metrics");
    assert!(m.starts_with("HTTP/1.0 200 OK\r\n"), "{m}");
    // Issue 10, weakness 7: no page of the stats port may be sniffed as another type.
    for path in ["/metrics", "/status.json", "/ui", "/"] {
        let page = get(&d, path);
        let head = page.split("\n\n").next().unwrap_or_default();
        let head = head.split("\r\n\r\n").next().unwrap_or_default();
        assert!(
            head.contains("X-Content-Type-Options: nosniff"),
            "{path}: {head}"
        );
    }
    let text = body(&m);
    for needle in [
        "distccd_jobs_total{result=\"compile_ok\"} 1",
        "distccd_jobs_total{result=\"compile_error\"} 1",
        "distccd_jobs_total{result=\"other\"} 1",
        "distccd_refusals_total{reason=\"option\"} 1",
        "distccd_connections_total 3",
        "distccd_max_jobs 3",
        "distccd_jobs_queued 0",
        "distccd_job_duration_seconds_bucket{",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // Every sample line is `name{labels} value` with a number, and the exposition ends with EOF.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        assert!(line.starts_with("distccd_"), "{line}");
    }
    assert!(text.trim_end().ends_with("# EOF"));
    let bytes_in: f64 = text
        .lines()
        .find(|l| l.starts_with("distccd_received_bytes_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert!(bytes_in > 100.0, "wire bytes counted: {bytes_in}");

    let s = get(&d, "/status.json");
    let v: serde_json::Value = serde_json::from_str(body(&s)).expect("json");
    assert_eq!(v["counters"]["compile_ok"], 1);
    assert_eq!(v["counters"]["compile_error"], 1);
    assert_eq!(v["max_jobs"], 3);
    // Issue 14: the page names its helper.
    assert_eq!(v["port"], d.addr().port());
    assert_eq!(
        v["host"],
        dcc_common::sys::hostname_or_localhost().as_str(),
        "{v}"
    );
    // The receive budget (issue 10): the defaults, nothing held once the jobs are done.
    assert_eq!(v["receive"]["disk_budget"], 2u64 << 30);
    assert_eq!(v["receive"]["memory_budget"], 256u64 << 20);
    assert_eq!(v["receive"]["memory_in_use"], 0);
    assert_eq!(v["receive"]["disk_in_use"], 0);
    let failures = v["recent_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{failures:?}");
    let reasons: Vec<&str> = failures
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("-save-temps")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("nope")), "{reasons:?}");
    // Issue 14: a refused job shows its file and compiler, not an empty row.
    let refused = failures
        .iter()
        .find(|f| f["reason"].as_str().unwrap().contains("-save-temps"))
        .unwrap();
    assert_eq!(refused["input"], "ok.c", "{refused}");
    assert_eq!(refused["compiler"], "gcc", "{refused}");

    // distcc's page is unchanged for / and for a client that sends nothing.
    let p = get(&d, "/");
    assert!(p.starts_with(
        "HTTP/1.0 200 OK\nContent-Type: text/plain\nX-Content-Type-Options: nosniff\nConnection: close\n\nargv /distccd\n"
    ));
    assert!(p.contains("\ndcc_compile_ok 1\n"));
    let silent = exchange(
        SocketAddr::from(([127, 0, 0, 1], d.stats_port.unwrap())),
        b"",
        T,
    );
    assert!(String::from_utf8_lossy(&silent.reply).contains("<distccstats>"));
}

fn chromium() -> &'static str {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(c).exists() {
            return c;
        }
    }
    panic!("headless Chromium is needed for the web page test: apt-get install -y chromium");
}

#[test]
fn the_live_page_shows_jobs_and_failures_in_a_browser() {
    let w = World::new();
    // A compiler slow enough to be caught running.
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let slow = bin.join("slow-gcc");
    std::fs::write(&slow, "#!/bin/sh\nsleep 8\nexec gcc \"$@\"\n").unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.stats = true;
    o.whitelist.push("slow-gcc".into());
    let o = o.env("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    let d = Daemon::start(&w, o);
    traffic(&w, &d);
    w.write("src/snail.c", "int snail(void) { return 2; }\n");
    let i = preprocess(&w.path("src"), "snail.c", &[]);
    let addr = d.addr();
    let req = request(1, &["slow-gcc", "-c", "snail.c", "-o", "snail.o"], &i);
    let running = std::thread::spawn(move || exchange(addr, &req, T));
    d.wait_log("forking to execute", 1);

    let profile = w.path("chromium-profile");
    let url = format!("http://127.0.0.1:{}/ui", d.stats_port.unwrap());
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // The script ran and filled the tables from /status.json.
    assert!(dom.contains("distcc-rs "), "{dom}");
    let helper = format!(
        "{}:{}",
        dcc_common::sys::hostname_or_localhost(),
        d.addr().port()
    );
    assert!(
        dom.contains(&helper),
        "the page names its helper {helper}:\n{dom}"
    );
    assert!(dom.contains("snail.c"), "the running job is listed:\n{dom}");
    assert!(dom.contains("compiling"), "{dom}");
    assert!(
        dom.contains("-save-temps"),
        "the refusal reason is listed:\n{dom}"
    );
    assert!(dom.contains("COMPILE_ERROR"), "{dom}");
    assert!(
        dom.contains("<div id=\"err\"></div>"),
        "no fetch error: {dom}"
    );
    let r = decode_reply(&running.join().unwrap().reply, 1).unwrap();
    assert_eq!(r.status, 0);
}
