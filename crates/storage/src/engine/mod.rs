//! `Database`: the public handle over the WAL, memtables and tables.
//!
//! A `Database` is `Clone + Send + Sync`; clones share one engine. Reads go
//! through a [`Snapshot`] (`db.snapshot()`): a consistent view at one
//! sequence that never waits for writers and that no writer waits for.
//! Writes may come from any thread; the engine serializes them, and
//! writers that need durability at the same time share one fsync (group
//! commit). A full memtable is frozen (still readable) and flushed by a
//! background worker, which also compacts; writes stall only while
//! [`limits::MAX_FROZEN_MEMTABLES`](crate::limits::MAX_FROZEN_MEMTABLES)
//! frozen memtables, or a compaction backlog, wait.
//!
//! Guarantees of a successful call:
//!
//! | call | guarantee on `Ok` |
//! |---|---|
//! | `put_block`, `delete_block`, `put_edge`, `delete_edge`, `write_batch` | visible to every later snapshot; in the WAL buffer; fsynced too with `SyncMode::EveryWrite` (and with `EveryBytes(n)` once `n` bytes are pending) |
//! | `sync` | every write acknowledged before the call is fsynced |
//! | `flush` | every earlier write is in a synced table named by a durably stored manifest |
//! | `compact` | as before, with fewer tables; nothing visible changes |
//! | `shutdown` | flushed and synced, worker stopped; errors are returned, not swallowed |
//!
//! A failed write returns an error and may or may not be durable. A failed
//! WAL write or fsync poisons the engine: the kernel may have dropped the
//! dirty pages (fsyncgate), so what the memtable holds may never reach the
//! disk. From then on every write fails with `StorageError::Poisoned`, and
//! so does every read through any snapshot: the engine stops serving state
//! that a reopen might not show. A failed manifest replace after its rename
//! began poisons writes only (what reads see was synced in the WAL).
//! Reopen the directory to recover.
//!
//! A background flush or compaction that fails before it changed anything
//! durable (a full disk while writing a table or `MANIFEST.tmp`) poisons
//! nothing: it is counted in [`Metrics::background_errors`], kept as
//! [`Database::last_background_error`], and retried with backoff. Writes
//! that stall meanwhile fail with `StorageError::WriteStalled` instead of
//! waiting forever. Dropping the last handle stops the worker, releases
//! the directory lock and makes a best-effort WAL sync; call `shutdown` to
//! see errors.

mod background;
mod commit;
mod compaction;
mod layers;
mod open;
mod pacing;
mod recovery_report;
mod scan;
mod shared;
mod snapshot;
mod tables;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use kausal_vfs::{OsVfs, Vfs};

use crate::batch::WriteBatch;
use crate::config::Config;
use crate::memtable::Memtable;
use crate::metrics::{Counters, Metrics};
use crate::op::Op;
use crate::wal::writer::WalWriter;
use crate::{BlockId, ContextBlock, GraphEdge, StorageError, StorageResult};

pub use recovery_report::RecoveryReport;
pub use scan::BlockIter;
pub use snapshot::{Snapshot, SnapshotSizes};

use self::shared::{
    BackgroundState, Health, MemState, Shared, SyncState, WorkSignal, Writer, lock,
};

/// An open kausal database directory; cheap to clone, usable from any
/// thread. See the module documentation for what each call guarantees.
#[derive(Debug, Clone)]
pub struct Database {
    handle: Arc<Handle>,
}

/// What the clones of one `Database` share; dropping it stops the worker.
#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Handle {
    fn stop_worker(&self) {
        lock(&self.shared.work).stop = true;
        self.shared.work_ready.notify_all();
        let workers = std::mem::take(&mut *lock(&self.workers));
        for worker in workers {
            // A worker that panicked has nothing more to report.
            let _ = worker.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop_worker();
        let shared = &self.shared;
        if shared.read_only {
            return;
        }
        let mut writer = shared.lock_writer();
        let shut_down = writer.shut_down;
        if let Some(wal) = writer.wal.as_mut()
            && !shut_down
            && !shared.health.is_poisoned()
        {
            // Best effort: `shutdown` is the call that reports errors.
            let _ = wal.sync();
        }
        open::write_lock_holder(shared.vfs.as_ref(), &shared.dir, None);
    }
}

