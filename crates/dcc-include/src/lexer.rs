//! The directive lexer: from a file's bytes to the directives the scanner needs.
//!
//! It is not a preprocessor. It finds the lines that are directives (a `#` or `%:` first on a
//! logical line, after line splices and comments) and keeps `#include`, `#include_next`,
//! `#import`, `#define`, and the `__has_include` tests of `#if`/`#elif`. Everything else is
//! skipped, and no `#if` is evaluated: every branch counts, so the scanner over-approximates.
//!
//! What it must get right is where code ends and a directive begins: comments (`/* */` over
//! several lines, `//`), string and character literals (a `"/*"` is not a comment), C++ raw
//! strings (a `#include` inside `R"(...)"` is not a directive), and digit separators
//! (`1'000` is not a character literal). A mistake there could hide a directive, so where C
//! and C++ differ it takes the reading that finds more directives or the same ones.

use std::borrow::Cow;

/// How a file is named in an include.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `"name"`: the includer's directory first, then the quote chain, then the bracket chain.
    Quote(String),
    /// `<name>`: the bracket chain.
    Angle(String),
    /// Anything else: macro tokens to expand (`#include CONFIG_H`), kept as normalised text.
    Computed(String),
}

/// Which include directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncludeKind {
    /// `#include`.
    Include,
    /// `#include_next`: the search goes on after the directory the includer was found in.
    IncludeNext,
    /// `#import` (include once): for the file set the same as `#include`.
    Import,
}

/// A `#define`, kept for computed includes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Define {
    /// The macro's name.
    pub name: String,
    /// `Some` for a function-like macro: its parameter names (`...` as `__VA_ARGS__`).
    pub params: Option<Vec<String>>,
    /// The replacement list as normalised text (tokens, one space where there was space).
    pub body: String,
}

/// One directive the scanner cares about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Directive {
    /// `#include`, `#include_next`, `#import`.
    Include {
        /// Which directive.
        kind: IncludeKind,
        /// The file it names.
        target: Target,
    },
    /// `__has_include(...)` or `__has_include_next(...)` in an `#if` or `#elif`.
    HasInclude {
        /// `__has_include_next`.
        next: bool,
        /// The file it tests.
        target: Target,
    },
    /// A `#define`.
    Define(Define),
    /// A header name that is not UTF-8: the scanner gives up rather than guess a path.
    NonUtf8,
}

/// How literals are read: the language modes differ, and the lexer must find every directive
/// that gcc finds in any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    /// `R"delim(...)delim"` is a raw string (C++11, and gcc's GNU C modes), not an
    /// identifier `R` and a string (ISO C, gnu89).
    pub(crate) raw_strings: bool,
    /// `1'000` is one number (C++14, C23), not `1` and a character literal.
    pub(crate) digit_separators: bool,
}

impl Mode {
    /// Raw strings and digit separators on.
    pub(crate) const ALL: Mode = Mode {
        raw_strings: true,
        digit_separators: true,
    };
}

/// Lex a whole file. Never fails: bytes that make no sense end the line they are on.
///
/// A file where the language mode could matter (it has `R"`, or a `'` right after a letter or
/// digit) is lexed in each mode and the directives of all are kept, so the result does not
/// depend on `-std` (and the memo needs no mode in its key).
pub fn lex(src: &[u8]) -> Vec<Directive> {
    let text = splice(src);
    let b: &[u8] = &text;
    let raw = b.windows(2).any(|w| w == b"R\"");
    let sep = has_separator(b);
    let mut out = lex_mode(b, Mode::ALL);
    for (r, d) in [(false, true), (true, false), (false, false)] {
        if (!r && !raw) || (!d && !sep) {
            continue;
        }
        for x in lex_mode(
            b,
            Mode {
                raw_strings: r,
                digit_separators: d,
            },
        ) {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    out
}

/// Whether some `'` could be a digit separator: one inside a run of number characters that
/// starts with a digit (`1'000`, `0x1'ff`; not the `'` of "don't"). One pass.
fn has_separator(b: &[u8]) -> bool {
    let mut in_run = false;
    let mut number = false;
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'\'') {
            if !in_run {
                in_run = true;
                // A number starts with a digit or with `.` and a digit (`.5'0`).
                number = c.is_ascii_digit()
                    || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
            } else if c == b'\'' && number {
                return true;
            }
        } else {
            in_run = false;
        }
    }
    false
}

