//! kausal-storage: a crash-safe LSM engine for context blocks and graph edges.
//!
//! Writes go to a checksummed, segmented WAL and a memtable (block index and
//! edge adjacency, bytes in a `kausal-memory` arena); full memtables become
//! immutable SSTables (data, index, edge sections, bloom filter, footer),
//! named by an atomically replaced manifest and merged by size-tiered
//! compaction. All I/O goes through `kausal-vfs`. See `docs/DESIGN.md` for
//! the on-disk formats and [`Database`] for what each call guarantees.

#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod batch;
mod codec;
mod config;
mod engine;
mod error;
pub mod limits;
mod manifest;
mod memtable;
mod metrics;
mod op;
mod sstable;
mod types;
mod wal;

pub mod backup;
pub use batch::WriteBatch;
pub use config::{Config, SyncMode};
pub use engine::{BlockIter, Database, LOCK_FILE, RecoveryReport, Snapshot};
pub use error::{StorageError, StorageResult};
pub use metrics::Metrics;
pub use types::{BlockId, BlockView, ContextBlock, EdgeType, GraphEdge, validate_block_fields};
pub use wal::reader::{DroppedWalRange, WalReplayReport};
