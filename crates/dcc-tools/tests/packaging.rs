//! The package recipes: the Debian one (crates/dcc-package/Cargo.toml, packaging/debian) and
//! the Arch one (packaging/arch) ship the same files, every asset exists, and the maintainer
//! scripts do what they say (run with stub commands).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(source, dest)` of every asset in `[package.metadata.deb]` (one `[src, dest, mode]` per line).
fn deb_assets() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("crates/dcc-package/Cargo.toml")).unwrap();
    let out: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("[\"") && l.ends_with("],"))
        .map(|l| {
            let parts: Vec<&str> = l
                .trim_start_matches('[')
                .trim_end_matches("],")
                .split(',')
                .map(|p| p.trim().trim_matches('"'))
                .collect();
            assert_eq!(parts.len(), 3, "{l}");
            (parts[0].to_owned(), parts[1].to_owned())
        })
        .collect();
    assert!(out.len() > 10, "{out:?}");
    out
}

/// The files an asset source names (globs with `*` in the last component only).
fn expand(src: &str) -> Vec<PathBuf> {
    let base = root().join("crates/dcc-package");
    let p = base.join(src);
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    if !name.contains('*') {
        return vec![p];
    }
    let (pre, post) = name.split_once('*').unwrap();
    let mut v: Vec<PathBuf> = std::fs::read_dir(p.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|f| {
            let n = f.file_name().unwrap().to_string_lossy();
            n.starts_with(pre) && n.ends_with(post) && f.is_file()
        })
        .collect();
    v.sort();
    v
}

const BINARIES: [&str; 7] = [
    "distcc",
    "distccd",
    "distcc-keygen",
    "distccmon-text",
    "distccmon-top",
    "lsdistcc",
    "update-distcc-symlinks",
];

