//! The compiler identification read from a helper's object (`.comment`; `--check-hosts` and
//! the in-build version warning) on hostile bytes: never panics, printable and bounded, and
//! the same whatever sizes the object arrives in (the reader keeps only a bounded piece).
#![no_main]

use std::io::{self, Read};

use dcc_client::check::{compiler_ident, compiler_ident_in};
use dcc_client::verdict::printable;
use libfuzzer_sys::fuzz_target;

/// The object in reads of a size the input picks.
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.piece.min(self.data.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&size, object)) = input.split_first() else {
        return;
    };
    let whole = compiler_ident(object);
    let piece = usize::from(size).max(1);
    assert_eq!(compiler_ident_in(Pieces { data: object, piece }), whole);
    if let Some(ident) = whole {
        assert_eq!(printable(&ident), ident.as_str());
        assert!(ident.chars().count() <= 200 * 10);
    }
});
