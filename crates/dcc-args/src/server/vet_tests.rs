//! Tests of [`vet`] and the rewrites: distcc's ScanArgs cases (reference §3.1), the measured
//! rewrites (§1.7, §3.4), one allowed and one refused example per option family, and real
//! workloads' flag sets.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

const ROOT: &str = "/tmp/distccd_AbCdEf";
const CWD: &str = "/src/cap/p3src";

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn pump_mode() -> Mode {
    Mode::Pump { cwd: CWD.into() }
}

fn plain(cmd: &str) -> Result<Vetted, Refusal> {
    vet(&args(cmd), &Mode::Plain, &Policy::STRICT)
}

fn pump(cmd: &str) -> Result<Vetted, Refusal> {
    vet(&args(cmd), &pump_mode(), &Policy::STRICT)
}

#[track_caller]
fn refused(r: Result<Vetted, Refusal>) -> String {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e.to_string(),
    }
}

// test/testdistcc.py ScanArgs_Case and ImplicitCompilerScan_Case (implicit ones get `cc`).
const SCAN_DISTRIBUTE: &[(&str, &str)] = &[
    ("gcc -c hello.c", "hello.o"),
    ("gcc -o /tmp/hello.o -c ../src/hello.c", "/tmp/hello.o"),
    ("gcc -DMYNAME=quasibar.c bar.c -c -o bar.o", "bar.o"),
    ("gcc -ohello.o -c hello.c", "hello.o"),
    ("gcc -S hello.c", "hello.s"),
    ("gcc -c -S hello.c", "hello.s"),
    ("gcc -S -c hello.c", "hello.s"),
    ("gcc -MD -c hello.c", "hello.o"),
    ("gcc -MMD -c hello.c", "hello.o"),
    ("gcc -ofoo.o foo.c -c", "foo.o"),
    ("cc foo.c -o foo.o -c", "foo.o"),
    ("gcc -Wa,-xarch=v8 -c foo.c", "foo.o"),
    ("cc -c hello.c", "hello.o"),
    ("cc hello.c -c", "hello.o"),
    ("cc -o hello.o -c hello.c", "hello.o"),
    // Measured with v3.4 h_scanargs.
    ("gcc -x c -c foo.c", "foo.o"),
    ("gcc -x cpp-output -c foo.i", "foo.o"),
    ("gcc -c x.c -MQ x.o", "x.o"),
];

const SCAN_LOCAL: &[&str] = &[
    "gcc hello.c",
    "gcc hello.o",
    "gcc -o hello.o hello.c",
    "gcc -o hello.o -c hello.s",
    "gcc -o hello.o -c hello.S",
    "gcc -fprofile-arcs -ftest-coverage -c hello.c",
    "gcc -M hello.c",
    "gcc -ME hello.c",
    "gcc -S foo.c -o -",
    "gcc -S -o - foo.c",
    "gcc -c -S -o - foo.c",
    "gcc -S -c -o - foo.c",
    "gcc -ofoo foo.o",
    "cc foo.c -o foo.o",
    "gcc -Wa,-alh,-a=foo.lst -c foo.c",
    "gcc -Wa,--MD -c foo.c",
    "g++ -frepo foo.C",
    "gcc -xassembler-with-cpp -c foo.c",
    "gcc -x assembler-with-cpp -c foo.c",
    "gcc -dr -c foo.c",
    "gcc -E -c foo.c",
    "gcc -c x.cu",
    "gcc -c x.f90",
    "gcc -c x.c -MM",
    "gcc -c x.c -drtl",
    "gcc -c -o x.o tmp.conftest.c",
    "gcc -c conftest.c",
    "cc -c .c",
    "gcc -c a.c b.c",
    "gcc -c x.c -o a.o -o b.o",
    "gcc -xc -c foo.c",
    "gcc -c x.c -march=native",
    "gcc -c x.c -o",
];

