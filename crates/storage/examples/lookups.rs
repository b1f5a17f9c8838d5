//! The benchmark's read rows on their own (the harness's `lookups` and
//! `edges` groups at full scale: 100,000 blocks of 1 KiB; 20,000 nodes of
//! in- and out-degree 10; and the KausalDB workload's find_block after a
//! flush: 1,100 small blocks in one table), timed the harness's way (groups of 16, the
//! median of the groups' means). Builds only this crate, for profiling:
//!
//! `cargo run --release -p kausal-storage --example lookups -- [ROUNDS] [ROWS]`
//!
//! ROWS picks rows by substring (comma-separated); every row by default.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, SyncMode};
use kausal_vfs::OsVfs;

const BLOCKS: u128 = 100_000;
const LOOKUPS: usize = 1_000_000;
const NODES: u128 = 20_000;

fn open(dir: &Path) -> Database {
    let config = Config::builder()
        .memtable_budget_bytes(512 * 1024 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build();
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open")
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

/// Median over groups of 16 of the mean ns per op, as the harness records.
fn time(name: &str, wanted: &[String], ops: usize, mut op: impl FnMut()) {
    if !wanted.is_empty() && !wanted.iter().any(|w| name.contains(w.as_str())) {
        return;
    }
    let mut means = Vec::with_capacity(ops / 16);
    for _ in 0..ops / 16 {
        let started = Instant::now();
        for _ in 0..16 {
            op();
        }
        means.push(started.elapsed().as_nanos() as u64 / 16);
    }
    means.sort_unstable();
    println!("{name:<48} p50 {:>6} ns", means[means.len() / 2]);
}

fn edge(i: usize) -> GraphEdge {
    let source = i as u128 % NODES + 1;
    let step = i as u128 / NODES + 1;
    GraphEdge::new(
        id(source),
        id((source + step - 1) % NODES + 1),
        EdgeType::Calls,
    )
}

fn edge_rows(engine: &Database, label: &str, wanted: &[String], rng: &mut u64) {
    let snapshot = engine.snapshot();
    let mut out = Vec::with_capacity(64);
    let mut total = 0usize;
    for incoming in [false, true] {
        let name = format!(
            "{} ({label})",
            if incoming { "incoming" } else { "outgoing" }
        );
        time(&name, wanted, LOOKUPS / 4, || {
            let node = id(next(rng) % NODES + 1);
            if incoming {
                snapshot.find_incoming_edges_into(node, &mut out)
            } else {
                snapshot.find_outgoing_edges_into(node, &mut out)
            }
            .expect("read");
            total += out.len();
        });
    }
    std::hint::black_box(total);
}

/// xorshift: cheap, so that the timed loop is the lookup.
fn next(state: &mut u64) -> u128 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    u128::from(*state)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(1, |n| n.parse().expect("ROUNDS"));
    let wanted: Vec<String> = args
        .next()
        .map(|rows| rows.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let root = tempfile::tempdir().expect("tempdir");
    let mut rng = 7u64;

    let blocks = open(&root.path().join("find"));
    let mut template = ContextBlock::new(id(1), "src/lib.rs", "{}", "x".repeat(1024));
    for n in 1..=BLOCKS {
        template.id = id(n);
        blocks.put_block(&template).expect("put");
    }
    let edges = open(&root.path().join("edges"));
    let all = NODES as usize * 10;
    for i in 0..all {
        edges.put_edge(edge(i)).expect("edge");
    }
    let mixed = open(&root.path().join("mixed"));
    for i in 0..all / 2 {
        mixed.put_edge(edge(i)).expect("edge");
    }
    mixed.flush().expect("flush");
    for i in all / 2..all {
        mixed.put_edge(edge(i)).expect("edge");
    }
    let flushed = open(&root.path().join("flushed"));
    for i in 0..all {
        flushed.put_edge(edge(i)).expect("edge");
    }
    flushed.flush().expect("flush");
    let table_blocks = open(&root.path().join("table-blocks"));
    for n in 1..=BLOCKS {
        template.id = id(n);
        table_blocks.put_block(&template).expect("put");
    }
    table_blocks.flush().expect("flush");

    // The KausalDB workload's after-flush row: a small table, cached.
    let small = open(&root.path().join("small"));
    let kausaldb_id = |n: u64| {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        BlockId::from_bytes(bytes)
    };
    let mut small_block = ContextBlock::new(
        kausaldb_id(1),
        "bench://static",
        "{}",
        "fn benchmark_function() { return 42; }",
    );
    for n in 1..=1100 {
        small_block.id = kausaldb_id(n);
        small.put_block(&small_block).expect("put");
    }
    small.flush().expect("flush");

    for _ in 0..rounds {
        let snapshot = small.snapshot();
        let mut found = 0usize;
        let mut n = 0u64;
        time("find_block (small SSTable hit)", &wanted, LOOKUPS, || {
            n = n % 1100 + 1;
            found += snapshot
                .find_block(kausaldb_id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        });
        std::hint::black_box(found);
        let snapshot = blocks.snapshot();
        let mut found = 0usize;
        time("find_block (memtable hit)", &wanted, LOOKUPS, || {
            let n = next(&mut rng) % BLOCKS + 1;
            found += snapshot
                .find_block(id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        });
        let snapshot = table_blocks.snapshot();
        time("find_block (SSTable hit)", &wanted, LOOKUPS, || {
            let n = next(&mut rng) % BLOCKS + 1;
            found += snapshot
                .find_block(id(n))
                .expect("find")
                .map_or(0, |b| b.content.len());
        });
        std::hint::black_box(found);
        edge_rows(&edges, "memtable", &wanted, &mut rng);
        edge_rows(&flushed, "one SSTable", &wanted, &mut rng);
        edge_rows(&mixed, "half SSTable, half memtable", &wanted, &mut rng);
    }
}
