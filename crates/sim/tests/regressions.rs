//! Regression tests for engine bugs the simulator found, each rebuilt as a
//! direct scenario on SimVfs (seed numbers from the run that found them).

use std::path::Path;
use std::sync::Arc;

use kausal_sim::{FaultConfig, SimVfs};
use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};
use kausal_vfs::Vfs;

const DIR: &str = "/db";

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(8 * 1024)
        .sync_mode(SyncMode::Manual)
        // No worker thread: flushes and compactions run as steps on the
        // writing thread, so the Nth file operation is the same every run
        // and a failing point replays.
        .background_worker(false)
        .build()
}

/// A disk whose database directory already exists durably (made by an
/// operator), so these scenarios do not depend on how the engine makes a
/// directory it creates durable.
fn disk(seed: u64) -> SimVfs {
    let vfs = SimVfs::new(seed, FaultConfig::default());
    vfs.create_dir_all(Path::new(DIR)).expect("mkdir");
    vfs.sync_dir(Path::new("/")).expect("sync /");
    vfs
}

fn open(vfs: &SimVfs) -> Database {
    Database::open_with(Arc::new(vfs.clone()), DIR, config()).expect("open")
}

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        "src/a.rs",
        "{}",
        format!("fn f{n}() {{}}"),
    )
}

/// Opens `dir`, writes and syncs block 1, loses power, reopens: true when
/// block 1 survived.
fn synced_write_survives_a_crash(vfs: &SimVfs, dir: &str) -> bool {
    let engine = Database::open_with(Arc::new(vfs.clone()), dir, config()).expect("open");
    engine.put_block(&block(1)).expect("put");
    engine.sync().expect("sync");
    drop(engine);
    vfs.crash();
    let vfs = vfs.restart();
    let engine = Database::open_with(Arc::new(vfs.clone()), dir, config()).expect("reopen");
    engine
        .snapshot()
        .find_block(BlockId::from_u128(1))
        .expect("find")
        .is_some()
}

/// Seed 8: a WAL fsync failed (the kernel dropped the pages), the engine was
/// reopened, recovery replayed the records from the page cache and the
/// reader saw them; a later crash lost them. Recovery must make what it
/// shows durable.
#[test]
fn seed_8_recovered_writes_survive_a_later_crash_after_a_failed_fsync() {
    let vfs = disk(8);
    let engine = open(&vfs);
    engine.put_block(&block(1)).expect("put");
    engine.put_block(&block(2)).expect("put");
    vfs.set_faults(FaultConfig {
        sync_error: 1.0,
        ..FaultConfig::default()
    });
    assert!(engine.sync().is_err());
    assert!(engine.is_poisoned());
    vfs.set_faults(FaultConfig::default());
    drop(engine);
    let engine = open(&vfs);
    let visible = engine
        .snapshot()
        .find_block(BlockId::from_u128(1))
        .expect("find")
        .is_some();
    drop(engine);
    vfs.crash();
    let vfs = vfs.restart();
    let engine = open(&vfs);
    let still_there = engine
        .snapshot()
        .find_block(BlockId::from_u128(1))
        .expect("find")
        .is_some();
    assert_eq!(
        visible, still_there,
        "what recovery showed must survive a crash"
    );
    assert!(still_there);
}

/// Seeds 0-19 (first run): a segment whose creation failed before its
/// header was synced, with later segments present, was reported as
/// corruption and the database could not open.
#[test]
fn seeds_0_to_19_a_segment_torn_at_creation_before_later_segments_opens() {
    let vfs = disk(6);
    let engine = open(&vfs);
    engine.put_block(&block(1)).expect("put");
    engine.sync().expect("sync");
    drop(engine);
    // A segment with a lower id whose entry became durable but whose
    // header never did: after a crash it is empty.
    let torn = Path::new(DIR).join("wal-00000000000000000000.log");
    let mut file = vfs.create_file(&torn).expect("create");
    file.write_at(0, b"KAUSWAL1").expect("write");
    vfs.sync_dir(Path::new(DIR)).expect("sync dir");
    drop(file);
    vfs.crash();
    let vfs = vfs.restart();
    assert_eq!(vfs.file_size(&torn).expect("size"), 0);
    let engine = open(&vfs);
    assert_eq!(
        engine.recovery_report().wal.removed_partial_segments,
        vec![torn]
    );
    assert!(
        engine
            .snapshot()
            .find_block(BlockId::from_u128(1))
            .expect("find")
            .is_some()
    );
}

/// SIM-FINDINGS (e): the first open creates the database directory, and the
/// sync of its parent fails; a retried open finds the directory and does
/// not sync the parent again, so the directory (and every write acknowledged
/// in it) can vanish at the next crash.
#[test]
fn retried_open_after_a_failed_parent_sync_makes_the_directory_durable() {
    let vfs = SimVfs::new(12, FaultConfig::default());
    // The first mutating operation of open is the parent sync.
    vfs.schedule_failure(1, false);
    assert!(Database::open_with(Arc::new(vfs.clone()), DIR, config()).is_err());
    assert!(!vfs.failure_pending(), "the parent sync failed");
    assert!(
        synced_write_survives_a_crash(&vfs, DIR),
        "a synced write vanished with its directory"
    );
}

/// Soak seeds 1085 and 2547 (after the fix for (e)): the same with a
/// nested directory: an open created `/a/b/db`, failed syncing an ancestor
/// further up, and the retried open synced only the data directory's
/// parent; the crash then rolled back `mkdir /a`.
#[test]
fn retried_open_after_any_failed_ancestor_sync_makes_the_directory_durable() {
    const NESTED: &str = "/a/b/db";
    for failing_op in 1..=4 {
        let vfs = SimVfs::new(13, FaultConfig::default());
        vfs.schedule_failure(failing_op, false);
        let first = Database::open_with(Arc::new(vfs.clone()), NESTED, config());
        if vfs.failure_pending() {
            break;
        }
        assert!(first.is_err(), "op {failing_op}");
        drop(first);
        assert!(
            synced_write_survives_a_crash(&vfs, NESTED),
            "failing op {failing_op}: a synced write vanished with its directory"
        );
    }
}

