//! A fake helper for the client's tests: one connection on 127.0.0.1 that reads a whole
//! request and then answers whatever the test scripts (crafted, hostile or broken replies),
//! and the crafted bodies those replies carry.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use dcc_proto::token::{encode_body, encode_header};
use dcc_proto::{Limits, ProtoError, Protocol, Request, Token};

/// Serve one connection: read the request, then run `answer` on the socket. Returns the port.
pub fn fake_helper(answer: impl FnOnce(&mut TcpStream) + Send + 'static) -> u16 {
    serve_one(move |s| {
        read_request(s);
        answer(s);
    })
}

/// Serve one connection with `serve`, from its first byte (a helper that speaks another
/// transport first). Returns the port.
pub fn serve_one(serve: impl FnOnce(&mut TcpStream) + Send + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else { return };
        serve(&mut s);
    });
    port
}

/// [`fake_helper`] that writes `reply` and keeps the connection open a moment (a client that
/// stops reading early makes the write fail, which is fine).
pub fn replying_helper(reply: Vec<u8>) -> u16 {
    fake_helper(move |s| {
        let _ = s.write_all(&reply);
        std::thread::sleep(Duration::from_millis(200));
    })
}

/// Read until a whole request has arrived (or the client gives up).
pub fn read_request(s: &mut TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut got = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
        match Request::decode_all(&got, Limits::default()) {
            Err(ProtoError::Truncated { .. }) => {}
            _ => return,
        }
    }
}

/// A reply with `status` and three bodies, each already compressed for `protocol` (`SERR`,
/// `SOUT`, `DOTO`).
pub fn raw_reply(protocol: Protocol, status: u32, bodies: [&[u8]; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_header(&mut out, Token::DONE, protocol.wire);
    encode_header(&mut out, Token::STAT, status);
    for (t, b) in [Token::SERR, Token::SOUT, Token::DOTO]
        .into_iter()
        .zip(bodies)
    {
        encode_body(&mut out, t, b).expect("body under 4 GiB");
    }
    out
}

/// A zstd frame of `n` zero bytes made of RLE blocks (4 bytes per 128 KiB): what a helper
/// sends to make a client decompress gigabytes out of a few kilobytes.
pub fn zstd_zeros(n: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 * 1024;
    // Magic, a frame header without content size, a 128 KiB window (2^(10 + 7)).
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3];
    let mut left = n;
    loop {
        let size = left.min(BLOCK);
        left -= size;
        let last = u64::from(left == 0);
        let header = (size << 3) | (1 << 1) | last;
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(0);
        if left == 0 {
            return out;
        }
    }
}

/// An LZO1X block of `n` (at least 35) zero bytes: one literal, then one match of distance 1
/// whose length is written as 255 per zero byte (about 4 MiB per GiB), then the end marker.
pub fn lzo_zeros(n: u64) -> Vec<u8> {
    assert!(n >= 35);
    // First byte 18: a run of one literal. M3 `001 00000`: length 2 + 31 + extension.
    let mut out = vec![18, 0, 0x20];
    let rest = n - 1 - 33;
    let zeros = (rest - 1) / 255;
    out.resize(out.len() + zeros as usize, 0);
    out.push((rest - zeros * 255) as u8);
    // Distance 1 (stored as 0), no trailing literals; then M4 at distance 16384: the end.
    out.extend_from_slice(&[0, 0, 0x11, 0, 0]);
    out
}

/// The client's peak memory in KiB from its debug log (`DISTCC_VERBOSE=1`), which it reads
/// from its own `/proc/self/status` (`VmHWM`) as it exits.
pub fn peak_memory_kib(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.contains("peak memory: VmHWM"))?;
    let value = line.split("VmHWM").nth(1)?.trim();
    value.strip_suffix("kB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcc_proto::{Compression, compress};

    #[test]
    fn crafted_bodies_decode_to_zeros() {
        for n in [35, 36, 1000, 300_000, 1 << 20] {
            let z = compress::decompress(Compression::Zstd, Token::DOTO, &zstd_zeros(n), 1 << 21)
                .unwrap();
            assert_eq!(z, vec![0; n as usize], "zstd {n}");
            let l = dcc_proto::lzo::decompress(&lzo_zeros(n), 1 << 21).unwrap();
            assert_eq!(l, vec![0; n as usize], "lzo {n}");
        }
        assert!(zstd_zeros(1 << 30).len() < 40_000);
        assert!(lzo_zeros(1 << 30).len() < 4_300_000);
    }

    #[test]
    fn peak_memory_line() {
        let log = "distcc[1] (main) peak memory: VmHWM 4321 kB\n";
        assert_eq!(peak_memory_kib(log), Some(4321));
        assert_eq!(peak_memory_kib("nothing"), None);
    }
}
