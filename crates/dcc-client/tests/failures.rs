//! A failed helper never fails the build: dead, refusing, silent, resetting, truncating,
//! garbling and killed helpers all end in a correct object (or, under `DISTCC_FALLBACK=0`, in
//! distcc's exit code), and the host gets a backoff mark.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use dcc_testkit::client::{self, client_tmp_leftovers};
use dcc_testkit::daemon::{DaemonOptions, free_port};
use dcc_testkit::{Daemon, DaemonKind, World, compare, workload};

fn backoff(w: &World, port: u16) -> std::path::PathBuf {
    w.path(&format!("distcc_dir/lock/backoff_tcp_127.0.0.1_{port}_0"))
}

#[test]
fn make_survives_dead_refusing_and_killed_helpers() {
    let name = "lua";
    let w = World::new();
    let reference = workload::reference_objects(name);
    let dead = free_port();
    let mut refusing_opts = DaemonOptions::new(DaemonKind::Ours);
    refusing_opts.allow = vec!["127.0.0.2".into()];
    let refusing = Daemon::start(&w, refusing_opts);
    let victim = Daemon::debian(&w);
    let good = Daemon::ours(&w);
    let hosts = format!(
        "127.0.0.1:{dead} {} {}/2 {}/2",
        refusing.host(),
        victim.host(),
        good.host()
    );
    let build = w.path("build");
    let cc = format!("{} gcc", dcc_testkit::bins::ours("distcc").display());
    let dir = workload::prepare(name);
    std::fs::create_dir_all(&build).unwrap();
    let mut make = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&build)
        .arg("-f")
        .arg(dir.join("Makefile"))
        .arg("-j4")
        .arg(format!("CC={cc}"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &build)
        .env("DISTCC_HOSTS", &hosts)
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("TMPDIR", w.path("client_tmp"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::create_dir_all(w.path("client_tmp")).unwrap();
    // Let the victim finish a few jobs, then kill its whole process group mid-build.
    victim.wait_log(" COMPILE_OK ", 3);
    assert!(
        make.try_wait().unwrap().is_none(),
        "the build ended before the helper could be killed"
    );
    // SAFETY: kill(2) on the daemon's process group (Debian's distccd leads its own group).
    unsafe { libc::kill(-(victim.pid() as i32), libc::SIGKILL) };
    let mut stderr = String::new();
    make.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let st = make.wait().unwrap();
    assert!(st.success(), "the build failed:\n{stderr}");
    let diffs = compare::trees(&reference, &build.join("obj"));
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(backoff(&w, dead).exists(), "dead host backed off");
    assert!(
        backoff(&w, refusing.port).exists(),
        "refusing host backed off"
    );
    assert!(backoff(&w, victim.port).exists(), "killed host backed off");
    assert!(!backoff(&w, good.port).exists());
    assert!(
        good.log_text().contains(" COMPILE_OK "),
        "the surviving helper took over"
    );
    assert!(
        stderr.contains(&format!("failed to connect to 127.0.0.1:{dead}")),
        "the dead host was tried and logged:\n{stderr}"
    );
    assert!(client_tmp_leftovers(&w).is_empty());
}

/// How a fake helper misbehaves after reading the whole request.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Never answers (the client's DISTCC_IO_TIMEOUT ends it).
    Silent,
    /// Closes with a reset.
    Reset,
    /// Starts a valid reply and stops inside the object.
    Truncated,
    /// Answers with something that is not distcc's protocol.
    Garbage,
}

/// A one-connection fake helper on 127.0.0.1; returns its port.
fn fake_helper(how: Misbehaviour) -> u16 {
    dcc_testkit::helper::fake_helper(move |s| match how {
        Misbehaviour::Silent => std::thread::sleep(Duration::from_secs(30)),
        Misbehaviour::Reset => {
            let _ = socket_linger_zero(s);
        }
        Misbehaviour::Truncated => {
            let _ =
                s.write_all(b"DONE00000001STAT00000000SERR00000000SOUT00000000DOTO00000400\x7fELF");
            std::thread::sleep(Duration::from_millis(100));
        }
        Misbehaviour::Garbage => {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn socket_linger_zero(s: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt with a valid linger struct; closing then sends RST.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const l).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn misbehaving_helpers_fall_back_or_give_distccs_exit_code() {
    let w = World::new();
    w.write("src/x.c", "int x(void) { return 9; }\n");
    let st = Command::new("gcc")
        .args(["-c", "x.c", "-o", "local.o"])
        .current_dir(w.path("src"))
        .status()
        .unwrap();
    assert!(st.success());
    let local = std::fs::read(w.path("src/local.o")).unwrap();
    for (how, code) in [
        (Misbehaviour::Silent, 107),
        (Misbehaviour::Reset, 107),
        (Misbehaviour::Truncated, 108),
        (Misbehaviour::Garbage, 109),
    ] {
        for fallback in [true, false] {
            let port = fake_helper(how);
            let out = format!("{how:?}-{fallback}.o");
            let mut c = client::ours(&w, &format!("127.0.0.1:{port}"));
            c.args(["gcc", "-c", "x.c", "-o", &out])
                .env("DISTCC_IO_TIMEOUT", "1")
                .env("DISTCC_FALLBACK", if fallback { "1" } else { "0" });
            let start = Instant::now();
            let o = c.output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(start.elapsed() < Duration::from_secs(20), "{how:?} hung");
            if fallback {
                assert_eq!(o.status.code(), Some(0), "{how:?}: {err}");
                assert!(err.contains("running locally instead"), "{how:?}: {err}");
                assert_eq!(std::fs::read(w.path(&format!("src/{out}"))).unwrap(), local);
            } else {
                assert_eq!(o.status.code(), Some(code), "{how:?}: {err}");
                assert!(!w.path(&format!("src/{out}")).exists(), "{how:?}");
            }
            assert!(backoff(&w, port).exists(), "{how:?} backed off");
        }
    }
    assert!(client_tmp_leftovers(&w).is_empty());
}

#[test]
fn backoff_period_zero_neither_marks_nor_loops() {
    let w = World::new();
    w.write("src/x.c", "int x;\n");
    let dead: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let hosts: Vec<String> = dead.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut c = client::ours(&w, &hosts.join(" "));
    c.args(["gcc", "-c", "x.c", "-o", "x.o"])
        .env("DISTCC_BACKOFF_PERIOD", "0");
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        err.matches("failed to connect").count(),
        3,
        "three attempts, then local: {err}"
    );
    assert!(err.contains("Couldn't find a host in 3 attempts"), "{err}");
    for p in dead {
        assert!(!backoff(&w, p).exists());
    }
}
