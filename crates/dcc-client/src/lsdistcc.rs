//! `lsdistcc`: list the distcc servers that answer (distcc src/lsdistcc.c, man lsdistcc).
//!
//! Hosts come from the command line, or from a name pattern with `%d` (`distcc%d` by default)
//! tried for 1, 2, 3 … until a name does not resolve. A host is *up* when a TCP connection to
//! the distcc port succeeds within the connect timeout, and, with `-pCOMPILER`, when a test
//! compile of `int foo(){return 0;}` comes back with status 0 within the compile timeout.
//! Each up host is printed as a host-list entry (`name[:port][,lzo[,cpp]]`), so the output can
//! go straight into `DISTCC_HOSTS`. The exit status is 0 when some host is up, else 1.
//!
//! Options (joined to their value, as in distcc: `-t5`, `-r3632`):
//!
//! | option | meaning | default |
//! |---|---|---|
//! | `-l` | print the latency in ms after each host | |
//! | `-n` | print the IP address instead of the name | |
//! | `-x` | also list down hosts, with `,down` | |
//! | `-tSECS` | stop after this many seconds (hosts not done count as down) | 7 |
//! | `-cMS` | connect timeout; 0: no connect, every resolved host is up | 900 |
//! | `-kMS` | test-compile timeout; 0: no test compile | 1500 |
//! | `-rPORT` | the port | 3632 |
//! | `-PN` | protocol for the test compile and the printed suffix (1-3) | 1 |
//! | `-pCOMPILER` | compiler for the test compile (none: no test compile) | |
//! | `-mBITS` | pattern mode: stop at a host whose first BITS address bits differ from the first host's | 0 |
//! | `-gN` | pattern mode: tolerate N names that do not resolve | 0 |
//! | `-d` | append the DNS domain (from `HOSTNAME`/`HOST` or the host name) to each name | |
//! | `-v` | verbose (to stderr) | |
//! | `-hMS`, `-oN` | DNS retry time and DNS overlap: accepted and ignored (look-ups use the system resolver, one at a time) | |
//!
//! Differences from distcc: hosts are checked in parallel with one thread each and printed in
//! the order given rather than in the order they answer; IPv6 addresses work.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dcc_proto::{FileEntry, Protocol, ReplyDecoder, Request, RequestBody, RequestHeader};

const MAX_HOSTS: usize = 500;

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub latency: bool,
    pub numeric: bool,
    pub bang_down: bool,
    pub total: Duration,
    pub connect: Duration,
    pub compile: Duration,
    pub port: u16,
    pub protocol: u32,
    pub compiler: Option<String>,
    pub match_bits: u32,
    pub dns_gap: u32,
    pub domain: bool,
    pub verbose: u32,
    /// Host names, or one pattern containing `%d`.
    pub names: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            latency: false,
            numeric: false,
            bang_down: false,
            total: Duration::from_secs(7),
            connect: Duration::from_millis(900),
            compile: Duration::from_millis(1500),
            port: dcc_common::DEFAULT_PORT,
            protocol: 1,
            compiler: None,
            match_bits: 0,
            dns_gap: 0,
            domain: false,
            verbose: 0,
            names: Vec::new(),
        }
    }
}

