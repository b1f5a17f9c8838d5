//! Unit tests of the engine on the real file system (OsVfs + tempfile).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, VfsError};

use crate::{
    BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, StorageError, SyncMode,
    WriteBatch,
};

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn block(n: u128, content: &str) -> ContextBlock {
    ContextBlock::new(
        id(n),
        format!("src/f{n}.rs"),
        format!(r#"{{"name":"f{n}"}}"#),
        content,
    )
}

fn small_config() -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(16 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build()
}

fn open(dir: &std::path::Path, config: Config) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, config).unwrap()
}

fn content_of(engine: &Database, n: u128) -> Option<String> {
    engine
        .snapshot()
        .find_block(id(n))
        .unwrap()
        .map(|view| view.content.to_string())
}

#[test]
fn put_find_overwrite_and_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    let first = engine.put_block(&block(1, "v1")).unwrap();
    let second = engine.put_block(&block(1, "v2")).unwrap();
    assert!(second > first, "sequences grow");
    let snapshot = engine.snapshot();
    let view = snapshot.find_block(id(1)).unwrap().unwrap();
    assert_eq!(view.content, "v2");
    assert_eq!(view.sequence, second);
    assert_eq!(view.source_uri, "src/f1.rs");
    assert_eq!(view.metadata_json, r#"{"name":"f1"}"#);
    assert!(engine.snapshot().find_block(id(2)).unwrap().is_none());
    assert!(matches!(
        engine.snapshot().find_block(BlockId::default()),
        Err(StorageError::ZeroBlockId)
    ));
}

#[test]
fn bad_input_is_rejected_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    engine.put_block(&block(1, "kept")).unwrap();
    let before = engine.metrics().next_sequence;
    let bad_json = ContextBlock::new(id(1), "u", "[1,2]", "replacement");
    assert!(matches!(
        engine.put_block(&bad_json),
        Err(StorageError::InvalidMetadata { .. })
    ));
    let too_big = ContextBlock::new(
        id(1),
        "u",
        "{}",
        "x".repeat(crate::limits::MAX_CONTENT_BYTES + 1),
    );
    let error = engine.put_block(&too_big).unwrap_err();
    assert!(error.to_string().contains("content"), "{error}");
    assert!(engine.put_block(&block(0, "zero")).is_err());
    assert!(
        engine
            .put_edge(GraphEdge::new(id(1), BlockId::default(), EdgeType::Calls))
            .is_err()
    );
    assert_eq!(engine.metrics().next_sequence, before);
    assert_eq!(content_of(&engine, 1).as_deref(), Some("kept"));
}

#[test]
fn tombstones_shadow_everywhere_and_never_resurrect() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    engine.put_block(&block(1, "old")).unwrap();
    engine.put_block(&block(2, "keep")).unwrap();
    engine.flush().unwrap();
    // Tombstone in the memtable shadows the table's version.
    engine.delete_block(id(1)).unwrap();
    assert_eq!(content_of(&engine, 1), None);
    // Tombstone in a newer table shadows the older table's version.
    engine.flush().unwrap();
    assert_eq!(content_of(&engine, 1), None);
    engine.compact_all().unwrap();
    assert_eq!(content_of(&engine, 1), None);
    assert_eq!(content_of(&engine, 2).as_deref(), Some("keep"));
    engine.sync().unwrap();
    drop(engine);
    let engine = open(dir.path(), small_config());
    assert_eq!(content_of(&engine, 1), None);
    // A later put wins over the tombstone.
    engine.put_block(&block(1, "new")).unwrap();
    engine.flush().unwrap();
    assert_eq!(content_of(&engine, 1).as_deref(), Some("new"));
}

#[test]
fn memtable_wins_over_tables_and_newest_table_wins() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    engine.put_block(&block(1, "table-1")).unwrap();
    engine.flush().unwrap();
    engine.put_block(&block(1, "table-2")).unwrap();
    engine.flush().unwrap();
    assert_eq!(content_of(&engine, 1).as_deref(), Some("table-2"));
    engine.put_block(&block(1, "memtable")).unwrap();
    assert_eq!(content_of(&engine, 1).as_deref(), Some("memtable"));
    assert_eq!(engine.metrics().sstable_count, 2);
}

