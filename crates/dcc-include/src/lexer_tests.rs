use super::*;

fn inc(kind: IncludeKind, target: Target) -> Directive {
    Directive::Include { kind, target }
}
fn q(s: &str) -> Target {
    Target::Quote(s.to_owned())
}
fn a(s: &str) -> Target {
    Target::Angle(s.to_owned())
}
fn includes(src: &str) -> Vec<Directive> {
    lex(src.as_bytes())
        .into_iter()
        .filter(|d| !matches!(d, Directive::Define(_)))
        .collect()
}

#[test]
fn plain_includes_of_every_kind() {
    let got = includes(
        "#include \"a.h\"\n  #  include <b/c.h>\n#include_next <d.h>\n#import \"e.h\"\n%:include <f>\n",
    );
    assert_eq!(
        got,
        vec![
            inc(IncludeKind::Include, q("a.h")),
            inc(IncludeKind::Include, a("b/c.h")),
            inc(IncludeKind::IncludeNext, a("d.h")),
            inc(IncludeKind::Import, q("e.h")),
            inc(IncludeKind::Include, a("f")),
        ]
    );
}

#[test]
fn comments_hide_directives_and_are_space_before_them() {
    let src = "/* #include \"no1.h\"\n#include \"no2.h\" */\n// #include \"no3.h\"\n\
               /* c */ # /* c */ include /* c */ \"yes.h\" // tail\n";
    assert_eq!(includes(src), vec![inc(IncludeKind::Include, q("yes.h"))]);
}

#[test]
fn a_comment_marker_inside_a_header_name_is_part_of_the_name() {
    let src = "#include <a//b.h>\n#include <c/*d.h>\n#include \"e.h\"\n";
    assert_eq!(
        includes(src),
        vec![
            inc(IncludeKind::Include, a("a//b.h")),
            inc(IncludeKind::Include, a("c/*d.h")),
            inc(IncludeKind::Include, q("e.h")),
        ]
    );
}

#[test]
fn strings_in_code_do_not_open_comments() {
    let src =
        "const char *s = \"/*\";\n#include \"yes.h\"\nchar c = '\"'; /* x */\n#include <y.h>\n";
    assert_eq!(
        includes(src),
        vec![
            inc(IncludeKind::Include, q("yes.h")),
            inc(IncludeKind::Include, a("y.h"))
        ]
    );
}

#[test]
fn a_raw_string_hides_what_looks_like_a_directive_in_cxx_but_not_in_iso_c() {
    let src = b"auto s = R\"x(\n#include \"no.h\"\n)\" /* )x\" ;\n#include \"yes.h\"\n";
    assert_eq!(
        lex_mode(src, Mode::ALL),
        vec![inc(IncludeKind::Include, q("yes.h"))]
    );
    // gcc -std=c17 reads no.h (no raw strings in ISO C): the union keeps it.
    assert_eq!(
        lex(src),
        vec![
            inc(IncludeKind::Include, q("yes.h")),
            inc(IncludeKind::Include, q("no.h"))
        ]
    );
}

#[test]
fn digit_separators_and_character_literals_both_count() {
    // With separators `1'a` is a number and `/*` opens a comment; in C17 `'a/*'` is a
    // character literal and the next line is a directive.
    let src = b"int n = 1'a/*';\n#include \"c17.h\"\n*/\n";
    assert_eq!(lex_mode(src, Mode::ALL), vec![]);
    assert_eq!(lex(src), vec![inc(IncludeKind::Include, q("c17.h"))]);
}

#[test]
fn digit_separators_are_not_character_literals() {
    let src = "int n = 1'000'000; /* a\n#include \"no.h\"\n*/\n#include \"yes.h\"\n";
    assert_eq!(includes(src), vec![inc(IncludeKind::Include, q("yes.h"))]);
}

#[test]
fn line_splices_join_directives_and_comments() {
    let src = "#inc\\\nlude \\  \n \"a.h\"\n// comment \\\n#include \"no.h\"\n#include <b.h>\n";
    assert_eq!(
        includes(src),
        vec![
            inc(IncludeKind::Include, q("a.h")),
            inc(IncludeKind::Include, a("b.h"))
        ]
    );
}

#[test]
fn a_directive_is_only_first_on_its_line() {
    let src = "x; #include \"no.h\"\n#define X 1 #include \"no2.h\"\n";
    assert_eq!(includes(src), vec![]);
}

