//! The client's handling of a reply, end to end, on hostile bytes (a rogue helper): the
//! streaming decoder under the client's limits, spooling (small bodies spill to a temporary
//! file), the status check, `classify`, and the messages the client would print. Never
//! panics; nothing it would print about a reply is unprintable; what it accepts is whole.
#![no_main]

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use dcc_client::reply::{Receive, Source, receive, reply_limits};
use dcc_client::verdict::{MESSAGE_HEAD, Verdict, classify, parse_wait_status, printable};
use dcc_proto::Protocol;
use libfuzzer_sys::fuzz_target;

/// The reply arrives in pieces of a size the input picks, to exercise every split.
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
}

impl Source for Pieces<'_> {
    fn read_some(&mut self, buf: &mut BytesMut, _: usize, _: Option<Duration>) -> io::Result<usize> {
        let n = self.piece.min(self.data.len());
        buf.extend_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn clean(text: &str) -> bool {
    printable(text) == text
}

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else {
        return;
    };
    let protocol = [Protocol::V1, Protocol::V2, Protocol::ZSTD][usize::from(v % 3)];
    let piece = [1, 7, 4096, 1 << 20][usize::from(v >> 2) % 4];
    let tmp = std::env::temp_dir();
    let how = Receive {
        host: "fuzz-helper:3632",
        protocol,
        limits: reply_limits(1),
        io_timeout: Duration::from_secs(1),
        sent: 0,
        tmpdir: &tmp,
        // Small, so that spilling to a file is exercised too.
        spill_at: 4096,
    };
    let mut src = Pieces { data: rest, piece };
    match receive(&mut src, &how, &mut || {}) {
        Ok(mut r) => {
            assert!(parse_wait_status(r.status).is_some(), "{:#x}", r.status);
            assert!(r.stderr.len() + r.stdout.len() + r.object.len() <= 2 << 20);
            let head = r.stderr.head(MESSAGE_HEAD).expect("head");
            match classify(r.status, &head) {
                Verdict::ServerFailed { messages, .. } => {
                    assert!(messages.iter().all(|m| clean(m)));
                }
                Verdict::Invalid(s) => panic!("receive let status {s:#x} through"),
                _ => {}
            }
            let mut out = Vec::new();
            r.object.copy_to(&mut out).expect("copy");
            assert_eq!(out.len() as u64, r.object.len());
        }
        Err(e) => {
            // What the client logs about a failed reply, as it logs it.
            let msg = printable(&e.to_string()).into_owned();
            assert!(clean(&msg));
            let _ = e.exit_code();
        }
    }
});
