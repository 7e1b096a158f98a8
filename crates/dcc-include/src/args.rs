//! What of a compile command line matters to the include scanner.
//!
//! Three groups of options: those that change the search path or the target (they go to the
//! compiler probe, and are part of its cache key), the `-include`/`-imacros` files, and the
//! `-D` definitions (for computed includes). Options that take a separate argument are known so
//! that the argument is not mistaken for the source. Options that change what the
//! preprocessor reads in ways the scanner does not model make it give up.

use std::path::{Path, PathBuf};

use crate::outcome::Reason;

/// The language the preprocessor runs for (`-x` spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// `-x c`.
    C,
    /// `-x c++`.
    Cxx,
    /// `-x assembler-with-cpp` (`.S`, `.sx`).
    Asm,
}

impl Lang {
    /// The `-x` argument.
    pub fn as_x(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Cxx => "c++",
            Lang::Asm => "assembler-with-cpp",
        }
    }

    fn from_x(x: &str) -> Option<Self> {
        match x {
            "c" | "c-header" => Some(Lang::C),
            "c++" | "c++-header" => Some(Lang::Cxx),
            "assembler-with-cpp" => Some(Lang::Asm),
            _ => None,
        }
    }

    fn from_ext(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "c" => Some(Lang::C),
            "cc" | "cp" | "cxx" | "cpp" | "CPP" | "c++" | "C" => Some(Lang::Cxx),
            "S" | "sx" => Some(Lang::Asm),
            _ => None,
        }
    }
}

/// The scanner's view of one compile command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitArgs {
    /// The language the source is preprocessed as.
    pub lang: Lang,
    /// The source, absolute (joined to the cwd).
    pub source: PathBuf,
    /// Options that change the search path or the target, in order, relative directories
    /// made absolute. The probe runs the compiler with exactly these.
    pub probe_flags: Vec<String>,
    /// `-imacros` then `-include` files, as written (gcc reads all `-imacros` first).
    pub forced: Vec<String>,
    /// `-D` definitions as `NAME` and replacement text (`1` when none was given).
    pub defines: Vec<(String, Option<Vec<String>>, String)>,
}

/// Options with a separate argument that do not matter to the scanner.
const SKIP_WITH_ARG: &[&str] = &[
    "-o",
    "-MF",
    "-MT",
    "-MQ",
    "-Xlinker",
    "-Xassembler",
    "-L",
    "-l",
    "-u",
    "-T",
    "-aux-info",
    "--param",
    "-dumpbase",
    "-dumpbase-ext",
    "-dumpdir",
    "-z",
    "-e",
];

/// Directory options whose argument goes to the probe (absolute) and may be joined or separate.
const DIR_OPTS: &[&str] = &[
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-iwithprefixbefore",
    "-iwithprefix",
    "-isysroot",
    "-imultilib",
    "-imultiarch",
    "--sysroot",
    "-I",
    "-B",
];

/// Flags that change the target or the standard and so the search path or the predefined
/// macros; matched by prefix.
const TARGET_PREFIXES: &[&str] = &[
    "-m",
    "--target=",
    "-std=",
    "--std=",
    "-ansi",
    "-nostdinc",
    "-specs=",
    "-stdlib=",
    "--gcc-toolchain=",
    "-no-canonical-prefixes",
    "-undef",
    "-pthread",
    // -O and -f change predefined macros (__OPTIMIZE__, __PIC__, ...), which a computed
    // include might expand.
    "-O",
    "-f",
];

/// Options that make the scanner's model wrong.
const UNSUPPORTED: &[&str] = &[
    "-Wp,",
    "-Xpreprocessor",
    "-I-",
    "-traditional-cpp",
    "-traditional",
    "-fpreprocessed",
    "-fworking-directory",
    "-iplugindir",
    "-fplugin",
    // clang: options passed to cc1 unseen, and precompiled headers.
    "-Xclang",
    "-include-pch",
    // C++ modules: `import <header>;` reads files outside any directive.
    "-fmodules-ts",
    "-fmodules",
    "-fmodule-header",
];

