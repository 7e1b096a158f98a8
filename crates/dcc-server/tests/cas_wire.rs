//! DIST 0x303 served by the daemon (docs/PROTOCOL.md "Our extensions"): a small unit through
//! the raw wire, then each hostile input of the extension, refused with a protocol error
//! while the daemon stays up and leaves no job directory. Every test ends with an honest
//! 0x303 client served.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dcc_include::{Entry, Kind, Manifest, Origin};
use dcc_proto::cas::{self, ChainDir, ChainKind, Hash};
use dcc_testkit::daemon::{DaemonKind, DaemonOptions};
use dcc_testkit::wire::{decode_reply, exchange};
use dcc_testkit::{Daemon, World};

const T: Duration = Duration::from_secs(30);
const SRC: &[u8] = b"#include \"a.h\"\nint m(void) { return A; }\n";
const HDR: &[u8] = b"#define A 7\n";

fn hash(b: &[u8]) -> Hash {
    *blake3::hash(b).as_bytes()
}

fn file(size: usize, h: Hash) -> Entry {
    Entry {
        origin: Origin::Shipped,
        kind: Kind::File {
            size: size as u64,
            hash: h,
        },
    }
}

/// The unit `/src/m.c` including `/src/a.h`, with `a.h` declared as `hdr_size` bytes hashing
/// to `hdr_hash`.
fn manifest(hdr_size: usize, hdr_hash: Hash) -> Manifest {
    let mut m = Manifest {
        source: "/src/m.c".into(),
        ..Manifest::default()
    };
    m.entries.insert(
        "/src".into(),
        Entry {
            origin: Origin::Shipped,
            kind: Kind::Dir,
        },
    );
    m.entries
        .insert("/src/m.c".into(), file(SRC.len(), hash(SRC)));
    m.entries
        .insert("/src/a.h".into(), file(hdr_size, hdr_hash));
    m
}

fn quote_src() -> Vec<ChainDir> {
    vec![ChainDir {
        kind: ChainKind::Quote,
        path: "/src".into(),
    }]
}

/// A whole 0x303 request: header, manifest, chain, then `blobs` pipelined.
fn request(m: &Manifest, chain: &[ChainDir], blobs: &[&[u8]]) -> Vec<u8> {
    let argv: Vec<String> = ["gcc", "-c", "m.c", "-o", "m.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut req = Vec::new();
    dcc_proto::encode_request_header(&mut req, cas::PROTOCOL, Some("/src"), &argv).unwrap();
    cas::encode_manifest(&mut req, &m.to_text(), chain).unwrap();
    for b in blobs {
        cas::encode_blob(&mut req, b).unwrap();
    }
    req
}

/// The daemon's answer split into its NEED (if any) and the rest.
fn split_need(reply: &[u8]) -> (Option<Vec<Hash>>, Vec<u8>) {
    let mut buf = BytesMut::from(reply);
    match cas::decode_need(&mut buf, 1 << 20) {
        Ok(Some(need)) => (Some(need), buf.to_vec()),
        _ => (None, reply.to_vec()),
    }
}

fn assert_tmp_clean(w: &World) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if w.tmp_leftovers().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("left in TMPDIR: {:?}", w.tmp_leftovers());
}

/// An honest 0x303 client: NEED names what the store lacks, the unit compiles.
fn honest_client_is_served(d: &Daemon) {
    let m = manifest(HDR.len(), hash(HDR));
    let (need, rest) = split_need(&exchange(d.addr(), &request(&m, &quote_src(), &[]), T).reply);
    let need = need.expect("a NEED");
    // Send what was asked for, in that order.
    let mut blobs: Vec<&[u8]> = Vec::new();
    for h in &need {
        blobs.push(if *h == hash(SRC) { SRC } else { HDR });
    }
    if !need.is_empty() {
        assert!(rest.is_empty(), "no reply before the blobs");
        let ex = exchange(d.addr(), &request(&m, &quote_src(), &blobs), T);
        let (need2, rest) = split_need(&ex.reply);
        assert_eq!(need2.as_ref(), Some(&need));
        let r = decode_reply(&rest, cas::CAS_WIRE).expect("honest reply");
        assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
        assert!(!r.object.is_empty());
    } else {
        let r = decode_reply(&rest, cas::CAS_WIRE).expect("honest reply");
        assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    }
}

fn start(w: &World) -> Daemon {
    Daemon::start(
        w,
        DaemonOptions::new(DaemonKind::Ours).env("DISTCC_RS_BODY_TIMEOUT", "2"),
    )
}

/// Send `req`; the daemon must refuse it with a failing status whose SERR contains `why`.
fn refused(d: &Daemon, req: &[u8], why: &str) -> Option<Vec<Hash>> {
    let ex = exchange(d.addr(), req, T);
    let (need, rest) = split_need(&ex.reply);
    let r = decode_reply(&rest, cas::CAS_WIRE).expect("a refusal, not a closed connection");
    let serr = String::from_utf8_lossy(&r.stderr);
    assert_ne!(r.status, 0);
    assert!(serr.contains(why), "status {:#x}: {serr}", r.status);
    need
}

