//! `--inetd` (and its auto-detection): one job on stdin/stdout, as inetd, systemd socket
//! activation or an ssh connection starts it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;

use dcc_testkit::wire::{decode_reply, preprocess, request};
use dcc_testkit::{World, bins};

fn distccd(w: &World) -> Command {
    let mut c = Command::new(bins::ours("distccd"));
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", w.path("tmp"))
        .env("DISTCC_RS_WHITELIST_DIR", w.whitelist(&["gcc"]));
    c
}

#[test]
fn pipes_serve_one_job_without_an_access_check() {
    // ssh mode: no peer address, so no access list applies (distcc: "NOTSOCKET").
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 7; }\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let mut child = distccd(&w)
        .args(["--inetd", "--log-file"])
        .arg(w.path("logs/inetd.log"))
        .args(["--log-level", "info"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&request(2, &["gcc", "-c", "x.c", "-o", "x.o"], &doti))
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let r = decode_reply(&out, 2).unwrap();
    assert_eq!(r.status, 0);
    assert!(!r.object.is_empty());
    let log = std::fs::read_to_string(w.path("logs/inetd.log")).unwrap();
    assert!(log.contains("client: NOTSOCKET COMPILE_OK"), "{log}");
    assert!(w.tmp_leftovers().is_empty());
}

/// Start distccd with an accepted TCP connection as stdin and stdout, as inetd does.
fn inetd_with_socket(w: &World, extra: &[&str]) -> (std::net::TcpStream, std::process::Child) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, _) = l.accept().unwrap();
    // SAFETY: dup of a descriptor we own; each OwnedFd is consumed by Stdio once.
    let fd_in = unsafe { OwnedFd::from_raw_fd(libc::dup(server.as_raw_fd())) };
    let fd_out = unsafe { OwnedFd::from_raw_fd(libc::dup(server.as_raw_fd())) };
    drop(server);
    let child = distccd(w)
        .args(extra)
        .arg("--log-file")
        .arg(w.path("logs/inetd.log"))
        .args(["--log-level", "info"])
        .stdin(Stdio::from(fd_in))
        .stdout(Stdio::from(fd_out))
        .spawn()
        .unwrap();
    (client, child)
}

#[test]
fn a_socket_on_stdin_is_detected_and_checked() {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 7; }\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &doti);
    // No --inetd: a socket on stdin means inetd mode (distcc's dcc_should_be_inetd).
    let (mut c, mut child) = inetd_with_socket(&w, &["--allow", "127.0.0.1"]);
    c.write_all(&req).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(decode_reply(&out, 1).unwrap().status, 0);
    let log = std::fs::read_to_string(w.path("logs/inetd.log")).unwrap();
    assert!(
        log.contains("stdin is socket; assuming --inetd mode"),
        "{log}"
    );

    // A peer outside --allow gets nothing, and the daemon says who it refused.
    let (mut c, mut child) = inetd_with_socket(&w, &["--inetd", "--allow", "10.0.0.0/8"]);
    let _ = c.write_all(&req);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(out.is_empty());
    assert_eq!(child.wait().unwrap().code(), Some(113));
    let log = std::fs::read_to_string(w.path("logs/inetd.log")).unwrap();
    assert!(log.contains("denied by access list"), "{log}");
}
