//! `StorageEngine`: the public API over the WAL, memtable and tables.
//!
//! Guarantees of a successful call:
//!
//! | call | guarantee on `Ok` |
//! |---|---|
//! | `put_block`, `delete_block`, `put_edge`, `delete_edge`, `write_batch` | visible to reads; in the WAL buffer; fsynced too with `SyncMode::EveryWrite` (and with `EveryBytes(n)` once `n` bytes are pending) |
//! | `sync` | every earlier acknowledged write is fsynced |
//! | `flush_memtable` | every earlier write is in a synced SSTable named by a durably stored manifest |
//! | `compact` | as before, with fewer tables; nothing visible changes |
//! | `shutdown` | flushed and synced; errors are returned, not swallowed |
//!
//! A failed write returns an error and may or may not be durable. A failed
//! WAL write or fsync poisons the engine: the kernel may have dropped the
//! dirty pages (fsyncgate), so what the memtable holds may never reach the
//! disk. From then on every write fails with `StorageError::Poisoned`, and
//! so does every read (`find_block`, edge lookups, `iterate_blocks`): the
//! engine stops serving state that a reopen might not show. A failed
//! manifest replace after its rename began poisons writes only (what reads
//! see was synced in the WAL). Reopen the directory to recover.
//!
//! Flushes and compactions that a write triggers are background-like work:
//! when one fails before it changed anything durable (a full disk while
//! writing a table or `MANIFEST.tmp`), the write that triggered it still
//! succeeds, the error is counted in [`Metrics::background_errors`] and
//! kept as [`StorageEngine::last_background_error`], and the flush is
//! retried once the memtable has grown by another eighth of its budget.
//! Writes are refused (`StorageError::WriteStalled`, nothing poisoned) only
//! while the memtable is over `MEMTABLE_HARD_LIMIT_FACTOR` times its
//! budget. Dropping the engine releases memory and the directory lock and
//! makes a best-effort WAL sync; call `shutdown` to see errors.

mod compaction;
mod core;
mod open;
mod scan;

use std::path::Path;
use std::sync::Arc;

use kausal_vfs::{FileLock, Vfs};

use crate::batch::WriteBatch;
use crate::config::{Config, SyncMode};
use crate::limits::MEMTABLE_HARD_LIMIT_FACTOR;
use crate::metrics::Metrics;
use crate::op::{Op, PAYLOAD_HEADER_BYTES, encode_payload};
use crate::wal::parse_segment_file_name;
use crate::wal::writer::WalWriter;
use crate::{BlockId, BlockView, ContextBlock, GraphEdge, StorageError, StorageResult};

pub use open::{LOCK_FILE, RecoveryReport};
pub use scan::BlockIter;

use self::core::Core;

/// An open kausal database directory.
#[derive(Debug)]
pub struct StorageEngine {
    core: Core,
    /// The WAL appender; `None` for a read-only engine.
    wal: Option<WalWriter>,
    poisoned: Option<String>,
    /// Set when a WAL write or fsync failed: reads are refused too.
    reads_refused: bool,
    /// The last flush or compaction error that a write survived.
    last_background_error: Option<String>,
    /// Memtable size at which a failed write-triggered flush is retried.
    flush_retry_bytes: usize,
    closed: bool,
    recovery: RecoveryReport,
    _lock: FileLock,
}

impl StorageEngine {
    /// Opens `dir` with the default [`Config`].
    pub fn open_default(vfs: Arc<dyn Vfs>, dir: impl AsRef<Path>) -> StorageResult<Self> {
        Self::open(vfs, dir, Config::default())
    }

