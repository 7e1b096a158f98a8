//! The zeroconf browser: a background process that browses mDNS for helpers with this
//! machine's compiler and keeps `$DISTCC_DIR/zeroconf/hosts` current (distcc src/zeroconf.c
//! `daemon_proc`).
//!
//! - [`spawn`] double-forks it off a client (the client is single-threaded, so the child may
//!   run ordinary Rust; the grandchild is orphaned at once, so no client ever reaps it), in its
//!   own session, with `/dev/null` for stdio and every other inherited descriptor closed: make
//!   or ninja waiting for the end of a compiler's output must not wait for the browser.
//! - [`run`] takes `zeroconf/lock` (another browser holds it: leave), stamps its start on the
//!   lock file, asks `cc -dumpversion` and `cc -dumpmachine` once ([`CompilerId`]) and keeps
//!   the helpers of [`subtype`] (all helpers when the compiler cannot be asked, as distcc).
//!   Each becomes one line `ip:port/jobs`: IPv4 first, `[v6]` when that is all it has; `jobs`
//!   from the TXT record with distcc's defaults ([`jobs_from_txt`]).
//! - distcc asks Avahi to browse the subtype itself. mdns-sd 0.21 answers a subtype query
//!   with the *parent* type's PTR record (the subtype's rides along as an additional record),
//!   and its own browser then drops the answer as not for it: browsing a subtype finds
//!   mdns-sd helpers only when they announce themselves. So we browse `_distcc._tcp` and
//!   filter: a helper matches when the subtype it advertises is ours ([`matches`]), or, if
//!   none was seen, when its TXT `cc_machine` and `cc_version` give ours (distccd publishes
//!   those and the subtype from the same probe).
//! - The file is replaced atomically (write, rename) on every change, after [`SETTLE`] with no
//!   helper at all, and its mtime touched every [`HEARTBEAT`]: clients trust a file whose
//!   mtime is recent (see [`crate::client`]). The browser leaves once the file's atime is
//!   older than [`IDLE`] (distcc: 20 s), and sets the mtime of the file it abandons to the
//!   epoch so that the next client starts a new browser instead of trusting it.
//! - When mDNS cannot start (or stops) the browser lives on with the list it has, empty at
//!   worst, and says why in its log: a browser that died at once would be started again, and
//!   waited for, by every compile.
//! - It logs to `zeroconf/browser.log` (distcc's browser logs to syslog).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{File, FileTimes, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use dcc_common::log::{Logger, Sink};
use dcc_common::{Level, dcc_log};
use mdns_sd::{ServiceDaemon, ServiceEvent};

use crate::client::{HOSTS_FILE, LOCK_FILE};
use crate::id::{CompilerId, SERVICE_TYPE, netlink, subtype};
use dcc_common::sys::lock::{LockKind, Owner, Wait};
use dcc_common::sys::{EmptyElement, SkipDistcc, atoi_i64, find_on_path};

/// The browser's log, in the zeroconf directory, restarted by each browser.
pub const LOG_FILE: &str = "browser.log";

/// How often the browser touches the file's mtime to show it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// With no helper found this long after start, the (empty) list is written anyway.
pub const SETTLE: Duration = Duration::from_millis(600);
/// The browser leaves when no client has read the file for this long.
pub const IDLE: Duration = Duration::from_secs(120);
/// How often the browser wakes when mDNS is quiet.
const TICK: Duration = Duration::from_millis(200);
/// The largest `/jobs` written (distcc's daemon allows at most 200 jobs).
const MAX_JOBS: i64 = 9999;
/// At most this many helpers are listed: a LAN full of fake announcements must not grow the
/// file past what clients read ([`crate::client::MAX_FILE_SIZE`] holds nearly 2000 of the longest
/// lines).
pub const MAX_HELPERS: usize = 1000;

