//! The engine and its spare WAL segment: background steps ready it, a
//! crash right after that recovers every synced write, rotations switch
//! to it without creating a file, and a clean close leaves none behind.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, Vfs};

use crate::files::{FileKind, classify, classify_path, segment_file_name};
use crate::{BlockId, Config, ContextBlock, Database, SyncMode};

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/f{n}.rs"),
        "{}",
        format!("fn f{n}() {{ {} }}", "x".repeat(200)),
    )
}

fn config(worker: bool) -> Config {
    Config::builder()
        .memtable_budget_bytes(256 * 1024)
        .wal_segment_bytes(64 * 1024)
        // Every record goes to the segment file at once, so a copy of the
        // directory is a crash image with the unsynced records in it.
        .wal_buffer_bytes(0)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .background_worker(worker)
        .build()
}

fn present(engine: &Database, n: u128) -> bool {
    engine
        .snapshot()
        .find_block(BlockId::from_u128(n))
        .unwrap()
        .is_some()
}

fn wal_segments(dir: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = OsVfs::new()
        .list_dir(dir)
        .unwrap()
        .iter()
        .filter_map(|name| match classify(name) {
            Some(FileKind::WalSegment { id }) => Some(id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Copies every file of `from` into `to`: what the disk holds if the power
/// goes out now (on the OS file system every write is in the page cache,
/// so the copy is a crash image in which all unsynced writes survived).
fn crash_image(from: &Path, to: &Path) {
    let vfs = OsVfs::new();
    vfs.create_dir_all(to).unwrap();
    for name in vfs.list_dir(from).unwrap() {
        let source = vfs.open_file(&from.join(&name)).unwrap();
        let mut bytes = vec![0u8; source.len().unwrap() as usize];
        source.read_exact_at(0, &mut bytes).unwrap();
        let mut target = vfs.create_file(&to.join(&name)).unwrap();
        target.write_at(0, &bytes).unwrap();
    }
}

/// A crash right after a background step created the spare: the log ends
/// with an empty, pre-sized segment after the active one, whose last
/// (unsynced) record the crash tore. Recovery keeps every synced write,
/// drops the torn record as a torn tail of the active segment, and accepts
/// the spare as nothing written.
#[test]
fn a_crash_right_after_the_spare_was_created_recovers_every_synced_write() {
    let root = tempfile::tempdir().unwrap();
    let (dir, image) = (root.path().join("db"), root.path().join("image"));
    let engine = Database::open_with(Arc::new(OsVfs::new()), &dir, config(false)).unwrap();
    for n in 1..=5 {
        engine.put_block(&block(n)).unwrap();
    }
    engine.sync().unwrap();
    for n in 6..=8 {
        engine.put_block(&block(n)).unwrap();
    }
    // Creating the spare is not counted as work.
    assert!(!engine.run_background_step().unwrap());
    assert_eq!(wal_segments(&dir), vec![1, 2]);
    crash_image(&dir, &image);
    drop(engine);
    // The crash tore block 8's record: its last bytes never reached the
    // disk.
    let active = image.join(segment_file_name(1));
    let vfs = OsVfs::new();
    let mut file = vfs.open_file(&active).unwrap();
    let mut bytes = vec![0u8; file.len().unwrap() as usize];
    file.read_exact_at(0, &mut bytes).unwrap();
    let last = bytes.iter().rposition(|byte| *byte != 0).unwrap() as u64;
    file.write_at(last - 31, &[0u8; 32]).unwrap();
    drop(file);

    let engine = Database::open_with(Arc::new(OsVfs::new()), &image, config(false)).unwrap();
    let wal = &engine.recovery_report().wal;
    assert_eq!(wal.empty_segments, vec![2]);
    let torn = wal.torn_tail.as_ref().expect("block 8's record is torn");
    assert_eq!(torn.file, active);
    for n in 1..=7 {
        assert!(present(&engine, n), "block {n}");
    }
    assert!(!present(&engine, 8));
}

/// Hook events: which segment the worker began to create.
type Created = Arc<Mutex<mpsc::Sender<u64>>>;

/// With the worker thread: it readies the next segment after each
/// rotation, and the writer's rotations (here the freezes of `flush`)
/// create no segment themselves. Waits on the worker's file creations, not
/// on the clock.
#[test]
fn with_the_worker_rotations_switch_to_the_segment_it_made_ready() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db");
    let (sender, created) = mpsc::channel();
    let sender: Created = Arc::new(Mutex::new(sender));
    let inline_creates = Arc::new(AtomicUsize::new(0));
    let inline = Arc::clone(&inline_creates);
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        let Some(FileKind::WalSegment { id }) = classify_path(op.path) else {
            return Ok(());
        };
        // Segment 1 is the open's own, created before the worker starts.
        if op.kind != OpKind::Create || id == 1 {
            return Ok(());
        }
        if std::thread::current().name() == Some("kausal-wal-prep") {
            // The receiver lives as long as the test needs it.
            let _ = sender.lock().unwrap().send(id);
        } else {
            inline.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    });
    let engine = Database::open_with(Arc::new(vfs), &dir, config(true)).unwrap();
    // Opening signals the worker, which readies segment 2.
    assert_eq!(created.recv().unwrap(), 2);
    let mut next = 1;
    for expected in [3, 4] {
        for _ in 0..20 {
            engine.put_block(&block(next)).unwrap();
            next += 1;
        }
        // The freeze rotates to the spare, and the worker readies the next.
        engine.flush().unwrap();
        assert_eq!(created.recv().unwrap(), expected);
    }
    assert_eq!(inline_creates.load(Ordering::SeqCst), 0);
    engine.shutdown().unwrap();
    // A clean close leaves no spare: only the active segment remains.
    assert_eq!(wal_segments(&dir), vec![3]);
    let engine = Database::open_with(Arc::new(OsVfs::new()), &dir, config(false)).unwrap();
    // Everything was flushed: the active segment holds nothing written.
    assert_eq!(engine.recovery_report().wal.segments, vec![3]);
    for n in 1..next {
        assert!(present(&engine, n), "block {n}");
    }
}

/// A failed presync is a failed WAL fsync: the step fails and the engine
/// is poisoned (the kernel may have dropped the segment's dirty pages).
#[test]
fn a_failed_presync_poisons_the_engine() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("db");
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fail = Arc::clone(&failing);
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        let is_wal = classify_path(op.path).is_some_and(FileKind::is_wal_segment);
        if is_wal && op.kind == OpKind::SyncData && fail.load(Ordering::SeqCst) {
            return Err(kausal_vfs::VfsError::new(
                "sync",
                op.path,
                std::io::Error::other("injected"),
            ));
        }
        Ok(())
    });
    let engine = Database::open_with(Arc::new(vfs), &dir, config(false)).unwrap();
    // The spare first, so the failing sync below is the presync's.
    assert!(!engine.run_background_step().unwrap());
    for n in 1..=20 {
        engine.put_block(&block(n)).unwrap();
    }
    failing.store(true, Ordering::SeqCst);
    assert!(engine.run_background_step().is_err());
    assert!(engine.is_poisoned());
    assert!(engine.put_block(&block(99)).is_err());
}

