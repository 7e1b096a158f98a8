//! The systemd units in packaging/systemd pass `systemd-analyze verify` without a single
//! message about them, and the sysusers.d file creates the user they run as.
//!
//! The units name /usr/bin/distccd, which on a test machine is Debian's (or absent), so they
//! are verified from a temp copy whose ExecStart names the distccd built from this workspace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging")
}

mod common;

fn require(tool: &str) {
    common::require(tool, "systemd");
}

/// Our distccd.
fn distccd() -> PathBuf {
    dcc_testkit::bins::ours("distccd")
}

/// Copy `unit` into `dir` with ExecStart naming `exe`; returns the copy's path.
fn staged(unit: &str, dir: &Path, exe: &Path) -> PathBuf {
    let text = std::fs::read_to_string(packaging().join("systemd").join(unit)).unwrap();
    assert!(text.contains("ExecStart=/usr/bin/distccd "), "{unit}");
    let text = text.replace("/usr/bin/distccd", &exe.display().to_string());
    let p = dir.join(unit);
    std::fs::write(&p, text).unwrap();
    p
}

/// Lines of `systemd-analyze verify` output that concern our unit.
fn verify(unit: &Path, stem: &str) -> (bool, Vec<String>) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--no-pager"])
        .arg(unit)
        .current_dir(unit.parent().unwrap())
        .output()
        .expect("systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<String> = text
        .lines()
        .filter(|l| l.contains(stem) || l.contains(&unit.display().to_string()))
        .map(str::to_owned)
        .collect();
    (out.status.success(), ours)
}

#[test]
fn units_verify_without_messages() {
    require("systemd-analyze");
    let exe = distccd();
    let tmp = tempfile::tempdir().unwrap();
    for (unit, stem) in [
        ("distccd.service", "distccd.service"),
        ("distccd@.service", "distccd@"),
    ] {
        let p = staged(unit, tmp.path(), &exe);
        let (ok, lines) = verify(&p, stem);
        assert!(ok && lines.is_empty(), "{unit}:\n{}", lines.join("\n"));
    }
    // An instance, as `systemctl start distccd@armv8` loads it.
    let inst = tmp.path().join("distccd@armv8.service");
    std::fs::copy(tmp.path().join("distccd@.service"), &inst).unwrap();
    let (ok, lines) = verify(&inst, "distccd@armv8");
    assert!(ok && lines.is_empty(), "{}", lines.join("\n"));
    // The sandbox stays tight: systemd's exposure score (0-100, shown as 0.0-10.0) at most
    // 2.5; it is 1.9 on systemd 252.
    for unit in ["distccd.service", "distccd@.service"] {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--threshold=25", "--no-pager"])
            .arg(tmp.path().join(unit))
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{unit}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The check above can fail: a unit with a typo and a missing binary is reported.
#[test]
fn verify_reports_a_broken_unit() {
    require("systemd-analyze");
    let tmp = tempfile::tempdir().unwrap();
    let p = staged(
        "distccd.service",
        tmp.path(),
        Path::new("/nonexistent/distccd"),
    );
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("Type=notify", "Typo=notify");
    std::fs::write(&p, text).unwrap();
    let (ok, lines) = verify(&p, "distccd.service");
    assert!(!ok);
    let all = lines.join("\n");
    assert!(all.contains("Typo"), "{all}");
    assert!(all.contains("not executable"), "{all}");
}

#[test]
fn units_run_distccd_as_the_guide_does() {
    for unit in ["distccd.service", "distccd@.service"] {
        let text = std::fs::read_to_string(packaging().join("systemd").join(unit)).unwrap();
        for line in [
            "Type=notify",
            "User=distccd",
            "ExecStart=/usr/bin/distccd --no-detach --daemon $DISTCC_ARGS",
            "LogsDirectory=distccd",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        ] {
            assert!(text.lines().any(|l| l == line), "{unit}: no {line}");
        }
    }
    let base = std::fs::read_to_string(packaging().join("systemd/distccd.service")).unwrap();
    assert!(base.contains("EnvironmentFile=-/etc/conf.d/distccd\n"));
    let tmpl = std::fs::read_to_string(packaging().join("systemd/distccd@.service")).unwrap();
    assert!(tmpl.contains("EnvironmentFile=/etc/conf.d/distccd-%i\n"));
}

/// The example conf.d files parse as the daemon's options (DISTCC_ARGS split on white space,
/// as systemd does for an unbraced `$DISTCC_ARGS`).
#[test]
fn conf_d_examples_are_valid_distccd_options() {
    for f in ["distccd", "distccd-armv8"] {
        let text = std::fs::read_to_string(packaging().join("conf.d").join(f)).unwrap();
        let args = text
            .lines()
            .find_map(|l| l.strip_prefix("DISTCC_ARGS="))
            .unwrap_or_else(|| panic!("{f}: no DISTCC_ARGS"));
        let args = args.trim_matches('"');
        let mut argv = vec!["distccd", "--no-detach", "--daemon"];
        argv.extend(args.split_whitespace());
        match dcc_server::options::parse(argv) {
            Ok(dcc_server::options::Parsed::Run(c)) => {
                assert!(c.allow.is_some(), "{f}: no --allow");
                assert!(c.no_detach);
            }
            other => panic!("{f}: {other:?}"),
        }
    }
}

#[test]
fn sysusers_creates_the_distccd_user() {
    require("systemd-sysusers");
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let out = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg(packaging().join("sysusers.d/distccd.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.starts_with("distccd:x:")),
        "{passwd}"
    );
}
