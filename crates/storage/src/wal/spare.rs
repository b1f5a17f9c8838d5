//! The spare segment: the WAL segment after the active one, created,
//! sized and made durable (file and directory entry synced) ahead of time
//! by a background step, so that a rotation on the write path is a switch
//! to an already-durable file instead of a create + preallocate + two
//! fsyncs while the writer lock is held.
//!
//! Who does what:
//! * [`SpareSegment::prepare`] (a background step: the worker thread, or
//!   the simulator's scheduled step) creates segment `active + 1` when no
//!   spare is ready. It holds no engine lock while it does the I/O.
//! * [`SpareSegment::take_or_create`] (the writer, under the writer lock)
//!   takes the ready spare, or creates the segment inline as before when
//!   none is ready. While a preparation runs it waits for it rather than
//!   create the same file twice; the preparer never takes the writer lock,
//!   so the wait is bounded by one segment creation.
//!
//! A crash can leave the spare at the end of the log with nothing written
//! in it (header and zeros); recovery treats it as "nothing written" and
//! lets the segment before it end in a torn tail (see `reader`).
//!
//! The same steps also fsync the active segment ahead of its rotation
//! ([`SpareSegment::presync`]) whenever `segment_bytes /
//! WAL_PRESYNC_DIVISOR` more bytes went to it, through a second handle of
//! the file (so appends and the flusher never wait for that fsync): the
//! old segment must still be fsynced before any byte reaches the next one
//! (by the WAL flusher or the writer, see `writer`), and without this that
//! fsync found the whole segment dirty (tens of megabytes, 100-260 ms).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use kausal_vfs::{Vfs, VfsFile};

use super::{SEGMENT_HEADER_BYTES, encode_segment_header, segment_path};
use crate::{StorageError, StorageResult};

/// The active segment is fsynced ahead of its rotation each time this
/// fraction of a segment (`wal_segment_bytes / WAL_PRESYNC_DIVISOR`: 1 MiB
/// for the default 64 MiB) went to it since the last such fsync; the
/// retired segment's fsync then finds at most about that much dirty.
pub const WAL_PRESYNC_DIVISOR: u64 = 64;

/// A segment creation that failed, and whether an fsync (of the file or
/// of the directory) was what failed: after a failed fsync the kernel may
/// have dropped dirty pages or entries of other files too (fsyncgate), so
/// the caller poisons the engine.
#[derive(Debug)]
pub struct CreateFailure {
    /// What failed.
    pub error: StorageError,
    /// True when an fsync failed.
    pub sync_failed: bool,
}

impl From<CreateFailure> for StorageError {
    fn from(failure: CreateFailure) -> Self {
        failure.error
    }
}

/// Creates segment `id` in `dir` durably: header written, file sized to
/// `capacity` (appends then overwrite zeros instead of growing the file),
/// file and directory entry synced. A failure removes the file (best
/// effort: recovery also removes a segment whose header never became
/// durable).
pub fn create_segment(
    vfs: &dyn Vfs,
    dir: &Path,
    id: u64,
    capacity: u64,
) -> Result<Box<dyn VfsFile>, CreateFailure> {
    let path = segment_path(dir, id);
    let mut file = vfs.create_file(&path).map_err(|error| CreateFailure {
        error: error.into(),
        sync_failed: false,
    })?;
    let mut sync_failed = false;
    let created = file
        .write_at(0, &encode_segment_header(id))
        .and_then(|()| file.set_len(capacity))
        .and_then(|()| {
            sync_failed = true;
            file.sync_data()
        })
        .and_then(|()| vfs.sync_dir(dir));
    if let Err(error) = created {
        drop(file);
        let _ = vfs.remove_file(&path);
        return Err(CreateFailure {
            error: error.into(),
            sync_failed,
        });
    }
    Ok(file)
}

enum Slot {
    Empty,
    /// A background step is creating segment `active + 1`.
    Preparing,
    Ready {
        id: u64,
        file: Box<dyn VfsFile>,
        /// A second handle of the same file, for presyncs.
        sync_handle: Box<dyn VfsFile>,
        capacity: u64,
    },
}

struct State {
    /// Id of the writer's active segment.
    active: u64,
    slot: Slot,
    /// A second handle of the active segment, for presyncs; out while one
    /// runs.
    active_sync: Option<Box<dyn VfsFile>>,
    /// Offset in the active segment up to which the last presync covered
    /// what had been handed to the file.
    presynced: u64,
}

/// The spare segment shared by the writer and the background step.
pub struct SpareSegment {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<State>,
    /// Signalled when a preparation ends.
    prepared: Condvar,
    /// Offset in the active segment up to which the writer handed bytes to
    /// the file (or to the flusher, which writes them in order).
    handed: AtomicU64,
}

impl std::fmt::Debug for SpareSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        let slot = match &state.slot {
            Slot::Empty => "empty".to_string(),
            Slot::Preparing => "preparing".to_string(),
            Slot::Ready { id, .. } => format!("ready: segment {id}"),
        };
        f.debug_struct("SpareSegment")
            .field("active", &state.active)
            .field("slot", &slot)
            .finish()
    }
}

impl SpareSegment {
    /// No spare yet; `active` is the writer's active segment (just
    /// created: nothing handed to it yet).
    pub fn new(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        segment_bytes: u64,
        active: u64,
    ) -> StorageResult<Self> {
        let active_sync = vfs.open_file(&segment_path(dir, active))?;
        Ok(Self {
            vfs,
            dir: dir.to_path_buf(),
            segment_bytes,
            state: Mutex::new(State {
                active,
                slot: Slot::Empty,
                active_sync: Some(active_sync),
                presynced: SEGMENT_HEADER_BYTES as u64,
            }),
            prepared: Condvar::new(),
            handed: AtomicU64::new(SEGMENT_HEADER_BYTES as u64),
        })
    }

