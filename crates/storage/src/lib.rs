//! kausal-storage: a crash-safe, concurrent LSM engine for context blocks
//! (units of code with their metadata) and the typed graph edges between
//! them.
//!
//! Open a [`Database`] from a path in one line; write from any thread; read
//! through a [`Snapshot`], a consistent view that never waits for writers:
//!
//! ```
//! use kausal_storage::{BlockId, ContextBlock, Database, EdgeType, GraphEdge};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let db = Database::open(dir.path())?;
//! let (caller, callee) = (BlockId::from_u128(1), BlockId::from_u128(2));
//! db.put_block(&ContextBlock::new(caller, "src/a.rs", r#"{"name":"a"}"#, "fn a() { b() }"))?;
//! db.put_edge(GraphEdge::new(caller, callee, EdgeType::Calls))?;
//!
//! let snapshot = db.snapshot();
//! assert_eq!(snapshot.find_block(caller)?.unwrap().content, "fn a() { b() }");
//! assert_eq!(snapshot.find_incoming_edges(callee)?[0].source, caller);
//! # drop(snapshot);
//! db.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! Writes go to a checksummed, segmented WAL (group commit: writers that
//! need an fsync at the same time share one) and a memtable of persistent
//! maps whose bytes live in a `kausal-memory` arena; full memtables are
//! frozen and written by a background worker to immutable SSTables (data,
//! index, edge sections, bloom and edge filters, footer), named by an
//! atomically replaced manifest and merged by size-tiered compaction. All
//! I/O goes through [`kausal_vfs::Vfs`], so the simulator (`kausal-sim`)
//! runs this exact code under injected faults. Settings: [`Config`] and
//! its builder. What each call guarantees: [`Database`]. Formats and the
//! threading model: `docs/DESIGN.md`.
//!
//! Neighbours: `kausal-memory` (arenas) and `kausal-vfs` (I/O) below;
//! `kausal-query` (lookups, traversals over a snapshot) and
//! `kausal-ingest` (source trees into blocks and edges) above.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod batch;
mod codec;
mod config;
mod engine;
mod error;
pub mod files;
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
pub use config::{Config, ConfigBuilder, SyncMode};
pub use engine::{BlockIter, Database, RecoveryReport, Snapshot, SnapshotSizes};
pub use error::{StorageError, StorageResult};
pub use files::LOCK_FILE;
pub use metrics::Metrics;
pub use types::{BlockId, BlockView, ContextBlock, EdgeType, GraphEdge, validate_block_fields};
pub use wal::reader::{DroppedWalRange, WalReplayReport};

/// This crate's README, whose example runs as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
