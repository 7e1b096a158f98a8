//! A rogue helper must not hurt the master (issue 15): each test replays a hostile reply from
//! a fake helper and checks that the client refuses it, falls back to a correct local object
//! (or, under `DISTCC_FALLBACK=0`, fails with distcc's exit code), and stays within the peak
//! memory and the deadline that docs/decisions/client.md ("A rogue helper") documents. Peak
//! memory is the client's own `VmHWM`, which it logs at exit under `DISTCC_VERBOSE=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::process::Output;
use std::time::{Duration, Instant};

use dcc_proto::{Protocol, wait_status_exit};
use dcc_testkit::World;
use dcc_testkit::client;
use dcc_testkit::helper::{
    fake_helper, lzo_zeros, peak_memory_kib, raw_reply, replying_helper, serve_one, zstd_zeros,
};

/// The documented bounds on the client's peak memory (docs/decisions/client.md): protocol 1
/// and zstd replies are streamed; an LZO body is one block, held compressed and decompressed.
const STREAMED_BOUND_MIB: u64 = 24;
const LZO_BOUND_MIB: u64 = 168;

const GIB: u64 = 1 << 30;

/// A world with `src/x.c` and the object gcc makes of it here.
fn world() -> (World, Vec<u8>) {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 9; }\n");
    let st = std::process::Command::new("gcc")
        .args(["-c", "x.c", "-o", "local.o"])
        .current_dir(w.path("src"))
        .status()
        .unwrap();
    assert!(st.success());
    let local = std::fs::read(w.path("src/local.o")).unwrap();
    (w, local)
}