fn absolute(cwd: &Path, dir: &str) -> String {
    // `=dir` and `$SYSROOT/dir` are relative to the sysroot: gcc resolves them.
    if dir.starts_with('/') || dir.starts_with('=') || dir.starts_with("$SYSROOT") {
        dir.to_owned()
    } else {
        cwd.join(dir).to_string_lossy().into_owned()
    }
}

/// Parse a compile argv (`argv[0]` is the compiler).
pub fn parse(argv: &[String], cwd: &Path) -> Result<UnitArgs, Reason> {
    let mut probe = Vec::new();
    let mut imacros = Vec::new();
    let mut include = Vec::new();
    let mut defines = Vec::new();
    let mut sources: Vec<(String, Option<Lang>)> = Vec::new();
    let mut x_lang: Option<Option<Lang>> = None;
    let mut i = 1;
    let next = |i: &mut usize, opt: &str| -> Result<String, Reason> {
        *i += 1;
        argv.get(*i)
            .cloned()
            .ok_or_else(|| Reason::UnsupportedOption(format!("{opt} without an argument")))
    };
    while i < argv.len() {
        let a = argv[i].as_str();
        if let Some(bad) = UNSUPPORTED.iter().find(|u| {
            a == **u
                || (u.ends_with(',') && a.starts_with(**u))
                || ((**u == "-fplugin" || u.starts_with("-fmodule")) && a.starts_with(**u))
        }) {
            return Err(Reason::UnsupportedOption((*bad).to_owned()));
        }
        if a.starts_with('@') {
            return Err(Reason::UnsupportedOption(a.to_owned()));
        }
        if !a.starts_with('-') || a == "-" {
            let lang = match x_lang {
                Some(l) => l,
                None => Lang::from_ext(a),
            };
            if x_lang.is_some() || lang.is_some() || !a.ends_with(".o") {
                sources.push((a.to_owned(), lang));
            }
        } else if a == "-x" {
            let x = next(&mut i, a)?;
            x_lang = if x == "none" {
                None
            } else {
                Some(Lang::from_x(&x))
            };
        } else if let Some(x) = a.strip_prefix("-x") {
            x_lang = if x == "none" {
                None
            } else {
                Some(Lang::from_x(x))
            };
        } else if a == "-include" || a == "-imacros" || a == "--include" {
            let f = next(&mut i, a)?;
            if a == "-imacros" {
                imacros.push(f)
            } else {
                include.push(f)
            }
        } else if let Some(f) = a
            .strip_prefix("--include=")
            .or_else(|| a.strip_prefix("-include"))
        {
            include.push(f.to_owned());
        } else if let Some(f) = a.strip_prefix("-imacros") {
            imacros.push(f.to_owned());
        } else if a == "-D" || a.starts_with("-D") {
            let d = if a == "-D" {
                next(&mut i, a)?
            } else {
                a[2..].to_owned()
            };
            defines.push(command_line_define(&d));
        } else if a == "-U" {
            i += 1;
        } else if let Some(opt) = DIR_OPTS.iter().find(|o| a.starts_with(**o)) {
            // Only --sysroot takes `=`; elsewhere a leading `=` means "in the sysroot".
            let joined = if *opt == "--sysroot" {
                a[opt.len()..].strip_prefix('=').unwrap_or(&a[opt.len()..])
            } else {
                &a[opt.len()..]
            };
            let dir = if joined.is_empty() {
                next(&mut i, a)?
            } else {
                joined.to_owned()
            };
            let dir = if matches!(
                *opt,
                "-iprefix" | "-iwithprefix" | "-iwithprefixbefore" | "-imultilib" | "-imultiarch"
            ) {
                dir
            } else {
                absolute(cwd, &dir)
            };
            if *opt == "--sysroot" {
                probe.push(format!("--sysroot={dir}"));
            } else {
                probe.push((*opt).to_owned());
                probe.push(dir);
            }
        } else if a == "-target" || a == "--target" {
            let t = next(&mut i, a)?;
            probe.push(a.to_owned());
            probe.push(t);
        } else if SKIP_WITH_ARG.contains(&a) {
            i += 1;
        } else if a.starts_with("-i") {
            return Err(Reason::UnsupportedOption(a.to_owned()));
        } else if TARGET_PREFIXES.iter().any(|p| a.starts_with(p)) {
            probe.push(a.to_owned());
        }
        i += 1;
    }
    let (source, lang) = match sources.as_slice() {
        [(s, Some(l))] => (s, *l),
        [(s, None)] => return Err(Reason::Input(format!("{s}: not C, C++ or .S"))),
        [] => return Err(Reason::Input("no source".to_owned())),
        _ => return Err(Reason::Input("more than one source".to_owned())),
    };
    let mut forced = imacros;
    forced.extend(include);
    Ok(UnitArgs {
        lang,
        source: cwd.join(source),
        probe_flags: probe,
        forced,
        defines,
    })
}

