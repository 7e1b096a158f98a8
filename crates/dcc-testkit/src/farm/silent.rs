//! A helper that has gone silent: it accepts connections on a host's port, reads and discards
//! whatever the client sends, and never answers (a wedged machine whose kernel still
//! completes handshakes).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::netns::Host;

/// The silent listener; stopped (its connections closed) on drop.
#[derive(Debug)]
pub struct SilentListener {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl SilentListener {
    /// Listen on `0.0.0.0:port` inside `host`'s namespace.
    pub fn start(host: &Host, port: u16) -> SilentListener {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (s, a) = (stop.clone(), accepted.clone());
        let thread = host.spawn(move || {
            let l = TcpListener::bind(("0.0.0.0", port)).expect("bind the silent port");
            l.set_nonblocking(true).expect("nonblocking");
            ready_tx.send(()).expect("ready");
            let mut held: Vec<TcpStream> = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while !s.load(Ordering::Relaxed) {
                while let Ok((c, _)) = l.accept() {
                    c.set_nonblocking(true).expect("nonblocking");
                    a.fetch_add(1, Ordering::Relaxed);
                    held.push(c);
                }
                // Drain requests so the client reaches its wait for the reply.
                for c in &mut held {
                    while let Ok(n) = c.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("silent listener did not start");
        SilentListener {
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
