//! The graph algorithms, generic over a [`GraphSource`] so they run on the
//! storage engine and, in tests, on plain in-memory graphs. All working
//! memory (visited maps, queues, records, adjacency) is arena-allocated;
//! only the final result is returned on the heap. Every loop is iterative,
//! so no input can overflow the stack.

use kausal_memory::{ArenaCoordinator, ArenaMap, ArenaVec};
use kausal_storage::{BlockId, GraphEdge};

use crate::limits::{MAX_CYCLE_IDS_REPORTED, MAX_SUBGRAPH_NODES, WALK_INITIAL_CAPACITY};
use crate::traversal::{Direction, EdgeTypeSet};
use crate::{QueryError, QueryResult};

/// Where a traversal reads the graph from.
pub trait GraphSource {
    /// What a lookup of a live block yields: a block view for the storage
    /// engine, so a walk reads each reached block once (finding it live is
    /// reading it); `()` for test graphs.
    type Block: Copy;

    /// Appends `(neighbour, edge)` for each edge of `node` in `direction`
    /// whose type is in `types` (neighbours may not exist as blocks).
    fn neighbors(
        &self,
        node: BlockId,
        direction: Direction,
        types: EdgeTypeSet,
        out: &mut ArenaVec<'_, (BlockId, GraphEdge)>,
    ) -> QueryResult<()>;

    /// The live block `node`, if any.
    fn lookup(&self, node: BlockId) -> QueryResult<Option<Self::Block>>;

    /// True when `node` is a live block. Searches that explore more blocks
    /// than they return (shortest path, the subgraph of a topological sort
    /// or of components) ask this and look up only what they return; the
    /// storage graph answers it from the index, without reading the block.
    fn exists(&self, node: BlockId) -> QueryResult<bool> {
        Ok(self.lookup(node)?.is_some())
    }
}

/// Appends `(block at the other end, edge)` for each of `edges` whose type
/// is in `types`; `incoming` says the edges enter the node.
pub fn push_neighbors(
    edges: &[GraphEdge],
    incoming: bool,
    types: EdgeTypeSet,
    out: &mut ArenaVec<'_, (BlockId, GraphEdge)>,
) {
    out.extend(
        edges
            .iter()
            .filter(|edge| types.contains(edge.edge_type))
            .map(|edge| (if incoming { edge.source } else { edge.target }, *edge)),
    );
}

/// One reached node of an algorithm's result: what its lookup yielded
/// (which names the node). Shaped like `ReachedBlock`, so the engine turns a
/// walk into its result in place, without a second allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached<B> {
    pub block: B,
    pub depth: u32,
    pub parent: Option<usize>,
    pub via: Option<GraphEdge>,
}

/// An algorithm's result.
#[derive(Debug, PartialEq, Eq)]
pub struct Walk<B> {
    pub nodes: Vec<Reached<B>>,
    pub components: Vec<Vec<usize>>,
    pub truncated: bool,
}

impl<B> Default for Walk<B> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            components: Vec::new(),
            truncated: false,
        }
    }
}

const NO_PARENT: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Record<B> {
    id: BlockId,
    block: B,
    depth: u32,
    parent: u32,
    via: Option<GraphEdge>,
}

fn to_reached<B: Copy>(record: &Record<B>) -> Reached<B> {
    Reached {
        block: record.block,
        depth: record.depth,
        parent: (record.parent != NO_PARENT).then_some(record.parent as usize),
        via: record.via,
    }
}

/// Shared parameters of the depth-limited walks.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    pub direction: Direction,
    pub types: EdgeTypeSet,
    pub max_depth: u32,
    pub max_results: usize,
}

/// The live block `id`, or `BlockNotFound`.
fn start_block<G: GraphSource + ?Sized>(graph: &G, id: BlockId) -> QueryResult<G::Block> {
    graph.lookup(id)?.ok_or(QueryError::BlockNotFound { id })
}

/// A visited map and a record vector sized for a typical walk, so small
/// walks never rehash or regrow (growing from empty rehashes four times
/// before 64 entries).
fn walk_state<'a, B>(
    arena: &'a ArenaCoordinator,
    max_results: usize,
) -> (ArenaMap<'a, BlockId, u32>, ArenaVec<'a, Record<B>>) {
    let capacity = max_results.min(WALK_INITIAL_CAPACITY);
    let mut index = arena.new_map();
    index.reserve(capacity);
    let mut records = arena.new_vec();
    records.reserve(capacity);
    (index, records)
}