/// Compile `x.c` to `out` on `host` with our client (debug log on, for `VmHWM`).
fn run(w: &World, host: &str, out: &str, fallback: bool, extra: &[(&str, &str)]) -> Output {
    let mut c = client::ours(w, host);
    c.args(["gcc", "-c", "x.c", "-o", out])
        .env("DISTCC_VERBOSE", "1")
        .env("DISTCC_FALLBACK", if fallback { "1" } else { "0" });
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The client's peak memory, checked against `bound_mib`.
fn assert_peak(o: &Output, bound_mib: u64, what: &str) -> u64 {
    let kib = peak_memory_kib(&text(o)).expect("the client logs its VmHWM");
    eprintln!("{what}: client VmHWM {kib} KiB");
    assert!(
        kib < bound_mib * 1024,
        "{what}: peak {kib} KiB over the bound of {bound_mib} MiB"
    );
    kib
}

/// Replay `reply` (to a request made with `protocol`, from a host spec with `suffix`) with
/// and without fallback: refused with `reason`, never written, within `bound_mib`.
fn refused(reply: &[u8], suffix: &str, reason: &str, bound_mib: u64, what: &str) {
    let (w, local) = world();
    for fallback in [true, false] {
        let port = replying_helper(reply.to_vec());
        let host = format!("127.0.0.1:{port}{suffix}");
        let out = format!("{fallback}.o");
        let o = run(&w, &host, &out, fallback, &[]);
        let err = text(&o);
        let refusal = format!("refused the reply from {host}: ");
        assert!(err.contains(&refusal), "{what}: {err}");
        assert!(err.contains(reason), "{what}: {err}");
        assert_peak(&o, bound_mib, what);
        if fallback {
            assert_eq!(o.status.code(), Some(0), "{what}: {err}");
            assert!(err.contains("running locally instead"), "{what}: {err}");
            assert_eq!(std::fs::read(w.path(&format!("src/{out}"))).unwrap(), local);
        } else {
            assert_eq!(o.status.code(), Some(109), "{what}: {err}");
            assert!(!w.path(&format!("src/{out}")).exists(), "{what}");
        }
    }
    assert!(
        client::client_tmp_leftovers(&w).is_empty(),
        "{what}: spill files"
    );
}

#[test]
fn zstd_bombs_are_refused_while_decoding() {
    let bomb = zstd_zeros(GIB);
    // Three bodies of 1 GiB of zeros in about 100 KB (each stops at the first).
    let three = raw_reply(Protocol::ZSTD, 0, [&bomb, &bomb, &bomb]);
    assert!(three.len() < 110_000);
    refused(
        &three,
        ",zstd",
        "SERR body of 67108865 bytes is over the limit of 67108864",
        STREAMED_BOUND_MIB,
        "zstd 3 x 1 GiB",
    );
    // 1 GiB for the object alone: it spills to a file until it passes the limit.
    let object = raw_reply(Protocol::ZSTD, 0, [b"", b"", &bomb]);
    refused(
        &object,
        ",zstd",
        "DOTO body of 67108865 bytes is over the limit of 67108864",
        STREAMED_BOUND_MIB,
        "zstd object 1 GiB",
    );
}

#[test]
fn lzo_bombs_are_refused_while_decoding() {
    let bomb = lzo_zeros(GIB);
    let three = raw_reply(Protocol::V2, 0, [&bomb, &bomb, &bomb]);
    assert!(three.len() < 13_000_000);
    refused(
        &three,
        ",lzo",
        "SERR body of 67108865 bytes is over the limit of 67108864",
        LZO_BOUND_MIB,
        "lzo 3 x 1 GiB",
    );
}

#[test]
fn a_protocol_1_body_over_the_limit_is_refused_at_its_header() {
    // 512 MiB declared: refused before a byte of it is read (none is sent).
    let mut reply = raw_reply(Protocol::V1, 0, [b"", b"", b""]);
    reply.truncate(reply.len() - 12);
    reply.extend_from_slice(b"DOTO20000000");
    refused(
        &reply,
        "",
        "DOTO body of 536870912 bytes is over the limit of 67108864",
        STREAMED_BOUND_MIB,
        "plain 512 MiB",
    );
}

/// `n` bytes of a pattern that no compression shortens much and a mistake would show in.
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

#[test]
fn large_plain_bodies_are_streamed_not_held() {
    // Three bodies of 40 MiB each, within the limits: a client holding any one of them whole
    // (let alone twice) would pass the bound.
    let n = 40 << 20;
    let (stderr, stdout, object) = (pattern(n, 1), pattern(n, 2), pattern(n, 3));
    let (w, _) = world();
    let port = replying_helper(raw_reply(Protocol::V1, 0, [&stderr, &stdout, &object]));
    let o = run(&w, &format!("127.0.0.1:{port}"), "big.o", false, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        text(&o).lines().last().unwrap_or("")
    );
    assert_peak(&o, STREAMED_BOUND_MIB, "plain 3 x 40 MiB");
    assert!(STREAMED_BOUND_MIB << 20 < n as u64);
    assert!(std::fs::read(w.path("src/big.o")).unwrap() == object);
    assert!(o.stdout == stdout, "stdout passed on unchanged");
    assert!(
        o.stderr.windows(4096).any(|win| win == &stderr[n - 4096..]),
        "stderr passed on"
    );
    assert!(client::client_tmp_leftovers(&w).is_empty());
}

#[test]
fn a_large_lzo_object_stays_within_its_bound() {
    // The worst an honest LZO reply costs: an incompressible object just under the limit,
    // held once compressed (the block is decoded whole) and once decompressed.
    let n = 60 << 20;
    let object = pattern(n, 4);
    let packed = dcc_proto::compress::compress(dcc_proto::Compression::Lzo, &object).unwrap();
    let (w, _) = world();
    let port = replying_helper(raw_reply(Protocol::V2, 0, [b"", b"", &packed]));
    drop(packed);
    let o = run(&w, &format!("127.0.0.1:{port},lzo"), "big.o", false, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_peak(&o, LZO_BOUND_MIB, "lzo object 60 MiB");
    assert!(std::fs::read(w.path("src/big.o")).unwrap() == object);
}

#[test]
fn a_trickling_helper_falls_back_within_the_deadline() {
    let (w, local) = world();
    let object = local.clone();
    let port = fake_helper(move |s| {
        let reply = raw_reply(Protocol::V1, 0, [b"", b"", &object]);
        for b in reply {
            if s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let start = Instant::now();
    // Each byte comes within DISTCC_IO_TIMEOUT: only the reply's deadline can end this.
    let o = run(
        &w,
        &format!("127.0.0.1:{port}"),
        "slow.o",
        true,
        &[("DISTCC_IO_TIMEOUT", "3")],
    );
    let took = start.elapsed();
    let err = text(&o);
    eprintln!("trickle: fell back after {took:?}");
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("is too slow"), "{err}");
    assert!(err.contains("running locally instead"), "{err}");
    // The documented deadline is 5 s plus the request at 64 KiB/s (a generous bound here).
    assert!(took < Duration::from_secs(40), "{took:?}");
    assert_eq!(std::fs::read(w.path("src/slow.o")).unwrap(), local);
}

#[test]
fn escapes_in_our_messages_are_escaped_and_kept_diagnostics_pass_through() {
    let (w, local) = world();
    // An unexpected token that clears the screen and resets the terminal.
    let port = replying_helper(b"\x1b[2J\x1bc\x1b]0;owned\x07 and more".to_vec());
    let o = run(&w, &format!("127.0.0.1:{port}"), "a.o", true, &[]);
    let err = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("protocol derailment"), "{err}");
    assert!(
        !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
        "{err}"
    );
    assert!(err.contains("got \"\\x1b[2J\""), "{err}");

    // STAT 110: the server's lines of a result we throw away are ours to print (and, under
    // DISTCC_FALLBACK=0, not passed on raw either).
    let serr = b"distccd[1] (dcc_x) ERROR: \x1b[2Jevil\r\n\x1b]0;title\x07\n";
    let refusal = raw_reply(Protocol::V1, wait_status_exit(110), [serr, b"", b""]);
    for fallback in [true, false] {
        let port = replying_helper(refusal.clone());
        let o = run(&w, &format!("127.0.0.1:{port}"), "b.o", fallback, &[]);
        let err = text(&o);
        let code = if fallback { 0 } else { 110 };
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert!(
            !o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07),
            "{err}"
        );
        assert!(err.contains("\\x1b[2Jevil"), "{err}");
    }
    assert_eq!(std::fs::read(w.path("src/b.o")).unwrap(), local);

    // A kept result: the compiler's colours reach the terminal as gcc wrote them.
    let colours = b"\x1b[01m\x1b[Kx.c:1:1:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning:\x1b[m\x1b[K hi\n";
    let port = replying_helper(raw_reply(Protocol::V1, 0, [colours, b"", &local]));
    let o = run(&w, &format!("127.0.0.1:{port}"), "c.o", false, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stderr.windows(colours.len()).any(|win| win == colours));
    assert_eq!(std::fs::read(w.path("src/c.o")).unwrap(), local);
}

#[test]
fn a_status_that_is_no_wait_status_never_leaves_a_stale_object() {
    let (w, local) = world();
    for status in [0x80, 0x10000] {
        for fallback in [true, false] {
            std::fs::write(w.path("src/x.o"), b"stale object from an earlier build").unwrap();
            let port = replying_helper(raw_reply(Protocol::V1, status, [b"", b"", b""]));
            let host = format!("127.0.0.1:{port}");
            let o = run(
                &w,
                &host,
                "x.o",
                fallback,
                &[("DISTCC_SKIP_LOCAL_RETRY", "1")],
            );
            let err = text(&o);
            let msg = format!(
                "{host} sent status {status:#x}, which is neither 0, an exit code nor a signal"
            );
            assert!(err.contains(&msg), "{status:#x}: {err}");
            if fallback {
                assert_eq!(o.status.code(), Some(0), "{err}");
                assert_eq!(std::fs::read(w.path("src/x.o")).unwrap(), local, "rebuilt");
            } else {
                assert_eq!(o.status.code(), Some(109), "a failing exit: {err}");
            }
        }
    }
}

/// A writer that sends one byte a second.
struct OneByteASecond(std::net::TcpStream);

impl std::io::Read for OneByteASecond {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.0, buf)
    }
}