impl Database {
    /// Opens (creating if needed) the database in `dir` on the OS file
    /// system with the default [`Config`].
    pub fn open(dir: impl AsRef<Path>) -> StorageResult<Self> {
        Self::open_with(Arc::new(OsVfs::new()), dir, Config::default())
    }

    /// Opens (creating if needed) the database in `dir` through `vfs`,
    /// recovering whatever a crash left: a torn WAL tail is truncated and
    /// reported in [`Database::recovery_report`]; corruption anywhere else
    /// is an error naming the file and offset, unless `config.wal_salvage`
    /// is set. Takes the directory's exclusive lock.
    pub fn open_with(
        vfs: Arc<dyn Vfs>,
        dir: impl AsRef<Path>,
        config: Config,
    ) -> StorageResult<Self> {
        let recovered = Self::recover(vfs, dir.as_ref(), config, false)?;
        Ok(Self::start(recovered, false))
    }

    /// Opens an existing database on the OS file system for reading only.
    pub fn open_read_only(dir: impl AsRef<Path>) -> StorageResult<Self> {
        Self::open_read_only_with(Arc::new(OsVfs::new()), dir, Config::default())
    }

    /// Opens an existing database for reading only: takes a shared lock (any
    /// number of readers, no writer), replays the WAL into memory, and
    /// writes nothing at all: no recovery flush, no truncation of a torn
    /// tail, no new WAL segment, no worker. Every write returns
    /// [`StorageError::ReadOnly`]. Fails with `NotADatabase` when `dir`
    /// holds no database and `Locked` (naming the holder) while a writer
    /// has it open.
    pub fn open_read_only_with(
        vfs: Arc<dyn Vfs>,
        dir: impl AsRef<Path>,
        config: Config,
    ) -> StorageResult<Self> {
        let recovered = Self::recover(vfs, dir.as_ref(), config, true)?;
        Ok(Self::start(recovered, true))
    }

    fn start(recovered: open::Recovered, read_only: bool) -> Self {
        let sequence = recovered.next_sequence - 1;
        let counters = Counters::default();
        Counters::add(&counters.flushes, recovered.flushes);
        let background_worker = recovered.config.background_worker && !read_only;
        let wal_spare = recovered.wal.as_ref().map(WalWriter::spare);
        let shared = Arc::new(Shared {
            vfs: recovered.vfs,
            dir: recovered.dir,
            config: recovered.config,
            read_only,
            writer: Mutex::new(Writer {
                wal: recovered.wal,
                next_sequence: recovered.next_sequence,
                closed: false,
                shut_down: false,
                pacer: pacing::Pacer::default(),
            }),
            mem: Mutex::new(MemState::new(
                recovered.memtable,
                recovered.tables,
                sequence,
            )),
            progress: Condvar::new(),
            background: Mutex::new(BackgroundState {
                manifest: recovered.manifest,
                in_flight: Vec::new(),
            }),
            flush: Mutex::new(()),
            merge_lock: Mutex::new(()),
            sync: Mutex::new(SyncState::default()),
            sync_done: Condvar::new(),
            in_sync: std::sync::atomic::AtomicUsize::new(0),
            flush_rate: std::sync::atomic::AtomicU64::new(0),
            work: Mutex::new(WorkSignal::default()),
            work_ready: Condvar::new(),
            health: Arc::new(Health::default()),
            wal_spare,
            counters,
            recovery: recovered.report,
            _lock: recovered.lock,
        });
        // Three workers, so that a flush never waits behind a running
        // merge, nor a WAL presync behind a flush: one readies and
        // presyncs WAL segments, one flushes, one merges.
        let mut roles = Vec::new();
        if background_worker {
            roles.push(background::WorkerRole::Wal);
            roles.push(background::WorkerRole::Flush);
            if shared.config.auto_compact {
                roles.push(background::WorkerRole::Merge);
            }
        }
        // A worker that cannot be spawned leaves its work to stalled writes
        // and explicit calls, as with `background_worker` off.
        let workers: Vec<JoinHandle<()>> = roles
            .into_iter()
            .filter_map(|role| {
                let weak = Arc::downgrade(&shared);
                std::thread::Builder::new()
                    .name(role.thread_name().into())
                    .spawn(move || background::run_worker(weak, role))
                    .ok()
            })
            .collect();
        let database = Self {
            handle: Arc::new(Handle {
                shared,
                workers: Mutex::new(workers),
            }),
        };
        // Compaction may be due from the start.
        database.shared().signal_work();
        database
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// A consistent read-only view of every write acknowledged so far.
    pub fn snapshot(&self) -> Snapshot {
        let version = self.shared().lock_mem().publish();
        Snapshot::new(version, Arc::clone(&self.shared().health))
    }

    /// What recovery found when this database was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.shared().recovery
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.shared().config
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared().dir
    }