/// The put that freezes a full memtable rotates the WAL without an fsync
/// (with the spare segment ready): the old segment is synced by the first
/// write to the next segment's file (here, the next buffer written
/// inline), not on the freezing put.
#[test]
fn the_put_that_freezes_the_memtable_makes_no_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let syncs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&syncs);
    let vfs: Arc<dyn Vfs> = Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if op.kind == OpKind::SyncData {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }));
    let config = config(false)
        .into_builder()
        // Records stay in the WAL buffer until it holds 64 KiB, and no
        // segment fills before the memtable does.
        .wal_buffer_bytes(64 * 1024)
        .wal_segment_bytes(4 * 1024 * 1024)
        .build();
    let engine = Database::open_with(vfs, dir.path(), config).unwrap();
    let mut n = 0;
    let froze = loop {
        n += 1;
        assert!(n < 10_000, "the memtable never froze");
        // Readies the spare segment (and presyncs), outside the put.
        engine.run_background_step().unwrap();
        let before = (
            engine.metrics().frozen_memtables,
            syncs.load(Ordering::SeqCst),
        );
        engine.put_block(&block(n)).unwrap();
        if engine.metrics().frozen_memtables > before.0 {
            break syncs.load(Ordering::SeqCst) - before.1;
        }
    };
    assert_eq!(froze, 0, "the freezing put fsynced");
    engine.sync().unwrap();
    drop(engine);
    let engine = Database::open(dir.path()).unwrap();
    assert!((1..=n).all(|m| present(&engine, m)));
}
