//! What a received reply means for the job ([`classify`], pure), and how the client speaks
//! about a reply without letting the helper write to the user's terminal ([`printable`]).
//!
//! The compiler's own output of a result we keep passes through unchanged (gcc's colours
//! included); everything the client itself says about a reply (errors, the server's refusal
//! messages of a result thrown away, the event log) goes through [`printable`].

use std::borrow::Cow;
use std::fmt::Write;

/// A raw wait status, as `STAT` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    /// Exited with this code (0-255).
    Exited(i32),
    /// Killed by this signal (1-126), perhaps with a core dump.
    Signaled { signal: i32, core: bool },
}

/// `raw` as a wait status, or `None` when it is none: anything but `code << 8` or
/// `signal | core flag`. A stopped child (`0x7f`), a lone core flag (`0x80`) or bits above the
/// exit code (`0x10000`) cannot come from a compiler that ran to its end.
pub fn parse_wait_status(raw: u32) -> Option<WaitStatus> {
    let signal = raw & 0x7f;
    match (raw >> 16, (raw >> 8) & 0xff, raw & 0x80, signal) {
        (0, code, 0, 0) => Some(WaitStatus::Exited(code as i32)),
        (0, 0, core, 1..=0x7e) => Some(WaitStatus::Signaled {
            signal: signal as i32,
            core: core != 0,
        }),
        _ => None,
    }
}

/// What to do with a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The compile succeeded: write the object, pass the compiler's output on.
    Keep,
    /// The compiler failed on the source with this exit code (retried here unless
    /// `DISTCC_SKIP_LOCAL_RETRY`).
    CompileFailed(i32),
    /// distcc's own range (100-120): the server refused the job or failed itself, never the
    /// source. `messages` are the server's lines, printable, at most [`MAX_MESSAGES`].
    ServerFailed { code: i32, messages: Vec<String> },
    /// The compiler was killed.
    Signaled { signal: i32, core: bool },
    /// Not a wait status: a protocol error.
    Invalid(u32),
}

/// How much of a refused result's stderr is read for its messages, and how many lines of it
/// are logged: a server explains itself in a line or two.
pub const MESSAGE_HEAD: usize = 8 * 1024;
pub const MAX_MESSAGES: usize = 8;
/// The longest single message logged, in characters.
const MAX_MESSAGE_CHARS: usize = 400;

/// Classify a reply by its status; `stderr_head` is the start of its stderr (for
/// [`Verdict::ServerFailed`]).
pub fn classify(status: u32, stderr_head: &[u8]) -> Verdict {
    match parse_wait_status(status) {
        None => Verdict::Invalid(status),
        Some(WaitStatus::Exited(0)) => Verdict::Keep,
        Some(WaitStatus::Exited(code @ 100..=120)) => Verdict::ServerFailed {
            code,
            messages: server_lines(stderr_head),
        },
        Some(WaitStatus::Exited(code)) => Verdict::CompileFailed(code),
        Some(WaitStatus::Signaled { signal, core }) => Verdict::Signaled { signal, core },
    }
}

/// The non-empty lines of a server's stderr, without its log prefix, printable and cut.
fn server_lines(head: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(&head[..head.len().min(MESSAGE_HEAD)]);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(MAX_MESSAGES)
        .map(|l| {
            let msg = server_message(l.trim_end());
            let cut: String = msg.chars().take(MAX_MESSAGE_CHARS).collect();
            printable(&cut).into_owned()
        })
        .collect()
}

/// A server log line without its `distccd[pid] (function) Severity: ` prefix, so that our
/// warning does not read "Warning: … Warning: …". Anything else is returned as it is.
pub fn server_message(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("distccd[") else {
        return line;
    };
    let Some((pid, rest)) = rest.split_once("] ") else {
        return line;
    };
    if !pid.bytes().all(|b| b.is_ascii_digit()) {
        return line;
    }
    let rest = match rest.strip_prefix('(').and_then(|r| r.split_once(") ")) {
        Some((_, r)) => r,
        None => rest,
    };
    [
        "EMERGENCY! ",
        "ALERT! ",
        "CRITICAL! ",
        "ERROR: ",
        "Warning: ",
    ]
    .iter()
    .find_map(|p| rest.strip_prefix(p))
    .unwrap_or(rest)
}