    /// Stores `block` (its `sequence` field is ignored) and returns the
    /// sequence assigned.
    pub fn put_block(&self, block: &ContextBlock) -> StorageResult<u64> {
        self.put_block_fields(
            block.id,
            &block.source_uri,
            &block.metadata_json,
            &block.content,
        )
    }

    /// Stores a block given as borrowed fields; returns its sequence.
    pub fn put_block_fields(
        &self,
        id: BlockId,
        source_uri: &str,
        metadata_json: &str,
        content: &str,
    ) -> StorageResult<u64> {
        let op = Op::PutBlock {
            id,
            source_uri,
            metadata_json,
            content,
        };
        op.validate()?;
        self.shared().commit(&[op])
    }

    /// Deletes a block (a tombstone that shadows every older version) and
    /// every edge that leaves or enters it.
    pub fn delete_block(&self, id: BlockId) -> StorageResult<u64> {
        id.validate()?;
        self.shared().commit(&[Op::DeleteBlock(id)])
    }

    /// Stores an edge (blocks at its ends need not exist).
    pub fn put_edge(&self, edge: GraphEdge) -> StorageResult<u64> {
        edge.validate()?;
        self.shared().commit(&[Op::PutEdge(edge)])
    }

    /// Deletes an edge.
    pub fn delete_edge(&self, edge: GraphEdge) -> StorageResult<u64> {
        edge.validate()?;
        self.shared().commit(&[Op::DeleteEdge(edge)])
    }

    /// Applies every op of `batch` atomically (one WAL record, and no
    /// snapshot sees part of it); returns the sequence of its last op.
    pub fn write_batch(&self, batch: &WriteBatch) -> StorageResult<u64> {
        let ops: Vec<Op<'_>> = batch.ops().collect();
        self.shared().commit(&ops)
    }

    /// Makes every acknowledged write durable (fsync of the WAL, shared
    /// with concurrent callers).
    pub fn sync(&self) -> StorageResult<()> {
        self.shared().sync_all()
    }

    /// Freezes the active memtable and flushes every frozen memtable to a
    /// table on the calling thread (then compacts, with `auto_compact`).
    pub fn flush(&self) -> StorageResult<()> {
        if self.shared().read_only {
            return Err(self.shared().read_only_error());
        }
        self.flush_now(false)
    }

    /// `flush`; `shutting_down` lets `shutdown` flush after it closed.
    fn flush_now(&self, shutting_down: bool) -> StorageResult<()> {
        let shared = self.shared();
        {
            let mut writer = shared.lock_writer();
            if writer.closed && !shutting_down {
                return Err(StorageError::Closed {
                    dir: shared.dir.clone(),
                });
            }
            shared.health.check_writable()?;
            shared.freeze(&mut writer)?;
        }
        while shared.flush_step()? {}
        shared.remove_flushed_wal_segments();
        if shared.config.auto_compact {
            while shared.compaction_step()? {}
        }
        Ok(())
    }

    /// Runs size-tiered compaction on the calling thread until no tier
    /// holds enough adjacent tables to merge. Returns the number of merges.
    pub fn compact(&self) -> StorageResult<usize> {
        if self.shared().read_only {
            return Err(self.shared().read_only_error());
        }
        let mut merges = 0;
        while self.shared().compaction_step()? {
            merges += 1;
        }
        Ok(merges)
    }

