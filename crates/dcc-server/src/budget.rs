//! The daemon-wide budget for request bodies being received (issue 10, hole 2).
//!
//! Per-body limits bound one request; these bound the daemon, whatever many clients send at
//! once. Two pools, counted in KiB:
//! - **memory**: what decoding a body holds in memory. A zstd body holds its decoder (window
//!   and buffers, [`dcc_proto::compress::ZSTD_DECODER_MEMORY`]) while it arrives; an LZO body
//!   holds its compressed block (its declared wire length) while it arrives, and then, for the
//!   few milliseconds of decoding, its output (its exact size, counted by walking the block
//!   first: `BodyDecoder::lzo_output_len`). Uncompressed and
//!   zstd bodies are written to disk as they arrive, a piece at a time. A request that cannot
//!   get memory waits up to [`MEMORY_WAIT`], then is refused: holds are short.
//! - **disk**: the decoded bytes of bodies in job directories, charged as they are written, and
//!   [`crate::pump::ENTRY_COST`] for each directory, file and link of a pump tree, charged as
//!   it is made; released when the job's directory is removed. A request that would go over it is refused
//!   at once (waiting while holding disk could wedge every upload).
//!
//! A refused client gets exit code 114 (distcc's EXIT_BUSY) and a `SERR` line naming the
//! option to raise; clients then compile locally.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB, so a `u32` count covers 4 TiB.
const UNIT: u64 = 1024;

/// How long a body waits for memory before its request is refused.
pub const MEMORY_WAIT: Duration = Duration::from_secs(10);

/// Which pool ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    Memory,
    Disk,
}

impl Pool {
    /// The daemon option that sets this pool.
    pub fn option(self) -> &'static str {
        match self {
            Pool::Memory => "--receive-memory",
            Pool::Disk => "--receive-disk",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "distccd is busy: its {what} budget for incoming requests ({total} MiB, {option}) is in use"
)]
pub struct BudgetError {
    pub pool: Pool,
    what: &'static str,
    total: u64,
    option: &'static str,
}

/// The two pools.
#[derive(Debug)]
pub struct Budget {
    memory: Arc<Semaphore>,
    disk: Arc<Semaphore>,
    memory_bytes: u64,
    disk_bytes: u64,
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT)
}

impl Budget {
    pub fn new(memory_bytes: u64, disk_bytes: u64) -> Budget {
        let cap = |b: u64| {
            usize::try_from(units(b))
                .unwrap_or(usize::MAX)
                .min(Semaphore::MAX_PERMITS)
        };
        Budget {
            memory: Arc::new(Semaphore::new(cap(memory_bytes))),
            disk: Arc::new(Semaphore::new(cap(disk_bytes))),
            memory_bytes,
            disk_bytes,
        }
    }

    fn error(&self, pool: Pool) -> BudgetError {
        let (what, total) = match pool {
            Pool::Memory => ("memory", self.memory_bytes),
            Pool::Disk => ("disk", self.disk_bytes),
        };
        BudgetError {
            pool,
            what,
            total: total >> 20,
            option: pool.option(),
        }
    }

    /// Hold `bytes` of memory, waiting up to `wait`. `None` for 0 bytes.
    pub async fn memory(
        &self,
        bytes: u64,
        wait: Duration,
    ) -> Result<Option<OwnedSemaphorePermit>, BudgetError> {
        if bytes == 0 {
            return Ok(None);
        }
        let n = u32::try_from(units(bytes)).map_err(|_| self.error(Pool::Memory))?;
        if bytes > self.memory_bytes {
            return Err(self.error(Pool::Memory));
        }
        match tokio::time::timeout(wait, self.memory.clone().acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(Some(p)),
            _ => Err(self.error(Pool::Memory)),
        }
    }

    /// A job's disk charge, empty until it grows.
    pub fn disk(&self) -> DiskCharge {
        DiskCharge {
            pool: self.disk.clone(),
            held: None,
            units: 0,
        }
    }

    /// Grow `charge` to cover `bytes` in total, or refuse at once.
    pub fn charge_disk(&self, charge: &mut DiskCharge, bytes: u64) -> Result<(), BudgetError> {
        let want = units(bytes);
        if want <= charge.units {
            return Ok(());
        }
        // Grow in steps of 1 MiB, not per KiB written.
        let step = want.saturating_sub(charge.units).max(1024);
        let n = u32::try_from(step).map_err(|_| self.error(Pool::Disk))?;
        let p = charge
            .pool
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| self.error(Pool::Disk))?;
        match &mut charge.held {
            Some(h) => h.merge(p),
            None => charge.held = Some(p),
        }
        charge.units += step;
        Ok(())
    }

    /// The sizes of the memory and disk pools, in bytes.
    pub fn totals(&self) -> (u64, u64) {
        (self.memory_bytes, self.disk_bytes)
    }

    /// Bytes of memory and disk in use now (for tests and the status page).
    pub fn in_use(&self) -> (u64, u64) {
        let used = |s: &Semaphore, total: u64| {
            units(total).saturating_sub(s.available_permits() as u64) * UNIT
        };
        (
            used(&self.memory, self.memory_bytes),
            used(&self.disk, self.disk_bytes),
        )
    }
}

/// Disk a job's bodies use; released when dropped (with the job's directory).
#[derive(Debug)]
pub struct DiskCharge {
    pool: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    units: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pools_refuse_past_their_size_and_refill() {
        let b = Budget::new(4 << 20, 3 << 20);
        let m = b.memory(3 << 20, Duration::from_millis(10)).await.unwrap();
        assert_eq!(b.in_use().0, 3 << 20);
        let e = b
            .memory(2 << 20, Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(e.pool, Pool::Memory);
        assert!(e.to_string().contains("--receive-memory"), "{e}");
        assert!(b.memory(5 << 20, Duration::from_secs(5)).await.is_err());
        drop(m);
        assert!(b.memory(2 << 20, Duration::from_millis(10)).await.is_ok());

        let mut c = b.disk();
        b.charge_disk(&mut c, 100).unwrap();
        b.charge_disk(&mut c, 2 << 20).unwrap();
        assert_eq!(b.in_use().1, 2 << 20);
        let mut other = b.disk();
        b.charge_disk(&mut other, 1 << 20).unwrap();
        let e = b.charge_disk(&mut c, (2 << 20) + 1).unwrap_err();
        assert_eq!(e.pool, Pool::Disk);
        drop(c);
        drop(other);
        assert_eq!(b.in_use(), (0, 0));
    }
}
