//! Issue 10 ("what an attacker's review of distccd found"): each hostile input from the
//! review, sent to a real daemon. Every test checks the daemon is alive, nothing is left in its
//! TMPDIR, and the next honest client is served.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;

use common::{disk_use, exchange_from, files_below, peak_rss, zstd_request};
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

/// Issue 10, hole 2: a 32 KiB zstd body that inflates to 1 GiB made the daemon hold ~2 GB of
/// memory and write 1 GB to TMPDIR before any --jobs slot; 32 such connections are read at
/// once. Eight at once now cost a bounded amount of memory (the memory budget, 256 MiB by
/// default, plus the daemon itself: docs/decisions/daemon.md) and at most the disk budget
/// (here 128 MiB); each is refused with the reason, and an honest client is served after.
#[test]
fn hole2_eight_zstd_bombs_at_once_stay_within_memory_and_disk_budgets() {
    const DISK: u64 = 128 << 20;
    const MEMORY_BOUND: u64 = 320 << 20; // --receive-memory (256 MiB) + 64 MiB
    let w = World::new();
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .arg("--jobs")
            .arg("2")
            .arg("--receive-disk")
            .arg("128M"),
    );
    let bomb = dcc_proto::compress::zstd_rle_frame(8192);
    assert!(bomb.len() < 33 * 1024, "the review's 30 KiB body");
    let req = zstd_request(&bomb);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        let tmp = w.path("tmp");
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(disk_use(&tmp));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let req = req.clone();
            let addr = d.addr();
            std::thread::spawn(move || exchange(addr, &req, T))
        })
        .collect();
    for c in clients {
        let ex = c.join().unwrap();
        let r = decode_reply(&ex.reply, 0x102).expect("a refusal, not a closed connection");
        let serr = String::from_utf8_lossy(&r.stderr);
        assert!(
            (r.status == 113 << 8 && serr.contains("--max-input-size"))
                || (r.status == 114 << 8 && serr.contains("--receive-disk")),
            "status {:#x}: {serr}",
            r.status
        );
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let disk_peak = sampler.join().unwrap();
    let rss = peak_rss(d.pid());
    eprintln!(
        "8 zstd bombs: daemon peak RSS {} MiB, peak disk {} MiB",
        rss >> 20,
        disk_peak >> 20
    );
    assert!(rss > 0 && rss < MEMORY_BOUND, "peak RSS {rss}");
    assert!(disk_peak <= DISK, "peak disk {disk_peak}");
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
    assert_tmp_clean(&w);
}

/// Issue 10, hole 2, in protocol 3: a pump `FILE` that inflates past --max-input-size is
/// refused with the reason (and the rest of the request read, undecoded).
#[test]
fn hole2_a_pump_file_bomb_is_refused() {
    let w = World::new();
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .arg("--max-input-size")
            .arg("16M"),
    );
    let files = vec![
        dcc_proto::FileEntry::File {
            name: "/src/m.c".into(),
            contents: b"int m;\n".to_vec(),
        },
        dcc_proto::FileEntry::File {
            name: "/src/bomb.h".into(),
            contents: Vec::new(),
        },
        dcc_proto::FileEntry::File {
            name: "/src/after.h".into(),
            contents: b"int after;\n".to_vec(),
        },
    ];
    let mut req = Vec::new();
    let argv: Vec<String> = ["gcc", "-c", "m.c", "-o", "m.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let p = dcc_proto::Protocol::ZSTD_PUMP;
    dcc_proto::encode_request_header(&mut req, p, Some("/src"), &argv).unwrap();
    // Encode the files, then swap the empty body of bomb.h for the bomb.
    let mut tail = Vec::new();
    dcc_proto::encode_files(&mut tail, p, &files).unwrap();
    let marker = b"NAME0000000b/src/bomb.hFILE00000000";
    let at = tail
        .windows(marker.len())
        .position(|x| x == marker)
        .unwrap()
        + marker.len()
        - 12;
    let mut bomb_file = Vec::new();
    dcc_proto::token::encode_body(
        &mut bomb_file,
        dcc_proto::Token::FILE,
        &dcc_proto::compress::zstd_rle_frame(8192),
    )
    .unwrap();
    tail.splice(at..at + 12, bomb_file);
    req.extend_from_slice(&tail);
    let ex = exchange(d.addr(), &req, T);
    let r = decode_reply(&ex.reply, 0x103).expect("a refusal");
    assert_eq!(r.status, 113 << 8);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(serr.contains("--max-input-size"), "{serr}");
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
}

