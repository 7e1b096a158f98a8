//! `--stats HOST:PORT`: the helpers' own view, read from distccd's stats port (`distccd
//! --stats`, port 3633 by default).
//!
//! distccd answers any request on that port with its text page, an HTTP header then
//! `key value` lines between `<distccstats>` and `</distccstats>` (distcc src/stats.c
//! `dcc_stats_report`; ours: dcc-server's `Stats::distcc_page`, which answers `GET /` with the
//! same page). We ask for `/`, read at most [`PAGE_MAX`] bytes and keep the counters the
//! monitor shows: the jobs running now against `--jobs` (`dcc_current_load`,
//! `dcc_max_kids`), compiles that succeeded and failed, refusals for overload, the machine's
//! load average.
//!
//! Polling runs in one thread per helper ([`Poller`]), so a helper that does not answer never
//! holds up the screen; each poll has a [`TIMEOUT`].

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The most a stats page may be (distcc's is under 1 KiB).
pub const PAGE_MAX: u64 = 64 * 1024;
/// Connect, write and read limit for one poll.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The counters shown for one helper.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaemonStats {
    pub current_load: u64,
    pub max_kids: u64,
    pub compile_ok: u64,
    pub compile_error: u64,
    pub compile_timeout: u64,
    pub rej_overload: u64,
    pub rej_bad_req: u64,
    /// The one-minute load average (`dcc_load1`).
    pub load1: f64,
}

/// Why a helper's page could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("cannot resolve {addr}: {source}")]
    Resolve { addr: String, source: io::Error },
    /// The address is not in the text: the monitor shows it beside the message.
    #[error("connect: {}", dcc_state::strerror(source))]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("reading the page: {}", dcc_state::strerror(source))]
    Io { source: io::Error },
    #[error("not a distccd stats page")]
    NotAStatsPage,
}

/// The counters of a page; unknown keys are ignored, missing ones are 0. `None` when the text
/// has no `<distccstats>` section.
pub fn parse_page(text: &str) -> Option<DaemonStats> {
    let start = text.find("<distccstats>")?;
    let body = &text[start + "<distccstats>".len()..];
    let body = body.split("</distccstats>").next().unwrap_or(body);
    let mut s = DaemonStats::default();
    for line in body.lines() {
        let Some((key, value)) = line.trim().split_once(' ') else {
            continue;
        };
        let n = || value.trim().parse::<u64>().unwrap_or(0);
        match key {
            "dcc_current_load" => s.current_load = n(),
            "dcc_max_kids" => s.max_kids = n(),
            "dcc_compile_ok" => s.compile_ok = n(),
            "dcc_compile_error" => s.compile_error = n(),
            "dcc_compile_timeout" => s.compile_timeout = n(),
            "dcc_rej_overload" => s.rej_overload = n(),
            "dcc_rej_bad_req" => s.rej_bad_req = n(),
            "dcc_load1" => s.load1 = value.trim().parse().unwrap_or(0.0),
            _ => {}
        }
    }
    Some(s)
}

/// One poll of `addr` (`HOST:PORT`).
pub fn fetch(addr: &str, timeout: Duration) -> Result<DaemonStats, StatsError> {
    let resolve = |source| StatsError::Resolve {
        addr: addr.to_owned(),
        source,
    };
    let target = addr
        .to_socket_addrs()
        .map_err(resolve)?
        .next()
        .ok_or_else(|| resolve(io::Error::from(io::ErrorKind::NotFound)))?;
    let mut sock =
        TcpStream::connect_timeout(&target, timeout).map_err(|source| StatsError::Connect {
            addr: target,
            source,
        })?;
    let io = |source| StatsError::Io { source };
    sock.set_read_timeout(Some(timeout)).map_err(io)?;
    sock.set_write_timeout(Some(timeout)).map_err(io)?;
    sock.write_all(b"GET / HTTP/1.0\r\n\r\n").map_err(io)?;
    let mut page = Vec::new();
    sock.take(PAGE_MAX).read_to_end(&mut page).map_err(io)?;
    parse_page(&String::from_utf8_lossy(&page)).ok_or(StatsError::NotAStatsPage)
}

/// What is known of one helper.
#[derive(Debug, Clone)]
pub struct Helper {
    /// As given on the command line.
    pub addr: String,
    /// `None` until the first poll has answered; `Err` holds the error's text.
    pub last: Option<Result<DaemonStats, String>>,
    pub when: Option<SystemTime>,
}

