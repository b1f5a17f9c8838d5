//! `SimVfs`: an in-memory, deterministic, fault-injecting file system.
//!
//! Model (pessimistic, like a real disk after power loss):
//! * every file (inode) has its current bytes, which reads see, and its
//!   durable bytes, which survive a crash; `sync_data` makes the current
//!   bytes durable. Writes since the last sync are kept in order so that a
//!   crash can decide what of them reached the platters.
//! * at a crash, a file's unsynced writes reach the disk page by page in any
//!   order: each dirty 4 KiB page independently carries its latest content
//!   or its old durable content, and a page may be torn at a 512 B sector
//!   boundary; the file's size is its size after some prefix of the writes.
//!   (The older mode, "a prefix of the writes, the last one cut at a random
//!   byte", is still available.)
//! * directory entries (file creation, rename, removal, and directory
//!   creation, including the database directory and its parent) are durable
//!   only after `sync_dir` on the directory that holds them. At a crash each
//!   change not yet synced is independently kept or rolled back (a rename as
//!   one change: the destination names the old or the new file, never
//!   nothing); a directory whose own entry is lost takes its contents with it.
//! * a failed `sync_data` drops the pending writes from what can become
//!   durable while reads still see them, and a later successful sync does not
//!   bring them back (Linux marks the pages clean): the fsyncgate trap.
//! * while the power is off, one bit may flip at rest in a table, the
//!   manifest, or the synced part of a WAL segment.
//! * a power loss ends the process: from the moment a crash fires
//!   (scheduled by [`SimVfs::schedule_failure`] or called by the harness),
//!   every operation of the old process fails, by handle or by path, reads
//!   included, so none of its threads (a background worker, a WAL flusher,
//!   a `Drop`) can reach the disk the next process sees. The harness starts
//!   the next process with [`SimVfs::restart`], which hands out a new
//!   `SimVfs`; every clone and handle of an earlier process stays dead.
//!   `restart` without a crash is a killed process: the page cache (what
//!   reads see) survives, the process's handles and locks do not.
//!
//! Faults are drawn from one seeded PRNG, so a seed replays bit for bit.
//!
//! Where it lives: `faults` holds what is injected, counted and reported;
//! `disk` the state (inodes, directory entries, pending changes, the
//! process that owns the disk); `crash` power loss and bits flipped at
//! rest; `handle` the open files and locks of a process; `filesystem` the
//! [`Vfs`](kausal_vfs::Vfs) implementation; this module the [`SimVfs`]
//! handle and its controls.

mod crash;
mod disk;
mod faults;
mod filesystem;
mod handle;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use kausal_storage::files::{FileKind, classify_path};
use kausal_vfs::{VfsError, VfsResult};

use disk::State;
pub use faults::{BitFlip, CrashReport, FaultConfig, FaultCounts};

/// Granularity at which the page cache writes dirty data back.
pub const PAGE_BYTES: usize = 4096;
/// Unit a disk writes atomically: a torn page keeps a prefix of these.
pub const SECTOR_BYTES: usize = 512;
const SECTORS_PER_PAGE: usize = PAGE_BYTES / SECTOR_BYTES;

/// True for a WAL segment's name, as storage names them.
pub(crate) fn is_wal_segment(path: &Path) -> bool {
    classify_path(path).is_some_and(FileKind::is_wal_segment)
}

fn error(op: &'static str, path: &Path, kind: io::ErrorKind, message: &str) -> VfsError {
    VfsError::new(op, path, io::Error::new(kind, message.to_string()))
}

fn injected(op: &'static str, path: &Path) -> VfsError {
    error(op, path, io::ErrorKind::Other, "injected I/O error")
}

/// The simulated file system as one process sees it; clones share one
/// disk and one process. See the module docs for the process model.
#[derive(Debug, Clone)]
pub struct SimVfs {
    state: Arc<Mutex<State>>,
    /// The process this handle belongs to.
    process: u64,
}

impl SimVfs {
    /// An empty disk whose faults are drawn from `seed`. Faults start enabled.
    pub fn new(seed: u64, faults: FaultConfig) -> Self {
        let state = State {
            rng: Some(fastrand::Rng::with_seed(seed)),
            faults,
            faults_enabled: true,
            running: Some(1),
            last_process: 1,
            next_inode: 1,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            process: 1,
        }
    }

    /// Locks the state for an operation of this handle's process: fails
    /// when that process has ended (a power loss or a restart since).
    fn lock_running(&self, op: &'static str, path: &Path) -> VfsResult<MutexGuard<'_, State>> {
        let state = self.lock();
        state.check_process(self.process, op, path)?;
        Ok(state)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is already a failed run; keep going
        // with the state as it is so the simulator can report it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Turns fault injection on or off (off while the checker reads).
    pub fn set_faults_enabled(&self, enabled: bool) {
        self.lock().faults_enabled = enabled;
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.lock().faults = faults;
    }

    /// The current fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.lock().faults
    }

    /// Faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// Bytes of file content on the disk.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes()
    }

    /// Files that had a bit flipped at rest.
    pub fn flipped_files(&self) -> BTreeSet<PathBuf> {
        self.lock().flipped_files.clone()
    }

    /// Every bit flipped at rest so far, in order.
    pub fn flips(&self) -> Vec<BitFlip> {
        self.lock().flips.clone()
    }

    /// What the last crash did (empty before the first one).
    pub fn last_crash(&self) -> CrashReport {
        self.lock().last_crash.clone()
    }

    /// Power loss: each file's unsynced pages reach the disk or not (see
    /// the module docs), each unsynced directory change is kept or rolled
    /// back, and a bit may flip at rest in a table, the manifest or the
    /// synced part of a WAL segment. The running process ends: every
    /// operation of it fails until [`SimVfs::restart`] starts the next one.
    /// A no-op while the power is already off (a scheduled crash fired).
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// Starts the next process and returns its view of the disk. Every
    /// clone and file handle of earlier processes fails from now on, and
    /// their locks are released. Without a crash before it, this is a
    /// killed process: what reads saw stays (the page cache survives).
    #[must_use = "the returned SimVfs is the new process's only way to the disk"]
    pub fn restart(&self) -> SimVfs {
        let mut state = self.lock();
        state.last_process += 1;
        let process = state.last_process;
        state.running = Some(process);
        state.locks.clear();
        SimVfs {
            state: Arc::clone(&self.state),
            process,
        }
    }

    /// True while this handle's process runs (no power loss or restart
    /// since it started).
    pub fn is_running(&self) -> bool {
        self.lock().running == Some(self.process)
    }

    /// Makes the `at`-th mutating operation from now (create, write,
    /// set_len, sync, rename, remove, directory sync) fail; with `crash` the
    /// disk also loses power at that moment.
    pub fn schedule_failure(&self, at: u64, crash: bool) {
        let mut state = self.lock();
        let due = state.mutating_ops + at;
        state.scheduled = Some((due, crash));
    }

    /// Cancels a scheduled failure that has not fired; true if one was pending.
    pub fn cancel_scheduled_failure(&self) -> bool {
        self.lock().scheduled.take().is_some()
    }

    /// True while a scheduled failure has not fired yet.
    pub fn failure_pending(&self) -> bool {
        self.lock().scheduled.is_some()
    }

    /// Mutating operations performed so far.
    pub fn mutating_ops(&self) -> u64 {
        self.lock().mutating_ops
    }
}
