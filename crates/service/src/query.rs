//! `Query`: a read-only question about the graph, as the CLI, the HTTP
//! server and the MCP tools ask it, with its named limits and defaults.

use serde::{Deserialize, Serialize};

/// Deepest `callers`/`callees` tree.
pub const MAX_TREE_DEPTH: u32 = 32;
/// Most nodes a `callers`/`callees` tree shows before it is cut.
pub const MAX_TREE_NODES: usize = 2000;
/// Most results `find` returns.
pub const MAX_FIND_LIMIT: usize = 10_000;

/// Default `find` limit (the CLI's `--limit` default).
pub const DEFAULT_FIND_LIMIT: usize = 50;
/// Default `trace` limit (the CLI's `--limit` default).
pub const DEFAULT_TRACE_LIMIT: usize = 1000;

/// A read-only question about the graph, as the CLI, the HTTP server and
/// the MCP tools ask it; [`answer`] answers it on one consistent view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// Blocks matching a name (`find`).
    Find {
        /// The name, qualified-name suffix, path, id or prefix to look up.
        name: String,
        /// Only blocks of this kind (`function`, `struct`, ...); any kind when absent.
        #[serde(default)]
        kind: Option<String>,
        /// Only blocks whose path matches this glob (`*` within a segment, `**` across); any
        /// file when absent.
        #[serde(default)]
        path: Option<String>,
        /// Most blocks to return (default 50, at most [`MAX_FIND_LIMIT`]).
        #[serde(default = "default_find_limit")]
        limit: usize,
    },
    /// One block with its signature, doc, metadata and content (`show`).
    Show {
        /// The block's name; it must resolve to exactly one block.
        name: String,
    },
    /// The tree of blocks that call a block (`callers`).
    Callers {
        /// The block's name; it must resolve to exactly one block.
        name: String,
        /// Levels of callers to follow (1 to 32; default 1).
        #[serde(default = "default_tree_depth")]
        depth: u32,
    },
    /// The tree of blocks a block calls (`callees`).
    Callees {
        /// The block's name; it must resolve to exactly one block.
        name: String,
        /// Levels of callees to follow (1 to 32; default 1).
        #[serde(default = "default_tree_depth")]
        depth: u32,
    },
    /// Every block reachable from a block along chosen edges (`trace`).
    Trace {
        /// The starting block's name; it must resolve to exactly one block.
        name: String,
        /// Follow edges inward, outward or both ways (default outward).
        #[serde(default = "default_direction")]
        direction: TraceDirection,
        /// Most edges to follow from the start (default 3, at most 1,000).
        #[serde(default = "default_trace_depth")]
        depth: u32,
        /// Edge types to follow; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
        /// Most blocks to return (default 1,000, at most [`MAX_FIND_LIMIT`]).
        #[serde(default = "default_trace_limit")]
        limit: usize,
    },
    /// A shortest path between two blocks (`path`).
    Path {
        /// The block the path starts at.
        from: String,
        /// The block the path ends at.
        to: String,
        /// Edge types the path may use; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
    },
    /// Cycles in the graph (`cycles`).
    Cycles {
        /// Edge types to look for cycles along; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
    },
    /// What a file or module imports and what imports it (`deps`).
    Deps {
        /// The file or module's name or path.
        target: String,
    },
    /// Counts of blocks, edges, tables and bytes in the database (`stats`).
    Stats,
}

fn default_find_limit() -> usize {
    DEFAULT_FIND_LIMIT
}
fn default_tree_depth() -> u32 {
    1
}
fn default_direction() -> TraceDirection {
    TraceDirection::Out
}
fn default_trace_depth() -> u32 {
    3
}
fn default_trace_limit() -> usize {
    DEFAULT_TRACE_LIMIT
}

impl Query {
    /// The names the query resolves (each must be non-empty).
    pub fn names(&self) -> Vec<&str> {
        match self {
            Query::Find { name, .. }
            | Query::Show { name }
            | Query::Callers { name, .. }
            | Query::Callees { name, .. }
            | Query::Trace { name, .. } => vec![name],
            Query::Path { from, to, .. } => vec![from, to],
            Query::Deps { target } => vec![target],
            Query::Cycles { .. } | Query::Stats => Vec::new(),
        }
    }
}

/// Which way `trace` follows edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TraceDirection {
    /// Follow edges into NAME: what reaches it.
    In,
    /// Follow edges out of NAME: what it reaches.
    Out,
    /// Follow edges both ways.
    Both,
}
