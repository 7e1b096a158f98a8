//! dcc-store: blobs by BLAKE3 hash in one directory, bounded on disk, least recently used
//! evicted first. Nothing here knows distcc's protocol: the helper's header store (issue 12,
//! docs/decisions/content-addressed-files.md) uses it, and a result cache or an REAPI CAS can.
//!
//! Invariants:
//! - A blob's file name is the hex of its hash, and only a hash [`Store::put`] has checked
//!   against the content names a file: no name ever comes from peer text.
//! - A blob is written to a temporary file and renamed into place after the check, so no
//!   reader (another job, a restarted daemon) ever sees a half-written blob. [`Store::open`]
//!   removes temporaries a crash left behind and adopts the whole blobs.
//! - The blobs' total size stays within the bound. A blob pinned by a job ([`Store::pin`]) is
//!   never evicted; when the rest cannot make room, `put` fails with [`StoreError::Full`]
//!   rather than exceed the bound.
//! - [`Store::link_into`] hard-links (copies across file systems), so a job root keeps its
//!   file even when the store later evicts the blob's name.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A BLAKE3 hash.
pub type Hash = [u8; 32];

/// Default bound on the store's size: 1 GiB (a Debian `/usr/include` with the usual -dev
/// packages is about 200 MiB; project headers of several trees fit beside it).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

const TMP_PREFIX: &str = "tmp-";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob content does not match its hash {0}")]
    HashMismatch(String),
    #[error("store full: {need} bytes needed, {free} free after evicting every unpinned blob")]
    Full { need: u64, free: u64 },
    #[error("blob {0} is not in the store")]
    Missing(String),
    #[error("store {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Lowercase hex of a hash: a blob's file name.
pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(name: &str) -> Option<Hash> {
    if name.len() != 64 || !name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(name.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

#[derive(Debug)]
struct Entry {
    size: u64,
    /// Tick of the last use; the smallest goes first.
    used: u64,
    pins: u32,
}

#[derive(Debug, Default)]
struct Index {
    entries: HashMap<Hash, Entry>,
    total: u64,
    tick: u64,
}

impl Index {
    fn touch(&mut self, h: &Hash) -> bool {
        self.tick += 1;
        let tick = self.tick;
        match self.entries.get_mut(h) {
            Some(e) => {
                e.used = tick;
                true
            }
            None => false,
        }
    }
}

/// The store. Share it between jobs with an `Arc`.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    tmp_seq: AtomicU64,
}

/// Blobs pinned by one job: not evicted until the guard drops.
#[derive(Debug)]
pub struct Pin {
    store: Arc<Store>,
    hashes: Vec<Hash>,
}

impl Pin {
    /// Pin `h` too (after a `put`, before the job links it).
    pub fn add(&mut self, h: Hash) {
        let mut idx = self.store.lock();
        if let Some(e) = idx.entries.get_mut(&h) {
            e.pins += 1;
            self.hashes.push(h);
        }
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut idx = self.store.lock();
        for h in &self.hashes {
            if let Some(e) = idx.entries.get_mut(h) {
                e.pins = e.pins.saturating_sub(1);
            }
        }
    }
}

impl Store {
    /// Open (creating) the store in `dir`, bounded to `max_bytes`. Temporaries of an earlier
    /// run are removed; blobs are adopted, oldest modification first as least recently used;
    /// if they exceed the bound (a smaller bound than last time), the oldest are evicted.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Arc<Store>, StoreError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut found = Vec::new();
        for ent in fs::read_dir(dir).map_err(io_err(dir))? {
            let ent = ent.map_err(io_err(dir))?;
            let name = ent.file_name();
            let name = name.to_string_lossy();
            let path = ent.path();
            if name.starts_with(TMP_PREFIX) {
                fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            }
            let Some(h) = parse_hex(&name) else { continue };
            let meta = ent.metadata().map_err(io_err(&path))?;
            if meta.is_file() {
                found.push((meta.modified().ok(), h, meta.len()));
            }
        }
        found.sort();
        let mut idx = Index::default();
        for (_, h, size) in found {
            idx.tick += 1;
            idx.total += size;
            idx.entries.insert(
                h,
                Entry {
                    size,
                    used: idx.tick,
                    pins: 0,
                },
            );
        }
        let store = Store {
            dir: dir.to_owned(),
            max_bytes,
            index: Mutex::new(idx),
            tmp_seq: AtomicU64::new(0),
        };
        {
            let mut idx = store.lock();
            store.evict(&mut idx, 0)?;
        }
        Ok(Arc::new(store))
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the lock leaves the index consistent (every update is a
        // single insert/remove with its total), so a poisoned lock is still usable.
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path(&self, h: &Hash) -> PathBuf {
        self.dir.join(hex(h))
    }

    /// Bytes the blobs take now.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// Whether the store has `h` (a use: it becomes most recently used).
    pub fn has(&self, h: &Hash) -> bool {
        self.lock().touch(h)
    }

    /// Pin every present hash of `hashes` for a job and return the guard with the hashes
    /// that are missing (each once, in first-seen order): what the job must `put`.
    pub fn pin(self: &Arc<Self>, hashes: &[Hash]) -> (Pin, Vec<Hash>) {
        let mut idx = self.lock();
        let mut pinned = Vec::new();
        let mut missing = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for h in hashes {
            if !seen.insert(*h) {
                continue;
            }
            if idx.touch(h) {
                if let Some(e) = idx.entries.get_mut(h) {
                    e.pins += 1;
                }
                pinned.push(*h);
            } else {
                missing.push(*h);
            }
        }
        drop(idx);
        (
            Pin {
                store: Arc::clone(self),
                hashes: pinned,
            },
            missing,
        )
    }

    /// Store `content` as `h` after checking its BLAKE3. Evicts least recently used unpinned
    /// blobs to make room; fails with [`StoreError::Full`] rather than exceed the bound.
    pub fn put(&self, h: &Hash, content: &[u8]) -> Result<(), StoreError> {
        if blake3::hash(content).as_bytes() != h {
            return Err(StoreError::HashMismatch(hex(h)));
        }
        let size = content.len() as u64;
        {
            let mut idx = self.lock();
            if idx.touch(h) {
                return Ok(());
            }
            // Reserve the room now so concurrent puts cannot overrun the bound together.
            self.evict(&mut idx, size)?;
            idx.total += size;
        }
        let written = self.write_tmp(content);
        let mut idx = self.lock();
        // The rename happens under the lock: an eviction of the same hash (stored meanwhile
        // by another job) must not remove the file this put publishes.
        let result = written.and_then(|tmp| {
            if idx.entries.contains_key(h) {
                // Another job stored the same blob meanwhile: same name, same bytes.
                let _ = fs::remove_file(&tmp);
                return Ok(false);
            }
            let dest = self.path(h);
            fs::rename(&tmp, &dest).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                io_err(&dest)(e)
            })?;
            Ok(true)
        });
        match result {
            Ok(true) => {
                idx.tick += 1;
                let used = idx.tick;
                idx.entries.insert(
                    *h,
                    Entry {
                        size,
                        used,
                        pins: 0,
                    },
                );
                Ok(())
            }
            Ok(false) => {
                idx.total -= size;
                idx.touch(h);
                Ok(())
            }
            Err(e) => {
                idx.total -= size;
                Err(e)
            }
        }
    }

    /// Write `content` to a new read-only temporary file in the store's directory.
    fn write_tmp(&self, content: &[u8]) -> Result<PathBuf, StoreError> {
        let seq = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!("{TMP_PREFIX}{}-{seq}", std::process::id()));
        let done = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(content)?;
            f.sync_data()?;
            // Read-only: a job root holds hard links to the blob, and nothing in a job may
            // change what later jobs read under this hash.
            let mut perm = f.metadata()?.permissions();
            perm.set_readonly(true);
            f.set_permissions(perm)
        })();
        match done {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(io_err(&tmp)(e))
            }
        }
    }

    /// Evict least recently used unpinned blobs until `need` more bytes fit. Holds the lock.
    fn evict(&self, idx: &mut Index, need: u64) -> Result<(), StoreError> {
        if idx.total.saturating_add(need) <= self.max_bytes {
            return Ok(());
        }
        let mut victims: Vec<(u64, Hash, u64)> = idx
            .entries
            .iter()
            .filter(|(_, e)| e.pins == 0)
            .map(|(h, e)| (e.used, *h, e.size))
            .collect();
        victims.sort();
        let evictable: u64 = victims.iter().map(|v| v.2).sum();
        let free_after = self.max_bytes.saturating_sub(idx.total - evictable);
        if need > free_after {
            return Err(StoreError::Full {
                need,
                free: free_after,
            });
        }
        for (_, h, size) in victims {
            if idx.total.saturating_add(need) <= self.max_bytes {
                break;
            }
            let path = self.path(&h);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
            idx.entries.remove(&h);
            idx.total -= size;
        }
        Ok(())
    }

    /// Re-hash the blob on disk: `Ok(false)` if it no longer matches (then it is removed).
    pub fn verify(&self, h: &Hash) -> Result<bool, StoreError> {
        let path = self.path(h);
        let data = fs::read(&path).map_err(io_err(&path))?;
        if blake3::hash(&data).as_bytes() == h {
            return Ok(true);
        }
        let mut idx = self.lock();
        if let Some(e) = idx.entries.remove(h) {
            idx.total -= e.size;
        }
        let _ = fs::remove_file(&path);
        Ok(false)
    }

    /// Put blob `h` at `dest` (which must not exist): a hard link, or a copy when the store
    /// and `dest` are on different file systems. The caller pins `h` until this returns.
    pub fn link_into(&self, h: &Hash, dest: &Path) -> Result<(), StoreError> {
        if !self.has(h) {
            return Err(StoreError::Missing(hex(h)));
        }
        let src = self.path(h);
        match fs::hard_link(&src, dest) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(18) => {
                // EXDEV: another file system.
                fs::copy(&src, dest).map(|_| ()).map_err(io_err(dest))
            }
            Err(e) => Err(io_err(dest)(e)),
        }
    }
}

#[cfg(test)]
mod tests;