/// Whether a terminal could act on `c` or it hides text: control characters (C0, DEL, C1:
/// escape sequences, carriage returns, new lines that fake log lines) and the invisible and
/// direction-changing format characters.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every character a terminal could act on written as an escape (`\x1b`,
/// `\u{202e}`). The one escaping function for whatever the client prints about a reply.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unprintable) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unprintable(c) {
            out.push(c);
        } else if u32::from(c) < 0x100 {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses() {
        assert_eq!(parse_wait_status(0), Some(WaitStatus::Exited(0)));
        assert_eq!(parse_wait_status(1 << 8), Some(WaitStatus::Exited(1)));
        assert_eq!(parse_wait_status(255 << 8), Some(WaitStatus::Exited(255)));
        assert_eq!(
            parse_wait_status(9),
            Some(WaitStatus::Signaled {
                signal: 9,
                core: false
            })
        );
        assert_eq!(
            parse_wait_status(0x8b),
            Some(WaitStatus::Signaled {
                signal: 11,
                core: true
            })
        );
        // A lone core flag, a stopped child, bits above the code, code and signal together.
        for bad in [0x80, 0x7f, 0x10000, 0x1_0100, 0x109, 0x8000_0000, u32::MAX] {
            assert_eq!(parse_wait_status(bad), None, "{bad:#x}");
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(classify(0, b""), Verdict::Keep);
        assert_eq!(classify(1 << 8, b""), Verdict::CompileFailed(1));
        assert_eq!(classify(121 << 8, b""), Verdict::CompileFailed(121));
        assert_eq!(classify(0x80, b""), Verdict::Invalid(0x80));
        assert_eq!(
            classify(15, b""),
            Verdict::Signaled {
                signal: 15,
                core: false
            }
        );
        let head = b"distccd[7] (dcc_check_args) Warning: refused\x1b[2J\n\n\x1bc two\n";
        assert_eq!(
            classify(110 << 8, head),
            Verdict::ServerFailed {
                code: 110,
                messages: vec!["refused\\x1b[2J".into(), "\\x1bc two".into()]
            }
        );
        let flood = b"line\n".repeat(10_000);
        let Verdict::ServerFailed { messages, .. } = classify(116 << 8, &flood) else {
            panic!()
        };
        assert_eq!(messages.len(), MAX_MESSAGES);
        let long = vec![b'a'; 5000];
        let Verdict::ServerFailed { messages, .. } = classify(116 << 8, &long) else {
            panic!()
        };
        assert_eq!(messages[0].len(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn server_log_prefix_is_dropped() {
        assert_eq!(
            server_message("distccd[16184] (dcc_check_args) Warning: distccd refuses '-x': reason"),
            "distccd refuses '-x': reason"
        );
        assert_eq!(
            server_message("distccd[1] (dcc_execvp) ERROR: failed to exec nosuchcc"),
            "failed to exec nosuchcc"
        );
        assert_eq!(server_message("distccd[1] plain"), "plain");
        assert_eq!(server_message("cc1: error: x"), "cc1: error: x");
        assert_eq!(server_message("distccd[x] y"), "distccd[x] y");
    }

    #[test]
    fn printable_escapes_what_a_terminal_acts_on() {
        assert!(matches!(printable("plain text: ok"), Cow::Borrowed(_)));
        assert_eq!(printable("\x1b[2J\x1bc"), "\\x1b[2J\\x1bc");
        assert_eq!(
            printable("a\r\nb\t\x7f\u{9b}"),
            "a\\x0d\\x0ab\\x09\\x7f\\x9b"
        );
        assert_eq!(printable("x\u{202e}y\u{200b}"), "x\\u{202e}y\\u{200b}");
        assert_eq!(printable("café ü"), "café ü");
    }

    proptest::proptest! {
        #[test]
        fn printable_output_has_nothing_unprintable(s: String) {
            let p = printable(&s);
            proptest::prop_assert!(!p.chars().any(unprintable));
        }
    }
}
