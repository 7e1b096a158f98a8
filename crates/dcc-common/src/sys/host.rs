//! This machine's host name.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// `gethostname(2)`, or `None` when the call fails. Each caller decides what a name that is
/// empty or not UTF-8 means for it.
pub fn hostname() -> Option<OsString> {
    // HOST_NAME_MAX is 64 on Linux; a longer buffer costs nothing.
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(OsString::from_vec(buf[..end].to_vec()))
}

/// The host name for text we write (a key's comment, an mDNS instance): the name when it is
/// UTF-8 and not empty, else `localhost`.
pub fn hostname_or_localhost() -> String {
    hostname()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same name the kernel reports through /proc.
    #[test]
    fn hostname_is_the_kernels() {
        let proc = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(hostname().unwrap(), OsString::from(proc.trim_end()));
    }
}
