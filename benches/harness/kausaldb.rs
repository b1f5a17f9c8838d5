//! The replaced engine's own benchmark (KausalDB's storage and query
//! benchmarks), rebuilt on kausal so users of KausalDB can compare row by
//! row: the same blocks, the same 25-node graph, the same iteration counts,
//! on the in-memory `SimVfs` (no disk, no faults) as KausalDB ran on its
//! `SimulationVFS`. Rows are named `kausaldb workload: …`.

use std::path::Path;
use std::sync::Arc;

use kausal_query::{Algorithm, EdgeTypeSet, QueryEngine, Traversal};
use kausal_sim::{FaultConfig, SimVfs};
use kausal_storage::{BlockId, Config, Database, EdgeType, GraphEdge, Snapshot, SyncMode};

use crate::report::{Row, Target, measure, measure_with_setup};

/// Timed iterations per row, as in KausalDB's harness.
pub const ITERATIONS: usize = 1_000;
/// Untimed iterations before each row.
pub const WARMUP: usize = 100;
/// Blocks per flush in the flush row.
const FLUSH_BLOCKS: usize = 100;
/// Flushes between the untimed compactions of the flush row, so the number
/// of live tables (and the manifest each flush rewrites) stays small.
const FLUSHES_PER_COMPACTION: usize = 16;
/// Nodes of KausalDB's traversal graph.
const GRAPH_NODES: u64 = 25;
/// Operations timed together below a microsecond (see `report::measure`).
const GROUP: usize = 16;
/// WAL segment size on SimVfs. SimVfs keeps a preallocated segment as
/// zeroed memory (a real disk makes it a sparse `set_len`), so the default
/// 64 MiB would make every flush's WAL rotation a 64 MiB memset.
const SIM_WAL_SEGMENT_BYTES: u64 = 64 * 1024;

const SOURCE_URI: &str = "bench://static";
const METADATA: &str = "{}";
const CONTENT: &str = "fn benchmark_function() { return 42; }";

/// KausalDB's `BlockId.from_u64`: the number little-endian in the first
/// eight bytes, the rest zero.
pub fn kausaldb_id(n: u64) -> BlockId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    BlockId::from_bytes(bytes)
}

/// Block `index` of the workload has id `index + 1`.
fn block_id(index: usize) -> BlockId {
    kausaldb_id(index as u64 + 1)
}

fn open_sim(dir: &str) -> Database {
    let vfs = SimVfs::new(0, FaultConfig::default());
    vfs.set_faults_enabled(false);
    Database::open_with(
        Arc::new(vfs),
        Path::new(dir),
        // KausalDB's benchmark memtable: 16 MiB, never full here.
        Config::builder()
            .memtable_budget_bytes(16 * 1024 * 1024)
            .wal_segment_bytes(SIM_WAL_SEGMENT_BYTES)
            .sync_mode(SyncMode::Manual)
            .auto_compact(false)
            .build(),
    )
    .expect("open engine on SimVfs")
}

fn put(engine: &Database, index: usize) {
    engine
        .put_block_fields(block_id(index), SOURCE_URI, METADATA, CONTENT)
        .expect("put");
}

/// Runs `op` `WARMUP` times untimed, then measures `ITERATIONS` calls.
fn warm_then_measure(name: &str, group: usize, mut op: impl FnMut(usize)) -> Row {
    for i in 0..WARMUP {
        op(i);
    }
    measure(name, ITERATIONS, group, |i| op(WARMUP + i))
}

/// KausalDB's 25-node graph: hubs, branching chains and two cycles.
pub fn kausaldb_graph() -> Vec<GraphEdge> {
    let id = kausaldb_id;
    let mut edges = Vec::new();
    for hub in 1..=5u64 {
        for target in 6..=GRAPH_NODES {
            if (target - hub) % 3 == 0 {
                let edge_type = if hub % 2 == 0 {
                    EdgeType::Calls
                } else {
                    EdgeType::Imports
                };
                edges.push(GraphEdge::new(id(hub), id(target), edge_type));
            }
        }
    }
    for i in 6..GRAPH_NODES - 2 {
        for step in 1..=(i % 3) + 1 {
            if i + step <= GRAPH_NODES {
                let edge_type = match step {
                    1 => EdgeType::Calls,
                    2 => EdgeType::References,
                    _ => EdgeType::DefinedIn,
                };
                edges.push(GraphEdge::new(id(i), id(i + step), edge_type));
            }
        }
    }
    for (source, target, edge_type) in [
        (8, 12, EdgeType::Calls),
        (12, 16, EdgeType::References),
        (16, 8, EdgeType::Imports),
        (10, 15, EdgeType::DefinedIn),
        (15, 20, EdgeType::Calls),
        (20, 10, EdgeType::References),
    ] {
        edges.push(GraphEdge::new(id(source), id(target), edge_type));
    }
    edges
}