/// Parse the command line (without `argv[0]`). `Err(())` means: print the usage, exit 1.
#[allow(clippy::result_unit_err)]
pub fn parse_args(args: &[String]) -> Result<Options, ()> {
    let mut o = Options::default();
    let mut i = 0;
    let num = |v: &str| -> Result<u64, ()> {
        let n = dcc_common::sys::atoi_i64(v);
        u64::try_from(n).map_err(|_| ())
    };
    while i < args.len() && args[i].starts_with('-') {
        let a = &args[i];
        let v = a.get(2..).unwrap_or("");
        match a.as_bytes().get(1) {
            Some(b'l') => o.latency = true,
            Some(b'n') => o.numeric = true,
            Some(b'x') => o.bang_down = true,
            Some(b'v') => o.verbose += 1,
            Some(b'd') => o.domain = true,
            Some(b't') => o.total = Duration::from_secs(num(v)?),
            Some(b'c') => o.connect = Duration::from_millis(num(v)?),
            Some(b'k') => o.compile = Duration::from_millis(num(v)?),
            Some(b'h') | Some(b'o') => {
                num(v)?;
            }
            Some(b'g') => o.dns_gap = u32::try_from(num(v)?).map_err(|_| ())?,
            Some(b'm') => {
                o.match_bits = u32::try_from(num(v)?).map_err(|_| ())?;
                if o.match_bits > 31 {
                    return Err(());
                }
            }
            Some(b'r') => {
                o.port = u16::try_from(num(v)?).map_err(|_| ())?;
                if o.port == 0 {
                    return Err(());
                }
            }
            Some(b'P') => {
                o.protocol = u32::try_from(num(v)?).map_err(|_| ())?;
                if !(1..=3).contains(&o.protocol) {
                    return Err(());
                }
            }
            Some(b'p') => {
                if v.is_empty() {
                    return Err(());
                }
                o.compiler = Some(v.to_owned());
            }
            _ => return Err(()),
        }
        i += 1;
    }
    o.names = args[i..].to_vec();
    Ok(o)
}

/// The usage text (printed on stdout, exit status 1, as distcc does).
pub fn usage() -> String {
    "Usage: lsdistcc [-l] [-n] [-x] [-v] [-d] [-tSECS] [-cMS] [-kMS] [-rPORT] [-PPROTOCOL]\n\
     \x20               [-pCOMPILER] [-mBITS] [-gGAP] [FORMAT | HOST...]\n\
     Lists the distcc servers that answer on the distcc port. With HOSTs, checks those;\n\
     otherwise tries the names FORMAT (default distcc%d) gives for 1, 2, 3 ... until one\n\
     does not resolve.\n\
     \x20 -l        print the latency in milliseconds after each host\n\
     \x20 -n        print IP addresses instead of names\n\
     \x20 -x        also list down hosts, with ,down\n\
     \x20 -tSECS    stop after SECS seconds [7]\n\
     \x20 -cMS      connect timeout in ms, 0 for no connect [900]\n\
     \x20 -kMS      test-compile timeout in ms, 0 for no test compile [1500]\n\
     \x20 -rPORT    port [3632]\n\
     \x20 -PN       protocol version 1-3 for the test compile and the output [1]\n\
     \x20 -pCC      compiler for a test compile [none]\n\
     \x20 -mBITS    address bits that must match the first host found [0]\n\
     \x20 -gGAP     names that may fail to resolve before giving up [0]\n\
     \x20 -d        append the DNS domain to each name\n\
     \x20 -v        verbose\n"
        .to_owned()
}

/// One host's result.
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub addr: Option<SocketAddr>,
    pub up: bool,
    pub latency: Duration,
}

/// The line printed for a host, or `None` when it is down and `-x` is off.
pub fn format_line(o: &Options, p: &Probe) -> Option<String> {
    if !p.up && !o.bang_down {
        return None;
    }
    let mut s = match (o.numeric, p.addr) {
        (true, Some(a)) => a.ip().to_string(),
        _ => p.name.clone(),
    };
    if o.port != dcc_common::DEFAULT_PORT {
        s.push_str(&format!(":{}", o.port));
    }
    s.push_str(match o.protocol {
        2 => ",lzo",
        3 => ",lzo,cpp",
        _ => "",
    });
    if !p.up {
        s.push_str(",down");
    }
    if o.latency {
        s.push_str(&format!(" {}", p.latency.as_millis()));
    }
    Some(s)
}

fn dns_domain() -> Option<String> {
    let from_env = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::env::var("HOST").ok())
        .filter(|h| h.contains('.'));
    let name = from_env
        .or_else(|| dcc_common::sys::hostname().map(|h| h.to_string_lossy().into_owned()))?;
    name.split_once('.')
        .map(|(_, d)| d.to_owned())
        .filter(|d| !d.is_empty())
}

fn resolve(name: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    (name, port).to_socket_addrs().ok()?.next()
}

fn prefix_matches(a: IpAddr, b: IpAddr, bits: u32) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            bits == 0 || (u32::from(a) ^ u32::from(b)) >> (32 - bits) == 0
        }
        _ => true,
    }
}

