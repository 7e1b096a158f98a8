//! The secure transport end to end: our `distcc` and `distccd` (and Debian's distcc 3.4 as
//! the plain client) on 127.0.0.1, with keys laid out as a user would. Every refusal must
//! leave no compile on the daemon and a clear reason on both sides.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{Relay, Tamper, keys, know, run, secure_daemon};
use dcc_secure::frame::{HELLO_LEN, PREAMBLE, WELCOME_LEN};
use dcc_secure::{Initiator, PrivateKey, Responder, Verdict};
use dcc_testkit::{World, client, wire};

/// Hello on the wire: preamble and one frame.
const FIRST_FLIGHT: usize = PREAMBLE.len() + 2 + HELLO_LEN;

fn source(w: &World) {
    w.write(
        "src/x.c",
        "#include <stdio.h>\nint main(void) { puts(\"SECRET_MARKER_42\"); return 0; }\n",
    );
}

/// Our client compiling x.c on `hosts`; `fallback` false sets DISTCC_FALLBACK=0.
fn compile(w: &World, hosts: &str, fallback: bool) -> (i32, String) {
    let _ = std::fs::remove_file(w.path("src/x.o"));
    let mut c = client::ours(w, hosts);
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_BACKOFF_PERIOD", "0");
    if !fallback {
        c.env("DISTCC_FALLBACK", "0");
    }
    run(c)
}

fn compiled(d: &dcc_testkit::Daemon) -> usize {
    d.log_text().matches(" COMPILE_OK ").count()
}

#[test]
fn secure_compile_and_plain_clients_on_the_same_port() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    know(&w, d.addr(), &k.host);
    for spec in [",secure", ",secure,zstd", ",lzo,secure"] {
        let (code, err) = compile(&w, &format!("{}{spec}", d.host()), false);
        assert_eq!(code, 0, "{spec}: {err}");
        assert!(w.path("src/x.o").exists());
    }
    d.wait_log(" COMPILE_OK ", 3);
    let log = d.log_text();
    assert_eq!(
        log.matches("secure session from 127.0.0.1").count(),
        3,
        "{log}"
    );
    assert!(log.contains(&format!("key {} tester@client", k.client.public())));
    // Plain distcc on the same port: ours and Debian's.
    let (code, err) = compile(&w, &format!("{},lzo", d.host()), false);
    assert_eq!(code, 0, "{err}");
    let mut c = client::debian(&w, &d.host());
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0");
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 5);
}

#[test]
fn the_wire_shows_no_plaintext() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    let relay = Relay::start(d.addr(), Tamper::default());
    know(&w, relay.addr, &k.host);
    let (code, err) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_eq!(code, 0, "{err}");
    let sent = relay.stream(0);
    assert!(sent.starts_with(b"DRSNOIS1"));
    assert!(sent.len() > 10_000, "the preprocessed source went through");
    for needle in [&b"DIST"[..], b"ARGV", b"SECRET_MARKER_42", b"gcc", b"stdio"] {
        assert!(
            !sent.windows(needle.len()).any(|w| w == needle),
            "{} is readable on the wire",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn no_key_or_unknown_host_fails_the_host_before_any_byte() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    let host = format!("{},secure", d.host());
    // No known_hosts yet.
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 119, "{err}");
    assert!(
        err.contains(&format!("{} has no key in", d.host())),
        "{err}"
    );
    // Known, but no client key.
    know(&w, d.addr(), &k.host);
    std::fs::remove_file(w.path("distcc_dir/client.key")).unwrap();
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 119, "{err}");
    assert!(err.contains("make one with distcc-keygen"), "{err}");
    // With fallback, the compile runs here and succeeds.
    let (code, err) = compile(&w, &host, true);
    assert_eq!(code, 0, "{err}");
    assert!(w.path("src/x.o").exists());
    // A key others can read is refused like ssh refuses one.
    k.client
        .save(&w.path("distcc_dir/client.key"), "", true)
        .unwrap();
    std::fs::set_permissions(
        w.path("distcc_dir/client.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 119, "{err}");
    assert!(err.contains("are too open"), "{err}");
    assert!(
        !d.log_text().contains("connection from"),
        "nothing reached the daemon: {}",
        d.log_text()
    );
}

#[test]
fn wrong_and_revoked_keys_are_refused_with_a_reason() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    know(&w, d.addr(), &k.host);
    let host = format!("{},secure", d.host());
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 1);

    // Revoke: delete the client's line. The next connection is refused.
    let other = PrivateKey::generate().unwrap().public();
    std::fs::write(
        &k.authorized,
        format!("{}\n", other.to_line("someone else")),
    )
    .unwrap();
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 119, "{err}");
    assert!(err.contains("not in its authorized keys"), "{err}");
    assert!(err.contains(&k.client.public().to_string()), "{err}");
    let log = d.wait_log("(unknown or revoked)", 1);
    assert!(
        log.contains("secure handshake from client '127.0.0.1:")
            && log.contains(&format!("key {} is not in", k.client.public())),
        "{log}"
    );
    assert_eq!(compiled(&d), 1, "no compile for a revoked key");

    // A wrong key (never listed), with fallback: refused remotely, built here.
    PrivateKey::generate()
        .unwrap()
        .save(&w.path("distcc_dir/client.key"), "", true)
        .unwrap();
    let (code, err) = compile(&w, &host, true);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not in its authorized keys"), "{err}");
    assert!(w.path("src/x.o").exists());
    d.wait_log("(unknown or revoked)", 2);
    assert_eq!(compiled(&d), 1);

    // Re-authorize: it works again at once.
    std::fs::write(
        &k.authorized,
        format!("{}\n", k.client.public().to_line("")),
    )
    .unwrap();
    k.client
        .save(&w.path("distcc_dir/client.key"), "", true)
        .unwrap();
    let (code, err) = compile(&w, &host, false);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 2);
}

