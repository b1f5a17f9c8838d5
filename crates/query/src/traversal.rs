//! The `Traversal` query: starts, direction, edge-type filter, limits and
//! algorithm; and its result.

use kausal_storage::{BlockId, BlockView, EdgeType, GraphEdge};

use crate::limits::{
    DEFAULT_MAX_DEPTH, DEFAULT_MAX_RESULTS, MAX_DEPTH_CAP, MAX_RESULTS_CAP, MAX_START_IDS,
};
use crate::{QueryError, QueryResult};

/// Which edges a traversal follows from a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From source to target ("what does X depend on").
    Outgoing,
    /// From target to source ("who depends on X").
    Incoming,
    /// Both ways.
    Both,
}

impl Direction {
    /// The opposite direction (for searching back from a target).
    pub fn reversed(self) -> Self {
        match self {
            Direction::Outgoing => Direction::Incoming,
            Direction::Incoming => Direction::Outgoing,
            Direction::Both => Direction::Both,
        }
    }
}

/// A set of edge types, as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeTypeSet(u32);

impl EdgeTypeSet {
    /// Every edge type.
    pub fn all() -> Self {
        Self::of(EdgeType::ALL)
    }

    /// Only `edge_type`.
    pub fn only(edge_type: EdgeType) -> Self {
        Self::of(&[edge_type])
    }

    /// Exactly these types.
    pub fn of(types: &[EdgeType]) -> Self {
        Self(types.iter().fold(0, |mask, t| mask | (1 << t.as_u16())))
    }

    /// Every type except these.
    pub fn excluding(types: &[EdgeType]) -> Self {
        Self(Self::all().0 & !Self::of(types).0)
    }

    /// The call kinds: calls, calls_method, calls_function.
    pub fn calls() -> Self {
        Self::of(&[
            EdgeType::Calls,
            EdgeType::CallsMethod,
            EdgeType::CallsFunction,
        ])
    }

    /// True when `edge_type` is in the set.
    pub fn contains(&self, edge_type: EdgeType) -> bool {
        self.0 & (1 << edge_type.as_u16()) != 0
    }

    /// True when no type is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// The traversal algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Every block within `max_depth`, nearest first; depth is the distance.
    BreadthFirst,
    /// Every block within `max_depth`, deepest branch first; depth is the
    /// length of the path found (re-explored when a shorter one turns up).
    DepthFirst,
    /// The shortest path from the single start to `target` (bidirectional BFS).
    ShortestPath {
        /// Where the path must end.
        target: BlockId,
    },
    /// Blocks reachable from the starts in dependency order (Kahn): every
    /// edge's source before its target in the traversal direction. A cycle
    /// is a `QueryError::Cycle`. Ignores `max_depth`.
    TopologicalSort,
    /// Strongly connected components (iterative Tarjan) of the blocks
    /// reachable from the starts, or of the whole graph when no start is
    /// given; only components with a cycle (two or more blocks, or a
    /// self-loop) are returned. Ignores `max_depth`.
    StronglyConnectedComponents,
}

/// A traversal query. Build with [`Traversal::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traversal {
    /// Where the traversal starts (at most `MAX_START_IDS`).
    pub starts: Vec<BlockId>,
    /// Which way edges are followed.
    pub direction: Direction,
    /// Which edge types are followed.
    pub edge_types: EdgeTypeSet,
    /// Hops from a start (default 10, at most `MAX_DEPTH_CAP`).
    pub max_depth: u32,
    /// Blocks returned (default 1,000, at most `MAX_RESULTS_CAP`); more
    /// sets `truncated`.
    pub max_results: usize,
    /// What to compute.
    pub algorithm: Algorithm,
}

impl Traversal {
    /// A breadth-first, outgoing traversal over every edge type with the
    /// default limits (depth 10, 1,000 results).
    pub fn new(starts: impl Into<Vec<BlockId>>) -> Self {
        Self {
            starts: starts.into(),
            direction: Direction::Outgoing,
            edge_types: EdgeTypeSet::all(),
            max_depth: DEFAULT_MAX_DEPTH,
            max_results: DEFAULT_MAX_RESULTS,
            algorithm: Algorithm::BreadthFirst,
        }
    }