/// Issue 10, weakness 4: 32 connections that each sent 8 bytes stopped all service at -j 2
/// (the read timeout is per read). With 200 half-sent requests open from one address, a
/// client from another address is served while they are all still open (their deadline,
/// 120 s here, is far beyond the client's 30 s timeout).
#[test]
fn weakness4_200_half_sent_requests_from_one_address_do_not_stop_another() {
    let w = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours)
        .arg("--jobs")
        .arg("2")
        .env("DISTCC_RS_HEADER_TIMEOUT", "120");
    o.allow = vec!["127.0.0.0/8".into()];
    let d = Daemon::start(&w, o);
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(d.addr()).unwrap();
            s.write_all(b"DIST0000").unwrap();
            s
        })
        .collect();
    w.write("src/h.c", "int h(void) { return 2; }\n");
    let doti = preprocess(&w.path("src"), "h.c", &[]);
    let req = request(2, &["gcc", "-c", "h.c", "-o", "h.o"], &doti);
    let reply = exchange_from("127.0.0.2", d.addr(), &req, T);
    let r = decode_reply(&reply, 2).expect("honest reply");
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    // The idle ones were admitted up to the address's limit; the rest wait.
    d.wait_log("unfinished requests already", 1);
    drop(idle);
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
}

/// Issue 10, weakness 4: trickling a byte now and then held a connection forever. The whole
/// header must arrive within DISTCC_RS_HEADER_TIMEOUT (2 s here) of the connection.
#[test]
fn weakness4_a_trickled_header_is_cut_off_at_its_deadline() {
    use std::io::Read;
    let w = World::new();
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours).env("DISTCC_RS_HEADER_TIMEOUT", "2"),
    );
    let req = request(2, &["gcc", "-c", "x.c", "-o", "x.o"], b"int x;\n");
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let start = Instant::now();
    let mut closed = false;
    for b in &req[..60] {
        if s.write_all(std::slice::from_ref(b)).is_err() {
            closed = true;
            break;
        }
        let mut one = [0u8; 1];
        match s.read(&mut one) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => panic!("the daemon answered a trickled header"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
        assert!(start.elapsed() < T, "still open after {T:?}");
    }
    assert!(
        closed,
        "the trickling connection outlived 60 bytes at 300 ms each"
    );
    d.wait_log("request header not complete within 2s", 1);
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
}

/// Issue 10, weakness 4: under --require-auth, peers without a key (inside --allow) that
/// connected and sent nothing held every intake slot, locking authorized clients out. Now they
/// hold only their own address's places, for at most the 10 s hello deadline, and never the
/// intake: an authorized client (no local fallback) compiles on the helper while 200 of them
/// are open.
#[test]
fn weakness4_clients_without_a_key_do_not_lock_out_authorized_ones() {
    let w = World::new();
    let client = dcc_secure::PrivateKey::generate().unwrap();
    let host = dcc_secure::PrivateKey::generate().unwrap();
    client
        .save(&w.path("distcc_dir/client.key"), "tester@client", false)
        .unwrap();
    let host_key = w.path("host.key");
    host.save(&host_key, "helper", false).unwrap();
    let authorized = w.write(
        "authorized_keys",
        format!("{}\n", client.public().to_line("tester@client")),
    );
    let mut o = DaemonOptions::new(DaemonKind::Ours)
        .arg("--jobs")
        .arg("2")
        .arg("--require-auth")
        .arg("--auth-keys")
        .arg(&authorized.to_string_lossy())
        .arg("--host-key")
        .arg(&host_key.to_string_lossy());
    o.allow = vec!["127.0.0.0/8".into()];
    let d = Daemon::start(&w, o);
    w.write(
        "distcc_dir/known_hosts",
        format!("{} {}\n", d.addr(), host.public().to_line("helper")),
    );
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| {
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            let local: std::net::SocketAddr = "127.0.0.2:0".parse().unwrap();
            sock.bind(&local.into()).unwrap();
            sock.connect(&d.addr().into()).unwrap();
            sock.into()
        })
        .collect();
    w.write("src/x.c", "int x(void) { return 3; }\n");
    let mut c = dcc_testkit::client::ours(&w, &format!("{},secure", d.host()));
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_FALLBACK", "0")
        .env("DISTCC_BACKOFF_PERIOD", "0");
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.wait_log(" COMPILE_OK ", 1);
    assert!(d.log_text().contains("secure session from 127.0.0.1"));
    drop(idle);
    assert_tmp_clean(&w);
}

