//! Issue 4, scenario 7: the guide's own flow. makepkg with `BUILDENV=(distcc ...)`,
//! `DISTCC_HOSTS` and `MAKEFLAGS` in its makepkg.conf builds a PKGBUILD of the Lua interpreter
//! as an unprivileged user; makepkg puts /usr/lib/distcc/bin first on PATH, so the client runs
//! in masquerade mode; every compile lands on the helpers and the packaged program runs.

use dcc_testkit::DaemonKind;
use dcc_testkit::netns::farm::makepkg::{LuaPackage, Masquerade, nobody};
use dcc_testkit::netns::farm::{CLIENT, Helper, HelperOptions, addr};

use crate::common::{Farm, assert_all_from, require_tool, wait_total};

#[test]
fn makepkg_builds_a_package_on_the_helpers() {
    require_tool("makepkg", "makepkg pacman-package-manager libarchive-tools");
    require_tool("bsdtar", "libarchive-tools");
    let f = Farm::new();
    let a = Helper::start(&f.world, &f.a, HelperOptions::new(DaemonKind::Ours));
    let b = Helper::start(&f.world, &f.b, HelperOptions::new(DaemonKind::Ours));
    let hosts = format!("{} {}", b.spec(None), a.spec(None));
    let (uid, gid) = nobody();
    let pkg = LuaPackage::prepare(
        &f.world.path("makepkg"),
        &CLIENT.path(),
        &hosts,
        8,
        uid,
        gid,
    );
    let _masq = Masquerade::install(&pkg.bin.join("distcc"));

    let out = pkg.makepkg(&f.master);
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "makepkg failed:\n{log}");
    let file = pkg.package_file();
    assert!(file.exists(), "no package {}:\n{log}", file.display());

    // Every compile ran on a helper, for the master.
    let counts = wait_total(&[&a, &b], "COMPILE_OK", pkg.units);
    assert_eq!(counts.iter().sum::<usize>(), pkg.units, "{counts:?}\n{log}");
    assert!(
        counts.iter().all(|&c| c > 0),
        "both helpers worked: {counts:?}"
    );
    for h in [&a, &b] {
        assert_all_from(h, addr::MASTER);
    }

    // The packaged program runs.
    let root = f.world.path("installed");
    std::fs::create_dir_all(&root).expect("mkdir");
    let st = std::process::Command::new("bsdtar")
        .arg("-xf")
        .arg(&file)
        .arg("-C")
        .arg(&root)
        .status()
        .expect("bsdtar");
    assert!(st.success());
    let run = std::process::Command::new(root.join("usr/bin/lua"))
        .args(["-e", "print(('farm'):rep(2), 6 * 7, _VERSION)"])
        .output()
        .expect("run the packaged lua");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "farmfarm\t42\tLua 5.4\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
