//! The include scanner's directive lexer reads every header of a build: it is total, and a
//! directive after text that cannot carry state over a line (no comment, literal, splice or
//! raw string) is always found.
#![no_main]

use dcc_include::lexer::{Directive, IncludeKind, Target, lex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lex(data);
    if !data
        .iter()
        .any(|c| matches!(c, b'/' | b'"' | b'\'' | b'\\' | b'R' | b'<' | b'#' | b'%'))
    {
        let mut src = data.to_vec();
        src.extend_from_slice(b"\n#include \"fuzz_end.h\"\n");
        let got = lex(&src);
        assert_eq!(
            got.last(),
            Some(&Directive::Include {
                kind: IncludeKind::Include,
                target: Target::Quote("fuzz_end.h".to_owned()),
            })
        );
    }
});
