//! LZO interop with the real miniLZO, over the wire: Debian's distccd (distcc 3.4) decodes a
//! protocol-2 `DOTI` compressed by our encoder, compiles it, and sends back a `DOTO`
//! compressed by miniLZO, which our decoder must turn into exactly the object file that
//! `gcc -c` of the same `.i` gives locally.
//!
//! The request is written by hand from docs/distcc-3.4.md §1.3/§1.5/§1.7, so this test
//! depends only on the LZO module, not on the rest of dcc-proto.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcc_proto::lzo;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

const DISTCCD: &str = "/usr/bin/distccd";
/// distcc's EXIT_BIND_FAILED: the port was taken between our probe and distccd's bind.
const EXIT_BIND_FAILED: i32 = 102;
const MAX_BODY: usize = 64 << 20;

const SOURCE: &str = "#include <stdio.h>\n\
    static const char greeting[] = \"hello from distcc-rs\";\n\
    int twice(int x) { return 2 * x; }\n\
    int main(void) { printf(\"%s %d\\n\", greeting, twice(21)); return 0; }\n";

/// A distccd in its own process group; the group is terminated on drop (also on panic).
struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // distccd pre-forks workers into the group we created for it.
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn start_distccd(log: &Path) -> Daemon {
    assert!(
        Path::new(DISTCCD).exists(),
        "{DISTCCD} is missing: install distcc (apt-get install distcc) to run the LZO interop test"
    );
    for _ in 0..10 {
        let port = free_port();
        let log_file = std::fs::File::create(log).expect("create log");
        let child = Command::new(DISTCCD)
            .args([
                "--no-detach",
                "--daemon",
                "--allow",
                "127.0.0.1",
                "--listen",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string()])
            .args(["--log-stderr", "--enable-tcp-insecure"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .expect("spawn distccd");
        let mut daemon = Daemon { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = daemon.child.try_wait().expect("try_wait") {
                if status.code() == Some(EXIT_BIND_FAILED) {
                    break; // port taken: try another one
                }
                panic!(
                    "distccd exited with {status}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return daemon;
            }
            assert!(
                Instant::now() < deadline,
                "distccd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("distccd could not bind a port in 10 tries");
}

fn token(out: &mut Vec<u8>, name: &str, value: usize) {
    out.extend_from_slice(format!("{name}{value:08x}").as_bytes());
}

fn read_token(s: &mut TcpStream, name: &str) -> usize {
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).expect("read token");
    let text = std::str::from_utf8(&buf).expect("ascii token");
    assert_eq!(&text[..4], name, "token {text:?}");
    usize::from_str_radix(&text[4..], 16).expect("hex token")
}

fn read_body(s: &mut TcpStream, name: &str) -> Vec<u8> {
    let len = read_token(s, name);
    assert!(len <= MAX_BODY, "{name} body of {len} bytes");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("read body");
    body
}

/// Decodes a protocol-2 body: empty stays empty ("send 0 as 0"), anything else is LZO.
fn unlzo(body: &[u8]) -> Vec<u8> {
    if body.is_empty() {
        Vec::new()
    } else {
        lzo::decompress(body, MAX_BODY).expect("our decoder reads miniLZO's output")
    }
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .expect("run gcc (install gcc)");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn distccd_decodes_our_lzo_and_we_decode_minilzo() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.c"), SOURCE).expect("write x.c");
    let preprocessed = run(dir.path(), &["gcc", "-E", "x.c"]).stdout;
    std::fs::write(dir.path().join("x.i"), &preprocessed).expect("write x.i");
    run(dir.path(), &["gcc", "-c", "x.i", "-o", "local.o"]);
    let local_object = std::fs::read(dir.path().join("local.o")).expect("read local.o");

    let daemon = start_distccd(&dir.path().join("distccd.log"));

    let argv = ["gcc", "-c", "x.c", "-o", "x.o"];
    let mut req = Vec::new();
    token(&mut req, "DIST", 2);
    token(&mut req, "ARGC", argv.len());
    for a in argv {
        token(&mut req, "ARGV", a.len());
        req.extend_from_slice(a.as_bytes());
    }
    let doti = lzo::compress(&preprocessed);
    assert!(
        doti.len() < preprocessed.len() / 2,
        "DOTI barely compressed"
    );
    token(&mut req, "DOTI", doti.len());
    req.extend_from_slice(&doti);

    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, daemon.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    s.write_all(&req).expect("send request");

    assert_eq!(read_token(&mut s, "DONE"), 2);
    let stat = read_token(&mut s, "STAT");
    let serr = unlzo(&read_body(&mut s, "SERR"));
    let _sout = unlzo(&read_body(&mut s, "SOUT"));
    let doto = read_body(&mut s, "DOTO");
    assert_eq!(
        stat,
        0,
        "remote compile failed: {}\n{}",
        String::from_utf8_lossy(&serr),
        std::fs::read_to_string(dir.path().join("distccd.log")).unwrap_or_default()
    );
    assert!(doto.ends_with(&[0x11, 0, 0]), "DOTO is not an LZO1X block");
    let remote_object = unlzo(&doto);
    assert!(remote_object.starts_with(b"\x7fELF"));
    assert_eq!(
        remote_object, local_object,
        "remote and local objects differ"
    );
    drop(daemon);
}