/// Start a browser for `zdir` in the background. `path` is the client's `PATH`, where the
/// browser looks for `cc`. Only for a single-threaded process (the `distcc` binary): a fork of
/// a threaded one could deadlock in the child, so that is refused.
pub fn spawn(zdir: &Path, path: Option<&OsStr>) -> io::Result<()> {
    if threads() != Some(1) {
        return Err(io::Error::other(
            "only a single-threaded client may fork the browser",
        ));
    }
    let zdir = zdir.to_owned();
    let path = path.map(OsStr::to_owned);
    // SAFETY: the process has one thread (checked above), so the child may allocate and run
    // any code; it never returns into the client.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: as above. setsid leaves the build's session and terminal; the second
            // fork orphans the browser so that its parent, this child, can be reaped at once.
            let code = unsafe {
                libc::setsid();
                match libc::fork() {
                    0 => {
                        detach();
                        run(&zdir, path.as_deref())
                    }
                    _ => 0,
                }
            };
            // SAFETY: _exit skips the client's destructors and atexit handlers.
            unsafe { libc::_exit(code) }
        }
        child => {
            loop {
                // SAFETY: waitpid on our own child; a null status pointer is allowed.
                let rc = unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
                if rc != -1 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// The number of threads of this process (`/proc/self/status`).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Shed what the browser inherited from the client: the client's signal handlers (they
/// delete the client's files), its stdio and descriptors, its working directory.
fn detach() {
    // SAFETY: plain system calls on descriptors and dispositions this process owns.
    unsafe {
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::signal(sig, libc::SIG_DFL);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            for fd in 3..1024 {
                libc::close(fd);
            }
        }
        libc::chdir(c"/".as_ptr());
        // What ps and top show (the command line stays the client's).
        libc::prctl(libc::PR_SET_NAME, c"distcc-zeroconf".as_ptr(), 0, 0, 0);
    }
}

/// Ask `cc`, else `gcc`, found on `path`, skipping distcc's masquerade links (distcc
/// popens `cc -dumpversion` through the shell): a file that is this very binary, or one
/// named `distcc`.
pub fn probe_compiler(path: &OsStr) -> Option<CompilerId> {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let skip = SkipDistcc::SelfOrNamedDistcc { me: me.as_deref() };
    let cc = ["cc", "gcc"]
        .iter()
        .find_map(|n| find_on_path(path, OsStr::new(n), EmptyElement::Skip, skip, |_| {}))?;
    CompilerId::ask(&cc, path)
}

/// distcc `resolve_reply`: `cpus` defaults to 1 (and is at least 1); `jobs` defaults to 4, and
/// a `jobs` that is not positive means `cpus + 2`. Capped so that the line always parses.
pub fn jobs_from_txt(cpus: Option<&str>, jobs: Option<&str>) -> u32 {
    let cpus = cpus.map_or(1, |c| atoi_i64(c).max(1));
    let jobs = match jobs {
        None => 4,
        Some(j) => match atoi_i64(j) {
            n if n <= 0 => cpus.saturating_add(2),
            n => n,
        },
    };
    u32::try_from(jobs.clamp(1, MAX_JOBS)).unwrap_or(4)
}

/// One helper as the host file lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub addr: IpAddr,
    pub port: u16,
    pub jobs: u32,
}

impl Found {
    /// The host-file line: `ip:port/jobs`, `[v6]:port/jobs`.
    pub fn line(&self) -> String {
        match self.addr {
            IpAddr::V4(a) => format!("{a}:{}/{}", self.port, self.jobs),
            IpAddr::V6(a) => format!("[{a}]:{}/{}", self.port, self.jobs),
        }
    }
}

/// Pick the address to reach a helper by: IPv4 before IPv6, other addresses before loopback
/// (mDNS on `lo` only reaches this machine, where loopback is right), lowest first; IPv6
/// link-local addresses need an interface the host grammar cannot carry and are skipped.
pub fn pick_addr(addrs: impl IntoIterator<Item = IpAddr>) -> Option<IpAddr> {
    addrs
        .into_iter()
        .filter(|a| {
            !a.is_unspecified()
                && !a.is_multicast()
                && match a {
                    IpAddr::V4(_) => true,
                    IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
                }
        })
        .min_by_key(|a| (a.is_ipv6(), a.is_loopback(), *a))
}

/// The host file for these helpers, in service-name order.
pub fn render(found: &BTreeMap<String, Found>) -> String {
    found.values().map(|f| f.line() + "\n").collect()
}

/// Whether a helper advertising `advertised` (a subtype with its domain) and the TXT
/// `cc_machine`/`cc_version` has the compiler of `wanted` (ours, `None` if unknown: any).
pub fn matches(
    wanted: Option<&CompilerId>,
    advertised: Option<&str>,
    cc_machine: Option<&str>,
    cc_version: Option<&str>,
) -> bool {
    let Some(wanted) = wanted else {
        return true;
    };
    let ours = format!("{}.local.", subtype(wanted));
    match (advertised, cc_machine, cc_version) {
        (Some(sub), _, _) => sub.eq_ignore_ascii_case(&ours),
        (None, Some(machine), Some(version)) => {
            let theirs = CompilerId {
                version: version.to_owned(),
                machine: machine.to_owned(),
            };
            subtype(&theirs) == subtype(wanted)
        }
        _ => false,
    }
}

