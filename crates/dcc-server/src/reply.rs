//! The reply to a compile: the compiler's messages (with the job's paths made the
//! client's), its output, the object and (pump) the dependency file, read from the job's
//! directory.
//!
//! Read on a blocking thread ([`collect`]): an object may be as large as a client's reply
//! decoder accepts, and reading it is no work for one of the runtime's few workers.

use std::path::Path;

use dcc_common::Level;
use dcc_proto::Reply;

use crate::job::serr_line;
use crate::pump;
use crate::receive::Layout;
use crate::vetting::{self, Prepared};

/// Collect the reply of a compile that ended with `status`; `extra_stderr` (the daemon's
/// own messages about the compile) goes after the compiler's.
pub(crate) async fn collect(
    prepared: &Prepared,
    layout: &Layout,
    status: u32,
    extra_stderr: Vec<u8>,
) -> std::io::Result<Reply> {
    let (prepared, layout) = (prepared.clone(), layout.clone());
    tokio::task::spawn_blocking(move || build(&prepared, &layout, status, extra_stderr))
        .await
        .map_err(std::io::Error::other)?
}

/// The first line of the compiler's complaint says most about why a compile failed.
pub(crate) fn compile_error_reason(stderr: &[u8], status: u32) -> String {
    let text = String::from_utf8_lossy(stderr);
    let first = text
        .lines()
        .find(|l| l.contains("error"))
        .or_else(|| text.lines().next());
    let code = (status >> 8) & 0xff;
    match first {
        Some(l) => format!("exit {code}: {l}"),
        None => format!("exit {code}"),
    }
}

fn read_capped(path: &Path, cap: usize) -> std::io::Result<Vec<u8>> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() as usize > cap => Err(std::io::Error::other(format!(
            "{} is {} bytes, over the limit of {cap}",
            path.display(),
            m.len()
        ))),
        Ok(_) => std::fs::read(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The compiler's messages with the job's server paths replaced by the client's, as in the
/// object and the .d: the pump root goes (`<job>/root/src/a.h` is the client's `/src/a.h`),
/// the job's input and output become the client's names, and anything else in the job's
/// directory is shown relative to it.
fn client_paths(text: &[u8], prepared: &Prepared, layout: &Layout) -> Vec<u8> {
    let mut out = text.to_vec();
    let dir = layout.dir.to_string_lossy().into_owned();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(root) = &layout.root {
        pairs.push((root.to_string_lossy().into_owned(), String::new()));
    } else {
        let input = crate::receive::plain_input(&layout.dir, prepared);
        pairs.push((
            input.to_string_lossy().into_owned(),
            prepared.input_name.clone(),
        ));
    }
    pairs.push((
        layout.object.to_string_lossy().into_owned(),
        prepared.output_name.clone(),
    ));
    pairs.push((format!("{dir}/"), String::new()));
    pairs.push((dir, ".".into()));
    for (from, to) in pairs {
        out = replace_all(&out, from.as_bytes(), to.as_bytes());
    }
    out
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn build(
    prepared: &Prepared,
    layout: &Layout,
    status: u32,
    mut extra_stderr: Vec<u8>,
) -> std::io::Result<Reply> {
    // The most a client's reply decoder accepts per body (dcc_proto's default limits).
    let cap = dcc_proto::Limits::default().max_decompressed;
    // As distcc, the daemon's warnings about the job reach the client in SERR, before the
    // compiler's own messages (they were logged before the compiler ran).
    let mut stderr = Vec::new();
    for w in &prepared.warnings {
        stderr.extend(serr_line(Level::Warning, "dcc_check_compiler_masq", w));
    }
    stderr.extend(client_paths(
        &read_capped(&layout.stderr, cap)?,
        prepared,
        layout,
    ));
    stderr.append(&mut extra_stderr);
    let stdout = read_capped(&layout.stdout, cap)?;
    let mut object = Vec::new();
    let mut dotd = None;
    if status == 0 {
        object = read_capped(&layout.object, cap)?;
        if let (Some(root), Some((deps, target))) = (&layout.root, &layout.deps) {
            let root_s = root.to_string_lossy().into_owned();
            pump::scrub_root(&mut object, root_s.as_bytes());
            let text = String::from_utf8_lossy(&read_capped(deps, cap)?).into_owned();
            let cleaned =
                vetting::cleanup_dotd(&text, &layout.object.to_string_lossy(), target, &root_s);
            dotd = Some(cleaned.into_bytes());
        }
    }
    Ok(Reply {
        status,
        stderr,
        stdout,
        object,
        dotd,
    })
}
