//! The measured workloads, one function per group of rows. Every workload
//! is seeded, so two runs do the same work.

use std::path::Path;
use std::sync::Arc;

use kausal_benches::{block, code_content, power_law_edges};
use kausal_query::{Algorithm, EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::{BlockId, Config, Database, EdgeType, GraphEdge, SyncMode, WriteBatch};
use kausal_vfs::OsVfs;

use crate::report::{Row, Target, measure, measure_bulk};

/// 1 KiB blocks that fill one MiB of memtable (about 1,170 bytes each).
pub const SUSTAINED_PUTS_PER_MIB: usize = 896;

/// How much work each row does.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub puts: usize,
    pub sync_puts: usize,
    pub batches: usize,
    pub lookup_blocks: u128,
    pub lookups: usize,
    pub edge_nodes: u128,
    pub graph_nodes: u128,
    pub queries: usize,
    pub dag_nodes: u128,
    pub flush_bytes: usize,
    pub recovery_records: u128,
    /// Blocks of the read set of the peer comparisons (it must fit every
    /// memtable: about 1.1 KB each).
    pub compare_blocks: u128,
    pub compare_sync_puts: usize,
    pub compare_batches: usize,
    pub compare_reads: usize,
    /// Memtable budget of the sustained-write rows (kausal's default in a
    /// full run) and the puts that cross several flushes and compactions.
    pub sustained_memtable_bytes: usize,
    pub sustained_puts: usize,
    /// Blocks already in tables when the find_block-under-background-work
    /// row starts (three tables of one memtable each: one more flush makes
    /// a compaction due).
    pub background_read_tables: usize,
    /// fsynced puts per thread in the durable 1-vs-4-thread rows.
    pub durable_puts_per_thread: usize,
    /// Queries per thread in the 1-vs-2-thread read rows.
    pub parallel_finds: usize,
    pub parallel_traversals: usize,
}

impl Scale {
    pub fn full() -> Self {
        Self {
            puts: 200_000,
            sync_puts: 2_000,
            batches: 1_000,
            lookup_blocks: 100_000,
            lookups: 1_000_000,
            edge_nodes: 20_000,
            graph_nodes: 100_000,
            queries: 1_000,
            dag_nodes: 10_000,
            flush_bytes: 64 * 1024 * 1024,
            recovery_records: 1_000_000,
            compare_blocks: 20_000,
            compare_sync_puts: 1_000,
            compare_batches: 200,
            compare_reads: 200_000,
            sustained_memtable_bytes: 64 * 1024 * 1024,
            sustained_puts: 12 * SUSTAINED_PUTS_PER_MIB * 64,
            background_read_tables: 3,
            durable_puts_per_thread: 1_000,
            parallel_finds: 2_000_000,
            parallel_traversals: 4_000,
        }
    }

    pub fn quick() -> Self {
        Self {
            puts: 20_000,
            sync_puts: 100,
            batches: 100,
            lookup_blocks: 20_000,
            lookups: 200_000,
            edge_nodes: 5_000,
            graph_nodes: 20_000,
            queries: 200,
            dag_nodes: 10_000,
            flush_bytes: 8 * 1024 * 1024,
            recovery_records: 100_000,
            compare_blocks: 5_000,
            compare_sync_puts: 50,
            compare_batches: 10,
            compare_reads: 32_000,
            sustained_memtable_bytes: 4 * 1024 * 1024,
            sustained_puts: 12 * SUSTAINED_PUTS_PER_MIB * 4,
            background_read_tables: 3,
            durable_puts_per_thread: 100,
            parallel_finds: 200_000,
            parallel_traversals: 400,
        }
    }
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn open(dir: &Path, config: Config) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open engine")
}

fn buffered(memtable_bytes: usize) -> Config {
    Config::builder()
        .memtable_budget_bytes(memtable_bytes)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build()
}

/// Facts the table does not show as rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Facts {
    pub memtable_bytes_per_payload_byte: f64,
}