#[test]
fn edges_both_directions_deletes_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    let calls = GraphEdge::new(id(1), id(2), EdgeType::Calls);
    let imports = GraphEdge::new(id(1), id(3), EdgeType::Imports);
    let other = GraphEdge::new(id(4), id(2), EdgeType::References);
    for edge in [calls, imports, other] {
        engine.put_edge(edge).unwrap();
    }
    engine.flush().unwrap();
    let parallel = GraphEdge::new(id(1), id(2), EdgeType::DependsOn);
    engine.put_edge(parallel).unwrap();
    assert_eq!(
        engine.snapshot().find_outgoing_edges(id(1)).unwrap(),
        vec![imports, calls, parallel]
    );
    assert_eq!(
        engine.snapshot().find_incoming_edges(id(2)).unwrap(),
        vec![other, calls, parallel]
    );
    engine.delete_edge(calls).unwrap();
    assert_eq!(
        engine.snapshot().find_outgoing_edges(id(1)).unwrap(),
        vec![imports, parallel]
    );
    engine.sync().unwrap();
    drop(engine);
    let engine = open(dir.path(), small_config());
    assert_eq!(
        engine.snapshot().find_outgoing_edges(id(1)).unwrap(),
        vec![imports, parallel]
    );
    assert_eq!(
        engine.snapshot().find_incoming_edges(id(2)).unwrap(),
        vec![other, parallel]
    );
    let mut reused = Vec::with_capacity(8);
    engine
        .snapshot()
        .find_incoming_edges_into(id(3), &mut reused)
        .unwrap();
    assert_eq!(reused, vec![imports]);
}

#[test]
fn delete_block_removes_its_edges() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    engine.put_block(&block(1, "a")).unwrap();
    engine.put_block(&block(2, "b")).unwrap();
    let out = GraphEdge::new(id(1), id(2), EdgeType::Calls);
    let incoming = GraphEdge::new(id(3), id(1), EdgeType::Calls);
    let unrelated = GraphEdge::new(id(3), id(2), EdgeType::Calls);
    for edge in [out, incoming, unrelated] {
        engine.put_edge(edge).unwrap();
    }
    engine.flush().unwrap();
    engine.delete_block(id(1)).unwrap();
    assert!(
        engine
            .snapshot()
            .find_outgoing_edges(id(1))
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .snapshot()
            .find_incoming_edges(id(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        engine.snapshot().find_incoming_edges(id(2)).unwrap(),
        vec![unrelated]
    );
    engine.flush().unwrap();
    engine.compact_all().unwrap();
    drop(engine);
    let engine = open(dir.path(), small_config());
    assert!(
        engine
            .snapshot()
            .find_outgoing_edges(id(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        engine.snapshot().find_outgoing_edges(id(3)).unwrap(),
        vec![unrelated]
    );
}

#[test]
fn write_batch_applies_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    let mut batch = WriteBatch::new();
    batch.put_block(block(1, "one")).unwrap();
    batch.put_block(block(2, "two")).unwrap();
    batch
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .unwrap();
    batch.delete_block(id(2)).unwrap();
    let last = engine.write_batch(&batch).unwrap();
    assert_eq!(engine.metrics().next_sequence, last + 1);
    assert_eq!(content_of(&engine, 1).as_deref(), Some("one"));
    assert_eq!(content_of(&engine, 2), None);
    assert!(
        engine
            .snapshot()
            .find_outgoing_edges(id(1))
            .unwrap()
            .is_empty(),
        "delete in the batch removed the edge"
    );
    engine.sync().unwrap();
    drop(engine);
    let engine = open(dir.path(), small_config());
    assert_eq!(content_of(&engine, 1).as_deref(), Some("one"));
    assert_eq!(content_of(&engine, 2), None);
    assert!(
        engine
            .snapshot()
            .find_outgoing_edges(id(1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn iterate_blocks_merges_sources_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    for n in [5u128, 1, 9] {
        engine.put_block(&block(n, "t1")).unwrap();
    }
    engine.flush().unwrap();
    for n in [3u128, 9] {
        engine.put_block(&block(n, "t2")).unwrap();
    }
    engine.delete_block(id(5)).unwrap();
    engine.flush().unwrap();
    engine.put_block(&block(7, "mem")).unwrap();
    engine.put_block(&block(1, "mem")).unwrap();
    let seen: Vec<(u128, String)> = engine
        .snapshot()
        .iterate_blocks()
        .unwrap()
        .map(|view| {
            let view = view.unwrap();
            (view.id.as_u128(), view.content.to_string())
        })
        .collect();
    let expected: Vec<(u128, String)> = [(1, "mem"), (3, "t2"), (7, "mem"), (9, "t2")]
        .into_iter()
        .map(|(n, c)| (n, c.to_string()))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn second_engine_on_directory_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    let error =
        Database::open_with(Arc::new(OsVfs::new()), dir.path(), small_config()).unwrap_err();
    assert!(matches!(error, StorageError::Locked { .. }), "{error}");
    drop(engine);
    open(dir.path(), small_config());
}

#[test]
fn foreign_file_in_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), small_config()));
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let error =
        Database::open_with(Arc::new(OsVfs::new()), dir.path(), small_config()).unwrap_err();
    match error {
        StorageError::UnexpectedFile { path } => assert!(path.ends_with("notes.txt")),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn invalid_config_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::builder().memtable_budget_bytes(10).build();
    assert!(matches!(
        Database::open_with(Arc::new(OsVfs::new()), dir.path(), config),
        Err(StorageError::InvalidConfig { .. })
    ));
}

#[test]
fn memtable_budget_triggers_flush_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config()
        .into_builder()
        .auto_compact(true)
        .compaction_min_tables(3)
        .build();
    let engine = open(dir.path(), config.clone());
    let content = "x".repeat(2000);
    for n in 1..=400u128 {
        engine.put_block(&block(n, &content)).unwrap();
    }
    let metrics = engine.metrics();
    assert!(metrics.flushes >= 10, "{metrics:?}");
    assert!(metrics.compactions >= 1, "{metrics:?}");
    assert!(metrics.sstable_count < metrics.flushes as usize);
    for n in 1..=400u128 {
        assert_eq!(
            content_of(&engine, n).as_deref(),
            Some(content.as_str()),
            "block {n}"
        );
    }
    engine.shutdown().unwrap();
    let engine = open(dir.path(), config);
    assert_eq!(engine.snapshot().iterate_blocks().unwrap().count(), 400);
}

#[test]
fn flush_removes_covered_wal_segments() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    let content = "y".repeat(3000);
    for n in 1..=20u128 {
        engine.put_block(&block(n, &content)).unwrap();
    }
    let wal_files = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("wal-")
            })
            .count()
    };
    assert!(wal_files() > 2, "20 x 3 KB spans several 16 KB segments");
    engine.flush().unwrap();
    // The worker may have readied the next segment already (wal::spare).
    assert!(
        wal_files() <= 2,
        "only the fresh segment (and the spare) remain"
    );
}

