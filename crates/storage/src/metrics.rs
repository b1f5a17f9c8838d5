//! `Metrics`: counters and gauges of one engine, read by `metrics()`.

use std::sync::atomic::{AtomicU64, Ordering};

use kausal_memory::ArenaStats;

/// A reading of an engine's counters (since open) and current sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Block puts applied since open.
    pub blocks_written: u64,
    /// Block deletes applied since open.
    pub blocks_deleted: u64,
    /// Edge puts applied since open.
    pub edges_written: u64,
    /// Edge deletes applied since open.
    pub edges_deleted: u64,
    /// Write calls committed (a batch counts once).
    pub batches_committed: u64,
    /// Bytes of source_uri, metadata and content written.
    pub payload_bytes_written: u64,
    /// Bytes held by the active and frozen memtables.
    pub memtable_bytes: usize,
    /// Block entries (tombstones included) in the active memtable.
    pub memtable_blocks: usize,
    /// Edge entries (tombstones included) in the active memtable.
    pub memtable_edges: usize,
    /// Full memtables frozen and waiting for the background flush.
    pub frozen_memtables: usize,
    /// WAL record bytes appended since open.
    pub wal_bytes_appended: u64,
    /// WAL bytes not yet fsynced.
    pub wal_unsynced_bytes: u64,
    /// Id of the WAL segment taking writes.
    pub wal_active_segment: u64,
    /// WAL fsyncs (each may cover many writers' records: group commit).
    pub wal_syncs: u64,
    /// Writes whose durability another writer's fsync provided.
    pub group_commit_followers: u64,
    /// Live tables.
    pub sstable_count: usize,
    /// Bytes of the live tables.
    pub sstable_bytes: u64,
    /// Live tables per size tier (index = tier).
    pub sstables_per_tier: Vec<usize>,
    /// Memtables written to tables since open (recovery included).
    pub flushes: u64,
    /// Compaction merges since open.
    pub compactions: u64,
    /// Figures of the memtable's arena.
    pub arena: ArenaStats,
    /// Sequence the next write gets.
    pub next_sequence: u64,
    /// True after a failure that poisoned the engine.
    pub poisoned: bool,
    /// Background flushes or compactions that failed without poisoning
    /// (see `Database::last_background_error`).
    pub background_errors: u64,
    /// Writes that waited for a flush or compaction (too many frozen
    /// memtables or tables).
    pub write_stalls: u64,
    /// Total time those writes waited, in microseconds.
    pub write_stall_micros: u64,
    /// Pauses of writers held to the flush rate while frozen memtables
    /// wait (pacing; each at most a few milliseconds).
    pub write_pauses: u64,
    /// Total time of those pauses, in microseconds.
    pub write_pause_micros: u64,
}

/// The counters the engine bumps as it works, from any thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub blocks_written: AtomicU64,
    pub blocks_deleted: AtomicU64,
    pub edges_written: AtomicU64,
    pub edges_deleted: AtomicU64,
    pub batches_committed: AtomicU64,
    pub payload_bytes_written: AtomicU64,
    pub wal_syncs: AtomicU64,
    pub group_commit_followers: AtomicU64,
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub background_errors: AtomicU64,
    pub write_stalls: AtomicU64,
    pub write_stall_micros: AtomicU64,
    pub write_pauses: AtomicU64,
    pub write_pause_micros: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter` (relaxed: counters order nothing).
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