#[test]
fn computed_includes_keep_their_tokens() {
    let src = "#include CONFIG_H\n#include HDR(foo, bar)  // c\n#include <unterminated\n";
    assert_eq!(
        includes(src),
        vec![
            inc(IncludeKind::Include, Target::Computed("CONFIG_H".into())),
            inc(
                IncludeKind::Include,
                Target::Computed("HDR(foo, bar)".into())
            ),
            inc(
                IncludeKind::Include,
                Target::Computed("<unterminated".into())
            ),
        ]
    );
}

#[test]
fn has_include_in_if_and_elif() {
    let src = "#if __has_include(<a.h>) && defined(X) || __has_include(\"b.h\")\n\
               #elif __has_include_next(<c.h>)\n#elif __has_include(HDR)\n\
               #ifdef __has_include\n#endif\n";
    let got = includes(src);
    assert_eq!(
        got,
        vec![
            Directive::HasInclude {
                next: false,
                target: a("a.h")
            },
            Directive::HasInclude {
                next: false,
                target: q("b.h")
            },
            Directive::HasInclude {
                next: true,
                target: a("c.h")
            },
            Directive::HasInclude {
                next: false,
                target: Target::Computed("HDR".into())
            },
        ]
    );
}

#[test]
fn defines_object_and_function_like() {
    let got: Vec<_> = lex(b"#define A \"a.h\"\n#define F(x, y) <x##y.h> /* c */\n#define G (1)\n#define S(...) #__VA_ARGS__\n")
        .into_iter()
        .collect();
    assert_eq!(
        got,
        vec![
            Directive::Define(Define {
                name: "A".into(),
                params: None,
                body: "\"a.h\"".into()
            }),
            Directive::Define(Define {
                name: "F".into(),
                params: Some(vec!["x".into(), "y".into()]),
                body: "<x##y.h>".into()
            }),
            Directive::Define(Define {
                name: "G".into(),
                params: None,
                body: "(1)".into()
            }),
            Directive::Define(Define {
                name: "S".into(),
                params: Some(vec!["__VA_ARGS__".into()]),
                body: "#__VA_ARGS__".into()
            }),
        ]
    );
}

#[test]
fn a_non_utf8_header_name_is_reported() {
    assert_eq!(lex(b"#include \"a\xff.h\"\n"), vec![Directive::NonUtf8]);
}

#[test]
fn crlf_line_ends() {
    let src = "#include \"a.h\"\r\n#include <b.h>\r\n";
    assert_eq!(
        includes(src),
        vec![
            inc(IncludeKind::Include, q("a.h")),
            inc(IncludeKind::Include, a("b.h"))
        ]
    );
}

#[test]
fn a_byte_order_mark_does_not_hide_the_first_line() {
    // gcc reads y.h here.
    assert_eq!(
        includes("\u{feff}#include \"y.h\"\n"),
        vec![inc(IncludeKind::Include, q("y.h"))]
    );
}

#[test]
fn a_lone_carriage_return_ends_a_line_as_for_gcc() {
    // gcc reads x.h in the first file and not z.h in the second (the string ends at the CR,
    // and the `/*` after it opens a comment).
    assert_eq!(
        includes("#define A 1\r#include \"x.h\"\r"),
        vec![inc(IncludeKind::Include, q("x.h"))]
    );
    assert_eq!(
        includes("const char *s = \"a\r/*\";\n#include \"z.h\"\n/* */\n"),
        vec![]
    );
}

proptest::proptest! {
    #[test]
    fn lexing_any_bytes_never_panics(src in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = lex(&src);
    }

    #[test]
    fn an_include_after_any_complete_line_is_found(prefix in "[a-z ;=]{0,20}") {
        let src = format!("{prefix}\n#include \"z.h\"\n");
        let got = includes(&src);
        proptest::prop_assert_eq!(got, vec![inc(IncludeKind::Include, q("z.h"))]);
    }
}

#[test]
fn only_a_quote_inside_a_number_asks_for_the_second_reading() {
    assert!(has_separator(b"x = 1'000;"));
    assert!(has_separator(b"x = 0x1'ff;"));
    assert!(has_separator(b"x = .5'0;"));
    assert!(!has_separator(b"// don't, it's 1 o'clock"));
    assert!(!has_separator(b"a1'b"));
    assert!(!has_separator(b"'1'"));
}
