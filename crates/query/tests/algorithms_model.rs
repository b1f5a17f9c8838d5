//! Property tests: every traversal algorithm against a simple reference
//! implementation on seeded random graphs stored in a real engine, with
//! cycles, self-loops, parallel edges of different types, deleted blocks,
//! edges to blocks that never existed, and data split between SSTables and
//! the memtable.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use kausal_query::{Algorithm, Direction, EdgeTypeSet, QueryEngine, QueryError, Traversal};
use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, SyncMode};
use kausal_vfs::OsVfs;
use proptest::prelude::*;

const TYPES: [EdgeType; 3] = [EdgeType::Calls, EdgeType::Imports, EdgeType::DependsOn];

#[derive(Debug, Clone)]
struct GraphCase {
    nodes: u128,
    edges: Vec<(u128, u128, usize)>,
    deleted: BTreeSet<u128>,
    flush_after: usize,
}

fn graph_case(max_nodes: u128) -> impl Strategy<Value = GraphCase> {
    (2..=max_nodes).prop_flat_map(|nodes| {
        (
            Just(nodes),
            // Targets up to nodes + 2: some edges point at blocks that never existed.
            prop::collection::vec(
                (1..=nodes, 1..=nodes + 2, 0..3usize),
                0..(nodes as usize * 3),
            ),
            prop::collection::btree_set(1..=nodes, 0..3),
            0..64usize,
        )
            .prop_map(|(nodes, edges, deleted, flush_after)| GraphCase {
                nodes,
                edges,
                deleted,
                flush_after,
            })
    })
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

/// The graph as the engine must see it: live nodes and live edges.
struct Reference {
    live: BTreeSet<u128>,
    edges: BTreeSet<(u128, u128, usize)>,
}

impl Reference {
    fn new(case: &GraphCase) -> Self {
        let live: BTreeSet<u128> = (1..=case.nodes)
            .filter(|n| !case.deleted.contains(n))
            .collect();
        // Deleting a block deletes its edges; edges to never-existing
        // blocks stay stored but lead nowhere.
        let edges = case
            .edges
            .iter()
            .copied()
            .filter(|(a, b, _)| !case.deleted.contains(a) && !case.deleted.contains(b))
            .collect();
        Self { live, edges }
    }

    fn neighbors(&self, node: u128, direction: Direction, types: EdgeTypeSet) -> Vec<u128> {
        let mut out = Vec::new();
        for &(a, b, t) in &self.edges {
            if !types.contains(TYPES[t]) {
                continue;
            }
            if direction != Direction::Incoming && a == node && self.live.contains(&b) {
                out.push(b);
            }
            if direction != Direction::Outgoing && b == node && self.live.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    fn distances(
        &self,
        start: u128,
        direction: Direction,
        types: EdgeTypeSet,
        max_depth: u32,
    ) -> BTreeMap<u128, u32> {
        let mut distance = BTreeMap::from([(start, 0u32)]);
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let d = distance[&node];
            if d == max_depth {
                continue;
            }
            for next in self.neighbors(node, direction, types) {
                if let std::collections::btree_map::Entry::Vacant(slot) = distance.entry(next) {
                    slot.insert(d + 1);
                    queue.push_back(next);
                }
            }
        }
        distance
    }

    fn reaches(&self, from: u128, to: u128) -> bool {
        self.distances(from, Direction::Outgoing, EdgeTypeSet::all(), u32::MAX)
            .contains_key(&to)
    }
}

fn build_engine(dir: &std::path::Path, case: &GraphCase) -> Database {
    let config = Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build();
    let engine = Database::open_with(Arc::new(OsVfs::new()), dir, config).unwrap();
    for n in 1..=case.nodes {
        let block = ContextBlock::new(
            id(n),
            format!("src/{n}.rs"),
            format!(r#"{{"name":"n{n}"}}"#),
            format!("fn n{n}() {{}}"),
        );
        engine.put_block(&block).unwrap();
    }
    for (index, &(a, b, t)) in case.edges.iter().enumerate() {
        if index == case.flush_after {
            engine.flush().unwrap();
        }
        engine
            .put_edge(GraphEdge::new(id(a), id(b), TYPES[t]))
            .unwrap();
    }
    for &n in &case.deleted {
        engine.delete_block(id(n)).unwrap();
    }
    engine
}

fn directions() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::Outgoing),
        Just(Direction::Incoming),
        Just(Direction::Both)
    ]
}