/// Records each distinct start at depth 0 (each must exist); returns true
/// when `max_results` cut the starts short.
fn seed_starts<G: GraphSource + ?Sized>(
    graph: &G,
    starts: &[BlockId],
    max_results: usize,
    index: &mut ArenaMap<'_, BlockId, u32>,
    records: &mut ArenaVec<'_, Record<G::Block>>,
) -> QueryResult<bool> {
    for &start in starts {
        let block = start_block(graph, start)?;
        if index.contains_key(&start) {
            continue;
        }
        if records.len() >= max_results {
            return Ok(true);
        }
        index.insert(start, records.len() as u32);
        records.push(Record {
            id: start,
            block,
            depth: 0,
            parent: NO_PARENT,
            via: None,
        });
    }
    Ok(false)
}

/// Breadth-first: every live block within `max_depth`, nearest first.
pub fn breadth_first<G: GraphSource + ?Sized>(
    graph: &G,
    arena: &ArenaCoordinator,
    starts: &[BlockId],
    limits: WalkLimits,
) -> QueryResult<Walk<G::Block>> {
    let (mut index, mut records) = walk_state(arena, limits.max_results);
    let mut neighbors = arena.new_vec();
    neighbors.reserve(WALK_INITIAL_CAPACITY);
    let mut truncated = seed_starts(graph, starts, limits.max_results, &mut index, &mut records)?;
    let mut head = 0;
    'walk: while head < records.len() && !truncated {
        let current = records[head];
        let current_index = head as u32;
        head += 1;
        if current.depth >= limits.max_depth {
            continue;
        }
        neighbors.clear();
        graph.neighbors(current.id, limits.direction, limits.types, &mut neighbors)?;
        for &(neighbor, edge) in neighbors.iter() {
            if index.contains_key(&neighbor) {
                continue;
            }
            let Some(block) = graph.lookup(neighbor)? else {
                continue;
            };
            if records.len() >= limits.max_results {
                truncated = true;
                break 'walk;
            }
            index.insert(neighbor, records.len() as u32);
            records.push(Record {
                id: neighbor,
                block,
                depth: current.depth + 1,
                parent: current_index,
                via: Some(edge),
            });
        }
    }
    Ok(Walk {
        nodes: records.iter().map(to_reached).collect(),
        components: Vec::new(),
        truncated,
    })
}

/// Depth-first: the deepest branch first; a block found again by a shorter
/// path is re-explored, so every block within `max_depth` is reached.
pub fn depth_first<G: GraphSource + ?Sized>(
    graph: &G,
    arena: &ArenaCoordinator,
    starts: &[BlockId],
    limits: WalkLimits,
) -> QueryResult<Walk<G::Block>> {
    let (mut index, mut records) = walk_state(arena, limits.max_results);
    let mut stack = arena.new_vec::<u32>();
    stack.reserve(WALK_INITIAL_CAPACITY);
    let mut neighbors = arena.new_vec();
    neighbors.reserve(WALK_INITIAL_CAPACITY);
    let mut truncated = seed_starts(graph, starts, limits.max_results, &mut index, &mut records)?;
    stack.extend((0..records.len() as u32).rev());
    while let Some(current_index) = stack.pop() {
        let current = records[current_index as usize];
        if current.depth >= limits.max_depth {
            continue;
        }
        neighbors.clear();
        graph.neighbors(current.id, limits.direction, limits.types, &mut neighbors)?;
        let depth = current.depth + 1;
        for &(neighbor, edge) in neighbors.iter().rev() {
            match index.get(&neighbor) {
                Some(&known) => {
                    let record = &mut records[known as usize];
                    if record.depth > depth {
                        record.depth = depth;
                        record.parent = current_index;
                        record.via = Some(edge);
                        stack.push(known);
                    }
                }
                None => {
                    let Some(block) = graph.lookup(neighbor)? else {
                        continue;
                    };
                    if records.len() >= limits.max_results {
                        truncated = true;
                        continue;
                    }
                    index.insert(neighbor, records.len() as u32);
                    stack.push(records.len() as u32);
                    records.push(Record {
                        id: neighbor,
                        block,
                        depth,
                        parent: current_index,
                        via: Some(edge),
                    });
                }
            }
        }
    }
    Ok(Walk {
        nodes: records.iter().map(to_reached).collect(),
        components: Vec::new(),
        truncated,
    })
}

