//! A build farm on one machine: hosts as Linux network namespaces joined by veth links on a
//! bridge, so multi-host tests see real, distinct addresses (`--allow`, backoff per host, cut
//! links) instead of 127.0.0.1.
//!
//! How the pieces fit:
//! - [`Network`] is one test's private LAN. It takes a machine-wide lock (farm tests run one at
//!   a time: they are heavy for a 2-core machine and some touch system paths), removes
//!   namespaces left by crashed earlier runs, and creates a *switch* namespace holding the
//!   bridge. Everything it made is torn down in `Drop`, which also runs when a test panics.
//! - [`Network::host`] adds a [`Host`]: a namespace whose `eth0` is a veth whose peer is a port
//!   of that bridge, with one address in 10.3.0.0/16 and `lo` up. The peer lives in the switch
//!   namespace, so the machine's own namespace never gets an interface, a route or a bridge.
//! - A [`Host`] runs programs ([`Host::command`], [`Host::command_as`]) and threads
//!   ([`Host::spawn`]) inside its namespace (namespaces share the filesystem, so a "host" is
//!   just where a process's sockets live), and breaks its link on demand ([`Host::link_down`],
//!   [`Host::slow_link`]).
//! - [`farm`] builds distcc's world on top: helpers running distccd, a silent helper, builds of
//!   a workload on a master, reference objects, makepkg's masquerade directory.
//!
//! Safety of the network: no namespace has a default route, none forwards (a new namespace
//! starts with forwarding off and we never turn it on), and the bridge has no uplink, so no
//! packet can leave the machine. Names are `dccfarm-<pid>-<n>-<label>`: unique per test, and the
//! pid tells a stale namespace (its process is gone) from a live one.
//!
//! Requires root (CI runs as root) and iproute2's `ip` and `tc`.

use std::ffi::OsStr;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "farm/mod.rs"]
pub mod farm;

/// Prefix of every namespace this module creates.
pub const PREFIX: &str = "dccfarm-";

/// The machine-wide lock serialising farm tests (cargo runs test binaries, and the tests in
/// each, in parallel).
pub const LOCK_PATH: &str = "/tmp/dcc-farm.lock";

/// Where `ip netns` keeps its namespace handles.
const NETNS_DIR: &str = "/run/netns";

static NEXT_NETWORK: AtomicU32 = AtomicU32::new(0);

/// Panic unless the process can create namespaces.
pub fn require_root() {
    assert!(
        crate::bins::is_root(),
        "farm tests create network namespaces and need root (CI runs as root); \
         run them with sudo or as root"
    );
    for tool in ["ip", "tc"] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "`{tool}` is missing: install iproute2 (`apt-get install -y iproute2`)"
        );
    }
}

/// Run `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    run("ip", args);
}

/// `ip` with its arguments as one line split on spaces (names here never contain spaces).
fn ipl(line: &str) {
    run("ip", &line.split_whitespace().collect::<Vec<_>>());
}

