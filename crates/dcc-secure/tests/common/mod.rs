//! Shared by the end-to-end tests: keys laid out as a user would (client key and known_hosts
//! in DISTCC_DIR, host key and authorized keys beside the daemon), a daemon with the secure
//! transport on, and a TCP relay that can record, flip bytes or replay.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcc_secure::PrivateKey;
use dcc_testkit::daemon::DaemonOptions;
use dcc_testkit::{Daemon, DaemonKind, World};

/// The key files of one test world.
pub struct Keys {
    pub client: PrivateKey,
    pub host: PrivateKey,
    pub host_key_file: PathBuf,
    pub authorized: PathBuf,
}

/// Make a client key (DISTCC_DIR/client.key), a host key and an authorized keys file that
/// lists the client. known_hosts is written by [`know`] once the daemon's port is known.
pub fn keys(w: &World) -> Keys {
    let client = PrivateKey::generate().unwrap();
    let host = PrivateKey::generate().unwrap();
    client
        .save(&w.path("distcc_dir/client.key"), "tester@client", false)
        .unwrap();
    let host_key_file = w.path("host.key");
    host.save(&host_key_file, "helper", false).unwrap();
    let authorized = w.write(
        "authorized_keys",
        format!("# clients\n{}\n", client.public().to_line("tester@client")),
    );
    Keys {
        client,
        host,
        host_key_file,
        authorized,
    }
}

/// Write the client's known_hosts: `addr` has the key `host`.
pub fn know(w: &World, addr: SocketAddr, host: &PrivateKey) {
    w.write(
        "distcc_dir/known_hosts",
        format!("{addr} {}\n", host.public().to_line("helper")),
    );
}

/// Our daemon with the secure transport on, plus `extra` options.
pub fn secure_daemon(w: &World, k: &Keys, extra: &[&str]) -> Daemon {
    let mut o = DaemonOptions::new(DaemonKind::Ours)
        .arg("--auth-keys")
        .arg(&k.authorized.to_string_lossy())
        .arg("--host-key")
        .arg(&k.host_key_file.to_string_lossy());
    for a in extra {
        o = o.arg(a);
    }
    Daemon::start(w, o)
}

pub fn run(mut c: Command) -> (i32, String) {
    let o: Output = c.output().expect("run distcc");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// What a relay does to the bytes it forwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tamper {
    /// Flip the lowest bit of the client→daemon byte at this offset.
    pub to_daemon: Option<usize>,
    /// Flip the lowest bit of the daemon→client byte at this offset.
    pub to_client: Option<usize>,
}

/// A TCP relay on 127.0.0.1 in front of `target`, recording the client→daemon bytes of every
/// connection. Stops when dropped.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub recorded: Recording,
}

/// Every connection's client→daemon bytes.
type Recording = Arc<Mutex<Vec<Vec<u8>>>>;

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    flip: Option<usize>,
    record: Option<(Recording, usize)>,
) {
    let mut off = 0usize;
    let mut buf = [0u8; 16384];
    from.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(f) = flip
            && f >= off
            && f < off + n
        {
            buf[f - off] ^= 1;
        }
        if let Some((rec, i)) = &record {
            rec.lock().unwrap()[*i].extend_from_slice(&buf[..n]);
        }
        off += n;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // Closing both ways, as a real proxy would once one side is gone.
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

impl Relay {
    pub fn start(target: SocketAddr, tamper: Tamper) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let (stop2, rec2) = (stop.clone(), recorded.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let (client, _) = match l.accept() {
                    Ok(x) => x,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let Ok(daemon) = TcpStream::connect(target) else {
                    continue;
                };
                let i = {
                    let mut r = rec2.lock().unwrap();
                    r.push(Vec::new());
                    r.len() - 1
                };
                let (c2, d2) = (client.try_clone().unwrap(), daemon.try_clone().unwrap());
                let rec = rec2.clone();
                std::thread::spawn(move || pump(client, daemon, tamper.to_daemon, Some((rec, i))));
                std::thread::spawn(move || pump(d2, c2, tamper.to_client, None));
            }
        });
        Relay {
            addr,
            stop,
            recorded,
        }
    }

    /// The client→daemon bytes of connection `i`.
    pub fn stream(&self, i: usize) -> Vec<u8> {
        self.recorded.lock().unwrap()[i].clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
