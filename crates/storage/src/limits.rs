//! Named limits, checked at the public boundary so that nothing past it has
//! to handle absurd sizes.

/// Largest `content` of a block.
pub const MAX_CONTENT_BYTES: usize = 16 * 1024 * 1024;
/// Largest `source_uri` of a block.
pub const MAX_SOURCE_URI_BYTES: usize = 4 * 1024;
/// Largest `metadata_json` of a block.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Most operations in one write batch.
pub const MAX_BATCH_OPS: usize = 100_000;
/// Largest encoded write batch (one WAL record).
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// Largest WAL record a reader accepts: a maximal batch plus its header.
pub const MAX_WAL_RECORD_BYTES: usize = MAX_BATCH_BYTES + 64;
/// Smallest memtable budget a `Config` accepts.
pub const MIN_MEMTABLE_BUDGET_BYTES: usize = 64 * 1024;
/// Smallest WAL segment size a `Config` accepts.
pub const MIN_WAL_SEGMENT_BYTES: u64 = 4 * 1024;
/// Largest in-memory WAL buffer a `Config` accepts.
pub const MAX_WAL_BUFFER_BYTES: usize = 64 * 1024 * 1024;
/// Most tables merged by one compaction step.
pub const MAX_TABLES_PER_COMPACTION: usize = 16;
/// Most live SSTables; beyond it writes fail until `compact` runs.
pub const MAX_LIVE_TABLES: usize = 4096;

/// Frozen memtables (full, waiting for the background flush) beyond which
/// writes stall until a flush completes.
pub const MAX_FROZEN_MEMTABLES: usize = 2;
/// With `auto_compact`, writes stall while compaction is due and the live
/// tables number this many times `compaction_min_tables` or more.
pub const COMPACTION_STALL_FACTOR: usize = 4;
/// How long a stalled writer waits for background progress before it
/// re-checks the engine's health.
pub const STALL_POLL_MILLIS: u64 = 50;
/// How long a group-commit leader waits before its fsync when other
/// writers were waiting as the last fsync ended, so that those just woken
/// append their next records and share this fsync instead of each waiting
/// for the next one (PostgreSQL's `commit_delay`). A lone writer never
/// waits.
pub const GROUP_COMMIT_GATHER_MICROS: u64 = 50;