fn lex_mode(b: &[u8], m: Mode) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // At the start of a logical line: whitespace and comments may come before the `#`.
        i = skip_space(b, i);
        if i >= b.len() {
            break;
        }
        if b[i] == b'#' {
            i = directive(b, i + 1, m, &mut out);
        } else if b[i] == b'%' && b.get(i + 1) == Some(&b':') {
            i = directive(b, i + 2, m, &mut out);
        } else {
            i = code_line(b, i, m);
        }
    }
    out
}

/// Remove line splices (backslash, optional blanks, newline), as translation phase 2 does;
/// gcc accepts blanks between the backslash and the newline (with a warning), so do we.
/// First, as gcc does: a UTF-8 byte order mark at the start is dropped, and a carriage return
/// not followed by a newline ends a line (old Mac line ends), so a `#` after one starts a
/// directive.
fn splice(src: &[u8]) -> Cow<'_, [u8]> {
    let src = src.strip_prefix(b"\xef\xbb\xbf").unwrap_or(src);
    let lone_cr = src
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'\r' && src.get(i + 1) != Some(&b'\n'));
    if lone_cr {
        let fixed: Vec<u8> = src
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if c == b'\r' && src.get(i + 1) != Some(&b'\n') {
                    b'\n'
                } else {
                    c
                }
            })
            .collect();
        return Cow::Owned(splice_lines(&fixed).into_owned());
    }
    splice_lines(src)
}

fn splice_lines(src: &[u8]) -> Cow<'_, [u8]> {
    if !src.contains(&b'\\') {
        return Cow::Borrowed(src);
    }
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'\\' {
            let mut j = i + 1;
            while j < src.len() && matches!(src[j], b' ' | b'\t' | b'\r') {
                j += 1;
            }
            if j < src.len() && src[j] == b'\n' {
                i = j + 1;
                continue;
            }
        }
        out.push(src[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Skip blanks and comments from `i`; stops at a newline that is not inside a comment (returns
/// the index after it, so the caller sees a new line) or at anything else. A block comment
/// containing newlines still counts as space before a `#`: that reading finds more directives.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' | b'\n' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment_end(b, i + 2),
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
            _ => break,
        }
    }
    i
}

/// The index after the `*/` that closes a block comment whose body starts at `i`.
fn block_comment_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j + 1 < b.len() {
        if b[j] == b'*' && b[j + 1] == b'/' {
            return j + 2;
        }
        j += 1;
    }
    b.len()
}

/// The index of the newline ending the line at `i` (or the end).
fn line_end(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// Scan a line of code (not a directive) from `i`; returns the index after its newline.
/// Block comments and raw strings may run over several lines.
fn code_line(b: &[u8], mut i: usize, m: Mode) -> usize {
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => return i + 1,
            b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment_end(b, i + 2),
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
            b'"' | b'\'' => i = quoted_end(b, i),
            b'0'..=b'9' => i = pp_number_end(b, i, m),
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i = pp_number_end(b, i, m),
            _ if is_ident_start(c) => {
                let start = i;
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                let word = &b[start..i];
                if m.raw_strings
                    && b.get(i) == Some(&b'"')
                    && matches!(word, b"R" | b"u8R" | b"uR" | b"UR" | b"LR")
                {
                    i = raw_string_end(b, i);
                }
                // Otherwise an encoding prefix (u8"", L'') or a plain word: the quote, if
                // any, is taken by the next round.
            }
            _ => i += 1,
        }
    }
    i
}

