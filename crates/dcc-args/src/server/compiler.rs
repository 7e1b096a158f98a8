//! argv[0]: which names a job may give as its compiler.
//!
//! Two checks, both before any option is looked at:
//! - [`compiler_name`]: distcc's rule (src/serve.c `dcc_check_compiler_whitelist`, §4.4): a
//!   leading `/bin/` or `/usr/bin/` is removed, compared case-insensitively (distcc #279,
//!   QtCreator sends absolute paths); any other `/` is refused. The daemon then looks the bare
//!   name up in its whitelist directory.
//! - [`is_compiler_driver`]: ours. The allow-list speaks the gcc/clang driver's option
//!   language; for any other program (`sh -c …`, `ccache …`, `nvcc`) the same words mean
//!   something else, so only names shaped like a gcc or clang driver pass, whatever the
//!   whitelist holds. This also covers daemons started with `--enable-tcp-insecure` or
//!   `DISTCC_CMDLIST`, where the whitelist is skipped.

use super::{Refusal, shown};

/// The compiler name the daemon checks against its whitelist: `argv0` without a leading
/// `/bin/` or `/usr/bin/` (case-insensitive, first match only). Any other path is refused.
pub fn compiler_name(argv0: &str) -> Result<&str, Refusal> {
    let refuse = |reason| {
        Err(Refusal::Compiler {
            name: shown(argv0),
            reason,
        })
    };
    let mut name = argv0;
    for prefix in ["/bin/", "/usr/bin/"] {
        if let Some(head) = argv0.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            name = &argv0[prefix.len()..];
            break;
        }
    }
    if name.contains('/') {
        return refuse("a compiler must be a bare name (only /bin/ and /usr/bin/ are removed)");
    }
    if name.is_empty() || name == "." || name == ".." {
        return refuse("empty compiler name");
    }
    if name.starts_with('-') {
        return refuse("an option is not a compiler name");
    }
    Ok(name)
}

/// Driver names the allow-list is written for, longest first (so that `clang++` is found
/// before `g++`, `c89-gcc` before `gcc`). A name passes if, after [`driver_base`], it is one of
/// these or ends with `-` and one of these (a target triple: `x86_64-linux-gnu-gcc`).
pub const DRIVERS: [&str; 10] = [
    "c89-gcc", "c99-gcc", "clang++", "clang", "gcc", "g++", "c++", "c89", "c99", "cc",
];

/// `name` without a MinGW thread-model suffix (`-posix`, `-win32`) and then a numeric
/// version suffix (`-12`, `-15.0.7`).
pub fn driver_base(name: &str) -> &str {
    let mut base = name;
    for suffix in ["-posix", "-win32"] {
        base = base.strip_suffix(suffix).unwrap_or(base);
    }
    if let Some(dash) = base.rfind('-') {
        let version = &base[dash + 1..];
        if version.starts_with(|c: char| c.is_ascii_digit())
            && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            base = &base[..dash];
        }
    }
    base
}

/// The target-triple prefix of a driver name after [`driver_base`] (`x86_64-linux-gnu` of
/// `x86_64-linux-gnu-gcc-12`), or `None` for a bare driver or a name that is no driver.
pub fn driver_triple(name: &str) -> Option<&str> {
    let base = driver_base(name);
    if DRIVERS.contains(&base) {
        return None;
    }
    DRIVERS.iter().find_map(|d| {
        base.strip_suffix(d)
            .and_then(|t| t.strip_suffix('-'))
            .filter(|t| !t.is_empty())
    })
}

/// Whether `name` (a bare name, see [`compiler_name`]) looks like a gcc or clang driver.
pub fn is_compiler_driver(name: &str) -> bool {
    let base = driver_base(name);
    if !base
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b))
    {
        return false;
    }
    DRIVERS.iter().any(|d| {
        base == *d
            || base
                .strip_suffix(d)
                .is_some_and(|triple| triple.len() > 1 && triple.ends_with('-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_and_usr_bin_are_stripped_case_insensitively() {
        assert_eq!(compiler_name("gcc").unwrap(), "gcc");
        assert_eq!(compiler_name("/usr/bin/gcc").unwrap(), "gcc");
        assert_eq!(compiler_name("/bin/cc").unwrap(), "cc");
        assert_eq!(compiler_name("/USR/BIN/g++").unwrap(), "g++");
        assert_eq!(compiler_name("/bin/sh").unwrap(), "sh");
    }

    #[test]
    fn other_paths_are_refused() {
        for bad in [
            "/usr/local/bin/gcc",
            "../gcc",
            "./gcc",
            "/usr/bin/../../tmp/gcc",
            "/usr/bin/",
            "",
            "-c",
            "/usr/bin//gcc",
        ] {
            assert!(compiler_name(bad).is_err(), "{bad:?}");
        }
        let e = compiler_name("/usr/local/bin/gcc").unwrap_err().to_string();
        assert_eq!(
            e,
            "distccd refuses compiler '/usr/local/bin/gcc': a compiler must be a bare name (only /bin/ and /usr/bin/ are removed)"
        );
    }

    #[test]
    fn driver_shapes() {
        for ok in [
            "cc",
            "c++",
            "gcc",
            "g++",
            "gcc-12",
            "g++-12",
            "c89-gcc",
            "c99-gcc",
            "x86_64-linux-gnu-gcc",
            "x86_64-linux-gnu-gcc-12",
            "x86_64-linux-gnu-g++-12",
            "aarch64-linux-gnu-gcc",
            "armv7a-unknown-linux-gnueabihf-gcc",
            "arm-none-eabi-gcc",
            "i686-w64-mingw32-g++-win32",
            "x86_64-w64-mingw32-gcc-10-posix",
            "clang",
            "clang++",
            "clang-15",
            "clang++-17",
            "aarch64-linux-gnu-clang",
        ] {
            assert!(is_compiler_driver(ok), "{ok}");
        }
        for bad in [
            "sh",
            "bash",
            "ccache",
            "distcc",
            "tcc",
            "nvcc",
            "cpp",
            "clang-cpp",
            "clang-cl",
            "cc1",
            "gcc-ar",
            "x86_64-linux-gnu-gcc-ar",
            "-gcc",
            "python3",
            "gcc;sh",
            "",
        ] {
            assert!(!is_compiler_driver(bad), "{bad}");
        }
    }
}
