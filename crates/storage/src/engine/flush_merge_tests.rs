//! A flush does not wait behind a running merge: flushes and merges take
//! separate locks, and the manifest lock only for their installs.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Condvar, Mutex, mpsc};

use kausal_vfs::OsVfs;
use kausal_vfs::testing::{HookVfs, OpKind};

use crate::files::{FileKind, classify_path};
use crate::{BlockId, Config, ContextBlock, Database, SyncMode};

/// Name of the thread that runs the merge under test.
const MERGE_THREAD: &str = "merge-under-test";

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/f{n}.rs"),
        "{}",
        format!("fn f{n}() {{ {} }}", "z".repeat(300)),
    )
}

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(1024 * 1024)
        .sync_mode(SyncMode::Manual)
        // Merges only where the test runs them.
        .auto_compact(false)
        .compaction_min_tables(2)
        .compaction_base_bytes(64 * 1024 * 1024)
        .background_worker(false)
        .build()
}

/// An open/closed gate the merge thread waits at.
type Gate = Arc<(Mutex<bool>, Condvar)>;

#[test]
fn a_flush_completes_while_a_merge_is_running() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db");
    let (started, merge_started) = mpsc::channel();
    let started = Mutex::new(started);
    let gate: Gate = Arc::new((Mutex::new(false), Condvar::new()));
    let held = Arc::clone(&gate);
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        let is_table = classify_path(op.path).is_some_and(FileKind::is_table);
        if is_table
            && op.kind == OpKind::Create
            && std::thread::current().name() == Some(MERGE_THREAD)
        {
            // The receiver outlives every merge of the test.
            let _ = started.lock().unwrap().send(());
            let (open, opened) = &*held;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
        }
        Ok(())
    });
    let engine = Database::open_with(Arc::new(vfs), &dir, config()).unwrap();
    for n in 1..=20 {
        engine.put_block(&block(n)).unwrap();
        if n % 10 == 0 {
            engine.flush().unwrap();
        }
    }
    assert_eq!(engine.metrics().sstable_count, 2);
    let merging = engine.clone();
    let merge = std::thread::Builder::new()
        .name(MERGE_THREAD.into())
        .spawn(move || merging.compact().unwrap())
        .unwrap();
    // The merge is writing its table (and waits at the gate meanwhile).
    merge_started.recv().unwrap();
    for n in 21..=30 {
        engine.put_block(&block(n)).unwrap();
    }
    // Before flushes and merges took separate locks, this waited for the
    // merge, which waits for the gate below: the test hung here.
    engine.flush().unwrap();
    let metrics = engine.metrics();
    assert_eq!(metrics.flushes, 3);
    assert_eq!(metrics.compactions, 0, "the merge is still running");
    assert_eq!(metrics.sstable_count, 3);
    {
        let (open, opened) = &*gate;
        *open.lock().unwrap() = true;
        opened.notify_all();
    }
    assert!(merge.join().unwrap() >= 1);
    let check = |engine: &Database| {
        let snapshot = engine.snapshot();
        for n in 1..=30 {
            assert!(
                snapshot
                    .find_block(BlockId::from_u128(n))
                    .unwrap()
                    .is_some(),
                "block {n}"
            );
        }
    };
    check(&engine);
    // The flushed table kept its place after the merged one.
    assert!(engine.metrics().sstable_count <= 2);
    engine.shutdown().unwrap();
    let engine = Database::open_with(Arc::new(OsVfs::new()), &dir, config()).unwrap();
    assert!(engine.recovery_report().orphan_tables_removed.is_empty());
    check(&engine);
}