#[test]
fn tampered_ciphertext_is_refused_in_both_directions() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);

    // In the client's first transport message: key confirmation fails, no job starts.
    let relay = Relay::start(
        d.addr(),
        Tamper {
            to_daemon: Some(FIRST_FLIGHT + 2 + 5),
            ..Tamper::default()
        },
    );
    know(&w, relay.addr, &k.host);
    let (code, err) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_ne!(code, 0, "{err}");
    assert!(!w.path("src/x.o").exists());
    d.wait_log("did not confirm the session", 1);

    // In the middle of the preprocessed source: the job's read fails, nothing is compiled.
    let relay = Relay::start(
        d.addr(),
        Tamper {
            to_daemon: Some(FIRST_FLIGHT + 8000),
            ..Tamper::default()
        },
    );
    know(&w, relay.addr, &k.host);
    let (code, err) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_ne!(code, 0, "{err}");
    d.wait_log("message authentication failed", 1);

    // In the reply: the client refuses the object.
    let relay = Relay::start(
        d.addr(),
        Tamper {
            to_client: Some(2 + WELCOME_LEN + 2 + 3),
            ..Tamper::default()
        },
    );
    know(&w, relay.addr, &k.host);
    let (code, err) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("message authentication failed"), "{err}");
    assert!(
        !w.path("src/x.o").exists(),
        "no object from a tampered reply"
    );

    // In the hello: the daemon cannot read it.
    let relay = Relay::start(
        d.addr(),
        Tamper {
            to_daemon: Some(PREAMBLE.len() + 2 + 40),
            ..Tamper::default()
        },
    );
    know(&w, relay.addr, &k.host);
    let (code, _) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_ne!(code, 0);
    d.wait_log("hello message did not authenticate", 1);
    let log = d.log_text();
    assert_eq!(
        log.matches(" COMPILE_OK ").count(),
        1,
        "only the compile whose reply was tampered ran: {log}"
    );
}

#[test]
fn a_replayed_session_runs_nothing() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    let relay = Relay::start(d.addr(), Tamper::default());
    know(&w, relay.addr, &k.host);
    let (code, err) = compile(&w, &format!("{},secure", relay.addr), false);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 1);
    let recorded = relay.stream(0);

    for _ in 0..2 {
        let ex = wire::exchange(d.addr(), &recorded, Duration::from_secs(20));
        // The daemon answers the replayed hello (its welcome, unless the connection was
        // reset first), then reads nothing it can decrypt and closes.
        assert!(
            ex.reply.len() <= 2 + WELCOME_LEN,
            "{} bytes",
            ex.reply.len()
        );
        assert!(!ex.reply.windows(4).any(|w| w == b"DONE"));
    }
    d.wait_log("did not confirm the session", 2);
    assert_eq!(compiled(&d), 1, "the replay compiled nothing");
}

#[test]
fn garbage_after_the_preamble_is_logged_and_dropped() {
    let w = World::new();
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &[]);
    let mut junk = PREAMBLE.to_vec();
    junk.extend_from_slice(&[0, HELLO_LEN as u8]);
    junk.extend((0..HELLO_LEN).map(|i| (i * 31) as u8));
    let ex = wire::exchange(d.addr(), &junk, Duration::from_secs(20));
    assert!(ex.reply.is_empty());
    // A frame of the wrong size.
    let ex = wire::exchange(d.addr(), b"DRSNOIS1\x00\x05hello", Duration::from_secs(20));
    assert!(ex.reply.is_empty());
    // The connection closes as the handshake fails, a moment before the line is logged.
    d.wait_log("malformed hello message (5 bytes)", 1);
    d.wait_log("hello message did not authenticate", 1);
}

