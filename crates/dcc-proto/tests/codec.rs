//! Codec tests: the reference captures byte for byte, round trips, truncation at every byte,
//! and the limits that keep a hostile peer from making us allocate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use bytes::BytesMut;
use dcc_proto::{
    FileEntry, Limits, ProtoError, Protocol, Reply, ReplyDecoder, Request, RequestBody,
    RequestDecoder, RequestEvent, RequestHeader, Token,
};
use proptest::prelude::*;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn plain_request(protocol: Protocol, doti: &[u8]) -> Request {
    Request {
        header: RequestHeader {
            protocol,
            cdir: None,
            argv: args(&["x86_64-linux-gnu-gcc", "-c", "x.c", "-o", "x.o"]),
        },
        body: RequestBody::Doti(doti.to_vec()),
    }
}

#[test]
fn protocol_1_request_matches_capture() {
    // Reference §1.7: the header bytes of distcc 3.4's protocol-1 request.
    let doti = b"# 0 \"x.c\"\nint main(void){return 0;}\n";
    let bytes = plain_request(Protocol::V1, doti).encode().unwrap();
    let mut expected = b"DIST00000001ARGC00000005ARGV00000014x86_64-linux-gnu-gccARGV00000002-cARGV00000003x.cARGV00000002-oARGV00000003x.o".to_vec();
    expected.extend_from_slice(format!("DOTI{:08x}", doti.len()).as_bytes());
    expected.extend_from_slice(doti);
    assert_eq!(bytes, expected);
}

#[test]
fn protocol_1_reply_matches_capture() {
    let reply = Reply {
        status: 0,
        object: b"\x7fELF....".to_vec(),
        ..Reply::default()
    };
    let mut out = Vec::new();
    reply.encode(Protocol::V1, &mut out).unwrap();
    assert_eq!(
        out,
        b"DONE00000001STAT00000000SERR00000000SOUT00000000DOTO00000008\x7fELF....".to_vec()
    );
    // A failed compile in protocol 3 has no DOTD (reference §1.5).
    let failed = Reply {
        status: 0x100,
        stderr: b"err".to_vec(),
        ..Reply::default()
    };
    out.clear();
    failed.encode(Protocol::V3, &mut out).unwrap();
    assert!(
        out.ends_with(b"DOTO00000000"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(
        Reply::decode_all(&out, Protocol::V3, Limits::default()).unwrap(),
        failed
    );
}

#[test]
fn empty_bodies_are_zero_length_even_with_lzo() {
    let mut out = Vec::new();
    Reply::default().encode(Protocol::V2, &mut out).unwrap();
    assert_eq!(
        out,
        b"DONE00000002STAT00000000SERR00000000SOUT00000000DOTO00000000".to_vec()
    );
}

#[test]
fn version_zero_is_echoed() {
    let mut r = plain_request(Protocol::V1, b"x");
    r.header.protocol = Protocol::from_wire(0).unwrap();
    let bytes = r.encode().unwrap();
    assert!(bytes.starts_with(b"DIST00000000"));
    let back = Request::decode_all(&bytes, Limits::default()).unwrap();
    assert_eq!(back.header.protocol.wire, 0);
    let mut out = Vec::new();
    Reply::default()
        .encode(back.header.protocol, &mut out)
        .unwrap();
    assert!(out.starts_with(b"DONE00000000"));
}

#[test]
fn pump_request_round_trips() {
    let req = Request {
        header: RequestHeader {
            protocol: Protocol::V3,
            cdir: Some("/src/cap/p3src".into()),
            argv: args(&["gcc", "-MD", "-c", "m.c", "-o", "m.o", "-MT", "m.o"]),
        },
        body: RequestBody::Files(vec![
            FileEntry::File {
                name: "/src/cap/p3src/m.c".into(),
                contents: b"#include \"inc/a.h\"\nint x;\n".to_vec(),
            },
            FileEntry::Link {
                name: "/usr/include".into(),
                target: "../../../usr/include".into(),
            },
            FileEntry::File {
                name: "/src/cap/p3src/forcing_technique_271828".into(),
                contents: Vec::new(),
            },
        ]),
    };
    let bytes = req.encode().unwrap();
    assert!(bytes.starts_with(b"DIST00000003CDIR0000000e/src/cap/p3srcARGC00000008"));
    assert_eq!(Request::decode_all(&bytes, Limits::default()).unwrap(), req);
    for step in [1, 5, 13, 4096, 1 << 20] {
        assert_eq!(
            Request::decode_all_streaming(&bytes, Limits::default(), step).unwrap(),
            req
        );
    }
}

#[test]
fn every_protocol_round_trips() {
    let doti = b"int f(void) { return 42; }\n".repeat(50);
    for p in [Protocol::V1, Protocol::V2, Protocol::ZSTD] {
        let req = plain_request(p, &doti);
        let bytes = req.encode().unwrap();
        assert_eq!(Request::decode_all(&bytes, Limits::default()).unwrap(), req);
        let reply = Reply {
            status: 0,
            stderr: b"warning: x\n".to_vec(),
            stdout: Vec::new(),
            object: doti.clone(),
            dotd: None,
        };
        let mut out = Vec::new();
        reply.encode(p, &mut out).unwrap();
        assert_eq!(
            Reply::decode_all(&out, p, Limits::default()).unwrap(),
            reply
        );
    }
}

#[test]
fn truncation_at_every_byte_needs_more_and_never_completes() {
    let bytes = plain_request(Protocol::V2, &b"int x;\n".repeat(30))
        .encode()
        .unwrap();
    for cut in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..cut]);
        let mut dec = RequestDecoder::new(Limits::default());
        let mut ended = false;
        while let Some(ev) = dec.decode(&mut buf).unwrap() {
            ended |= ev == RequestEvent::End;
        }
        assert!(!ended, "a request cut at {cut} must not complete");
        assert!(matches!(dec.truncated(), ProtoError::Truncated { .. }));
        assert!(dec.want() > buf.len(), "cut {cut}: want {}", dec.want());
    }
    let mut out = Vec::new();
    Reply {
        object: b"obj".repeat(20),
        ..Reply::default()
    }
    .encode(Protocol::V2, &mut out)
    .unwrap();
    for cut in 0..out.len() {
        let mut buf = BytesMut::from(&out[..cut]);
        let mut dec = ReplyDecoder::new(Protocol::V2, Limits::default());
        assert_eq!(dec.decode(&mut buf).unwrap(), None, "cut at {cut}");
    }
}