    /// Merges every table into one (dropping all tombstones and shadowed
    /// versions). Returns false when there was nothing to merge.
    pub fn compact_all(&self) -> StorageResult<bool> {
        if self.shared().read_only {
            return Err(self.shared().read_only_error());
        }
        self.shared().compact_all()
    }

    /// Refuses further writes, stops the worker, flushes, syncs and trims
    /// the WAL; errors are returned. Writes through other clones fail with
    /// `Closed` from the moment it begins (and after a failed shutdown).
    pub fn shutdown(self) -> StorageResult<()> {
        let shared = self.shared();
        if shared.read_only {
            return Ok(());
        }
        // Close first: a clone writing without pause would otherwise keep
        // the worker (which only stops once it runs out of work) and the
        // flush below busy for as long as it writes.
        {
            let mut writer = shared.lock_writer();
            if writer.closed {
                return Err(StorageError::Closed {
                    dir: shared.dir.clone(),
                });
            }
            writer.closed = true;
        }
        self.handle.stop_worker();
        self.flush_now(true)?;
        let mut writer = shared.lock_writer();
        shared.wal_step(&mut writer, WalWriter::sync)?;
        Counters::add(&shared.counters.wal_syncs, 1);
        // Everything is in tables: the next open need not read the active
        // segment's preallocated zeros.
        shared.wal_step(&mut writer, WalWriter::trim_preallocation)?;
        // Nor the spare's: a crash before this leaves an empty segment,
        // which recovery accepts.
        if let Some(spare) = &shared.wal_spare {
            spare.discard()?;
        }
        writer.shut_down = true;
        Ok(())
    }

    /// The last flush or compaction error that writes survived (see the
    /// module documentation), if any.
    pub fn last_background_error(&self) -> Option<String> {
        self.shared()
            .health
            .last_background_error()
            .map(|failure| failure.reason)
    }

    /// Current counters and sizes.
    pub fn metrics(&self) -> Metrics {
        let shared = self.shared();
        let counters = &shared.counters;
        let writer = shared.lock_writer();
        let mem = shared.lock_mem();
        let wal = writer.wal.as_ref();
        let active = mem.active();
        Metrics {
            blocks_written: Counters::get(&counters.blocks_written),
            blocks_deleted: Counters::get(&counters.blocks_deleted),
            edges_written: Counters::get(&counters.edges_written),
            edges_deleted: Counters::get(&counters.edges_deleted),
            batches_committed: Counters::get(&counters.batches_committed),
            payload_bytes_written: Counters::get(&counters.payload_bytes_written),
            memtable_bytes: mem.memtables.iter().map(Memtable::approximate_bytes).sum(),
            memtable_blocks: active.block_count(),
            memtable_edges: active.edge_count(),
            frozen_memtables: mem.frozen_count(),
            wal_bytes_appended: wal.map_or(0, WalWriter::bytes_appended),
            wal_unsynced_bytes: wal.map_or(0, WalWriter::unsynced_bytes),
            wal_active_segment: wal.map_or(0, WalWriter::segment_id),
            wal_syncs: Counters::get(&counters.wal_syncs),
            group_commit_followers: Counters::get(&counters.group_commit_followers),
            sstable_count: mem.tables.len(),
            sstable_bytes: mem.tables.iter().map(|table| table.meta().size).sum(),
            sstables_per_tier: compaction::tables_per_tier(&shared.config, &mem.tables),
            flushes: Counters::get(&counters.flushes),
            compactions: Counters::get(&counters.compactions),
            arena: active.arena_stats(),
            next_sequence: writer.next_sequence,
            poisoned: shared.health.is_poisoned(),
            background_errors: Counters::get(&counters.background_errors),
            write_stalls: Counters::get(&counters.write_stalls),
            write_stall_micros: Counters::get(&counters.write_stall_micros),
            write_pauses: Counters::get(&counters.write_pauses),
            write_pause_micros: Counters::get(&counters.write_pause_micros),
        }
    }

    /// True when this database was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.shared().read_only
    }

    /// True when an earlier failure poisoned the engine.
    pub fn is_poisoned(&self) -> bool {
        self.shared().health.is_poisoned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod durability_tests;
#[cfg(test)]
mod flush_merge_tests;
#[cfg(test)]
mod spare_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