/// put_block buffered, with sync per write, and in batches of 100.
pub fn writes(scale: &Scale, dir: &Path, facts: &mut Facts) -> Vec<Row> {
    let mut rows = Vec::new();
    let engine = open(&dir.join("put"), buffered(512 * 1024 * 1024));
    let mut template = block(1, 1024);
    let warmup = scale.puts / 10;
    for i in 0..warmup {
        template.id = id(10_000_000 + i as u128);
        engine.put_block(&template).expect("put");
    }
    let payload_before = engine.metrics().payload_bytes_written;
    rows.push(
        measure("put_block 1KiB (WAL buffered)", scale.puts, 1, |i| {
            template.id = id(i as u128 + 1);
            engine.put_block(&template).expect("put");
        })
        .target(Target::P50AtMostNs(1_000.0))
        .target(Target::P99AtMostNs(10_000.0))
        .target(Target::AllocationsPerOpAtMost(0.01)),
    );
    let metrics = engine.metrics();
    let payload =
        (metrics.payload_bytes_written - payload_before) as f64 + (warmup as f64 * 1090.0);
    facts.memtable_bytes_per_payload_byte = metrics.memtable_bytes as f64 / payload.max(1.0);
    drop(engine);

    let engine = open(
        &dir.join("put-sync"),
        buffered(64 * 1024 * 1024)
            .into_builder()
            .sync_mode(SyncMode::EveryWrite)
            .build(),
    );
    rows.push(
        measure(
            "put_block 1KiB (fsync per write)",
            scale.sync_puts,
            1,
            |i| {
                template.id = id(i as u128 + 1);
                engine.put_block(&template).expect("put");
            },
        )
        .note("each write fdatasyncs a preallocated WAL segment"),
    );
    drop(engine);

    let engine = open(&dir.join("put-batch"), buffered(512 * 1024 * 1024));
    let batches: Vec<WriteBatch> = (0..scale.batches)
        .map(|b| {
            let mut batch = WriteBatch::new();
            for n in 0..100u128 {
                batch
                    .put_block(block(b as u128 * 100 + n + 1, 1024))
                    .expect("batch");
            }
            batch
        })
        .collect();
    rows.push(
        measure("write_batch of 100 x 1KiB", scale.batches, 1, |i| {
            engine.write_batch(&batches[i]).expect("batch");
        })
        .note("one op = one batch of 100 blocks, one WAL record"),
    );
    rows
}