#[test]
fn an_impostor_in_the_middle_is_refused_by_the_client() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    // A daemon with its own key at the address where the client expects the real one.
    let wi = World::new();
    let ki = keys(&wi);
    std::fs::write(
        &ki.authorized,
        format!("{}\n", k.client.public().to_line("")),
    )
    .unwrap();
    let impostor = secure_daemon(&wi, &ki, &[]);
    know(&w, impostor.addr(), &k.host);
    let (code, err) = compile(&w, &format!("{},secure", impostor.host()), false);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("secure handshake with 127.0.0.1"), "{err}");
    impostor.wait_log("hello message did not authenticate", 1);
    assert_eq!(compiled(&impostor), 0);
    // With fallback the build goes on locally.
    let (code, err) = compile(&w, &format!("{},secure", impostor.host()), true);
    assert_eq!(code, 0, "{err}");
    assert!(w.path("src/x.o").exists());

    // An impostor that answers with a welcome of its own making: the client does not
    // accept it and sends it nothing more.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let fake = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut hello = [0u8; FIRST_FLIGHT];
        s.read_exact(&mut hello).unwrap();
        let own = PrivateKey::generate().unwrap();
        let (_, flight) = Initiator::start(&own, &own.public()).unwrap();
        let resp = Responder::read_hello(&own, &flight[PREAMBLE.len() + 2..]).unwrap();
        let (welcome, _) = resp.answer(Verdict::Accepted).unwrap();
        s.write_all(&welcome).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        rest
    });
    know(&w, addr, &k.host);
    let (code, err) = compile(&w, &format!("{addr},secure"), false);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("the daemon's welcome message did not authenticate"),
        "{err}"
    );
    assert!(fake.join().unwrap().is_empty(), "nothing after the hello");
}

#[test]
fn require_auth_refuses_plain_clients_who_fall_back() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let d = secure_daemon(&w, &k, &["--require-auth"]);
    know(&w, d.addr(), &k.host);
    // Debian's distcc 3.4: refused before its request is read; it builds locally.
    let mut c = client::debian(&w, &format!("{},lzo", d.host()));
    c.args(["gcc", "-c", "x.c", "-o", "x.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(w.path("src/x.o").exists());
    let log = d.wait_log("plain distcc request refused: --require-auth", 1);
    assert!(
        log.contains("connection from client '127.0.0.1:"),
        "the log names the client: {log}"
    );
    // Ours, plain: refused too (exit as for a silent server without fallback).
    let (code, err) = compile(&w, &d.host(), false);
    assert_ne!(code, 0, "{err}");
    assert_eq!(compiled(&d), 0);
    // Ours, secure: served.
    let (code, err) = compile(&w, &format!("{},secure", d.host()), false);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 1);
}

#[test]
fn a_secure_port_serves_the_secure_transport_only() {
    let w = World::new();
    source(&w);
    let k = keys(&w);
    let sport = dcc_testkit::daemon::free_port();
    let d = secure_daemon(&w, &k, &["--secure-port", &sport.to_string()]);
    let saddr: std::net::SocketAddr = format!("127.0.0.1:{sport}").parse().unwrap();
    know(&w, saddr, &k.host);
    let mut c = client::debian(&w, &format!("{saddr}"));
    c.args(["gcc", "-c", "x.c", "-o", "x.o"]);
    let (code, err) = run(c);
    assert_eq!(code, 0, "{err}");
    d.wait_log("plain distcc request on the secure port", 1);
    let (code, err) = compile(&w, &format!("{saddr},secure"), false);
    assert_eq!(code, 0, "{err}");
    // The main port still serves plain clients.
    let (code, err) = compile(&w, &d.host(), false);
    assert_eq!(code, 0, "{err}");
    d.wait_log(" COMPILE_OK ", 2);
}

#[test]
fn daemon_start_up_checks_the_key_files() {
    let w = World::new();
    let k = keys(&w);
    // A host key others can read: refused at start-up (exit 101).
    std::fs::set_permissions(&k.host_key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bin = dcc_testkit::bins::ours("distccd");
    let out = std::process::Command::new(&bin)
        .args([
            "--no-detach",
            "--daemon",
            "--log-stderr",
            "--listen",
            "127.0.0.1",
        ])
        .args(["--lifetime", "10"])
        .args(["--port", &dcc_testkit::daemon::free_port().to_string()])
        .arg("--auth-keys")
        .arg(&k.authorized)
        .arg("--host-key")
        .arg(&k.host_key_file)
        .env("DISTCC_RS_WHITELIST_DIR", w.whitelist(&["gcc"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("are too open"), "{err}");
    let out = std::process::Command::new(&bin)
        .args(["--no-detach", "--daemon", "--require-auth"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --auth-keys"));
}
