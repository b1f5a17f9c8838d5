//! Scenario, on real files: a read-only open writes nothing, shares the
//! directory with other readers, is kept out (with the holder named) while
//! a writer has it, keeps writers out while it reads, and refuses writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_storage::{Database, EdgeType, GraphEdge, StorageError};
use kausal_tests::{block, id, open, scratch_dir, small_config};
use kausal_vfs::OsVfs;

fn open_read_only(dir: &Path) -> Result<Database, StorageError> {
    Database::open_read_only_with(Arc::new(OsVfs::new()), dir, small_config())
}

/// Every file of `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect()
}

/// A database with tables and a synced WAL tail that was never flushed.
fn database_with_a_wal_tail() -> (tempfile::TempDir, PathBuf) {
    let (guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    for n in 1..=200u128 {
        engine.put_block(&block(n, 500)).expect("put");
        engine
            .put_edge(GraphEdge::new(id(n), id(n % 200 + 1), EdgeType::Calls))
            .expect("edge");
    }
    engine.sync().expect("sync");
    drop(engine);
    (guard, dir)
}

#[test]
fn a_read_only_open_writes_nothing_and_sees_everything() {
    let (_guard, dir) = database_with_a_wal_tail();
    let before = contents(&dir);
    {
        let engine = open_read_only(&dir).expect("open read-only");
        assert!(engine.is_read_only());
        for n in 1..=200u128 {
            assert!(
                engine.snapshot().find_block(id(n)).expect("find").is_some(),
                "block {n}"
            );
            assert_eq!(
                engine
                    .snapshot()
                    .find_outgoing_edges(id(n))
                    .expect("edges")
                    .len(),
                1
            );
        }
    }
    assert_eq!(
        contents(&dir),
        before,
        "a read-only open changed the directory"
    );
}

#[test]
fn a_read_only_engine_refuses_writes() {
    let (_guard, dir) = database_with_a_wal_tail();
    let engine = open_read_only(&dir).expect("open read-only");
    for result in [
        engine.put_block(&block(999, 10)).map(|_| ()),
        engine.delete_block(id(1)).map(|_| ()),
        engine.sync(),
        engine.flush(),
    ] {
        assert!(
            matches!(result, Err(StorageError::ReadOnly { .. })),
            "{result:?}"
        );
    }
    engine.shutdown().expect("closing a reader is not an error");
}

#[test]
fn readers_share_the_directory_and_exclude_a_writer() {
    let (_guard, dir) = database_with_a_wal_tail();
    let first = open_read_only(&dir).expect("first reader");
    let second = open_read_only(&dir).expect("second reader");
    let error = Database::open_with(Arc::new(OsVfs::new()), &dir, small_config())
        .expect_err("a writer must wait for the readers");
    assert!(matches!(error, StorageError::Locked { .. }), "{error}");
    drop((first, second));
    open(&dir, small_config());
}

#[test]
fn a_writer_keeps_readers_out_and_is_named() {
    let (_guard, dir) = database_with_a_wal_tail();
    let writer = open(&dir, small_config());
    let error = open_read_only(&dir).expect_err("the writer holds the lock");
    match &error {
        StorageError::Locked { holder, .. } => {
            let holder = holder.as_deref().expect("the writer names itself");
            assert!(holder.contains(&std::process::id().to_string()), "{holder}");
        }
        other => panic!("expected Locked, got {other}"),
    }
    assert!(error.to_string().contains("writer pid"), "{error}");
    drop(writer);
    open_read_only(&dir).expect("the writer is gone");
}

#[test]
fn no_database_is_a_clear_error() {
    let (_guard, dir) = scratch_dir();
    let missing = open_read_only(&dir).expect_err("no directory");
    assert!(
        matches!(missing, StorageError::NotADatabase { .. }),
        "{missing}"
    );
    std::fs::create_dir_all(&dir).expect("mkdir");
    let empty = open_read_only(&dir).expect_err("empty directory");
    assert!(
        matches!(empty, StorageError::NotADatabase { .. }),
        "{empty}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).expect("list").count(),
        0,
        "a read-only open created a file"
    );
}
