//! `Metrics`: counters and gauges of one engine, read by `metrics()`.

use kausal_memory::ArenaStats;

/// A snapshot of an engine's counters (since open) and current sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    pub blocks_written: u64,
    pub blocks_deleted: u64,
    pub edges_written: u64,
    pub edges_deleted: u64,
    pub batches_committed: u64,
    /// Bytes of source_uri, metadata and content written.
    pub payload_bytes_written: u64,
    pub memtable_bytes: usize,
    pub memtable_blocks: usize,
    pub memtable_edges: usize,
    /// WAL record bytes appended since open.
    pub wal_bytes_appended: u64,
    /// WAL bytes not yet fsynced.
    pub wal_unsynced_bytes: u64,
    pub wal_active_segment: u64,
    pub wal_syncs: u64,
    pub sstable_count: usize,
    pub sstable_bytes: u64,
    /// Live tables per size tier (index = tier).
    pub sstables_per_tier: Vec<usize>,
    pub flushes: u64,
    pub compactions: u64,
    /// Figures of the memtable's arena.
    pub arena: ArenaStats,
    /// Sequence the next write gets.
    pub next_sequence: u64,
    pub poisoned: bool,
    /// Write-triggered flushes or compactions that failed without failing
    /// the write (see `StorageEngine::last_background_error`).
    pub background_errors: u64,
}

/// The counters the engine bumps as it works.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub blocks_written: u64,
    pub blocks_deleted: u64,
    pub edges_written: u64,
    pub edges_deleted: u64,
    pub batches_committed: u64,
    pub payload_bytes_written: u64,
    pub wal_syncs: u64,
    pub flushes: u64,
    pub compactions: u64,
    pub background_errors: u64,
}