    /// Bytes handed to the active segment between two presyncs.
    pub fn presync_bytes(&self) -> u64 {
        (self.segment_bytes / WAL_PRESYNC_DIVISOR).max(1)
    }

    /// The writer handed the active segment's bytes up to `offset` to the
    /// file (or the flusher).
    pub fn note_handed(&self, offset: u64) {
        self.handed.store(offset, Ordering::Release);
    }

    /// Fsyncs the active segment through its second handle when
    /// `presync_bytes` more were handed to it since the last presync; true
    /// when it did. No engine lock is held, and the writer's handle is not
    /// touched, so appends go on meanwhile. A failure is a failed WAL
    /// fsync: the caller poisons the engine.
    pub fn presync(&self) -> StorageResult<bool> {
        let (handle, active, target) = {
            let mut state = self.lock();
            let handed = self.handed.load(Ordering::Acquire);
            if handed < state.presynced + self.presync_bytes() {
                return Ok(false);
            }
            let Some(handle) = state.active_sync.take() else {
                // Another presync is running.
                return Ok(false);
            };
            (handle, state.active, handed)
        };
        let mut handle = handle;
        let synced = handle.sync_data();
        let mut state = self.lock();
        // A rotation meanwhile installed the next segment's handle.
        if state.active == active {
            state.active_sync = Some(handle);
            if synced.is_ok() {
                state.presynced = state.presynced.max(target);
            }
        }
        synced?;
        Ok(true)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, once no step is preparing a spare.
    fn lock_settled(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        while matches!(state.slot, Slot::Preparing) {
            state = self
                .prepared
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    /// Id of the ready spare, if one is ready.
    #[cfg(test)]
    pub fn ready_id(&self) -> Option<u64> {
        match self.lock().slot {
            Slot::Ready { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Creates segment `active + 1` when no spare is ready or being made;
    /// true when it created one. No engine lock may be held by the caller
    /// except (without a worker thread) the writer lock of a stalled write,
    /// which never touches the spare while it runs this.
    pub fn prepare(&self) -> Result<bool, CreateFailure> {
        let id = {
            let mut state = self.lock();
            if !matches!(state.slot, Slot::Empty) {
                return Ok(false);
            }
            state.slot = Slot::Preparing;
            state.active + 1
        };
        let created = create_segment(self.vfs.as_ref(), &self.dir, id, self.segment_bytes)
            .and_then(|file| {
                let sync_handle =
                    self.vfs
                        .open_file(&segment_path(&self.dir, id))
                        .map_err(|error| CreateFailure {
                            error: error.into(),
                            sync_failed: false,
                        })?;
                Ok((file, sync_handle))
            });
        let mut state = self.lock();
        let result = match created {
            Ok((file, sync_handle)) => {
                state.slot = Slot::Ready {
                    id,
                    file,
                    sync_handle,
                    capacity: self.segment_bytes,
                };
                Ok(true)
            }
            Err(failure) => {
                state.slot = Slot::Empty;
                Err(failure)
            }
        };
        drop(state);
        self.prepared.notify_all();
        result
    }

    /// The durable, empty segment `id` (the one after the active segment)
    /// with room for at least `min_capacity` bytes, and its capacity: the
    /// ready spare when there is one, else created now.
    pub fn take_or_create(
        &self,
        id: u64,
        min_capacity: u64,
    ) -> StorageResult<(Box<dyn VfsFile>, u64)> {
        let mut state = self.lock_settled();
        let taken = match std::mem::replace(&mut state.slot, Slot::Empty) {
            Slot::Ready {
                id: ready,
                file,
                sync_handle,
                capacity,
            } if ready == id => Some((file, sync_handle, capacity)),
            Slot::Ready { id: stale, .. } => {
                // Cannot happen (the spare is always `active + 1` and only
                // this call moves `active`); a stale spare holds nothing.
                let _ = self.vfs.remove_file(&segment_path(&self.dir, stale));
                None
            }
            _ => None,
        };
        let (file, sync_handle, capacity) = match taken {
            Some((mut file, sync_handle, capacity)) if capacity < min_capacity => {
                // A record larger than a segment: grow the spare, durably
                // (its size is metadata that the fsync covers).
                file.set_len(min_capacity)?;
                file.sync_data()?;
                (file, sync_handle, min_capacity)
            }
            Some(taken) => taken,
            None => {
                // Created while holding the state lock: a preparation
                // cannot start on the same file meanwhile.
                let capacity = self.segment_bytes.max(min_capacity);
                let file = create_segment(self.vfs.as_ref(), &self.dir, id, capacity)?;
                let sync_handle = self.vfs.open_file(&segment_path(&self.dir, id))?;
                (file, sync_handle, capacity)
            }
        };
        state.active = id;
        state.active_sync = Some(sync_handle);
        state.presynced = SEGMENT_HEADER_BYTES as u64;
        self.handed
            .store(SEGMENT_HEADER_BYTES as u64, Ordering::Release);
        Ok((file, capacity))
    }

    /// Removes a ready spare, durably (for a clean close, so that the next
    /// open does not read its preallocated zeros). A crash before the
    /// directory sync leaves an empty segment that recovery accepts.
    pub fn discard(&self) -> StorageResult<()> {
        let mut state = self.lock_settled();
        if let Slot::Ready { id, file, .. } = std::mem::replace(&mut state.slot, Slot::Empty) {
            drop(file);
            self.vfs.remove_file(&segment_path(&self.dir, id))?;
            self.vfs.sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Bytes of the smallest segment that holds one record of `record_len`.
pub fn min_capacity_for(record_len: u64) -> u64 {
    SEGMENT_HEADER_BYTES as u64 + record_len
}
