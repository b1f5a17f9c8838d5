//! Scenario: recovering a multi-segment WAL larger than the memtable budget,
//! a torn tail, and corruption in the middle of the log.

use std::path::Path;

use kausal_storage::{StorageError, SyncMode};
use kausal_tests::{
    block, content, id, open, scratch_dir, small_config, table_files, wal_records, wal_segments,
};

/// Writes `count` blocks of `len` bytes with a memtable budget large enough
/// that nothing is flushed, so everything lives only in the WAL.
fn write_wal_only(dir: &Path, count: u128, len: usize) {
    let config = small_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024 * 1024)
        // No worker, so no spare segment is readied ahead of time
        // (wal/spare.rs): the last segment is the one written.
        .background_worker(false)
        .build();
    let engine = open(dir, config);
    for n in 1..=count {
        engine.put_block(&block(n, len)).expect("put");
    }
    engine.sync().expect("sync");
    assert_eq!(engine.metrics().flushes, 0);
    drop(engine);
}

#[test]
fn wal_larger_than_memory_budget_recovers_by_flushing() {
    let (_guard, dir) = scratch_dir();
    write_wal_only(&dir, 600, 1000);
    let segments = wal_segments(&dir);
    assert!(segments.len() > 30, "{} segments", segments.len());
    // Reopen with a 64 KiB budget: ~600 KB of WAL cannot fit in memory.
    let engine = open(&dir, small_config());
    let report = engine.recovery_report();
    assert_eq!(report.records_applied, 600);
    assert!(report.flushes_during_replay >= 5, "{report:?}");
    assert!(report.wal.torn_tail.is_none());
    assert!(engine.metrics().memtable_bytes <= 64 * 1024 + 2048);
    let snapshot = engine.snapshot();
    for n in 1..=600u128 {
        let view = snapshot.find_block(id(n)).expect("find").expect("present");
        assert_eq!(view.content, content(n, 1000), "block {n}");
    }
    drop(snapshot);
    drop(engine);
    // Recovery wrote everything into tables and removed the old segments,
    // so a second recovery has nothing to replay.
    assert!(wal_segments(&dir).len() <= 2, "{:?}", wal_segments(&dir));
    let engine = open(&dir, small_config());
    assert_eq!(engine.recovery_report().records_applied, 0);
    assert_eq!(
        engine.snapshot().iterate_blocks().expect("read").count(),
        600
    );
}

/// Issue 26: a clean replay that fits the memtable keeps what it replayed
/// in the memtable and in the replayed segments (their unsynced part
/// written again and synced) instead of writing a table. A reopen before
/// the first flush replays them again; the first flush removes them.
#[test]
fn a_clean_replay_keeps_its_segments_until_the_first_flush() {
    let (_guard, dir) = scratch_dir();
    write_wal_only(&dir, 40, 1000);
    let written = wal_segments(&dir);
    assert!(written.len() >= 3, "{written:?}");
    let last = written.last().expect("a segment").clone();
    let (offset, len) = *wal_records(&last)
        .last()
        .expect("records in the last segment");
    let config = small_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024 * 1024)
        .build();
    let engine = open(&dir, config.clone());
    let report = engine.recovery_report().clone();
    assert!(report.replayed_segments_kept, "{report:?}");
    assert_eq!(report.records_applied, 40);
    assert_eq!(report.flushes_during_replay, 0);
    assert_eq!(engine.metrics().sstable_count, 0);
    assert!(table_files(&dir).is_empty());
    assert!(
        written.iter().all(|path| path.exists()),
        "replayed segments kept"
    );
    // The last one ends at its last record: its preallocated zeros are cut.
    let end = (offset + len).div_ceil(8) * 8;
    assert_eq!(std::fs::metadata(&last).expect("stat").len(), end as u64);
    for n in 41..=50u128 {
        engine.put_block(&block(n, 1000)).expect("put");
    }
    engine.sync().expect("sync");
    drop(engine);
    let engine = open(&dir, config.clone());
    let report = engine.recovery_report().clone();
    assert_eq!(report.records_applied, 50, "{report:?}");
    assert!(report.replayed_segments_kept);
    // A segment readied ahead of time held nothing and is gone.
    for id in &report.wal.empty_segments {
        assert!(!dir.join(format!("wal-{id:020}.log")).exists(), "{id}");
    }
    let snapshot = engine.snapshot();
    for n in 1..=50u128 {
        let view = snapshot.find_block(id(n)).expect("find").expect("present");
        assert_eq!(view.content, content(n, 1000), "block {n}");
    }
    drop(snapshot);
    engine.flush().expect("flush");
    assert!(wal_segments(&dir).len() <= 2, "{:?}", wal_segments(&dir));
    assert!(
        written.iter().all(|path| !path.exists()),
        "flushed segments removed"
    );
    drop(engine);
    let engine = open(&dir, config);
    assert_eq!(engine.recovery_report().records_applied, 0);
    assert_eq!(
        engine.snapshot().iterate_blocks().expect("read").count(),
        50
    );
}

