//! Builds on a farm host: a workload's Makefile run with `make -jN CC="<client> <compiler>"`
//! inside the master's namespace, and the local reference objects to compare with.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Host;
use crate::{World, bins, workload};

/// Whose distcc client a farm test drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Ours: `target/<profile>/distcc` (crate dcc-client).
    Ours,
    /// Debian's distcc 3.4: `/usr/bin/distcc`.
    Debian,
}

/// The client the farm scenarios drive (the mixed-fleet test uses Debian's beside it). One
/// switch, so a regression can be told apart: `Client::Debian` runs the same scenarios with the
/// reference client against our daemons.
pub const CLIENT: Client = Client::Ours;

impl Client {
    /// The client binary.
    pub fn path(self) -> PathBuf {
        match self {
            Client::Ours => bins::ours("distcc"),
            Client::Debian => bins::reference("distcc"),
        }
    }

    /// The make `CC` value for `compiler` through this client: `"/path/distcc gcc"`.
    pub fn cc(self, compiler: &str) -> String {
        format!("{} {compiler}", self.path().display())
    }
}

/// The local objects of workload `name` built with plain `compiler` (no distcc), built once per
/// machine and cached beside the prepared workload.
pub fn reference(name: &str, compiler: &str) -> PathBuf {
    if compiler == "gcc" {
        return workload::reference_objects(name);
    }
    let dir = workload::prepare(name);
    let out = dir.with_file_name(format!("{name}-reference-{compiler}"));
    let lock =
        std::fs::File::create(dir.with_file_name(format!("{name}-reference-{compiler}.lock")))
            .expect("lock file");
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    unsafe {
        libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX);
    }
    if !out.join("done").exists() {
        let _ = std::fs::remove_dir_all(&out);
        let o = workload::build(name, &out, compiler, 4, &[]);
        assert!(
            o.status.success(),
            "local reference build of {name} with {compiler} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(out.join("done"), b"").expect("mark done");
    }
    out.join("obj")
}

/// The number of translation units of workload `name`.
pub fn units(name: &str) -> usize {
    workload::units(&workload::prepare(name)).2.len()
}

/// A build running on a host.
#[derive(Debug)]
pub struct Build {
    child: Child,
    started: Instant,
    dir: PathBuf,
    distcc_dir: PathBuf,
    stderr: PathBuf,
}

/// A finished build.
#[derive(Debug)]
pub struct Built {
    pub success: bool,
    pub elapsed: Duration,
    /// make's and the client's stderr.
    pub stderr: String,
    /// The object tree (`<dir>/obj`).
    pub objects: PathBuf,
    /// The client's DISTCC_DIR.
    pub distcc_dir: PathBuf,
}

impl Built {
    /// Panic with the build's stderr unless it succeeded.
    pub fn assert_success(&self, what: &str) {
        assert!(self.success, "{what} failed:\n{}", self.stderr);
    }

    /// The backoff marks the client left (`backoff_tcp_10.3.0.6_3632_0`, ...).
    pub fn backoffs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.distcc_dir.join("lock"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("backoff_"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Build {
    /// Start `make -s -jJOBS CC=<cc>` of workload `name` on `host`, in the world's `tag/`
    /// directory with its own DISTCC_DIR and TMPDIR, and `env` on top of a minimal environment.
    pub fn start(
        world: &World,
        host: &Host,
        tag: &str,
        name: &str,
        cc: &str,
        jobs: u32,
        env: &[(&str, &str)],
    ) -> Build {
        let mk = workload::prepare(name).join("Makefile");
        let dir = world.path(tag);
        let distcc_dir = world.path(&format!("{tag}-distcc"));
        let tmp = world.path(&format!("{tag}-tmp"));
        for d in [&dir, &distcc_dir, &tmp] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let stderr = world.path(&format!("logs/{tag}.make.stderr"));
        let mut cmd = host.command("make");
        cmd.arg("-s")
            .arg("-C")
            .arg(&dir)
            .arg("-f")
            .arg(&mk)
            .arg(format!("-j{jobs}"))
            .arg(format!("CC={cc}"))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &dir)
            .env("TMPDIR", &tmp)
            .env("DISTCC_DIR", &distcc_dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        Build {
            child: cmd.spawn().expect("spawn make"),
            started: Instant::now(),
            dir,
            distcc_dir,
            stderr,
        }
    }

    /// Start, then wait for the end.
    pub fn run(
        world: &World,
        host: &Host,
        tag: &str,
        name: &str,
        cc: &str,
        jobs: u32,
        env: &[(&str, &str)],
    ) -> Built {
        Self::start(world, host, tag, name, cc, jobs, env).wait(Duration::from_secs(600))
    }

    /// Whether make is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The build directory (objects go to `obj/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Wait for make to finish; a build still running after `limit` is killed and panics.
    pub fn wait(mut self, limit: Duration) -> Built {
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "build in {} still running after {limit:?}; stderr:\n{}",
                    self.dir.display(),
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Built {
            success: status.success(),
            elapsed: self.started.elapsed(),
            stderr: std::fs::read_to_string(&self.stderr).unwrap_or_default(),
            objects: self.dir.join("obj"),
            distcc_dir: self.distcc_dir.clone(),
        }
    }
}

impl Drop for Build {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
