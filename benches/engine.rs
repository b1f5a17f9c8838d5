//! Criterion benches of the engine's hot paths, for detailed study of the
//! rows `cargo xtask benchmark` reports.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kausal_benches::{block, power_law_edges};
use kausal_query::{QueryEngine, Traversal};
use kausal_storage::{BlockId, Config, Database, SyncMode};
use kausal_vfs::OsVfs;

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(512 * 1024 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build()
}

/// find_block over ids 1..=100,000 in turn (all present).
fn bench_find_hits(c: &mut Criterion, name: &str, engine: &Database) {
    let snapshot = engine.snapshot();
    c.bench_function(name, |b| {
        let mut n = 0u128;
        b.iter(|| {
            n = n % 100_000 + 1;
            black_box(
                snapshot
                    .find_block(BlockId::from_u128(n))
                    .expect("find")
                    .map(|v| v.content.len()),
            )
        })
    });
}

fn engine_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine =
        Database::open_with(Arc::new(OsVfs::new()), dir.path().join("db"), config()).expect("open");
    let mut template = block(1, 1024);
    let mut next = 1u128;
    c.bench_function("put_block_1KiB_buffered", |b| {
        b.iter(|| {
            template.id = BlockId::from_u128(next % 200_000 + 1);
            next += 1;
            engine.put_block(black_box(&template)).expect("put")
        })
    });
    bench_find_hits(c, "find_block_memtable_hit", &engine);
    engine.flush().expect("flush");
    bench_find_hits(c, "find_block_sstable_hit", &engine);
    c.bench_function("find_block_miss", |b| {
        let mut n = 10_000_000u128;
        let snapshot = engine.snapshot();
        b.iter(|| {
            n += 1;
            black_box(
                snapshot
                    .find_block(BlockId::from_u128(n))
                    .expect("find")
                    .is_none(),
            )
        })
    });
    for edge in power_law_edges(3, 20_000, 5) {
        engine.put_edge(edge).expect("edge");
    }
    let mut out = Vec::new();
    let snapshot = engine.snapshot();
    c.bench_function("find_outgoing_edges", |b| {
        let mut n = 0u128;
        b.iter(|| {
            n = n % 20_000 + 1;
            snapshot
                .find_outgoing_edges_into(BlockId::from_u128(n), &mut out)
                .expect("read");
            black_box(out.len())
        })
    });
    let queries = QueryEngine::new(&snapshot);
    c.bench_function("bfs_3_hop", |b| {
        let mut n = 0u128;
        b.iter(|| {
            n = n % 20_000 + 1;
            let traversal = Traversal::new(vec![BlockId::from_u128(n)])
                .max_depth(3)
                .max_results(10_000);
            black_box(queries.traverse(&traversal).expect("bfs").nodes.len())
        })
    });
}

criterion_group!(benches, engine_benches);
criterion_main!(benches);
