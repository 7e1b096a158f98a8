//! Include patterns that trip include scanners, each in a temp tree with real gcc: the exact
//! manifest (entries under the tree) or the exact reason for giving up. Where the unit is a
//! valid compile, gcc's own `-M` list must be inside the manifest and the unit must
//! preprocess to the same text in a root holding only the manifest's shipped files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{complete, files, gcc_deps, same_in_root, words};
use dcc_include::{Kind, Manifest, Origin, Outcome, Scanner};

/// A temp tree: (relative path, content) files.
fn tree(spec: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tmp");
    let root = std::fs::canonicalize(t.path()).expect("canonical");
    for (p, c) in spec {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, c).expect("write");
    }
    (t, root)
}

/// The entries under `root`, as `f path`, `d path`, `l path -> target`, sorted.
fn under(m: &Manifest, root: &Path) -> Vec<String> {
    m.entries
        .iter()
        .filter_map(|(p, e)| {
            let rel = p.strip_prefix(root).ok()?.display().to_string();
            if rel.is_empty() {
                return None;
            }
            Some(match &e.kind {
                Kind::File { .. } => format!("f {rel}"),
                Kind::Dir => format!("d {rel}"),
                Kind::Symlink { target } => format!("l {rel} -> {}", target.display()),
            })
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Scan `gcc FLAGS -c main.c` in `root` (no cache), check it against gcc, return the entries.
fn scan_checked(root: &Path, flags: &str) -> Vec<String> {
    let scanner = Scanner::default();
    let flags = words(flags);
    let mut argv = vec!["gcc".to_owned()];
    argv.extend(flags.iter().cloned());
    argv.extend(words("-c main.c"));
    let m = complete(&scanner, "gcc", &argv, root);
    let mut gflags = flags.clone();
    gflags.push("main.c".to_owned());
    let theirs = gcc_deps("gcc", &gflags, root);
    let mine = files(&m);
    assert!(
        theirs.is_subset(&mine),
        "gcc read {theirs:?}, manifest {mine:?}"
    );
    same_in_root("gcc", &m, &flags, "main.c", root);
    under(&m, root)
}

/// Sorted, as [`under`] gives them.
fn strs(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn computed_includes_that_resolve() {
    let (_t, root) = tree(&[
        (
            "main.c",
            "#define CFG \"cfg.h\"\n#include CFG\n#define STR(x) #x\n#define X(x) STR(x)\n\
             #define HDR(n) <n.h>\n#include HDR(plat)\n#include X(sub/name.h)\n",
        ),
        ("cfg.h", "#define PLATFORM_H <never.h>\n"),
        ("inc/plat.h", ""),
        ("sub/name.h", ""),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc -Iinc"),
        strs(&[
            "d inc",
            "f inc/plat.h",
            "d sub",
            "f sub/name.h",
            "f cfg.h",
            "f main.c"
        ])
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn a_computed_include_outside_the_model_gives_up() {
    let (_t, root) = tree(&[("main.c", "#define H __LINE__\n#if 0\n#include H\n#endif\n")]);
    let s = Scanner::default().scan(Path::new("gcc"), &words("gcc -nostdinc -c main.c"), &root);
    match s.outcome {
        Outcome::GiveUp(r) => assert_eq!(r.label(), "computed-include", "{r}"),
        o => panic!("expected a give-up, got {o:?}"),
    }
}

#[test]
fn a_computed_include_of_an_undefined_macro_is_a_branch_not_taken() {
    let (_t, root) = tree(&[("main.c", "#ifdef USER_H\n#include USER_H\n#endif\n")]);
    assert_eq!(scan_checked(&root, "-nostdinc"), strs(&["f main.c"]));
}

#[test]
fn include_next_goes_on_after_the_includers_directory() {
    let (_t, root) = tree(&[
        ("main.c", "#include <x.h>\n"),
        ("a/x.h", "#include_next <x.h>\n"),
        ("b/x.h", "/* the end of the chain */\n"),
        ("c/x.h", "#error never read\n"),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc -Ia -Ib -Ic"),
        strs(&["d a", "f a/x.h", "d b", "f b/x.h", "d c", "f main.c"])
    );
}

#[test]
fn has_include_ships_what_exists_and_tolerates_what_does_not() {
    let (_t, root) = tree(&[
        (
            "main.c",
            "#if __has_include(\"opt.h\")\n#include \"opt.h\"\n#endif\n\
         #if __has_include(<missing.h>)\n#include <missing.h>\n#endif\n",
        ),
        ("opt.h", ""),
        ("inc/other.h", ""),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc -Iinc"),
        strs(&["d inc", "f main.c", "f opt.h"])
    );
}

#[test]
fn pragma_once_and_include_guards_do_not_change_the_set() {
    let (_t, root) = tree(&[
        (
            "main.c",
            "#include \"once.h\"\n#include \"once.h\"\n#include \"guard.h\"\n#include \"guard.h\"\n",
        ),
        ("once.h", "#pragma once\n#include \"guard.h\"\n"),
        (
            "guard.h",
            "#ifndef G\n#define G\n#include \"once.h\"\n#endif\n",
        ),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc"),
        strs(&["f guard.h", "f main.c", "f once.h"])
    );
}

#[test]
fn symlinked_headers_and_directories_are_recorded_with_their_targets() {
    let (_t, root) = tree(&[
        (
            "main.c",
            "#include \"link.h\"\n#include \"ld/r2.h\"\n#include \"ld/../up.h\"\n",
        ),
        ("real/r.h", ""),
        ("real/sub/r2.h", ""),
        ("real/up.h", ""),
    ]);
    std::os::unix::fs::symlink("real/r.h", root.join("link.h")).expect("symlink");
    std::os::unix::fs::symlink(root.join("real/sub"), root.join("ld")).expect("symlink");
    // `ld/../up.h` is real/up.h for the kernel (and gcc), not ./up.h.
    assert_eq!(
        scan_checked(&root, "-nostdinc"),
        strs(&[
            &format!("l ld -> {}", root.join("real/sub").display()),
            "l link.h -> real/r.h",
            "f main.c",
            "d real",
            "f real/r.h",
            "d real/sub",
            "f real/sub/r2.h",
            "f real/up.h",
        ])
    );
}

#[test]
fn the_first_of_two_same_named_headers_wins_and_directories_are_passed_over() {
    let (_t, root) = tree(&[
        ("main.c", "#include <h.h>\n#include <d.h>\n"),
        ("a/h.h", ""),
        ("b/h.h", "#error never read\n"),
        ("a/d.h/placeholder", ""),
        ("b/d.h", ""),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc -Ia -Ib"),
        strs(&["d a", "f a/h.h", "d b", "f b/d.h", "f main.c"])
    );
}

#[test]
fn forced_includes_iquote_and_idirafter() {
    let (_t, root) = tree(&[
        (
            "main.c",
            "#include \"q.h\"\n#include <late.h>\n#include <only.h>\n",
        ),
        ("pre.h", "#include \"pre2.h\"\n"),
        ("pre2.h", ""),
        ("q/q.h", ""),
        ("a/late.h", ""),
        ("z/late.h", "#error never read\n"),
        ("z/only.h", ""),
    ]);
    assert_eq!(
        scan_checked(&root, "-nostdinc -include pre.h -iquoteq -Ia -idirafterz"),
        strs(&[
            "d a",
            "f a/late.h",
            "f main.c",
            "f pre.h",
            "f pre2.h",
            "d q",
            "f q/q.h",
            "d z",
            "f z/only.h"
        ])
    );
}

#[test]
fn system_headers_are_shipped_and_the_compilers_own_are_marked_system() {
    let (_t, root) = tree(&[("main.c", "#include <stdio.h>\n#include <stddef.h>\n")]);
    let m = complete(&Scanner::default(), "gcc", &words("gcc -c main.c"), &root);
    let origin = |p: &str| m.entries.get(Path::new(p)).map(|e| e.origin);
    assert_eq!(origin("/usr/include/stdio.h"), Some(Origin::Shipped));
    let own = m
        .files()
        .find(|(p, _)| p.ends_with("include/stddef.h"))
        .expect("stddef.h");
    assert_eq!(own.1.origin, Origin::System, "{}", own.0.display());
    same_in_root("gcc", &m, &[], "main.c", &root);
    // And with -nostdinc nothing of the system is read.
    let m = complete(
        &Scanner::default(),
        "gcc",
        &words("gcc -nostdinc -c main.c"),
        &root,
    );
    assert_eq!(under(&m, &root), strs(&["f main.c"]));
    assert_eq!(m.files().count(), 1);
}

fn cached_scanner(cache: &Path) -> Scanner {
    Scanner {
        cache_dir: Some(cache.to_path_buf()),
        racy_window: Some(Duration::ZERO),
        ..Scanner::default()
    }
}

#[test]
fn a_header_edited_between_two_scans_is_seen_through_the_cache() {
    let (_t, root) = tree(&[
        ("main.c", "#include \"h.h\"\n"),
        ("h.h", "#include \"a.h\"\n"),
        ("a.h", ""),
        ("b.h", ""),
    ]);
    let cache = tempfile::tempdir().expect("cache");
    let s = cached_scanner(cache.path());
    let argv = words("gcc -nostdinc -c main.c");
    let first = complete(&s, "gcc", &argv, &root);
    assert_eq!(under(&first, &root), strs(&["f a.h", "f h.h", "f main.c"]));
    // Warm: nothing is read again; the unit memo answers.
    let warm = s.scan(Path::new("gcc"), &argv, &root);
    assert!(warm.stats.unit_memo);
    assert_eq!((warm.stats.lexed, warm.stats.cache_hits), (0, 0));
    // Same size, same mtime: only the ctime tells.
    let h = root.join("h.h");
    let mtime = std::fs::metadata(&h)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&h, "#include \"b.h\"\n").expect("edit");
    std::fs::File::options()
        .write(true)
        .open(&h)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
    let again = s.scan(Path::new("gcc"), &argv, &root);
    assert!(!again.stats.unit_memo, "the unit memo missed the edit");
    // h.h (edited) and b.h (new to the unit) are read; main.c comes from the file memo.
    assert_eq!((again.stats.lexed, again.stats.cache_hits), (2, 1));
    let Outcome::Complete(second) = again.outcome else {
        panic!("gave up")
    };
    assert_eq!(under(&second, &root), strs(&["f b.h", "f h.h", "f main.c"]));
    assert_ne!(first.digest(), second.digest());
}

#[test]
fn a_header_created_between_two_scans_shadows_the_old_one() {
    let (_t, root) = tree(&[("main.c", "#include <gen.h>\n"), ("b/gen.h", "")]);
    let cache = tempfile::tempdir().expect("cache");
    let s = cached_scanner(cache.path());
    let argv = words("gcc -nostdinc -Ia -Ib -c main.c");
    std::fs::create_dir(root.join("a")).expect("mkdir");
    let first = complete(&s, "gcc", &argv, &root);
    assert_eq!(
        under(&first, &root),
        strs(&["d a", "d b", "f b/gen.h", "f main.c"])
    );
    std::fs::write(root.join("a/gen.h"), "").expect("create");
    let second = complete(&s, "gcc", &argv, &root);
    assert_eq!(
        under(&second, &root),
        strs(&["d a", "f a/gen.h", "d b", "f main.c"])
    );
}

#[test]
fn a_symlink_loop_is_not_found_as_for_the_kernel() {
    let (_t, root) = tree(&[("main.c", "#include \"loop/x.h\"\n")]);
    std::os::unix::fs::symlink("loop", root.join("loop")).expect("symlink");
    let s = Scanner::default().scan(Path::new("gcc"), &words("gcc -nostdinc -c main.c"), &root);
    // The kernel refuses the path too (ELOOP), so gcc does not find it: not found, not shipped.
    match s.outcome {
        Outcome::Complete(m) => assert_eq!(under(&m, &root), strs(&["f main.c"])),
        o => panic!("{o:?}"),
    }
}

#[test]
fn the_manifest_is_the_same_whatever_the_cache_state() {
    let (_t, root) = tree(&[
        ("main.c", "#include <stdio.h>\n#include \"a.h\"\n"),
        ("a.h", "#define A 1\n"),
    ]);
    let cache = tempfile::tempdir().expect("cache");
    let argv = words("gcc -c main.c");
    let cold = complete(&Scanner::default(), "gcc", &argv, &root);
    let s = cached_scanner(cache.path());
    let filling = complete(&s, "gcc", &argv, &root);
    let warm = s.scan(Path::new("gcc"), &argv, &root);
    assert!(warm.stats.unit_memo && warm.stats.lexed == 0);
    let Outcome::Complete(warm) = warm.outcome else {
        panic!("gave up")
    };
    assert_eq!(cold.to_text(), filling.to_text());
    assert_eq!(cold.to_text(), warm.to_text());
}

#[test]
fn a_fifo_named_like_a_header_gives_up_without_blocking() {
    let (_t, root) = tree(&[("main.c", "#if 0\n#include \"pipe.h\"\n#endif\n")]);
    let st = std::process::Command::new("mkfifo")
        .arg(root.join("pipe.h"))
        .status()
        .expect("mkfifo");
    assert!(st.success());
    let s = Scanner::default().scan(Path::new("gcc"), &words("gcc -nostdinc -c main.c"), &root);
    match s.outcome {
        Outcome::GiveUp(r) => assert_eq!(r.label(), "unreadable", "{r}"),
        o => panic!("expected a give-up, got {o:?}"),
    }
}

#[test]
fn a_relative_compiler_path_is_relative_to_the_compiles_directory() {
    let (_t, root) = tree(&[("main.c", "#include \"a.h\"\n"), ("a.h", "")]);
    std::fs::create_dir(root.join("bin")).expect("mkdir");
    let gcc = std::fs::canonicalize("/usr/bin/gcc").expect("gcc");
    std::os::unix::fs::symlink(gcc, root.join("bin/cc")).expect("symlink");
    let m = complete(
        &Scanner::default(),
        "bin/cc",
        &words("bin/cc -nostdinc -c main.c"),
        &root,
    );
    assert_eq!(under(&m, &root), strs(&["f a.h", "f main.c"]));
}

#[test]
fn the_compilers_implicit_preinclude_is_in_the_manifest() {
    // No system include at all: gcc still reads stdc-predef.h (glibc's pre-include), which
    // decides macros such as __STDC_IEC_559__.
    let (_t, root) = tree(&[("main.c", "int x = __STDC_IEC_559__;\n")]);
    let m = complete(&Scanner::default(), "gcc", &words("gcc -c main.c"), &root);
    let predef = m
        .files()
        .find(|(p, _)| p.ends_with("stdc-predef.h"))
        .map(|(p, _)| p.to_path_buf());
    let theirs = gcc_deps("gcc", &words("main.c"), &root);
    assert!(theirs.is_subset(&files(&m)), "gcc read {theirs:?}");
    assert!(predef.is_some(), "{:?}", files(&m));
    same_in_root("gcc", &m, &[], "main.c", &root);
}

#[test]
fn the_unit_memo_is_refused_when_any_fact_it_rests_on_changes() {
    let (_t, root) = tree(&[
        ("main.c", "#include <gen.h>\n#include \"link.h\"\n"),
        ("b/gen.h", ""),
        ("one.h", ""),
        ("two.h", ""),
    ]);
    std::fs::create_dir(root.join("a")).expect("mkdir");
    std::os::unix::fs::symlink("one.h", root.join("link.h")).expect("symlink");
    let cache = tempfile::tempdir().expect("cache");
    let s = cached_scanner(cache.path());
    let argv = words("gcc -nostdinc -Ia -Ib -c main.c");
    let scan = |what: &str| {
        let r = s.scan(Path::new("gcc"), &argv, &root);
        match r.outcome {
            Outcome::Complete(m) => (r.stats.unit_memo, under(&m, &root)),
            o => panic!("{what}: {o:?}"),
        }
    };
    let (hit, first) = scan("first");
    assert!(!hit);
    assert_eq!(scan("unchanged"), (true, first.clone()));
    // A symlink pointed elsewhere.
    std::fs::remove_file(root.join("link.h")).expect("rm");
    std::os::unix::fs::symlink("two.h", root.join("link.h")).expect("symlink");
    let (hit, relinked) = scan("relinked");
    assert!(!hit);
    assert!(relinked.contains(&"f two.h".to_owned()), "{relinked:?}");
    assert!(scan("unchanged again").0);
    // A header created earlier on the chain (a negative lookup that is no longer one).
    std::fs::write(root.join("a/gen.h"), "").expect("create");
    let (hit, shadowed) = scan("shadowed");
    assert!(!hit);
    assert!(shadowed.contains(&"f a/gen.h".to_owned()), "{shadowed:?}");
    // A different command is a different unit.
    let other = s.scan(
        Path::new("gcc"),
        &words("gcc -nostdinc -Ib -Ia -c main.c"),
        &root,
    );
    assert!(!other.stats.unit_memo);
}
