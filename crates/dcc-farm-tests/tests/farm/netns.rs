//! The test support itself: hosts reach each other on the LAN and nothing else; everything is
//! torn down on drop, on panic, and after a crashed run.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use dcc_testkit::netns::{self, Network, PREFIX};

#[test]
fn hosts_talk_over_the_bridge_and_have_no_way_out() {
    let mut net = Network::new();
    let a = net.host("a", Ipv4Addr::new(10, 3, 0, 2));
    let b = net.host("b", Ipv4Addr::new(10, 3, 1, 5));
    // A server on a's real address, a client in b: the connection's source is b's address.
    let server = a.spawn(|| {
        let l = TcpListener::bind("10.3.0.2:4000").expect("bind");
        let (mut s, peer) = l.accept().expect("accept");
        s.write_all(b"hello").expect("write");
        peer
    });
    let reply = b
        .spawn(|| {
            let to = SocketAddr::from(([10, 3, 0, 2], 4000));
            let mut s = (0..100)
                .find_map(|_| {
                    TcpStream::connect_timeout(&to, Duration::from_secs(5))
                        .map_err(|_| std::thread::sleep(Duration::from_millis(20)))
                        .ok()
                })
                .expect("connect across the bridge");
            let mut v = String::new();
            s.read_to_string(&mut v).expect("read");
            v
        })
        .join()
        .expect("client thread");
    assert_eq!(reply, "hello");
    let peer = server.join().expect("server thread");
    assert_eq!(peer.ip(), Ipv4Addr::new(10, 3, 1, 5));

    for h in [&a, &b] {
        let routes = h.routes();
        assert!(
            !routes.iter().any(|r| r.starts_with("default")),
            "{}: a default route would lead off the machine: {routes:?}",
            h.label()
        );
        let main: Vec<&String> = routes
            .iter()
            .filter(|r| {
                !r.contains("table local") && !r.starts_with("local") && !r.starts_with("broadcast")
            })
            .collect();
        assert_eq!(main.len(), 1, "{}: {routes:?}", h.label());
        assert!(main[0].starts_with("10.3.0.0/16 dev eth0"), "{main:?}");
        assert_eq!(
            h.ip(&["-o", "link", "show"]).lines().count(),
            2,
            "{}: only lo and eth0",
            h.label()
        );
        let fwd = h
            .command("cat")
            .arg("/proc/sys/net/ipv4/ip_forward")
            .output()
            .expect("cat");
        assert_eq!(
            String::from_utf8_lossy(&fwd.stdout).trim(),
            "0",
            "no forwarding"
        );
    }
    // The machine's own namespace got nothing: the ports live in the switch namespace.
    let root_links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip link");
    let root_links = String::from_utf8_lossy(&root_links.stdout);
    assert!(!root_links.contains(net.id()), "{root_links}");
    let bridge_ports = netns_ip(net.switch(), &["-o", "link", "show", "master", "br0"]);
    assert_eq!(bridge_ports.lines().count(), 2, "{bridge_ports}");
}

fn netns_ip(ns: &str, args: &[&str]) -> String {
    let mut a = vec!["-n", ns];
    a.extend_from_slice(args);
    let o = std::process::Command::new("ip")
        .args(&a)
        .output()
        .expect("ip");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn everything_is_torn_down_even_when_the_test_panics() {
    let names = std::sync::Mutex::new(Vec::new());
    let pid = std::sync::Mutex::new(0u32);
    let r = std::panic::catch_unwind(|| {
        let mut net = Network::new();
        let h = net.host("h", Ipv4Addr::new(10, 3, 0, 9));
        names
            .lock()
            .unwrap()
            .extend([h.netns().to_owned(), net.switch().to_owned()]);
        let child = h
            .command("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .spawn()
            .expect("sleep in the namespace");
        *pid.lock().unwrap() = child.id();
        assert_eq!(h.pids(), vec![child.id() as i32]);
        std::mem::forget(child); // as if the test lost track of it
        panic!("intentional panic: the network must still be torn down");
    });
    assert!(r.is_err());
    let names = names.into_inner().unwrap();
    assert_eq!(names.len(), 2);
    for n in &names {
        assert!(!netns::exists(n), "{n} left behind");
    }
    let pid = pid.into_inner().unwrap();
    // The killed sleep is our (unreaped) child: a zombie at most, never running.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "sleep still runs: {state}"
    );
    // SAFETY: reap our own child.
    unsafe {
        libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
    }
}

#[test]
fn namespaces_of_crashed_runs_are_cleaned_up() {
    // A pid that cannot be running: above the kernel's limit.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("pid_max")
        .trim()
        .parse()
        .expect("number");
    let stale = format!("{PREFIX}{}-0-x", pid_max + 1);
    netns::ip(&["netns", "add", &stale]);
    assert!(netns::exists(&stale));
    let net = Network::new();
    assert!(!netns::exists(&stale), "stale {stale} survived");
    // Our own live network is not stale.
    assert!(netns::exists(net.switch()));
    assert!(netns::clean_stale().is_empty());
    assert!(netns::exists(net.switch()));
}
