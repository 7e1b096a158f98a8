//! Helpers of the hostile-client tests (hardening.rs) and the soak (soak.rs).

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// Every file below `dir`, recursively (to find what a compiler left).
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A protocol-0x102 (zstd) request whose `DOTI` is `body`.
pub fn zstd_request(body: &[u8]) -> Vec<u8> {
    let argv: Vec<String> = ["gcc", "-c", "x.c", "-o", "x.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut out = Vec::new();
    dcc_proto::encode_request_header(&mut out, dcc_proto::Protocol::ZSTD, None, &argv).unwrap();
    dcc_proto::token::encode_body(&mut out, dcc_proto::Token::DOTI, body).unwrap();
    out
}

/// Bytes allocated on disk below `dir`.
pub fn disk_use(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    files_below(dir)
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

/// The peak resident memory (VmHWM) of `pid` and of its children, in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    let hwm = |pid: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    hwm(&pid.to_string()) + children.split_whitespace().map(hwm).sum::<u64>()
}

/// `exchange`, from a chosen local address (127.0.0.2: another client host on loopback).
pub fn exchange_from(
    local: &str,
    addr: std::net::SocketAddr,
    req: &[u8],
    timeout: Duration,
) -> Vec<u8> {
    use std::io::Read;
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: std::net::SocketAddr = format!("{local}:0").parse().unwrap();
    sock.bind(&local.into()).unwrap();
    sock.connect_timeout(&addr.into(), Duration::from_secs(5))
        .unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(req).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)
        .unwrap_or_else(|e| panic!("no reply within {timeout:?}: {e}"));
    reply
}

/// Resident memory now (VmRSS) of `pid`, in bytes.
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Open descriptors of `pid`.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}
