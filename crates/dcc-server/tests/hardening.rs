//! Issue 10 ("what an attacker's review of distccd found"): each hostile input from the
//! review, sent to a real daemon. Every test checks the daemon is alive, nothing is left in its
//! TMPDIR, and the next honest client is served.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dcc_testkit::daemon::{DaemonKind, DaemonOptions};
use dcc_testkit::wire::{decode_reply, exchange, preprocess, request};
use dcc_testkit::{Daemon, World};

const T: Duration = Duration::from_secs(30);

fn assert_tmp_clean(w: &World) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if w.tmp_leftovers().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("left in TMPDIR: {:?}", w.tmp_leftovers());
}

fn honest_client_is_served(w: &World, d: &Daemon) {
    w.write("src/h.c", "int h(void) { return 2; }\n");
    let doti = preprocess(&w.path("src"), "h.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(2, &["gcc", "-c", "h.c", "-o", "h.o"], &doti),
        T,
    );
    let r = decode_reply(&ex.reply, 2).expect("honest reply");
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!r.object.is_empty());
}

/// Every file below `dir`, recursively (to find what a compiler left).
fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Issue 10, weakness 5: the compiler inherited the daemon's TMPDIR, so a compile killed when
/// its client disconnected left its `cc*.s` there. A stand-in compiler writes such a file to
/// `$TMPDIR` and waits; the client goes away; nothing may stay behind.
#[test]
fn weakness5_a_killed_compile_leaves_nothing_in_tmpdir() {
    let w = World::new();
    let fake = w.write(
        "fakebin/x86_64-linux-gnu-gcc",
        "#!/bin/sh\ntouch \"$TMPDIR/ccLEAK.s\"\nexec sleep 30\n",
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", w.path("fakebin").display());
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours).env("DISTCCD_PATH", &path),
    );
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(
        2,
        &["x86_64-linux-gnu-gcc", "-c", "x.c", "-o", "x.o"],
        &doti,
    );
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.write_all(&req).unwrap();
    // Wait until the stand-in has written its temporary file, wherever TMPDIR points.
    let start = Instant::now();
    while !files_below(&w.path("tmp"))
        .iter()
        .any(|p| p.ends_with("ccLEAK.s"))
    {
        assert!(
            start.elapsed() < T,
            "the compiler never ran: {}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(s);
    d.wait_log("Client fd disconnected, killing job", 1);
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
    assert_tmp_clean(&w);
}
