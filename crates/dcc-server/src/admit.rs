//! Admission: which connections are served, and how many unfinished requests each client
//! address may have (issue 10, weakness 4).
//!
//! A request is *unfinished* from accept until its body is in. distcc's workers, and our
//! first accept loop, let a few connections that send nothing (or a byte now and then) hold
//! every intake slot, so nobody else was served. Now:
//! - [`Server::admit`] checks the access list (a refused client gets no byte; distcc's log
//!   line), then takes one of the address's [`Admission`]s: at most
//!   [`Server::per_address_limit`] unfinished requests per address; more connections from
//!   it wait for a place (a host running `make -j200` is honest), up to [`MAX_WAITING`], and
//!   any further connection from that address is closed at once;
//! - the secure preamble and handshake must finish within [`HELLO_TIMEOUT`]; only then does a
//!   connection compete for the daemon-wide intake ([`Server::intake_limit`]), so peers
//!   without a key never take intake slots from authenticated clients;
//! - the request header must be complete within `DISTCC_RS_HEADER_TIMEOUT` (default 30 s) of
//!   the connection's start, however slowly it trickles (the I/O timeout is per read);
//! - once a body's token is in, the body must be in within `DISTCC_RS_BODY_TIMEOUT` plus its
//!   length at `DISTCC_RS_BODY_RATE`, and the request's bodies within the sum
//!   ([`crate::options::ServerEnv::body_allowance`], enforced in `crate::receive`);
//! - once the body is in, the admission and the intake slot are released: the job then only
//!   waits for a `--jobs` slot.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcc_common::{Level, dcc_log};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::access::canonical;
use crate::exec::Runner;
use crate::metrics::RefusalReason;
use crate::server::Server;

/// Connections one address may have waiting for a place (each is a descriptor and a task,
/// nothing more).
pub const MAX_WAITING: usize = 1024;

/// How long the secure transport's preamble and handshake may take.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-address counts of unfinished requests and of connections waiting to become one.
#[derive(Debug, Default)]
pub struct Admissions {
    by_addr: Mutex<HashMap<IpAddr, Count>>,
    freed: Notify,
}

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    active: usize,
    waiting: usize,
}

impl Admissions {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<IpAddr, Count>) -> T) -> T {
        f(&mut self.by_addr.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Unfinished requests from `ip` now (tests, status).
    pub fn active(&self, ip: IpAddr) -> usize {
        self.with(|m| m.get(&ip).map_or(0, |c| c.active))
    }
}

/// One unfinished request of an address; dropping it frees the place.
#[derive(Debug)]
pub struct Admission {
    state: Arc<Admissions>,
    ip: IpAddr,
    /// When the connection was accepted: the header deadline counts from here.
    pub started: Instant,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.state.with(|m| {
            if let Some(c) = m.get_mut(&self.ip) {
                c.active = c.active.saturating_sub(1);
                if c.active == 0 && c.waiting == 0 {
                    m.remove(&self.ip);
                }
            }
        });
        self.state.freed.notify_waiters();
    }
}

/// Why a connection was not admitted (each is logged by [`Server::admit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not in `--allow`.
    Denied,
    /// The address has too many unfinished requests, and [`MAX_WAITING`] waiting.
    TooMany,
    /// Waited for a place until the header deadline.
    TimedOut,
}

impl<R: Runner> Server<R> {
    /// Unfinished requests one address may have (and as many more may wait): half the
    /// intake, so one client can never hold it all.
    pub fn per_address_limit(&self) -> usize {
        (self.intake_limit() / 2).max(1)
    }

    /// Admit a connection from `peer`: the access list, distcc's log lines, then a place
    /// among the address's unfinished requests, waiting for one until the header deadline.
    pub async fn admit(&self, peer: SocketAddr) -> Result<Admission, Rejected> {
        let started = Instant::now();
        let ip = canonical(peer.ip());
        let port = peer.port();
        dcc_log!(
            Level::Info,
            "dcc_check_client",
            "connection from {ip}:{port}"
        );
        if !self.allows(ip) {
            dcc_log!(
                Level::Error,
                "dcc_check_client",
                "connection from client '{ip}:{port}' denied by access list"
            );
            self.metrics.refused(RefusalReason::Access);
            self.live.failed(
                &format!("{ip}:{port}"),
                "",
                "",
                "DENIED",
                "not in the --allow list",
            );
            return Err(Rejected::Denied);
        }
        let limit = self.per_address_limit();
        let state = &self.admissions;
        let queued = state.with(|m| {
            let c = m.entry(ip).or_default();
            if c.active < limit {
                c.active += 1;
                Some(false)
            } else if c.waiting < MAX_WAITING {
                c.waiting += 1;
                Some(true)
            } else {
                None
            }
        });
        let Some(queued) = queued else {
            self.too_many(ip, port, "closed at once");
            return Err(Rejected::TooMany);
        };
        if queued {
            dcc_log!(
                Level::Info,
                "dcc_check_client",
                "{ip}:{port} waits: {ip} has {limit} unfinished requests already"
            );
            let deadline = started + self.env.header_timeout;
            loop {
                let freed = state.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                let got = state.with(|m| {
                    let c = m.entry(ip).or_default();
                    if c.active < limit {
                        c.active += 1;
                        c.waiting -= 1;
                        true
                    } else {
                        false
                    }
                });
                if got {
                    break;
                }
                if tokio::time::timeout_at(deadline, freed).await.is_err() {
                    state.with(|m| {
                        if let Some(c) = m.get_mut(&ip) {
                            c.waiting = c.waiting.saturating_sub(1);
                        }
                    });
                    self.too_many(ip, port, "gave up waiting");
                    return Err(Rejected::TimedOut);
                }
            }
        }
        Ok(Admission {
            state: self.admissions.clone(),
            ip,
            started,
        })
    }

    fn too_many(&self, ip: IpAddr, port: u16, what: &str) {
        let why = format!(
            "{ip} has {} unfinished requests already (the most one address may have): {what}",
            self.per_address_limit()
        );
        dcc_log!(
            Level::Warning,
            "dcc_check_client",
            "connection from client '{ip}:{port}': {why}"
        );
        self.metrics.refused(RefusalReason::Busy);
        self.live
            .failed(&format!("{ip}:{port}"), "", "", "BUSY", &why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tests::test_server;

    #[tokio::test]
    async fn one_address_cannot_take_every_place() {
        let srv = test_server();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:1000".parse().unwrap();
        let limit = srv.per_address_limit();
        let mut held = Vec::new();
        for _ in 0..limit {
            held.push(srv.admit(a).await.unwrap());
        }
        assert_eq!(srv.admissions.active(a.ip()), limit);
        // The next ones from a wait (here: until dropped); past that they are closed at once.
        let waiters: Vec<_> = (0..MAX_WAITING)
            .map(|_| {
                let srv = srv.clone();
                tokio::spawn(async move { srv.admit(a).await.map(|_| ()) })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(srv.admit(a).await.unwrap_err(), Rejected::TooMany);
        // Another address is admitted at once.
        let other = srv.admit(b).await.unwrap();
        assert_eq!(srv.admissions.active(b.ip()), 1);
        drop(other);
        assert_eq!(srv.admissions.active(b.ip()), 0);
        // Freed places go to the waiters.
        held.clear();
        for w in waiters {
            assert_eq!(w.await.unwrap(), Ok(()));
        }
        assert_eq!(srv.admissions.active(a.ip()), 0);
    }
}