/// Apply one mDNS event; whether the list changed.
fn apply(
    found: &mut BTreeMap<String, Found>,
    wanted: Option<&CompilerId>,
    ev: ServiceEvent,
) -> bool {
    match ev {
        ServiceEvent::ServiceResolved(r) => {
            // Names come from the network: escaped in our log.
            let name = r.get_fullname().escape_debug();
            let sub = r.get_subtype().as_deref();
            if !matches(
                wanted,
                sub,
                r.get_property_val_str("cc_machine"),
                r.get_property_val_str("cc_version"),
            ) {
                // Not our compiler (or no longer: a helper re-registered after an upgrade).
                let gone = found.remove(r.get_fullname()).is_some();
                dcc_log!(
                    Level::Info,
                    "browse_reply",
                    "ignoring service {name} ({})",
                    sub.unwrap_or("no subtype").escape_debug()
                );
                return gone;
            }
            let addr = pick_addr(r.get_addresses().iter().map(|a| a.to_ip_addr()));
            let (Some(addr), port) = (addr, r.get_port()) else {
                dcc_log!(
                    Level::Warning,
                    "resolve_reply",
                    "no usable address for service '{name}'"
                );
                return false;
            };
            if port == 0 {
                return false;
            }
            let jobs = jobs_from_txt(
                r.get_property_val_str("cpus"),
                r.get_property_val_str("jobs"),
            );
            let f = Found { addr, port, jobs };
            if found.get(r.get_fullname()) == Some(&f) {
                return false;
            }
            if found.len() >= MAX_HELPERS && !found.contains_key(r.get_fullname()) {
                dcc_log!(
                    Level::Warning,
                    "browse_reply",
                    "more than {MAX_HELPERS} helpers: not listing {name}"
                );
                return false;
            }
            dcc_log!(
                Level::Info,
                "browse_reply",
                "new service: {name} at {}",
                f.line()
            );
            found.insert(r.get_fullname().to_owned(), f);
            true
        }
        ServiceEvent::ServiceRemoved(_, name) => {
            let gone = found.remove(&name).is_some();
            if gone {
                let name = name.escape_debug();
                dcc_log!(Level::Info, "browse_reply", "Removed service: {name}");
            }
            gone
        }
        _ => false,
    }
}

/// Replace the host file atomically. The old file's atime (the clients' last use) carries
/// over, so that a change does not count as use.
fn write_hosts(hosts: &Path, text: &str) -> io::Result<()> {
    let tmp = hosts.with_file_name(format!("{HOSTS_FILE}.{}.tmp", std::process::id()));
    let used = std::fs::metadata(hosts).and_then(|m| m.accessed()).ok();
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o666)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    let mut times = FileTimes::new().set_modified(SystemTime::now());
    if let Some(a) = used {
        times = times.set_accessed(a);
    }
    f.set_times(times)?;
    drop(f);
    std::fs::rename(&tmp, hosts)
}

/// Set the host file's mtime (the heartbeat, or the epoch when abandoning it).
fn set_mtime(hosts: &Path, t: SystemTime) -> io::Result<()> {
    File::open(hosts)?.set_times(FileTimes::new().set_modified(t))
}