/// The index after a string or character literal that opens at `i`. An unterminated literal
/// ends at the newline (gcc warns and does the same), which is left for the caller.
fn quoted_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The index after a preprocessing number at `i`: digits, letters, `.`, `e+`/`p-` exponents
/// and C++14/C23 digit separators (`1'000`), which must not open a character literal.
fn pp_number_end(b: &[u8], mut i: usize, m: Mode) -> usize {
    i += 1;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b'+' | b'-') && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P') {
            i += 1;
        } else if m.digit_separators
            && c == b'\''
            && b.get(i + 1).is_some_and(|&n| is_ident_char(n))
        {
            i += 2;
        } else if is_ident_char(c) || c == b'.' {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The index after a raw string whose opening quote is at `i` (`R"delim( ... )delim"`). An
/// invalid delimiter makes it an ordinary string, as gcc then reports an error anyway.
fn raw_string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() && j - i <= 17 && !matches!(b[j], b'(' | b' ' | b'\\' | b')' | b'\n') {
        j += 1;
    }
    if b.get(j) != Some(&b'(') || j - i > 17 {
        return quoted_end(b, i);
    }
    let delim = &b[i + 1..j];
    let mut k = j + 1;
    while k < b.len() {
        if b[k] == b')'
            && b[k + 1..].starts_with(delim)
            && b.get(k + 1 + delim.len()) == Some(&b'"')
        {
            return k + delim.len() + 2;
        }
        k += 1;
    }
    b.len()
}

/// A token of a directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a [u8],
    /// Whitespace (or a comment) came before it.
    pub(crate) space: bool,
}

impl Token<'_> {
    pub(crate) fn is_ident(&self) -> bool {
        self.text.first().is_some_and(|&c| is_ident_start(c))
    }
}

/// Tokenise one directive line from `i` up to its newline (a block comment may carry it
/// over several physical lines). Returns the tokens and the index after the newline.
/// Where a header name may stand (after `include`, `include_next`, `import` as the directive
/// name, and after `__has_include(`), a `"..."` or `<...>` is one token read raw: nothing
/// inside it is a comment or an escape.
pub(crate) fn tokens(b: &[u8], mut i: usize, m: Mode) -> (Vec<Token<'_>>, usize) {
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b'\n' => return (out, i + 1),
            b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => {
                i += 1;
                space = true;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(b, i + 2);
                space = true;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = line_end(b, i);
                continue;
            }
            b'"' | b'<' if header_allowed(&out) => {
                i = header_name_end(b, i)
                    .unwrap_or_else(|| if c == b'"' { quoted_end(b, i) } else { i + 1 });
            }
            b'"' | b'\'' => i = quoted_end(b, i),
            b'0'..=b'9' => i = pp_number_end(b, i, m),
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => i = pp_number_end(b, i, m),
            _ if is_ident_start(c) => {
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                if b.get(i).is_some_and(|&q| q == b'"' || q == b'\'')
                    && matches!(&b[start..i], b"u8" | b"u" | b"U" | b"L")
                {
                    i = quoted_end(b, i);
                }
            }
            b'#' if b.get(i + 1) == Some(&b'#') => i += 2,
            b'%' if b[i..].starts_with(b"%:%:") => i += 4,
            b'%' if b.get(i + 1) == Some(&b':') => i += 2,
            b'.' if b[i..].starts_with(b"...") => i += 3,
            _ => i += 1,
        }
        out.push(Token {
            text: &b[start..i],
            space,
        });
        space = false;
    }
    (out, i)
}

