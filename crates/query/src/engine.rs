//! `QueryEngine`: the query API over a borrowed storage `Snapshot`.

use std::cell::RefCell;

use kausal_memory::{ArenaCoordinator, ArenaStats, ArenaVec};
use kausal_storage::{BlockId, BlockView, GraphEdge, Snapshot};

use crate::algorithms::{self, GraphSource, Walk, WalkLimits};
use crate::limits::{
    DEFAULT_MAX_RESULTS, MAX_BATCH_LOOKUP_IDS, MAX_RESULTS_CAP, QUERY_ARENA_INITIAL_BYTES,
};
use crate::traversal::{
    Algorithm, Direction, EdgeTypeSet, ReachedBlock, Traversal, TraversalResult,
};
use crate::{Filter, QueryError, QueryResult};

/// Result of `find_blocks`: one slot per requested id, in the caller's
/// order, and the ids that were missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundBlocks<'e> {
    /// The block for each requested id, `None` where it is missing.
    pub blocks: Vec<Option<BlockView<'e>>>,
    /// The requested ids that have no live block.
    pub missing: Vec<BlockId>,
}

/// Result of a filtered scan, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanResult<'e> {
    /// The matching blocks, in id order.
    pub blocks: Vec<BlockView<'e>>,
    /// True when the limit cut the result short.
    pub truncated: bool,
}

/// Reads the graph from the storage engine for the algorithms.
struct StorageGraph<'e> {
    storage: &'e Snapshot,
    edges: RefCell<Vec<GraphEdge>>,
}

impl<'e> GraphSource for StorageGraph<'e> {
    type Block = BlockView<'e>;

    fn neighbors(
        &self,
        node: BlockId,
        direction: Direction,
        types: EdgeTypeSet,
        out: &mut ArenaVec<'_, (BlockId, GraphEdge)>,
    ) -> QueryResult<()> {
        let mut edges = self.edges.borrow_mut();
        if direction != Direction::Incoming {
            self.storage.find_outgoing_edges_into(node, &mut edges)?;
            algorithms::push_neighbors(&edges, false, types, out);
        }
        if direction != Direction::Outgoing {
            self.storage.find_incoming_edges_into(node, &mut edges)?;
            algorithms::push_neighbors(&edges, true, types, out);
        }
        Ok(())
    }

    fn lookup(&self, node: BlockId) -> QueryResult<Option<BlockView<'e>>> {
        Ok(self.storage.find_block(node)?)
    }

    fn exists(&self, node: BlockId) -> QueryResult<bool> {
        Ok(self.storage.block_exists(node)?)
    }
}

/// Queries over one storage [`Snapshot`]: every query sees the database as
/// of the snapshot, however long it runs and whatever writes, flushes and
/// compactions happen meanwhile. Not `Sync` (it reuses buffers between
/// queries): give each thread its own engine over a shared snapshot.
pub struct QueryEngine<'e> {
    graph: StorageGraph<'e>,
    arena: RefCell<ArenaCoordinator>,
}

fn check_limit(limit: usize) -> QueryResult<()> {
    if limit == 0 || limit > MAX_RESULTS_CAP {
        return Err(QueryError::invalid(format!(
            "limit {limit} must be between 1 and {MAX_RESULTS_CAP}"
        )));
    }
    Ok(())
}

impl<'e> QueryEngine<'e> {
    /// A query engine over `storage`.
    pub fn new(storage: &'e Snapshot) -> Self {
        Self {
            graph: StorageGraph {
                storage,
                edges: RefCell::new(Vec::new()),
            },
            arena: RefCell::new(ArenaCoordinator::with_capacity(QUERY_ARENA_INITIAL_BYTES)),
        }
    }

