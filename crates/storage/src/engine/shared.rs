//! `Shared`: the state every `Database` handle, the background worker and
//! the writers share, and what each lock protects.
//!
//! | lock | protects | held for |
//! |---|---|---|
//! | `writer` | the WAL appender, sequence assignment, the writer's side of `closed` | one batch: encode, append to the WAL buffer, apply |
//! | `mem` | the memtables (active first), the live table list, the published [`Version`] | applying one batch; a pointer swap to publish or install |
//! | `flush` | one flush at a time, in freeze order | a whole flush |
//! | `merge_lock` | one merge (or `compact_all`) at a time; only its holder removes tables | a whole merge |
//! | `background` | the manifest, the ids of tables being written | taking a table id; a manifest replace and its install (never while a table is written) |
//! | `sync` | the durable WAL position (group commit) | one fsync; followers wait here and find their write covered |
//!
//! | `wal_spare` (its own lock) | the WAL segment made ready ahead of time | taking or readying it; a background step creates the file without holding it, a writer that finds none ready creates one inline holding it |
//!
//! Lock order: `writer` → `flush` or `merge_lock` → `background` → `mem`
//! (a flush and a merge never wait for each other: each takes
//! `background` only to install); `writer` → the spare's lock
//! (a background step takes the spare's lock alone); `sync` is taken alone (a
//! leader releases it before it takes `writer` and fsyncs). A writer stalled
//! without a worker thread runs a background step while holding `writer`).
//! Background steps never take `writer` or `sync`, so a stalled writer
//! (holding `writer`, waiting on `progress`) never blocks the flush it
//! waits for.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use kausal_vfs::{FileLock, Vfs};

use crate::config::Config;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::metrics::Counters;
use crate::op::Op;
use crate::sstable::reader::Table;
use crate::wal::spare::SpareSegment;
use crate::wal::writer::WalWriter;
use crate::{StorageError, StorageResult};

use super::layers::{Layers, Version};
use super::recovery_report::RecoveryReport;

/// Locks `mutex`, ignoring poisoning: every critical section here either
/// completes its change or leaves the state as it was (a panic inside one
/// is a bug that the poisoned engine flag, not the mutex, reports).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the engine may still serve writes and reads.
#[derive(Debug, Default)]
pub(crate) struct Health {
    poisoned: AtomicBool,
    reads_refused: AtomicBool,
    reason: Mutex<Option<Failure>>,
    last_background_error: Mutex<Option<Failure>>,
}

/// A recorded failure: its message and, for an I/O failure, its kind
/// (so the errors built from it later still say "disk full").
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: String,
    pub kind: Option<std::io::ErrorKind>,
}

impl Failure {
    fn of(error: &StorageError) -> Self {
        Self {
            reason: error.to_string(),
            kind: error.io_kind(),
        }
    }
}

