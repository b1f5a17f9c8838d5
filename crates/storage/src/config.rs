//! `Config`: memtable budget, WAL segment size, durability and compaction
//! policy, validated at `open`.

use crate::limits::{MAX_WAL_BUFFER_BYTES, MIN_MEMTABLE_BUDGET_BYTES, MIN_WAL_SEGMENT_BYTES};
use crate::{StorageError, StorageResult};

/// When the WAL is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

/// Engine settings, built with [`Config::builder`] (or `Config::default()`)
/// and validated when a database opens with them.
///
/// ```
/// use kausal_storage::{Config, SyncMode};
///
/// let config = Config::builder()
///     .memtable_budget_bytes(16 * 1024 * 1024)
///     .sync_mode(SyncMode::EveryBytes(1 << 20))
///     .build();
/// assert_eq!(config.memtable_budget_bytes(), 16 * 1024 * 1024);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) memtable_budget_bytes: usize,
    pub(crate) wal_segment_bytes: u64,
    pub(crate) wal_buffer_bytes: usize,
    pub(crate) sync_mode: SyncMode,
    pub(crate) auto_compact: bool,
    pub(crate) background_worker: bool,
    pub(crate) compaction_min_tables: usize,
    pub(crate) compaction_base_bytes: u64,
    pub(crate) compaction_tier_ratio: u64,
    pub(crate) wal_salvage: bool,
}

/// Builds a [`Config`]: every setting starts at its default.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Memtable size that triggers a freeze and a background flush (bytes; default 64 MiB, at least `MIN_MEMTABLE_BUDGET_BYTES`).
    pub fn memtable_budget_bytes(mut self, value: usize) -> Self {
        self.config.memtable_budget_bytes = value;
        self
    }

    /// Preallocated size of each WAL segment (bytes; default 64 MiB, at least `MIN_WAL_SEGMENT_BYTES`).
    pub fn wal_segment_bytes(mut self, value: u64) -> Self {
        self.config.wal_segment_bytes = value;
        self
    }

    /// WAL bytes buffered in memory before they are written to the segment (0 writes every record through at once; durability still needs a sync; at most `MAX_WAL_BUFFER_BYTES`).
    pub fn wal_buffer_bytes(mut self, value: usize) -> Self {
        self.config.wal_buffer_bytes = value;
        self
    }

    /// Durability of write calls (default `SyncMode::EveryWrite`).
    pub fn sync_mode(mut self, value: SyncMode) -> Self {
        self.config.sync_mode = value;
        self
    }

    /// Run size-tiered compaction in the background after flushes (default on).
    pub fn auto_compact(mut self, value: bool) -> Self {
        self.config.auto_compact = value;
        self
    }

    /// Run flushes and compactions on a background thread (default on). Off, they run only when asked (`run_background_step`, `flush`, `compact`) or when a write stalls, on the caller's thread: the simulator's deterministic mode.
    pub fn background_worker(mut self, value: bool) -> Self {
        self.config.background_worker = value;
        self
    }

    /// Tables of one size tier that trigger a merge (default 4, at least 2).
    pub fn compaction_min_tables(mut self, value: usize) -> Self {
        self.config.compaction_min_tables = value;
        self
    }

    /// Tables up to this size form tier 0 (bytes; default 8 MiB).
    pub fn compaction_base_bytes(mut self, value: u64) -> Self {
        self.config.compaction_base_bytes = value;
        self
    }

    /// Size ratio between neighbouring tiers (default 4, at least 2).
    pub fn compaction_tier_ratio(mut self, value: u64) -> Self {
        self.config.compaction_tier_ratio = value;
        self
    }

    /// On mid-log WAL corruption, drop the damaged range and continue, reporting what was dropped, instead of refusing to open (default off).
    pub fn wal_salvage(mut self, value: bool) -> Self {
        self.config.wal_salvage = value;
        self
    }

    /// The settings (checked when a database opens with them, or by
    /// [`Config::validate`]).
    pub fn build(self) -> Config {
        self.config
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A builder starting from these settings.
    pub fn into_builder(self) -> ConfigBuilder {
        ConfigBuilder { config: self }
    }

    /// Memtable size that triggers a freeze and a background flush (bytes; default 64 MiB, at least `MIN_MEMTABLE_BUDGET_BYTES`).
    pub fn memtable_budget_bytes(&self) -> usize {
        self.memtable_budget_bytes
    }

    /// Preallocated size of each WAL segment (bytes; default 64 MiB, at least `MIN_WAL_SEGMENT_BYTES`).
    pub fn wal_segment_bytes(&self) -> u64 {
        self.wal_segment_bytes
    }

    /// WAL bytes buffered in memory before they are written to the segment (0 writes every record through at once; durability still needs a sync; at most `MAX_WAL_BUFFER_BYTES`).
    pub fn wal_buffer_bytes(&self) -> usize {
        self.wal_buffer_bytes
    }

    /// Durability of write calls (default `SyncMode::EveryWrite`).
    pub fn sync_mode(&self) -> SyncMode {
        self.sync_mode
    }

    /// Run size-tiered compaction in the background after flushes (default on).
    pub fn auto_compact(&self) -> bool {
        self.auto_compact
    }

    /// Run flushes and compactions on a background thread (default on). Off, they run only when asked (`run_background_step`, `flush`, `compact`) or when a write stalls, on the caller's thread: the simulator's deterministic mode.
    pub fn background_worker(&self) -> bool {
        self.background_worker
    }

    /// Tables of one size tier that trigger a merge (default 4, at least 2).
    pub fn compaction_min_tables(&self) -> usize {
        self.compaction_min_tables
    }

    /// Tables up to this size form tier 0 (bytes; default 8 MiB).
    pub fn compaction_base_bytes(&self) -> u64 {
        self.compaction_base_bytes
    }

    /// Size ratio between neighbouring tiers (default 4, at least 2).
    pub fn compaction_tier_ratio(&self) -> u64 {
        self.compaction_tier_ratio
    }

    /// On mid-log WAL corruption, drop the damaged range and continue, reporting what was dropped, instead of refusing to open (default off).
    pub fn wal_salvage(&self) -> bool {
        self.wal_salvage
    }
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
