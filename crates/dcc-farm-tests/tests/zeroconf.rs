//! `distccd --zeroconf` and `DISTCC_HOSTS=+zeroconf` on a farm of network namespaces.
//!
//! mDNS is multicast: every daemon, browser and query here lives in a namespace of the test's
//! own [`Network`], whose bridge has no uplink, so nothing reaches the machine's real network.
//! Each helper also gets its own UTS namespace and host name (`zc-a`, ...), as separate machines
//! have, so that its instance is `distcc@zc-a`. The master's browser is the one our client
//! starts; the announcement itself is checked with mdns-sd from inside the master's namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcc_testkit::netns::farm::helper::{Job, jobs_in};
use dcc_testkit::netns::farm::{Build, CLIENT, addr, build};
use dcc_testkit::netns::{Host, Network};
use dcc_testkit::{World, bins, compare};

const WORKLOAD: &str = "lua";
const HELPER_C: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 7);
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A network with a master and up to three helper hosts. Field order is drop order: the
/// network (and every process in it, the master's browser included) goes before the files.
struct Farm {
    _net: Network,
    master: Host,
    a: Host,
    b: Host,
    c: Host,
    world: World,
}

impl Farm {
    fn new() -> Farm {
        let mut net = Network::new();
        let master = net.host("master", addr::MASTER);
        let a = net.host("a", addr::HELPER_A);
        let b = net.host("b", addr::HELPER_B);
        let c = net.host("c", HELPER_C);
        Farm {
            _net: net,
            master,
            a,
            b,
            c,
            world: World::new(),
        }
    }
}

/// How to start a [`ZHelper`].
#[derive(Default)]
struct Opts {
    jobs: u32,
    /// `--listen` on the host's address.
    listen: bool,
    /// A `cc` first on the daemon's PATH that reports this `-dumpversion`.
    cc_version: Option<&'static str>,
}

/// Our distccd with `--zeroconf` on a farm host, in its own UTS namespace.
struct ZHelper {
    child: Child,
    host: Host,
    log: PathBuf,
}

