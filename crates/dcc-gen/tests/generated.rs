//! The man pages and completions committed under packaging/ are what `dcc-gen` makes from
//! today's clap definitions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging")
}

#[test]
fn committed_man_pages_and_completions_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcc-gen"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert!(written.len() >= 5 + 6, "{written:?}");
    let mut stale = Vec::new();
    for path in written {
        let rel = Path::new(path).strip_prefix(tmp.path()).unwrap();
        let fresh = std::fs::read(path).unwrap();
        if std::fs::read(packaging().join(rel)).ok() != Some(fresh) {
            stale.push(rel.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing under packaging/: {stale:?}\nrun `cargo run -p dcc-gen` and commit the result"
    );
    // The library's own check agrees.
    assert!(dcc_gen::generate::stale(&packaging()).unwrap().is_empty());
}

#[test]
fn the_check_sees_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    dcc_gen::generate::write_all(tmp.path()).unwrap();
    assert!(dcc_gen::generate::stale(tmp.path()).unwrap().is_empty());
    let page = tmp.path().join("man/distccd.1");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, text.replace("ACCESS CONTROL", "ACCESS")).unwrap();
    std::fs::remove_file(tmp.path().join("completions/fish/distccd.fish")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcc-gen"))
        .arg("--check")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("man/distccd.1") && err.contains("distccd.fish"),
        "{err}"
    );
}

/// Every option of distccd's real parser is in its man page and its bash completion.
#[test]
fn pages_cover_every_daemon_option() {
    use clap::CommandFactory;
    let page = std::fs::read_to_string(packaging().join("man/distccd.1")).unwrap();
    let bash = std::fs::read_to_string(packaging().join("completions/bash/distccd")).unwrap();
    for arg in dcc_server::options::Options::command().get_arguments() {
        if arg.is_hide_set() {
            continue;
        }
        let long = arg.get_long().unwrap();
        // roff escapes '-' as '\-'.
        assert!(
            page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
            "{long}"
        );
        assert!(bash.contains(&format!("--{long}")), "{long}");
    }
    let client = std::fs::read_to_string(packaging().join("man/distcc.1")).unwrap();
    for needle in [
        "show\\-hosts",
        "scan\\-includes",
        "DISTCC_HOSTS",
        "masquerade",
    ] {
        assert!(client.contains(needle), "{needle}");
    }
}

/// The committed pages render without groff warnings and the bash completions parse.
#[test]
fn pages_and_completions_are_well_formed() {
    for entry in std::fs::read_dir(packaging().join("man"))
        .unwrap()
        .flatten()
    {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(entry.path())
            .output()
            .expect("groff (apt-get install -y groff-base)");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: {}",
            entry.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for entry in std::fs::read_dir(packaging().join("completions/bash"))
        .unwrap()
        .flatten()
    {
        let st = Command::new("bash")
            .arg("-n")
            .arg(entry.path())
            .status()
            .unwrap();
        assert!(st.success(), "{}", entry.path().display());
    }
}