/// The storage rows: put_block, find_block (memtable, after flush,
/// missing), put_edge, find_outgoing_edges and a flush of 100 blocks.
pub fn storage_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let engine = open_sim("/kausaldb-storage");
    rows.push(
        warm_then_measure("kausaldb workload: put_block", GROUP, |i| put(&engine, i))
            .note("SimVfs, WAL buffered (no fsync), 64 KiB WAL segments, 16 MiB memtable"),
    );
    let blocks = WARMUP + ITERATIONS;
    let mut found = 0usize;
    // One snapshot per measured phase, as a query takes one for its reads.
    let mut find = |snapshot: &Snapshot, i: usize| {
        found += snapshot
            .find_block(block_id(i))
            .expect("find")
            .map_or(0, |b| b.content.len());
    };
    let snapshot = engine.snapshot();
    rows.push(
        warm_then_measure("kausaldb workload: find_block (memtable)", GROUP, |i| {
            find(&snapshot, i % blocks)
        })
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    drop(snapshot);
    engine.flush().expect("flush");
    let snapshot = engine.snapshot();
    rows.push(
        warm_then_measure("kausaldb workload: find_block (after flush)", GROUP, |i| {
            find(&snapshot, i % blocks)
        })
        .note("one table on SimVfs; record checksum verified on every read")
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    rows.push(
        warm_then_measure("kausaldb workload: find_block (missing)", GROUP, |i| {
            find(&snapshot, blocks + i)
        })
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    drop(snapshot);
    assert_eq!(found, (2 * (WARMUP + ITERATIONS)) * CONTENT.len());
    // KausalDB's edges join fresh random ids: each source has one edge.
    let edge = |i: usize| {
        GraphEdge::new(
            kausaldb_id(1_000_000 + 2 * i as u64),
            kausaldb_id(1_000_001 + 2 * i as u64),
            EdgeType::Calls,
        )
    };
    rows.push(
        warm_then_measure("kausaldb workload: put_edge", GROUP, |i| {
            engine.put_edge(edge(i)).expect("edge");
        })
        .note("each edge joins two new blocks: two new adjacency lists"),
    );
    let mut out = Vec::with_capacity(16);
    let mut edges_seen = 0usize;
    let snapshot = engine.snapshot();
    rows.push(
        warm_then_measure("kausaldb workload: find_outgoing_edges", GROUP, |i| {
            snapshot
                .find_outgoing_edges_into(edge(i % blocks).source, &mut out)
                .expect("edges");
            edges_seen += out.len();
        })
        .note("degree 1, memtable, into a reused Vec")
        .target(Target::P50AtMostNs(30.0))
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    assert_eq!(edges_seen, WARMUP + ITERATIONS);
    drop(engine);

    let mut engine = open_sim("/kausaldb-flush");
    let fill = |engine: &Database, i: usize| {
        if i.is_multiple_of(FLUSHES_PER_COMPACTION) {
            engine.compact_all().expect("compact");
        }
        for index in 0..FLUSH_BLOCKS {
            put(engine, index);
        }
    };
    for i in 0..WARMUP {
        fill(&engine, i);
        engine.flush().expect("flush");
    }
    rows.push(
        measure_with_setup(
            "kausaldb workload: flush of 100 blocks",
            ITERATIONS,
            &mut engine,
            |engine, i| fill(engine, WARMUP + i),
            |engine, _| engine.flush().expect("flush"),
        )
        .note(format!(
            "SimVfs; WAL rotated, table and manifest written and synced; \
             untimed refill and a compaction every {FLUSHES_PER_COMPACTION} flushes"
        ))
        .target(Target::P50AtMostNs(80_000.0)),
    );
    rows
}

/// The query rows on KausalDB's 25-node graph, from block 1, outgoing, at
/// most 1,000 results, one `QueryEngine` for all queries (as KausalDB's
/// benchmark keeps one): BFS and DFS at depth 3 and 5, and BFS at depth 2
/// over `calls` only. Plus the same BFS with a fresh `QueryEngine` per
/// query, the cost of a query right after a write.
pub fn query_rows() -> Vec<Row> {
    let engine = open_sim("/kausaldb-query");
    for n in 1..=GRAPH_NODES {
        engine
            .put_block_fields(kausaldb_id(n), SOURCE_URI, METADATA, CONTENT)
            .expect("put");
    }
    for edge in kausaldb_graph() {
        engine.put_edge(edge).expect("edge");
    }
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let start = vec![kausaldb_id(1)];
    let traversal = |algorithm: Algorithm, depth: u32, types: EdgeTypeSet| {
        Traversal::new(start.clone())
            .algorithm(algorithm)
            .max_depth(depth)
            .max_results(1_000)
            .edge_types(types)
    };
    let all = EdgeTypeSet::all();
    let cases = [
        ("BFS depth 3", traversal(Algorithm::BreadthFirst, 3, all)),
        ("BFS depth 5", traversal(Algorithm::BreadthFirst, 5, all)),
        ("DFS depth 3", traversal(Algorithm::DepthFirst, 3, all)),
        ("DFS depth 5", traversal(Algorithm::DepthFirst, 5, all)),
        (
            "BFS depth 2, calls only",
            traversal(
                Algorithm::BreadthFirst,
                2,
                EdgeTypeSet::only(EdgeType::Calls),
            ),
        ),
    ];
    let mut rows = Vec::new();
    let mut reached = 0usize;
    for (label, query) in &cases {
        let nodes = queries.traverse(query).expect("traverse").nodes.len();
        rows.push(
            warm_then_measure(&format!("kausaldb workload: {label}"), GROUP, |_| {
                reached += queries.traverse(query).expect("traverse").nodes.len();
            })
            .note(format!(
                "{nodes} blocks reached, returned with their block views; no result cache; \
                 the one allocation is the result vector"
            ))
            .target(Target::P50AtMostNs(1_000.0))
            .target(Target::AllocationsPerOpAtMost(1.0)),
        );
    }
    let (_, bfs3) = &cases[0];
    rows.push(
        warm_then_measure(
            "kausaldb workload: BFS depth 3, new QueryEngine",
            GROUP,
            |_| {
                let snapshot = engine.snapshot();
                let fresh = QueryEngine::new(&snapshot);
                reached += fresh.traverse(bfs3).expect("traverse").nodes.len();
            },
        )
        .note("a QueryEngine per query, as after every write (it borrows the engine)")
        .target(Target::P50AtMostNs(1_000.0)),
    );
    assert!(reached > 0);
    rows
}