impl ZHelper {
    fn start(world: &World, host: &Host, o: Opts) -> ZHelper {
        let name = format!("zc-{}", host.label());
        let log = world.path(&format!("logs/{name}.log"));
        let wl = world.path(&format!("whitelist-{name}"));
        std::fs::create_dir_all(&wl).expect("mkdir whitelist");
        for n in ["gcc", "cc", "x86_64-linux-gnu-gcc"] {
            std::os::unix::fs::symlink("/usr/bin/distcc", wl.join(n)).expect("symlink");
        }
        let mut path = PATH.to_owned();
        if let Some(v) = o.cc_version {
            let dir = world.path(&format!("fakecc-{name}"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            let cc = dir.join("cc");
            std::fs::write(
                &cc,
                format!(
                    "#!/bin/sh\ncase \"$1\" in -dumpversion) echo {v};; *) exec /usr/bin/cc \"$@\";; esac\n"
                ),
            )
            .expect("write cc");
            std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            path = format!("{}:{PATH}", dir.display());
        }
        let mut cmd = host.command(bins::ours("distccd"));
        cmd.args(["--no-detach", "--daemon", "--zeroconf"])
            .args(["--allow", addr::ALLOW])
            .args(["--jobs", &o.jobs.to_string()])
            .args(["--log-file", &log.to_string_lossy()])
            .args(["--log-level", "debug"]);
        if o.listen {
            cmd.args(["--listen", &host.addr().to_string()]);
        }
        cmd.env_clear()
            .env("PATH", &path)
            .env("TMPDIR", world.path("tmp"))
            .env("DISTCC_RS_WHITELIST_DIR", &wl)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let cname = CString::new(name.clone()).expect("name");
        // SAFETY: unshare and sethostname are async-signal-safe system calls; this runs after
        // Host::command's setns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::unshare(libc::CLONE_NEWUTS) != 0
                    || libc::sethostname(cname.as_ptr(), cname.as_bytes().len()) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn distccd");
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("daemon started") {
                assert!(text.contains("announcing distcc@"), "{text}");
                return ZHelper {
                    child,
                    host: host.clone(),
                    log,
                };
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("distccd on {name} exited with {st}: {text}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "distccd on {name} did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn jobs(&self) -> Vec<Job> {
        jobs_in(&self.log_text())
    }

    /// The host-file line the master's browser should write for this helper.
    fn line(&self, jobs: u32) -> String {
        format!("{}:3632/{jobs}", self.host.addr())
    }

    /// SIGTERM, as a service manager stops it, and wait for the exit.
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

impl Drop for ZHelper {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// `cc -dumpmachine` / `cc -dumpversion` here.
fn cc(arg: &str) -> String {
    let o = Command::new("cc").arg(arg).output().expect("run cc");
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// distcc's subtype for a compiler (distcc src/gcc-id.c), written out independently.
fn subtype(machine: &str, version: &str) -> String {
    let label = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' => c,
                'A'..='Z' => c.to_ascii_lowercase(),
                _ => '-',
            })
            .collect()
    };
    format!("_{}--{}._sub._distcc._tcp", label(machine), label(version))
}

/// `distcc --show-hosts` with `DISTCC_HOSTS=+zeroconf`, run on the master.
fn show_hosts(f: &Farm, distcc_dir: &Path) -> Vec<String> {
    let out = f
        .master
        .command(CLIENT.path())
        .arg("--show-hosts")
        .env_clear()
        .env("PATH", PATH)
        .env("DISTCC_DIR", distcc_dir)
        .env("DISTCC_HOSTS", "+zeroconf")
        .stdin(Stdio::null())
        .output()
        .expect("run distcc --show-hosts");
    assert!(out.status.success(), "{out:?}");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// Ask the master's `+zeroconf` list until it is `want` (sorted), for up to 30 s.
fn wait_hosts(f: &Farm, distcc_dir: &Path, want: &[String]) {
    let mut want = want.to_vec();
    want.sort();
    let start = Instant::now();
    loop {
        let got = show_hosts(f, distcc_dir);
        if got == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the +zeroconf list stayed {got:?}, not {want:?}; browser log:\n{}",
            std::fs::read_to_string(distcc_dir.join("zeroconf/browser.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Browse `_distcc._tcp` with mdns-sd inside the master's namespace until `instances` have
/// resolved (or 30 s pass).
fn browse_from(master: &Host, instances: &[&str]) -> BTreeMap<String, mdns_sd::ResolvedService> {
    let want: Vec<String> = instances
        .iter()
        .map(|i| format!("{i}._distcc._tcp.local."))
        .collect();
    master
        .spawn(move || {
            let mdns = mdns_sd::ServiceDaemon::new().expect("mdns");
            let rx = mdns.browse("_distcc._tcp.local.").expect("browse");
            let mut found = BTreeMap::new();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !want.iter().all(|w| found.contains_key(w)) {
                match rx.recv_deadline(deadline) {
                    Ok(mdns_sd::ServiceEvent::ServiceResolved(r)) => {
                        found.insert(r.get_fullname().to_owned(), *r);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = mdns.shutdown();
            found
        })
        .join()
        .expect("browse thread")
}

/// The devices of this host that joined mDNS's IPv4 group 224.0.0.251.
fn mdns_devices(host: &Host) -> Vec<String> {
    let out = host
        .command("cat")
        .arg("/proc/net/igmp")
        .output()
        .expect("cat /proc/net/igmp");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut dev = String::new();
    let mut v = Vec::new();
    for l in text.lines().skip(1) {
        if l.starts_with('\t') {
            if l.trim_start().starts_with("FB0000E0") {
                v.push(dev.clone());
            }
        } else if let Some(d) = l.split_whitespace().nth(1) {
            dev = d.to_owned();
        }
    }
    v
}

#[test]
fn the_announcement_has_distccs_type_subtype_and_txt() {
    let f = Farm::new();
    let a = ZHelper::start(
        &f.world,
        &f.a,
        Opts {
            jobs: 3,
            ..Opts::default()
        },
    );
    let b = ZHelper::start(
        &f.world,
        &f.b,
        Opts {
            jobs: 2,
            listen: true,
            ..Opts::default()
        },
    );
    let found = browse_from(&f.master, &["distcc@zc-a", "distcc@zc-b"]);
    let (machine, version) = (cc("-dumpmachine"), cc("-dumpversion"));
    let ra = found
        .get("distcc@zc-a._distcc._tcp.local.")
        .unwrap_or_else(|| panic!("zc-a not found: {found:?}\n{}", a.log_text()));
    assert_eq!(ra.get_port(), 3632);
    assert_eq!(
        ra.get_subtype().as_deref(),
        Some(format!("{}.local.", subtype(&machine, &version)).as_str())
    );
    let ips: Vec<IpAddr> = ra.get_addresses().iter().map(|a| a.to_ip_addr()).collect();
    assert_eq!(ips, [IpAddr::V4(addr::HELPER_A)], "only the LAN address");
    let txt: Vec<(String, String)> = ra
        .get_properties()
        .iter()
        .map(|p| (p.key().to_owned(), p.val_str().to_owned()))
        .collect();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want: Vec<(String, String)> = [
        ("txtvers", "1".to_owned()),
        ("cpus", cpus.to_string()),
        ("jobs", "3".to_owned()),
        ("distcc", "3.4".to_owned()),
        (
            "gnuhost",
            format!("{}-pc-linux-gnu", std::env::consts::ARCH),
        ),
        ("cc_version", version.clone()),
        ("cc_machine", machine.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(txt, want, "distcc's TXT record, in distcc's order");

    // --listen: found at that address, and mDNS joined on its interface only.
    let rb = found
        .get("distcc@zc-b._distcc._tcp.local.")
        .unwrap_or_else(|| panic!("zc-b not found: {found:?}\n{}", b.log_text()));
    let ips: Vec<IpAddr> = rb.get_addresses().iter().map(|a| a.to_ip_addr()).collect();
    assert_eq!(ips, [IpAddr::V4(addr::HELPER_B)]);
    assert_eq!(rb.get_property_val_str("jobs"), Some("2"));
    assert_eq!(mdns_devices(&f.b), ["eth0"], "--listen keeps mDNS on eth0");
    assert_eq!(mdns_devices(&f.a), ["lo", "eth0"], "without --listen: all");
}

#[test]
fn a_zeroconf_build_runs_on_the_discovered_helpers_with_our_compiler_only() {
    let f = Farm::new();
    let a = ZHelper::start(
        &f.world,
        &f.a,
        Opts {
            jobs: 2,
            ..Opts::default()
        },
    );
    let b = ZHelper::start(
        &f.world,
        &f.b,
        Opts {
            jobs: 2,
            listen: true,
            ..Opts::default()
        },
    );
    // Another compiler version: another subtype, so not for this master.
    let c = ZHelper::start(
        &f.world,
        &f.c,
        Opts {
            jobs: 4,
            cc_version: Some("0.1"),
            ..Opts::default()
        },
    );
    assert!(
        c.log_text().contains("--0-1._sub._distcc._tcp"),
        "{}",
        c.log_text()
    );
    let distcc_dir = f.world.path("master-distcc");
    std::fs::create_dir_all(&distcc_dir).expect("mkdir");
    // The first client starts the browser; wait until it has seen all three helpers.
    wait_hosts(&f, &distcc_dir, &[a.line(2), b.line(2)]);
    let log = distcc_dir.join("zeroconf/browser.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ignoring service distcc@zc-c")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the browser never saw zc-c: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(show_hosts(&f, &distcc_dir), [a.line(2), b.line(2)]);
    let built = Build::run(
        &f.world,
        &f.master,
        "master",
        WORKLOAD,
        &CLIENT.cc("gcc"),
        4,
        // No fallback: a compile that did not run on a helper fails the build.
        &[("DISTCC_HOSTS", "+zeroconf"), ("DISTCC_FALLBACK", "0")],
    );
    built.assert_success("make -j4 with DISTCC_HOSTS=+zeroconf");
    assert_eq!(built.distcc_dir, distcc_dir);
    let diffs = compare::trees(&build::reference(WORKLOAD, "gcc"), &built.objects);
    assert!(diffs.is_empty(), "objects differ: {diffs:#?}");
    let units = build::units(WORKLOAD);
    let ok = |h: &ZHelper| h.jobs().iter().filter(|j| j.result == "COMPILE_OK").count();
    let start = Instant::now();
    while ok(&a) + ok(&b) < units && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ok(&a) + ok(&b), units, "every unit on a discovered helper");
    assert!(ok(&a) > 0 && ok(&b) > 0, "A {} B {}", ok(&a), ok(&b));
    assert!(
        c.jobs().is_empty(),
        "zc-c has another compiler: {:?}",
        c.jobs()
    );
    for h in [&a, &b] {
        assert!(h.jobs().iter().all(|j| j.client == addr::MASTER));
    }
}

#[test]
fn a_stopped_helper_disappears_and_a_new_one_appears() {
    let f = Farm::new();
    let a = ZHelper::start(
        &f.world,
        &f.a,
        Opts {
            jobs: 2,
            ..Opts::default()
        },
    );
    let mut b = ZHelper::start(
        &f.world,
        &f.b,
        Opts {
            jobs: 5,
            ..Opts::default()
        },
    );
    let distcc_dir = f.world.path("master-distcc");
    std::fs::create_dir_all(&distcc_dir).expect("mkdir");
    wait_hosts(&f, &distcc_dir, &[a.line(2), b.line(5)]);
    b.stop();
    assert!(
        b.log_text().contains("withdrew distcc@zc-b"),
        "{}",
        b.log_text()
    );
    wait_hosts(&f, &distcc_dir, &[a.line(2)]);
    let c = ZHelper::start(
        &f.world,
        &f.c,
        Opts {
            jobs: 1,
            ..Opts::default()
        },
    );
    wait_hosts(&f, &distcc_dir, &[a.line(2), c.line(1)]);
    // The browser is one process for all clients: it logged both changes.
    let log = std::fs::read_to_string(distcc_dir.join("zeroconf/browser.log")).expect("log");
    assert_eq!(log.matches("Zeroconf daemon running.").count(), 1, "{log}");
    assert!(log.contains("Removed service: distcc@zc-b"), "{log}");
}
