//! `fix_dependency_args` against the installed gcc: for each command, run plain `gcc` in one
//! temporary directory and the corrected preprocessor command (`gcc -E`, stdout elsewhere)
//! in another, and require the same dependency files, byte for byte and by name.
//!
//! Needs gcc (the distcc CI image has gcc 12, which the rules were worked out on).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use dcc_args::client::{
    Scan, cpp_argv, dotd_info, expand_preprocessor_options, fix_dependency_args, scan_args,
};

const SOURCE: &str = "#include \"h.h\"\nint main(void) { return X; }\n";

fn require_gcc() {
    let ok = Command::new("gcc")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        matches!(ok, Ok(s) if s.success()),
        "these tests need gcc: install gcc"
    );
}

/// The same small tree in every directory.
fn setup(dir: &Path) {
    for d in ["src", "build", "b.dir"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    for f in ["src/a.c", "a.c", "a.b.c", "src/a.cc"] {
        fs::write(dir.join(f), SOURCE).unwrap();
    }
    for f in ["src/h.h", "h.h"] {
        fs::write(dir.join(f), "#define X 0\n").unwrap();
    }
}

fn is_setup_file(rel: &str) -> bool {
    matches!(
        rel,
        "src/a.c" | "a.c" | "a.b.c" | "src/a.cc" | "src/h.h" | "h.h"
    )
}

/// Every file under `dir` except the tree from `setup`, the compile output and objects.
fn written_files(dir: &Path, output: &str) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut all = BTreeMap::new();
    walk(dir, dir, &mut all);
    all.retain(|rel, bytes| !is_setup_file(rel) && rel != output && !bytes.starts_with(b"\x7fELF"));
    all
}

struct Run {
    ok: bool,
    files: BTreeMap<String, Vec<u8>>,
}

fn run(argv: &[String], env: &[(&str, &str)], dir: &Path, output: &str, stdout: Stdio) -> Run {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(dir)
        .stdout(stdout)
        .stderr(Stdio::null());
    cmd.env_remove("DEPENDENCIES_OUTPUT")
        .env_remove("SUNPRO_DEPENDENCIES");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let ok = cmd.status().expect("run gcc").success();
    Run {
        ok,
        files: written_files(dir, output),
    }
}

/// Plain gcc and the given preprocessor command, each in a fresh directory.
fn compare(
    original: &[String],
    env: &[(&str, &str)],
    cpp: impl Fn(&[String]) -> Vec<String>,
) -> (Run, Run) {
    let compile = match scan_args(&expand_preprocessor_options(original)) {
        Ok(Scan::Distribute(c)) => c,
        other => panic!("{original:?} is not distributed: {other:?}"),
    };
    let tmp = tempfile::tempdir().unwrap();
    let (plain_dir, cpp_dir) = (tmp.path().join("plain"), tmp.path().join("cpp"));
    setup(&plain_dir);
    setup(&cpp_dir);
    let plain = run(original, env, &plain_dir, &compile.output, Stdio::null());
    let cpp_cmd = cpp(original);
    let out = fs::File::create(tmp.path().join("cpp.i")).unwrap();
    let pre = run(&cpp_cmd, env, &cpp_dir, "", Stdio::from(out));
    (plain, pre)
}

fn fixed(original: &[String]) -> Vec<String> {
    let compile = match scan_args(&expand_preprocessor_options(original)) {
        Ok(Scan::Distribute(c)) => c,
        other => panic!("{other:?}"),
    };
    fix_dependency_args(&compile, original)
}

fn unfixed(original: &[String]) -> Vec<String> {
    match scan_args(&expand_preprocessor_options(original)) {
        Ok(Scan::Distribute(c)) => cpp_argv(&c.argv),
        other => panic!("{other:?}"),
    }
}

fn words(args: &str) -> Vec<String> {
    std::iter::once("gcc")
        .chain(args.split_whitespace())
        .map(String::from)
        .collect()
}

fn check(original: &[String], env: &[(&str, &str)]) {
    let (plain, pre) = compare(original, env, fixed);
    let show = |m: &BTreeMap<String, Vec<u8>>| -> Vec<(String, String)> {
        m.iter()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    };
    assert_eq!(
        plain.ok, pre.ok,
        "{original:?} {env:?}: exit status differs"
    );
    assert_eq!(
        show(&plain.files),
        show(&pre.files),
        "{original:?} {env:?} via {:?}",
        fixed(original)
    );
    // The dotd_info prediction agrees with gcc (pump mode relies on it).
    let dep = env
        .iter()
        .find(|(k, _)| *k == "DEPENDENCIES_OUTPUT")
        .or(env.first())
        .map(|(_, v)| *v);
    let info = dotd_info(original, dep);
    if plain.ok {
        assert_eq!(
            info.needs_dotd,
            !plain.files.is_empty(),
            "{original:?} {env:?}"
        );
        if info.needs_dotd {
            let path = info.file.path.trim_start_matches("./");
            assert!(
                plain.files.contains_key(path),
                "{original:?}: {:?} vs {:?}",
                info.file,
                plain.files.keys()
            );
        }
    }
}

