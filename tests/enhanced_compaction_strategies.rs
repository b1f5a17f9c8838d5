//! Scenario: size-tiered compaction merges tables of similar size, keeps
//! tombstones while an older table may hold their key, and never changes
//! what reads return.

use std::collections::BTreeMap;

use kausal_storage::{Config, Database, EdgeType, GraphEdge};
use kausal_tests::{block, id, open, scratch_dir, small_config, table_files};

/// Everything a reader can see: blocks by id and edges of each node.
fn snapshot(engine: &Database, ids: u128) -> (BTreeMap<u128, (u64, String)>, Vec<GraphEdge>) {
    let blocks = engine
        .snapshot()
        .iterate_blocks()
        .expect("read")
        .map(|view| {
            let view = view.expect("read");
            (view.id.as_u128(), (view.sequence, view.content.to_string()))
        })
        .collect();
    let mut edges = Vec::new();
    for n in 1..=ids {
        edges.extend(engine.snapshot().find_outgoing_edges(id(n)).expect("read"));
        for edge in engine.snapshot().find_incoming_edges(id(n)).expect("read") {
            assert!(
                engine
                    .snapshot()
                    .find_outgoing_edges(edge.source)
                    .expect("read")
                    .contains(&edge)
            );
        }
    }
    (blocks, edges)
}

fn config() -> Config {
    small_config()
        .into_builder()
        .compaction_min_tables(4)
        .compaction_base_bytes(16 * 1024)
        .compaction_tier_ratio(4)
        .build()
}

#[test]
fn similar_sized_tables_merge_into_the_next_tier() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, config());
    // Eight small flushes (tier 0) and nothing else.
    for flush in 0..8u128 {
        for n in 0..20u128 {
            engine
                .put_block(&block(flush * 20 + n + 1, 200))
                .expect("put");
        }
        engine.flush().expect("flush");
    }
    assert_eq!(engine.metrics().sstables_per_tier, vec![8]);
    let before = snapshot(&engine, 160);
    let merges = engine.compact().expect("compact");
    assert!(merges >= 1);
    let metrics = engine.metrics();
    assert!(metrics.sstable_count < 8, "{metrics:?}");
    assert!(
        metrics.sstables_per_tier.iter().skip(1).sum::<usize>() >= 1,
        "merged tables moved up a tier: {metrics:?}"
    );
    assert_eq!(
        snapshot(&engine, 160),
        before,
        "reads identical after compaction"
    );
    assert_eq!(
        table_files(&dir).len(),
        metrics.sstable_count,
        "old files removed"
    );
}

#[test]
fn a_large_table_is_not_merged_with_small_ones() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, config());
    for n in 1..=50u128 {
        engine.put_block(&block(n, 1000)).expect("put");
    }
    engine.flush().expect("flush"); // ~50 KB: tier 1
    assert_eq!(engine.metrics().sstable_count, 1);
    for flush in 0..3u128 {
        engine.put_block(&block(100 + flush, 100)).expect("put");
        engine.flush().expect("flush");
    }
    // One big and three small tables: no tier has four tables.
    assert_eq!(engine.compact().expect("compact"), 0);
    assert_eq!(engine.metrics().sstable_count, 4);
    engine.put_block(&block(200, 100)).expect("put");
    engine.flush().expect("flush");
    // Now four adjacent small tables form a run; the big one stays.
    assert_eq!(engine.compact().expect("compact"), 1);
    assert_eq!(engine.metrics().sstable_count, 2);
}

#[test]
fn tombstones_survive_partial_compaction_and_drop_in_full_compaction() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, config());
    for n in 1..=40u128 {
        engine.put_block(&block(n, 1000)).expect("put");
    }
    engine
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .expect("edge");
    engine.flush().expect("flush"); // big, old table holds block 1
    for flush in 0..4u128 {
        engine.delete_block(id(1 + flush)).expect("delete");
        engine.put_block(&block(1000 + flush, 50)).expect("put");
        engine.flush().expect("flush");
    }
    let before = snapshot(&engine, 40);
    // The four small tables merge; their tombstones must stay because the
    // big table below still holds blocks 1..=4.
    assert_eq!(engine.compact().expect("compact"), 1);
    assert_eq!(engine.metrics().sstable_count, 2);
    for n in 1..=4u128 {
        assert!(
            engine.snapshot().find_block(id(n)).expect("find").is_none(),
            "block {n} stays deleted"
        );
    }
    assert!(
        engine
            .snapshot()
            .find_outgoing_edges(id(1))
            .expect("read")
            .is_empty()
    );
    assert_eq!(snapshot(&engine, 40), before);
    // A full compaction drops the tombstones together with the old versions.
    engine.compact_all().expect("compact all");
    assert_eq!(engine.metrics().sstable_count, 1);
    assert_eq!(snapshot(&engine, 40), before);
    engine.sync().expect("sync");
    drop(engine);
    let engine = open(&dir, config());
    for n in 1..=4u128 {
        assert!(
            engine.snapshot().find_block(id(n)).expect("find").is_none(),
            "block {n} after restart"
        );
    }
    assert_eq!(snapshot(&engine, 40), before);
}

#[test]
fn auto_compaction_keeps_table_count_bounded() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, config().into_builder().auto_compact(true).build());
    for n in 1..=3000u128 {
        engine.put_block(&block(n % 500 + 1, 300)).expect("put");
        if n % 7 == 0 {
            engine.delete_block(id(n % 500 + 1)).expect("delete");
        }
    }
    let metrics = engine.metrics();
    assert!(metrics.flushes >= 10, "{metrics:?}");
    assert!(metrics.sstable_count <= 12, "{metrics:?}");
    let before = snapshot(&engine, 500);
    engine.compact_all().expect("compact all");
    assert_eq!(snapshot(&engine, 500), before);
}
