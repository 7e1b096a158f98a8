//! Receiving a request's body into the job's directory: the preprocessed source (plain), or
//! the client's tree (pump, [`crate::pump`]).

use std::path::{Path, PathBuf};

use bytes::BytesMut;
use dcc_common::{Level, dcc_log};
use dcc_proto::{RequestDecoder, RequestEvent, RequestHeader};
use tokio::io::AsyncRead;

use crate::exec::Runner;
use crate::job::{ReadError, next_event};
use crate::pump;
use crate::server::Server;
use crate::vetting::{self, Prepared};
use crate::workdir::JobDir;

/// Where a received job's files are.
#[derive(Debug)]
pub struct Layout {
    /// The compiler's working directory.
    pub cwd: PathBuf,
    pub argv: Vec<String>,
    pub object: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The compiler's `TMPDIR`: inside the job, so a killed compile leaves nothing behind.
    pub tmp: PathBuf,
    /// The job's directory, for rewriting its paths out of messages.
    pub dir: PathBuf,
    /// Pump mode: the `.d` the compiler writes, the client's target, and the root.
    pub deps: Option<(PathBuf, String)>,
    pub root: Option<PathBuf>,
}

/// Where a plain job's preprocessed source is written.
pub fn plain_input(dir: &Path, prepared: &Prepared) -> PathBuf {
    dir.join(format!("in{}", prepared.input_ext))
}

pub enum Received {
    Read(ReadError),
    Refused(vetting::Refusal),
    Local(String),
}

pub async fn receive<I: AsyncRead + Unpin + Send>(
    srv: &Server<impl Runner>,
    input: &mut I,
    buf: &mut BytesMut,
    dec: &mut RequestDecoder,
    header: &RequestHeader,
    prepared: &Prepared,
    dir: &JobDir,
) -> Result<Layout, Received> {
    let timeout = srv.env.io_timeout;
    let object = dir.file(&format!("out{}", prepared.output_ext));
    let stdout = dir.file("stdout");
    let stderr = dir.file("stderr");
    let tmp = dir.file("tmp");
    std::fs::create_dir(&tmp).map_err(|e| Received::Local(format!("mkdir tmp: {e}")))?;
    if !header.protocol.pump {
        let ev = next_event(input, buf, dec, timeout)
            .await
            .map_err(Received::Read)?;
        let RequestEvent::Doti(doti) = ev else {
            return Err(Received::Local("expected DOTI".into()));
        };
        let input_path = plain_input(dir.path(), prepared);
        tokio::fs::write(&input_path, &doti)
            .await
            .map_err(|e| Received::Local(format!("failed to write input: {e}")))?;
        match next_event(input, buf, dec, timeout).await {
            Ok(RequestEvent::End) => {}
            Ok(_) => return Err(Received::Local("unexpected data after DOTI".into())),
            Err(e) => return Err(Received::Read(e)),
        }
        let argv = vetting::rewrite_plain(&header.argv, prepared, &input_path, &object);
        return Ok(Layout {
            cwd: dir.path().to_owned(),
            argv,
            object,
            stdout,
            stderr,
            tmp,
            dir: dir.path().to_owned(),
            deps: None,
            root: None,
        });
    }
    // Pump: the client's tree under <dir>/root.
    let root = dir.file("root");
    std::fs::create_dir(&root).map_err(|e| Received::Local(format!("mkdir root: {e}")))?;
    let cdir = header.cdir.clone().unwrap_or_else(|| "/".into());
    let cwd =
        pump::make_cwd(&root, &cdir).map_err(|e| Received::Refused(vetting::pump_refusal(&e)))?;
    let mut failed: Option<pump::PumpError> = None;
    loop {
        match next_event(input, buf, dec, timeout)
            .await
            .map_err(Received::Read)?
        {
            RequestEvent::End => break,
            RequestEvent::FileCount(_) => {}
            RequestEvent::File(entry) => {
                if failed.is_none() {
                    dcc_log!(
                        Level::Debug,
                        "dcc_r_many_files",
                        "received {} into {}",
                        entry.name(),
                        root.display()
                    );
                    if let Err(e) = pump::write_entry(&root, &entry) {
                        failed = Some(e);
                    }
                }
            }
            _ => return Err(Received::Local("unexpected event in file list".into())),
        }
    }
    if let Some(e) = failed {
        return Err(Received::Refused(vetting::pump_refusal(&e)));
    }
    let deps = dir.file("deps.d");
    let (argv, target) = vetting::rewrite_pump(&header.argv, prepared, &root, &object, &deps);
    Ok(Layout {
        cwd,
        argv,
        object,
        stdout,
        stderr,
        tmp,
        dir: dir.path().to_owned(),
        deps: Some((deps, target)),
        root: Some(root),
    })
}