fn run(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    assert!(
        out.status.success(),
        "`{prog} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a command, returning whether it succeeded and its stderr (for teardown, which must not
/// panic, and for probing kernel features).
fn try_run(prog: &str, args: &[&str]) -> (bool, String) {
    match Command::new(prog).args(args).stdin(Stdio::null()).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// Kill every process inside namespace `ns` and delete it. Never panics (teardown).
fn destroy(ns: &str) {
    for pid in pids_in(ns) {
        // SAFETY: kill(2) with a pid read from `ip netns pids`; at worst the process is gone.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let _ = try_run("ip", &["netns", "del", ns]);
}

/// The processes whose network namespace is `ns`.
fn pids_in(ns: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Delete namespaces of earlier runs whose process is gone (a test killed before its `Drop`
/// ran). Namespaces of live processes are left alone.
pub fn clean_stale() -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return removed;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            destroy(&name);
            removed.push(name);
        }
    }
    removed
}

/// The machine-wide farm lock, held for a [`Network`]'s life.
#[derive(Debug)]
struct FarmLock {
    _file: File,
}

impl FarmLock {
    fn take() -> FarmLock {
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_PATH)
            .unwrap_or_else(|e| panic!("cannot open {LOCK_PATH}: {e}"));
        // SAFETY: flock on a descriptor we own; released when the file is closed.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {LOCK_PATH}");
        FarmLock { _file: f }
    }
}

/// One test's private LAN: a bridge in its own namespace, and the hosts plugged into it.
#[derive(Debug)]
pub struct Network {
    id: String,
    switch: String,
    hosts: Vec<String>,
    // Last field: dropped after the teardown in `Drop::drop`.
    _lock: FarmLock,
}

impl Network {
    /// Take the farm lock, clean stale namespaces and create the switch. Panics without root.
    pub fn new() -> Network {
        require_root();
        let lock = FarmLock::take();
        clean_stale();
        let id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT_NETWORK.fetch_add(1, Ordering::Relaxed)
        );
        let switch = format!("{id}-sw");
        let net = Network {
            id,
            switch: switch.clone(),
            hosts: Vec::new(),
            _lock: lock,
        };
        ipl(&format!("netns add {switch}"));
        ipl(&format!("-n {switch} link add name br0 type bridge"));
        ipl(&format!("-n {switch} link set br0 up"));
        net
    }

    /// This network's unique name (the prefix of its namespaces).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The namespace holding the bridge.
    pub fn switch(&self) -> &str {
        &self.switch
    }

    /// Plug a new host into the bridge with address `addr`/16. `label` names it in namespace
    /// names and logs (letters, digits, `-`; unique within the network).
    pub fn host(&mut self, label: &str, addr: Ipv4Addr) -> Host {
        assert!(
            label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !label.is_empty(),
            "bad host label {label:?}"
        );
        let o = addr.octets();
        assert!(
            o[0] == 10 && o[1] == 3,
            "farm addresses are in 10.3.0.0/16, not {addr}"
        );
        let ns = format!("{}-{label}", self.id);
        assert!(
            !self.hosts.contains(&ns),
            "host {label} already exists in this network"
        );
        // Interface names are limited to 15 bytes; the port's name only has to be unique in
        // the switch namespace.
        let port = format!("p{}", self.hosts.len());
        let sw = &self.switch;
        ipl(&format!("netns add {ns}"));
        self.hosts.push(ns.clone());
        ipl(&format!("-n {ns} link set lo up"));
        ipl(&format!(
            "-n {ns} link add name eth0 type veth peer name {port} netns {sw}"
        ));
        // No IPv6 link-local addresses: nothing but our IPv4 traffic on the LAN.
        ipl(&format!("-n {ns} link set eth0 addrgenmode none"));
        ipl(&format!("-n {sw} link set {port} addrgenmode none"));
        ipl(&format!("-n {sw} link set {port} master br0"));
        ipl(&format!("-n {sw} link set {port} up"));
        ipl(&format!("-n {ns} addr add {addr}/16 dev eth0"));
        ipl(&format!("-n {ns} link set eth0 up"));
        Host {
            ns,
            label: label.to_owned(),
            addr,
            switch: self.switch.clone(),
            port,
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Hosts first (killing what still runs there), then the switch with its ports.
        for ns in self.hosts.iter().rev() {
            destroy(ns);
        }
        destroy(&self.switch);
    }
}

/// Whether namespace `name` exists (for tests of the teardown).
pub fn exists(name: &str) -> bool {
    std::path::Path::new(NETNS_DIR).join(name).exists()
}

/// How [`Host::slow_link`] slowed the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slowdown {
    /// `tc qdisc ... netem delay`: every packet is delayed, both ways.
    NetemDelay { ms: u32 },
    /// The kernel has no netem (CONFIG_NET_SCH_NETEM unset, as on this project's machines):
    /// `tc qdisc ... tbf` limits the rate both ways instead, which also delays each compile.
    TbfRate { kbit: u32 },
}

/// A host of a [`Network`]: a namespace with one address.
#[derive(Debug, Clone)]
pub struct Host {
    ns: String,
    label: String,
    addr: Ipv4Addr,
    switch: String,
    port: String,
}

impl Host {
    /// The namespace's name (`ip netns exec NAME ...` reaches it from a shell).
    pub fn netns(&self) -> &str {
        &self.ns
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    fn handle(&self) -> File {
        let p = std::path::Path::new(NETNS_DIR).join(&self.ns);
        File::open(&p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
    }

    /// A command whose process runs inside this host's namespace (as `ip netns exec` does,
    /// without its extra mount namespace). The process is a direct child, so its pid is ours to
    /// signal.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let ns = self.handle();
        let mut cmd = Command::new(program);
        // SAFETY: the closure only makes the setns(2) system call, which is async-signal-safe;
        // `ns` stays open until the command is dropped and is close-on-exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Like [`Host::command`], but the process then drops to `uid`/`gid` with no supplementary
    /// groups (entering the namespace needs root, so the drop happens after it).
    pub fn command_as(&self, program: impl AsRef<OsStr>, uid: u32, gid: u32) -> Command {
        let ns = self.handle();
        let mut cmd = Command::new(program);
        // SAFETY: setns, setgroups, setgid and setuid are async-signal-safe system calls.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0
                    || libc::setgroups(1, &gid) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Run `f` on a new thread inside this host's namespace (sockets it opens live there).
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let ns = self.handle();
        let label = self.label.clone();
        std::thread::Builder::new()
            .name(format!("netns-{label}"))
            .spawn(move || {
                // SAFETY: setns(2) on a descriptor we own; it moves only this thread.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(
                    rc,
                    0,
                    "setns into {label}: {}",
                    std::io::Error::last_os_error()
                );
                drop(ns);
                f()
            })
            .expect("spawn thread")
    }

    /// `ip ARGS` run inside this host's namespace; its stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// Cut the host's cable: its bridge port goes down, so frames to and from it are dropped
    /// (the host's own `eth0` loses carrier; the others still have its ARP entry, so they send
    /// into the void and time out, as with a pulled cable).
    pub fn link_down(&self) {
        ipl(&format!("-n {} link set {} down", self.switch, self.port));
    }

    /// Plug the cable back in.
    pub fn link_up(&self) {
        ipl(&format!("-n {} link set {} up", self.switch, self.port));
    }

    /// Make the host's link slow both ways: netem delay `delay_ms` where the kernel has netem,
    /// otherwise a tbf rate limit of `fallback_kbit` (see [`Slowdown`]).
    pub fn slow_link(&self, delay_ms: u32, fallback_kbit: u32) -> Slowdown {
        let ends = [(&self.switch, self.port.as_str()), (&self.ns, "eth0")];
        let tc = |ns: &str, dev: &str, qdisc: &str| {
            let line = format!("-n {ns} qdisc add dev {dev} root {qdisc}");
            try_run("tc", &line.split_whitespace().collect::<Vec<_>>())
        };
        let netem = format!("netem delay {delay_ms}ms");
        let (ok, err) = tc(ends[0].0, ends[0].1, &netem);
        if ok {
            let (ok, err) = tc(ends[1].0, ends[1].1, &netem);
            assert!(ok, "tc netem on {}: {err}", self.ns);
            return Slowdown::NetemDelay { ms: delay_ms };
        }
        assert!(
            err.contains("unknown") || err.contains("not supported"),
            "tc netem failed: {err}"
        );
        let tbf = format!("tbf rate {fallback_kbit}kbit burst 16kb latency 2s");
        for (ns, dev) in ends {
            let (ok, err) = tc(ns, dev, &tbf);
            assert!(ok, "tc tbf on {ns}: {err}");
        }
        Slowdown::TbfRate {
            kbit: fallback_kbit,
        }
    }

    /// Processes currently inside this host's namespace.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.ns)
    }

    /// The host's routing table (`ip route show`), one route per line.
    pub fn routes(&self) -> Vec<String> {
        self.ip(&["route", "show", "table", "all"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
