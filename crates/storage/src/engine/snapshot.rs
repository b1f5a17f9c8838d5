//! `Snapshot`: a consistent, read-only view of the database at one
//! sequence number. Taking one costs a lock held for a pointer swap; it
//! never waits for a write, flush or compaction and never holds one up.
//! Flushes and compactions that finish while it is open do not change what
//! it answers: it keeps the memtables and tables it was taken with alive
//! (at the price of their memory and, for merged tables, their mapped
//! files) until it and every clone of it are dropped.

use std::sync::Arc;

use crate::{BlockId, BlockView, GraphEdge, StorageResult};

use super::layers::Version;
use super::scan::BlockIter;
use super::shared::Health;

/// A consistent read-only view; `Clone` (cheap), `Send` and `Sync`.
/// Results borrow from the snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    version: Arc<Version>,
    health: Arc<Health>,
}

impl Snapshot {
    pub(crate) fn new(version: Arc<Version>, health: Arc<Health>) -> Self {
        Self { version, health }
    }

    /// The sequence of the newest write this snapshot includes (0 for an
    /// empty database).
    pub fn sequence(&self) -> u64 {
        self.version.sequence
    }

    /// The live version of `id`, borrowed from the snapshot.
    /// Allocation-free.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<BlockView<'_>>> {
        self.health.check_readable()?;
        self.version.layers().find_block(id)
    }

    /// True when `id` is live here. Answered from the memtable entry or the
    /// table index (no block bytes are read or verified), so it is the
    /// cheap check for traversals.
    pub fn block_exists(&self, id: BlockId) -> StorageResult<bool> {
        self.health.check_readable()?;
        self.version.layers().block_exists(id)
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
        self.health.check_readable()?;
        self.version.layers().collect_edges(id, false, out);
        Ok(())
    }

    /// Like [`Self::find_incoming_edges`], reusing `out`.
    pub fn find_incoming_edges_into(
        &self,
        id: BlockId,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        self.health.check_readable()?;
        self.version.layers().collect_edges(id, true, out);
        Ok(())
    }

    /// Every live block in id order; fails only on a poisoned engine.
    pub fn iterate_blocks(&self) -> StorageResult<BlockIter<'_>> {
        self.health.check_readable()?;
        Ok(BlockIter::new(self.version.layers()))
    }

    /// Number of memtables and tables this snapshot reads (for metrics and
    /// tests: a snapshot taken before a compaction keeps the old tables).
    pub fn layer_counts(&self) -> (usize, usize) {
        (self.version.memtables.len(), self.version.tables.len())
    }
}