#[test]
fn byte_at_a_time_feeding_gives_the_same_request() {
    let req = plain_request(Protocol::V2, &b"long long x;\n".repeat(100));
    let bytes = req.encode().unwrap();
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for b in &bytes {
        buf.extend_from_slice(&[*b]);
        while let Some(ev) = dec.decode(&mut buf).unwrap() {
            events.push(ev);
        }
    }
    assert_eq!(events.len(), 3);
    assert_eq!(events[0], RequestEvent::Header(req.header.clone()));
    assert!(dec.is_finished());
}

fn decode_err(bytes: &[u8]) -> ProtoError {
    Request::decode_all(bytes, Limits::default()).unwrap_err()
}

#[test]
fn hostile_headers_are_refused_before_buffering() {
    // A wrong first token, as in distcc's "client did not provide distcc magic fairy dust".
    assert!(matches!(
        decode_err(b"XIST00000001ARGC00000000"),
        ProtoError::UnexpectedToken {
            expected: "DIST",
            ..
        }
    ));
    assert!(matches!(
        decode_err(b"DIST0000000z"),
        ProtoError::BadValue { .. }
    ));
    assert_eq!(
        decode_err(b"DIST00000004"),
        ProtoError::UnsupportedVersion(4)
    );
    assert!(matches!(
        decode_err(b"DIST00000001ARGCffffffff"),
        ProtoError::TooMany { .. }
    ));
    assert!(matches!(
        decode_err(b"DIST00000001ARGC00000000"),
        ProtoError::ZeroCount { .. }
    ));
    // A 4 GiB ARGV and a 4 GiB DOTI are refused from the header alone.
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"DIST00000001ARGC00000001ARGVffffffff"[..]);
    assert!(matches!(
        dec.decode(&mut buf),
        Err(ProtoError::TooLong { .. })
    ));
    let mut dec = RequestDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"DIST00000001ARGC00000001ARGV00000003gccDOTIffffffff"[..]);
    assert!(matches!(
        dec.decode(&mut buf),
        Ok(Some(RequestEvent::Header(_)))
    ));
    assert!(matches!(
        dec.decode(&mut buf),
        Err(ProtoError::TooLong {
            token: Token::DOTI,
            ..
        })
    ));
    // NUL inside an argument, and non-UTF-8.
    assert!(matches!(
        decode_err(b"DIST00000001ARGC00000001ARGV00000003g\0c"),
        ProtoError::Nul { .. }
    ));
    assert!(matches!(
        decode_err(b"DIST00000001ARGC00000001ARGV00000002\xff\xfe"),
        ProtoError::NotUtf8 { .. }
    ));
    // An LZO body that is garbage.
    assert!(matches!(
        decode_err(b"DIST00000002ARGC00000001ARGV00000003gccDOTI00000004\xff\xff\xff\xff"),
        ProtoError::Lzo { .. }
    ));
    // Pump: NAME must be followed by FILE or LINK.
    assert!(matches!(
        decode_err(b"DIST00000003CDIR00000001/ARGC00000001ARGV00000003gccNFIL00000001NAME00000002/aDOTI00000000"),
        ProtoError::UnexpectedToken { expected: "FILE or LINK", .. }
    ));
}

