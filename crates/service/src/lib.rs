//! kausal-service: the product's query layer, one API under the `kausal`
//! command line, the HTTP server and the MCP tools (in the place
//! rust-analyzer gives its `ide` crate over `hir`).
//!
//! A [`Query`] is answered by [`answer`] on one [`Reader`] (one snapshot of
//! the database), so every part of an answer sees the same state and never
//! waits for a writer. Names resolve in `names` (through the name index
//! kausal-ingest writes); blocks are described by `model`; each query has
//! its own file (`find`, `tree` for callers and callees, `graph` for
//! trace, path, cycles and deps, `stats`; for agents `context`, `impact`,
//! `outline` and `map`, packed into token budgets by `budget`), built on
//! kausal-query's traversals. Reports are plain serde types; [`Answer`] is their tagged
//! union (`{"command": "find", ...}`), byte for byte what the CLI's
//! `--json`, HTTP and MCP return.
//!
//! # Neighbours
//!
//! * kausal-storage: the snapshot every answer reads;
//! * kausal-query: traversals (trace, path, cycles);
//! * kausal-ingest: the name index keys and the walk record;
//! * kausal-cli: parses arguments into a [`Query`], prints an [`Answer`],
//!   and serves it over HTTP and MCP.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod answer;
pub mod budget;
pub mod code;
pub mod context;
pub mod diff;
pub mod error;
mod find;
mod graph;
pub mod impact;
pub mod map;
pub mod model;
pub mod names;
pub mod outline;
mod provenance;
pub mod query;
pub mod reader;
pub mod report;
mod resolve;
mod stats;
mod suggest;
mod testcode;
mod tree;

pub use answer::answer;
pub use code::ErrorCode;
pub use context::{ContextArgs, ContextReport};
pub use error::{Candidate, ServiceError};
pub use impact::{ImpactArgs, ImpactReport};
pub use map::{MapArgs, MapReport};
pub use model::{BlockDetail, BlockInfo};
pub use outline::{OutlineArgs, OutlineReport};
pub use query::{
    CyclesArgs, DEFAULT_FIND_LIMIT, DEFAULT_TRACE_DEPTH, DEFAULT_TRACE_LIMIT, DEFAULT_TREE_DEPTH,
    DepsArgs, FindArgs, MAX_FIND_LIMIT, MAX_TREE_DEPTH, MAX_TREE_NODES, PathArgs, Query, ShowArgs,
    TraceArgs, TraceDirection, TreeArgs,
};
pub use reader::Reader;
pub use report::{
    Answer, CyclesReport, DepsReport, FindReport, PathReport, StatsReport, TraceReport, TraceStep,
    TreeNode, TreeReport,
};
pub use resolve::check_name;

// The crate README's example compiles as a doc test, so it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
