//! The two argvs derived from a scanned command in plain mode (reference §3.3): the local
//! preprocessor command, and the compile command sent to the server.

/// Options removed together with the argument that follows them (distcc src/strip.c).
const STRIP_WITH_ARG: [&str; 16] = [
    "-D",
    "-I",
    "-U",
    "-L",
    "-l",
    "-MF",
    "-MT",
    "-MQ",
    "-include",
    "-imacros",
    "-iprefix",
    "-iwithprefix",
    "-isystem",
    "-iwithprefixbefore",
    "-idirafter",
    // distcc HEAD (6dc7e3e); 3.4 sent it, and clang then warned about an unused argument.
    "-Xpreprocessor",
];

/// Options removed when an argument starts with them (joined forms such as `-DX=1`).
const STRIP_PREFIX: [&str; 12] = [
    "-Wp,", "-Wl,", "-D", "-U", "-I", "-l", "-L", "-MF", "-MT", "-MQ", "-isystem", "-stdlib",
];

/// Options that only matter to the preprocessor, removed when exactly equal.
const STRIP_EXACT: [&str; 7] = [
    "-undef",
    "-nostdinc",
    "-nostdinc++",
    "-MD",
    "-MMD",
    "-MG",
    "-MP",
];

/// The argv the server receives in plain mode (distcc src/strip.c `dcc_strip_local_args`):
/// the scanned argv without preprocessor and linker options, which have done their work in
/// the local cpp run. Everything else keeps its order, including the input and output names.
///
/// The list is distcc's, so its oddities stay: `-isystem` is removed but `-iquote` is not
/// (harmless: the server compiles preprocessed source).
pub fn strip_local_args(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.iter();
    while let Some(a) = args.next() {
        let a_str = a.as_str();
        if STRIP_WITH_ARG.contains(&a_str) {
            // A trailing option without its argument is simply dropped.
            args.next();
        } else if STRIP_PREFIX.iter().any(|p| a_str.starts_with(p)) || STRIP_EXACT.contains(&a_str)
        {
            // dropped
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// The local preprocessor command (distcc src/cpp.c `dcc_cpp_maybe`): the *unstripped*
/// scanned argv with every `-o X` / `-oX` removed (cpp writes to stdout, which the caller
/// sends to a temporary file) and every `-c` / `-S` replaced by `-E`.
///
/// With `-MD`/`-MMD` this writes the `.d` file where `gcc -E` without `-o` puts it, which is
/// not where the compile would; [`super::fix_dependency_args`] builds the corrected command.
pub fn cpp_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" => {
                args.next();
            }
            s if s.starts_with("-o") => {}
            "-c" | "-S" => out.push("-E".to_string()),
            _ => out.push(a.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn strip(s: &str) -> String {
        strip_local_args(&v(s)).join(" ")
    }

    // test/testdistcc.py StripArgs_Case
    #[test]
    fn strip_args_case() {
        assert_eq!(strip("cc -c hello.c"), "cc -c hello.c");
        assert_eq!(strip("cc -Dhello hello.c -c"), "cc hello.c -c");
        assert_eq!(strip("gcc -O3 -Dhello hello.c -c"), "gcc -O3 hello.c -c");
        assert_eq!(strip("cc -c hello.c -D -D"), "cc -c hello.c");
        assert_eq!(strip("cc -c hello.c -D -D -D"), "cc -c hello.c");
        assert_eq!(strip("cc -c hello.c -I ../include"), "cc -c hello.c");
        assert_eq!(strip("cc -c -I ../include hello.c"), "cc -c hello.c");
        assert_eq!(
            strip("cc -c -I. -I.. -I../include -I/home/mbp/garnome/include -c -o foo.o foo.c"),
            "cc -c -c -o foo.o foo.c"
        );
        assert_eq!(
            strip("cc -c -DDEBUG -DFOO=23 -D BAR -c -o foo.o foo.c"),
            "cc -c -c -o foo.o foo.c"
        );
        assert_eq!(strip("cc -c hello.c -D"), "cc -c hello.c");
        let keep =
            "gcc -g -O2 -W -Wall -Wshadow -Wpointer-arith -Wcast-align -c -o h_strip.o h_strip.c";
        assert_eq!(strip(keep), keep);
        // The Mozilla line from StripArgs_Case (as the shell passes it to h_strip).
        let moz = "cc -o nsinstall.o -c -DOSTYPE=Linux2.4 -DOSARCH=Linux -DOJI \
            -D_BSD_SOURCE -I../dist/include -I../dist/include \
            -I/home/mbp/work/mozilla/mozilla-1.1/dist/include/nspr -I/usr/X11R6/include \
            -fPIC -I/usr/X11R6/include -Wall -W -Wno-unused -Wpointer-arith -Wcast-align \
            -pedantic -Wno-long-long -pthread -pipe -DDEBUG -D_DEBUG -DDEBUG_mbp -DTRACING \
            -g -I/usr/X11R6/include -include ../config-defs.h -DMOZILLA_CLIENT \
            -Wp,-MD,.deps/nsinstall.pp nsinstall.c";
        assert_eq!(
            strip(moz),
            "cc -o nsinstall.o -c -fPIC -Wall -W -Wno-unused -Wpointer-arith -Wcast-align \
             -pedantic -Wno-long-long -pthread -pipe -g nsinstall.c"
        );
    }

    // Reference §3.3 [measured]: what Debian's distcc 3.4 sent (after -Wp, expansion and the
    // compiler-name rewrite, which are not part of this function).
    #[test]
    fn measured_long_line() {
        let argv = v(
            "x86_64-linux-gnu-gcc -MD -MF dep.d -MT tgt -DFOO=1 -I/usr/include \
             -include stdio.h -MMD -MF wp.d -O2 -g -c x.c -o x.o",
        );
        assert_eq!(
            strip_local_args(&argv).join(" "),
            "x86_64-linux-gnu-gcc -O2 -g -c x.c -o x.o"
        );
        assert_eq!(
            cpp_argv(&argv).join(" "),
            "x86_64-linux-gnu-gcc -MD -MF dep.d -MT tgt -DFOO=1 -I/usr/include -include stdio.h \
             -MMD -MF wp.d -O2 -g -E x.c"
        );
    }

    #[test]
    fn strip_other_options() {
        assert_eq!(
            strip("gcc -undef -nostdinc -nostdinc++ -MD -MMD -MG -MP -MFa -MTb -MQc -c x.c -o x.o"),
            "gcc -c x.c -o x.o"
        );
        assert_eq!(
            strip(
                "gcc -isystem /a -isystem/b -idirafter /c -iprefix p -iwithprefix q \
                   -iwithprefixbefore r -imacros m.h -Xpreprocessor -DX -c x.c"
            ),
            "gcc -c x.c"
        );
        assert_eq!(
            strip("gcc -Wl,-rpath,/x -lm -L/lib -l m -L /l -stdlib=libc++ -c x.c"),
            "gcc -c x.c"
        );
        // Not stripped: -iquote, -Wa, and options merely containing a stripped prefix later.
        assert_eq!(
            strip("gcc -iquote q -Wa,-x -O2 -c x.c"),
            "gcc -iquote q -Wa,-x -O2 -c x.c"
        );
        // A trailing option that takes an argument has nothing to take.
        assert_eq!(strip("gcc -c x.c -include"), "gcc -c x.c");
    }

    #[test]
    fn cpp_command() {
        assert_eq!(cpp_argv(&v("gcc -c x.c -o x.o")).join(" "), "gcc -E x.c");
        assert_eq!(
            cpp_argv(&v("gcc -ox.o -S -c -c x.c")).join(" "),
            "gcc -E -E -E x.c"
        );
        assert_eq!(cpp_argv(&v("gcc -c x.c -o")).join(" "), "gcc -E x.c");
        // Preprocessor options stay: cpp needs them.
        assert_eq!(
            cpp_argv(&v("gcc -DX -I. -MD -c x.c -o y.o")).join(" "),
            "gcc -DX -I. -MD -E x.c"
        );
    }
}
