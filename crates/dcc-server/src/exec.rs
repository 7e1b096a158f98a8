//! Running a compiler (distcc src/exec.c): behind a trait, so the job logic (statuses,
//! disconnects, timeouts) is testable without gcc (the idea of sccache's mock_command.rs).
//! The trait stays because a test uses it: tests/serve.rs runs the daemon core with
//! compilers that run until killed, to check that a client's disconnect and shutdown kill
//! a running compile at a moment the test chooses, which a real gcc cannot be held at.
//!
//! The real runner starts the program in a new process group (so a kill reaches everything
//! the driver started: cc1, as, ...), with stdin from /dev/null and stdout/stderr to files in
//! the job's directory.

use std::future::Future;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawn {
    /// The resolved program.
    pub program: PathBuf,
    /// Arguments after argv[0].
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// Extra environment (`_DISTCC_SAFEGUARD`, PATH).
    pub env: Vec<(String, String)>,
}

/// A started compiler.
pub trait Running: Send {
    /// Wait for it; the raw Unix wait status.
    fn wait(&mut self) -> impl Future<Output = io::Result<u32>> + Send;
    /// Ask the whole process group to stop (SIGTERM; SIGKILL follows in `wait` if needed).
    fn kill(&mut self);
}

/// Something that starts compilers.
pub trait Runner: Send + Sync + 'static {
    type Child: Running;
    fn spawn(&self, spawn: &Spawn) -> io::Result<Self::Child>;
}

/// The real thing: tokio processes in their own process group.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRunner;

/// A real compiler process.
#[derive(Debug)]
pub struct ProcessChild {
    child: tokio::process::Child,
    pgid: Option<i32>,
    killed: bool,
}

impl Runner for ProcessRunner {
    type Child = ProcessChild;

    fn spawn(&self, s: &Spawn) -> io::Result<ProcessChild> {
        let stdout = std::fs::File::create(&s.stdout)?;
        let stderr = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&s.stderr)?;
        let mut cmd = tokio::process::Command::new(&s.program);
        cmd.args(&s.args)
            .current_dir(&s.cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn()?;
        let pgid = child.id().and_then(|p| i32::try_from(p).ok());
        Ok(ProcessChild {
            child,
            pgid,
            killed: false,
        })
    }
}

fn kill_group(pgid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the process group; no memory involved.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// How long a killed compiler gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

impl Running for ProcessChild {
    async fn wait(&mut self) -> io::Result<u32> {
        if self.killed {
            // Give it the grace period, then make sure.
            if let Ok(r) = tokio::time::timeout(KILL_GRACE, self.child.wait()).await {
                return r.map(|s| s.into_raw() as u32);
            }
            if let Some(pg) = self.pgid {
                kill_group(pg, libc::SIGKILL);
            }
        }
        // No group kill after a normal exit: once the leader is reaped its pid may be reused
        // by another job's group leader. gcc's driver waits for its own children.
        let status = self.child.wait().await?;
        Ok(status.into_raw() as u32)
    }

    fn kill(&mut self) {
        if let Some(pg) = self.pgid {
            kill_group(pg, libc::SIGTERM);
        }
        self.killed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(dir: &std::path::Path, script: &str) -> Spawn {
        Spawn {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_owned(),
            stdout: dir.join("out"),
            stderr: dir.join("err"),
            env: vec![("X_TEST".into(), "42".into())],
        }
    }

    #[tokio::test]
    async fn status_and_output_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = ProcessRunner
            .spawn(&spawn(
                dir.path(),
                "echo out $X_TEST; echo err >&2; pwd >&2; exit 3",
            ))
            .unwrap();
        let st = c.wait().await.unwrap();
        assert_eq!(st, 3 << 8);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out")).unwrap(),
            "out 42\n"
        );
        let err = std::fs::read_to_string(dir.path().join("err")).unwrap();
        assert!(err.starts_with("err\n"), "{err}");
        assert!(err.contains(dir.path().file_name().unwrap().to_str().unwrap()));
    }

    #[tokio::test]
    async fn kill_reaches_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-ran");
        // The grandchild would write the marker after 3 s unless the group is killed.
        let script = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let mut c = ProcessRunner.spawn(&spawn(dir.path(), &script)).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.kill();
        let st = c.wait().await.unwrap();
        assert_eq!(st & 0x7f, libc::SIGTERM as u32, "terminated by SIGTERM");
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert!(!marker.exists(), "the grandchild was killed with its group");
    }

    #[test]
    fn missing_program_fails_to_spawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spawn(dir.path(), "true");
        s.program = "/nonexistent/cc".into();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(ProcessRunner.spawn(&s).is_err());
        });
    }
}