fn type_sets() -> impl Strategy<Value = EdgeTypeSet> {
    prop_oneof![
        Just(EdgeTypeSet::all()),
        Just(EdgeTypeSet::only(EdgeType::Calls)),
        Just(EdgeTypeSet::of(&[EdgeType::Calls, EdgeType::Imports])),
        Just(EdgeTypeSet::excluding(&[EdgeType::Calls])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn bfs_and_dfs_reach_exactly_the_reference_set(
        case in graph_case(24),
        direction in directions(),
        types in type_sets(),
        max_depth in 1u32..5,
        start_pick in 0usize..100,
        dfs in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = build_engine(dir.path(), &case);
        let reference = Reference::new(&case);
        let snapshot = engine.snapshot();
        let queries = QueryEngine::new(&snapshot);
        let live: Vec<u128> = reference.live.iter().copied().collect();
        prop_assume!(!live.is_empty());
        let start = live[start_pick % live.len()];
        let algorithm = if dfs { Algorithm::DepthFirst } else { Algorithm::BreadthFirst };
        let traversal = Traversal::new(vec![id(start)])
            .direction(direction)
            .edge_types(types)
            .max_depth(max_depth)
            .algorithm(algorithm);
        let result = queries.traverse(&traversal).unwrap();
        let expected = reference.distances(start, direction, types, max_depth);
        prop_assert!(!result.truncated);
        let found: BTreeMap<u128, u32> = result.nodes.iter().map(|n| (n.block.id.as_u128(), n.depth)).collect();
        prop_assert_eq!(found.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
        // BFS depth is the distance; DFS (with re-exploration) ends at it too.
        prop_assert_eq!(&found, &expected);
        for (index, node) in result.nodes.iter().enumerate() {
            prop_assert!(!case.deleted.contains(&node.block.id.as_u128()), "deleted block returned");
            let path = result.path_to(index);
            prop_assert_eq!(path.len() as u32, node.depth);
            let mut at = id(start);
            for edge in &path {
                prop_assert!(types.contains(edge.edge_type));
                let next = if edge.source == at { edge.target } else { edge.source };
                prop_assert!(edge.source == at || edge.target == at);
                at = next;
            }
            prop_assert_eq!(at, node.block.id);
        }
    }

    #[test]
    fn shortest_path_has_the_reference_length(
        case in graph_case(24),
        direction in directions(),
        from_pick in 0usize..100,
        to_pick in 0usize..100,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = build_engine(dir.path(), &case);
        let reference = Reference::new(&case);
        let snapshot = engine.snapshot();
        let queries = QueryEngine::new(&snapshot);
        let live: Vec<u128> = reference.live.iter().copied().collect();
        prop_assume!(!live.is_empty());
        let (from, to) = (live[from_pick % live.len()], live[to_pick % live.len()]);
        let max_depth = 10;
        let traversal = Traversal::new(vec![id(from)])
            .direction(direction)
            .max_depth(max_depth)
            .algorithm(Algorithm::ShortestPath { target: id(to) });
        let result = queries.traverse(&traversal).unwrap();
        let expected = reference.distances(from, direction, EdgeTypeSet::all(), max_depth).get(&to).copied();
        match expected {
            None => prop_assert!(result.nodes.is_empty()),
            Some(distance) => {
                prop_assert_eq!(result.nodes.len() as u32, distance + 1);
                prop_assert_eq!(result.nodes[0].block.id, id(from));
                prop_assert_eq!(result.nodes.last().unwrap().block.id, id(to));
                let last = result.nodes.len() - 1;
                prop_assert_eq!(result.path_to(last).len() as u32, distance);
                for pair in result.nodes.windows(2) {
                    let edge = pair[1].via.unwrap();
                    let (a, b) = (pair[0].block.id, pair[1].block.id);
                    let forward = edge.source == a && edge.target == b;
                    let backward = edge.source == b && edge.target == a;
                    match direction {
                        Direction::Outgoing => prop_assert!(forward),
                        Direction::Incoming => prop_assert!(backward),
                        Direction::Both => prop_assert!(forward || backward),
                    }
                }
            }
        }
    }

    #[test]
    fn topological_sort_orders_dags_and_names_cycles(case in graph_case(20), acyclic in any::<bool>()) {
        let mut case = case;
        if acyclic {
            // Keep only forward edges (a < b): a DAG.
            case.edges.retain(|(a, b, _)| a < b);
        }
        let dir = tempfile::tempdir().unwrap();
        let engine = build_engine(dir.path(), &case);
        let reference = Reference::new(&case);
        let snapshot = engine.snapshot();
        let queries = QueryEngine::new(&snapshot);
        let starts: Vec<BlockId> = reference.live.iter().map(|n| id(*n)).collect();
        prop_assume!(!starts.is_empty());
        let traversal = Traversal::new(starts).algorithm(Algorithm::TopologicalSort);
        let has_cycle = reference.live.iter().any(|&a| {
            reference.neighbors(a, Direction::Outgoing, EdgeTypeSet::all())
                .into_iter()
                .any(|b| b == a || reference.reaches(b, a))
        });
        match queries.traverse(&traversal) {
            Ok(result) => {
                prop_assert!(!has_cycle, "a cyclic graph was sorted");
                let position: BTreeMap<u128, usize> = result.nodes.iter().enumerate().map(|(i, n)| (n.block.id.as_u128(), i)).collect();
                prop_assert_eq!(position.len(), reference.live.len());
                for &(a, b, _) in &reference.edges {
                    if reference.live.contains(&a) && reference.live.contains(&b) {
                        prop_assert!(position[&a] < position[&b], "edge {}->{} out of order", a, b);
                    }
                }
            }
            Err(QueryError::Cycle { blocks }) => {
                prop_assert!(has_cycle, "cycle reported in a DAG");
                prop_assert!(!blocks.is_empty());
                for block in &blocks {
                    let n = block.as_u128();
                    // Every named block lies on a cycle.
                    let on_cycle = reference.neighbors(n, Direction::Outgoing, EdgeTypeSet::all())
                        .into_iter()
                        .any(|b| b == n || reference.reaches(b, n));
                    prop_assert!(on_cycle, "block {} is not on a cycle", n);
                }
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn scc_matches_mutual_reachability(case in graph_case(20)) {
        let dir = tempfile::tempdir().unwrap();
        let engine = build_engine(dir.path(), &case);
        let reference = Reference::new(&case);
        let snapshot = engine.snapshot();
        let queries = QueryEngine::new(&snapshot);
        let traversal = Traversal::new(Vec::new()).algorithm(Algorithm::StronglyConnectedComponents);
        let result = queries.traverse(&traversal).unwrap();
        let mut components: BTreeSet<Vec<u128>> = BTreeSet::new();
        for component in &result.components {
            let mut members: Vec<u128> = component.iter().map(|&i| result.nodes[i].block.id.as_u128()).collect();
            members.sort_unstable();
            components.insert(members);
        }
        // Reference: group live nodes by mutual reachability; keep cyclic groups.
        let mut expected: BTreeSet<Vec<u128>> = BTreeSet::new();
        for &a in &reference.live {
            let group: Vec<u128> = reference.live.iter().copied()
                .filter(|&b| a == b || (reference.reaches(a, b) && reference.reaches(b, a)))
                .collect();
            let self_loop = reference.neighbors(a, Direction::Outgoing, EdgeTypeSet::all()).contains(&a);
            if group.len() > 1 || self_loop {
                expected.insert(group);
            }
        }
        prop_assert_eq!(components, expected);
    }
}

#[test]
fn invalid_traversals_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let case = GraphCase {
        nodes: 3,
        edges: vec![(1, 2, 0)],
        deleted: BTreeSet::new(),
        flush_after: 0,
    };
    let engine = build_engine(dir.path(), &case);
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let invalid = |traversal: Traversal| {
        matches!(
            queries.traverse(&traversal),
            Err(QueryError::InvalidQuery { .. })
        )
    };
    assert!(invalid(Traversal::new(vec![id(1)]).max_depth(0)));
    assert!(invalid(Traversal::new(vec![id(1)]).max_results(10_001)));
    assert!(invalid(Traversal::new(vec![id(1)]).max_results(0)));
    assert!(invalid(Traversal::new(vec![id(1)]).max_depth(1_001)));
    assert!(invalid(Traversal::new(Vec::new())));
    assert!(invalid(
        Traversal::new(vec![id(1)]).edge_types(EdgeTypeSet::of(&[]))
    ));
    assert!(invalid(
        Traversal::new(vec![id(1)])
            .direction(Direction::Both)
            .algorithm(Algorithm::TopologicalSort)
    ));
    assert!(invalid(
        Traversal::new(vec![id(1), id(2)]).algorithm(Algorithm::ShortestPath { target: id(2) })
    ));
    assert!(matches!(
        queries.traverse(&Traversal::new(vec![id(99)])),
        Err(QueryError::BlockNotFound { .. })
    ));
    assert!(matches!(
        queries.traverse(
            &Traversal::new(vec![id(1)]).algorithm(Algorithm::ShortestPath { target: id(99) })
        ),
        Err(QueryError::BlockNotFound { .. })
    ));
}

#[test]
fn limits_cut_results_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let edges = (1..50u128).map(|n| (1, n + 1, 0)).collect();
    let case = GraphCase {
        nodes: 50,
        edges,
        deleted: BTreeSet::new(),
        flush_after: 10,
    };
    let engine = build_engine(dir.path(), &case);
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let result = queries
        .traverse(&Traversal::new(vec![id(1)]).max_results(10))
        .unwrap();
    assert!(result.truncated);
    assert_eq!(result.nodes.len(), 10);
    let full = queries.traverse(&Traversal::new(vec![id(1)])).unwrap();
    assert!(!full.truncated);
    assert_eq!(full.nodes.len(), 50);
}
