//! Section 3, wire: bytes up (client to daemon) and down per build, per protocol option, measured by a
//! counting TCP proxy on 127.0.0.1 between each full stack's client and daemon. Payload bytes
//! only (no TCP/IP headers). One build per option: the bytes do not vary between runs.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::Config;
use crate::daemon::{Bins, Daemon, Impl, LoopOpts};
use crate::error::{Result, io};
use crate::loopback::{check_remote, client_env};
use crate::master::protocol_label;
use crate::record::{Record, Sink};
use crate::secure::{Keys, is_secure};
use crate::workload::{self, Workload};

/// A proxy that forwards every connection to `target` and counts the bytes.
#[derive(Debug)]
pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    conns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// Byte counts so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub up: u64,
    pub down: u64,
    pub connections: u64,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Result<Proxy> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(io("proxy bind"))?;
        let port = l.local_addr().map_err(io("proxy addr"))?.port();
        l.set_nonblocking(true).map_err(io("proxy nonblocking"))?;
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let conns = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (u, d, c, s) = (up.clone(), down.clone(), conns.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((client, _)) => {
                        c.fetch_add(1, Ordering::Relaxed);
                        let (u, d) = (u.clone(), d.clone());
                        std::thread::spawn(move || forward(client, target, u, d));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Ok(Proxy {
            port,
            up,
            down,
            conns,
            stop,
            accept: Some(accept),
        })
    }

    pub fn counts(&self) -> Counts {
        Counts {
            up: self.up.load(Ordering::SeqCst),
            down: self.down.load(Ordering::SeqCst),
            connections: self.conns.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Copy both ways until both sides are done; each direction half-closes the other side only
/// when its source reached EOF (so a client's EOF reaches the daemon as it would directly).
fn forward(client: TcpStream, target: SocketAddr, up: Arc<AtomicU64>, down: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(target) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || pump(c2, s2, &up));
    pump(server, client, &down);
    let _ = t.join();
}

fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The stacks measured: (implementation, host options).
pub const STACKS: &[(Impl, &str)] = &[
    (Impl::Ours, ""),
    (Impl::Debian, ""),
    (Impl::Ours, ",lzo"),
    (Impl::Debian, ",lzo"),
    (Impl::Ours, ",zstd"),
    (Impl::Ours, ",secure"),
    (Impl::Ours, ",secure,zstd"),
];

pub fn run(cfg: &Config, bins: &Bins, sink: &mut Sink) -> Result<()> {
    let keys = Keys::make(&cfg.bin_dir, &cfg.work)?;
    for name in &cfg.wire_workloads {
        let w = Workload::prepare(name, &cfg.workload_script, &cfg.workload_cache)?;
        let goals = w.goals(cfg.units);
        let units = w.take(cfg.units).len();
        let o = LoopOpts {
            extra_args: keys.as_ref().map(Keys::daemon_args).unwrap_or_default(),
            ..LoopOpts::new(2, &format!("wire-{name}"))
        };
        let ours = Daemon::loopback(bins, Impl::Ours, &cfg.work, &o)?;
        let deb = Daemon::loopback(bins, Impl::Debian, &cfg.work, &o)?;
        for &(imp, opts) in STACKS {
            if is_secure(opts) && keys.is_none() {
                continue;
            }
            let d = if imp == Impl::Ours { &ours } else { &deb };
            let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], d.port)))?;
            let label = format!("{}-{}", imp.label(), protocol_label(opts));
            let dir = cfg.work.join(format!("wire-{name}-{label}"));
            workload::fresh_dir(&dir)?;
            let before = d.count("COMPILE_OK");
            let mut env = client_env(&cfg.work, &label, proxy.port, 2, opts)?;
            if let (true, Some(k)) = (is_secure(opts), &keys) {
                env.extend(k.client_env(proxy.port)?);
            }
            let cc = format!("{} gcc", bins.client(imp).display());
            let mut cmd = workload::make(&dir, &w.makefile, 2, &cc, &goals, &env);
            let what = format!("wire {name} {label}");
            workload::run_make(&mut cmd, &dir.join("make.stderr"), &what)?;
            check_remote(d, before, units, &what)?;
            // The daemon's summary comes after its reply is sent; give the proxy threads a
            // moment to finish counting the last bytes.
            std::thread::sleep(Duration::from_millis(100));
            let c = proxy.counts();
            let object_bytes = dir_size(&dir.join("obj"));
            eprintln!(
                "  {what}: {} B up, {} B down, {} connections",
                c.up, c.down, c.connections
            );
            sink.write(
                &Record::new("wire")
                    .s("workload", name)
                    .s("impl", imp.label())
                    .s("protocol", protocol_label(opts))
                    .i("units", units)
                    .i("bytes_up", c.up)
                    .i("bytes_down", c.down)
                    .i("connections", c.connections)
                    .i("object_bytes", object_bytes),
            )?;
        }
    }
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_counts_both_directions() {
        // An echo server that doubles what it reads.
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).expect("read");
            s.write_all(&buf).expect("write");
            s.write_all(&buf).expect("write");
        });
        let p = Proxy::start(addr).expect("proxy");
        let mut c = TcpStream::connect(("127.0.0.1", p.port)).expect("connect");
        c.write_all(b"hello").expect("send");
        let mut back = Vec::new();
        c.read_to_end(&mut back).expect("read");
        server.join().expect("server");
        assert_eq!(back, b"hellohello");
        let start = std::time::Instant::now();
        while p.counts().down < 10 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            p.counts(),
            Counts {
                up: 5,
                down: 10,
                connections: 1
            }
        );
    }
}