#[test]
fn engine_moved_into_box_and_vec_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        let engine = open(dir.path(), small_config());
        engine.put_block(&block(1, "moved")).unwrap();
        engine
    };
    let engine = make();
    let boxed = Box::new(engine);
    assert_eq!(content_of(&boxed, 1).as_deref(), Some("moved"));
    let mut engines = Vec::new();
    engines.push(*boxed);
    engines.reserve(64);
    engines[0].put_block(&block(2, "after move")).unwrap();
    assert_eq!(content_of(&engines[0], 2).as_deref(), Some("after move"));
    assert_eq!(content_of(&engines[0], 1).as_deref(), Some("moved"));
}

#[test]
fn failed_fsync_poisons_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // Every file sync fails with EIO while `fail_sync` is set.
    let fail_sync = Arc::new(AtomicBool::new(false));
    let failing = Arc::clone(&fail_sync);
    let vfs = Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if op.kind == OpKind::SyncData && failing.load(Ordering::SeqCst) {
            return Err(VfsError::new(
                op.kind.name(),
                op.path,
                std::io::Error::other("injected EIO"),
            ));
        }
        Ok(())
    }));
    let engine = Database::open_with(vfs.clone(), dir.path(), small_config()).unwrap();
    engine.put_block(&block(1, "durable")).unwrap();
    engine.sync().unwrap();
    fail_sync.store(true, Ordering::SeqCst);
    engine.put_block(&block(2, "maybe")).unwrap();
    let error = engine.sync().unwrap_err();
    assert!(error.to_string().contains("injected EIO"), "{error}");
    assert!(!error.is_storage_full(), "EIO is not a full disk");
    assert!(engine.is_poisoned());
    // Even with the disk healthy again, the engine refuses writes.
    fail_sync.store(false, Ordering::SeqCst);
    for result in [
        engine.put_block(&block(3, "refused")),
        engine.delete_block(id(1)),
        engine.put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls)),
    ] {
        assert!(matches!(result, Err(StorageError::Poisoned { .. })));
    }
    assert!(matches!(engine.sync(), Err(StorageError::Poisoned { .. })));
    assert!(matches!(engine.flush(), Err(StorageError::Poisoned { .. })));
    // The write whose sync failed is not served: reads are refused too,
    // since a reopen may not show it (the kernel may have dropped it).
    assert!(matches!(
        engine.snapshot().find_block(id(2)),
        Err(StorageError::Poisoned { .. })
    ));
    assert!(matches!(
        engine.snapshot().find_outgoing_edges(id(1)),
        Err(StorageError::Poisoned { .. })
    ));
    assert!(matches!(
        engine.snapshot().iterate_blocks(),
        Err(StorageError::Poisoned { .. })
    ));
    drop(engine);
    let engine = Database::open_with(vfs, dir.path(), small_config()).unwrap();
    assert_eq!(content_of(&engine, 1).as_deref(), Some("durable"));
    engine.put_block(&block(3, "accepted")).unwrap();
}

