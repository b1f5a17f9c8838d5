//! The in-memory limit for graph queries: the same power-law graph and DAG
//! as the kausal traversal rows, loaded into petgraph, with the same
//! queries from the same starts. petgraph keeps only the topology in RAM (no
//! WAL, no tables, no block contents), so kausal's time over petgraph's says
//! how close a durable engine comes to a pure in-memory graph.
//!
//! petgraph is used the way its documentation shows: a `DiGraph`
//! (adjacency lists over node indices) with the block id as node weight, an
//! id → index map to find the start, and its own visit maps (`FixedBitSet`)
//! and algorithms. Where petgraph has no matching algorithm the nearest one
//! is named in the row note; every difference left favours petgraph.

use std::collections::{HashMap, VecDeque};

use kausal_storage::{BlockId, EdgeType};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{EdgeRef, VisitMap, Visitable};

use crate::compare::Comparison;
use crate::report::{Row, measure};
use crate::workloads::{GraphSpec, Scale, TraversalDraws};

/// Label of the graph rows' data state.
pub const STATE_GRAPH: &str = "kausal: tables, compacted, cache warm; petgraph: RAM";

struct Graphs {
    calls: DiGraph<BlockId, EdgeType>,
    dag: DiGraph<BlockId, EdgeType>,
    index: HashMap<BlockId, NodeIndex>,
    dag_index: HashMap<BlockId, NodeIndex>,
}

fn load(spec: &GraphSpec) -> Graphs {
    let mut calls = DiGraph::with_capacity(spec.nodes.len() + spec.dag_nodes.len(), 0);
    let mut index = HashMap::new();
    // Every block is a node (the DAG's too, isolated here), as the whole-graph
    // SCC in kausal visits every block.
    for &id in spec.nodes.iter().chain(&spec.dag_nodes) {
        index.insert(id, calls.add_node(id));
    }
    for edge in &spec.edges {
        calls.add_edge(index[&edge.source], index[&edge.target], edge.edge_type);
    }
    let mut dag = DiGraph::with_capacity(spec.dag_nodes.len(), spec.dag_edges.len());
    let mut dag_index = HashMap::new();
    for &id in &spec.dag_nodes {
        dag_index.insert(id, dag.add_node(id));
    }
    for edge in &spec.dag_edges {
        dag.add_edge(
            dag_index[&edge.source],
            dag_index[&edge.target],
            edge.edge_type,
        );
    }
    Graphs {
        calls,
        dag,
        index,
        dag_index,
    }
}

/// Breadth-first over outgoing edges up to `max_depth`, at most
/// `max_results` nodes: (node, depth, parent) like kausal's records.
fn bfs(
    graph: &DiGraph<BlockId, EdgeType>,
    start: NodeIndex,
    max_depth: u32,
    max_results: usize,
) -> Vec<(NodeIndex, u32, u32)> {
    let mut visited = graph.visit_map();
    visited.visit(start);
    let mut reached = vec![(start, 0, u32::MAX)];
    let mut queue = VecDeque::from([0usize]);
    'walk: while let Some(position) = queue.pop_front() {
        let (node, depth, _) = reached[position];
        if depth >= max_depth {
            continue;
        }
        for edge in graph.edges_directed(node, Direction::Outgoing) {
            if visited.visit(edge.target()) {
                if reached.len() >= max_results {
                    break 'walk;
                }
                queue.push_back(reached.len());
                reached.push((edge.target(), depth + 1, position as u32));
            }
        }
    }
    reached
}

/// The kausal traversal rows and petgraph's rows for the same queries.
pub fn run(scale: &Scale, spec: &GraphSpec, kausal_rows: &[Row]) -> Vec<Comparison> {
    let graphs = load(spec);
    let mut draws = TraversalDraws::new(scale.graph_nodes);
    let mut reached = 0usize;
    let mut rows = Vec::new();
    rows.push(measure(
        "petgraph: traversal 1-hop (BFS)",
        scale.queries * 10,
        1,
        |_| {
            let start = graphs.index[&draws.start()];
            reached += bfs(&graphs.calls, start, 1, 1_000).len();
        },
    ));
    rows.push(measure(
        "petgraph: traversal 3-hop BFS",
        scale.queries,
        1,
        |_| {
            let start = graphs.index[&draws.start()];
            reached += bfs(&graphs.calls, start, 3, 10_000).len();
        },
    ));
    rows.push(
        measure(
            "petgraph: shortest path (bidirectional BFS)",
            scale.queries,
            1,
            |_| {
                let (from, to) = draws.pair();
                let distance = petgraph::algo::bidirectional_dijkstra(
                    &graphs.calls,
                    graphs.index[&from],
                    graphs.index[&to],
                    |_| 1u32,
                );
                reached += distance.unwrap_or(0) as usize;
            },
        )
        .note("petgraph bidirectional_dijkstra, unit costs: the distance only, no path"),
    );
    rows.push(measure(
        "petgraph: topological sort (10,000-node DAG)",
        5,
        1,
        |_| {
            let order = petgraph::algo::toposort(&graphs.dag, None).expect("a DAG");
            reached += order.len().min(10_000);
        },
    ));
    rows.push(
        measure(
            "petgraph: strongly connected components (whole graph)",
            3,
            1,
            |_| {
                let components = petgraph::algo::tarjan_scc(&graphs.calls);
                let mut blocks = 0usize;
                for component in components {
                    let cyclic = component.len() > 1
                        || graphs
                            .calls
                            .neighbors(component[0])
                            .any(|next| next == component[0]);
                    if cyclic && blocks + component.len() <= 10_000 {
                        blocks += component.len();
                    }
                }
                reached += blocks;
            },
        )
        .note("petgraph tarjan_scc, then the cyclic components up to 10,000 blocks"),
    );
    assert!(reached > 0);
    assert_eq!(graphs.dag_index.len(), spec.dag_nodes.len());
    let names = [
        "traversal 1-hop (BFS)",
        "traversal 3-hop BFS",
        "shortest path (bidirectional BFS)",
        "topological sort (10,000-node DAG)",
        "strongly connected components (whole graph)",
    ];
    names
        .iter()
        .zip(rows)
        .filter_map(|(name, peer)| {
            let ours = kausal_rows.iter().find(|row| row.name == *name)?;
            Some(Comparison {
                operation: name.to_string(),
                state: STATE_GRAPH,
                results: vec![("kausal", ours.clone()), ("petgraph", peer)],
                tail: false,
            })
        })
        .collect()
}

/// Edges of kausal's graph as petgraph sees them (for the note).
pub fn describe(spec: &GraphSpec) -> String {
    format!(
        "petgraph 0.8 DiGraph: {} nodes, {} edges in RAM ({} DAG nodes, {} DAG edges in a \
         second DiGraph); visit maps are petgraph's FixedBitSet; results are node indices \
         (kausal also returns each block's view)",
        spec.nodes.len() + spec.dag_nodes.len(),
        spec.edges.len(),
        spec.dag_nodes.len(),
        spec.dag_edges.len()
    )
}
