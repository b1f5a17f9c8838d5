//! Engine tests of the durability rules that need injected faults, on real
//! files (`OsVfs` behind a `HookVfs`): directory creation, write-triggered
//! flushes that fail, and a full disk while writing `MANIFEST.tmp` or the
//! WAL.

use std::sync::{Arc, Mutex};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, Vfs, VfsError};

use crate::{BlockId, Config, ContextBlock, Database, StorageError, SyncMode};

/// Which file names a full disk refuses: the fragment set in it, or none.
type FullFor = Arc<Mutex<Option<&'static str>>>;

/// The real file system, where creating or writing a file whose name
/// contains the fragment set in the returned switch fails with ENOSPC.
fn disk_full_for() -> (Arc<HookVfs>, FullFor) {
    let full_for: FullFor = Arc::new(Mutex::new(None));
    let switch = Arc::clone(&full_for);
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if !matches!(op.kind, OpKind::Create | OpKind::Write) {
            return Ok(());
        }
        let name = op.path.file_name().unwrap().to_string_lossy();
        match *full_for.lock().unwrap() {
            Some(fragment) if name.contains(fragment) => Err(VfsError::new(
                op.kind.name(),
                op.path,
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            )),
            _ => Ok(()),
        }
    });
    (Arc::new(vfs), switch)
}

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/f{n}.rs"),
        "{}",
        format!("fn f{n}() {{ {} }}", "x".repeat(900)),
    )
}

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(64 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        // Flushes run where the test can see them: in stalled writes and
        // `flush`, not on a worker thread that retries behind its back.
        .background_worker(false)
        .build()
}

fn present(engine: &Database, n: u128) -> bool {
    engine
        .snapshot()
        .find_block(BlockId::from_u128(n))
        .unwrap()
        .is_some()
}

#[test]
fn creating_a_database_directory_syncs_each_created_entry_into_its_parent() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a").join("b").join("db");
    // `create_dir_all` and `sync_dir` calls, in order.
    let dir_log = Arc::new(Mutex::new(Vec::new()));
    let logged = Arc::clone(&dir_log);
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if matches!(op.kind, OpKind::CreateDirAll | OpKind::SyncDir) {
            logged
                .lock()
                .unwrap()
                .push(format!("{} {}", op.kind.name(), op.path.display()));
        }
        Ok(())
    });
    let engine = Database::open_with(Arc::new(vfs), &dir, config()).unwrap();
    drop(engine);
    let log = dir_log.lock().unwrap().clone();
    let position = |entry: String| {
        log.iter()
            .position(|logged| *logged == entry)
            .unwrap_or_else(|| panic!("{entry} missing from {log:?}"))
    };
    let created = position(format!("create_dir_all {}", dir.display()));
    for parent in [
        root.path().join("a").join("b"),
        root.path().join("a"),
        root.path().to_path_buf(),
    ] {
        assert!(position(format!("sync_dir {}", parent.display())) > created);
    }
}

#[test]
fn a_failed_flush_inside_a_write_does_not_fail_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let (vfs, full_for) = disk_full_for();
    let engine = Database::open_with(vfs.clone(), dir.path(), config()).unwrap();
    *full_for.lock().unwrap() = Some(".sst");
    // Full memtables are frozen; once MAX_FROZEN_MEMTABLES wait, a write
    // runs the flush itself, which fails: the write stalls with a clear
    // error instead of waiting, and nothing is poisoned.
    let mut written = 0;
    let stalled = loop {
        match engine.put_block(&block(written + 1)) {
            Ok(_) => written += 1,
            Err(error) => break error,
        }
        assert!(written < 1000, "writes never stalled");
    };
    assert!(
        matches!(stalled, StorageError::WriteStalled { .. }),
        "{stalled}"
    );
    assert!(
        stalled.is_storage_full(),
        "the stall keeps its cause: {stalled:?}"
    );
    assert!(written > 64, "only {written} writes before the stall");
    assert!(!engine.is_poisoned());
    assert!(engine.metrics().background_errors > 0);
    assert!(engine.last_background_error().unwrap().contains(".sst"));
    assert!((1..=written).all(|n| present(&engine, n)));
    // The disk has room again: the next write flushes and succeeds.
    *full_for.lock().unwrap() = None;
    engine.put_block(&block(written + 1)).unwrap();
    assert_eq!(engine.metrics().sstable_count, 1);
    engine.sync().unwrap();
    drop(engine);
    let engine = Database::open_with(vfs, dir.path(), config()).unwrap();
    assert!((1..=written + 1).all(|n| present(&engine, n)));
}

#[test]
fn a_full_disk_while_writing_the_manifest_temp_file_does_not_poison() {
    let dir = tempfile::tempdir().unwrap();
    let (vfs, full_for) = disk_full_for();
    let engine = Database::open_with(vfs.clone(), dir.path(), config()).unwrap();
    for n in 1..=10 {
        engine.put_block(&block(n)).unwrap();
    }
    *full_for.lock().unwrap() = Some("MANIFEST.tmp");
    let error = engine.flush().unwrap_err();
    assert!(error.to_string().contains("MANIFEST.tmp"), "{error}");
    assert!(
        !engine.is_poisoned(),
        "the manifest on disk was never touched"
    );
    assert!(!dir.path().join("MANIFEST.tmp").exists());
    assert!(
        !vfs.list_dir(dir.path())
            .unwrap()
            .iter()
            .any(|name| name.ends_with(".sst")),
        "the table the failed flush wrote is removed"
    );
    engine.put_block(&block(11)).unwrap();
    *full_for.lock().unwrap() = None;
    engine.flush().unwrap();
    drop(engine);
    let engine = Database::open_with(vfs, dir.path(), config()).unwrap();
    assert!((1..=11).all(|n| present(&engine, n)));
}

#[test]
fn a_full_disk_under_the_wal_poisons_with_its_kind_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (vfs, full_for) = disk_full_for();
    let engine = Database::open_with(vfs.clone(), dir.path(), config()).unwrap();
    engine.put_block(&block(1)).unwrap();
    *full_for.lock().unwrap() = Some("wal-");
    // With `SyncMode::Manual` the WAL buffers the write; `sync` writes it.
    engine.put_block(&block(2)).unwrap();
    let error = engine.sync().unwrap_err();
    assert!(error.is_storage_full(), "{error:?}");
    assert!(engine.is_poisoned());
    // Later calls get `Poisoned`, which still says why: a full disk.
    let poisoned = engine.put_block(&block(3)).unwrap_err();
    assert!(
        matches!(poisoned, StorageError::Poisoned { .. }),
        "{poisoned}"
    );
    assert!(poisoned.is_storage_full(), "{poisoned:?}");
}
