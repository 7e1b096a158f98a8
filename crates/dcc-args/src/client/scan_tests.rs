use super::*;
use proptest::prelude::*;

fn v(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn scan_str(cmd: &str) -> Scan {
    scan_args(&v(cmd)).expect("argv[0] is a compiler")
}

/// `h_scanargs`-style result: Some((input, output)) when distributed.
fn io(cmd: &str) -> Option<(String, String)> {
    match scan_str(cmd) {
        Scan::Distribute(c) => Some((c.input, c.output)),
        Scan::Local(_) => None,
    }
}

fn distributes(cmd: &str, input: &str, output: &str) {
    assert_eq!(
        io(cmd),
        Some((input.to_string(), output.to_string())),
        "{cmd}"
    );
}

fn local(cmd: &str) -> LocalReason {
    match scan_str(cmd) {
        Scan::Local(r) => r,
        Scan::Distribute(c) => panic!("{cmd}: distributed {c:?}"),
    }
}

// test/testdistcc.py ScanArgs_Case
#[test]
fn scan_args_case() {
    distributes("gcc -c hello.c", "hello.c", "hello.o");
    assert_eq!(local("gcc hello.c"), LocalReason::NotCompile);
    distributes(
        "gcc -o /tmp/hello.o -c ../src/hello.c",
        "../src/hello.c",
        "/tmp/hello.o",
    );
    distributes(
        "gcc -DMYNAME=quasibar.c bar.c -c -o bar.o",
        "bar.c",
        "bar.o",
    );
    distributes("gcc -ohello.o -c hello.c", "hello.c", "hello.o");
    distributes("ccache gcc -c hello.c", "hello.c", "hello.o");
    assert_eq!(local("gcc hello.o"), LocalReason::NotCompile);
    assert_eq!(local("gcc -o hello.o hello.c"), LocalReason::NotCompile);
    assert_eq!(local("gcc -o hello.o -c hello.s"), LocalReason::NoInput);
    assert_eq!(local("gcc -o hello.o -c hello.S"), LocalReason::NoInput);
    assert_eq!(
        local("gcc -fprofile-arcs -ftest-coverage -c hello.c"),
        LocalReason::Profile("-fprofile-arcs".into())
    );
    distributes("gcc -S hello.c", "hello.c", "hello.s");
    distributes("gcc -c -S hello.c", "hello.c", "hello.s");
    distributes("gcc -S -c hello.c", "hello.c", "hello.s");
    assert_eq!(
        local("gcc -M hello.c"),
        LocalReason::DependencyOnly("-M".into())
    );
    assert_eq!(
        local("gcc -ME hello.c"),
        LocalReason::DependencyOnly("-ME".into())
    );
    distributes("gcc -MD -c hello.c", "hello.c", "hello.o");
    distributes("gcc -MMD -c hello.c", "hello.c", "hello.o");
    assert_eq!(local("gcc -S foo.c -o -"), LocalReason::OutputStdout);
    assert_eq!(local("cc -S -o - foo.c"), LocalReason::OutputStdout);
    assert_eq!(local("cc -c -S -o - foo.c"), LocalReason::OutputStdout);
    assert_eq!(local("cc -S -c -o - foo.c"), LocalReason::OutputStdout);
    distributes("gcc -ofoo.o foo.c -c", "foo.c", "foo.o");
    assert_eq!(local("gcc -ofoo foo.o"), LocalReason::TwoOutputs);
    assert_eq!(local("cc foo.c -o foo.o"), LocalReason::NotCompile);
    distributes("cc foo.c -o foo.o -c", "foo.c", "foo.o");
    assert_eq!(
        local("gcc -Wa,-alh,-a=foo.lst -c foo.c"),
        LocalReason::AssemblerListing("-Wa,-alh,-a=foo.lst".into())
    );
    assert_eq!(
        local("gcc -Wa,--MD -c foo.c"),
        LocalReason::AssemblerListing("-Wa,--MD".into())
    );
    distributes("gcc -Wa,-xarch=v8 -c foo.c", "foo.c", "foo.o");
    assert_eq!(local("g++ -frepo foo.C"), LocalReason::Repo);
    assert_eq!(
        local("gcc -xassembler-with-cpp -c foo.c"),
        LocalReason::Language("-c".into())
    );
    assert_eq!(
        local("gcc -x assembler-with-cpp -c foo.c"),
        LocalReason::Language("assembler-with-cpp".into())
    );
    // distcc 3.4 (Debian's, measured): local. HEAD distributes it (server --sysroot).
    assert_eq!(
        local("gcc -specs=foo.specs -c foo.c"),
        LocalReason::Specs("-specs=foo.specs".into())
    );
    assert_eq!(
        local("gcc -dr -c foo.c"),
        LocalReason::RtlDump("-dr".into())
    );
}

// test/testdistcc.py ImplicitCompilerScan_Case: the client prepends "cc".
#[test]
fn implicit_compiler_scan_case() {
    distributes("cc -c hello.c", "hello.c", "hello.o");
    distributes("cc hello.c -c", "hello.c", "hello.o");
    distributes("cc -o hello.o -c hello.c", "hello.c", "hello.o");
}

// Reference §3.1 "Extra cases" [measured with v3.4 h_scanargs].
#[test]
fn extra_cases() {
    distributes("gcc -x c -c foo.c", "foo.c", "foo.o");
    distributes("gcc -x cpp-output -c foo.i", "foo.i", "foo.o");
    assert_eq!(local("gcc -c x.cu"), LocalReason::NoInput);
    assert_eq!(local("gcc -c x.f90"), LocalReason::NoInput);
    distributes("gcc -c x.c -MQ x.o", "x.c", "x.o");
    assert_eq!(
        local("gcc -c x.c -MM"),
        LocalReason::DependencyOnly("-MM".into())
    );
    distributes("gcc -c x.c -fplugin=foo.so", "x.c", "x.o");
    distributes("gcc -c x.c -save-temps", "x.c", "x.o");
    distributes("gcc -c x.c -dM", "x.c", "x.o");
    assert_eq!(
        local("gcc -c x.c -drtl"),
        LocalReason::RtlDump("-drtl".into())
    );
    assert_eq!(
        local("gcc -c -o x.o tmp.conftest.c"),
        LocalReason::Conftest("tmp.conftest.c".into())
    );
    assert_eq!(local("cc -c .c"), LocalReason::BogusInput(".c".into()));
}

#[test]
fn x_quirk_and_languages() {
    // Measured: the joined form is judged by the next argument.
    assert_eq!(
        local("gcc -xc -c foo.c"),
        LocalReason::Language("-c".into())
    );
    distributes("gcc -xc cfoo.c -c", "cfoo.c", "cfoo.o");
    distributes("gcc -x c++ -c foo.cc", "foo.cc", "foo.o");
    distributes("gcc -x objective-c -c foo.m", "foo.m", "foo.o");
    distributes("gcc -x go -c foo.c", "foo.c", "foo.o");
    assert_eq!(
        local("gcc -c foo.c -x f95 "),
        LocalReason::Language("f95".into())
    );
    // -x as the last argument has nothing to judge.
    distributes("gcc -c foo.c -x", "foo.c", "foo.o");
}

#[test]
fn object_argument_is_the_output() {
    // Measured: gcc -c x.c y.o distributes with output y.o.
    let Scan::Distribute(c) = scan_str("gcc -c x.c y.o") else {
        panic!()
    };
    assert_eq!((c.output.as_str(), c.output_index), ("y.o", 3));
    assert_eq!(c.output_source, OutputSource::ObjectArg);
    assert_eq!(c.argv, v("gcc -c x.c y.o"));
    assert_eq!(local("gcc -c x.c -o z.o y.o"), LocalReason::TwoOutputs);
    assert_eq!(local("gcc -c x.c y.c"), LocalReason::TwoInputs);
}

#[test]
fn compile_fields() {
    let Scan::Distribute(c) = scan_str("gcc -c src/x.c") else {
        panic!()
    };
    assert_eq!(c.argv, v("gcc -c src/x.c -o x.o"));
    assert_eq!((c.input_index, c.output_index), (2, 4));
    assert_eq!(c.output_source, OutputSource::Default);
    assert!(!c.dash_s && !c.preprocessed);

    let Scan::Distribute(c) = scan_str("gcc -S -ob/x.s x.ii") else {
        panic!()
    };
    assert_eq!(c.argv, v("gcc -S -ob/x.s x.ii"));
    assert_eq!(
        (c.output.as_str(), c.output_index, c.output_source),
        ("b/x.s", 2, OutputSource::Joined)
    );
    assert!(c.dash_s && c.preprocessed);

    let Scan::Distribute(c) = scan_str("gcc -o out.o -c x.c") else {
        panic!()
    };
    assert_eq!(
        (c.output_index, c.output_source),
        (2, OutputSource::Separate)
    );
    assert_eq!(c.input_index, 4);

    // The default output of a multi-dot name replaces the last extension only.
    distributes("gcc -c dir/hello.2.4.c", "dir/hello.2.4.c", "hello.2.4.o");
    distributes("gcc -S x.mm", "x.mm", "x.s");
}

#[test]
fn conftest_and_odd_outputs() {
    assert_eq!(
        local("gcc -c conftest.c"),
        LocalReason::Conftest("conftest.c".into())
    );
    assert_eq!(
        local("gcc -c sub/conftest.cpp -o c.o"),
        LocalReason::Conftest("sub/conftest.cpp".into())
    );
    distributes("gcc -c myconftest.c", "myconftest.c", "myconftest.o");
    distributes("gcc -c conftest/x.c", "conftest/x.c", "x.o");
    assert_eq!(local("gcc -c x.c -o-"), LocalReason::OutputStdout);
    assert_eq!(local("gcc -c x.c -o"), LocalReason::MissingOutput);
    // -o takes the next argument whatever it is.
    assert_eq!(local("gcc -o -c x.c"), LocalReason::NotCompile);
    distributes("gcc -c ab.c", "ab.c", "ab.o");
}

#[test]
fn dependency_options() {
    // The argument of -MF/-MT/-MQ is not an input or output.
    distributes("gcc -MD -MF x.o -MT y.c -MQ z.c -c a.c", "a.c", "a.o");
    distributes("gcc -MFx.o -MTy.c -c a.c", "a.c", "a.o");
    distributes("gcc -MG -MP -MMD -c a.c", "a.c", "a.o");
    assert_eq!(local("gcc -MD -E a.c"), LocalReason::Preprocess);
    assert!(LocalReason::Preprocess.is_local_cpp());
    assert!(!LocalReason::NotCompile.is_local_cpp());
    // A trailing -MF has nothing to skip.
    distributes("gcc -c a.c -MF", "a.c", "a.o");
}

#[test]
fn other_local_options() {
    for (opt, reason) in [
        ("-march=native", LocalReason::Native("-march=native".into())),
        ("-mtune=native", LocalReason::Native("-mtune=native".into())),
        ("--coverage", LocalReason::Profile("--coverage".into())),
        (
            "-fprofile-generate=/p",
            LocalReason::Profile("-fprofile-generate=/p".into()),
        ),
        (
            "-fprofile-use",
            LocalReason::Profile("-fprofile-use".into()),
        ),
        (
            "-fauto-profile=x",
            LocalReason::Profile("-fauto-profile=x".into()),
        ),
        (
            "-fprofile-correction",
            LocalReason::Profile("-fprofile-correction".into()),
        ),
    ] {
        assert_eq!(local(&format!("gcc -c x.c {opt}")), reason, "{opt}");
    }
    distributes("gcc -march=x86-64 -flto -c x.c", "x.c", "x.o");
}

#[test]
fn first_rule_wins() {
    assert_eq!(local("gcc -E -M x.c"), LocalReason::Preprocess);
    assert_eq!(
        local("gcc -M -E x.c"),
        LocalReason::DependencyOnly("-M".into())
    );
    assert_eq!(
        local("gcc -c a.c b.c -o x.o -o y.o"),
        LocalReason::TwoInputs
    );
}

#[test]
fn argv0_must_be_a_compiler() {
    assert_eq!(
        scan_args(&v("-c x.c")),
        Err(ArgsError::UnrecognizedOption("-c".into()))
    );
    assert_eq!(
        ArgsError::UnrecognizedOption("-c".into()).to_string(),
        "unrecognized distcc option: -c"
    );
    assert_eq!(scan_args(&[]), Err(ArgsError::NoCompiler));
}

#[test]
fn reason_texts() {
    assert_eq!(
        LocalReason::TwoInputs.to_string(),
        "do we have two inputs?  i give up"
    );
    assert_eq!(
        LocalReason::TwoOutputs.to_string(),
        "called for link?  i give up"
    );
    assert_eq!(
        LocalReason::OutputStdout.to_string(),
        "output to stdout?  running locally"
    );
    assert_eq!(
        LocalReason::Language("-c".into()).to_string(),
        "gcc's -x handling is complex; running locally for -c"
    );
    assert_eq!(
        LocalReason::Native("-mtune=native".into()).to_string(),
        "-mtune=native optimizes for local machine; must be local"
    );
    assert_eq!(
        LocalReason::Specs("-specs=foo.specs".into()).to_string(),
        "-specs=foo.specs must be local"
    );
    assert_eq!(
        LocalReason::BogusInput(".c".into()).to_string(),
        "source file .c is bogus"
    );
    assert_eq!(
        LocalReason::DependencyOnly("-MM".into()).to_string(),
        "-MM implies -E (maybe) and must be local"
    );
}

fn arb_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-c".to_string()),
        Just("-S".to_string()),
        Just("-o".to_string()),
        Just("-x".to_string()),
        Just("-MF".to_string()),
        Just("-MD".to_string()),
        Just("-Wp,-MD".to_string()),
        Just("-Wp,-MD,x.d,-MT,t".to_string()),
        Just("-".to_string()),
        Just("".to_string()),
        "[a-z.]{0,6}\\.(c|o|i|s|cc)",
        "-[a-zA-Z,=.-]{0,8}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn never_panics(argv in proptest::collection::vec(arb_arg(), 0..12)) {
        let expanded = crate::client::expand_preprocessor_options(&argv);
        let _ = crate::client::strip_local_args(&expanded);
        let _ = crate::client::cpp_argv(&expanded);
        let _ = crate::client::dotd_info(&argv, Some("d.d t"));
        if let Ok(Scan::Distribute(c)) = scan_args(&expanded) {
            // The recorded indexes point at what they claim to.
            prop_assert_eq!(&c.argv[c.input_index], &c.input);
            prop_assert!(c.argv[c.output_index].ends_with(c.output.as_str()));
            let _ = crate::client::fix_dependency_args(&c, &argv);
            let _ = crate::client::strip_local_args(&c.argv);
        }
    }
}
