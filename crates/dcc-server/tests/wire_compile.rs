//! Honest compiles over raw bytes: protocols 0-2, objects identical to local builds, logs in
//! distcc's format, nothing left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use dcc_testkit::wire::{compile_local, decode_reply, exchange, preprocess, request};
use dcc_testkit::{Daemon, World};

const SOURCE: &str = "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }\n";

fn check_compile(version: u32) {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", SOURCE);
    let i = preprocess(&w.path("src"), "x.c", &["-O2"]);
    let req = request(version, &["gcc", "-O2", "-c", "x.c", "-o", "x.o"], &i);
    let ex = exchange(d.addr(), &req, Duration::from_secs(30));
    let reply = decode_reply(&ex.reply, version).expect("a well-formed reply");
    assert_eq!(
        reply.status,
        0,
        "stderr: {}",
        String::from_utf8_lossy(&reply.stderr)
    );
    let local = compile_local(&w.path("src"), &["-O2", "-c", "x.c", "-o", "x.o"], "x.o");
    assert!(
        reply.object == local,
        "remote object differs from local gcc's"
    );
    let log = d.wait_log("COMPILE_OK", 1);
    let line = log
        .lines()
        .find(|l| l.contains("COMPILE_OK"))
        .expect("summary line");
    // distccd[PID] (dcc_job_summary) client: 127.0.0.1:PORT COMPILE_OK exit:0 sig:0 core:0 ret:0 time:NNms gcc x.c
    let rest = line
        .split_once(" (dcc_job_summary) client: 127.0.0.1:")
        .expect(line)
        .1;
    let (_port, rest) = rest.split_once(' ').expect(line);
    assert!(
        rest.starts_with("COMPILE_OK exit:0 sig:0 core:0 ret:0 time:"),
        "{line}"
    );
    assert!(rest.ends_with("ms gcc x.c"), "{line}");
    assert!(line.starts_with("distccd["), "{line}");
    assert!(
        w.tmp_leftovers().is_empty(),
        "left: {:?}",
        w.tmp_leftovers()
    );
}

#[test]
fn protocol_1_compiles_identically() {
    check_compile(1);
}

#[test]
fn protocol_2_compiles_identically() {
    check_compile(2);
}

#[test]
fn protocol_0_is_served_as_1_and_echoed() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", SOURCE);
    let i = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(0, &["gcc", "-c", "x.c", "-o", "x.o"], &i);
    let ex = exchange(d.addr(), &req, Duration::from_secs(30));
    assert!(ex.reply.starts_with(b"DONE00000000STAT00000000"));
    assert_eq!(decode_reply(&ex.reply, 0).unwrap().status, 0);
}

#[test]
fn compile_errors_and_warnings_are_relayed() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/err.c", "int f(void) { return undefined_symbol; }\n");
    w.write("src/warn.c", "int f(void) { int unused; return 0; }\n");
    let i = preprocess(&w.path("src"), "err.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(1, &["gcc", "-c", "err.c", "-o", "err.o"], &i),
        Duration::from_secs(30),
    );
    let r = decode_reply(&ex.reply, 1).unwrap();
    assert_eq!(r.status, 0x100, "exit status 1 as a raw wait status");
    assert!(r.object.is_empty(), "no object after a failure");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("undefined_symbol"), "{err}");
    assert!(
        err.contains("err.c:1"),
        "diagnostics name the client's file: {err}"
    );
    let i = preprocess(&w.path("src"), "warn.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(2, &["gcc", "-Wall", "-c", "warn.c", "-o", "warn.o"], &i),
        Duration::from_secs(30),
    );
    let r = decode_reply(&ex.reply, 2).unwrap();
    assert_eq!(r.status, 0);
    assert!(String::from_utf8_lossy(&r.stderr).contains("-Wunused-variable"));
    assert!(!r.object.is_empty());
    let log = d.wait_log("COMPILE_ERROR", 1);
    assert!(
        log.contains("COMPILE_ERROR exit:1 sig:0 core:0 ret:0"),
        "{log}"
    );
    assert!(w.tmp_leftovers().is_empty());
}