impl Write for OneByteASecond {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(b) = buf.first() else { return Ok(0) };
        self.0.write_all(&[*b])?;
        std::thread::sleep(Duration::from_secs(1));
        Ok(1)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[test]
fn a_secure_helper_trickling_inside_a_frame_falls_back() {
    use dcc_secure::{PrivateKey, Responder, SecureStream, Verdict as Welcome};
    use std::io::Read;
    let (w, local) = world();
    let daemon_key = PrivateKey::generate().unwrap();
    let client_key = PrivateKey::generate().unwrap();
    let key_file = w.path("client.key");
    client_key.save(&key_file, "test", true).unwrap();
    let daemon_public = daemon_key.public();
    let object = local.clone();
    let port = serve_one(move |s| {
        // The daemon's side of the handshake, then the reply sealed in one frame that goes
        // out a byte a second: each byte comes well within DISTCC_IO_TIMEOUT.
        let mut head = [0u8; 8 + 2];
        s.read_exact(&mut head).unwrap();
        let mut hello = vec![0; usize::from(u16::from_be_bytes([head[8], head[9]]))];
        s.read_exact(&mut hello).unwrap();
        let resp = Responder::read_hello(&daemon_key, &hello).unwrap();
        let (welcome, session) = resp.answer(Welcome::Accepted).unwrap();
        s.write_all(&welcome).unwrap();
        let mut ss = SecureStream::new(
            OneByteASecond(s.try_clone().unwrap()),
            session.unwrap(),
            Vec::new(),
        );
        let mut request = Vec::new();
        while dcc_proto::Request::decode_all(&request, dcc_proto::Limits::default()).is_err() {
            let got = ss.recv().unwrap();
            if got.is_empty() {
                return;
            }
            let n = got.len();
            request.extend_from_slice(got);
            ss.consume(n);
        }
        let _ = ss.send(&raw_reply(Protocol::V1, 0, [b"", b"", &object]));
    });
    let known = w.path("known_hosts");
    std::fs::write(
        &known,
        format!("127.0.0.1:{port} {}\n", daemon_public.to_line("")),
    )
    .unwrap();
    let start = Instant::now();
    let o = run(
        &w,
        &format!("127.0.0.1:{port},secure"),
        "secure.o",
        true,
        &[
            ("DISTCC_IO_TIMEOUT", "3"),
            ("DISTCC_RS_KEY", key_file.to_str().unwrap()),
            ("DISTCC_RS_KNOWN_HOSTS", known.to_str().unwrap()),
        ],
    );
    let took = start.elapsed();
    let err = text(&o);
    eprintln!("secure trickle: fell back after {took:?}");
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("IO timeout"), "{err}");
    assert!(err.contains("running locally instead"), "{err}");
    // The frame is over 100 bytes: without a deadline per read this takes minutes.
    assert!(took < Duration::from_secs(40), "{took:?}");
    assert_eq!(std::fs::read(w.path("src/secure.o")).unwrap(), local);
}