/// One side of the bidirectional search.
struct Side<'a, B> {
    index: kausal_memory::ArenaMap<'a, BlockId, u32>,
    records: ArenaVec<'a, Record<B>>,
    frontier: ArenaVec<'a, u32>,
    next: ArenaVec<'a, u32>,
    direction: Direction,
}

impl<'a, B: Copy> Side<'a, B> {
    fn new(arena: &'a ArenaCoordinator, start: BlockId, block: B, direction: Direction) -> Self {
        let mut side = Side {
            index: arena.new_map(),
            records: arena.new_vec(),
            frontier: arena.new_vec(),
            next: arena.new_vec(),
            direction,
        };
        side.index.insert(start, 0);
        side.records.push(Record {
            id: start,
            block,
            depth: 0,
            parent: NO_PARENT,
            via: None,
        });
        side.frontier.push(0);
        side
    }

    fn depth_of(&self, id: BlockId) -> Option<u32> {
        self.index.get(&id).map(|&i| self.records[i as usize].depth)
    }
}

/// Shortest path from `from` to `to` of at most `max_depth` edges
/// (bidirectional breadth-first search); empty when there is none.
pub fn shortest_path<G: GraphSource + ?Sized>(
    graph: &G,
    arena: &ArenaCoordinator,
    from: BlockId,
    to: BlockId,
    limits: WalkLimits,
) -> QueryResult<Walk<G::Block>> {
    start_block(graph, from)?;
    start_block(graph, to)?;
    // The sides record ids only: blocks are looked up for the path alone.
    let mut forward = Side::new(arena, from, (), limits.direction);
    let mut backward = Side::new(arena, to, (), limits.direction.reversed());
    let mut neighbors = arena.new_vec();
    let mut meeting: Option<(BlockId, u32)> = (from == to).then_some((from, 0));
    let (mut forward_depth, mut backward_depth) = (0u32, 0u32);
    while meeting.is_none()
        && !forward.frontier.is_empty()
        && !backward.frontier.is_empty()
        && forward_depth + backward_depth < limits.max_depth
    {
        let expand_forward = forward.frontier.len() <= backward.frontier.len();
        let (side, other) = if expand_forward {
            (&mut forward, &backward)
        } else {
            (&mut backward, &forward)
        };
        side.next.clear();
        for position in 0..side.frontier.len() {
            let current_index = side.frontier[position];
            let current = side.records[current_index as usize];
            neighbors.clear();
            graph.neighbors(current.id, side.direction, limits.types, &mut neighbors)?;
            for &(neighbor, edge) in neighbors.iter() {
                if side.index.contains_key(&neighbor) {
                    continue;
                }
                if !graph.exists(neighbor)? {
                    continue;
                }
                let depth = current.depth + 1;
                side.index.insert(neighbor, side.records.len() as u32);
                side.next.push(side.records.len() as u32);
                side.records.push(Record {
                    id: neighbor,
                    block: (),
                    depth,
                    parent: current_index,
                    via: Some(edge),
                });
                if let Some(other_depth) = other.depth_of(neighbor) {
                    let total = depth + other_depth;
                    if meeting.is_none_or(|(_, best)| total < best) {
                        meeting = Some((neighbor, total));
                    }
                }
            }
        }
        std::mem::swap(&mut side.frontier, &mut side.next);
        if expand_forward {
            forward_depth += 1;
        } else {
            backward_depth += 1;
        }
    }
    let Some((meet, total)) = meeting else {
        return Ok(Walk::default());
    };
    if total > limits.max_depth {
        return Ok(Walk::default());
    }
    // Start .. meet from the forward side, then meet .. target backward.
    let mut path: Vec<Record<()>> = Vec::new();
    let mut cursor = forward.index.get(&meet).copied();
    while let Some(i) = cursor {
        let record = forward.records[i as usize];
        path.push(record);
        cursor = (record.parent != NO_PARENT).then_some(record.parent);
    }
    path.reverse();
    // `via` of a forward record is the edge into it; shift to "edge from parent".
    let mut nodes: Vec<Reached<G::Block>> = Vec::with_capacity(total as usize + 1);
    for (position, record) in path.iter().enumerate() {
        nodes.push(Reached {
            block: start_block(graph, record.id)?,
            depth: position as u32,
            parent: position.checked_sub(1),
            via: record.via,
        });
    }
    let mut cursor = backward.index.get(&meet).copied();
    while let Some(i) = cursor {
        let record = backward.records[i as usize];
        if record.parent == NO_PARENT {
            break;
        }
        let parent = backward.records[record.parent as usize];
        let position = nodes.len();
        nodes.push(Reached {
            block: start_block(graph, parent.id)?,
            depth: position as u32,
            parent: Some(position - 1),
            via: record.via,
        });
        cursor = Some(record.parent);
    }
    debug_assert_eq!(nodes.len() as u32, total + 1);
    Ok(Walk {
        nodes,
        components: Vec::new(),
        truncated: false,
    })
}