/// Whether the next token may be a header name, given the tokens so far.
fn header_allowed(toks: &[Token<'_>]) -> bool {
    match toks {
        [name] => matches!(name.text, b"include" | b"include_next" | b"import"),
        [.., f, open] => {
            open.text == b"("
                && matches!(
                    f.text,
                    b"__has_include"
                        | b"__has_include__"
                        | b"__has_include_next"
                        | b"__has_include_next__"
                )
        }
        _ => false,
    }
}

/// The index after a header name opening at `i` (`"` or `<`), if it closes on this line.
fn header_name_end(b: &[u8], i: usize) -> Option<usize> {
    let close = if b[i] == b'"' { b'"' } else { b'>' };
    let end = line_end(b, i);
    b[i + 1..end]
        .iter()
        .position(|&c| c == close)
        .map(|p| i + 1 + p + 1)
}

/// A token that is a header name, as a target.
fn header_target(t: &Token<'_>) -> Option<Result<Target, ()>> {
    let (first, last) = (*t.text.first()?, *t.text.last()?);
    if t.text.len() < 2 || !matches!((first, last), (b'"', b'"') | (b'<', b'>')) {
        return None;
    }
    let Ok(name) = std::str::from_utf8(&t.text[1..t.text.len() - 1]) else {
        return Some(Err(()));
    };
    Some(Ok(if first == b'"' {
        Target::Quote(name.to_owned())
    } else {
        Target::Angle(name.to_owned())
    }))
}

/// Tokens as normalised text: one space where there was space, none elsewhere.
pub(crate) fn join(toks: &[Token<'_>]) -> String {
    let mut s = Vec::new();
    for (n, t) in toks.iter().enumerate() {
        if n > 0 && t.space {
            s.push(b' ');
        }
        s.extend_from_slice(t.text);
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// Parse the directive whose name starts after the `#` at `i`; returns the index after it.
fn directive(b: &[u8], i: usize, m: Mode, out: &mut Vec<Directive>) -> usize {
    let (toks, next) = tokens(b, i, m);
    let Some(name) = toks.first().filter(|t| t.is_ident()) else {
        return next;
    };
    match name.text {
        b"include" | b"include_next" | b"import" => {
            let kind = match name.text {
                b"include" => IncludeKind::Include,
                b"include_next" => IncludeKind::IncludeNext,
                _ => IncludeKind::Import,
            };
            let target = match toks.get(1).and_then(header_target) {
                Some(Ok(t)) => t,
                Some(Err(())) => {
                    out.push(Directive::NonUtf8);
                    return next;
                }
                None => Target::Computed(join(&toks[1..])),
            };
            out.push(Directive::Include { kind, target });
        }
        b"define" => {
            if let Some(d) = define(&toks[1..]) {
                out.push(Directive::Define(d));
            }
        }
        b"if" | b"elif" => has_includes(&toks[1..], out),
        _ => {}
    }
    next
}

/// `#define NAME body` or `#define NAME(params) body`.
fn define(toks: &[Token<'_>]) -> Option<Define> {
    let name = toks.first().filter(|t| t.is_ident())?;
    let name_s = String::from_utf8(name.text.to_vec()).ok()?;
    let rest = &toks[1..];
    // Function-like only when the parenthesis touches the name.
    if rest.first().is_some_and(|t| t.text == b"(" && !t.space) {
        let mut params = Vec::new();
        let mut k = 1;
        while k < rest.len() && rest[k].text != b")" {
            match rest[k].text {
                b"," => {}
                b"..." => params.push("__VA_ARGS__".to_owned()),
                p => params.push(String::from_utf8_lossy(p).into_owned()),
            }
            k += 1;
        }
        let body = rest.get(k + 1..).map_or_else(String::new, join);
        return Some(Define {
            name: name_s,
            params: Some(params),
            body,
        });
    }
    Some(Define {
        name: name_s,
        params: None,
        body: join(rest),
    })
}

/// Every `__has_include(...)` / `__has_include_next(...)` in an `#if`/`#elif` line.
fn has_includes(toks: &[Token<'_>], out: &mut Vec<Directive>) {
    let mut k = 0;
    while k < toks.len() {
        let next = match toks[k].text {
            b"__has_include" | b"__has_include__" => false,
            b"__has_include_next" | b"__has_include_next__" => true,
            _ => {
                k += 1;
                continue;
            }
        };
        if toks.get(k + 1).is_none_or(|t| t.text != b"(") {
            k += 1;
            continue;
        }
        let target = match toks.get(k + 2).and_then(header_target) {
            Some(Ok(t)) => {
                k += 3;
                t
            }
            Some(Err(())) => {
                out.push(Directive::NonUtf8);
                return;
            }
            None => {
                // Macro tokens up to the matching parenthesis.
                let mut depth = 0usize;
                let start = k + 2;
                let mut j = start;
                while j < toks.len() {
                    match toks[j].text {
                        b"(" => depth += 1,
                        b")" if depth == 0 => break,
                        b")" => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                k = j;
                Target::Computed(join(&toks[start..j.min(toks.len())]))
            }
        };
        out.push(Directive::HasInclude { next, target });
    }
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