/// SIM-FINDINGS (f): a flush whose removal of an old WAL segment fails still
/// succeeds (the segment is harmless), but the leftover is removed only by
/// the next flush that has data or by a reopen: a flush of an empty
/// memtable and compaction leave it, although `compaction_faults` expects
/// no stray file once a later flush and compaction succeed.
#[test]
fn a_later_flush_removes_a_wal_segment_whose_removal_failed() {
    let mut leftovers = Vec::new();
    for at in 1..40 {
        let vfs = SimVfs::new(3, FaultConfig::default());
        let engine = open(&vfs);
        engine.put_block(&block(1)).expect("put");
        vfs.schedule_failure(at, false);
        let flushed = engine.flush();
        if vfs.failure_pending() {
            break;
        }
        if flushed.is_err() || engine.is_poisoned() {
            continue;
        }
        engine.flush().expect("flush");
        engine.compact_all().expect("compact");
        let segments = vfs
            .list_dir(Path::new(DIR))
            .expect("list")
            .into_iter()
            .filter(|name| name.starts_with("wal-"))
            .count();
        if segments > 1 {
            leftovers.push(at);
        }
    }
    assert!(
        leftovers.is_empty(),
        "a failure at these steps of the flush leaves an old WAL segment: {leftovers:?}"
    );
}

/// SIM-FINDINGS (g), seed 1085: like (e) one level up. The first open
/// creates `/x` and `/x/db`; the sync of `/` (which makes `/x` durable)
/// fails. The retried open finds both directories, syncs only `/x`, and the
/// next crash takes `/x` with the whole database.
#[test]
fn retried_open_after_a_failed_grandparent_sync_makes_the_directory_durable() {
    const NESTED: &str = "/x/db";
    let vfs = SimVfs::new(13, FaultConfig::default());
    // Open syncs `/x` (for `/x/db`), then `/` (for `/x`): fail the second.
    vfs.schedule_failure(2, false);
    assert!(Database::open_with(Arc::new(vfs.clone()), NESTED, config()).is_err());
    assert!(!vfs.failure_pending(), "the sync of / failed");
    assert!(
        synced_write_survives_a_crash(&vfs, NESTED),
        "a synced write vanished with its grandparent directory"
    );
}

/// Seed 174 (issue 26): an open truncated a torn WAL tail, and the fsync
/// after the truncation failed (the kernel dropped the change: fsyncgate),
/// so the open failed. The retried open saw the file already cut (the
/// length reads as truncated) and did not cut it again; its sync then had
/// nothing to write, and the torn bytes came back at the next crash, by
/// then in a sealed segment: corruption, and the database no longer
/// opened. Every open now cuts the last segment after its last record
/// before it syncs it.
#[test]
fn seed_174_a_torn_tail_cut_whose_fsync_failed_stays_cut_after_the_next_crash() {
    use kausal_vfs::testing::{HookVfs, OpKind};

    let vfs = disk(174);
    let engine = open(&vfs);
    engine.put_block(&block(1)).expect("put");
    engine.sync().expect("sync");
    drop(engine);
    // A torn record after the log's end, durable (what a crash leaves when
    // part of an unsynced record reached the disk).
    let segment = Path::new(DIR).join(
        vfs.list_dir(Path::new(DIR))
            .expect("list")
            .into_iter()
            .filter(|name| name.starts_with("wal-"))
            .max()
            .expect("a segment"),
    );
    let mut file = vfs.open_file(&segment).expect("open segment");
    file.write_at(4096, &[0xa5; 64]).expect("write");
    file.sync_data().expect("sync");
    drop(file);
    vfs.crash();
    let vfs = vfs.restart();

    // The open cuts the torn tail; the fsync right after that cut fails the
    // way a kernel fails it (SimVfs drops the pending change).
    let inner = vfs.clone();
    let armed = std::sync::atomic::AtomicBool::new(false);
    let hooked = HookVfs::new(Arc::new(vfs.clone()), move |op| {
        use std::sync::atomic::Ordering::SeqCst;
        if op.kind == OpKind::SetLen && op.path.starts_with(DIR) {
            armed.store(true, SeqCst);
            inner.set_faults(FaultConfig {
                sync_error: 1.0,
                ..FaultConfig::default()
            });
        } else if armed.swap(false, SeqCst) {
            // The operation after the cut (its fsync) has been let through.
        } else {
            inner.set_faults(FaultConfig::default());
        }
        Ok(())
    });
    assert!(
        Database::open_with(Arc::new(hooked), DIR, config()).is_err(),
        "the fsync after the cut failed"
    );
    vfs.set_faults(FaultConfig::default());

    // The retried open succeeds; writes fill later segments and are synced.
    let engine = open(&vfs);
    for n in 2..=40 {
        engine.put_block(&block(n)).expect("put");
        engine.sync().expect("sync");
    }
    drop(engine);
    vfs.crash();
    let vfs = vfs.restart();
    let engine = Database::open_with(Arc::new(vfs.clone()), DIR, config())
        .unwrap_or_else(|error| panic!("the torn bytes came back: {error}"));
    let snapshot = engine.snapshot();
    for n in 1..=40 {
        assert!(
            snapshot
                .find_block(BlockId::from_u128(n))
                .expect("find")
                .is_some(),
            "synced block {n} lost"
        );
    }
}