    /// Follows edges in `direction`.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Follows only edges of these types.
    pub fn edge_types(mut self, edge_types: EdgeTypeSet) -> Self {
        self.edge_types = edge_types;
        self
    }

    /// Stops `max_depth` hops from a start.
    pub fn max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Returns at most `max_results` blocks.
    pub fn max_results(mut self, max_results: usize) -> Self {
        self.max_results = max_results;
        self
    }

    /// Computes `algorithm` instead of a breadth-first walk.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Checks the limits and the algorithm's requirements.
    pub fn validate(&self) -> QueryResult<()> {
        let needs_start = !matches!(self.algorithm, Algorithm::StronglyConnectedComponents);
        if needs_start && self.starts.is_empty() {
            return Err(QueryError::invalid(
                "a traversal needs at least one start id",
            ));
        }
        if self.starts.len() > MAX_START_IDS {
            return Err(QueryError::invalid(format!(
                "{} start ids exceed the limit of {MAX_START_IDS}",
                self.starts.len()
            )));
        }
        if let Some(zero) = self.starts.iter().find(|id| id.is_zero()) {
            return Err(QueryError::invalid(format!(
                "start id {zero} is the invalid zero id"
            )));
        }
        let uses_depth = matches!(
            self.algorithm,
            Algorithm::BreadthFirst | Algorithm::DepthFirst | Algorithm::ShortestPath { .. }
        );
        if uses_depth && self.max_depth == 0 {
            return Err(QueryError::invalid("max_depth must be at least 1"));
        }
        if self.max_depth > MAX_DEPTH_CAP {
            return Err(QueryError::invalid(format!(
                "max_depth {} exceeds the cap of {MAX_DEPTH_CAP}",
                self.max_depth
            )));
        }
        if self.max_results == 0 || self.max_results > MAX_RESULTS_CAP {
            return Err(QueryError::invalid(format!(
                "max_results {} must be between 1 and {MAX_RESULTS_CAP}",
                self.max_results
            )));
        }
        if self.edge_types.is_empty() {
            return Err(QueryError::invalid(
                "the edge-type filter admits no edge type",
            ));
        }
        match self.algorithm {
            Algorithm::ShortestPath { target } => {
                if self.starts.len() != 1 {
                    return Err(QueryError::invalid(
                        "a shortest path needs exactly one start",
                    ));
                }
                if target.is_zero() {
                    return Err(QueryError::invalid("target is the invalid zero id"));
                }
            }
            Algorithm::TopologicalSort if self.direction == Direction::Both => {
                return Err(QueryError::invalid(
                    "a topological sort needs a direction (outgoing or incoming)",
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// One block a traversal reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReachedBlock<'e> {
    /// The block, borrowed from the storage engine.
    pub block: BlockView<'e>,
    /// Distance from the start (BFS), path length (DFS, shortest path),
    /// or layer (topological sort); 0 for starts and SCC members.
    pub depth: u32,
    /// Index (in `nodes`) of the block this one was reached from.
    pub parent: Option<usize>,
    /// The edge followed from the parent.
    pub via: Option<GraphEdge>,
}

/// What a traversal found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraversalResult<'e> {
    /// Reached blocks: in visit order (BFS/DFS), path order (shortest path),
    /// dependency order (topological sort), or grouped by component (SCC).
    pub nodes: Vec<ReachedBlock<'e>>,
    /// For SCC: each component as indices into `nodes`.
    pub components: Vec<Vec<usize>>,
    /// True when `max_results` cut the result short.
    pub truncated: bool,
}

impl TraversalResult<'_> {
    /// The edges from a start to `nodes[index]`, in walking order.
    pub fn path_to(&self, index: usize) -> Vec<GraphEdge> {
        let mut path = Vec::new();
        let mut current = index;
        while let Some(node) = self.nodes.get(current) {
            let (Some(parent), Some(via)) = (node.parent, node.via) else {
                break;
            };
            path.push(via);
            current = parent;
        }
        path.reverse();
        path
    }

    /// Ids of the reached blocks, in result order.
    pub fn ids(&self) -> Vec<BlockId> {
        self.nodes.iter().map(|node| node.block.id).collect()
    }
}