    /// What recovery found when this engine was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.core.dir
    }

    fn check_writable(&self) -> StorageResult<()> {
        if self.wal.is_none() {
            return Err(StorageError::ReadOnly {
                dir: self.core.dir.clone(),
            });
        }
        match &self.poisoned {
            Some(reason) => Err(StorageError::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    fn check_readable(&self) -> StorageResult<()> {
        match &self.poisoned {
            Some(reason) if self.reads_refused => Err(StorageError::Poisoned {
                reason: reason.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The last flush or compaction error that a write survived (see the
    /// module documentation), if any.
    pub fn last_background_error(&self) -> Option<&str> {
        self.last_background_error.as_deref()
    }

    fn poison(&mut self, error: &StorageError) {
        if self.poisoned.is_none() {
            self.poisoned = Some(error.to_string());
        }
    }

    /// Runs a fallible WAL step; a failure poisons the engine.
    fn wal_step(
        &mut self,
        step: impl FnOnce(&mut WalWriter) -> StorageResult<()>,
    ) -> StorageResult<()> {
        let Some(wal) = self.wal.as_mut() else {
            return Err(StorageError::ReadOnly {
                dir: self.core.dir.clone(),
            });
        };
        let result = step(wal);
        if let Err(error) = &result {
            self.poison(error);
            self.reads_refused = true;
        }
        result
    }

    /// Logs `ops` as one WAL record, applies them, and syncs per the sync
    /// mode. Returns the sequence of the last op.
    fn commit(&mut self, ops: &[Op<'_>]) -> StorageResult<u64> {
        self.check_writable()?;
        if ops.is_empty() {
            return Ok(self.core.next_sequence - 1);
        }
        self.flush_before_write()?;
        let base_sequence = self.core.next_sequence;
        let count = ops.len() as u32;
        let payload_len = PAYLOAD_HEADER_BYTES + ops.iter().map(Op::encoded_len).sum::<usize>();
        self.wal_step(|wal| {
            wal.append(payload_len, |buffer| {
                encode_payload(base_sequence, ops.iter().copied(), count, buffer)
            })
        })?;
        for (offset, op) in ops.iter().enumerate() {
            self.core.apply(base_sequence + offset as u64, *op);
        }
        self.core.counters.batches_committed += 1;
        let sync_now = match self.core.config.sync_mode {
            SyncMode::EveryWrite => true,
            SyncMode::Manual => false,
            SyncMode::EveryBytes(limit) => self
                .wal
                .as_ref()
                .is_some_and(|wal| wal.unsynced_bytes() >= limit),
        };
        if sync_now {
            self.sync()?;
        }
        Ok(base_sequence + ops.len() as u64 - 1)
    }

    /// Flushes a full memtable before a write. A failure that poisoned
    /// nothing does not fail the write (see the module documentation).
    fn flush_before_write(&mut self) -> StorageResult<()> {
        let budget = self.core.config.memtable_budget_bytes;
        let bytes = self.core.memtable.approximate_bytes();
        let hard_limit = budget.saturating_mul(MEMTABLE_HARD_LIMIT_FACTOR);
        // Retry a failed flush after some growth, and always while stalled.
        if bytes < budget || (bytes < self.flush_retry_bytes && bytes < hard_limit) {
            return Ok(());
        }
        let flushed = self.flush_memtable_only().and_then(|()| {
            if self.core.config.auto_compact {
                self.compact().map(|_| ())
            } else {
                Ok(())
            }
        });
        match flushed {
            Ok(()) => {
                self.flush_retry_bytes = 0;
                Ok(())
            }
            Err(error) if self.poisoned.is_some() => Err(error),
            Err(error) => {
                self.core.counters.background_errors += 1;
                let reason = error.to_string();
                self.last_background_error = Some(reason.clone());
                let bytes = self.core.memtable.approximate_bytes();
                self.flush_retry_bytes = bytes + budget / 8;
                if bytes >= hard_limit {
                    return Err(StorageError::WriteStalled {
                        memtable_bytes: bytes,
                        reason,
                    });
                }
                Ok(())
            }
        }
    }

    /// Stores `block` (its `sequence` field is ignored) and returns the
    /// sequence assigned. Allocation-free in steady state.
    pub fn put_block(&mut self, block: &ContextBlock) -> StorageResult<u64> {
        self.put_block_fields(
            block.id,
            &block.source_uri,
            &block.metadata_json,
            &block.content,
        )
    }

    /// Stores a block given as borrowed fields; returns its sequence.
    pub fn put_block_fields(
        &mut self,
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
        self.commit(&[op])
    }

    /// Deletes a block (a tombstone that shadows every older version) and
    /// every edge that leaves or enters it.
    pub fn delete_block(&mut self, id: BlockId) -> StorageResult<u64> {
        id.validate()?;
        self.commit(&[Op::DeleteBlock(id)])
    }

    /// Stores an edge (blocks at its ends need not exist).
    pub fn put_edge(&mut self, edge: GraphEdge) -> StorageResult<u64> {
        edge.validate()?;
        self.commit(&[Op::PutEdge(edge)])
    }

    /// Deletes an edge.
    pub fn delete_edge(&mut self, edge: GraphEdge) -> StorageResult<u64> {
        edge.validate()?;
        self.commit(&[Op::DeleteEdge(edge)])
    }

    /// Applies every op of `batch` atomically (one WAL record); returns the
    /// sequence of its last op.
    pub fn write_batch(&mut self, batch: &WriteBatch) -> StorageResult<u64> {
        let ops: Vec<Op<'_>> = batch.ops().collect();
        self.commit(&ops)
    }

    /// The newest live version of `id`, borrowed from the engine.
    /// Allocation-free.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<BlockView<'_>>> {
        self.check_readable()?;
        self.core.find_block(id)
    }

    /// Live edges leaving `id`, sorted by (edge type, target).
    pub fn find_outgoing_edges(&self, id: BlockId) -> StorageResult<Vec<GraphEdge>> {
        let mut out = Vec::new();
        self.find_outgoing_edges_into(id, &mut out)?;
        Ok(out)
    }

    /// Live edges entering `id`, sorted by (edge type, source).
    pub fn find_incoming_edges(&self, id: BlockId) -> StorageResult<Vec<GraphEdge>> {
        let mut out = Vec::new();
        self.find_incoming_edges_into(id, &mut out)?;
        Ok(out)
    }

    /// Like [`Self::find_outgoing_edges`], reusing `out` (allocation-free
    /// once `out` has grown to the node's degree). Edge sections are
    /// checksummed when a table opens; this fails only on a poisoned engine.
    pub fn find_outgoing_edges_into(
        &self,
        id: BlockId,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        self.check_readable()?;
        self.core.collect_edges(id, false, out);
        Ok(())
    }

    /// Like [`Self::find_incoming_edges`], reusing `out`.
    pub fn find_incoming_edges_into(
        &self,
        id: BlockId,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        self.check_readable()?;
        self.core.collect_edges(id, true, out);
        Ok(())
    }

    /// Every live block in id order; fails only on a poisoned engine.
    pub fn iterate_blocks(&self) -> StorageResult<BlockIter<'_>> {
        self.check_readable()?;
        Ok(BlockIter::new(&self.core))
    }

    /// Makes every acknowledged write durable (fsync of the WAL).
    pub fn sync(&mut self) -> StorageResult<()> {
        self.check_writable()?;
        self.wal_step(WalWriter::sync)?;
        self.core.counters.wal_syncs += 1;
        Ok(())
    }

    /// Writes the memtable to a new SSTable, records it in the manifest and
    /// removes the WAL segments it covers; then runs compaction when
    /// `auto_compact` is set.
    pub fn flush_memtable(&mut self) -> StorageResult<()> {
        self.flush_memtable_only()?;
        if self.core.config.auto_compact {
            self.compact()?;
        }
        Ok(())
    }

    fn flush_memtable_only(&mut self) -> StorageResult<()> {
        self.check_writable()?;
        if self.core.memtable.is_empty() {
            // Everything is in tables: older segments hold nothing needed
            // (an earlier flush may have failed to remove them).
            if let Some(active) = self.wal.as_ref().map(WalWriter::segment_id) {
                self.remove_wal_segments_before(active);
            }
            return Ok(());
        }
        // Writes after this point land in the new segment; every older
        // segment holds only writes that are in the memtable or in tables.
        let first_kept_segment = {
            let mut rotated = 0;
            self.wal_step(|wal| {
                rotated = wal.rotate()?;
                Ok(())
            })?;
            self.core.counters.wal_syncs += 1;
            rotated
        };
        if let Err((error, manifest_unknown)) = self.core.write_memtable_table() {
            if manifest_unknown {
                self.poison(&error);
            }
            return Err(error);
        }
        self.remove_wal_segments_before(first_kept_segment);
        Ok(())
    }

    fn remove_wal_segments_before(&mut self, first_kept: u64) {
        let Ok(names) = self.core.vfs.list_dir(&self.core.dir) else {
            return;
        };
        let mut removed = false;
        for name in names {
            if parse_segment_file_name(&name).is_some_and(|id| id < first_kept) {
                // A segment left behind is harmless: replay skips records
                // the tables already hold, and the next flush retries.
                self.core.remove_quietly(&self.core.dir.join(name));
                removed = true;
            }
        }
        if removed {
            let _ = self.core.vfs.sync_dir(&self.core.dir);
        }
    }

    /// Runs size-tiered compaction until no tier holds enough adjacent
    /// tables to merge. Returns the number of merges.
    pub fn compact(&mut self) -> StorageResult<usize> {
        let mut merges = 0;
        while let Some(range) = self.core.pick_compaction() {
            self.merge(range)?;
            merges += 1;
        }
        Ok(merges)
    }

    /// Merges every table into one (dropping all tombstones and shadowed
    /// versions). Returns false when there was nothing to merge.
    pub fn compact_all(&mut self) -> StorageResult<bool> {
        if self.core.tables.is_empty() {
            return Ok(false);
        }
        // Merge in bounded steps, oldest first, until one table (or none) is left.
        loop {
            let end = self
                .core
                .tables
                .len()
                .min(crate::limits::MAX_TABLES_PER_COMPACTION);
            self.merge(0..end)?;
            if self.core.tables.len() <= 1 {
                return Ok(true);
            }
        }
    }

    fn merge(&mut self, range: std::ops::Range<usize>) -> StorageResult<()> {
        self.check_writable()?;
        if let Err((error, manifest_unknown)) = self.core.merge_tables(range) {
            if manifest_unknown {
                self.poison(&error);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Flushes the memtable and syncs, reporting any error; the engine is
    /// consumed either way.
    pub fn shutdown(mut self) -> StorageResult<()> {
        if self.is_read_only() {
            return Ok(());
        }
        self.flush_memtable()?;
        self.sync()?;
        // Everything is in tables: the next open need not read the active
        // segment's preallocated zeros.
        self.wal_step(WalWriter::trim_preallocation)?;
        self.closed = true;
        Ok(())
    }

    /// Current counters and sizes.
    pub fn metrics(&self) -> Metrics {
        let core = &self.core;
        let counters = core.counters;
        Metrics {
            blocks_written: counters.blocks_written,
            blocks_deleted: counters.blocks_deleted,
            edges_written: counters.edges_written,
            edges_deleted: counters.edges_deleted,
            batches_committed: counters.batches_committed,
            payload_bytes_written: counters.payload_bytes_written,
            memtable_bytes: core.memtable.approximate_bytes(),
            memtable_blocks: core.memtable.block_count(),
            memtable_edges: core.memtable.edge_count(),
            wal_bytes_appended: self.wal.as_ref().map_or(0, WalWriter::bytes_appended),
            wal_unsynced_bytes: self.wal.as_ref().map_or(0, WalWriter::unsynced_bytes),
            wal_active_segment: self.wal.as_ref().map_or(0, WalWriter::segment_id),
            wal_syncs: counters.wal_syncs,
            sstable_count: core.tables.len(),
            sstable_bytes: core.tables.iter().map(|table| table.meta().size).sum(),
            sstables_per_tier: core.tables_per_tier(),
            flushes: counters.flushes,
            compactions: counters.compactions,
            arena: core.memtable.arena_stats(),
            next_sequence: core.next_sequence,
            poisoned: self.poisoned.is_some(),
            background_errors: counters.background_errors,
        }
    }

    /// True when this engine was opened with [`StorageEngine::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.wal.is_none()
    }

    /// True when an earlier failure poisoned the engine.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }
}

impl Drop for StorageEngine {
    fn drop(&mut self) {
        let Some(wal) = self.wal.as_mut() else {
            return;
        };
        if !self.closed && self.poisoned.is_none() {
            // Best effort: `shutdown` is the call that reports errors.
            let _ = wal.sync();
        }
        open::write_lock_holder(self.core.vfs.as_ref(), &self.core.dir, None);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod durability_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod faulty_vfs;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
