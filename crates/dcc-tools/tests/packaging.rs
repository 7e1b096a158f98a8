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
            // A destination without a trailing slash is the file's installed name.
            if !dest.ends_with('/') {
                out.insert(dest.clone());
                continue;
            }
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
        // Administrators' commands (in sbin) have their page in section 8.
        let page = if dir == "usr/sbin/" {
            format!("usr/share/man/man8/{b}.8")
        } else {
            format!("usr/share/man/man1/{b}.1")
        };
        assert!(files.contains(&page), "{page}");
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
        "usr/share/distcc-rs/conf.d/distccd",
        "etc/logrotate.d/distccd",
        "usr/share/bash-completion/completions/distccd",
        "usr/share/zsh/vendor-completions/_distccd",
        "usr/share/fish/vendor_completions.d/distccd.fish",
    ] {
        assert!(files.contains(f), "{f}");
    }
    let toml = std::fs::read_to_string(root().join("crates/dcc-package/Cargo.toml")).unwrap();
    for line in [
        "conflicts = \"distcc\"",
        "replaces = \"distcc, distcc-pump\"",
        "maintainer-scripts = \"../../packaging/debian/\"",
    ] {
        assert!(toml.contains(line), "{line}");
    }
}

/// The guide's install page names every shipped binary in its table and installs every one
/// in its by-hand recipe (distccmon-top and distcc-keygen were missing once), and the guide
/// links the secure transport's document.
#[test]
fn the_install_guide_lists_every_shipped_binary() {
    let guide = std::fs::read_to_string(root().join("docs/guide/install.md")).unwrap();
    let by_hand = guide
        .split("## From source, by hand")
        .nth(1)
        .expect("by-hand section");
    for b in BINARIES {
        let dir = if b == "update-distcc-symlinks" {
            "sbin"
        } else {
            "bin"
        };
        assert!(
            guide
                .lines()
                .any(|l| l.starts_with('|') && l.contains(&format!("`/usr/{dir}/{b}`"))),
            "{b} is not in the install table"
        );
        assert!(
            by_hand
                .lines()
                .any(|l| l.trim_start().starts_with("sudo install")
                    && (l.contains(&format!(",{b},"))
                        || l.contains(&format!("{{{b},"))
                        || l.contains(&format!(",{b}}}"))
                        || l.contains(&format!("release/{b} ")))),
            "{b} is not installed by hand"
        );
    }
    let hardening = std::fs::read_to_string(root().join("docs/guide/hardening.md")).unwrap();
    assert!(hardening.contains("(../security/secure-transport.md)"));
    assert!(root().join("docs/security/secure-transport.md").is_file());
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
    // Debian's postinst makes /etc/conf.d/distccd from this example (or from Debian's
    // /etc/default/distcc); Arch ships it as a backup file.
    assert!(want.remove("usr/share/distcc-rs/conf.d/distccd"));
    assert!(want.remove("usr/share/lintian/overrides/distcc-rs"));
    want.insert("etc/conf.d/distccd".into());
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

/// A root for the maintainer scripts (`DPKG_ROOT`): only what the package ships that they
/// read, so that they never touch this machine's /etc.
fn fake_root() -> tempfile::TempDir {
    let r = tempfile::tempdir().unwrap();
    let t = r.path().join("usr/share/distcc-rs/conf.d");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::copy(root().join("packaging/conf.d/distccd"), t.join("distccd")).unwrap();
    r
}

/// Run a maintainer script in a fake root with stub commands that record their arguments.
fn run_script(script: &str, args: &[&str], user_exists: bool) -> Vec<String> {
    run_script_in(fake_root().path(), script, args, user_exists).0
}

/// [`run_script`] in `dpkg_root`; the recorded calls and the script's stderr.
fn run_script_in(
    dpkg_root: &Path,
    script: &str,
    args: &[&str],
    user_exists: bool,
) -> (Vec<String>, String) {
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
        .env("DPKG_ROOT", dpkg_root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (calls, String::from_utf8_lossy(&out.stderr).into_owned())
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

/// Debian's distcc as its postinst leaves /etc/default/distcc, with these values, and its
/// init script's start links (`S`) or disabled links (`K`) in /etc/rc2.d.
fn debian_root(values: &[(&str, &str)], links: &str) -> tempfile::TempDir {
    let r = fake_root();
    let mut text = String::from("# Defaults for distcc initscript\n");
    for (k, v) in values {
        text.push_str(&format!("{k}=\"{v}\"\n"));
    }
    std::fs::create_dir_all(r.path().join("etc/default")).unwrap();
    std::fs::write(r.path().join("etc/default/distcc"), text).unwrap();
    std::fs::create_dir_all(r.path().join("etc/rc2.d")).unwrap();
    std::os::unix::fs::symlink(
        "../init.d/distcc",
        r.path().join(format!("etc/rc2.d/{links}01distcc")),
    )
    .unwrap();
    r
}

const DEBIAN: [(&str, &str); 6] = [
    ("STARTDISTCC", "true"),
    ("ALLOWEDNETS", "127.0.0.1 10.3.0.0/16"),
    ("LISTENER", "127.0.0.1"),
    ("NICE", "10"),
    ("JOBS", "3"),
    ("ZEROCONF", "true"),
];

fn conf_args(r: &Path) -> String {
    let text = std::fs::read_to_string(r.join("etc/conf.d/distccd")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("DISTCC_ARGS="))
        .unwrap_or_else(|| panic!("no DISTCC_ARGS:\n{text}"));
    line.to_owned()
}

#[test]
fn postinst_carries_over_debians_settings_and_enabled_state() {
    const ENABLE: &str = "deb-systemd-helper enable distccd.service";
    // Enabled, every setting: the arguments Debian's init script built, and enabled.
    let r = debian_root(&DEBIAN, "S");
    let (calls, _) = run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert_eq!(
        conf_args(r.path()),
        "DISTCC_ARGS=\"--allow 127.0.0.1 --allow 10.3.0.0/16 --listen 127.0.0.1 --nice 10 \
         --jobs 3 --zeroconf --log-file /var/log/distccd/distccd.log\""
    );
    assert!(calls.iter().any(|c| c == ENABLE), "{calls:?}");
    // Made once: a second configure (an upgrade) keeps the administrator's file.
    std::fs::write(
        r.path().join("etc/conf.d/distccd"),
        "DISTCC_ARGS=\"--allow 1.2.3.4\"\n",
    )
    .unwrap();
    let (calls, _) = run_script_in(r.path(), "postinst", &["configure", "0.1.0-1"], true);
    assert_eq!(conf_args(r.path()), "DISTCC_ARGS=\"--allow 1.2.3.4\"");
    assert!(!calls.iter().any(|c| c == ENABLE), "{calls:?}");

    // Disabled with `systemctl disable distcc` (K links), or STARTDISTCC=false: the
    // settings come over, the service stays disabled.
    let r = debian_root(&DEBIAN, "K");
    let (calls, _) = run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert!(conf_args(r.path()).contains("--allow 10.3.0.0/16"));
    assert!(!calls.iter().any(|c| c == ENABLE), "{calls:?}");
    let mut off = DEBIAN;
    off[0].1 = "false";
    let r = debian_root(&off, "S");
    let (calls, _) = run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert!(!calls.iter().any(|c| c == ENABLE), "{calls:?}");

    // Debian's own defaults (empty JOBS, NICE out of the init script's range): left out.
    let r = debian_root(
        &[
            ("STARTDISTCC", "false"),
            ("ALLOWEDNETS", "127.0.0.1"),
            ("NICE", "25"),
            ("JOBS", ""),
        ],
        "S",
    );
    run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert_eq!(
        conf_args(r.path()),
        "DISTCC_ARGS=\"--allow 127.0.0.1 --log-file /var/log/distccd/distccd.log\""
    );

    // A value that cannot be one quoted line (a stray quote and a command substitution):
    // not carried over, the example instead, not enabled, and a warning.
    let mut bad = DEBIAN;
    bad[1].1 = "10.0.0.1\\\" $(id)";
    let r = debian_root(&bad, "S");
    let (calls, err) = run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert_eq!(conf_args(r.path()), "DISTCC_ARGS=\"--allow 127.0.0.1\"");
    assert!(!calls.iter().any(|c| c == ENABLE), "{calls:?}");
    assert!(err.contains("not carried over"), "{err}");

    // No Debian settings: the example.
    let r = fake_root();
    run_script_in(r.path(), "postinst", &["configure", ""], true);
    assert_eq!(
        std::fs::read_to_string(r.path().join("etc/conf.d/distccd")).unwrap(),
        std::fs::read_to_string(root().join("packaging/conf.d/distccd")).unwrap()
    );
    // Purge removes it (and the logs).
    std::fs::create_dir_all(r.path().join("var/log/distccd")).unwrap();
    run_script_in(r.path(), "postrm", &["purge"], true);
    assert!(!r.path().join("etc/conf.d").exists());
    assert!(!r.path().join("var/log/distccd").exists());
}
