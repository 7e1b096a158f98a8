//! `@file` response files, expanded the way gcc and Debian's distcc 3.4 do it (libiberty's
//! `expandargv` and `buildargv`; reference §2.1).
//!
//! Debian's distcc links libiberty and expands `@file` before anything else, so a build that
//! passes its flags in a response file is still scanned and distributed. distcc HEAD dropped
//! this. The rules below were checked against gcc 12 and Debian's distcc 3.4 [measured]:
//!
//! - arguments are separated by whitespace (space, tab, newline, vertical tab, form feed, CR);
//! - `'…'` and `"…"` quote, and the quote characters are removed;
//! - a backslash makes the next character literal *everywhere*, inside quotes too, and a
//!   backslash-newline keeps the newline (newer libiberty releases changed both; gcc 12 and
//!   distcc 3.4 behave as here);
//! - a file that is empty or only whitespace contributes no argument (not one empty one);
//! - the arguments read are scanned again, so response files may name response files;
//! - an `@name` that cannot be read is left as it is (the compiler then reports it);
//! - argv[0] is never expanded;
//! - after 2000 `@` arguments (read or not) the expansion stops with "too many @-files
//!   encountered", which is what a file that includes itself leads to.

use super::ArgsError;

/// How many `@` arguments are looked at before giving up (libiberty's iteration limit).
pub const RESPONSE_FILE_LIMIT: usize = 2000;

/// Replace each `@file` argument (after `argv[0]`) with the arguments in the file. `read` returns
/// the contents of the named file, or `None` when it cannot be read (the argument is then
/// kept). The caller decides how to turn bytes into text (a lossy conversion is fine: the
/// quoting characters are ASCII).
pub fn expand_response_files(
    argv: &[String],
    read: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ArgsError> {
    let mut out = argv.to_vec();
    let mut budget = RESPONSE_FILE_LIMIT;
    let mut i = 1;
    while i < out.len() {
        let Some(name) = out[i].strip_prefix('@') else {
            i += 1;
            continue;
        };
        budget -= 1;
        if budget == 0 {
            return Err(ArgsError::TooManyResponseFiles);
        }
        let Some(text) = read(name) else {
            i += 1;
            continue;
        };
        // Not advancing i: what the file contained is scanned again for nested @files.
        out.splice(i..=i, split_args(&text));
    }
    Ok(out)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// libiberty `buildargv` as of gcc 12 / binutils 2.40.
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| is_space(*c)).is_some() {}
        if chars.peek().is_none() {
            return args;
        }
        let mut arg = String::new();
        let (mut squote, mut dquote, mut escaped) = (false, false, false);
        while let Some(&c) = chars.peek() {
            if is_space(c) && !squote && !dquote && !escaped {
                break;
            }
            chars.next();
            if escaped {
                escaped = false;
                arg.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if squote {
                if c == '\'' {
                    squote = false;
                } else {
                    arg.push(c);
                }
            } else if dquote {
                if c == '"' {
                    dquote = false;
                } else {
                    arg.push(c);
                }
            } else if c == '\'' {
                squote = true;
            } else if c == '"' {
                dquote = true;
            } else {
                arg.push(c);
            }
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn v(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn whitespace_split() {
        let out = expand_response_files(
            &v("gcc @r x.c"),
            files(&[("r", " -c\t-O2\n\n-o\r\x0bx.o\x0c")]),
        );
        assert_eq!(out.unwrap(), v("gcc -c -O2 -o x.o x.c"));
    }

    // The same file through gcc 12 (`gcc -wrapper`) gave
    // ['A=x"y', 'B=ab', 'C=a b', 'D=pq', 'E=a\n-DF'] and ['X=abc', "Y=a'b", 'Z=a"b'].
    #[test]
    fn quoting_as_gcc_12() {
        let text = "-DA=\"x\\\"y\" -DB='a\\b' -DC=a\\ b -DD=\"p\\q\" -DE=a\\\n-DF\n";
        let out = expand_response_files(&v("gcc @r"), files(&[("r", text)])).unwrap();
        assert_eq!(
            out,
            [
                "gcc",
                "-DA=x\"y",
                "-DB=ab",
                "-DC=a b",
                "-DD=pq",
                "-DE=a\n-DF"
            ]
        );
        let text = "-DX='a'\"b\"c -DY=\"a'b\" -DZ='a\"b'";
        let out = expand_response_files(&v("gcc @r"), files(&[("r", text)])).unwrap();
        assert_eq!(out, ["gcc", "-DX=abc", "-DY=a'b", "-DZ=a\"b"]);
        // Empty quotes are an empty argument; an unterminated quote runs to the end.
        let out = expand_response_files(&v("gcc @r"), files(&[("r", "'' \"a b")])).unwrap();
        assert_eq!(out, ["gcc", "", "a b"]);
    }

    #[test]
    fn empty_file_gives_nothing() {
        let f = files(&[("e", ""), ("w", " \n\t ")]);
        assert_eq!(
            expand_response_files(&v("gcc @e -c @w x.c"), f).unwrap(),
            v("gcc -c x.c")
        );
    }

    #[test]
    fn nested_and_unreadable() {
        let f = files(&[("a", "-c @b @missing"), ("b", "x.c '@lit'")]);
        let out = expand_response_files(&v("gcc @a -o x.o"), f).unwrap();
        // '@lit' came out of a file, so it is looked up too (and is not there).
        assert_eq!(out, v("gcc -c x.c @lit @missing -o x.o"));
    }

    #[test]
    fn argv0_is_not_expanded() {
        let f = files(&[("gcc", "nope")]);
        assert_eq!(
            expand_response_files(&v("@gcc -c"), f).unwrap(),
            v("@gcc -c")
        );
    }

    /// How a tool writing a response file can quote any argument for libiberty.
    fn quote(arg: &str) -> String {
        if arg.is_empty() {
            return "''".to_string();
        }
        arg.chars().flat_map(|c| ['\\', c]).collect()
    }

    proptest::proptest! {
        #[test]
        fn quoted_arguments_round_trip(args in proptest::collection::vec(".*", 0..8)) {
            // A leading @ cannot be escaped: the argument would be read as a file again.
            proptest::prop_assume!(args.iter().all(|a| !a.starts_with('@')));
            let text = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" \n");
            let read = |n: &str| (n == "r").then(|| text.clone());
            let out = expand_response_files(&v("gcc @r"), read).unwrap();
            proptest::prop_assert_eq!(&out[1..], &args[..]);
        }

        #[test]
        fn any_text_is_accepted(text in ".*") {
            let out = expand_response_files(&v("gcc @r x"), |n| (n == "r").then(|| text.clone()));
            // Err only when the text names @r again, which recurses.
            if let Ok(out) = out {
                proptest::prop_assert_eq!(out.last().map(String::as_str), Some("x"));
            }
        }
    }

    #[test]
    fn recursion_is_bounded() {
        let f = files(&[("self", "-c @self")]);
        assert_eq!(
            expand_response_files(&v("gcc @self"), f),
            Err(ArgsError::TooManyResponseFiles)
        );
        let f = files(&[("a", "@b"), ("b", "@a")]);
        assert!(expand_response_files(&v("gcc @a"), f).is_err());
        // 1999 unreadable @ arguments are fine, 2000 are not.
        let mut argv = vec!["gcc".to_string()];
        argv.extend((0..RESPONSE_FILE_LIMIT - 1).map(|i| format!("@n{i}")));
        assert!(expand_response_files(&argv, |_| None).is_ok());
        argv.push("@last".to_string());
        assert!(expand_response_files(&argv, |_| None).is_err());
    }
}
