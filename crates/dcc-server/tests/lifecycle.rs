//! The daemon's life: exit codes, pid file, signals, disconnects, job lifetime, --jobs,
//! many clients at once, the stats page.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::wire::{decode_reply, exchange, preprocess, request};
use dcc_testkit::{Daemon, DaemonKind, World, bins};

const T: Duration = Duration::from_secs(60);

/// A fake compiler that sleeps `secs`, then touches `<marker>` and runs gcc.
fn slow_compiler(w: &World, name: &str, secs: u32) -> (PathBuf, PathBuf) {
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let marker = w.path(&format!("logs/{name}-finished"));
    let script = format!(
        "#!/bin/sh\nsleep {secs}\ntouch {}\nexec gcc \"$@\"\n",
        marker.display()
    );
    let p = bin.join(name);
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, marker)
}

fn opts_with_bin(bin: &std::path::Path, names: &[&str]) -> DaemonOptions {
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.whitelist.extend(names.iter().map(|s| s.to_string()));
    o.env(
        "PATH",
        &format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
    )
}

fn distccd(args: &[&str], w: &World) -> std::process::Output {
    Command::new(bins::ours("distccd"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", w.path("tmp"))
        .env("DISTCC_RS_WHITELIST_DIR", w.whitelist(&["gcc"]))
        .output()
        .unwrap()
}

#[test]
fn exit_codes_are_distccs() {
    let w = World::new();
    let o = distccd(&["--bogus-option"], &w);
    assert_eq!(o.status.code(), Some(101));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--bogus-option: unknown option"));
    assert_eq!(distccd(&["--port", "80000"], &w).status.code(), Some(101));
    assert_eq!(distccd(&["--jobs", "0"], &w).status.code(), Some(101));
    assert_eq!(
        distccd(&["--allow", "1.2.3.4/40"], &w).status.code(),
        Some(101)
    );
    let o = distccd(&["--version"], &w);
    assert_eq!(o.status.code(), Some(0));
    let v = String::from_utf8_lossy(&o.stdout);
    assert!(v.starts_with("distccd 3.4 "), "{v}");
    assert!(
        v.lines().nth(1).unwrap().contains("(protocols 1, 2 and 3)"),
        "{v}"
    );
    let o = distccd(&["--help"], &w);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("--allow"));
    // The port is taken: 102.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = distccd(
        &[
            "--no-detach",
            "--daemon",
            "--listen",
            "127.0.0.1",
            "--port",
            &port,
            "--log-stderr",
            "--allow",
            "127.0.0.1",
        ],
        &w,
    );
    assert_eq!(
        o.status.code(),
        Some(102),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // No whitelist directory: 110, with distcc's advice.
    let port = dcc_testkit::daemon::free_port().to_string();
    let o = Command::new(bins::ours("distccd"))
        .args([
            "--no-detach",
            "--daemon",
            "--listen",
            "127.0.0.1",
            "--port",
            &port,
            "--log-stderr",
            "--allow",
            "127.0.0.1",
        ])
        .env_clear()
        .env("TMPDIR", w.path("tmp"))
        .env("DISTCC_RS_WHITELIST_DIR", w.path("no-such-dir"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(110));
    assert!(String::from_utf8_lossy(&o.stderr).contains("update-distcc-symlinks"));
}

#[test]
fn detaches_after_binding_and_writes_the_pid_file() {
    let w = World::new();
    let port = dcc_testkit::daemon::free_port();
    let pid_file = w.path("logs/distccd.pid");
    let log = w.path("logs/d.log");
    let st = Command::new(bins::ours("distccd"))
        .args([
            "--daemon",
            "--listen",
            "127.0.0.1",
            "--allow",
            "127.0.0.1",
            "--port",
        ])
        .arg(port.to_string())
        .arg("--pid-file")
        .arg(&pid_file)
        .arg("--log-file")
        .arg(&log)
        .env_clear()
        .env("TMPDIR", w.path("tmp"))
        .env("DISTCC_RS_WHITELIST_DIR", w.whitelist(&["gcc"]))
        .status()
        .unwrap();
    assert!(st.success());
    // As distcc: connectable as soon as the parent returned; the pid file names the daemon.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening already");
    // SAFETY: signals to the daemon we started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    while pid_file.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_file.exists(), "pid file removed at exit");
}

#[test]
fn a_client_that_disconnects_gets_its_compile_killed() {
    let w = World::new();
    let (bin, marker) = slow_compiler(&w, "slow-gcc", 3);
    let d = Daemon::start(&w, opts_with_bin(&bin, &["slow-gcc"]));
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let mut s = std::net::TcpStream::connect(d.addr()).unwrap();
    s.write_all(&request(1, &["slow-gcc", "-c", "x.c", "-o", "x.o"], &doti))
        .unwrap();
    d.wait_log("forking to execute", 1);
    drop(s);
    let log = d.wait_log("CLI_DISCONN", 1);
    assert!(log.contains("Client fd disconnected, killing job"), "{log}");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !marker.exists(),
        "the compiler was killed before it finished"
    );
    assert!(w.tmp_leftovers().is_empty());
}

#[test]
fn job_lifetime_kills_long_compiles() {
    let w = World::new();
    let (bin, marker) = slow_compiler(&w, "slow-gcc", 20);
    let d = Daemon::start(
        &w,
        opts_with_bin(&bin, &["slow-gcc"])
            .arg("--job-lifetime")
            .arg("1"),
    );
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(1, &["slow-gcc", "-c", "x.c", "-o", "x.o"], &doti),
        T,
    );
    let r = decode_reply(&ex.reply, 1).unwrap();
    assert_eq!(r.status, 118 << 8, "EXIT_TIMEOUT");
    assert!(String::from_utf8_lossy(&r.stderr).contains("--job-lifetime"));
    d.wait_log("COMPILE_TIMEOUT", 1);
    assert!(!marker.exists());
    assert!(w.tmp_leftovers().is_empty());
}

