//! A raw client: write bytes, read the whole answer.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// What came back.
#[derive(Debug)]
pub struct Exchange {
    pub reply: Vec<u8>,
    /// The connection was reset (RST) rather than closed cleanly.
    pub reset: bool,
}

/// Connect, write `request` (a write error after a reset is fine), and read until EOF, a
/// reset or `timeout`. Never half-closes: distcc treats EOF as a disconnect.
pub fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> Exchange {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(timeout)).expect("timeout");
    let _ = s.write_all(request);
    let mut reply = Vec::new();
    let mut buf = [0u8; 65536];
    let mut reset = false;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                reset = true;
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("no EOF within {timeout:?}; got {} bytes", reply.len())
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    let _ = s.shutdown(Shutdown::Both);
    Exchange { reply, reset }
}

/// Build a plain protocol-1/2 request for `argv` with preprocessed source `doti`.
pub fn request(version: u32, argv: &[&str], doti: &[u8]) -> Vec<u8> {
    let protocol = dcc_proto::Protocol::from_wire(version).expect("version");
    let req = dcc_proto::Request {
        header: dcc_proto::RequestHeader {
            protocol,
            cdir: None,
            argv: argv.iter().map(|s| s.to_string()).collect(),
        },
        body: dcc_proto::RequestBody::Doti(doti.to_vec()),
    };
    req.encode().expect("encode")
}

/// Decode a reply to a request made with `version`.
pub fn decode_reply(bytes: &[u8], version: u32) -> Result<dcc_proto::Reply, dcc_proto::ProtoError> {
    decode_reply_and_load(bytes, version).map(|(r, _)| r)
}

/// [`decode_reply`], also returning the load report that our daemon appends in our extension
/// versions (none in distcc's). Bytes after the reply that are not one report are an error.
pub fn decode_reply_and_load(
    bytes: &[u8],
    version: u32,
) -> Result<(dcc_proto::Reply, Option<dcc_proto::load::LoadReport>), dcc_proto::ProtoError> {
    let protocol = dcc_proto::Protocol::from_wire(version).expect("version");
    let mut buf = bytes::BytesMut::from(bytes);
    let mut dec = dcc_proto::ReplyDecoder::new(protocol, dcc_proto::Limits::default());
    let reply = dec.decode(&mut buf)?.ok_or_else(|| dec.truncated())?;
    if buf.is_empty() {
        return Ok((reply, None));
    }
    match dcc_proto::load::LoadReport::decode(&buf) {
        Ok(Some((load, n))) if n == buf.len() && dcc_proto::load::carries_report(protocol) => {
            Ok((reply, Some(load)))
        }
        _ => Err(dcc_proto::ProtoError::TrailingData),
    }
}

/// Preprocess `source` (a C file path) with `gcc -E` plus `flags`, run in `cwd`.
pub fn preprocess(cwd: &std::path::Path, source: &str, flags: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("gcc")
        .args(flags)
        .args(["-E", source])
        .current_dir(cwd)
        .output()
        .expect("run gcc -E");
    assert!(
        out.status.success(),
        "gcc -E failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Compile locally with gcc; returns the object's bytes.
pub fn compile_local(cwd: &std::path::Path, args: &[&str], output: &str) -> Vec<u8> {
    let st = std::process::Command::new("gcc")
        .args(args)
        .current_dir(cwd)
        .status()
        .expect("run gcc");
    assert!(st.success(), "local gcc {args:?} failed");
    std::fs::read(cwd.join(output)).expect("read local object")
}

/// Connect, write `bytes`, and close the connection (a client that gives up mid-request).
pub fn send_and_close(addr: SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let _ = s.write_all(bytes);
    drop(s);
}