/// Found by the soak (issue 10): a client that disconnected while its job was queued for a
/// --jobs slot kept its place and its job directory until its turn came, and then started a
/// compiler. Now it leaves the queue at once.
#[test]
fn a_client_gone_while_queued_leaves_the_queue_at_once() {
    let w = World::new();
    let runs = w.path("logs/runs");
    let fake = w.write(
        "fakebin/x86_64-linux-gnu-gcc",
        format!("#!/bin/sh\necho run >> {}\nexec sleep 3\n", runs.display()),
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", w.path("fakebin").display());
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .arg("--jobs")
            .arg("1")
            .env("DISTCCD_PATH", &path),
    );
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(
        2,
        &["x86_64-linux-gnu-gcc", "-c", "x.c", "-o", "x.o"],
        &doti,
    );
    // The first job takes the only slot; the second queues, then its client leaves.
    let mut first = TcpStream::connect(d.addr()).unwrap();
    first.write_all(&req).unwrap();
    d.wait_log("forking to execute", 1);
    let mut second = TcpStream::connect(d.addr()).unwrap();
    second.write_all(&req).unwrap();
    d.wait_log("compile from x.c to x.o", 2);
    drop(second);
    d.wait_log("disconnected while queued", 1);
    // Its summary line comes once its directory is gone.
    d.wait_log("CLI_DISCONN", 1);
    assert_eq!(
        w.tmp_leftovers().len(),
        1,
        "only the running job's directory"
    );
    drop(first);
    d.wait_log("CLI_DISCONN", 2);
    assert_tmp_clean(&w);
    let runs = std::fs::read_to_string(&runs).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1, "the queued job never ran");
    honest_client_is_served(&w, &d);
}

/// Issue 10, hole 2, for LZO (protocols 2 and 3): one raw block cannot be streamed, so it is
/// decoded with its output bounded by --max-input-size (and weighed in the memory budget). A
/// 1 MiB block that expands to 255 MiB (one match of distance 1 whose length is 1 MiB of zero
/// bytes) is refused with the reason.
#[test]
fn hole2_an_lzo_bomb_is_refused() {
    let w = World::new();
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .arg("--max-input-size")
            .arg("16M"),
    );
    // "aaaa" (a first literal run), M3 distance 1 with an extended length, the end marker.
    let mut block = vec![17 + 4, b'a', b'a', b'a', b'a', 0x20];
    block.extend(std::iter::repeat_n(0u8, 1 << 20));
    block.extend_from_slice(&[0x01, 0x00, 0x00, 0x11, 0x00, 0x00]);
    let mut req = Vec::new();
    let argv: Vec<String> = ["gcc", "-c", "x.c", "-o", "x.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    dcc_proto::encode_request_header(&mut req, dcc_proto::Protocol::V2, None, &argv).unwrap();
    dcc_proto::token::encode_body(&mut req, dcc_proto::Token::DOTI, &block).unwrap();
    let ex = exchange(d.addr(), &req, T);
    let r = decode_reply(&ex.reply, 2).expect("a refusal");
    assert_eq!(r.status, 113 << 8);
    let serr = String::from_utf8_lossy(&r.stderr);
    assert!(serr.contains("--max-input-size"), "{serr}");
    assert!(peak_rss(d.pid()) < 128 << 20);
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
}

/// Issue 10, hole 2: the budget must not refuse honest work. A plain LZO request whose body is
/// over 1 MiB compressed (3 MB of preprocessed source) is served, within the default budget.
#[test]
fn hole2_a_large_honest_lzo_body_is_served() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let mut src = String::from("const unsigned char big[] = {\n");
    let mut x = 12_345u32;
    for i in 0..800_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        src.push_str(&format!("{},", (x >> 16) & 0xff));
        if i % 32 == 31 {
            src.push('\n');
        }
    }
    src.push_str("};\n");
    w.write("src/big.c", &src);
    let doti = preprocess(&w.path("src"), "big.c", &[]);
    let wire = dcc_proto::compress::compress(dcc_proto::Compression::Lzo, &doti).unwrap();
    assert!(wire.len() > 1 << 20, "compressed {} bytes", wire.len());
    let ex = exchange(
        d.addr(),
        &request(2, &["gcc", "-c", "big.c", "-o", "big.o"], &doti),
        T,
    );
    let r = decode_reply(&ex.reply, 2).expect("reply");
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    assert!(r.object.len() > 800_000);
    assert_tmp_clean(&w);
}