const CASES: &[&str] = &[
    "-MD -c src/a.c -o build/a.o",
    "-MD -c src/a.c",
    "-MD -c a.c -o hello",
    "-MD -c a.c -o hello.",
    "-MD -c a.c -o hello..",
    "-MD -c a.c -o hello.bar.foo",
    "-MD -c a.c -o b.dir/hello",
    "-MD -c a.c -o b.dir/.x",
    "-MD -c a.c -obuild/x.o",
    "-MD -c a.c -o ./x.o",
    "-MD -S a.c",
    "-MD -S src/a.c -o build/y.s",
    "-MD -c -S a.c -obuild/y.s",
    "-MMD -c src/a.c -o build/a.o",
    "-MD -MP -c src/a.c -o build/a.o",
    "-MMD -MP -c src/a.c -o build/a.o",
    "-MD -MG -c src/a.c -o build/a.o",
    "-MD -MF dep.d -c src/a.c -o build/a.o",
    "-MD -MFdep.d -c src/a.c -o build/a.o",
    "-MD -MF build/a.d -c src/a.c -o build/a.o",
    "-MD -MQ foo -c src/a.c -o build/a.o",
    "-MD -MT foo -c src/a.c -o build/a.o",
    "-MD -MTfoo -MQb$r -c src/a.c -o build/a.o",
    "-MD -MT a -MQ b -MT c -c src/a.c -o build/a.o",
    "-Wp,-MD,dep.d -c src/a.c -o build/a.o",
    "-Wp,-MMD,dep.d -c src/a.c -o build/a.o",
    "-Wp,-MMD,dep.d,-MP -c src/a.c -o build/a.o",
    "-Wp,-MD,dep.d -c src/a.c",
    "-Wp,-MD,f.d -MD -c a.c -o build/a.o",
    "-Wp,-MD,f.d -MF m.d -MD -c a.c -o build/a.o",
    "-MD -Wp,-MT,x -c a.c -o build/a.o",
    "-MD -Wp,-MQ,q -c a.c -o build/a.o",
    "-MD -Wp,-MFw.d -c a.c -o build/a.o",
    "-MD -c src/a.c -o build/a$b.o",
    "-MD -c src/a.c -o build/a#b.o",
    "-MD -c a.b.c -o x.o",
    "-MD -c a.b.c",
    "-MD -MMD -c src/a.c -o build/a.o",
    "-MD -c src/a.c y.o",
    "-MD -x c -c a.c -o build/a.o",
    "-MD -include h.h -c src/a.c -o build/a.o",
    "-c src/a.c -o build/a.o",
];

#[test]
fn dependency_files_match_plain_gcc() {
    require_gcc();
    for case in CASES {
        check(&words(case), &[]);
    }
    // A space in the output name: gcc quotes the target, and the file name keeps it.
    let mut argv = words("-MD -c a.c -o");
    argv.push("build/a b.o".to_string());
    check(&argv, &[]);
    // g++ has the same driver rules.
    let mut argv = words("-MMD -MP -c src/a.cc -o build/a.o");
    argv[0] = "g++".to_string();
    check(&argv, &[]);
}

#[test]
fn dependency_environment_matches_plain_gcc() {
    require_gcc();
    for (args, env) in [
        ("-c src/a.c -o build/a.o", ("DEPENDENCIES_OUTPUT", "dep.d")),
        (
            "-c src/a.c -o build/a.o",
            ("DEPENDENCIES_OUTPUT", "dep.d tgt"),
        ),
        (
            "-c src/a.c -o build/a.o",
            ("DEPENDENCIES_OUTPUT", "dep.d a$b"),
        ),
        ("-c src/a.c -o build/a.o", ("SUNPRO_DEPENDENCIES", "dep.d")),
        (
            "-c src/a.c -o build/a.o",
            ("SUNPRO_DEPENDENCIES", "dep.d tgt"),
        ),
        ("-c src/a.c", ("DEPENDENCIES_OUTPUT", "dep.d")),
        (
            "-MF m.d -c src/a.c -o build/a.o",
            ("DEPENDENCIES_OUTPUT", "dep.d"),
        ),
        (
            "-MD -c src/a.c -o build/a.o",
            ("DEPENDENCIES_OUTPUT", "dep.d"),
        ),
        (
            "-MMD -c src/a.c -o build/a.o",
            ("SUNPRO_DEPENDENCIES", "dep.d t"),
        ),
        (
            "-MD -MT t -c src/a.c -o build/a.o",
            ("DEPENDENCIES_OUTPUT", "dep.d"),
        ),
    ] {
        check(&words(args), &[env]);
    }
}

/// distcc issue #62, reproduced: distcc's own preprocessor command writes ./a.d with target
/// a.o where gcc writes build/a.d with target build/a.o.
#[test]
fn distcc_command_is_wrong_without_the_fix() {
    require_gcc();
    let original = words("-MD -c src/a.c -o build/a.o");
    let (plain, pre) = compare(&original, &[], unfixed);
    assert_eq!(plain.files.keys().collect::<Vec<_>>(), ["build/a.d"]);
    assert_eq!(pre.files.keys().collect::<Vec<_>>(), ["a.d"]);
    assert!(pre.files["a.d"].starts_with(b"a.o: src/a.c"));
    assert!(plain.files["build/a.d"].starts_with(b"build/a.o: src/a.c"));
}