#[test]
fn a_unit_and_its_header_by_hash_compile() {
    let w = World::new();
    let d = start(&w);
    honest_client_is_served(&d);
    // The second time, the store has both files: an empty NEED.
    let m = manifest(HDR.len(), hash(HDR));
    let (need, rest) = split_need(&exchange(d.addr(), &request(&m, &quote_src(), &[]), T).reply);
    assert_eq!(need, Some(Vec::new()));
    let r = decode_reply(&rest, cas::CAS_WIRE).unwrap();
    assert_eq!(r.status, 0, "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!r.object.is_empty());
    assert_tmp_clean(&w);
}

#[test]
fn a_blob_with_another_hash_is_refused() {
    let w = World::new();
    let d = start(&w);
    let m = manifest(HDR.len(), hash(HDR));
    // In NEED's order (the manifest's: a.h, m.c); a.h with the same size, other content.
    let need = refused(
        &d,
        &request(&m, &quote_src(), &[b"#define A 8\n", SRC]),
        "has another hash",
    );
    assert_eq!(need.unwrap().len(), 2);
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

#[test]
fn a_blob_bigger_than_its_manifest_size_is_refused() {
    let w = World::new();
    let d = start(&w);
    // The manifest says 3 bytes; the blob (whose hash matches) is more.
    let m = manifest(3, hash(HDR));
    refused(
        &d,
        &request(&m, &quote_src(), &[HDR, SRC]),
        "more than its manifest size 3",
    );
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

/// [`request`] without the client encoder's own bound on the manifest.
fn raw_request(m: &Manifest, chain: &[ChainDir]) -> Vec<u8> {
    let mut req = request(&manifest(HDR.len(), hash(HDR)), chain, &[]);
    let header_end = req.windows(4).position(|w| w == b"MNFT").unwrap();
    req.truncate(header_end);
    let body = dcc_proto::compress::compress(dcc_proto::Compression::Zstd, &m.to_text()).unwrap();
    dcc_proto::token::encode_body(&mut req, cas::MNFT, &body).unwrap();
    dcc_proto::token::encode_body(
        &mut req,
        cas::CHNS,
        cas::chain_text(chain).unwrap().as_bytes(),
    )
    .unwrap();
    req
}

#[test]
fn a_manifest_naming_a_million_files_is_refused_before_need() {
    let w = World::new();
    let d = start(&w);
    // A million files: about 90 MB of text, over the manifest's 16 MiB.
    let mut m = manifest(HDR.len(), hash(HDR));
    for i in 0..1_000_000u32 {
        m.entries.insert(
            PathBuf::from(format!("/src/{i}.h")),
            file(1, hash(&i.to_le_bytes())),
        );
    }
    let need = refused(&d, &raw_request(&m, &quote_src()), "manifest");
    assert_eq!(need, None, "no NEED for a refused manifest");
    // 150 000 directories fit in 16 MiB of text but not in the entry limit (100 000).
    let mut m = manifest(HDR.len(), hash(HDR));
    for i in 0..150_000u32 {
        m.entries.insert(
            PathBuf::from(format!("/src/{i}")),
            Entry {
                origin: Origin::Shipped,
                kind: Kind::Dir,
            },
        );
    }
    let need = refused(
        &d,
        &raw_request(&m, &quote_src()),
        "over the limit of 100000",
    );
    assert_eq!(need, None);
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

#[test]
fn a_chain_directory_not_in_the_manifest_is_refused_before_need() {
    let w = World::new();
    let d = start(&w);
    let m = manifest(HDR.len(), hash(HDR));
    let mut chain = quote_src();
    // Would make the helper's compiler search its own /usr/include.
    chain.push(ChainDir {
        kind: ChainKind::System,
        path: "/usr/include".into(),
    });
    let need = refused(&d, &request(&m, &chain, &[]), "not in the manifest");
    assert_eq!(need, None);
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

#[test]
fn a_client_that_ignores_need_is_dropped_at_the_body_deadline() {
    let w = World::new();
    let d = start(&w);
    let m = manifest(HDR.len(), hash(HDR));
    // No blobs, connection held open: the daemon gives up by the body deadline (2 s here).
    let ex = exchange(d.addr(), &request(&m, &quote_src(), &[]), T);
    let (need, rest) = split_need(&ex.reply);
    assert_eq!(need.map(|n| n.len()), Some(2));
    assert!(rest.is_empty(), "no reply: {rest:?}");
    d.wait_log("request body not complete within its deadline", 1);
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

#[test]
fn a_protocol_3_file_list_under_dist_303_is_a_protocol_error() {
    let w = World::new();
    let d = start(&w);
    // What a client speaking plain protocol 3 would send after ARGV.
    let argv: Vec<String> = ["gcc", "-c", "m.c", "-o", "m.o"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut req = Vec::new();
    dcc_proto::encode_request_header(&mut req, cas::PROTOCOL, Some("/src"), &argv).unwrap();
    let files = [dcc_proto::FileEntry::File {
        name: "/src/m.c".into(),
        contents: SRC.to_vec(),
    }];
    dcc_proto::encode_files(&mut req, dcc_proto::Protocol::ZSTD_PUMP, &files).unwrap();
    let ex = exchange(d.addr(), &req, T);
    assert!(ex.reply.is_empty(), "closed without an answer");
    d.wait_log("expected token \"MNFT\"", 1);
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
    assert_tmp_clean(&w);
}

#[test]
fn a_refused_compiler_under_dist_303_is_answered_after_the_manifest() {
    let w = World::new();
    let d = start(&w);
    let m = manifest(HDR.len(), hash(HDR));
    let mut req = request(&m, &quote_src(), &[]);
    // Same request, a compiler outside the whitelist.
    let at = req.windows(3).position(|x| x == b"gcc").unwrap();
    req.splice(at..at + 3, *b"xcc");
    let need = refused(&d, &req, "xcc");
    assert_eq!(need, None, "no NEED for a refused request");
    assert_tmp_clean(&w);
    honest_client_is_served(&d);
}
