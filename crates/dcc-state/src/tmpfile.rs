//! distcc's temporary file names (src/tempfile.c `dcc_make_tmpnam`).
//!
//! `<dir>/<prefix>_<8 hex digits><suffix>`, where the hex is the low 32 bits of
//! `(pid << 16) ^ (usec << 16) ^ sec`, created with `O_EXCL` and mode 0600. On a clash distcc
//! adds 7777 and tries again. distcc loops forever on any error (a read-only TMPDIR hangs the
//! client); we retry only on `EEXIST`, and give up after a bounded number of tries.
//!
//! The suffix is appended as given, including its dot, as distcc's callers pass it (`".i"`,
//! `".txt"`): `make_tmpnam(tmp, "distcc", ".i")` gives `distcc_1a2b3c4d.i`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::concat_path;

/// Clashes tolerated before giving up (distcc: unbounded).
const MAX_TRIES: u32 = 10_000;

/// Create a new, empty, private temporary file with distcc's name shape. Returns its path and
/// the file, open for writing. Removing it is the caller's business.
pub fn make_tmpnam(dir: &Path, prefix: &str, suffix: &str) -> io::Result<(PathBuf, File)> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut bits = seed(std::process::id(), now.as_secs(), now.subsec_micros());
    for _ in 0..MAX_TRIES {
        let path = concat_path(dir, &name(prefix, bits, suffix));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                bits = bits.wrapping_add(7777); // "fairly prime"
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name",
    ))
}

fn seed(pid: u32, sec: u64, usec: u32) -> u64 {
    (u64::from(pid) << 16) ^ (u64::from(usec) << 16) ^ sec
}

fn name(prefix: &str, bits: u64, suffix: &str) -> String {
    format!("{prefix}_{:08x}{suffix}", bits & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn name_shape_is_distccs() {
        assert_eq!(name("distcc", 0x1234, ".i"), "distcc_00001234.i");
        assert_eq!(
            name("distcc_server_stderr", 0x1_dead_beef, ".txt"),
            "distcc_server_stderr_deadbeef.txt"
        );
        assert_eq!(seed(1, 2, 3), (1 << 16) ^ (3 << 16) ^ 2);
    }

    #[test]
    fn creates_private_distinct_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, _fa) = make_tmpnam(tmp.path(), "distcc", ".ii").unwrap();
        let (b, _fb) = make_tmpnam(tmp.path(), "distcc", ".ii").unwrap();
        assert_ne!(a, b);
        for p in [&a, &b] {
            let n = p.file_name().unwrap().to_str().unwrap();
            assert_eq!(n.len(), "distcc_".len() + 8 + ".ii".len(), "{n}");
            assert!(n.starts_with("distcc_") && n.ends_with(".ii"), "{n}");
            assert!(n[7..15].bytes().all(|c| c.is_ascii_hexdigit()), "{n}");
            let mode = std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn other_errors_do_not_loop() {
        let tmp = tempfile::tempdir().unwrap();
        let err = make_tmpnam(&tmp.path().join("missing"), "distcc", ".i").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