#[test]
fn total_body_limit_applies_across_files() {
    let files: Vec<FileEntry> = (0..4)
        .map(|i| FileEntry::File {
            name: format!("/f{i}"),
            contents: vec![b'a'; 1000],
        })
        .collect();
    let req = Request {
        header: RequestHeader {
            protocol: Protocol::V3,
            cdir: Some("/".into()),
            argv: args(&["gcc", "-c", "/f0.c"]),
        },
        body: RequestBody::Files(files),
    };
    let bytes = req.encode().unwrap();
    let limits = Limits {
        max_total: 3500,
        ..Limits::default()
    };
    assert!(matches!(
        Request::decode_all(&bytes, limits),
        Err(ProtoError::TooLong { .. })
    ));
    let limits = Limits {
        max_decompressed: 999,
        ..Limits::default()
    };
    assert!(Request::decode_all(&bytes, limits).is_err());
}

#[test]
fn reply_version_must_match() {
    let mut out = Vec::new();
    Reply::default().encode(Protocol::V1, &mut out).unwrap();
    assert_eq!(
        Reply::decode_all(&out, Protocol::V2, Limits::default()),
        Err(ProtoError::VersionMismatch {
            expected: 2,
            got: 1
        })
    );
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), split in 0usize..600) {
        let split = split.min(bytes.len());
        let mut dec = RequestDecoder::new(Limits::default());
        let mut buf = BytesMut::from(&bytes[..split]);
        let _ = dec.decode(&mut buf);
        buf.extend_from_slice(&bytes[split..]);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
        let _ = Request::decode_all_streaming(&bytes, Limits::default(), split.max(1));
        let _ = Reply::decode_all(&bytes, Protocol::V3, Limits::default());
    }

    #[test]
    fn requests_round_trip(
        argv in proptest::collection::vec("[a-zA-Z0-9_./=-]{1,20}", 1..10),
        doti in proptest::collection::vec(any::<u8>(), 0..2000),
        v in 0usize..3,
    ) {
        let protocol = [Protocol::V1, Protocol::V2, Protocol::ZSTD][v];
        let req = Request {
            header: RequestHeader { protocol, cdir: None, argv },
            body: RequestBody::Doti(doti),
        };
        let bytes = req.encode().unwrap();
        prop_assert_eq!(Request::decode_all(&bytes, Limits::default()).unwrap(), req.clone());
        prop_assert_eq!(Request::decode_all_streaming(&bytes, Limits::default(), 7).unwrap(), req);
    }

    #[test]
    fn replies_round_trip(
        status in any::<u32>(),
        stderr in proptest::collection::vec(any::<u8>(), 0..500),
        object in proptest::collection::vec(any::<u8>(), 0..3000),
        v in 0usize..4,
    ) {
        let protocol = [Protocol::V1, Protocol::V2, Protocol::V3, Protocol::ZSTD_PUMP][v];
        let dotd = (protocol.pump && status == 0).then(|| b"x.o: x.c\n".to_vec());
        let reply = Reply { status, stderr, stdout: Vec::new(), object, dotd };
        let mut out = Vec::new();
        reply.encode(protocol, &mut out).unwrap();
        prop_assert_eq!(Reply::decode_all(&out, protocol, Limits::default()).unwrap(), reply);
    }
}