#[test]
fn every_write_mode_syncs_each_write() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config()
        .into_builder()
        .sync_mode(SyncMode::EveryWrite)
        .build();
    let engine = open(dir.path(), config);
    engine.put_block(&block(1, "a")).unwrap();
    engine
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .unwrap();
    let metrics = engine.metrics();
    assert_eq!(metrics.wal_syncs, 2);
    assert_eq!(metrics.wal_unsynced_bytes, 0);
    let config = small_config()
        .into_builder()
        .sync_mode(SyncMode::EveryBytes(1000))
        .build();
    drop(engine);
    let engine = open(dir.path(), config);
    engine.put_block(&block(3, "small")).unwrap();
    assert!(engine.metrics().wal_unsynced_bytes > 0);
    engine.put_block(&block(4, &"z".repeat(1000))).unwrap();
    assert_eq!(engine.metrics().wal_unsynced_bytes, 0);
}

#[test]
fn handles_and_snapshots_are_shareable_across_threads() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<crate::Database>();
    shareable::<crate::Snapshot>();
    shareable::<crate::Config>();
    fn sendable<T: Send>() {}
    sendable::<crate::BlockIter<'static>>();
}

#[test]
fn a_snapshot_keeps_its_state_across_writes_flushes_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), small_config());
    for n in 1..=50 {
        engine.put_block(&block(n, "v1")).unwrap();
    }
    engine
        .put_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .unwrap();
    let before = engine.snapshot();
    let sequence = before.sequence();
    for n in 1..=50 {
        engine.put_block(&block(n, "v2")).unwrap();
    }
    engine.delete_block(id(7)).unwrap();
    engine
        .delete_edge(GraphEdge::new(id(1), id(2), EdgeType::Calls))
        .unwrap();
    engine.flush().unwrap();
    engine.put_block(&block(60, "v2")).unwrap();
    engine.flush().unwrap();
    assert!(engine.compact_all().unwrap());
    assert_eq!(engine.metrics().sstable_count, 1);
    // The old snapshot still answers as of its sequence.
    assert_eq!(before.sequence(), sequence);
    assert_eq!(before.iterate_blocks().unwrap().count(), 50);
    for n in 1..=50 {
        let view = before.find_block(id(n)).unwrap().unwrap();
        assert_eq!(view.content, "v1");
    }
    assert!(before.find_block(id(60)).unwrap().is_none());
    assert_eq!(
        before.find_outgoing_edges(id(1)).unwrap(),
        vec![GraphEdge::new(id(1), id(2), EdgeType::Calls)]
    );
    // A new one sees the present.
    let after = engine.snapshot();
    assert!(after.sequence() > sequence);
    assert!(after.find_block(id(7)).unwrap().is_none());
    assert_eq!(after.find_block(id(8)).unwrap().unwrap().content, "v2");
    assert!(after.find_outgoing_edges(id(1)).unwrap().is_empty());
    assert_eq!(after.iterate_blocks().unwrap().count(), 50);
}
