//! The distcc guide's makepkg flow: `BUILDENV=(distcc ...)` makes makepkg put Arch's masquerade
//! directory `/usr/lib/distcc/bin` first on PATH, so `cc`/`gcc` there are links to distcc.
//!
//! [`Masquerade`] creates that system directory for one test (with a marker file, so a copy left
//! by a crashed run is recognised and replaced) and removes it on drop; it refuses to touch a
//! directory the tests did not make. [`LuaPackage`] writes a PKGBUILD of the Lua interpreter
//! (the lua workload's library sources, a small `main`, and a Makefile that uses make's
//! built-in `%.o: %.c` rule, as most packages' do), a makepkg.conf with the farm's `DISTCC_HOSTS` and `MAKEFLAGS`, and
//! hands the tree to the unprivileged user who runs makepkg (makepkg refuses root).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::netns::Host;
use crate::workload;

/// Arch's masquerade directory, the one makepkg's `buildenv_distcc` looks for.
pub const MASQUERADE_DIR: &str = "/usr/lib/distcc/bin";
const MARKER: &str = ".dcc-farm-tests";

/// `/usr/lib/distcc/bin` with `cc`, `gcc`, `c++`, `g++` linked to a distcc client; removed on drop.
#[derive(Debug)]
pub struct Masquerade {
    dir: PathBuf,
}

impl Masquerade {
    /// Create the directory with links to `client`. Panics if it exists and is not ours.
    pub fn install(client: &Path) -> Masquerade {
        let dir = PathBuf::from(MASQUERADE_DIR);
        if dir.exists() {
            assert!(
                dir.join(MARKER).exists(),
                "{MASQUERADE_DIR} exists and was not made by the farm tests; the makepkg test \
                 creates and removes it, so move it away first"
            );
            std::fs::remove_dir_all(&dir).expect("remove a stale masquerade directory");
        }
        std::fs::create_dir_all(&dir).expect("mkdir /usr/lib/distcc/bin");
        std::fs::write(
            dir.join(MARKER),
            b"made by dcc-farm-tests; removed when the test ends\n",
        )
        .expect("marker");
        for n in ["cc", "gcc", "c++", "g++"] {
            std::os::unix::fs::symlink(client, dir.join(n)).expect("masquerade link");
        }
        Masquerade { dir }
    }
}

