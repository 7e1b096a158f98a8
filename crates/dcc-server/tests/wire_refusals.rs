//! Hostile and broken requests over raw bytes. Each is refused, nothing runs, nothing is left
//! in the daemon's TMPDIR, and the next honest client is served.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::time::Duration;

use dcc_testkit::wire::{decode_reply, exchange, preprocess, request};
use dcc_testkit::{Daemon, World};

const T: Duration = Duration::from_secs(30);

struct Fixture {
    w: World,
    d: Daemon,
    doti: Vec<u8>,
    marker: PathBuf,
}

fn fixture() -> Fixture {
    let w = World::new();
    let d = Daemon::ours(&w);
    w.write("src/x.c", "int x(void) { return 1; }\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let marker = w.path("logs/ran");
    Fixture { w, d, doti, marker }
}

impl Fixture {
    fn honest_client_is_served(&self) {
        let ex = exchange(
            self.d.addr(),
            &request(2, &["gcc", "-c", "x.c", "-o", "x.o"], &self.doti),
            T,
        );
        let r = decode_reply(&ex.reply, 2).expect("honest reply");
        assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
        assert!(!r.object.is_empty());
    }

    fn clean(&self) {
        assert!(!self.marker.exists(), "a refused command ran");
        // Job directories are removed once the job ends, which can be just after the reply.
        for _ in 0..200 {
            if self.w.tmp_leftovers().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("left in TMPDIR: {:?}", self.w.tmp_leftovers());
    }

    /// A request the daemon must close without a byte.
    fn closed_silently(&self, bytes: &[u8], log_needle: &str) {
        let ex = exchange(self.d.addr(), bytes, T);
        assert!(
            ex.reply.is_empty(),
            "expected no reply, got {:?}",
            String::from_utf8_lossy(&ex.reply)
        );
        self.d.wait_log(log_needle, 1);
        self.clean();
        self.honest_client_is_served();
    }

    /// A request the daemon must answer with a failing status and a reason.
    fn refused_with_reason(&self, version: u32, argv: &[&str], code: u32, reason: &str) {
        let ex = exchange(self.d.addr(), &request(version, argv, &self.doti), T);
        let r = decode_reply(&ex.reply, version)
            .unwrap_or_else(|e| panic!("{argv:?}: no well-formed refusal: {e}"));
        assert_eq!(r.status, code << 8, "{argv:?}");
        assert!(r.object.is_empty());
        let serr = String::from_utf8_lossy(&r.stderr);
        assert!(serr.starts_with("distccd["), "{argv:?}: {serr}");
        assert!(
            serr.contains(reason),
            "{argv:?}: {serr:?} should mention {reason:?}"
        );
        assert_eq!(serr.lines().count(), 1, "one line: {serr:?}");
        self.clean();
    }
}

#[test]
fn wrong_first_token() {
    let f = fixture();
    f.closed_silently(b"XIST00000001ARGC00000000", "magic fairy dust");
    assert!(
        f.d.log_text()
            .contains("protocol derailment: expected token \"DIST\"")
    );
}

#[test]
fn unknown_version() {
    let f = fixture();
    f.closed_silently(
        b"DIST00000004ARGC00000001ARGV00000003gcc",
        "can't handle requested protocol version is 4",
    );
}

#[test]
fn huge_counts_and_lengths() {
    let f = fixture();
    f.closed_silently(b"DIST00000001ARGCffffffff", "ARGC count 4294967295");
    f.closed_silently(b"DIST00000001ARGC00000001ARGVffffffff", "over the limit");
    let mut req = b"DIST00000001ARGC00000005ARGV00000003gccARGV00000002-cARGV00000003x.cARGV00000002-oARGV00000003x.o".to_vec();
    req.extend_from_slice(b"DOTIffffffff");
    f.closed_silently(&req, "DOTI body of 4294967295 bytes");
}

#[test]
fn truncated_at_every_token_and_inside_bodies() {
    let f = fixture();
    let full = request(2, &["gcc", "-c", "x.c", "-o", "x.o"], &f.doti);
    // Every header start, every header's middle, and the middle of the DOTI body.
    let mut cuts = Vec::new();
    let mut i = 0;
    while i + 12 <= full.len() {
        cuts.push(i);
        cuts.push(i + 6);
        let tok = &full[i..i + 4];
        let val =
            u32::from_str_radix(std::str::from_utf8(&full[i + 4..i + 12]).unwrap(), 16).unwrap();
        let body = matches!(tok, b"ARGV" | b"DOTI");
        if body && val > 1 {
            cuts.push(i + 12 + val as usize / 2);
        }
        i += 12 + if body { val as usize } else { 0 };
    }
    assert!(cuts.len() > 10);
    let n = cuts.len();
    for cut in cuts {
        dcc_testkit::wire::send_and_close(f.d.addr(), &full[..cut]);
    }
    // Each ends as a disconnect (or a bad request when cut inside a header), and is logged.
    let log = f.d.wait_log("client: 127.0.0.1:", n);
    assert_eq!(log.matches("COMPILE_OK").count(), 0, "{log}");
    f.clean();
    f.honest_client_is_served();
}

#[test]
fn shell_as_compiler_is_refused() {
    let f = fixture();
    let touch = format!("touch {}", f.marker.display());
    let c = |name: &str| format!("distccd refuses compiler '{name}'");
    f.refused_with_reason(1, &["sh", "-c", &touch], 110, &c("sh"));
    f.refused_with_reason(
        1,
        &["/bin/sh", "-c", "x.c", "-o", "x.o"],
        110,
        &c("/bin/sh"),
    );
    f.refused_with_reason(1, &["sh", "-c", "x.c", "-o", "x.o"], 110, &c("sh"));
    f.refused_with_reason(
        1,
        &["/usr/local/bin/gcc", "-c", "x.c", "-o", "x.o"],
        110,
        &c("/usr/local/bin/gcc"),
    );
    f.refused_with_reason(1, &["../gcc", "-c", "x.c", "-o", "x.o"], 110, &c("../gcc"));
    // A compiler name that is not listed in the whitelist directory: distcc's own words.
    f.refused_with_reason(
        1,
        &["clang-99", "-c", "x.c", "-o", "x.o"],
        110,
        "clang-99 not in ",
    );
    f.refused_with_reason(
        1,
        &["clang-99", "-c", "x.c", "-o", "x.o"],
        110,
        " whitelist.",
    );
    f.honest_client_is_served();
}

#[test]
fn options_that_run_read_or_write_are_refused() {
    let f = fixture();
    let m = f.marker.display().to_string();
    let wrapper = format!("/bin/sh,-c,touch {m}");
    let cases: Vec<Vec<String>> = vec![
        vec!["-wrapper".into(), wrapper.clone()],
        vec![format!("-wrapper={wrapper}")],
        vec!["-B".into(), "/tmp".into()],
        vec!["-B/tmp".into()],
        vec!["-specs=/tmp/evil.specs".into()],
        vec!["--specs=/tmp/evil.specs".into()],
        vec!["-fplugin=/tmp/evil.so".into()],
        vec!["-fplugin-arg-evil-x=1".into()],
        vec!["@/etc/passwd".into()],
        vec!["-include".into(), "/etc/passwd".into()],
        vec!["-imacros".into(), "/etc/passwd".into()],
        vec!["-aux-info".into(), m.clone()],
        vec![format!("-fdump-tree-all={m}")],
        vec!["-save-temps".into()],
        vec!["-save-temps=obj".into()],
        vec!["-MF".into(), m.clone()],
        vec!["-dumpdir".into(), "/tmp/".into()],
        vec![format!("-fprofile-generate={m}")],
        vec!["-fcallgraph-info".into()],
        vec![format!("-Wa,-a={m}")],
        vec!["-Xassembler".into(), "-a".into()],
        vec!["--sysroot=/".into()],
        vec!["-isysroot".into(), "/".into()],
        vec!["-fuse-ld=bfd".into()],
        vec!["-o".into(), m.clone()],
    ];
    for extra in &cases {
        let mut argv: Vec<&str> = vec!["gcc", "-c", "x.c", "-o", "x.o"];
        argv.extend(extra.iter().map(String::as_str));
        let ex = exchange(f.d.addr(), &request(2, &argv, &f.doti), T);
        let r = decode_reply(&ex.reply, 2)
            .unwrap_or_else(|e| panic!("{extra:?}: no well-formed refusal: {e}"));
        assert_ne!(r.status, 0, "{extra:?} was accepted");
        assert!(
            r.status == 113 << 8 || r.status == 110 << 8,
            "{extra:?}: status {:#x}",
            r.status
        );
        let serr = String::from_utf8_lossy(&r.stderr);
        assert!(serr.contains("distccd refuses"), "{extra:?}: {serr}");
        f.clean();
    }
    f.honest_client_is_served();
    // Each refusal is logged and counted as OTHER, as distcc counts its refusals.
    let log = f.d.wait_log(" OTHER exit:", cases.len());
    assert!(log.contains("distccd refuses '-wrapper"), "{log}");
}

#[test]
fn a_client_outside_allow_gets_nothing() {
    let w = World::new();
    let mut o = dcc_testkit::daemon::DaemonOptions::new(dcc_testkit::DaemonKind::Ours);
    o.allow = vec!["127.0.0.2".into()];
    let d = Daemon::start(&w, o);
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &doti);
    let ex = exchange(d.addr(), &req, T);
    assert!(
        ex.reply.is_empty(),
        "a denied client got {} bytes",
        ex.reply.len()
    );
    let log = d.wait_log("denied by access list", 1);
    assert!(log.contains("connection from client '127.0.0.1:"), "{log}");
    assert!(!log.contains("COMPILE_OK"));
    // From an allowed source address (any 127/8 address works on loopback).
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.2:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.connect(&d.addr().into()).unwrap();
    let mut s: std::net::TcpStream = sock.into();
    use std::io::{Read, Write};
    s.write_all(&req).unwrap();
    let mut reply = Vec::new();
    s.set_read_timeout(Some(T)).unwrap();
    s.read_to_end(&mut reply).unwrap();
    assert_eq!(decode_reply(&reply, 1).unwrap().status, 0);
}

/// Issue 10, weakness 7: `-imultilib ..` and `-imultiarch ..` were accepted although their
/// values are words, never paths (gcc joins them to include directories).
#[test]
fn weakness7_imultilib_and_imultiarch_dotdot_are_refused() {
    let f = fixture();
    for opt in ["-imultilib", "-imultiarch"] {
        f.refused_with_reason(
            2,
            &["gcc", "-c", "x.c", "-o", "x.o", opt, ".."],
            113,
            "distccd refuses",
        );
    }
    f.honest_client_is_served();
    f.clean();
}