/// The hosts to check: the names given, or the pattern expanded until resolution fails.
fn targets(o: &Options, domain: Option<&str>) -> Vec<(String, Option<SocketAddr>)> {
    let with_domain = |n: String| match domain {
        Some(d) => format!("{n}.{d}"),
        None => n,
    };
    let pattern = match o.names.first() {
        Some(p) if p.contains("%d") => Some(p.clone()),
        Some(_) => None,
        None => Some("distcc%d".to_owned()),
    };
    let Some(pattern) = pattern else {
        return o
            .names
            .iter()
            .take(MAX_HOSTS)
            .map(|n| {
                let n = with_domain(n.clone());
                let a = resolve(&n, o.port);
                (n, a)
            })
            .collect();
    };
    let mut out = Vec::new();
    let mut misses = 0;
    let mut first: Option<IpAddr> = None;
    for i in 1..=MAX_HOSTS {
        let n = with_domain(pattern.replacen("%d", &i.to_string(), 1));
        match resolve(&n, o.port) {
            Some(a) => {
                let f = *first.get_or_insert(a.ip());
                if !prefix_matches(f, a.ip(), o.match_bits) {
                    break;
                }
                out.push((n, Some(a)));
            }
            None => {
                if o.verbose > 0 {
                    eprintln!("lsdistcc: {n} not found");
                }
                misses += 1;
                if misses > o.dns_gap {
                    break;
                }
            }
        }
    }
    out
}

/// Connect (and test-compile) one host.
fn check(o: &Options, name: &str, addr: Option<SocketAddr>, query: Option<&[u8]>) -> Probe {
    let start = Instant::now();
    let mut p = Probe {
        name: name.to_owned(),
        addr,
        up: false,
        latency: Duration::ZERO,
    };
    let Some(a) = addr else {
        return p;
    };
    if o.connect.is_zero() {
        p.up = true;
        return p;
    }
    let s = match TcpStream::connect_timeout(&a, o.connect) {
        Ok(s) => s,
        Err(e) => {
            if o.verbose > 0 {
                eprintln!("lsdistcc: connecting to {name} failed: {e}");
            }
            return p;
        }
    };
    p.up = match query {
        Some(q) if !o.compile.is_zero() => test_compile(o, name, s, q),
        _ => true,
    };
    p.latency = start.elapsed();
    p
}