/// find_block from the memtable, from an SSTable, and misses.
pub fn lookups(scale: &Scale, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let engine = open(&dir.join("find"), buffered(512 * 1024 * 1024));
    let mut template = block(1, 1024);
    for n in 1..=scale.lookup_blocks {
        template.id = id(n);
        engine.put_block(&template).expect("put");
    }
    let mut rng = fastrand::Rng::with_seed(7);
    let mut found = 0usize;
    rows.push(
        measure(
            "snapshot() (state unchanged since the last one)",
            scale.lookups,
            16,
            |_| {
                found += engine.snapshot().sequence() as usize;
            },
        )
        .note("a lock held for a pointer swap and an Arc clone: what a reader pays once per query"),
    );
    // A reader takes one snapshot per query, not per lookup.
    let snapshot = engine.snapshot();
    rows.push(
        measure("find_block (memtable hit)", scale.lookups, 16, |_| {
            let n = rng.u128(1..=scale.lookup_blocks);
            found += snapshot
                .find_block(id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        })
        .target(Target::P50AtMostNs(100.0))
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    drop(snapshot);
    engine.flush().expect("flush");
    let snapshot = engine.snapshot();
    rows.push(
        measure("find_block (SSTable hit)", scale.lookups, 16, |_| {
            let n = rng.u128(1..=scale.lookup_blocks);
            found += snapshot
                .find_block(id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        })
        .target(Target::P50AtMostNs(1_000.0))
        .target(Target::AllocationsPerOpAtMost(0.0))
        .note("table file in the page cache; checksum verified on every read"),
    );
    rows.push(
        measure("find_block (miss, bloom filter)", scale.lookups, 16, |_| {
            let n = rng.u128(scale.lookup_blocks + 1..=scale.lookup_blocks * 100);
            found += snapshot
                .find_block(id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        })
        .target(Target::AllocationsPerOpAtMost(0.0)),
    );
    assert!(found > 0);
    rows
}

/// put_edge and edge lookups on nodes of in- and out-degree 10: all edges
/// in the memtable, all in one SSTable, and split half and half.
pub fn edges(scale: &Scale, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let nodes = scale.edge_nodes;
    let edge = |i: usize| {
        let source = i as u128 % nodes + 1;
        let step = i as u128 / nodes + 1;
        GraphEdge::new(
            id(source),
            id((source + step - 1) % nodes + 1),
            EdgeType::Calls,
        )
    };
    let all = nodes as usize * 10;
    let mut rng = fastrand::Rng::with_seed(11);
    let mut out = Vec::with_capacity(64);
    let mut total = 0usize;
    let mut lookup_rows = |engine: &Database, label: &str, rows: &mut Vec<Row>| {
        // One snapshot for the row, as a query takes one for all its reads.
        let snapshot = engine.snapshot();
        for incoming in [false, true] {
            let name = format!(
                "find_{}_edges (degree 10, {label})",
                if incoming { "incoming" } else { "outgoing" }
            );
            rows.push(
                measure(&name, scale.lookups / 4, 16, |_| {
                    let node = id(rng.u128(1..=nodes));
                    if incoming {
                        snapshot
                            .find_incoming_edges_into(node, &mut out)
                            .expect("read");
                    } else {
                        snapshot
                            .find_outgoing_edges_into(node, &mut out)
                            .expect("read");
                    }
                    total += out.len();
                })
                .target(Target::P50AtMostNs(200.0))
                .target(Target::AllocationsPerOpAtMost(0.0)),
            );
        }
    };
    let engine = open(&dir.join("edges"), buffered(512 * 1024 * 1024));
    rows.push(measure("put_edge", all, 1, |i| {
        engine.put_edge(edge(i)).expect("edge");
    }));
    lookup_rows(&engine, "memtable", &mut rows);
    engine.flush().expect("flush");
    lookup_rows(&engine, "one SSTable", &mut rows);
    drop(engine);
    let engine = open(&dir.join("edges-mixed"), buffered(512 * 1024 * 1024));
    for i in 0..all / 2 {
        engine.put_edge(edge(i)).expect("edge");
    }
    engine.flush().expect("flush");
    for i in all / 2..all {
        engine.put_edge(edge(i)).expect("edge");
    }
    lookup_rows(&engine, "half SSTable, half memtable", &mut rows);
    assert_eq!(total, scale.lookups / 4 * 6 * 10);
    rows
}

/// The graph of the traversal rows, for running the same queries elsewhere.
#[derive(Debug, Default)]
pub struct GraphSpec {
    pub nodes: Vec<BlockId>,
    pub edges: Vec<GraphEdge>,
    pub dag_nodes: Vec<BlockId>,
    pub dag_edges: Vec<GraphEdge>,
}

/// The seeded start (and target) draws of the traversal rows, in their
/// order, so another engine can run the very same queries.
pub struct TraversalDraws {
    rng: fastrand::Rng,
    nodes: u128,
}

impl TraversalDraws {
    pub fn new(nodes: u128) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(13),
            nodes,
        }
    }

    pub fn start(&mut self) -> BlockId {
        id(self.rng.u128(1..=self.nodes))
    }

    pub fn pair(&mut self) -> (BlockId, BlockId) {
        (self.start(), self.start())
    }
}

/// Traversals on a power-law code graph and a DAG.
pub fn traversals(scale: &Scale, dir: &Path, progress: &dyn Fn(&str)) -> (Vec<Row>, GraphSpec) {
    let mut rows = Vec::new();
    let engine = open(&dir.join("graph"), buffered(256 * 1024 * 1024));
    let nodes = scale.graph_nodes;
    let mut template = block(1, 200);
    for n in 1..=nodes {
        template.id = id(n);
        engine.put_block(&template).expect("put");
    }
    let edges = power_law_edges(3, nodes, 5);
    for edge in &edges {
        engine.put_edge(*edge).expect("edge");
    }
    let mut spec = GraphSpec {
        nodes: (1..=nodes).map(id).collect(),
        edges: edges.clone(),
        ..GraphSpec::default()
    };
    // A separate 10,000-node DAG for the topological sort.
    let dag_base = 1_000_000_000u128;
    let mut rng = fastrand::Rng::with_seed(5);
    for n in 0..scale.dag_nodes {
        template.id = id(dag_base + n);
        engine.put_block(&template).expect("put");
        spec.dag_nodes.push(template.id);
        for _ in 0..3 {
            if n + 1 < scale.dag_nodes {
                let target = rng.u128(n + 1..scale.dag_nodes);
                let edge =
                    GraphEdge::new(id(dag_base + n), id(dag_base + target), EdgeType::DependsOn);
                engine.put_edge(edge).expect("dag edge");
                spec.dag_edges.push(edge);
            }
        }
    }
    engine.flush().expect("flush");
    engine.compact_all().expect("compact");
    progress(&format!(
        "graph: {} blocks, {} edges (power-law), plus a {}-node DAG",
        nodes,
        edges.len(),
        scale.dag_nodes
    ));
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let calls = EdgeTypeSet::of(&[EdgeType::Calls, EdgeType::Imports]);
    let mut draws = TraversalDraws::new(nodes);
    let mut reached = 0usize;
    rows.push(
        measure("traversal 1-hop (BFS)", scale.queries * 10, 1, |_| {
            let traversal = Traversal::new(vec![draws.start()])
                .edge_types(calls)
                .max_depth(1);
            reached += queries.traverse(&traversal).expect("1-hop").nodes.len();
        })
        .note("state: tables, compacted, cache warm; result includes the blocks reached (borrowed views)"),
    );
    rows.push(
        measure("traversal 3-hop BFS", scale.queries, 1, |_| {
            let traversal = Traversal::new(vec![draws.start()])
                .edge_types(calls)
                .max_depth(3)
                .max_results(10_000);
            reached += queries.traverse(&traversal).expect("3-hop").nodes.len();
        })
        .target(Target::P50AtMostNs(50_000.0))
        .note("state: tables, compacted, cache warm"),
    );
    rows.push(measure(
        "shortest path (bidirectional BFS)",
        scale.queries,
        1,
        |_| {
            let (from, to) = draws.pair();
            let traversal = Traversal::new(vec![from])
                .edge_types(calls)
                .algorithm(Algorithm::ShortestPath { target: to });
            reached += queries.traverse(&traversal).expect("path").nodes.len();
        },
    ));
    let dag_starts: Vec<BlockId> = (0..scale.dag_nodes).map(|n| id(dag_base + n)).collect();
    rows.push(measure("topological sort (10,000-node DAG)", 5, 1, |_| {
        let traversal = Traversal::new(dag_starts.clone())
            .edge_types(EdgeTypeSet::only(EdgeType::DependsOn))
            .max_results(10_000)
            .algorithm(Algorithm::TopologicalSort);
        reached += queries.traverse(&traversal).expect("topo").nodes.len();
    }));
    rows.push(
        measure("strongly connected components (whole graph)", 3, 1, |_| {
            let traversal = Traversal::new(Vec::new())
                .edge_types(calls)
                .max_results(10_000)
                .algorithm(Algorithm::StronglyConnectedComponents);
            reached += queries.traverse(&traversal).expect("scc").nodes.len();
        })
        .note(format!(
            "state: tables, compacted, cache warm; {} blocks, cyclic components returned up to 10,000 blocks",
            nodes + scale.dag_nodes
        )),
    );
    assert!(reached > 0);
    (rows, spec)
}

/// Flush of a full memtable, compaction of four such tables, recovery of a
/// large WAL.
pub fn bulk(scale: &Scale, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let engine = open(&dir.join("bulk"), buffered(scale.flush_bytes * 2));
    let mut template = block(1, 1024);
    let mut next = 1u128;
    let mut fill = |engine: &Database| {
        while engine.metrics().memtable_bytes < scale.flush_bytes {
            template.id = id(next);
            next += 1;
            engine.put_block(&template).expect("put");
        }
    };
    fill(&engine);
    let bytes = engine.metrics().memtable_bytes as u64;
    rows.push(measure_bulk(
        &format!("flush memtable ({} MiB)", scale.flush_bytes >> 20),
        bytes,
        || engine.flush().expect("flush"),
    ));
    for _ in 0..3 {
        fill(&engine);
        engine.flush().expect("flush");
    }
    let table_bytes = engine.metrics().sstable_bytes;
    rows.push(measure_bulk(
        &format!("compact 4 tables of {} MiB", scale.flush_bytes >> 20),
        table_bytes,
        || {
            engine.compact_all().expect("compact");
        },
    ));
    drop(engine);

    let recovery_dir = dir.join("recovery");
    let engine = open(&recovery_dir, buffered(1024 * 1024 * 1024));
    let mut small = block(1, 64);
    small.content = code_content(1, 64);
    for n in 1..=scale.recovery_records {
        small.id = id(n);
        engine.put_block(&small).expect("put");
    }
    engine.sync().expect("sync");
    let wal_bytes = engine.metrics().wal_bytes_appended;
    // Drop without flushing: the records live only in the WAL.
    drop(engine);
    let mut recovered = None;
    let mut row = measure_bulk(
        &format!("recovery of a {}-record WAL", scale.recovery_records),
        wal_bytes,
        || recovered = Some(open(&recovery_dir, buffered(1024 * 1024 * 1024))),
    );
    let engine = recovered.expect("recovered engine");
    assert_eq!(
        engine.recovery_report().records_applied,
        scale.recovery_records as u64,
        "every record replayed"
    );
    row.ops = scale.recovery_records as u64;
    rows.push(
        row.target(Target::SecondsAtMost(1.0)).note(
            "replay; the replayed segments stay, their unsynced part written again and synced",
        ),
    );
    rows
}