impl Health {
    /// Poisons writes (and reads too with `refuse_reads`): the first reason sticks.
    pub fn poison(&self, error: &StorageError, refuse_reads: bool) {
        {
            let mut reason = lock(&self.reason);
            if reason.is_none() {
                *reason = Some(Failure::of(error));
            }
        }
        self.poisoned.store(true, Ordering::Release);
        if refuse_reads {
            self.reads_refused.store(true, Ordering::Release);
        }
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    fn poisoned_error(&self) -> StorageError {
        let failure = lock(&self.reason).clone();
        StorageError::Poisoned {
            reason: failure
                .as_ref()
                .map(|f| f.reason.clone())
                .unwrap_or_default(),
            kind: failure.and_then(|f| f.kind),
        }
    }

    pub fn check_writable(&self) -> StorageResult<()> {
        if self.is_poisoned() {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    /// Reads are refused after a failed WAL write or fsync (fsyncgate).
    pub fn check_readable(&self) -> StorageResult<()> {
        if self.reads_refused.load(Ordering::Acquire) {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    pub fn set_background_error(&self, error: &StorageError) {
        *lock(&self.last_background_error) = Some(Failure::of(error));
    }

    pub fn last_background_error(&self) -> Option<Failure> {
        lock(&self.last_background_error).clone()
    }
}

/// The writer's state.
#[derive(Debug)]
pub(crate) struct Writer {
    /// The WAL appender; `None` for a read-only database.
    pub wal: Option<WalWriter>,
    pub next_sequence: u64,
    /// Set when `shutdown` begins: later writes fail with `Closed`.
    pub closed: bool,
    /// Set when `shutdown` succeeded: the WAL is synced and trimmed, so
    /// dropping the last handle must not sync it again.
    pub shut_down: bool,
    /// Holds the writer to the flush rate while it is ahead (`pacing`).
    pub pacer: super::pacing::Pacer,
}

/// The readable state and its published version.
#[derive(Debug)]
pub(crate) struct MemState {
    /// Newest first: `[0]` takes writes, the rest are frozen, awaiting flush.
    pub memtables: Vec<Memtable>,
    /// For frozen memtable `memtables[i + 1]`: the first WAL segment that
    /// holds none of its writes (segments before it go once it is flushed
    /// and every older one is too).
    pub frozen_segments: Vec<u64>,
    /// Live tables, oldest first.
    pub tables: Arc<[Arc<Table>]>,
    /// Highest sequence applied.
    pub sequence: u64,
    /// What `snapshot` hands out; `None` once a change made it stale.
    /// Dropped at once rather than at the next `snapshot`: while it lived
    /// it shared the active memtable's flat maps, and the writer can change
    /// those in place only when nothing shares them.
    published: Option<Arc<Version>>,
}

impl MemState {
    pub fn new(memtable: Memtable, tables: Vec<Arc<Table>>, sequence: u64) -> Self {
        Self {
            memtables: vec![memtable],
            frozen_segments: Vec::new(),
            tables: tables.into(),
            sequence,
            published: None,
        }
    }

    /// The current version, published first when writes changed it.
    pub fn publish(&mut self) -> Arc<Version> {
        let published = self.published.get_or_insert_with(|| {
            Arc::new(Version {
                sequence: self.sequence,
                memtables: self.memtables.clone(),
                tables: Arc::clone(&self.tables),
            })
        });
        Arc::clone(published)
    }

    /// Marks the published version stale (after a write, a freeze or an
    /// install) and drops this state's hold on it.
    pub fn invalidate(&mut self) {
        self.published = None;
    }

    pub fn active(&self) -> &Memtable {
        &self.memtables[0]
    }

    pub fn frozen_count(&self) -> usize {
        self.memtables.len() - 1
    }

    /// Applies one validated op with its sequence to the active memtable.
    /// Fails (changing nothing) only when a block delete cannot read the
    /// block's edges from a damaged table page.
    pub fn apply(&mut self, sequence: u64, op: Op<'_>, counters: &Counters) -> StorageResult<()> {
        apply_op(&mut self.memtables, &self.tables, sequence, op, counters)?;
        self.sequence = self.sequence.max(sequence);
        self.invalidate();
        Ok(())
    }

    /// Reads, for every block delete in `ops`, the edges the delete will
    /// remove, so that a damaged table page refuses the write before it is
    /// logged instead of failing it half applied. Pages verified here stay
    /// verified, so `apply` then reads them without failing.
    pub fn check_deletes(&self, ops: &[Op<'_>]) -> StorageResult<()> {
        let layers = Layers {
            memtables: &self.memtables,
            tables: &self.tables,
        };
        let mut scratch = Vec::new();
        for op in ops {
            if let Op::DeleteBlock(id) = op {
                layers.collect_edges(*id, false, &mut scratch)?;
                layers.collect_edges(*id, true, &mut scratch)?;
            }
        }
        Ok(())
    }
}

/// Applies one validated op to `memtables[0]`, reading older state from the
/// other layers. A block delete also deletes the block's current edges with
/// the same sequence; replay derives the same edges because it sees the
/// same prior state. Fails, changing nothing, only when a delete cannot
/// read those edges (a damaged table page).
pub(crate) fn apply_op(
    memtables: &mut [Memtable],
    tables: &[Arc<Table>],
    sequence: u64,
    op: Op<'_>,
    counters: &Counters,
) -> StorageResult<()> {
    match op {
        Op::PutBlock {
            id,
            source_uri,
            metadata_json,
            content,
        } => {
            memtables[0].put_block(sequence, id, source_uri, metadata_json, content);
            Counters::add(&counters.blocks_written, 1);
            Counters::add(
                &counters.payload_bytes_written,
                (source_uri.len() + metadata_json.len() + content.len()) as u64,
            );
        }
        Op::DeleteBlock(id) => {
            let layers = Layers { memtables, tables };
            let mut outgoing = Vec::new();
            layers.collect_edges(id, false, &mut outgoing)?;
            let mut incoming = Vec::new();
            layers.collect_edges(id, true, &mut incoming)?;
            for edge in outgoing.into_iter().chain(incoming) {
                memtables[0].put_edge(sequence, edge, false);
            }
            memtables[0].delete_block(sequence, id);
            Counters::add(&counters.blocks_deleted, 1);
        }
        Op::PutEdge(edge) => {
            memtables[0].put_edge(sequence, edge, true);
            Counters::add(&counters.edges_written, 1);
        }
        Op::DeleteEdge(edge) => {
            memtables[0].put_edge(sequence, edge, false);
            Counters::add(&counters.edges_deleted, 1);
        }
    }
    Ok(())
}

/// The manifest, and the tables being written.
#[derive(Debug)]
pub(crate) struct BackgroundState {
    pub manifest: Manifest,
    /// Ids of tables a running flush or merge is writing: not orphans.
    pub in_flight: Vec<u64>,
}

/// Group commit: how far the WAL is known durable.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    /// (segment id, offset) up to which an fsync succeeded.
    pub synced: (u64, u64),
    /// A leader's fsync is running (the lock is not held during it).
    pub in_progress: bool,
    /// Writers inside `sync_to` when the last fsync ended, its leader
    /// included (1 when alone).
    pub last_group: usize,
}

/// Wake-ups for the background worker.
#[derive(Debug, Default)]
pub(crate) struct WorkSignal {
    /// Work for the WAL, flush and merge workers (each clears its own).
    pub pending: [bool; 3],
    pub stop: bool,
}

/// Everything the handles and the worker share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    pub config: Config,
    pub read_only: bool,
    pub writer: Mutex<Writer>,
    pub mem: Mutex<MemState>,
    /// Signalled (with `mem`) when a flush or compaction is installed or
    /// fails: stalled writers re-check.
    pub progress: Condvar,
    pub background: Mutex<BackgroundState>,
    /// Held for a whole flush: one at a time, in freeze order.
    pub flush: Mutex<()>,
    /// Held for a whole merge (or `compact_all`): one at a time; only its
    /// holder removes tables from the list.
    pub merge_lock: Mutex<()>,
    pub sync: Mutex<SyncState>,
    /// Signalled (with `sync`) when a leader's fsync ends.
    pub sync_done: Condvar,
    /// Writers inside `sync_to` (each has appended its record): how a
    /// group-commit leader tells how many would share its fsync.
    pub in_sync: std::sync::atomic::AtomicUsize,
    /// Memtable bytes per second the last flush wrote (0 before the
    /// first): what a paced writer is held to.
    pub flush_rate: std::sync::atomic::AtomicU64,
    pub work: Mutex<WorkSignal>,
    pub work_ready: Condvar,
    pub health: Arc<Health>,
    /// The WAL segment prepared ahead of time by background steps; `None`
    /// for a read-only database.
    pub wal_spare: Option<Arc<SpareSegment>>,
    pub counters: Counters,
    pub recovery: RecoveryReport,
    /// The directory lock, released when the last handle drops.
    pub _lock: FileLock,
}

impl Shared {
    pub fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        lock(&self.writer)
    }

    pub fn lock_mem(&self) -> MutexGuard<'_, MemState> {
        lock(&self.mem)
    }

    /// Wakes the background worker (a frozen memtable or new table waits).
    pub fn signal_work(&self) {
        lock(&self.work).pending = [true; 3];
        self.work_ready.notify_all();
    }

    pub fn read_only_error(&self) -> StorageError {
        StorageError::ReadOnly {
            dir: self.dir.clone(),
        }
    }

    /// Runs a fallible WAL step; a failure poisons writes and reads.
    pub fn wal_step<T>(
        &self,
        writer: &mut Writer,
        step: impl FnOnce(&mut WalWriter) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let Some(wal) = writer.wal.as_mut() else {
            return Err(self.read_only_error());
        };
        let result = step(wal);
        if let Err(error) = &result {
            self.health.poison(error, true);
        }
        result
    }
}
