//! CPU cost of the secure transport: one whole handshake (both sides, in memory), each
//! side alone, and sealing/opening a 64 KiB chunk. `cargo bench -p dcc-secure --bench
//! handshake`. The wall-clock cost per job on a real connection is measured by
//! bench/secure/run.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use dcc_secure::frame::{self, PREAMBLE};
use dcc_secure::{Initiator, PrivateKey, Responder, Verdict};

fn main() {
    divan::main();
}

fn keys() -> (PrivateKey, PrivateKey) {
    (
        PrivateKey::generate().unwrap(),
        PrivateKey::generate().unwrap(),
    )
}

/// Client and daemon, start to finish: 4 X25519 operations and 1 key generation each side.
#[divan::bench]
fn whole_handshake(b: divan::Bencher) {
    let (c, s) = keys();
    let sp = s.public();
    b.bench(|| {
        let (init, flight) = Initiator::start(&c, &sp).unwrap();
        let hello = &flight[PREAMBLE.len() + 2..];
        let resp = Responder::read_hello(&s, hello).unwrap();
        let (welcome, _) = resp.answer(Verdict::Accepted).unwrap();
        init.finish(&welcome[2..]).unwrap()
    });
}

/// The client's share after the hello is sent: read the welcome, derive the keys (starting,
/// which makes the hello, costs about the daemon's share).
#[divan::bench]
fn client_side(b: divan::Bencher) {
    let (c, s) = keys();
    let sp = s.public();
    b.with_inputs(|| {
        // A daemon's welcome can only be made after the hello: pre-compute pairs.
        let (init, flight) = Initiator::start(&c, &sp).unwrap();
        let resp = Responder::read_hello(&s, &flight[PREAMBLE.len() + 2..]).unwrap();
        let (welcome, _) = resp.answer(Verdict::Accepted).unwrap();
        (init, welcome)
    })
    .bench_values(|(init, welcome)| init.finish(&welcome[2..]).unwrap());
}

/// The daemon's share: read the hello, answer.
#[divan::bench]
fn daemon_side(b: divan::Bencher) {
    let (c, s) = keys();
    let sp = s.public();
    b.with_inputs(|| Initiator::start(&c, &sp).unwrap().1)
        .bench_refs(|flight| {
            let resp = Responder::read_hello(&s, &flight[PREAMBLE.len() + 2..]).unwrap();
            resp.answer(Verdict::Accepted).unwrap()
        });
}

/// Encrypt and decrypt 1 MiB (16 transport messages).
#[divan::bench]
fn seal_open_1mib(b: divan::Bencher) {
    let (c, s) = keys();
    let (init, flight) = Initiator::start(&c, &s.public()).unwrap();
    let resp = Responder::read_hello(&s, &flight[PREAMBLE.len() + 2..]).unwrap();
    let (welcome, ss) = resp.answer(Verdict::Accepted).unwrap();
    let (mut seal, _) = init.finish(&welcome[2..]).unwrap().split();
    let (_, mut open) = ss.unwrap().split();
    let data = vec![0x5au8; 1 << 20];
    let mut wire = Vec::with_capacity(2 << 20);
    let mut plain = Vec::with_capacity(2 << 20);
    b.counter(divan::counter::BytesCount::new(data.len()))
        .bench_local(|| {
            wire.clear();
            plain.clear();
            seal.seal_into(&data, &mut wire).unwrap();
            let mut rest = &wire[..];
            while let Some(r) = frame::complete(rest) {
                open.open_into(&rest[r.clone()], &mut plain).unwrap();
                rest = &rest[r.end..];
            }
        });
}