/// The browser's life; returns its exit status.
pub fn run(zdir: &Path, path: Option<&OsStr>) -> i32 {
    let lock_path = zdir.join(LOCK_FILE);
    let Ok(mut lock) = crate::client::open_lock_file(&lock_path) else {
        return 1;
    };
    let held = dcc_common::sys::lock::lock(
        std::os::fd::AsFd::as_fd(&lock),
        LockKind::Write,
        Owner::Process,
        Wait::No,
    );
    if !matches!(held, Ok(true)) {
        // There's probably already another browser running.
        return 0;
    }
    // The lock file's mtime tells clients how long this browser has been starting.
    let _ = lock.set_len(0);
    let _ = writeln!(lock, "{}", std::process::id());
    if let Ok(f) = File::create(zdir.join(LOG_FILE)) {
        dcc_common::log::init(Logger::new("distcc", Level::Info, Sink::File(f)));
    }
    dcc_log!(Level::Info, "daemon_proc", "Zeroconf daemon running.");
    let default_path = OsStr::new("/usr/local/bin:/usr/bin:/bin");
    let id = probe_compiler(path.unwrap_or(default_path));
    match &id {
        Some(id) => dcc_log!(
            Level::Info,
            "daemon_proc",
            "Browsing for '{}'.",
            subtype(id)
        ),
        None => dcc_log!(
            Level::Warning,
            "daemon_proc",
            "Warning, failed to get CC version and machine type."
        ),
    }
    if let Err(e) = netlink() {
        dcc_log!(
            Level::Critical,
            "daemon_proc",
            "cannot list network interfaces (netlink: {e}): no helper will be found"
        );
    }
    // Without mDNS the browser still runs, with an empty list: a browser that died at once
    // would be started again, and waited for, by every compile.
    let mdns = ServiceDaemon::new()
        .map_err(|e| dcc_log!(Level::Critical, "daemon_proc", "mDNS failed to start: {e}"))
        .ok();
    let events = mdns.as_ref().and_then(|m| {
        m.browse(&format!("{SERVICE_TYPE}.local."))
            .map_err(|e| dcc_log!(Level::Critical, "daemon_proc", "browsing failed: {e}"))
            .ok()
    });
    let hosts = zdir.join(HOSTS_FILE);
    let why = browse(events, &hosts, id.as_ref());
    dcc_log!(Level::Info, "daemon_proc", "{why}");
    // Clients must not trust the list of a browser that is gone.
    let _ = set_mtime(&hosts, SystemTime::UNIX_EPOCH);
    if let Some(rx) = mdns.as_ref().and_then(|m| m.shutdown().ok()) {
        let _ = rx.recv_timeout(Duration::from_secs(1));
    }
    dcc_log!(Level::Info, "daemon_proc", "zeroconf daemon ended.");
    0
}

