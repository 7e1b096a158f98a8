//! The guide's farm: a master at 10.3.0.10 and helpers at 10.3.0.2 (A) and 10.3.0.6 (B), and
//! the checks every scenario makes.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use dcc_testkit::netns::farm::{Helper, addr};
use dcc_testkit::netns::{Host, Network};
use dcc_testkit::{World, compare};

/// The workload every scenario builds.
pub const WORKLOAD: &str = "lua";

/// A network with the master and both helper hosts (no daemons yet). Field order is drop
/// order: the network (and every process in it) goes before the world's files.
pub struct Farm {
    pub net: Network,
    pub master: Host,
    pub a: Host,
    pub b: Host,
    pub world: World,
}

impl Farm {
    pub fn new() -> Farm {
        let mut net = Network::new();
        let master = net.host("master", addr::MASTER);
        let a = net.host("a", addr::HELPER_A);
        let b = net.host("b", addr::HELPER_B);
        Farm {
            net,
            master,
            a,
            b,
            world: World::new(),
        }
    }
}

/// Panic unless the two object trees are byte-identical.
pub fn assert_identical(reference: &Path, got: &Path, what: &str) {
    let diffs = compare::trees(reference, got);
    assert!(
        diffs.is_empty(),
        "{what}: objects differ from the local build: {diffs:#?}"
    );
}

/// Wait (up to 30 s) until the helpers' logs hold `n` summaries with `result` in total (a
/// daemon writes the summary after the reply, so the client can finish first); the counts.
pub fn wait_total(helpers: &[&Helper], result: &str, n: usize) -> Vec<usize> {
    let start = Instant::now();
    loop {
        let counts: Vec<usize> = helpers.iter().map(|h| h.count(result)).collect();
        if counts.iter().sum::<usize>() >= n || start.elapsed() > Duration::from_secs(30) {
            return counts;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every job a helper ran came from `client`.
pub fn assert_all_from(h: &Helper, client: Ipv4Addr) {
    for j in h.jobs() {
        assert_eq!(j.client, client, "{j:?} in {}", h.log.display());
    }
}

/// A backoff mark's name for a helper, as distcc writes it (distcc src/lock.c).
pub fn backoff_name(h: &Helper) -> String {
    format!("backoff_tcp_{}_{}_0", h.addr(), h.port)
}

/// Panic unless `tool` is installed, naming its Debian package.
pub fn require_tool(tool: &str, package: &str) {
    assert!(
        Path::new("/usr/bin").join(tool).exists(),
        "/usr/bin/{tool} is missing: this farm test needs `apt-get install -y {package}`"
    );
}