#[test]
fn torn_tail_is_truncated_and_earlier_records_kept() {
    let (_guard, dir) = scratch_dir();
    write_wal_only(&dir, 40, 500);
    let last = wal_segments(&dir).pop().expect("a segment");
    // The last segment written by the engine may be an empty fresh one;
    // aim at the newest segment that holds records.
    let segment = wal_segments(&dir)
        .into_iter()
        .rev()
        .find(|path| !wal_records(path).is_empty())
        .expect("a segment with records");
    assert_eq!(segment, last, "records sit in the active segment");
    let records = wal_records(&segment);
    let (offset, len) = *records.last().expect("a record");
    // Tear the last record: keep its first half, zero the rest.
    let mut bytes = std::fs::read(&segment).expect("read");
    for byte in &mut bytes[offset + len / 2..offset + len] {
        *byte = 0;
    }
    std::fs::write(&segment, &bytes).expect("write");

    let engine = open(&dir, small_config());
    let torn = engine
        .recovery_report()
        .wal
        .torn_tail
        .clone()
        .expect("torn tail reported");
    assert_eq!(torn.offset, offset as u64);
    assert_eq!(torn.file, segment);
    assert_eq!(engine.recovery_report().records_applied, 39);
    for n in 1..=39u128 {
        assert!(
            engine.snapshot().find_block(id(n)).expect("find").is_some(),
            "block {n}"
        );
    }
    assert!(
        engine
            .snapshot()
            .find_block(id(40))
            .expect("find")
            .is_none()
    );
    drop(engine);
    // The tail was truncated, so the next open finds a clean log.
    let engine = open(&dir, small_config());
    assert!(engine.recovery_report().wal.torn_tail.is_none());
    assert_eq!(
        engine.snapshot().iterate_blocks().expect("read").count(),
        39
    );
}

#[test]
fn corruption_before_valid_records_is_an_error_naming_segment_and_offset() {
    let (_guard, dir) = scratch_dir();
    write_wal_only(&dir, 60, 1000);
    let segments = wal_segments(&dir);
    let first = &segments[0];
    let (offset, _) = wal_records(first)[1];
    let mut bytes = std::fs::read(first).expect("read");
    // Two damaged bits: one flipped bit would be repaired.
    bytes[offset + 20] ^= 0x40;
    bytes[offset + 21] ^= 0x01;
    std::fs::write(first, &bytes).expect("write");

    let error = kausal_storage::Database::open_with(
        std::sync::Arc::new(kausal_vfs::OsVfs::new()),
        &dir,
        small_config(),
    )
    .expect_err("mid-log corruption must not open silently");
    match &error {
        StorageError::Corruption {
            file,
            offset: at,
            reason,
        } => {
            assert_eq!(file, first);
            assert_eq!(*at, offset as u64);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    // Nothing was changed by the failed open: the segment is intact apart
    // from the damaged bits, and salvage mode can open it and report the loss.
    let salvage = small_config().into_builder().wal_salvage(true).build();
    let engine = open(&dir, salvage);
    let salvaged = &engine.recovery_report().wal.salvaged;
    assert_eq!(salvaged.len(), 1);
    assert_eq!(salvaged[0].file, *first);
    assert_eq!(salvaged[0].offset, offset as u64);
    assert!(engine.snapshot().find_block(id(1)).expect("find").is_some());
    assert!(
        engine
            .snapshot()
            .find_block(id(60))
            .expect("find")
            .is_some(),
        "later segments replayed"
    );
}

#[test]
fn corruption_in_last_segment_followed_by_records_is_not_a_torn_tail() {
    let (_guard, dir) = scratch_dir();
    let config = small_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024 * 1024)
        .wal_segment_bytes(1024 * 1024)
        .sync_mode(SyncMode::EveryWrite)
        // No worker: no spare segment after the one written.
        .background_worker(false)
        .build();
    let engine = open(&dir, config);
    for n in 1..=10u128 {
        engine.put_block(&block(n, 100)).expect("put");
    }
    drop(engine);
    let segment = wal_segments(&dir).pop().expect("segment");
    let records = wal_records(&segment);
    assert_eq!(records.len(), 10);
    let (offset, _) = records[4];
    let mut bytes = std::fs::read(&segment).expect("read");
    // Two damaged bits: one flipped bit would be repaired.
    bytes[offset + 30] ^= 1;
    bytes[offset + 33] ^= 4;
    std::fs::write(&segment, &bytes).expect("write");
    let error = kausal_storage::Database::open_with(
        std::sync::Arc::new(kausal_vfs::OsVfs::new()),
        &dir,
        small_config(),
    )
    .expect_err("corruption must be reported");
    assert!(
        matches!(error, StorageError::Corruption { ref file, .. } if *file == segment),
        "{error}"
    );
}

#[test]
fn crash_during_segment_creation_leaves_a_removable_empty_segment() {
    let (_guard, dir) = scratch_dir();
    write_wal_only(&dir, 5, 100);
    // A crash after creating the next segment's file but before its header
    // was durable leaves a prefix of the header followed by zeros.
    let next = dir.join("wal-00000000000000009999.log");
    let mut torn = b"KAUSWAL1\x02\0".to_vec();
    torn.resize(100, 0);
    std::fs::write(&next, torn).expect("write");
    let engine = open(&dir, small_config());
    assert_eq!(
        engine.recovery_report().wal.removed_partial_segments,
        vec![next]
    );
    assert_eq!(engine.snapshot().iterate_blocks().expect("read").count(), 5);
}