#[test]
fn scan_args_distribute_rows_are_accepted() {
    for (cmd, output) in SCAN_DISTRIBUTE {
        let v = plain(cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert_eq!(v.client_output, *output, "{cmd}");
        assert!(
            crate::filename::is_source(&args(cmd)[v.input_index]),
            "{cmd}"
        );
        pump(cmd).unwrap_or_else(|e| panic!("pump {cmd}: {e}"));
    }
}

#[test]
fn scan_args_local_rows_are_refused() {
    for cmd in SCAN_LOCAL {
        assert!(plain(cmd).is_err(), "{cmd}");
        assert!(pump(cmd).is_err(), "pump {cmd}");
    }
    assert_eq!(
        refused(plain("gcc -o hello.o hello.c")),
        "distccd refuses this command: neither -c nor -S: not a compile"
    );
    assert_eq!(
        refused(plain("gcc -c x.c -o a.o -o b.o")),
        "distccd refuses this command: more than one output"
    );
    assert_eq!(
        refused(plain("gcc -x assembler -c foo.c")),
        "distccd refuses '-x assembler': language distcc does not distribute"
    );
}

// `ccache gcc -c hello.c` distributes for distcc's scan (argv[1] is ignored), but distccd
// would run `ccache`, which is not a compiler driver: refused, as Debian's distccd 3.4 does
// (ccache is not in /usr/lib/distcc).
#[test]
fn ccache_row_is_refused_as_a_compiler() {
    assert_eq!(
        refused(plain("ccache gcc -c hello.c")),
        "distccd refuses compiler 'ccache': not a gcc or clang driver name (distccd vets gcc/clang options only)"
    );
}

// distcc HEAD distributes `-specs=` and checks it against `distccd --sysroot`.
#[test]
fn specs_follow_the_daemon_sysroot() {
    let exists = |p: &Path| p == Path::new("/opt/sysroot/foo.specs");
    let policy = Policy {
        sysroot: Some(Path::new("/opt/sysroot")),
        spec_exists: &exists,
        ..Policy::STRICT
    };
    for cmd in [
        "gcc -specs=foo.specs -c foo.c",
        "gcc --specs=foo.specs -c foo.c",
        "gcc -specs foo.specs -c foo.c",
        "gcc --specs /foo.specs -c foo.c",
    ] {
        let argv = args(cmd);
        let v = vet(&argv, &Mode::Plain, &policy).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let run = rewrite_plain(&argv, &v, Path::new("/j/in.i"), Path::new("/j/out.o"));
        assert!(
            run.iter().any(|a| a.ends_with("/opt/sysroot/foo.specs")),
            "{cmd}: {run:?}"
        );
        assert!(
            !run.iter()
                .any(|a| a == "foo.specs" || a == "-specs=foo.specs"),
            "{cmd}"
        );
        assert!(vet(&argv, &Mode::Plain, &Policy::STRICT).is_err(), "{cmd}");
    }
    for cmd in [
        "gcc -specs=other.specs -c foo.c",
        "gcc -specs=../sysroot/foo.specs -c foo.c",
        "gcc -specs= -c foo.c",
    ] {
        assert!(vet(&args(cmd), &Mode::Plain, &policy).is_err(), "{cmd}");
    }
    assert_eq!(
        refused(plain("gcc -specs=x -c foo.c")),
        "distccd refuses '-specs=x': spec files can run any program; accepted only from distccd's --sysroot, which is not set"
    );
}

// Reference §3.4 [measured]: `x86_64-linux-gnu-gcc -c x.c -o x.o` runs as
// `x86_64-linux-gnu-gcc -c /tmp/distccd_92e60f42.i -o /tmp/distccd_92ae0f42.o`.
#[test]
fn measured_plain_rewrite() {
    let argv = args("x86_64-linux-gnu-gcc -c x.c -o x.o");
    let v = vet(&argv, &Mode::Plain, &Policy::STRICT).unwrap();
    assert_eq!(v.compiler, "x86_64-linux-gnu-gcc");
    let run = rewrite_plain(
        &argv,
        &v,
        Path::new("/tmp/distccd_92e60f42.i"),
        Path::new("/tmp/distccd_92ae0f42.o"),
    );
    assert_eq!(
        run,
        args("x86_64-linux-gnu-gcc -c /tmp/distccd_92e60f42.i -o /tmp/distccd_92ae0f42.o")
    );
}

#[test]
fn plain_rewrite_forms() {
    let run = |cmd: &str| {
        let argv = args(cmd);
        let v = vet(&argv, &Mode::Plain, &Policy::STRICT).unwrap();
        rewrite_plain(&argv, &v, Path::new("/j/in.i"), Path::new("/j/out.o")).join(" ")
    };
    assert_eq!(run("gcc -c hello.c"), "gcc -c /j/in.i -o /j/out.o");
    assert_eq!(
        run("/usr/bin/gcc -ohello.o -c hello.c"),
        "gcc -o/j/out.o -c /j/in.i"
    );
    assert_eq!(run("cc -O2 -S x.c"), "cc -O2 -S /j/in.i -o /j/out.o");
}

// Reference §1.7: distcc ran the pump request `x86_64-linux-gnu-gcc -MD -c m.c -o m.o -MT m.o`
// as `gcc -MD -c a.c -o /tmp/distccd_001f1089.o -MF /tmp/distcc_02ad1089.deps`. We keep
// `-MT m.o`, so gcc writes the client's target (and wraps the line for it) itself.
#[test]
fn measured_pump_rewrite() {
    let argv = args("x86_64-linux-gnu-gcc -MD -c m.c -o m.o -MT m.o");
    let v = vet(&argv, &pump_mode(), &Policy::STRICT).unwrap();
    let run = rewrite_pump(
        &argv,
        &v,
        Path::new(ROOT),
        Path::new("/tmp/distccd_001f1089.o"),
        Path::new("/tmp/distcc_02ad1089.deps"),
    );
    assert_eq!(
        run.argv,
        args(
            "x86_64-linux-gnu-gcc -MD -c m.c -o /tmp/distccd_001f1089.o -MT m.o -MF /tmp/distcc_02ad1089.deps"
        )
    );
    assert_eq!(run.dotd_target, "m.o");
}

#[test]
fn pump_rewrite_moves_absolute_paths_under_the_root() {
    let cmd = "gcc -I/usr/include/foo -I rel -isystem /opt/x -include /src/a.h -imacros b.h \
               -iquote/q -idirafter /d -iprefix /p/ -iwithprefixbefore /w -MF dep.d -MFdep2.d \
               -MQ q -c /src/cap/p3src/m.c";
    let argv = args(cmd);
    let v = vet(&argv, &pump_mode(), &Policy::STRICT).unwrap();
    let run = rewrite_pump(
        &argv,
        &v,
        Path::new(ROOT),
        Path::new("/j/o.o"),
        Path::new("/j/d"),
    );
    let r = ROOT;
    let want = format!(
        "gcc -I{r}/usr/include/foo -I rel -isystem {r}/opt/x -include {r}/src/a.h -imacros b.h \
         -iquote{r}/q -idirafter {r}/d -iprefix {r}/p/ -iwithprefixbefore {r}/w \
         -MQ q -c {r}/src/cap/p3src/m.c -o /j/o.o -MMD -MF /j/d"
    );
    assert_eq!(run.argv, args(&want));
    assert_eq!(run.dotd_target, "m.o");
}

#[test]
fn pump_adds_gccs_default_target_when_none_is_set() {
    let argv = args("gcc -MD -c x.c -o sub/x.o");
    let v = vet(&argv, &pump_mode(), &Policy::STRICT).unwrap();
    let run = rewrite_pump(
        &argv,
        &v,
        Path::new(ROOT),
        Path::new("/j/o"),
        Path::new("/j/d"),
    );
    assert_eq!(
        run.argv,
        args("gcc -MD -c x.c -o /j/o -MQ sub/x.o -MF /j/d")
    );
}

#[test]
fn pump_keeps_the_targets_and_existing_mmd() {
    let argv = args("gcc -MMD -MT a -MT b -c x.c -o x.o");
    let v = vet(&argv, &pump_mode(), &Policy::STRICT).unwrap();
    let run = rewrite_pump(
        &argv,
        &v,
        Path::new(ROOT),
        Path::new("/j/o"),
        Path::new("/j/d"),
    );
    assert_eq!(
        run.argv,
        args("gcc -MMD -MT a -MT b -c x.c -o /j/o -MF /j/d")
    );
    assert_eq!(run.dotd_target, "a");
}

/// (mode, extra arguments added to `gcc -c x.c -o x.o`, accepted?); `P` is plain mode, `U`
/// pump mode.
type Case = (char, &'static str, bool);

/// One family of options per entry, with examples both ways.
const FAMILIES: &[(&str, &[Case])] = &[
    (
        "programs",
        &[
            ('P', "-wrapper /bin/sh,-c,id", false),
            ('P', "-B/tmp", false),
            ('P', "-B /tmp", false),
            ('P', "--prefix=/tmp", false),
            ('P', "-fuse-ld=/tmp/ld", false),
            ('P', "-fuse-ld=bfd", false),
            ('P', "-no-integrated-as", false),
            ('P', "-fno-integrated-as", false),
            ('P', "--gcc-toolchain=/tmp", false),
            ('P', "-ccc-gcc-name x", false),
            ('P', "-foffload=nvptx-none", false),
            ('P', "-fcompare-debug=-fplugin=x.so", false),
            ('P', "--config=x.cfg", false),
            ('P', "-pipe", true),
            ('P', "-integrated-as", true),
            ('P', "-fintegrated-as", true),
        ],
    ),
    (
        "plugins",
        &[
            ('P', "-fplugin=x.so", false),
            ('P', "-fplugin-arg-x-key=v", false),
            ('P', "-fpass-plugin=x.so", false),
            ('P', "-iplugindir=/tmp", false),
            ('P', "-fpic", true),
        ],
    ),
    (
        "specs",
        &[
            ('P', "-specs=x", false),
            ('P', "--specs=x", false),
            ('U', "-specs x", false),
            ('P', "-static-libgcc", true),
        ],
    ),
    (
        "raw tool options",
        &[
            ('P', "-Xassembler --noexecstack", false),
            ('P', "-Xlinker -zdefs", false),
            ('P', "-Xclang -load", false),
            ('P', "-Xpreprocessor -MD", false),
            ('P', "-mllvm -debug", false),
            ('P', "-Wl,-z,now", false),
            ('P', "-Wp,-MD,/tmp/x", false),
            ('P', "-Wp,-D_FORTIFY_SOURCE=3", false),
            ('P', "-Wa,-a=/tmp/x", false),
            ('P', "-Wa,-I/etc", false),
            ('P', "-Wa,--defsym,x=1", false),
            ('P', "-Wa,-o,/tmp/x", false),
            ('P', "-Wa,", false),
            ('P', "-Wa,--noexecstack", true),
            ('P', "-Wa,-mrelax-relocations=no,--gdwarf-5", true),
        ],
    ),
    (
        "response files",
        &[
            ('P', "@/etc/passwd", false),
            ('U', "@args", false),
            ('P', "-DAT=@x", true),
        ],
    ),
    (
        "included files",
        &[
            ('P', "-include /etc/passwd", false),
            ('P', "-imacros x", false),
            ('P', "-include-pch x.pch", false),
            ('U', "-include ../../../../etc/passwd", false),
            ('U', "-imacros ../../../../x", false),
            ('U', "-include/../etc/passwd", false),
            ('U', "-include /etc/passwd", true),
            ('U', "-imacros cfg.h", true),
        ],
    ),
    (
        "include directories",
        &[
            ('P', "-I/usr/include", true),
            ('P', "-isystem /x", true),
            ('P', "-I../../../..", true),
            ('U', "-I../include", true),
            ('U', "-idirafter /opt/inc", true),
            ('U', "-iprefix /usr/ -iwithprefix include", true),
            ('U', "-iwithprefixbefore sub", true),
            ('U', "-I../../../..", false),
            ('U', "-iquote /../..", false),
            ('U', "-iwithprefix ../x", false),
            ('U', "-isystem", false),
        ],
    ),
    (
        "sysroot",
        &[
            ('U', "--sysroot /opt/sdk", true),
            ('U', "--sysroot=sysroot", true),
            ('U', "-isysroot /opt/sdk", true),
            ('P', "--sysroot=/opt/poky/sysroots/armv7", false),
            ('P', "--sysroot=/", false),
            ('P', "-isysroot /", false),
            ('P', "--sysroot=sysroot", false),
            ('P', "-isysroot sdk", false),
            ('P', "--sysroot=/../..", false),
            ('P', "--sysroot=/var/tmp/distccd/job1", false),
            ('U', "--sysroot=../../../..", false),
            ('U', "--sysroot=/tmp/distccd_AbCdEf/usr", true),
        ],
    ),
    (
        "written files",
        &[
            ('P', "-aux-info /tmp/x", false),
            ('P', "-fdump-tree-all=/tmp/x", false),
            ('P', "-fdump-tree-all", false),
            ('P', "-fdump-ipa-all", false),
            ('P', "-save-temps", false),
            ('P', "-save-temps=obj", false),
            ('P', "-dumpdir /tmp/", false),
            ('P', "-dumpbase x", false),
            ('P', "-fstack-usage", false),
            ('P', "-fcallgraph-info", false),
            ('P', "-fcallgraph-info=su", false),
            ('P', "-fopt-info-vec=/tmp/x", false),
            ('P', "-fdiagnostics-format=json-file", false),
            ('P', "-fsave-optimization-record", false),
            ('P', "-gsplit-dwarf", false),
            ('P', "-ftime-trace", false),
            ('P', "-gen-cdb-fragment-path /tmp", false),
            ('P', "-dM", false),
            ('P', "-dD", false),
            ('P', "-fopt-info-vec-missed", true),
            ('P', "-fdiagnostics-format=json", true),
            ('P', "-frecord-gcc-switches", true),
            ('P', "-fdebug-prefix-map=/a=/b", true),
            ('P', "-dA", true),
        ],
    ),
    (
        "profiles and coverage",
        &[
            ('P', "-fprofile-generate=/tmp", false),
            ('P', "-fprofile-use=/x", false),
            ('P', "-fprofile-dir=/tmp", false),
            ('P', "-fprofile-update=atomic", false),
            ('P', "-fauto-profile=x", false),
            ('P', "-fsanitize-blacklist=/etc/passwd", false),
            ('P', "-fsanitize-ignorelist=x", false),
            ('P', "--coverage", false),
            ('P', "-fcoverage-mapping", false),
            ('P', "-fsanitize=address,undefined", true),
            ('P', "-fno-sanitize-recover=all", true),
        ],
    ),
    (
        "outputs and dependencies",
        &[
            ('P', "-o /tmp/x", false),
            ('P', "-MF /tmp/x", false),
            ('P', "-MFdep.d", false),
            ('U', "-MD -MF /tmp/x", true),
            ('U', "-MMD -MF dep.d -MP", true),
            ('P', "-MD -MT x -MQ y", true),
            ('P', "-MT", false),
            // gcc reads the argument after -MT as the target name, not as an option (gcc 12:
            // `-MT -B/x` writes the rule `-B/x: v.c`), so it is a make target, not a -B.
            ('P', "-MD -MT -B/x", true),
            ('P', "-MD -MT -MT -B/x", false),
        ],
    ),
    (
        "language",
        &[
            ('P', "-x assembler", false),
            ('P', "-x assembler-with-cpp", false),
            ('P', "-x cuda", false),
            ('P', "-x go", false),
            ('P', "-x c++", true),
            ('P', "-x c", true),
        ],
    ),
    (
        "modules",
        &[
            ('P', "-fmodules-ts", false),
            ('P', "-fmodule-mapper=|sh", false),
            ('P', "-fmodulo-sched", true),
        ],
    ),
    (
        "generic families",
        &[
            ('P', "-O2 -Ofast -Og -O", true),
            ('P', "-g3 -ggdb -gdwarf-4 -gz=zlib", true),
            (
                'P',
                "-Wall -Wextra -Wno-unused -Werror=format-security -Wformat=2",
                true,
            ),
            ('P', "-fPIC -fno-rtti -fno-omit-frame-pointer", true),
            (
                'P',
                "-march=armv8-a -mcpu=cortex-a72 -mrecip=all,!sqrt",
                true,
            ),
            ('P', "-std=c++17 -pedantic -ansi -w", true),
            (
                'P',
                "--param max-inline-insns-single=400 --param=ssp-buffer-size=4",
                true,
            ),
            ('P', "-DA=/usr/share -UX -D B", true),
            ('P', "-lm -L/usr/lib -pthread -static", true),
            ('P', "-mcpu=native", false),
            ('P', "-mtune=native", false),
            ('P', "-mdevices-csv-loc=/etc/x", false),
            ('P', "-fno-such=thing", false),
            ('P', "-f", false),
            ('P', "-Wx,y", false),
            ('P', "--param x=/tmp", false),
            ('P', "--version", false),
            ('P', "-zdefs", false),
            ('P', "-time", false),
            ('P', "-T script.ld", false),
            ('P', "-", false),
            ('P', "-O2\0", false),
            ('P', "extra.c.txt", false),
            ('P', "y.o", false),
        ],
    ),
];

#[test]
fn option_families() {
    for (family, cases) in FAMILIES {
        let (mut yes, mut no) = (0, 0);
        for (mode, extra, want) in *cases {
            let mut argv = args("gcc -c x.c -o x.o");
            argv.extend(if extra.contains('\0') {
                vec![extra.to_string()]
            } else {
                args(extra)
            });
            let mode = if *mode == 'P' {
                Mode::Plain
            } else {
                pump_mode()
            };
            let policy = Policy { ..Policy::STRICT };
            let got = vet(&argv, &mode, &policy);
            assert_eq!(
                got.is_ok(),
                *want,
                "{family}: {extra:?} ({mode:?}): {got:?}"
            );
            if *want { yes += 1 } else { no += 1 }
        }
        assert!(no > 0 && yes > 0, "{family} needs examples both ways");
    }
}

#[test]
fn refusal_messages_name_the_option() {
    assert_eq!(
        refused(plain("gcc -c x.c -wrapper /bin/sh,-c,id")),
        "distccd refuses '-wrapper': makes the compiler run a program chosen by the client"
    );
    assert_eq!(
        refused(plain("gcc -c x.c -B /tmp")),
        "distccd refuses '-B /tmp': makes the compiler run a program chosen by the client"
    );
    assert_eq!(
        refused(plain("gcc -c x.c @/etc/passwd")),
        "distccd refuses '@/etc/passwd': response file: reads a file on the server"
    );
    assert_eq!(
        refused(pump("gcc -c x.c -I../../../..")),
        "distccd refuses '-I../../../..': path leaves the job's directory"
    );
    assert_eq!(
        refused(plain("gcc -c x.c -frobnicate=1")),
        "distccd refuses '-frobnicate=1': value not allowed (paths and unusual characters are refused)"
    );
    assert_eq!(
        refused(plain("gcc -c x.c -zdefs")),
        "distccd refuses '-zdefs': not on distccd's list of options known to be safe"
    );
    assert_eq!(
        refused(plain("gcc -c x.c y.o")),
        "distccd refuses 'y.o': an object file operand is a link input for gcc, not the output"
    );
    let mut argv = args("gcc -c x.c");
    argv.push("-z\nx".to_string());
    assert_eq!(
        refused(vet(&argv, &Mode::Plain, &Policy::STRICT)),
        "distccd refuses '-z\\nx': not on distccd's list of options known to be safe"
    );
}

#[test]
fn compiler_names() {
    for (argv0, want) in [
        ("gcc", Some("gcc")),
        ("/usr/bin/gcc", Some("gcc")),
        ("/bin/cc", Some("cc")),
        ("x86_64-linux-gnu-gcc-12", Some("x86_64-linux-gnu-gcc-12")),
        ("/bin/sh", None),
        ("sh", None),
        ("/usr/local/bin/gcc", None),
        ("../gcc", None),
        ("-c", None),
    ] {
        let mut argv = args("gcc -c x.c");
        argv[0] = argv0.to_string();
        let got = vet(&argv, &Mode::Plain, &Policy::STRICT);
        assert_eq!(
            got.as_ref().ok().map(|v| v.compiler.as_str()),
            want,
            "{argv0}: {got:?}"
        );
    }
    // With DISTCC_CMDLIST / --enable-tcp-insecure the daemon resolves paths itself.
    let policy = Policy {
        allow_compiler_path: true,
        ..Policy::STRICT
    };
    let argv = args("/opt/cross/bin/arm-linux-gnueabihf-gcc -c x.c");
    assert_eq!(
        vet(&argv, &Mode::Plain, &policy).unwrap().compiler,
        "/opt/cross/bin/arm-linux-gnueabihf-gcc"
    );
    assert!(vet(&args("/tmp/sh -c x.c"), &Mode::Plain, &policy).is_err());
}

#[test]
fn pump_input_must_stay_in_the_root() {
    assert!(pump("gcc -c ../../../../x.c").is_err());
    assert!(pump("gcc -c /../x.c").is_err());
    assert!(pump("gcc -c ../../../x.c").is_ok());
    let bad_cwd = Mode::Pump {
        cwd: PathBuf::from("/src/../../x"),
    };
    assert!(vet(&args("gcc -c x.c"), &bad_cwd, &Policy::STRICT).is_err());
}

/// Real command lines, as the server receives them.
#[test]
fn workload_flags_pass() {
    let makepkg = "-march=x86-64 -mtune=generic -O2 -pipe -fno-plt -fexceptions -Wformat \
                   -Werror=format-security -fstack-clash-protection -fcf-protection \
                   -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -g \
                   -ffile-prefix-map=/build/src=/usr/src/debug/pkg -flto=auto";
    let plain_cmds = [
        // lua, zstd, sqlite: raw, and as a plain-mode client sends them (-D/-I stripped).
        "gcc -O2 -Wall -DLUA_COMPAT_5_3 -DLUA_USE_LINUX -c lapi.c -o lapi.o".to_string(),
        "gcc -O2 -Wall -c lapi.c -o lapi.o".to_string(),
        "cc -O3 -DZSTD_DISABLE_ASM -DXXH_NAMESPACE=ZSTD_ -I. -Icommon -c common/xxhash.c -o obj/xxhash.o".to_string(),
        "cc -O3 -c common/xxhash.c -o obj/xxhash.o".to_string(),
        "gcc -O2 -DSQLITE_THREADSAFE=1 -c sqlite3.c -o sqlite3.o".to_string(),
        // makepkg CFLAGS after the client's stripping (-Wp,-D_FORTIFY_SOURCE=3 is gone).
        format!("x86_64-linux-gnu-gcc {makepkg} -c src/a.c -o build/a.o"),
        "aarch64-linux-gnu-gcc -mcpu=cortex-a72 -O2 -g -c a.c -o a.o".to_string(),
        "aarch64-linux-gnu-gcc-12 -march=armv8-a -O2 -fPIC -c a.c -o a.o".to_string(),
        "g++ -std=c++17 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -fno-rtti -fexceptions -O2 -c a.cpp -o a.o".to_string(),
        "clang --target=aarch64-linux-gnu -fcolor-diagnostics -Qunused-arguments -O2 -c x.c -o x.o".to_string(),
        "/usr/bin/c++ -O2 -g -std=gnu++17 -fPIC -fdiagnostics-color=always -o CMakeFiles/x.dir/a.cpp.o -c /src/proj/a.cpp".to_string(),
    ];
    for cmd in &plain_cmds {
        plain(cmd).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
    let pump_cmds = [
        "gcc -O2 -Wall -DLUA_COMPAT_5_3 -DLUA_USE_LINUX -MD -c lapi.c -o lapi.o -MT lapi.o".to_string(),
        "cc -O3 -DZSTD_DISABLE_ASM -DXXH_NAMESPACE=ZSTD_ -I. -Icommon -c common/xxhash.c -o obj/xxhash.o".to_string(),
        format!("gcc {makepkg} -D_FORTIFY_SOURCE=3 -c a.c -o a.o"),
        "/usr/bin/c++ -DFOO -I/src/proj/include -isystem /usr/include/qt -O2 -g -std=gnu++17 -fPIC \
         -MD -MT CMakeFiles/x.dir/a.cpp.o -MF CMakeFiles/x.dir/a.cpp.o.d -o CMakeFiles/x.dir/a.cpp.o \
         -c /src/proj/a.cpp".to_string(),
        "gcc -nostdinc -isystem /usr/lib/gcc/x86_64-linux-gnu/12/include -I./arch/x86/include \
         -include ./include/linux/kconfig.h -D__KERNEL__ -fmacro-prefix-map=./= -Wall -mno-sse \
         -mcmodel=kernel -mindirect-branch=thunk-extern -fno-asynchronous-unwind-tables -pg \
         -mrecord-mcount -fpatchable-function-entry=16,16 -c -o kernel/fork.o kernel/fork.c".to_string(),
    ];
    for cmd in &pump_cmds {
        pump(cmd).unwrap_or_else(|e| panic!("pump {cmd}: {e}"));
    }
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "gcc",
            "-c",
            "-S",
            "-E",
            "-o",
            "-x",
            "c",
            "x.c",
            "y.o",
            "-MF",
            "-MT",
            "-MD",
            "-I",
            "/",
            "..",
            "-include",
            "-specs",
            "-specs=x",
            "-Wa,",
            "-Wa,-a",
            "-B",
            "@f",
            "-",
            "",
            "-o-",
            "--sysroot",
            "-iwithprefix",
            "-D",
            "-fplugin=",
            "-O2",
            "-M",
            "-Wp,",
            "a.c",
        ])
        .prop_map(String::from),
        "[-a-zA-Z0-9=,./@]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn vet_never_panics(argv in prop::collection::vec(token(), 0..12), pump_mode_on in any::<bool>()) {
        let mode = if pump_mode_on { pump_mode() } else { Mode::Plain };
        let yes = |_: &Path| true;
        let policy = Policy { sysroot: Some(Path::new("/s")), spec_exists: &yes, ..Policy::STRICT };
        if let Ok(v) = vet(&argv, &mode, &policy) {
            let run = rewrite_plain(&argv, &v, Path::new("/j/i"), Path::new("/j/o"));
            prop_assert!(run.contains(&"/j/i".to_string()));
            prop_assert!(run.iter().any(|a| a.ends_with("/j/o")));
            let p = rewrite_pump(&argv, &v, Path::new(ROOT), Path::new("/j/o"), Path::new("/j/d"));
            prop_assert_eq!(p.argv.last().map(String::as_str), Some("/j/d"));
        }
    }

    #[test]
    fn cleanup_dotd_never_panics(d in any::<String>(), o in any::<String>(), t in any::<String>(), r in any::<String>()) {
        let _ = cleanup_dotd(&d, &o, &t, &r);
    }
}
