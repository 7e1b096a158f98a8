//! `distcc-keygen` end to end: the files it writes, their modes, `-y`, no silent overwrite,
//! and the default file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::PermissionsExt;

use dcc_secure::PrivateKey;

#[test]
fn keygen_writes_a_private_and_a_public_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sub/host.key");
    let bin = env!("CARGO_BIN_EXE_distcc-keygen");
    let out = std::process::Command::new(bin)
        .args(["-f", key.to_str().unwrap(), "-C", "helper1"])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("distcc-rs-x25519 ") && line.trim_end().ends_with(" helper1"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir.path().join("sub")), 0o700);
    let public = std::fs::read_to_string(dir.path().join("sub/host.key.pub")).unwrap();
    assert_eq!(public, line);
    let (k, c) = PrivateKey::load(&key).unwrap();
    assert_eq!(k.public().to_line(&c), line.trim_end());
    // -y prints the same line; a second run does not overwrite.
    let out = std::process::Command::new(bin)
        .args(["-y", "-f", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), line);
    let out = std::process::Command::new(bin)
        .args(["-f", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // The default file is the client key in DISTCC_DIR.
    let out = std::process::Command::new(bin)
        .env_clear()
        .env("DISTCC_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("client.key").exists());
}