/// A reply over our own limit is about this unit, not the helper: every helper would send the
/// same object. The unit is compiled here at once, the helper is not backed off and no other
/// helper is tried (review finding: a legitimately large object backed off every helper in
/// turn, and the build then ran locally for the backoff period).
#[test]
fn an_object_over_our_limit_is_compiled_here_without_backing_off_the_helpers() {
    let (w, local) = world();
    // An object of 2 MiB + 1 against a limit of 1 MiB (DISTCC_RS_REPLY_LIMIT_MB=1); a second
    // helper that would answer with a good object must not be asked.
    let big = vec![7u8; (2 << 20) + 1];
    let first = replying_helper(raw_reply(Protocol::V1, 0, [b"", b"", &big]));
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = asked.clone();
    let second = fake_helper(move |_s| seen.store(true, std::sync::atomic::Ordering::SeqCst));
    let hosts = format!("127.0.0.1:{first}/1 127.0.0.1:{second}/1");
    let o = run(
        &w,
        &hosts,
        "x.o",
        true,
        &[("DISTCC_RS_REPLY_LIMIT_MB", "1")],
    );
    let err = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("refused the reply from 127.0.0.1:{first}")),
        "{err}"
    );
    assert_eq!(std::fs::read(w.path("src/x.o")).unwrap(), local);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !asked.load(std::sync::atomic::Ordering::SeqCst),
        "the second helper was tried: {err}"
    );
    let lock_dir = w.path("distcc_dir/lock");
    let marks: Vec<String> = std::fs::read_dir(&lock_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("backoff_"))
                .collect()
        })
        .unwrap_or_default();
    assert!(marks.is_empty(), "backed off: {marks:?}");
}

/// Unmounts the tiny file system of a test when it ends.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The disk fills while the object is written (a 64 KiB tmpfs, a 1 MiB object): no truncated
/// `x.o` is left behind with a fresh time stamp for make to take as up to date (review
/// finding; distcc unlinks its output when receiving it fails). With fallback on, the local
/// compile then writes the small real object.
#[test]
fn an_object_cut_short_by_a_full_disk_is_not_left_behind() {
    assert!(
        dcc_testkit::bins::is_root(),
        "this test mounts a tiny tmpfs and needs root (CI runs as root)"
    );
    let (w, local) = world();
    let out_dir = w.path("tiny");
    std::fs::create_dir_all(&out_dir).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&out_dir)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs");
    let _mounted = Tmpfs(out_dir.clone());
    let object: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    let out = out_dir.join("x.o");
    for fallback in [false, true] {
        let port = replying_helper(raw_reply(Protocol::V1, 0, [b"", b"", &object]));
        let o = run(
            &w,
            &format!("127.0.0.1:{port}"),
            &out.to_string_lossy(),
            fallback,
            &[],
        );
        let err = text(&o);
        if fallback {
            assert_eq!(o.status.code(), Some(0), "{err}");
            assert_eq!(std::fs::read(&out).unwrap(), local, "the local object");
            std::fs::remove_file(&out).unwrap();
        } else {
            assert_ne!(o.status.code(), Some(0), "{err}");
            assert!(!out.exists(), "a truncated object was left: {err}");
        }
    }
}