/// Issue 10, review of the fix: only decoded body bytes were charged, so one protocol-3
/// request of zero-length FILEs named `/xN/b/b/…/f` made a directory for every component,
/// free of charge and each a synchronous mkdir on a runtime worker (100 000 such names make
/// 12.7 million). 300 names of 100 components (30 000 directories) are refused at the
/// request's limit of 10 000 directories, with the reason; nothing is left.
#[test]
fn a_pump_tree_of_30000_directories_is_refused_at_the_directory_limit() {
    let w = World::new();
    let d = Daemon::ours(&w);
    let files: Vec<dcc_proto::FileEntry> = (0..300)
        .map(|i| dcc_proto::FileEntry::File {
            name: format!("/x{i}/{}f.h", "b/".repeat(99)),
            contents: Vec::new(),
        })
        .collect();
    let argv: Vec<String> = ["gcc", "-c", "m.c", "-o", "m.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let p = dcc_proto::Protocol::ZSTD_PUMP;
    let mut req = Vec::new();
    dcc_proto::encode_request_header(&mut req, p, Some("/src"), &argv).unwrap();
    dcc_proto::encode_files(&mut req, p, &files).unwrap();
    let t0 = Instant::now();
    let ex = exchange(d.addr(), &req, T);
    eprintln!("refused after {:?}", t0.elapsed());
    let r = decode_reply(&ex.reply, 0x103).expect("a refusal");
    let serr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status, 113 << 8, "{serr}");
    assert!(serr.contains("more than 10000 directories"), "{serr}");
    assert_tmp_clean(&w);
    honest_client_is_served(&w, &d);
    assert_tmp_clean(&w);
}

/// Issue 10, review of the fix: the header had a deadline, a body only the per-read timeout
/// (300 s), so a client that sent a header and a `DOTI` declaring a 2 MiB LZO body, then one
/// byte a second, held its intake place and 2 MiB of memory (here all of --receive-memory)
/// for days: every LZO client after it was refused 114. The body must now be in within
/// DISTCC_RS_BODY_TIMEOUT (2 s) + 2 MiB at DISTCC_RS_BODY_RATE (1 MiB/s): 4 s.
#[test]
fn a_trickled_lzo_body_is_cut_off_and_its_memory_freed() {
    trickle_a_body(&["gcc", "-c", "x.c", "-o", "x.o"]);
}

/// The same after a refused header: the rest of the request was read (so the client gets the
/// reason) with only the per-read timeout, keeping the intake place of a trickler for ever.
#[test]
fn a_trickled_body_after_a_refused_header_is_cut_off() {
    trickle_a_body(&["gcc", "-c", "x.c", "-o", "x.o", "-fplugin=/tmp/evil.so"]);
}

/// Send `argv`'s header and a DOTI declaring 2 MiB, then a byte a second: the daemon must
/// close the connection at the body's deadline and serve the next client.
fn trickle_a_body(argv: &[&str]) {
    use std::io::Read;
    let w = World::new();
    let d = Daemon::start(
        &w,
        DaemonOptions::new(DaemonKind::Ours)
            .arg("--receive-memory")
            .arg("2M")
            .env("DISTCC_RS_BODY_TIMEOUT", "2")
            .env("DISTCC_RS_BODY_RATE", "1024"),
    );
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let mut req = Vec::new();
    dcc_proto::encode_request_header(&mut req, dcc_proto::Protocol::V2, None, &argv).unwrap();
    req.extend_from_slice(format!("DOTI{:08x}", 2 << 20).as_bytes());
    let mut s = TcpStream::connect(d.addr()).unwrap();
    s.write_all(&req).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < T,
            "a body trickled at a byte a second still open after {T:?}"
        );
        if s.write_all(b"\x11").is_err() {
            break;
        }
        let mut one = [0u8; 1];
        match s.read(&mut one) {
            Ok(0) => break,
            Ok(_) => panic!("the daemon answered a trickled body"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
    }
    d.wait_log("request body not complete within its deadline", 1);
    assert_tmp_clean(&w);
    // An LZO client needs memory from the budget the trickler held.
    honest_client_is_served(&w, &d);
    assert_tmp_clean(&w);
}
