use super::*;
use crate::client::{Scan, expand_preprocessor_options, scan_args};

fn v(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn info(args: &str, env: Option<&str>) -> DotdInfo {
    dotd_info(&v(&format!("gcc -c {args}")), env)
}

// test/testdistcc.py DotD_Case: the names gcc 12 gives (measured), and distcc's flags.
#[test]
fn dotd_case() {
    for (args, name, needs, sets) in [
        ("foo.c -o hello.o -MD", "hello.d", true, false),
        ("foo.c -o hello.. -MD", "hello..d", true, false),
        ("foo.c -o hello.bar.foo -MD", "hello.bar.d", true, false),
        ("foo.c -o hello.o", "hello.d", false, false),
        ("foo.c -MD", "foo.d", true, false),
        ("foo.c -o hello. -MD", "hello.d", true, false),
        ("foo.c -o hello. -MD -MT tootoo", "hello.d", true, true),
        ("foo.c -o hello.o -MD -MT tootoo", "hello.d", true, true),
        ("foo.c -o hello.o -MD -MF foobar", "foobar", true, false),
        ("foo.cpp -o hello.o", "hello.d", false, false),
        ("foo.cpp -o hello", "hello.d", false, false),
    ] {
        let i = info(args, None);
        assert_eq!(
            (i.file.path.as_str(), i.needs_dotd, i.sets_target),
            (name, needs, sets),
            "{args}"
        );
        assert_eq!(i.file.target, None);
    }
}

#[test]
fn dependencies_output() {
    let i = info("foo.c", Some("xxx.d yyy"));
    assert_eq!(
        i.file,
        DepFile {
            path: "xxx.d".into(),
            target: Some("yyy".into())
        }
    );
    assert!(i.needs_dotd && !i.sets_target);
    assert_eq!(i.target_args, v("-MT yyy"));
    let i = info("foo.c", Some("zzz.d"));
    assert_eq!(
        i.file,
        DepFile {
            path: "zzz.d".into(),
            target: None
        }
    );
    assert_eq!(i.target_args, v("-MQ foo.o"));
    // -MF overrides the environment; -MD overrides both.
    assert_eq!(info("foo.c -MF m.d", Some("zzz.d")).file.path, "m.d");
    let i = info("foo.c -MD -o b/x.o", Some("zzz.d t"));
    assert_eq!(i.file.path, "b/x.d");
    assert_eq!(i.target_args, v("-MQ b/x.o"));
}

#[test]
fn names_follow_gcc() {
    // Without -o, the basename: gcc writes into the current directory.
    assert_eq!(info("src/foo.c -MD", None).file.path, "foo.d");
    assert_eq!(info("src/a.b.c -MMD", None).file.path, "a.b.d");
    // A dot in a directory is not a suffix; a leading dot is.
    assert_eq!(info("foo.c -MD -o b.dir/x", None).file.path, "b.dir/x.d");
    assert_eq!(info("foo.c -MD -o b.dir/.x", None).file.path, "b.dir/.d");
    assert_eq!(info("foo.c -MD -ob/y.o", None).file.path, "b/y.d");
    assert_eq!(info("foo.c -MD -MFdep", None).file.path, "dep");
    // A lone -MF, -MP or -MG writes nothing (gcc refuses -MF without -M*).
    assert!(!info("foo.c -MF x.d -MP", None).needs_dotd);
    assert!(!info("foo.c -MQ x", None).needs_dotd);
}

#[test]
fn wp_forms() {
    let i = info("src/a.c -o b/a.o -Wp,-MD,dep.d", None);
    assert_eq!(
        (i.file.path.as_str(), i.needs_dotd, i.sets_target),
        ("dep.d", true, false)
    );
    // The driver does not see -Wp,-MD: cpp's default target.
    assert_eq!(i.target_args, v("-MQ a.o"));
    let i = info("a.c -o b/a.o -MD -Wp,-MT,x", None);
    assert!(i.sets_target && i.target_args.is_empty());
    // The -Wp file wins over a driver -MF.
    assert_eq!(info("a.c -Wp,-MMD,w.d -MF m.d", None).file.path, "w.d");
    assert_eq!(info("a.c -MD -Wp,-MFw.d", None).file.path, "w.d");
}

#[test]
fn target_args() {
    assert_eq!(info("a.c -MD -o b/a.o", None).target_args, v("-MQ b/a.o"));
    assert_eq!(info("src/a.c -MD", None).target_args, v("-MQ a.o"));
    assert_eq!(info("src/a.c -S -MD", None).target_args, v("-MQ a.o"));
    assert!(info("a.c -MD -MQ q", None).target_args.is_empty());
    assert!(info("a.c -o a.o", None).target_args.is_empty());
    assert_eq!(default_dep_target("dir/x.tar.c"), "x.tar.o");
    assert_eq!(default_dep_target("noext"), "noext.o");
    assert_eq!(default_dep_target(""), "-");
}

fn compile(original: &[String]) -> Compile {
    match scan_args(&expand_preprocessor_options(original)) {
        Ok(Scan::Distribute(c)) => c,
        other => panic!("{original:?}: {other:?}"),
    }
}

fn fixed(cmd: &str) -> String {
    let original = v(cmd);
    fix_dependency_args(&compile(&original), &original).join(" ")
}

#[test]
fn fix_adds_name_and_target() {
    // The #62 example.
    assert_eq!(
        fixed("gcc -MD -c src/a.c -o build/a.o"),
        "gcc -MD -E src/a.c -MF build/a.d -MQ build/a.o"
    );
    assert_eq!(
        fixed("gcc -MMD -c src/a.c -obuild/a.o"),
        "gcc -MMD -E src/a.c -MF build/a.d -MQ build/a.o"
    );
    assert_eq!(
        fixed("gcc -MD -S a.c -o y.s"),
        "gcc -MD -E a.c -MF y.d -MQ y.s"
    );
    // Explicit name or target: only the other one is added.
    assert_eq!(
        fixed("gcc -MD -MF d.d -c a.c -o b/a.o"),
        "gcc -MD -MF d.d -E a.c -MQ b/a.o"
    );
    assert_eq!(
        fixed("gcc -MD -MT t -c a.c -o b/a.o"),
        "gcc -MD -MT t -E a.c -MF b/a.d"
    );
    // When cpp would pick the same name, nothing is added for it.
    assert_eq!(fixed("gcc -MD -c a.c -o a.o"), "gcc -MD -E a.c -MQ a.o");
}

#[test]
fn fix_leaves_what_already_matches() {
    // No -o: both runs derive everything from the input.
    assert_eq!(fixed("gcc -MD -c src/a.c"), "gcc -MD -E src/a.c");
    assert_eq!(fixed("gcc -MD -c x.c y.o"), "gcc -MD -E x.c y.o");
    // No dependency options.
    assert_eq!(fixed("gcc -c src/a.c -o b/a.o"), "gcc -E src/a.c");
    // -Wp,-MD,f names the file and gcc's driver adds no target.
    assert_eq!(
        fixed("gcc -Wp,-MD,dep.d -c src/a.c -o b/a.o"),
        "gcc -MD -MF dep.d -E src/a.c"
    );
}

#[test]
fn fix_orders_targets_like_gcc() {
    // gcc passes its own -MQ before the -Wp ones.
    assert_eq!(
        fixed("gcc -MD -Wp,-MQ,q -c a.c -o b/a.o"),
        "gcc -MD -MQ b/a.o -MQ q -E a.c -MF b/a.d"
    );
    // A -Wp file wins over the driver's name, so no -MF is needed.
    assert_eq!(
        fixed("gcc -Wp,-MD,f.d -MD -c a.c -o b/a.o"),
        "gcc -MD -MF f.d -MD -E a.c -MQ b/a.o"
    );
    // But a later driver -MF must not win over it.
    assert_eq!(
        fixed("gcc -Wp,-MD,f.d -MF m.d -MD -c a.c -o b/a.o"),
        "gcc -MD -MF f.d -MF m.d -MD -E a.c -MF f.d -MQ b/a.o"
    );
}