#[test]
fn dash_s_returns_assembly_and_implied_output_works() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/a.c", "int twice(int x) { return 2 * x; }\n");
    let i = preprocess(&w.path("src"), "a.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(1, &["gcc", "-O1", "-S", "a.c"], &i),
        Duration::from_secs(30),
    );
    let r = decode_reply(&ex.reply, 1).unwrap();
    assert_eq!(r.status, 0);
    let asm = String::from_utf8_lossy(&r.object);
    assert!(asm.contains("twice:"), "{asm}");
    let local = compile_local(&w.path("src"), &["-O1", "-S", "a.c"], "a.s");
    assert_eq!(r.object, local);
}

#[test]
fn cplusplus_compiles_identically() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write(
        "src/v.cpp",
        "#include <vector>\n#include <string>\nstd::string f(std::vector<int> v) { return std::to_string(v.size()); }\n",
    );
    let out = std::process::Command::new("g++")
        .args(["-O2", "-E", "v.cpp"])
        .current_dir(w.path("src"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let ex = exchange(
        d.addr(),
        &request(2, &["g++", "-O2", "-c", "v.cpp", "-o", "v.o"], &out.stdout),
        Duration::from_secs(60),
    );
    let r = decode_reply(&ex.reply, 2).unwrap();
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    let st = std::process::Command::new("g++")
        .args(["-O2", "-c", "v.cpp", "-o", "v.o"])
        .current_dir(w.path("src"))
        .status()
        .unwrap();
    assert!(st.success());
    assert!(r.object == std::fs::read(w.path("src/v.o")).unwrap());
}

#[test]
fn ipv6_loopback_works_when_allowed() {
    let w = World::new();
    let mut o = dcc_testkit::daemon::DaemonOptions::new(dcc_testkit::DaemonKind::Ours);
    o.listen = "::1".into();
    o.allow = vec!["::1".into()];
    let d = Daemon::start(&w, o);
    w.write("src/x.c", SOURCE);
    let i = preprocess(&w.path("src"), "x.c", &[]);
    let addr: std::net::SocketAddr = format!("[::1]:{}", d.port).parse().unwrap();
    let ex = exchange(
        addr,
        &request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &i),
        Duration::from_secs(30),
    );
    assert_eq!(decode_reply(&ex.reply, 1).unwrap().status, 0);
    assert!(d.wait_log("COMPILE_OK", 1).contains("client: ::1:"));
}

#[test]
fn a_masquerade_directory_on_the_daemons_path_is_skipped_and_reported() {
    // distcc warns and runs the link (recursing into the client); we skip it and say so.
    let w = World::new();
    let masq = w.path("masq");
    std::fs::create_dir(&masq).unwrap();
    std::os::unix::fs::symlink("/usr/bin/distcc", masq.join("gcc")).unwrap();
    let o = dcc_testkit::daemon::DaemonOptions::new(dcc_testkit::DaemonKind::Ours)
        .env("PATH", &format!("{}:/usr/bin:/bin", masq.display()));
    let d = Daemon::start(&w, o);
    w.write("src/x.c", SOURCE);
    let i = preprocess(&w.path("src"), "x.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &i),
        Duration::from_secs(30),
    );
    let r = decode_reply(&ex.reply, 1).unwrap();
    assert_eq!(r.status, 0);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(serr.contains("is a link to distcc; skipping it"), "{serr}");
    assert!(d.wait_log("COMPILE_OK", 1).contains("skipping it"));
}

/// Our extension version gets a load report after the reply; distcc's versions never do.
#[test]
fn a_load_report_follows_only_replies_in_our_versions() {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", SOURCE);
    let i = preprocess(&w.path("src"), "x.c", &[]);
    for version in [1, 2, 0x102] {
        let req = request(version, &["gcc", "-c", "x.c", "-o", "x.o"], &i);
        let ex = exchange(d.addr(), &req, Duration::from_secs(30));
        let (reply, load) = dcc_testkit::wire::decode_reply_and_load(&ex.reply, version).unwrap();
        assert_eq!(reply.status, 0);
        if version == 0x102 {
            let load = load.expect("a report in our version");
            assert!(load.slots >= 1 && load.free >= 1 && load.free <= load.slots);
            assert!(load.cores >= 1);
            assert!(load.compile_ms >= 1, "the compile before it was timed");
        } else {
            assert_eq!(load, None, "protocol {version}: nothing new");
        }
    }
}
