//! The answers: one report type per query, and [`Answer`], the tagged
//! union the transports serialise (`{"command": "find", ...}`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context::ContextReport;
use crate::impact::ImpactReport;
use crate::map::MapReport;
use crate::model::{BlockDetail, BlockInfo};
use crate::outline::OutlineReport;
#[allow(unused_imports)] // for doc links
use crate::query::MAX_TREE_NODES;

/// What a query answered.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Answer {
    /// `find`: the matching blocks.
    Find(FindReport),
    /// `show`: one block in full.
    Show(BlockDetail),
    /// `callers`: the tree of callers.
    Callers(TreeReport),
    /// `callees`: the tree of callees.
    Callees(TreeReport),
    /// `trace`: the blocks reached.
    Trace(TraceReport),
    /// `path`: the steps of a shortest path.
    Path(PathReport),
    /// `cycles`: the cycles found.
    Cycles(CyclesReport),
    /// `deps`: imports in both directions.
    Deps(DepsReport),
    /// `stats`: counts and sizes.
    Stats(StatsReport),
    /// `context`: a symbol and what surrounds it, in a token budget.
    Context(ContextReport),
    /// `impact`: what reaches the changed symbols, and its tests.
    Impact(ImpactReport),
    /// `outline`: a file's items, nested.
    Outline(OutlineReport),
    /// `map`: the most important files and items, in a token budget.
    Map(MapReport),
}

/// The report of `find`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct FindReport {
    /// The name as the user typed it.
    pub query: String,
    /// `id`, `exact` (name, qualified-name suffix or path) or `prefix`.
    pub matched_by: String,
    /// Matching blocks; at most the limit.
    pub results: Vec<BlockInfo>,
    /// More blocks matched than the limit allowed.
    pub truncated: bool,
}

/// One block in a `callers`/`callees` tree.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TreeNode {
    /// The caller or callee.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// The edge type that leads here from the parent.
    pub edge: String,
    /// How the ingester resolved that edge: a rule (`scope`, `import`,
    /// `path`, `self_method`, `inherited`, `receiver_type`, `trait_bound`,
    /// `blanket_trait`, `unique_name`; docs/INGEST.md), `candidate` for a
    /// `calls_candidate` edge, `unrecorded` for a call edge stored without
    /// a record; absent for other edge types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// The calling block's file has precise calls from a SCIP index
    /// (`kausal ingest --scip`, `kausal index`): an edge here not
    /// `resolved_by` `precise` is heuristic although an index exists (the
    /// file was edited since). Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub precise_file: bool,
    /// Already on the path from the root: a cycle, not expanded again.
    pub cycle: bool,
    /// Shown earlier in the tree: not expanded again.
    pub repeated: bool,
    /// `callers` of a trait impl's method: this block calls the trait's
    /// method (named here), which dispatches to the impl (Rust's dynamic
    /// and generic calls); absent for a direct call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_trait: Option<String>,
    /// Reached by a `calls_candidate` edge (`--candidates`): one of a few
    /// possible targets of a call the ingester could not settle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub candidate: bool,
    /// Its own callers or callees, one level deeper; empty when `cycle`, `repeated` or at the depth
    /// limit.
    pub children: Vec<TreeNode>,
}

/// The report of `callers` or `callees`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TreeReport {
    /// The block whose callers or callees these are.
    pub root: BlockInfo,
    /// Levels followed.
    pub depth: u32,
    /// Direct callers or callees, each with its own subtree.
    pub children: Vec<TreeNode>,
    /// The tree was cut at [`MAX_TREE_NODES`] nodes.
    pub truncated: bool,
}

/// One block reached by `trace` or on a `path`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TraceStep {
    /// The block reached.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// Edges from the start to this block (0 for the start itself).
    pub depth: u32,
    /// The edge type that reached it; `None` for the start.
    pub via: Option<String>,
    /// How the ingester resolved that edge, for call edges (see
    /// [`TreeNode::resolved_by`]); absent for the start and other edges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// The calling block's file has precise calls (see
    /// [`TreeNode::precise_file`]); absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub precise_file: bool,
    /// Id of the block it was reached from; `None` for the start.
    pub from: Option<String>,
}

/// The report of `trace`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TraceReport {
    /// The block the trace started from.
    pub start: BlockInfo,
    /// `in`, `out` or `both`.
    pub direction: String,
    /// Edge types followed; empty when all were.
    pub edges: Vec<String>,
    /// The depth limit asked for.
    pub depth: u32,
    /// Blocks reached, nearest first; at most the limit.
    pub reached: Vec<TraceStep>,
    /// More blocks were reachable than the limit allowed.
    pub truncated: bool,
}

/// The report of `path`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PathReport {
    /// The block the path starts at.
    pub from: BlockInfo,
    /// The block the path ends at.
    pub to: BlockInfo,
    /// The path, `from` first and `to` last.
    pub steps: Vec<TraceStep>,
}

/// The report of `cycles`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CyclesReport {
    /// Edge types followed; empty when all were.
    pub edges: Vec<String>,
    /// Each cycle as the blocks on it, largest cycle first.
    pub cycles: Vec<Vec<BlockInfo>>,
    /// More cycles existed than were listed.
    pub truncated: bool,
}

/// The report of `deps`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DepsReport {
    /// The file or module asked about.
    pub target: BlockInfo,
    /// Blocks (files or modules) it imports.
    pub imports: Vec<BlockInfo>,
    /// Blocks (files or modules) that import it.
    pub imported_by: Vec<BlockInfo>,
}

/// The report of `stats`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatsReport {
    /// The database directory.
    pub db: String,
    /// Blocks stored.
    pub blocks: u64,
    /// Blocks by kind (`function`, `struct`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Blocks by language (`rust`, `python`, ...).
    pub blocks_by_language: BTreeMap<String, u64>,
    /// Edges by type (`calls`, `imports`, ...).
    pub edges_by_type: BTreeMap<String, u64>,
    /// `calls` and `calls_method` edges by the rule that resolved them
    /// (docs/INGEST.md), and `unrecorded`: call edges without a record
    /// (a database ingested before provenance was recorded).
    #[serde(default)]
    pub calls_by_provenance: BTreeMap<String, u64>,
    /// Sorted tables on disk.
    pub tables: usize,
    /// Bytes of the sorted tables.
    pub table_bytes: u64,
    /// Bytes of the database's files (WAL segments count at their
    /// preallocated size).
    pub file_bytes: u64,
    /// Bytes of writes held in memory, not yet in a table.
    pub memtable_bytes: usize,
    /// Blocks held in memory, not yet in a table.
    pub memtable_blocks: usize,
    /// Edges held in memory, not yet in a table.
    pub memtable_edges: usize,
    /// What the last ingest's walk left out (skipped files by cause, files
    /// excluded by ignore rules); absent before the first ingest.
    pub last_walk: Option<kausal_ingest::WalkRecord>,
}
