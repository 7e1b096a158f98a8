//! Dropping root (distcc src/setuid.c; reference §4.2): done at start-up, before the log
//! is opened and long before any thread or compiler exists.

use dcc_common::{ExitCode, Level, dcc_log};

/// distcc src/setuid.c: when started as root, become `--user` (default: the packaged
/// `distccd` or `distcc` user, else `nobody`, else 65534), drop supplementary groups, and set
/// no_new_privs. Refuse to go on as root.
pub(crate) fn discard_root(user: Option<&str>) -> Result<(), ExitCode> {
    use nix::unistd::{Gid, Uid, User, geteuid, getuid, setgid, setgroups, setuid};
    if !getuid().is_root() && !geteuid().is_root() {
        if user.is_some() {
            dcc_log!(
                Level::Warning,
                "distccd_parse_options",
                "--user is ignored when distccd is not run by root"
            );
        }
        return Ok(());
    }
    let candidates: Vec<&str> = match user {
        Some(u) => vec![u],
        None => vec!["distccd", "distcc"],
    };
    let mut found = None;
    for name in &candidates {
        if let Ok(Some(u)) = User::from_name(name) {
            found = Some((u.uid, u.gid));
            break;
        }
    }
    let (uid, gid) = match found {
        Some(ids) => ids,
        None => {
            if let Some(u) = user {
                dcc_log!(
                    Level::Warning,
                    "dcc_preferred_user",
                    "no such user as \"{u}\""
                );
            }
            match User::from_name("nobody") {
                Ok(Some(u)) => (u.uid, u.gid),
                _ => (Uid::from_raw(65534), Gid::from_raw(65534)),
            }
        }
    };
    if uid.is_root() {
        dcc_log!(
            Level::Critical,
            "dcc_discard_root",
            "refusing to run compiles as root (--user resolves to uid 0)"
        );
        return Err(ExitCode::SetuidFailed);
    }
    let fail = |what: &str, e: nix::Error| {
        dcc_log!(Level::Error, "dcc_discard_root", "{what} failed: {e}");
        ExitCode::SetuidFailed
    };
    setgid(gid).map_err(|e| fail("setgid", e))?;
    setgroups(&[gid]).map_err(|e| fail("setgroups", e))?;
    setuid(uid).map_err(|e| fail("setuid", e))?;
    if getuid().is_root() || geteuid().is_root() {
        dcc_log!(
            Level::Critical,
            "dcc_discard_root",
            "still have root privileges after trying to discard them!"
        );
        return Err(ExitCode::SetuidFailed);
    }
    no_new_privs()?;
    dcc_log!(
        Level::Debug,
        "dcc_discard_root",
        "discarded root privileges, changed to uid={uid} gid={gid}"
    );
    Ok(())
}

/// Set no_new_privs, so no compiler (or anything it runs) can regain privileges through a
/// set-user-ID program or file capabilities.
///
/// Decision: a failure stops the daemon (exit 111, as a failed setuid does), because the
/// docs promise the flag and a daemon that drops root is one whose operator wants it. The
/// one exception is EINVAL, which means the kernel predates the flag (Linux before 3.5):
/// there is nothing to set, the uid change above is already verified, so say so and go on.
fn no_new_privs() -> Result<(), ExitCode> {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EINVAL) {
        dcc_log!(
            Level::Warning,
            "dcc_discard_root",
            "this kernel has no PR_SET_NO_NEW_PRIVS ({err}); going on without it"
        );
        return Ok(());
    }
    dcc_log!(
        Level::Critical,
        "dcc_discard_root",
        "prctl(PR_SET_NO_NEW_PRIVS) failed: {err}"
    );
    Err(ExitCode::SetuidFailed)
}
