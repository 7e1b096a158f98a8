//! Where a job runs and what it may hold meanwhile (distcc src/where.c, src/lock.c; reference
//! §2.5), plus the state file monitors read (src/state.c, §2.9).
//!
//! - [`Slots`] takes fcntl slot locks in `$DISTCC_DIR/lock` with distcc's file names, in
//!   distcc's order (slot 0 of every host before slot 1 of any). When every slot is busy it
//!   waits for one to be released (inotify, dcc-state's `SlotWaiter`) instead of distcc's
//!   one-second sleep. A process holds at most a remote slot plus the local cpp slot.
//! - [`JobState`] writes `$DISTCC_DIR/state/binstate_<pid>` at each phase change, so Debian's
//!   `distccmon-text` lists the job; the file is created on first use and removed at the end
//!   (also from the signal handler).

use std::path::Path;
use std::time::Duration;

use dcc_common::{Level, dcc_log};
use dcc_state::{
    DistccDir, LOCALHOST_LOCK_NAME, Phase, SlotLock, SlotWaiter, StateError, StateFile, TaskState,
};

use crate::signals::TempFile;

/// How long a wait for a slot trusts inotify before rescanning anyway (a lock released without
/// closing its file, or a file system without inotify events, gives no wake-up).
const RESCAN: Duration = Duration::from_secs(2);

/// The slot locks of one client process.
#[derive(Debug)]
pub struct Slots<'a> {
    dir: &'a DistccDir,
    waiter: Option<SlotWaiter>,
}

impl<'a> Slots<'a> {
    pub fn new(dir: &'a DistccDir) -> Slots<'a> {
        Slots { dir, waiter: None }
    }

    /// The lock directory, created if needed.
    pub fn lock_dir(&self) -> Result<&'a Path, StateError> {
        self.dir.lock_dir()
    }

    /// Take a slot on one of `hosts` (`(lock name, limit)`), waiting as long as it takes
    /// (distcc's client never gives up for lack of slots). Returns the host's index.
    pub fn pick(
        &mut self,
        hosts: &[(String, u32)],
        state: &mut JobState,
    ) -> Result<(usize, SlotLock), StateError> {
        let lock_dir = self.dir.lock_dir()?;
        let waiter = self.waiter.get_or_insert_with(|| SlotWaiter::new(lock_dir));
        let mut blocked = false;
        loop {
            if let Some(got) = waiter.pick(hosts)? {
                return Ok(got);
            }
            if !blocked {
                blocked = true;
                state.note(Phase::Blocked, None, None);
                dcc_log!(Level::Debug, "dcc_lock_one", "all slots busy, waiting");
            }
            waiter.wait(RESCAN)?;
        }
    }

    /// A local slot: `--localslots` for compiles, `--localslots_cpp` for preprocessing
    /// (both are `cpu_localhost_N`, shared with `localhost` hosts, as in distcc).
    pub fn local(&mut self, limit: u32, state: &mut JobState) -> Result<SlotLock, StateError> {
        let hosts = [(LOCALHOST_LOCK_NAME.to_owned(), limit.max(1))];
        self.pick(&hosts, state).map(|(_, lock)| lock)
    }
}

/// This client's entry in `$DISTCC_DIR/state`, written at each phase.
#[derive(Debug)]
pub struct JobState<'a> {
    dir: Option<&'a DistccDir>,
    file: Option<(StateFile, TempFile)>,
    task: TaskState,
}

impl<'a> JobState<'a> {
    /// `dir` is `None` when there is no distcc directory (then nothing is written).
    pub fn new(dir: Option<&'a DistccDir>, input: &str) -> JobState<'a> {
        JobState {
            dir,
            file: None,
            task: TaskState::new(Phase::Startup, input, "", -1),
        }
    }

    /// Record a phase; `host`/`slot` replace the current ones when given (distcc keeps the
    /// previous values for NULL arguments).
    pub fn note(&mut self, phase: Phase, host: Option<&str>, slot: Option<u32>) {
        self.task.phase = phase;
        if let Some(h) = host {
            h.clone_into(&mut self.task.host);
        }
        if let Some(s) = slot {
            self.task.slot = i32::try_from(s).unwrap_or(i32::MAX);
        }
        if self.file.is_none() {
            let Some(dir) = self.dir.take() else {
                return;
            };
            match dir.state_dir().and_then(StateFile::create) {
                Ok(f) => {
                    let guard = TempFile::register(f.path());
                    self.file = Some((f, guard));
                }
                Err(e) => {
                    dcc_log!(Level::Debug, e.distcc_function(), "{e}");
                    return;
                }
            }
        }
        if let Some((f, _)) = &mut self.file
            && let Err(e) = f.write(&self.task)
        {
            dcc_log!(Level::Debug, e.distcc_function(), "{e}");
        }
    }
}

impl Drop for JobState<'_> {
    fn drop(&mut self) {
        // StateFile removes the file itself; the signal registration only has to go.
        if let Some((file, guard)) = self.file.take() {
            guard.keep();
            drop(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_lives_as_long_as_the_job() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DistccDir::at(tmp.path());
        let path = tmp
            .path()
            .join(format!("state/binstate_{}", std::process::id()));
        {
            let mut st = JobState::new(Some(&dir), "src/x.c");
            assert!(!path.exists(), "nothing before the first phase");
            st.note(Phase::Compile, Some("127.0.0.1"), Some(1));
            let states =
                dcc_state::read_states(&tmp.path().join("state"), std::time::SystemTime::now())
                    .unwrap();
            assert_eq!(states.len(), 1);
            assert_eq!(states[0].file, "x.c");
            assert_eq!(states[0].host, "127.0.0.1");
            assert_eq!(states[0].slot, 1);
            assert_eq!(states[0].phase, Phase::Compile);
        }
        assert!(!path.exists(), "removed at the end");
        // No directory: nothing happens.
        JobState::new(None, "x.c").note(Phase::Compile, None, None);
    }

    #[test]
    fn slots_fill_in_distccs_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DistccDir::at(tmp.path());
        let mut slots = Slots::new(&dir);
        let mut st = JobState::new(None, "x.c");
        let hosts = vec![("tcp_a_1".to_owned(), 2), ("tcp_b_1".to_owned(), 2)];
        let (i0, l0) = slots.pick(&hosts, &mut st).unwrap();
        let (i1, l1) = slots.pick(&hosts, &mut st).unwrap();
        let (i2, l2) = slots.pick(&hosts, &mut st).unwrap();
        assert_eq!((i0, l0.slot()), (0, 0));
        assert_eq!((i1, l1.slot()), (1, 0), "slot 0 of every host first");
        assert_eq!((i2, l2.slot()), (0, 1));
        let local = slots.local(1, &mut st).unwrap();
        assert!(local.path().ends_with("lock/cpu_localhost_0"));
    }
}