/// Keep `hosts` current until nobody uses it; why it stopped.
/// `events` is `None` when mDNS could not start: the list then stays empty.
fn browse(
    mut events: Option<mdns_sd::Receiver<ServiceEvent>>,
    hosts: &Path,
    wanted: Option<&CompilerId>,
) -> &'static str {
    let start = Instant::now();
    let started = SystemTime::now();
    let mut found = BTreeMap::new();
    let mut written = false;
    let mut last_mark = start;
    loop {
        let mut dirty = false;
        match &events {
            None => std::thread::sleep(TICK),
            Some(rx) => match rx.recv_timeout(TICK) {
                Ok(ev) => dirty = apply(&mut found, wanted, ev),
                Err(mdns_sd::RecvTimeoutError::Timeout) => {}
                Err(mdns_sd::RecvTimeoutError::Disconnected) => {
                    // Keep the last list, which is likely still right, until unused.
                    dcc_log!(Level::Critical, "daemon_proc", "mDNS browsing ended.");
                    events = None;
                }
            },
        }
        while let Some(ev) = events.as_ref().and_then(|rx| rx.try_recv().ok()) {
            dirty |= apply(&mut found, wanted, ev);
        }
        let now = Instant::now();
        if dirty || (!written && now.duration_since(start) >= SETTLE) {
            dcc_log!(Level::Info, "write_hosts", "writing zeroconf data.");
            if let Err(e) = write_hosts(hosts, &render(&found)) {
                dcc_log!(Level::Critical, "write_hosts", "write failed: {e}");
                return "cannot write the host file.";
            }
            written = true;
            last_mark = now;
        } else if written && now.duration_since(last_mark) >= HEARTBEAT {
            let _ = set_mtime(hosts, SystemTime::now());
            last_mark = now;
        }
        match std::fs::metadata(hosts).and_then(|m| m.accessed()) {
            Ok(used) => {
                let last = used.max(started);
                if SystemTime::now().duration_since(last).unwrap_or_default() > IDLE {
                    return "Zeroconf daemon unused.";
                }
            }
            // Removed under us (the directory was cleaned up): nobody will read it.
            Err(_) if written => return "the host file is gone.",
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn helpers_match_by_subtype_or_txt() {
        let ours = CompilerId {
            version: "12".into(),
            machine: "x86_64-linux-gnu".into(),
        };
        let sub = "_x86-64-linux-gnu--12._sub._distcc._tcp.local.";
        assert!(matches(Some(&ours), Some(sub), None, None));
        assert!(matches(
            Some(&ours),
            Some(&sub.to_uppercase()),
            Some("x"),
            Some("y")
        ));
        assert!(!matches(
            Some(&ours),
            Some("_x86-64-linux-gnu--14._sub._distcc._tcp.local."),
            Some("x86_64-linux-gnu"),
            Some("12")
        ));
        // No subtype seen: the TXT decides; neither: not ours.
        assert!(matches(
            Some(&ours),
            None,
            Some("X86_64-linux-gnu"),
            Some("12")
        ));
        assert!(!matches(
            Some(&ours),
            None,
            Some("x86_64-linux-gnu"),
            Some("14")
        ));
        assert!(!matches(Some(&ours), None, None, None));
        // Our compiler unknown: every helper, as distcc browses the plain type then.
        assert!(matches(None, None, None, None));
    }

    #[test]
    fn jobs_follow_distccs_defaults() {
        assert_eq!(jobs_from_txt(None, None), 4);
        assert_eq!(jobs_from_txt(Some("8"), Some("10")), 10);
        assert_eq!(jobs_from_txt(Some("8"), Some("0")), 10);
        assert_eq!(jobs_from_txt(Some("-3"), Some("x")), 3);
        assert_eq!(jobs_from_txt(None, Some("99999999999999999999")), 9999);
        assert_eq!(jobs_from_txt(Some("2"), None), 4);
    }

    #[test]
    fn addresses_and_lines() {
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let ll: IpAddr = "fe80::1".parse().unwrap();
        let g6: IpAddr = "fd00::2".parse().unwrap();
        assert_eq!(
            pick_addr([g6, v4(127, 0, 0, 1), v4(10, 3, 0, 6), v4(10, 3, 0, 2)]),
            Some(v4(10, 3, 0, 2))
        );
        assert_eq!(pick_addr([ll, v4(127, 0, 0, 1)]), Some(v4(127, 0, 0, 1)));
        assert_eq!(pick_addr([ll, g6]), Some(g6));
        assert_eq!(pick_addr([ll, IpAddr::V6(Ipv6Addr::UNSPECIFIED)]), None);
        let mut m = BTreeMap::new();
        m.insert(
            "distcc@b._distcc._tcp.local.".to_owned(),
            Found {
                addr: g6,
                port: 3700,
                jobs: 2,
            },
        );
        m.insert(
            "distcc@a._distcc._tcp.local.".to_owned(),
            Found {
                addr: v4(10, 3, 0, 2),
                port: 3632,
                jobs: 4,
            },
        );
        let text = render(&m);
        assert_eq!(text, "10.3.0.2:3632/4\n[fd00::2]:3700/2\n");
        // What we write is what the client's parser reads.
        let hosts = crate::client::parse(&text).unwrap();
        assert_eq!(hosts.len(), 2);
    }

    #[test]
    fn masquerade_links_are_not_the_compiler() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let masq = dir.path().join("masq");
        let real = dir.path().join("real");
        std::fs::create_dir_all(&masq).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        let distcc = dir.path().join("distcc");
        std::fs::write(&distcc, "#!/bin/sh\necho 0.0\n").unwrap();
        std::fs::set_permissions(&distcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        symlink(&distcc, masq.join("cc")).unwrap();
        let cc = real.join("cc");
        std::fs::write(
            &cc,
            "#!/bin/sh\ncase \"$1\" in -dumpversion) echo 12;; -dumpmachine) echo \
             aarch64-linux-gnu;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&masq, &real]).unwrap();
        assert_eq!(
            probe_compiler(&path),
            Some(CompilerId {
                version: "12".into(),
                machine: "aarch64-linux-gnu".into()
            })
        );
        assert_eq!(probe_compiler(masq.as_os_str()), None);
    }

    #[test]
    fn the_file_is_replaced_with_the_old_atime_and_abandoned_with_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        write_hosts(&hosts, "10.3.0.2:3632/4\n").unwrap();
        let used = SystemTime::now() - Duration::from_secs(500);
        File::open(&hosts)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(used))
            .unwrap();
        write_hosts(&hosts, "").unwrap();
        let m = std::fs::metadata(&hosts).unwrap();
        assert_eq!(m.len(), 0);
        assert_eq!(m.accessed().unwrap(), used);
        assert!(crate::client::is_fresh(
            m.modified().unwrap(),
            SystemTime::now()
        ));
        set_mtime(&hosts, SystemTime::UNIX_EPOCH).unwrap();
        let m = std::fs::metadata(&hosts).unwrap();
        assert!(!crate::client::is_fresh(
            m.modified().unwrap(),
            SystemTime::now()
        ));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn forking_from_a_threaded_process_is_refused() {
        // The test harness runs tests on threads.
        let dir = tempfile::tempdir().unwrap();
        assert!(spawn(dir.path(), None).is_err());
    }
}