/// Every installed path of the Debian package (dest of each asset, expanded), plus the unit
/// cargo-deb takes from `unit-scripts`.
fn deb_files() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (src, dest) in deb_assets() {
        if let Some(bin) = src.strip_prefix("target/release/") {
            out.insert(format!("{dest}{bin}"));
            continue;
        }
        let files = expand(&src);
        assert!(!files.is_empty(), "asset {src} matches no file");
        for f in files {
            assert!(f.is_file(), "asset {} is missing", f.display());
            out.insert(format!(
                "{dest}{}",
                f.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    out.insert("usr/lib/systemd/system/distccd.service".into());
    out
}

#[test]
fn deb_assets_exist_and_ship_every_binary_page_and_unit() {
    let files = deb_files();
    for b in BINARIES {
        let dir = if b == "update-distcc-symlinks" {
            "usr/sbin/"
        } else {
            "usr/bin/"
        };
        assert!(files.contains(&format!("{dir}{b}")), "{b}: {files:?}");
        assert!(
            files.contains(&format!("usr/share/man/man1/{b}.1")),
            "{b}.1"
        );
        // A workspace crate builds it.
        let declared = std::fs::read_dir(root().join("crates"))
            .unwrap()
            .flatten()
            .any(|c| {
                std::fs::read_to_string(c.path().join("Cargo.toml"))
                    .is_ok_and(|t| t.contains(&format!("name = \"{b}\"")))
            });
        assert!(declared, "no crate declares the binary {b}");
    }
    for f in [
        "usr/lib/systemd/system/distccd@.service",
        "etc/conf.d/distccd",
        "usr/share/bash-completion/completions/distccd",
        "usr/share/zsh/vendor-completions/_distccd",
        "usr/share/fish/vendor_completions.d/distccd.fish",
    ] {
        assert!(files.contains(f), "{f}");
    }
    let toml = std::fs::read_to_string(root().join("crates/dcc-package/Cargo.toml")).unwrap();
    for line in [
        "conflicts = \"distcc\"",
        "replaces = \"distcc\"",
        "maintainer-scripts = \"../../packaging/debian/\"",
    ] {
        assert!(toml.contains(line), "{line}");
    }
}

/// Source the PKGBUILD and run its `package()` with stand-in binaries: it installs the
/// Debian package's files, with Arch's paths.
#[test]
fn the_pkgbuild_installs_what_the_deb_ships() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, pkg) = (tmp.path().join("src"), tmp.path().join("pkg"));
    let bin = src.join("target/release");
    std::fs::create_dir_all(&bin).unwrap();
    for b in BINARIES {
        std::fs::write(bin.join(b), "#!/bin/sh\n").unwrap();
    }
    std::fs::copy(
        root().join("packaging/arch/distcc-rs.hook"),
        src.join("distcc-rs.hook"),
    )
    .unwrap();
    let arch = root().join("packaging/arch");
    let out = Command::new("bash")
        .arg("-c")
        .arg("set -e; source ./PKGBUILD; package")
        .current_dir(&arch)
        .env("startdir", &arch)
        .env("srcdir", &src)
        .env("pkgdir", &pkg)
        .env_remove("DISTCC_RS_SRC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "package(): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut installed = BTreeSet::new();
    let mut stack = vec![pkg.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(&pkg).unwrap().to_owned();
                installed.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    // Arch's places for what Debian puts elsewhere, and Arch-only files.
    let mut want: BTreeSet<String> = deb_files()
        .into_iter()
        .map(|f| {
            f.replace("usr/sbin/", "usr/bin/")
                .replace("zsh/vendor-completions/", "zsh/site-functions/")
        })
        .collect();
    want.insert("usr/share/libalpm/hooks/distcc-rs.hook".into());
    // Debian creates the user in postinst (adduser), Arch with systemd-sysusers.
    want.insert("usr/lib/sysusers.d/distccd.conf".into());
    want.insert("usr/share/licenses/distcc-rs/LICENSE-MIT".into());
    want.insert("usr/share/licenses/distcc-rs/LICENSE-APACHE".into());
    assert_eq!(installed, want);
    let mode = std::fs::metadata(pkg.join("usr/bin/distccd"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
}

/// makepkg reads the PKGBUILD (it refuses root, so it runs as nobody there).
#[test]
fn makepkg_reads_the_pkgbuild() {
    let makepkg = Path::new("/usr/bin/makepkg");
    assert!(
        makepkg.exists(),
        "makepkg is missing: install it with `apt-get install -y makepkg pacman-package-manager`"
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for f in ["PKGBUILD", "distcc-rs.install", "distcc-rs.hook"] {
        std::fs::copy(root().join("packaging/arch").join(f), tmp.path().join(f)).unwrap();
    }
    let mut cmd = if dcc_testkit::bins::is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "makepkg",
        ]);
        c
    } else {
        Command::new("makepkg")
    };
    let out = cmd
        .arg("--printsrcinfo")
        .current_dir(tmp.path())
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "pkgname = distcc-rs",
        "conflicts = distcc",
        "backup = etc/conf.d/distccd",
        "install = distcc-rs.install",
    ] {
        assert!(text.lines().any(|l| l.trim() == line), "{line}:\n{text}");
    }
    // The version follows the workspace's.
    assert!(
        text.contains(&format!("pkgver = {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

/// Run a maintainer script with stub commands that record their arguments.
fn run_script(script: &str, args: &[&str], user_exists: bool) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("calls");
    let stubs = tmp.path().join("bin");
    std::fs::create_dir(&stubs).unwrap();
    for (name, status) in [
        ("adduser", 0),
        ("update-distcc-symlinks", 0),
        ("systemctl", 0),
        ("deb-systemd-helper", 0),
        ("deb-systemd-invoke", 0),
        ("getent", if user_exists { 0 } else { 2 }),
    ] {
        let p = stubs.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\nexit {status}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let text = std::fs::read_to_string(root().join("packaging/debian").join(script))
        .unwrap()
        .replace("#DEBHELPER#", "");
    let path = format!("{}:/usr/bin:/bin", stubs.display());
    let out = Command::new("sh")
        .arg("-c")
        .arg(&text)
        .arg(script)
        .args(args)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn maintainer_scripts_add_the_user_and_keep_the_links() {
    for s in ["postinst", "prerm", "postrm"] {
        let text = std::fs::read_to_string(root().join("packaging/debian").join(s)).unwrap();
        assert!(text.contains("#DEBHELPER#"), "{s}");
        let st = Command::new("sh")
            .arg("-n")
            .arg(root().join("packaging/debian").join(s))
            .status()
            .unwrap();
        assert!(st.success(), "{s} does not parse");
    }
    let calls = run_script("postinst", &["configure", ""], false);
    assert_eq!(
        calls,
        vec![
            "getent passwd distccd",
            "adduser --quiet --system --group --home /nonexistent --no-create-home distccd",
            "update-distcc-symlinks ",
        ]
    );
    let calls = run_script("postinst", &["configure", "0.1.0-1"], true);
    assert_eq!(
        calls,
        vec!["getent passwd distccd", "update-distcc-symlinks "]
    );
    let calls = run_script("postinst", &["triggered", "/usr/lib/gcc"], true);
    assert_eq!(calls, vec!["update-distcc-symlinks "]);
    let calls = run_script("prerm", &["remove"], true);
    assert_eq!(
        calls.last().map(String::as_str),
        Some("update-distcc-symlinks --remove")
    );
    assert!(run_script("prerm", &["upgrade", "0.2.0-1"], true).is_empty());
    let triggers = std::fs::read_to_string(root().join("packaging/debian/triggers")).unwrap();
    assert!(triggers.contains("interest-noawait /usr/lib/gcc\n"));
}
