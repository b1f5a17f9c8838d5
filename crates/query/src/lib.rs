//! kausal-query: what users of a code graph ask — lookups, filtered scans,
//! "who calls X", "what does X depend on, three hops out", build order
//! (topological sort) and cycles (strongly connected components) — over a
//! `kausal_storage::Snapshot`.
//!
//! A [`QueryEngine`] borrows a snapshot, so every query sees one consistent
//! state of the database while writers, flushes and compactions go on.
//! Each query's working memory (visited maps, queues, node records,
//! adjacency) lives in a query arena (`kausal-memory`) that is reset, in
//! O(1), when the next query starts. Results are returned owned (vectors the
//! caller keeps) holding `BlockView`s borrowed from the snapshot, so
//! they stay valid after the arena resets and cost no copies of block bytes.
//!
//! ```
//! use kausal_query::QueryEngine;
//! use kausal_storage::{BlockId, ContextBlock, Database, EdgeType, GraphEdge};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let db = Database::open(dir.path())?;
//! let (a, b) = (BlockId::from_u128(1), BlockId::from_u128(2));
//! db.put_block(&ContextBlock::new(a, "src/a.rs", "{}", "fn a() { b() }"))?;
//! db.put_edge(GraphEdge::new(a, b, EdgeType::Calls))?;
//! let snapshot = db.snapshot();
//! let callers = QueryEngine::new(&snapshot).find_callers(b)?;
//! assert_eq!(callers[0].id, a);
//! # Ok(())
//! # }
//! ```
//!
//! Neighbours: `kausal-storage` (the snapshot it reads) and
//! `kausal-memory` (query arenas) below; `kausal-cli` (the `kausal`
//! commands) above.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod algorithms;
mod engine;
mod error;
mod filter;
pub mod limits;
mod traversal;

pub use engine::{FoundBlocks, QueryEngine, ScanResult};
pub use error::{QueryError, QueryResult};
pub use filter::Filter;
pub use traversal::{Algorithm, Direction, EdgeTypeSet, ReachedBlock, Traversal, TraversalResult};

/// This crate's README, whose example runs as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
