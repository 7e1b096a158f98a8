//! The preprocessed source: the local preprocessor running in the background, or the input
//! itself when it is already preprocessed (`.i`, `.ii`, `.mi`, `.mii`).
//!
//! distcc (src/cpp.c `dcc_cpp_maybe`) sends cpp's output to `$TMPDIR/distcc_XXXXXXXX.i` and
//! reads that file back to send it. We read cpp's stdout through a pipe into memory instead:
//! no temporary file to create, remove and clean up after a signal, and the bytes are already
//! where the encoder wants them (a `DOTI` needs its length up front, so the body is buffered
//! either way). The pipe is enlarged to 1 MiB where the kernel allows it, so cpp rarely waits
//! for us; while the client is connecting it drains the pipe from the same `poll` loop
//! ([`Preprocessed::read_some`]), so preprocessing overlaps the connection as in distcc.
//! The output survives a failed host, so a retry on another host does not run cpp again
//! (distcc does).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::process::{Child, ChildStdout, ExitStatus, Stdio};

use crate::exec::{ChildEnv, spawn};
use crate::signals::ChildGuard;

/// The buffer grows by at least this much (below glibc's mmap threshold, so small outputs
/// never cost a mapping).
const CHUNK: usize = 64 * 1024;
/// The pipe size asked for (Linux's default `pipe-max-size` for unprivileged processes).
const PIPE_SIZE: libc::c_int = 1 << 20;

/// The source to send, complete or still being produced.
#[derive(Debug)]
pub struct Preprocessed {
    child: Option<Child>,
    pipe: Option<ChildStdout>,
    guard: Option<ChildGuard>,
    buf: Vec<u8>,
    status: Option<ExitStatus>,
}

impl Preprocessed {
    /// Start the preprocessor `argv` with stdin from `/dev/null` and stdout into memory;
    /// stderr is ours, so its diagnostics reach the user at once.
    pub fn spawn(cenv: &ChildEnv, argv: &[String]) -> io::Result<Preprocessed> {
        let mut child = spawn(cenv, argv, |c| {
            c.stdin(Stdio::null()).stdout(Stdio::piped());
        })?;
        let pipe = child.stdout.take();
        if let Some(p) = &pipe {
            // SAFETY: fcntl on a descriptor we own; failure (old kernel, limit) is harmless.
            unsafe {
                libc::fcntl(p.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
            }
        }
        let guard = Some(ChildGuard::new(child.id()));
        Ok(Preprocessed {
            child: Some(child),
            pipe,
            guard,
            buf: Vec::new(),
            status: None,
        })
    }

    /// An input that needs no preprocessing: its bytes as they are.
    pub fn ready(bytes: Vec<u8>) -> Preprocessed {
        Preprocessed {
            child: None,
            pipe: None,
            guard: None,
            buf: bytes,
            status: Some(ExitStatus::default()),
        }
    }

    /// The pipe to poll for readability while connecting, if output is still coming.
    pub fn fd(&self) -> Option<RawFd> {
        self.pipe.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// One `read` from the pipe, for when `poll` says it is readable (so it does not block).
    pub fn read_some(&mut self) -> io::Result<()> {
        let Some(pipe) = &self.pipe else {
            return Ok(());
        };
        if self.buf.capacity() - self.buf.len() < CHUNK / 4 {
            self.buf.reserve(CHUNK.max(self.buf.len()));
        }
        let spare = self.buf.spare_capacity_mut();
        // SAFETY: reading into the vector's spare capacity, at most its length.
        let n = unsafe { libc::read(pipe.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        match n {
            0 => {
                self.pipe = None;
                Ok(())
            }
            n if n > 0 => {
                // SAFETY: the kernel initialised the first n spare bytes.
                unsafe { self.buf.set_len(self.buf.len() + n as usize) };
                Ok(())
            }
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Read the rest of the output and wait for the preprocessor. Idempotent.
    pub fn finish(&mut self) -> io::Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        while self.pipe.is_some() {
            self.read_some()?;
        }
        let st = match &mut self.child {
            Some(c) => c.wait()?,
            None => ExitStatus::default(),
        };
        self.guard = None;
        self.status = Some(st);
        Ok(st)
    }

    /// Whether the preprocessor has been waited for.
    pub fn is_finished(&self) -> bool {
        self.status.is_some()
    }

    /// The output so far (all of it after [`Self::finish`]).
    pub fn output(&self) -> &[u8] {
        &self.buf
    }

    /// Stop a preprocessor whose output is no longer wanted, and reap it.
    pub fn abandon(&mut self) {
        if self.status.is_some() {
            return;
        }
        self.pipe = None;
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            self.status = c.wait().ok();
        }
        self.guard = None;
    }
}

impl Drop for Preprocessed {
    fn drop(&mut self) {
        self.abandon();
    }
}

/// distcc's `.incbin` check (HEAD src/remote.c `dcc_check_unsupported_directives`): inline
/// assembly that includes a file by name cannot be compiled elsewhere.
pub fn has_incbin(source: &[u8]) -> bool {
    source.windows(9).enumerate().any(|(i, w)| {
        w == b".incbin \"" || (w == b".incbin \\" && source.get(i + 9) == Some(&b'"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cenv() -> ChildEnv {
        ChildEnv {
            path: None,
            safeguard: Some("1".into()),
        }
    }

    #[test]
    fn output_is_collected_through_the_pipe() {
        // More than a default pipe buffer, so the drain matters.
        let argv: Vec<String> = ["sh", "-c", "head -c 300000 /dev/zero; echo end"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut p = Preprocessed::spawn(&cenv(), &argv).unwrap();
        assert!(p.fd().is_some());
        p.read_some().unwrap();
        let st = p.finish().unwrap();
        assert!(st.success());
        assert_eq!(p.output().len(), 300_004);
        assert!(p.output().ends_with(b"end\n"));
        assert!(p.finish().unwrap().success(), "idempotent");
    }

    #[test]
    fn failure_status_and_abandon() {
        let argv: Vec<String> = ["sh", "-c", "exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut p = Preprocessed::spawn(&cenv(), &argv).unwrap();
        assert_eq!(p.finish().unwrap().code(), Some(3));
        let argv: Vec<String> = ["sleep", "30"].iter().map(|s| s.to_string()).collect();
        let mut p = Preprocessed::spawn(&cenv(), &argv).unwrap();
        let start = std::time::Instant::now();
        p.abandon();
        assert!(p.is_finished());
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        let r = Preprocessed::ready(b"int x;".to_vec());
        assert!(r.is_finished() && r.fd().is_none());
    }

    #[test]
    fn incbin_is_found() {
        assert!(has_incbin(b"asm(\".incbin \\\"data.bin\\\"\");"));
        assert!(has_incbin(b"  .incbin \"x\"\n"));
        assert!(!has_incbin(b"int incbin;"));
        assert!(!has_incbin(b".incbin"));
    }
}