/// A subgraph in compressed adjacency form: node `i`'s neighbours are
/// `targets[offsets[i]..offsets[i + 1]]`.
/// Nodes are ids of live blocks; blocks are looked up only for what a
/// query returns.
struct Subgraph<'a> {
    ids: ArenaVec<'a, BlockId>,
    offsets: ArenaVec<'a, u32>,
    targets: ArenaVec<'a, u32>,
}

impl Subgraph<'_> {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn neighbors(&self, node: usize) -> &[u32] {
        &self.targets[self.offsets[node] as usize..self.offsets[node + 1] as usize]
    }
}

/// Loads every live block reachable from `roots` (and their edges).
/// Every root must be live (`BlockNotFound` otherwise).
fn load_subgraph<'a, G: GraphSource + ?Sized>(
    graph: &G,
    arena: &'a ArenaCoordinator,
    roots: &[BlockId],
    direction: Direction,
    types: EdgeTypeSet,
) -> QueryResult<Subgraph<'a>> {
    let mut index = arena.new_map::<BlockId, u32>();
    let mut subgraph = Subgraph {
        ids: arena.new_vec(),
        offsets: arena.new_vec(),
        targets: arena.new_vec(),
    };
    let mut neighbors = arena.new_vec();
    for &root in roots {
        if !index.contains_key(&root) {
            if !graph.exists(root)? {
                return Err(QueryError::BlockNotFound { id: root });
            }
            index.insert(root, subgraph.ids.len() as u32);
            subgraph.ids.push(root);
        }
    }
    let mut node = 0;
    while node < subgraph.ids.len() {
        subgraph.offsets.push(subgraph.targets.len() as u32);
        neighbors.clear();
        graph.neighbors(subgraph.ids[node], direction, types, &mut neighbors)?;
        for &(neighbor, _) in neighbors.iter() {
            let target = match index.get(&neighbor) {
                Some(&known) => known,
                None => {
                    if !graph.exists(neighbor)? {
                        continue;
                    }
                    if subgraph.ids.len() >= MAX_SUBGRAPH_NODES {
                        return Err(QueryError::SubgraphTooLarge {
                            limit: MAX_SUBGRAPH_NODES,
                        });
                    }
                    let fresh = subgraph.ids.len() as u32;
                    index.insert(neighbor, fresh);
                    subgraph.ids.push(neighbor);
                    fresh
                }
            };
            subgraph.targets.push(target);
        }
        node += 1;
    }
    subgraph.offsets.push(subgraph.targets.len() as u32);
    Ok(subgraph)
}