    fn storage(&self) -> &'e Snapshot {
        self.graph.storage
    }

    /// Figures of the query arena (used bytes are the last query's).
    pub fn arena_stats(&self) -> ArenaStats {
        self.arena.borrow().stats()
    }

    /// The live block `id`, if any.
    pub fn find_block(&self, id: BlockId) -> QueryResult<Option<BlockView<'e>>> {
        Ok(self.storage().find_block(id)?)
    }

    /// True when `id` is a live block; reads the index, not the block.
    pub fn block_exists(&self, id: BlockId) -> QueryResult<bool> {
        Ok(self.storage().block_exists(id)?)
    }

    /// Many blocks at once, in the caller's order; missing ids are listed.
    pub fn find_blocks(&self, ids: &[BlockId]) -> QueryResult<FoundBlocks<'e>> {
        if ids.len() > MAX_BATCH_LOOKUP_IDS {
            return Err(QueryError::invalid(format!(
                "{} ids exceed the limit of {MAX_BATCH_LOOKUP_IDS}",
                ids.len()
            )));
        }
        let mut found = FoundBlocks {
            blocks: Vec::with_capacity(ids.len()),
            missing: Vec::new(),
        };
        for &id in ids {
            let block = self.find_block(id)?;
            if block.is_none() {
                found.missing.push(id);
            }
            found.blocks.push(block);
        }
        Ok(found)
    }

    /// Blocks matching `filter`, in id order, at most `limit` (≤ 10,000).
    pub fn scan(&self, filter: &Filter, limit: usize) -> QueryResult<ScanResult<'e>> {
        filter.validate()?;
        check_limit(limit)?;
        let mut result = ScanResult::default();
        for block in self.storage().iterate_blocks()? {
            let block = block?;
            if filter.matches(&block, &mut None) {
                if result.blocks.len() == limit {
                    result.truncated = true;
                    break;
                }
                result.blocks.push(block);
            }
        }
        Ok(result)
    }

    /// Blocks whose metadata `name` is `name` (at most 1,000).
    pub fn find_by_name(&self, name: &str) -> QueryResult<ScanResult<'e>> {
        self.scan(&Filter::metadata("name", name), DEFAULT_MAX_RESULTS)
    }

    /// Blocks whose `source_uri` is exactly `path` (at most 1,000).
    pub fn find_by_file_path(&self, path: &str) -> QueryResult<ScanResult<'e>> {
        self.scan(
            &Filter::SourceUriEquals(path.to_string()),
            DEFAULT_MAX_RESULTS,
        )
    }

    /// Callers or callees of `id`. An id may have edges without having a
    /// block (`put_edge` accepts that: a call into code outside the graph,
    /// an index key), and such an id is a valid start; only an id with
    /// neither a block nor an edge is `BlockNotFound`.
    fn call_neighbors(&self, id: BlockId, direction: Direction) -> QueryResult<Vec<BlockView<'e>>> {
        let edges = match direction {
            Direction::Incoming => self.storage().find_incoming_edges(id)?,
            _ => self.storage().find_outgoing_edges(id)?,
        };
        if edges.is_empty() && !self.block_exists(id)? {
            return Err(QueryError::BlockNotFound { id });
        }
        let calls = EdgeTypeSet::calls();
        let mut ids: Vec<BlockId> = edges
            .iter()
            .filter(|edge| calls.contains(edge.edge_type))
            .map(|edge| {
                if direction == Direction::Incoming {
                    edge.source
                } else {
                    edge.target
                }
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut blocks = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(block) = self.find_block(id)? {
                blocks.push(block);
            }
        }
        Ok(blocks)
    }

    /// Blocks that call `id` (edges of the call kinds), in id order.
    pub fn find_callers(&self, id: BlockId) -> QueryResult<Vec<BlockView<'e>>> {
        self.call_neighbors(id, Direction::Incoming)
    }

    /// Blocks `id` calls (edges of the call kinds), in id order.
    pub fn find_callees(&self, id: BlockId) -> QueryResult<Vec<BlockView<'e>>> {
        self.call_neighbors(id, Direction::Outgoing)
    }

    /// Runs a traversal; see [`Algorithm`] for what each returns.
    pub fn traverse(&self, traversal: &Traversal) -> QueryResult<TraversalResult<'e>> {
        traversal.validate()?;
        let mut arena = self.arena.borrow_mut();
        arena.reset();
        let arena = &*arena;
        let limits = WalkLimits {
            direction: traversal.direction,
            types: traversal.edge_types,
            max_depth: traversal.max_depth,
            max_results: traversal.max_results,
        };
        let graph = &self.graph;
        let starts = &traversal.starts;
        let walk = match traversal.algorithm {
            Algorithm::BreadthFirst => algorithms::breadth_first(graph, arena, starts, limits)?,
            Algorithm::DepthFirst => algorithms::depth_first(graph, arena, starts, limits)?,
            Algorithm::ShortestPath { target } => {
                algorithms::shortest_path(graph, arena, starts[0], target, limits)?
            }
            Algorithm::TopologicalSort => {
                algorithms::topological_sort(graph, arena, starts, limits)?
            }
            Algorithm::StronglyConnectedComponents => {
                if starts.is_empty() {
                    let mut all = Vec::new();
                    for block in self.storage().iterate_blocks()? {
                        all.push(block?.id);
                    }
                    algorithms::strongly_connected_components(graph, arena, &all, limits)?
                } else {
                    for &start in starts {
                        if !self.block_exists(start)? {
                            return Err(QueryError::BlockNotFound { id: start });
                        }
                    }
                    algorithms::strongly_connected_components(graph, arena, starts, limits)?
                }
            }
        };
        self.attach_blocks(walk)
    }

    /// The walk found each block live by reading it; the views it kept are
    /// the result (the engine is borrowed for the whole query, so they are
    /// still the live versions).
    fn attach_blocks(&self, walk: Walk<BlockView<'e>>) -> QueryResult<TraversalResult<'e>> {
        let nodes = walk
            .nodes
            .into_iter()
            .map(|reached| ReachedBlock {
                block: reached.block,
                depth: reached.depth,
                parent: reached.parent,
                via: reached.via,
            })
            .collect();
        Ok(TraversalResult {
            nodes,
            components: walk.components,
            truncated: walk.truncated,
        })
    }
}
