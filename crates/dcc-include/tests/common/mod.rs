//! Helpers shared by the scanner's tests: what gcc itself reads, and preprocessing in a root
//! that holds only the manifest's shipped files.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dcc_include::{Kind, Manifest, Origin, Outcome, Scanner};

/// Words of a command line.
pub fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Scan and insist on a complete manifest.
pub fn complete(scanner: &Scanner, compiler: &str, argv: &[String], cwd: &Path) -> Manifest {
    match scanner.scan(Path::new(compiler), argv, cwd).outcome {
        Outcome::Complete(m) => m,
        Outcome::GiveUp(r) => panic!("scanner gave up on {argv:?}: {r}"),
    }
}

/// The files gcc reports reading (`-M`), as real paths.
pub fn gcc_deps(compiler: &str, flags: &[String], cwd: &Path) -> BTreeSet<PathBuf> {
    let out = Command::new(compiler)
        .args(flags)
        .arg("-M")
        .current_dir(cwd)
        .output()
        .expect("run gcc -M");
    assert!(
        out.status.success(),
        "gcc -M failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 deps");
    let joined = text.replace("\\\n", " ");
    let (_, deps) = joined.split_once(": ").expect("make rule");
    let mut set = BTreeSet::new();
    let mut cur = String::new();
    let mut chars = deps.chars().peekable();
    // Make syntax: `\ ` is a space inside a name.
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            ' ' | '\n' | '\t' => {
                if !cur.is_empty() {
                    set.insert(std::fs::canonicalize(cwd.join(&cur)).expect("dep exists"));
                    cur.clear();
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        set.insert(std::fs::canonicalize(cwd.join(&cur)).expect("dep exists"));
    }
    set
}

/// The manifest's regular files.
pub fn files(m: &Manifest) -> BTreeSet<PathBuf> {
    m.files().map(|(p, _)| p.to_path_buf()).collect()
}

fn under(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

/// Copy the manifest's shipped entries into `root` (files by content, symlinks recreated with
/// absolute targets moved under `root`, directories made). The compiler's own directories are
/// made too, empty: a search path can pass through one (`.../gcc-cross/T/12/../../../../T/include`).
pub fn materialise(m: &Manifest, root: &Path) {
    for (p, e) in &m.entries {
        if e.origin == Origin::System && e.kind != Kind::Dir {
            continue;
        }
        let dst = under(root, p);
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&dst).expect("mkdir"),
            Kind::File { .. } => {
                std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
                std::fs::copy(p, &dst).expect("copy");
            }
            Kind::Symlink { target } => {
                std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
                let t = if target.is_absolute() {
                    under(root, target)
                } else {
                    target.clone()
                };
                std::os::unix::fs::symlink(t, &dst).expect("symlink");
            }
        }
    }
}

/// Preprocessed text without line markers, with `root` taken out of every path, and white
/// space collapsed: gcc lays out tokens from a system header's macros over several lines (to
/// keep their locations, spaces included), and a pre-include named by `-include` is not a
/// system header, so the texts are compared without their white space.
fn clean(text: &[u8], root: Option<&Path>) -> String {
    let mut s = String::from_utf8_lossy(text).into_owned();
    if let Some(r) = root {
        s = s.replace(r.to_str().expect("utf-8 root"), "");
    }
    s.lines()
        .filter(|l| !l.starts_with("# "))
        .flat_map(str::split_whitespace)
        .collect::<String>()
}

/// Preprocess normally and in `root` holding only the manifest's shipped files, with the
/// search path remapped: the unit's own `-I`-style options as written (absolute ones moved
/// under `root`), then `-nostdinc` and the compiler's system directories as `-isystem`, under
/// `root` unless they belong to the compiler. The texts must be equal once line markers and
/// the root prefix are gone. `flags` are the unit's options (without `-c`, `-o` and the
/// source); `src` the source as written relative to `cwd`.
pub fn same_in_root(compiler: &str, m: &Manifest, flags: &[String], src: &str, cwd: &Path) {
    let root = tempfile::tempdir().expect("tmp");
    materialise(m, root.path());
    let is_search = |f: &str| {
        ["-I", "-iquote", "-isystem", "-idirafter"]
            .iter()
            .find(|o| f.starts_with(**o))
            .copied()
    };
    let mut argv = vec![compiler.to_owned()];
    argv.extend(flags.iter().filter(|f| is_search(f).is_none()).cloned());
    argv.extend(["-c".to_owned(), src.to_owned()]);
    let a = dcc_include::args::parse(&argv, cwd).expect("args");
    let (system, _) =
        dcc_include::search_path::probe(Path::new(compiler), &a.probe_flags, a.lang, None)
            .expect("probe");
    // -nostdinc also turns off the compiler's implicit pre-include; name it explicitly (a
    // helper preprocessing with a remapped chain has to do the same).
    let mut remapped_flags = Vec::new();
    for p in &system.preinclude {
        remapped_flags.push("-include".to_owned());
        remapped_flags.push(under(root.path(), p).display().to_string());
    }
    for f in flags {
        match is_search(f) {
            Some(o) if f[o.len()..].starts_with('/') => {
                remapped_flags.push(format!(
                    "{o}{}",
                    under(root.path(), Path::new(&f[o.len()..])).display()
                ));
            }
            _ => remapped_flags.push(f.clone()),
        }
    }
    remapped_flags.push("-nostdinc".to_owned());
    for d in &system.bracket {
        let own = system
            .compiler_dirs
            .iter()
            .any(|o| std::fs::canonicalize(d).is_ok_and(|c| c.starts_with(o)));
        let d = if own {
            d.clone()
        } else {
            under(root.path(), d)
        };
        remapped_flags.push(format!("-isystem{}", d.display()));
    }
    let normal = Command::new(compiler)
        .args(flags)
        .args(["-E", src])
        .current_dir(cwd)
        .output()
        .expect("gcc -E");
    assert!(
        normal.status.success(),
        "{}",
        String::from_utf8_lossy(&normal.stderr)
    );
    let remapped = Command::new(compiler)
        .args(&remapped_flags)
        .args(["-E", src])
        .current_dir(under(root.path(), cwd))
        .output()
        .expect("gcc -E in root");
    assert!(
        remapped.status.success(),
        "preprocessing with only the manifest's files failed: {}",
        String::from_utf8_lossy(&remapped.stderr)
    );
    let (a, b) = (
        clean(&normal.stdout, None),
        clean(&remapped.stdout, Some(root.path())),
    );
    if a != b {
        // Keep both texts for a diff.
        let keep = std::env::temp_dir().join("dcc-include-differs");
        std::fs::create_dir_all(&keep).expect("mkdir");
        std::fs::write(keep.join("normal.i"), a).expect("write");
        std::fs::write(keep.join("manifest-only.i"), b).expect("write");
        panic!(
            "preprocessed text differs in the manifest-only root for {src} (see {})",
            keep.display()
        );
    }
}
