//! [`RecoveryReport`]: what opening a data directory found and repaired,
//! built by `open` and kept by the engine's shared state. It sits below
//! both, so neither imports the other for it.

use std::path::PathBuf;

use crate::wal::reader::WalReplayReport;

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// What WAL replay found: segments, records, torn tail, salvaged ranges.
    pub wal: WalReplayReport,
    /// Records applied to the memtable.
    pub records_applied: u64,
    /// Records skipped because the tables already held them.
    pub records_skipped: u64,
    /// Memtable flushes during replay, including the final one that makes
    /// everything replayed durable in a fresh table (when the replayed
    /// segments were not kept).
    pub flushes_during_replay: u64,
    /// True when the replayed writes stayed in the memtable and in their
    /// WAL segments, made durable there (a clean replay that fit the
    /// memtable), instead of going to a fresh table; the first flush
    /// removes those segments.
    pub replayed_segments_kept: bool,
    /// Table files no manifest named, removed.
    pub orphan_tables_removed: Vec<PathBuf>,
}
