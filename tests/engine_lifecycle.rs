//! Scenario: the old engine crashed when an engine value was copied or
//! moved. Open, write, move (return by value, Vec, Box), drop, reopen: every
//! acknowledged write is there.

use kausal_storage::{Database, EdgeType, GraphEdge, SyncMode};
use kausal_tests::{block, content, id, open, scratch_dir, small_config};

fn build_engine(dir: &std::path::Path) -> Database {
    let engine = open(dir, small_config());
    for n in 1..=50u128 {
        engine.put_block(&block(n, 300)).expect("put");
    }
    engine
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .expect("edge");
    engine // returned by value
}

#[test]
fn engine_survives_moves_drop_and_reopen() {
    let (_guard, dir) = scratch_dir();
    let engine = build_engine(&dir);
    let mut engines = Vec::new();
    engines.push(engine);
    let boxed = Box::new(engines.pop().expect("engine"));
    for n in 51..=100u128 {
        boxed.put_block(&block(n, 300)).expect("put after moves");
    }
    boxed.flush().expect("flush");
    for n in 101..=120u128 {
        boxed.put_block(&block(n, 300)).expect("put");
    }
    boxed.sync().expect("sync");
    let moved_again = *boxed;
    drop(moved_again);

    let engine = open(&dir, small_config());
    for n in 1..=120u128 {
        let snapshot = engine.snapshot();
        let view = snapshot.find_block(id(n)).expect("find").expect("present");
        assert_eq!(view.content, content(n, 300));
    }
    assert_eq!(
        engine.snapshot().find_outgoing_edges(id(1)).expect("read"),
        vec![GraphEdge::new(id(1), id(2), EdgeType::Calls)]
    );
    assert_eq!(
        engine.snapshot().iterate_blocks().expect("read").count(),
        120
    );
}

#[test]
fn drop_without_shutdown_keeps_buffered_writes() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    engine.put_block(&block(7, 100)).expect("put");
    drop(engine); // best-effort sync on drop
    let engine = open(&dir, small_config());
    assert!(engine.snapshot().find_block(id(7)).expect("find").is_some());
}

#[test]
fn shutdown_flushes_and_reopen_reads_tables() {
    let (_guard, dir) = scratch_dir();
    let config = small_config()
        .into_builder()
        .sync_mode(SyncMode::EveryWrite)
        .build();
    let engine = open(&dir, config.clone());
    for n in 1..=30u128 {
        engine.put_block(&block(n, 200)).expect("put");
    }
    engine.shutdown().expect("shutdown");
    let engine = open(&dir, config);
    let metrics = engine.metrics();
    assert_eq!(metrics.memtable_blocks, 0, "everything was flushed");
    assert!(metrics.sstable_count >= 1);
    assert_eq!(engine.recovery_report().records_applied, 0);
    assert_eq!(
        engine.snapshot().iterate_blocks().expect("read").count(),
        30
    );
}

#[test]
fn many_engines_in_one_vec() {
    let dirs: Vec<_> = (0..4).map(|_| scratch_dir()).collect();
    let mut engines: Vec<Database> = dirs
        .iter()
        .map(|(_, dir)| open(dir, small_config()))
        .collect();
    for (index, engine) in engines.iter_mut().enumerate() {
        engine
            .put_block(&block(index as u128 + 1, 64))
            .expect("put");
    }
    // Growing the Vec moves every engine.
    engines.reserve(100);
    for (index, engine) in engines.iter().enumerate() {
        assert!(
            engine
                .snapshot()
                .find_block(id(index as u128 + 1))
                .expect("find")
                .is_some()
        );
    }
}
