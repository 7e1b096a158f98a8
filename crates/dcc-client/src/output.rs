//! Writing a received object file where the compiler would have written it (distcc src/bulk.c
//! `dcc_r_file`, reference §1.5).
//!
//! - An existing *non-empty* file is unlinked first, so a file that another process has open
//!   (a hard link, a running program) is replaced rather than rewritten in place, while
//!   `/dev/null` and FIFOs (size 0) are opened as they are: `-o /dev/null` works.
//! - `open(O_WRONLY|O_CREAT|O_TRUNC, 0666)`, so the mode is `0666 & ~umask`, as gcc's.
//! - Missing parent directories are created (distcc does; gcc itself would fail, but the
//!   local fallback then reports that).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Write `data` to `path` as described in the module documentation; a write that fails
/// part-way leaves no truncated file ([`remove_partial_output`]).
pub fn write_output(path: &Path, data: &[u8]) -> io::Result<()> {
    let written = open_output(path)?.write_all(data);
    if written.is_err() {
        remove_partial_output(path);
    }
    written
}

/// Remove what a failed write left at `path`: a regular file only (`/dev/null` and FIFOs are
/// never removed, as [`open_output`] never replaces them).
pub fn remove_partial_output(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Open `path` for the object as described in the module documentation.
pub fn open_output(path: &Path) -> io::Result<File> {
    if let Ok(m) = std::fs::symlink_metadata(path)
        && m.len() > 0
        && !m.file_type().is_char_device()
        && !m.file_type().is_fifo()
    {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let open = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o666)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            open()
        }
        r => r,
    }
}

/// The compiler's stdout and stderr from the server, passed on unchanged (only for results
/// we keep: its colours and all).
pub fn pass_output(r: &mut crate::reply::Received) {
    use std::io::Write;
    if !r.stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = r.stdout.copy_to(&mut out);
        let _ = out.flush();
    }
    if !r.stderr.is_empty() {
        let _ = r.stderr.copy_to(&mut std::io::stderr().lock());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn dev_null_works() {
        write_output(Path::new("/dev/null"), b"object").unwrap();
        assert!(Path::new("/dev/null").exists());
    }

    #[test]
    fn non_empty_files_are_replaced_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.o");
        let link = dir.path().join("hardlink.o");
        std::fs::write(&out, "old contents").unwrap();
        std::fs::hard_link(&out, &link).unwrap();
        write_output(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(
            std::fs::read(&link).unwrap(),
            b"old contents",
            "the other name keeps the old inode"
        );
        // An empty existing file is opened in place (same inode).
        let empty = dir.path().join("e.o");
        std::fs::write(&empty, "").unwrap();
        let ino = std::fs::metadata(&empty).unwrap().ino();
        write_output(&empty, b"data").unwrap();
        assert_eq!(std::fs::metadata(&empty).unwrap().ino(), ino);
    }

    #[test]
    fn parents_are_created_and_mode_follows_umask() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b/c.o");
        write_output(&out, b"").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"");
        // Whatever the umask, the mode is 0666 & ~umask (read without changing it).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !mask);
    }
}
