//! `-Wp,` expansion (distcc src/arg.c `dcc_expand_preprocessor_options`, reference §3.5).
//!
//! distcc rewrites every `-Wp,a,b,c` into the separate options `a b c` before scanning, so that
//! only one place needs to know the `-Wp,` syntax. cpp's `-MD FILE` and `-MMD FILE` take a file
//! argument where gcc's `-MD` does not, so `-Wp,-MD,FILE` becomes `-MD -MF FILE`.

/// The warning distcc logs for `-Wp,-MD` / `-Wp,-MMD` without a file name.
pub const WP_MISSING_FILENAME: &str = "'-Wp,-MD' or '-Wp,-MMD' option is missing filename argument";

/// Expand every `-Wp,` option into plain options. See [`expand_preprocessor_options_with`] to
/// receive the warning distcc logs.
pub fn expand_preprocessor_options(argv: &[String]) -> Vec<String> {
    expand_preprocessor_options_with(argv, |_| {})
}

/// Expand every `-Wp,` option into plain options, calling `warn` with each warning distcc
/// would log ([`WP_MISSING_FILENAME`]).
///
/// Each comma-separated piece becomes one argument, empty pieces included (`-Wp,a,,b` gives
/// `a`, ``, `b`), exactly as distcc does.
pub fn expand_preprocessor_options_with(
    argv: &[String],
    mut warn: impl FnMut(&str),
) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    for a in argv {
        let Some(list) = a.strip_prefix("-Wp,") else {
            out.push(a.clone());
            continue;
        };
        let mut pieces = list.split(',');
        while let Some(opt) = pieces.next() {
            out.push(opt.to_string());
            if opt == "-MD" || opt == "-MMD" {
                let Some(file) = pieces.next() else {
                    warn(WP_MISSING_FILENAME);
                    break;
                };
                out.push("-MF".to_string());
                out.push(file.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn splits_pieces() {
        assert_eq!(
            expand_preprocessor_options(&v("gcc -Wp,-DA,-UB -c x.c")),
            v("gcc -DA -UB -c x.c")
        );
    }

    #[test]
    fn md_takes_a_file() {
        assert_eq!(
            expand_preprocessor_options(&v("gcc -Wp,-MD,.deps/x.pp -c x.c")),
            v("gcc -MD -MF .deps/x.pp -c x.c")
        );
        assert_eq!(
            expand_preprocessor_options(&v("gcc -Wp,-MMD,d.d,-DX -c x.c")),
            v("gcc -MMD -MF d.d -DX -c x.c")
        );
        // The file name is taken even if it looks like an option.
        assert_eq!(
            expand_preprocessor_options(&v("gcc -Wp,-MD,-DX")),
            v("gcc -MD -MF -DX")
        );
    }

    #[test]
    fn missing_file_warns_and_keeps_the_option() {
        let mut warnings = Vec::new();
        let out = expand_preprocessor_options_with(&v("gcc -Wp,-MD -c x.c"), |w| {
            warnings.push(w.to_string())
        });
        assert_eq!(out, v("gcc -MD -c x.c"));
        assert_eq!(warnings, vec![WP_MISSING_FILENAME.to_string()]);
    }

    #[test]
    fn empty_pieces_are_kept() {
        let argv = vec![
            "gcc".to_string(),
            "-Wp,".to_string(),
            "-Wp,a,,b".to_string(),
        ];
        let out = expand_preprocessor_options(&argv);
        assert_eq!(out, ["gcc", "", "a", "", "b"]);
        // -Wp,-MD, has an empty file name.
        let out = expand_preprocessor_options(&["-Wp,-MD,".to_string()]);
        assert_eq!(out, ["-MD", "-MF", ""]);
    }

    #[test]
    fn other_w_options_untouched() {
        let argv = v("gcc -Wpedantic -Wa,-a -Wl,-x -Wp -c x.c");
        assert_eq!(expand_preprocessor_options(&argv), argv);
    }
}