#[test]
fn sigterm_kills_jobs_and_cleans_up() {
    let w = World::new();
    let (bin, marker) = slow_compiler(&w, "slow-gcc", 5);
    let mut d = Daemon::start(
        &w,
        opts_with_bin(&bin, &["slow-gcc"])
            .arg("--pid-file")
            .arg(&w.path("logs/pid").to_string_lossy()),
    );
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let mut s = std::net::TcpStream::connect(d.addr()).unwrap();
    s.write_all(&request(1, &["slow-gcc", "-c", "x.c", "-o", "x.o"], &doti))
        .unwrap();
    d.wait_log("forking to execute", 1);
    assert_eq!(
        w.tmp_leftovers().len(),
        1,
        "the job's directory exists while it runs"
    );
    d.signal(libc::SIGTERM);
    let st = d
        .wait(Duration::from_secs(15))
        .expect("daemon exits on SIGTERM");
    assert_eq!(st.code(), Some(0));
    assert!(w.tmp_leftovers().is_empty(), "{:?}", w.tmp_leftovers());
    assert!(!w.path("logs/pid").exists());
    let mut rest = Vec::new();
    s.set_read_timeout(Some(T)).unwrap();
    let _ = s.read_to_end(&mut rest);
    std::thread::sleep(Duration::from_secs(6));
    assert!(!marker.exists(), "the compile was killed");
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn two_hundred_clients_against_two_jobs_all_complete() {
    let w = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.jobs = Some(2);
    o.stats = true;
    let d = Daemon::start(&w, o);
    w.write("src/x.c", "int x(void) { return 42; }\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(2, &["gcc", "-c", "x.c", "-o", "x.o"], &doti);
    let addr = d.addr();
    let threads: Vec<_> = (0..200)
        .map(|_| {
            let req = req.clone();
            std::thread::spawn(move || {
                let ex = exchange(addr, &req, Duration::from_secs(300));
                decode_reply(&ex.reply, 2).map(|r| r.status)
            })
        })
        .collect();
    let mut ok = 0;
    for t in threads {
        if t.join().unwrap() == Ok(0) {
            ok += 1;
        }
    }
    assert_eq!(ok, 200);
    d.wait_log("COMPILE_OK", 200);
    // Bounded: requests wait in the backlog, not in memory. Generous ceiling, not a benchmark.
    let hwm = vm_hwm_kib(d.pid());
    assert!(hwm < 64 * 1024, "peak RSS {hwm} KiB");
    let page = exchange(
        std::net::SocketAddr::from(([127, 0, 0, 1], d.stats_port.unwrap())),
        b"GET / HTTP/1.0\r\n\r\n",
        T,
    );
    let page = String::from_utf8(page.reply).unwrap();
    assert!(page.contains("\ndcc_compile_ok 200\n"), "{page}");
    assert!(page.contains("\ndcc_max_kids 2\n"), "{page}");
    assert!(page.contains("\ndcc_tcp_accept 200\n"), "{page}");
    assert!(w.tmp_leftovers().is_empty());
}

#[test]
fn jobs_limit_is_enforced() {
    let w = World::new();
    let (bin, _marker) = slow_compiler(&w, "slow-gcc", 1);
    // The fake compiler records how many copies run at once.
    let counter = w.path("logs/running");
    let peak = w.path("logs/peak");
    let script = format!(
        "#!/bin/sh\nset -e\nexec 9>>{c}.lock\nflock 9\nn=$(($(cat {c} 2>/dev/null || echo 0)+1))\necho $n > {c}\np=$(cat {p} 2>/dev/null || echo 0)\n[ $n -gt $p ] && echo $n > {p}\nflock -u 9\nsleep 0.3\nflock 9\necho $(($(cat {c})-1)) > {c}\nflock -u 9\nexec gcc \"$@\"\n",
        c = counter.display(),
        p = peak.display()
    );
    let cc = bin.join("count-gcc");
    std::fs::write(&cc, script).unwrap();
    std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut o = opts_with_bin(&bin, &["count-gcc"]);
    o.jobs = Some(2);
    let d = Daemon::start(&w, o);
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let req = request(1, &["count-gcc", "-c", "x.c", "-o", "x.o"], &doti);
    let addr = d.addr();
    let ts: Vec<_> = (0..8)
        .map(|_| {
            let req = req.clone();
            std::thread::spawn(move || {
                decode_reply(&exchange(addr, &req, T).reply, 1)
                    .unwrap()
                    .status
            })
        })
        .collect();
    for t in ts {
        assert_eq!(t.join().unwrap(), 0);
    }
    let peak: u32 = std::fs::read_to_string(&peak)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        peak, 2,
        "at most --jobs compiles at once, and the limit was reached"
    );
}

#[test]
fn no_allow_means_private_ranges_with_distccs_warning() {
    let w = World::new();
    let mut o = DaemonOptions::new(DaemonKind::Ours);
    o.allow.clear();
    let d = Daemon::start(&w, o);
    // As distcc, said on stderr before the log is redirected, "so that it's really obvious".
    assert!(
        d.stderr_text()
            .contains("No --allow option specified. Defaulting to --allow-private.")
    );
    w.write("src/x.c", "int x;\n");
    let doti = preprocess(&w.path("src"), "x.c", &[]);
    let ex = exchange(
        d.addr(),
        &request(1, &["gcc", "-c", "x.c", "-o", "x.o"], &doti),
        T,
    );
    assert_eq!(
        decode_reply(&ex.reply, 1).unwrap().status,
        0,
        "127.0.0.1 is private"
    );
}

#[test]
fn tells_systemd_when_ready() {
    use std::os::unix::net::UnixDatagram;
    let w = World::new();
    let sock_path = w.path("logs/notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    // The daemon drops root before it notifies: let it write to the socket.
    std::fs::set_permissions(&sock_path, std::fs::Permissions::from_mode(0o777)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let o = DaemonOptions::new(DaemonKind::Ours).env("NOTIFY_SOCKET", &sock_path.to_string_lossy());
    let d = Daemon::start(&w, o);
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("a notification");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.contains("READY=1"), "{msg}");
    assert!(msg.contains(&format!("MAINPID={}", d.pid())), "{msg}");
    // And it is accepting by then.
    std::net::TcpStream::connect(d.addr()).expect("accepting when READY");
}