/// Strongly connected components of `subgraph` (iterative Tarjan), each as
/// node indices, in Tarjan's order (reverse topological).
fn tarjan(subgraph: &Subgraph<'_>, arena: &ArenaCoordinator) -> Vec<Vec<u32>> {
    const UNVISITED: u32 = u32::MAX;
    let n = subgraph.len();
    let mut order = arena.new_vec::<u32>();
    order.resize(n, UNVISITED);
    let mut low = arena.new_vec::<u32>();
    low.resize(n, 0);
    let mut on_stack = arena.new_vec::<bool>();
    on_stack.resize(n, false);
    let mut stack = arena.new_vec::<u32>();
    let mut calls = arena.new_vec::<(u32, u32)>();
    let mut counter = 0u32;
    let mut components = Vec::new();
    for root in 0..n as u32 {
        if order[root as usize] != UNVISITED {
            continue;
        }
        order[root as usize] = counter;
        low[root as usize] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        calls.push((root, subgraph.offsets[root as usize]));
        while let Some(&(node, position)) = calls.last() {
            let node_index = node as usize;
            if position < subgraph.offsets[node_index + 1] {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                let next = subgraph.targets[position as usize];
                let next_index = next as usize;
                if order[next_index] == UNVISITED {
                    order[next_index] = counter;
                    low[next_index] = counter;
                    counter += 1;
                    stack.push(next);
                    on_stack[next_index] = true;
                    calls.push((next, subgraph.offsets[next_index]));
                } else if on_stack[next_index] {
                    low[node_index] = low[node_index].min(order[next_index]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent as usize] = low[parent as usize].min(low[node_index]);
            }
            if low[node_index] == order[node_index] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member as usize] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

fn is_cyclic(subgraph: &Subgraph<'_>, component: &[u32]) -> bool {
    component.len() > 1
        || component
            .first()
            .is_some_and(|&node| subgraph.neighbors(node as usize).contains(&node))
}

/// Blocks reachable from `starts`, every edge's source before its target
/// (Kahn); `depth` is the Kahn layer. A cycle is an error naming blocks on it.
pub fn topological_sort<G: GraphSource + ?Sized>(
    graph: &G,
    arena: &ArenaCoordinator,
    starts: &[BlockId],
    limits: WalkLimits,
) -> QueryResult<Walk<G::Block>> {
    let subgraph = load_subgraph(graph, arena, starts, limits.direction, limits.types)?;
    let n = subgraph.len();
    let mut in_degree = arena.new_vec::<u32>();
    in_degree.resize(n, 0);
    for &target in subgraph.targets.iter() {
        in_degree[target as usize] += 1;
    }
    let mut layer = arena.new_vec::<u32>();
    layer.extend((0..n as u32).filter(|&node| in_degree[node as usize] == 0));
    let mut next = arena.new_vec::<u32>();
    let mut nodes = Vec::with_capacity(n.min(limits.max_results));
    let mut placed = 0usize;
    let mut depth = 0u32;
    while !layer.is_empty() {
        next.clear();
        for &node in layer.iter() {
            placed += 1;
            if nodes.len() < limits.max_results {
                nodes.push(Reached {
                    block: start_block(graph, subgraph.ids[node as usize])?,
                    depth,
                    parent: None,
                    via: None,
                });
            }
            for &target in subgraph.neighbors(node as usize) {
                in_degree[target as usize] -= 1;
                if in_degree[target as usize] == 0 {
                    next.push(target);
                }
            }
        }
        std::mem::swap(&mut layer, &mut next);
        depth += 1;
    }
    if placed < n {
        let cycle = tarjan(&subgraph, arena)
            .into_iter()
            .find(|component| is_cyclic(&subgraph, component))
            .unwrap_or_default();
        return Err(QueryError::Cycle {
            blocks: cycle
                .iter()
                .take(MAX_CYCLE_IDS_REPORTED)
                .map(|&node| subgraph.ids[node as usize])
                .collect(),
        });
    }
    Ok(Walk {
        truncated: n > nodes.len(),
        nodes,
        components: Vec::new(),
    })
}

/// Cyclic strongly connected components among the blocks reachable from
/// `roots`, at most `max_results` blocks in all.
pub fn strongly_connected_components<G: GraphSource + ?Sized>(
    graph: &G,
    arena: &ArenaCoordinator,
    roots: &[BlockId],
    limits: WalkLimits,
) -> QueryResult<Walk<G::Block>> {
    let subgraph = load_subgraph(graph, arena, roots, limits.direction, limits.types)?;
    let mut walk = Walk::default();
    for component in tarjan(&subgraph, arena) {
        if !is_cyclic(&subgraph, &component) {
            continue;
        }
        if walk.nodes.len() + component.len() > limits.max_results {
            walk.truncated = true;
            break;
        }
        let mut members: Vec<(BlockId, G::Block)> = Vec::with_capacity(component.len());
        for &node in &component {
            let id = subgraph.ids[node as usize];
            members.push((id, start_block(graph, id)?));
        }
        members.sort_unstable_by_key(|&(id, _)| id);
        let first = walk.nodes.len();
        walk.nodes
            .extend(members.into_iter().map(|(_, block)| Reached {
                block,
                depth: 0,
                parent: None,
                via: None,
            }));
        walk.components.push((first..walk.nodes.len()).collect());
    }
    Ok(walk)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kausal_storage::EdgeType;
    use std::collections::BTreeMap;

    /// An in-memory graph: adjacency by source.
    #[derive(Default)]
    struct MemoryGraph {
        edges: BTreeMap<BlockId, Vec<GraphEdge>>,
        incoming: BTreeMap<BlockId, Vec<GraphEdge>>,
        nodes: usize,
    }

    impl MemoryGraph {
        fn chain(n: usize) -> Self {
            let mut graph = MemoryGraph {
                nodes: n,
                ..Default::default()
            };
            for i in 1..n as u128 {
                graph.add(i, i + 1);
            }
            graph
        }

        fn add(&mut self, from: u128, to: u128) {
            let edge = GraphEdge::new(
                BlockId::from_u128(from),
                BlockId::from_u128(to),
                EdgeType::Calls,
            );
            self.edges.entry(edge.source).or_default().push(edge);
            self.incoming.entry(edge.target).or_default().push(edge);
        }
    }

    impl GraphSource for MemoryGraph {
        type Block = BlockId;

        fn neighbors(
            &self,
            node: BlockId,
            direction: Direction,
            types: EdgeTypeSet,
            out: &mut ArenaVec<'_, (BlockId, GraphEdge)>,
        ) -> QueryResult<()> {
            if direction != Direction::Incoming {
                let edges = self.edges.get(&node).map_or(&[][..], Vec::as_slice);
                push_neighbors(edges, false, types, out);
            }
            if direction != Direction::Outgoing {
                let edges = self.incoming.get(&node).map_or(&[][..], Vec::as_slice);
                push_neighbors(edges, true, types, out);
            }
            Ok(())
        }

        fn lookup(&self, node: BlockId) -> QueryResult<Option<BlockId>> {
            Ok((1..=self.nodes as u128)
                .contains(&node.as_u128())
                .then_some(node))
        }
    }

    fn limits(max_depth: u32, max_results: usize) -> WalkLimits {
        WalkLimits {
            direction: Direction::Outgoing,
            types: EdgeTypeSet::all(),
            max_depth,
            max_results,
        }
    }

    fn id(n: u128) -> BlockId {
        BlockId::from_u128(n)
    }

    #[test]
    fn scc_and_topological_sort_of_a_million_node_chain_do_not_overflow() {
        let graph = MemoryGraph::chain(1_000_000);
        let arena = ArenaCoordinator::with_capacity(1 << 20);
        let walk =
            strongly_connected_components(&graph, &arena, &[id(1)], limits(1, 10_000)).unwrap();
        assert!(walk.components.is_empty(), "a chain has no cycle");
        let mut arena = arena;
        arena.reset();
        let sorted = topological_sort(&graph, &arena, &[id(1)], limits(1, 10_000)).unwrap();
        assert!(sorted.truncated);
        assert_eq!(sorted.nodes.len(), 10_000);
        assert_eq!(sorted.nodes[9_999].block, id(10_000));
        // Closing the chain into a ring makes one component of a million.
        let mut ring = MemoryGraph::chain(1_000_000);
        ring.add(1_000_000, 1);
        arena.reset();
        let walk =
            strongly_connected_components(&ring, &arena, &[id(1)], limits(1, 10_000)).unwrap();
        assert!(
            walk.truncated,
            "the ring's one component exceeds max_results"
        );
        arena.reset();
        let walk =
            strongly_connected_components(&ring, &arena, &[id(1)], limits(1, 10_000)).unwrap();
        assert!(walk.components.is_empty());
    }

    #[test]
    fn depth_first_finds_shorter_paths_again() {
        // 1 -> 2 -> 3 -> 4 and 1 -> 4: depth of 4 is 1.
        let mut graph = MemoryGraph::chain(4);
        graph.add(1, 4);
        let arena = ArenaCoordinator::new();
        let walk = depth_first(&graph, &arena, &[id(1)], limits(2, 100)).unwrap();
        let depth_of = |n| {
            walk.nodes
                .iter()
                .find(|r| r.block == id(n))
                .map(|r| r.depth)
        };
        assert_eq!(depth_of(4), Some(1));
        assert_eq!(depth_of(3), Some(2));
    }

    #[test]
    fn shortest_path_in_a_ring() {
        let mut ring = MemoryGraph::chain(10);
        ring.add(10, 1);
        let arena = ArenaCoordinator::new();
        let walk = shortest_path(&ring, &arena, id(8), id(2), limits(10, 100)).unwrap();
        let ids: Vec<u128> = walk.nodes.iter().map(|r| r.block.as_u128()).collect();
        assert_eq!(ids, vec![8, 9, 10, 1, 2]);
        for (position, node) in walk.nodes.iter().enumerate().skip(1) {
            let edge = node.via.unwrap();
            assert_eq!(edge.source, walk.nodes[position - 1].block);
            assert_eq!(edge.target, node.block);
        }
        let too_short = shortest_path(&ring, &arena, id(8), id(2), limits(3, 100)).unwrap();
        assert!(too_short.nodes.is_empty());
    }
}
