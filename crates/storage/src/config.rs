//! `Config`: memtable budget, WAL segment size, durability and compaction
//! policy, validated at `open`.

use crate::limits::{MAX_WAL_BUFFER_BYTES, MIN_MEMTABLE_BUDGET_BYTES, MIN_WAL_SEGMENT_BYTES};
use crate::{StorageError, StorageResult};

/// When the WAL is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Every successful write call is fsynced before it returns.
    EveryWrite,
    /// Writes are in the WAL buffer when they return; `sync()` (or a flush,
    /// or a WAL segment rotation) makes them durable.
    Manual,
    /// Like `Manual`, plus an automatic sync once this many WAL bytes are
    /// unsynced (group commit by volume).
    EveryBytes(u64),
}

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Memtable size that triggers a flush to an SSTable.
    pub memtable_budget_bytes: usize,
    /// Preallocated size of each WAL segment.
    pub wal_segment_bytes: u64,
    /// WAL bytes buffered in memory before they are written to the segment
    /// (0 writes every record through at once; durability still needs a sync).
    pub wal_buffer_bytes: usize,
    /// Durability of write calls.
    pub sync_mode: SyncMode,
    /// Run size-tiered compaction in the background after flushes.
    pub auto_compact: bool,
    /// Run flushes and compactions on a background thread. Off, they run
    /// only when asked (`run_background_step`, `flush`, `compact`) or when a
    /// write stalls, on the caller's thread: the simulator's deterministic
    /// mode.
    pub background_worker: bool,
    /// Tables of one size tier that trigger a merge.
    pub compaction_min_tables: usize,
    /// Tables up to this size form tier 0.
    pub compaction_base_bytes: u64,
    /// Size ratio between neighbouring tiers.
    pub compaction_tier_ratio: u64,
    /// On mid-log WAL corruption, drop the damaged range and continue,
    /// reporting what was dropped, instead of refusing to open.
    pub wal_salvage: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            memtable_budget_bytes: 64 * 1024 * 1024,
            wal_segment_bytes: 64 * 1024 * 1024,
            wal_buffer_bytes: crate::wal::WAL_BUFFER_BYTES,
            sync_mode: SyncMode::EveryWrite,
            auto_compact: true,
            background_worker: true,
            compaction_min_tables: 4,
            compaction_base_bytes: 8 * 1024 * 1024,
            compaction_tier_ratio: 4,
            wal_salvage: false,
        }
    }
}

impl Config {
    /// Rejects values outside their ranges.
    pub fn validate(&self) -> StorageResult<()> {
        let invalid = |reason: String| Err(StorageError::InvalidConfig { reason });
        if self.memtable_budget_bytes < MIN_MEMTABLE_BUDGET_BYTES {
            return invalid(format!(
                "memtable_budget_bytes {} is below {MIN_MEMTABLE_BUDGET_BYTES}",
                self.memtable_budget_bytes
            ));
        }
        if self.wal_segment_bytes < MIN_WAL_SEGMENT_BYTES {
            return invalid(format!(
                "wal_segment_bytes {} is below {MIN_WAL_SEGMENT_BYTES}",
                self.wal_segment_bytes
            ));
        }
        if self.wal_buffer_bytes > MAX_WAL_BUFFER_BYTES {
            return invalid(format!(
                "wal_buffer_bytes {} is above {MAX_WAL_BUFFER_BYTES}",
                self.wal_buffer_bytes
            ));
        }
        if self.compaction_min_tables < 2 {
            return invalid("compaction_min_tables must be at least 2".into());
        }
        if self.compaction_tier_ratio < 2 {
            return invalid("compaction_tier_ratio must be at least 2".into());
        }
        if self.compaction_base_bytes == 0 {
            return invalid("compaction_base_bytes must be positive".into());
        }
        if self.sync_mode == SyncMode::EveryBytes(0) {
            return invalid("SyncMode::EveryBytes needs a positive byte count".into());
        }
        Ok(())
    }
}