impl Drop for Masquerade {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The uid and gid of `nobody`, who runs makepkg.
pub fn nobody() -> (u32, u32) {
    // SAFETY: getpwnam with a NUL-terminated name; the record is copied out at once.
    let pw = unsafe { libc::getpwnam(c"nobody".as_ptr()) };
    assert!(!pw.is_null(), "no user `nobody` on this machine");
    // SAFETY: non-null pointer returned by getpwnam.
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

/// A PKGBUILD tree for the Lua interpreter, owned by the user who builds it.
#[derive(Debug)]
pub struct LuaPackage {
    /// The PKGBUILD's directory (also makepkg's working and output directory).
    pub dir: PathBuf,
    /// HOME of the building user (the client's DISTCC_DIR defaults to `$HOME/.distcc`).
    pub home: PathBuf,
    /// `bin/distcc`: the client, first on PATH (makepkg checks that `distcc` exists).
    pub bin: PathBuf,
    pub conf: PathBuf,
    /// How many C files the package compiles.
    pub units: usize,
    uid: u32,
    gid: u32,
}

pub const PKGNAME: &str = "lua-farm";

/// The interpreter's `main`: run each `-e CHUNK` or script file argument in one Lua state.
const FRONT_END: &str = r#"/* lua-farm: a minimal Lua front end for the distcc farm's makepkg test. */
#include <stdio.h>
#include <string.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return 1;
    luaL_openlibs(L);
    for (int i = 1; i < argc; i++) {
        int failed;
        if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
            failed = luaL_dostring(L, argv[++i]);
        else
            failed = luaL_dofile(L, argv[i]);
        if (failed) {
            fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
            lua_close(L);
            return 1;
        }
    }
    lua_close(L);
    return 0;
}
"#;
pub const PKGVER: &str = "5.4.9";

impl LuaPackage {
    /// Write the tree under `root` for `uid`/`gid`: sources tarball, PKGBUILD, makepkg.conf with
    /// `distcc_hosts` and `-jJOBS`, and a copy of `client` as `bin/distcc` (the target directory
    /// may not be reachable by an unprivileged user).
    pub fn prepare(
        root: &Path,
        client: &Path,
        distcc_hosts: &str,
        jobs: u32,
        uid: u32,
        gid: u32,
    ) -> LuaPackage {
        let (_flags, src, units) = workload::units(&workload::prepare("lua"));
        let dir = root.join("pkg");
        let home = root.join("home");
        let bin = root.join("bin");
        let stage = root.join("stage").join(format!("{PKGNAME}-{PKGVER}"));
        for d in [&dir, &home, &bin, &stage] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::copy(client, bin.join("distcc")).expect("copy the client");
        std::fs::set_permissions(bin.join("distcc"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");

        // The Lua library (every unit of the workload) and a small front end with `main`
        // (lua-src ships the library only).
        let mut objs = Vec::new();
        for (_obj, file) in &units {
            std::fs::copy(src.join(file), stage.join(file)).expect("copy source");
            objs.push(file.replace(".c", ".o"));
        }
        for e in std::fs::read_dir(&src).expect("lua sources").flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".h") {
                std::fs::copy(e.path(), stage.join(&n)).expect("copy header");
            }
        }
        std::fs::write(stage.join("lua.c"), FRONT_END).expect("front end");
        objs.push("lua.o".to_owned());
        std::fs::write(
            stage.join("Makefile"),
            format!(
                "CPPFLAGS += -DLUA_COMPAT_5_3 -DLUA_USE_LINUX\n\
                 OBJS = {}\n\
                 lua: $(OBJS)\n\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) -lm -ldl\n",
                objs.join(" ")
            ),
        )
        .expect("Makefile");
        let tarball = format!("{PKGNAME}-{PKGVER}.tar");
        let st = Command::new("tar")
            .arg("-cf")
            .arg(dir.join(&tarball))
            .arg("-C")
            .arg(stage.parent().expect("stage parent"))
            .arg(format!("{PKGNAME}-{PKGVER}"))
            .status()
            .expect("run tar");
        assert!(st.success(), "tar of the lua sources failed");

        std::fs::write(
            dir.join("PKGBUILD"),
            format!(
                "pkgname={PKGNAME}\npkgver={PKGVER}\npkgrel=1\n\
                 pkgdesc='Lua interpreter built through a distcc farm'\n\
                 arch=('x86_64')\nlicense=('MIT')\n\
                 source=('{tarball}')\nsha256sums=('SKIP')\n\
                 build() {{\n  cd \"$srcdir/{PKGNAME}-{PKGVER}\"\n  make\n}}\n\
                 package() {{\n  cd \"$srcdir/{PKGNAME}-{PKGVER}\"\n  \
                 install -Dm755 lua \"$pkgdir/usr/bin/lua\"\n}}\n"
            ),
        )
        .expect("PKGBUILD");

        // Debian's makepkg.conf, then the guide's settings (later assignments win when makepkg
        // sources the file). Flags that would keep compiles local (-march=native) are avoided;
        // no debug or LTO variants; an uncompressed package.
        let mut conf = std::fs::read_to_string("/etc/makepkg.conf")
            .expect("/etc/makepkg.conf is missing: apt-get install -y makepkg");
        conf.push_str(&format!(
            "\n# dcc-farm-tests: the distcc guide's settings\n\
             BUILDENV=(distcc !color !ccache !check !sign)\n\
             DISTCC_HOSTS=\"{distcc_hosts}\"\n\
             MAKEFLAGS=\"-j{jobs}\"\n\
             CFLAGS=\"-O2 -pipe\"\nCXXFLAGS=\"-O2 -pipe\"\nCPPFLAGS=\"\"\nLDFLAGS=\"\"\n\
             OPTIONS=(!strip !docs !libtool !staticlibs !emptydirs !zipman !purge !debug !lto)\n\
             PKGEXT='.pkg.tar'\nSRCEXT='.src.tar'\n"
        ));
        let conf_path = root.join("makepkg.conf");
        std::fs::write(&conf_path, conf).expect("makepkg.conf");

        chown_tree(root, uid, gid);
        LuaPackage {
            dir,
            home,
            bin,
            conf: conf_path,
            units: objs.len(),
            uid,
            gid,
        }
    }

    /// Run `makepkg --nodeps` on `host` as the package's user.
    pub fn makepkg(&self, host: &Host) -> Output {
        host.command_as("makepkg", self.uid, self.gid)
            .args(["--nodeps", "--noconfirm", "--config"])
            .arg(&self.conf)
            .current_dir(&self.dir)
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()),
            )
            .env("HOME", &self.home)
            .env("USER", "nobody")
            .env("LOGNAME", "nobody")
            .env("LANG", "C")
            .stdin(Stdio::null())
            .output()
            .expect("run makepkg")
    }

    /// The package makepkg wrote.
    pub fn package_file(&self) -> PathBuf {
        self.dir
            .join(format!("{PKGNAME}-{PKGVER}-1-x86_64.pkg.tar"))
    }
}

/// chown `p` and everything below it.
fn chown_tree(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).expect("chown");
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).expect("read_dir").flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}