/// `-DNAME`, `-DNAME=VALUE`, `-DNAME(ARGS)=VALUE`.
fn command_line_define(d: &str) -> (String, Option<Vec<String>>, String) {
    let (head, body) = d.split_once('=').unwrap_or((d, "1"));
    match head.split_once('(') {
        Some((name, params)) => {
            let params = params
                .trim_end_matches(')')
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            (name.to_owned(), Some(params), body.to_owned())
        }
        None => (head.to_owned(), None, body.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn search_and_target_flags_go_to_the_probe_relative_dirs_absolute() {
        let a = parse(
            &argv("gcc -c -O2 -Iinc -I /abs -isystem sys -iquote q -idirafter=after -m32 -std=c99 -DX=\"a.h\" -DY -o x.o -MF x.d src/x.c -g -Wall"),
            Path::new("/w"),
        )
        .expect("parse");
        assert_eq!(a.lang, Lang::C);
        assert_eq!(a.source, PathBuf::from("/w/src/x.c"));
        assert_eq!(
            a.probe_flags,
            argv(
                "-O2 -I /w/inc -I /abs -isystem /w/sys -iquote /w/q -idirafter =after -m32 -std=c99"
            )
        );
        assert_eq!(
            a.defines,
            vec![
                ("X".into(), None, "\"a.h\"".into()),
                ("Y".into(), None, "1".into())
            ]
        );
    }

    #[test]
    fn forced_includes_imacros_first() {
        let a = parse(
            &argv("g++ -c -include a.h -imacros m.h -includeb.h x.cc"),
            Path::new("/w"),
        )
        .expect("parse");
        assert_eq!(a.lang, Lang::Cxx);
        assert_eq!(a.forced, argv("m.h a.h b.h"));
    }

    #[test]
    fn x_overrides_the_extension() {
        let a = parse(&argv("gcc -c -x c++ x.c"), Path::new("/w")).expect("parse");
        assert_eq!(a.lang, Lang::Cxx);
        assert_eq!(a.probe_flags, Vec::<String>::new());
    }

    #[test]
    fn what_the_model_does_not_cover_gives_up() {
        for bad in [
            "gcc -c -Wp,-MD,x.d x.c",
            "gcc -c -I- x.c",
            "gcc -c -traditional-cpp x.c",
            "g++ -c -fmodules-ts x.cc",
            "clang -c -Xclang -foo x.c",
            "clang -c -include-pch x.pch x.c",
            "gcc -c -fplugin=x.so x.c",
            "gcc -c @opts x.c",
            "gcc -c -iunknown x x.c",
            "gcc -c x.c y.c",
            "gcc -c x.f90",
            "gcc -c",
        ] {
            assert!(parse(&argv(bad), Path::new("/w")).is_err(), "{bad}");
        }
    }
}
