//! `Snapshot`: a consistent, read-only view of the database at one
//! sequence number. Taking one costs a lock held for a pointer swap; it
//! never waits for a write, flush or compaction and never holds one up.
//! Flushes and compactions that finish while it is open do not change what
//! it answers: it keeps the memtables and tables it was taken with alive
//! (at the price of their memory and, for merged tables, their mapped
//! files) until it and every clone of it are dropped.

use std::sync::Arc;

use crate::{BlockId, BlockView, GraphEdge, StorageError, StorageResult};

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
    //
    // Inlined into the caller's crate, and the memtable path with it
    // (`Memtable::find_block`, `FlatTable::get`, the arena's resolve): a
    // memtable hit is one cache miss on a slot, and the fewer instructions
    // and stores (results copied out of calls) follow that miss, the more
    // independent lookups a core overlaps. Issue 26: 180 -> 130 ns.
    #[inline]
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
    /// once `out` has grown to the node's degree). Fails on a poisoned
    /// engine, or when a table page it reads is damaged (corruption naming
    /// the table and the page's offset).
    #[inline]
    pub fn find_outgoing_edges_into(
        &self,
        id: BlockId,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        self.health.check_readable()?;
        self.version.layers().collect_edges(id, false, out)
    }

    /// Like [`Self::find_incoming_edges`], reusing `out`.
    #[inline]
    pub fn find_incoming_edges_into(
        &self,
        id: BlockId,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        self.health.check_readable()?;
        self.version.layers().collect_edges(id, true, out)
    }

    /// Verifies every index and edge page of every table this snapshot
    /// reads (reads verify pages lazily, the first time they touch them);
    /// returns each damaged table's first corruption, oldest table first.
    /// Data records are verified by reading the blocks
    /// ([`Self::iterate_blocks`]).
    pub fn verify_tables(&self) -> StorageResult<Vec<StorageError>> {
        self.health.check_readable()?;
        Ok(self
            .version
            .tables
            .iter()
            .filter_map(|table| table.verify_all().err())
            .collect())
    }

    /// Every live block in id order; fails only on a poisoned engine.
    pub fn iterate_blocks(&self) -> StorageResult<BlockIter<'_>> {
        self.health.check_readable()?;
        Ok(BlockIter::new(self.version.layers()))
    }

    /// Sizes of what this snapshot reads (its memtables, frozen ones
    /// included, and its tables), without taking any engine lock.
    pub fn sizes(&self) -> SnapshotSizes {
        let memtables = &self.version.memtables;
        SnapshotSizes {
            memtables: memtables.len(),
            memtable_bytes: memtables.iter().map(|m| m.approximate_bytes()).sum(),
            memtable_blocks: memtables.iter().map(|m| m.block_count()).sum(),
            memtable_edges: memtables.iter().map(|m| m.edge_count()).sum(),
            tables: self.version.tables.len(),
            table_bytes: self.version.tables.iter().map(|t| t.meta().size).sum(),
        }
    }
}

/// Sizes of what a snapshot reads; see [`Snapshot::sizes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SnapshotSizes {
    /// Memtables: the active one and any frozen ones awaiting flush.
    pub memtables: usize,
    /// Bytes those memtables account for.
    pub memtable_bytes: usize,
    /// Block entries in them (tombstones included).
    pub memtable_blocks: usize,
    /// Edge entries in them (tombstones included).
    pub memtable_edges: usize,
    /// Tables.
    pub tables: usize,
    /// Bytes of those tables.
    pub table_bytes: u64,
}
