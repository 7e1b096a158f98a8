//! Running a distcc client (ours or Debian's) in a [`World`], and fake compilers for it.
//!
//! Every command gets an explicit environment: `PATH` (the world's `bin/` first, then the
//! system), `DISTCC_DIR`, `TMPDIR` (the world's `client_tmp/`, so leftovers can be counted),
//! `HOME` (the world) and `DISTCC_HOSTS`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{World, bins};

/// `PATH` for clients: the world's `bin/` (fake compilers) first.
pub fn client_path(w: &World) -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", w.path("bin").display())
}

/// A client command (`distcc` is a path: ours or `/usr/bin/distcc`) with the world's
/// environment and `DISTCC_HOSTS=hosts`.
pub fn client(w: &World, distcc: &Path, hosts: &str) -> Command {
    let tmp = w.path("client_tmp");
    std::fs::create_dir_all(&tmp).expect("mkdir client_tmp");
    std::fs::create_dir_all(w.path("bin")).expect("mkdir bin");
    let mut cmd = Command::new(distcc);
    cmd.env_clear()
        .env("PATH", client_path(w))
        .env("DISTCC_DIR", w.path("distcc_dir"))
        .env("TMPDIR", &tmp)
        .env("HOME", w.root())
        .env("DISTCC_HOSTS", hosts)
        .current_dir(w.path("src"));
    cmd
}

/// Our `distcc` in the world.
pub fn ours(w: &World, hosts: &str) -> Command {
    client(w, &bins::ours("distcc"), hosts)
}

/// Debian's `distcc` in the world.
pub fn debian(w: &World, hosts: &str) -> Command {
    client(w, &bins::reference("distcc"), hosts)
}

/// Files left in the clients' `TMPDIR`.
pub fn client_tmp_leftovers(w: &World) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(w.path("client_tmp"))
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Write an executable shell script `bin/<name>` in the world and return its path. The
/// directory is world-readable, so a daemon that dropped privileges can run it too.
pub fn script(w: &World, name: &str, body: &str) -> PathBuf {
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = bin.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

/// A compiler `bin/<name>` that sleeps `secs` before compiling (never before preprocessing,
/// which runs on the client), then runs gcc.
pub fn slow_compiler(w: &World, name: &str, secs: f32) -> PathBuf {
    script(
        w,
        name,
        &format!(
            "for a in \"$@\"; do [ \"$a\" = -E ] && exec gcc \"$@\"; done\nsleep {secs}\nexec gcc \"$@\"\n"
        ),
    )
}

/// A compiler `bin/<name>` that records in `logs/<name>.peak` the most copies of itself that
/// compiled at once (preprocessing is not counted), holding each compile for `secs`.
pub fn counting_compiler(w: &World, name: &str, secs: f32) -> (PathBuf, PathBuf) {
    let counter = w.path(&format!("logs/{name}.running"));
    let peak = w.path(&format!("logs/{name}.peak"));
    let body = format!(
        "for a in \"$@\"; do [ \"$a\" = -E ] && exec gcc \"$@\"; done\n\
         set -e\n\
         exec 9>>{c}.lock\n\
         flock 9\n\
         n=$(($(cat {c} 2>/dev/null || echo 0)+1))\n\
         echo $n > {c}\n\
         p=$(cat {p} 2>/dev/null || echo 0)\n\
         [ $n -gt $p ] && echo $n > {p}\n\
         flock -u 9\n\
         sleep {secs}\n\
         flock 9\n\
         echo $(($(cat {c})-1)) > {c}\n\
         flock -u 9\n\
         exec 9>&-\n\
         exec gcc \"$@\"\n",
        c = counter.display(),
        p = peak.display()
    );
    (script(w, name, &body), peak)
}

/// The number in a `counting_compiler` peak file (0 when it never ran).
pub fn read_peak(peak: &Path) -> u32 {
    std::fs::read_to_string(peak)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