fn test_compile(o: &Options, name: &str, mut s: TcpStream, query: &[u8]) -> bool {
    use std::io::Read;
    let deadline = Instant::now() + o.compile;
    if s.set_write_timeout(Some(o.compile)).is_err() || s.write_all(query).is_err() {
        return false;
    }
    let protocol = Protocol::from_wire(o.protocol).unwrap_or(Protocol::V1);
    // The canned test compile's reply is tiny: the client's limits at their smallest (1 MiB
    // per body) keep a hostile host from filling this probe's memory.
    let mut dec = ReplyDecoder::new(protocol, crate::reply::reply_limits(1));
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(r)) => {
                if r.status != 0 && o.verbose > 1 {
                    eprintln!(
                        "lsdistcc: warning: test compile on {name} failed! status 0x{:x}",
                        r.status
                    );
                }
                return r.status == 0;
            }
            Ok(None) => {}
            Err(e) => {
                if o.verbose > 1 {
                    eprintln!("lsdistcc: {name}: {e}");
                }
                return false;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => {
                if o.verbose > 0 {
                    eprintln!(
                        "lsdistcc: premature EOF while waiting for result from server {name}"
                    );
                }
                return false;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// distcc's canned test request: `COMPILER -c hello.c -o hello.o` of `int foo(){return 0;}`.
pub fn canned_query(compiler: &str, protocol: u32) -> Vec<u8> {
    let program = b"int foo(){return 0;}".to_vec();
    let protocol = Protocol::from_wire(protocol).unwrap_or(Protocol::V1);
    let argv = [compiler, "-c", "hello.c", "-o", "hello.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let body = if protocol.pump {
        RequestBody::Files(vec![FileEntry::File {
            name: "/hello.c".into(),
            contents: program,
        }])
    } else {
        RequestBody::Doti(program)
    };
    Request {
        header: RequestHeader {
            protocol,
            cdir: protocol.pump.then(|| "/".to_owned()),
            argv,
        },
        body,
    }
    .encode()
    .unwrap_or_default()
}

/// Run `lsdistcc` with `args` (without `argv[0]`); the exit status.
pub fn main(args: &[String]) -> i32 {
    let Ok(o) = parse_args(args) else {
        print!("{}", usage());
        let _ = std::io::stdout().flush();
        return 1;
    };
    let domain = if o.domain {
        match dns_domain() {
            Some(d) => Some(d),
            None => {
                eprintln!("Can't get domain name");
                return 1;
            }
        }
    } else {
        None
    };
    let started = Instant::now();
    let hosts = targets(&o, domain.as_deref());
    let query = o.compiler.as_deref().map(|c| canned_query(c, o.protocol));
    let (tx, rx) = mpsc::channel();
    for (i, (name, addr)) in hosts.iter().cloned().enumerate() {
        let tx = tx.clone();
        let o = o.clone();
        let query = query.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, check(&o, &name, addr, query.as_deref())));
        });
    }
    drop(tx);
    let mut results: Vec<Option<Probe>> = vec![None; hosts.len()];
    let deadline = started + o.total;
    for _ in 0..hosts.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, p)) => results[i] = Some(p),
            Err(_) => {
                if o.verbose > 0 {
                    eprintln!("Timeout!");
                }
                break;
            }
        }
    }
    let mut out = String::new();
    let mut any_up = false;
    for (i, (name, addr)) in hosts.iter().enumerate() {
        let p = results[i].take().unwrap_or_else(|| Probe {
            name: name.clone(),
            addr: *addr,
            up: false,
            latency: Duration::ZERO,
        });
        any_up |= p.up;
        if let Some(line) = format_line(&o, &p) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    if any_up { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options() {
        let o = parse_args(&args(
            "-l -x -t3 -c100 -k0 -r4000 -P2 -pgcc -m8 -g2 -v -v a b",
        ))
        .unwrap();
        assert!(o.latency && o.bang_down);
        assert_eq!(o.total, Duration::from_secs(3));
        assert_eq!(o.connect, Duration::from_millis(100));
        assert_eq!(o.compile, Duration::ZERO);
        assert_eq!(
            (o.port, o.protocol, o.match_bits, o.dns_gap, o.verbose),
            (4000, 2, 8, 2, 2)
        );
        assert_eq!(o.compiler.as_deref(), Some("gcc"));
        assert_eq!(o.names, ["a", "b"]);
        for bad in ["-P4", "-r0", "-p", "-q", "-m32"] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines() {
        let mut o = parse_args(&args("-r4000 -P2 -x")).unwrap();
        let mut p = Probe {
            name: "box".into(),
            addr: Some("10.0.0.1:4000".parse().unwrap()),
            up: true,
            latency: Duration::from_millis(12),
        };
        assert_eq!(format_line(&o, &p).unwrap(), "box:4000,lzo");
        p.up = false;
        assert_eq!(format_line(&o, &p).unwrap(), "box:4000,lzo,down");
        o.bang_down = false;
        assert_eq!(format_line(&o, &p), None);
        let o = parse_args(&args("-n -l")).unwrap();
        p.up = true;
        assert_eq!(format_line(&o, &p).unwrap(), "10.0.0.1 12");
    }

    #[test]
    fn canned_queries_decode() {
        for v in 1..=3 {
            let q = canned_query("gcc", v);
            let r = Request::decode_all(&q, dcc_proto::Limits::default()).unwrap();
            assert_eq!(r.header.argv, ["gcc", "-c", "hello.c", "-o", "hello.o"]);
            assert_eq!(r.header.protocol.wire, v);
        }
    }

    #[test]
    fn prefix() {
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(prefix_matches(a, "10.1.9.9".parse().unwrap(), 16));
        assert!(!prefix_matches(a, "10.2.0.0".parse().unwrap(), 16));
        assert!(prefix_matches(a, "192.0.0.0".parse().unwrap(), 0));
    }
}