impl Helper {
    fn new(addr: &str) -> Helper {
        Helper {
            addr: addr.to_owned(),
            last: None,
            when: None,
        }
    }
}

/// Poll every helper once, in parallel, and wait for all.
pub fn fetch_all(addrs: &[String], timeout: Duration) -> Vec<Helper> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = addrs
            .iter()
            .map(|a| scope.spawn(move || fetch(a, timeout).map_err(|e| e.to_string())))
            .collect();
        addrs
            .iter()
            .zip(handles)
            .map(|(a, h)| Helper {
                last: Some(h.join().unwrap_or_else(|_| Err("poll failed".into()))),
                when: Some(SystemTime::now()),
                ..Helper::new(a)
            })
            .collect()
    })
}

/// Background polling: one thread per helper, every `interval`. The threads live as long as
/// the process (the monitor exits with them).
#[derive(Debug, Clone)]
pub struct Poller {
    helpers: Arc<Mutex<Vec<Helper>>>,
}

impl Poller {
    pub fn spawn(addrs: &[String], interval: Duration) -> Poller {
        let helpers = Arc::new(Mutex::new(
            addrs.iter().map(|a| Helper::new(a)).collect::<Vec<_>>(),
        ));
        for (i, addr) in addrs.iter().enumerate() {
            let shared = Arc::clone(&helpers);
            let addr = addr.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("stats {addr}"))
                .spawn(move || {
                    loop {
                        let r = fetch(&addr, TIMEOUT.min(interval.max(Duration::from_millis(500))));
                        let r = r.map_err(|e| e.to_string());
                        if let Ok(mut h) = shared.lock() {
                            h[i].last = Some(r);
                            h[i].when = Some(SystemTime::now());
                        }
                        std::thread::sleep(interval);
                    }
                });
            if let Err(e) = spawned
                && let Ok(mut h) = helpers.lock()
            {
                h[i].last = Some(Err(format!("cannot start a thread: {e}")));
            }
        }
        Poller { helpers }
    }

    /// The latest of every helper, in the order given.
    pub fn snapshot(&self) -> Vec<Helper> {
        self.helpers
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    const PAGE: &str = "HTTP/1.0 200 OK\nContent-Type: text/plain\nConnection: close\n\n\
        argv /distccd\n<distccstats>\ndcc_tcp_accept 12\ndcc_rej_bad_req 1\n\
        dcc_rej_overload 2\ndcc_compile_ok 9\ndcc_compile_error 3\ndcc_compile_timeout 0\n\
        dcc_cli_disconnect 0\ndcc_other 0\ndcc_longest_job x.c\ndcc_max_kids 4\n\
        dcc_current_load 3\ndcc_load1 0.52\ndcc_free_space 100 MB\n</distccstats>\n";

    #[test]
    fn page_counters() {
        let s = parse_page(PAGE).unwrap();
        assert_eq!(
            s,
            DaemonStats {
                current_load: 3,
                max_kids: 4,
                compile_ok: 9,
                compile_error: 3,
                compile_timeout: 0,
                rej_overload: 2,
                rej_bad_req: 1,
                load1: 0.52,
            }
        );
        assert_eq!(parse_page("HTTP/1.0 404\n\nnope"), None);
        // Junk values read as 0, never panic.
        let s = parse_page("<distccstats>\ndcc_max_kids lots\ndcc_load1 x\n").unwrap();
        assert_eq!((s.max_kids, s.load1), (0, 0.0));
    }

    #[test]
    fn fetch_from_a_fake_daemon_and_errors() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = [0u8; 64];
            let n = s.read(&mut req).unwrap();
            s.write_all(PAGE.as_bytes()).unwrap();
            String::from_utf8_lossy(&req[..n]).into_owned()
        });
        let got = fetch(&addr, TIMEOUT).unwrap();
        assert_eq!(got.compile_ok, 9);
        assert!(server.join().unwrap().starts_with("GET / HTTP/1.0"));

        // Nobody listening: a connect error.
        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap().to_string();
        drop(dead);
        let e = fetch(&dead_addr, TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("Connection refused"), "{e}");
        assert!(matches!(
            fetch("no port here", TIMEOUT),
            Err(StatsError::Resolve { .. })
        ));
        let helpers = fetch_all(&[dead_addr], TIMEOUT);
        assert!(matches!(&helpers[0].last, Some(Err(e)) if e.contains("refused")));
    }
}
