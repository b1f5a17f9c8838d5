//! The spare segment: a rotation takes it without creating a file, and
//! replay accepts it (empty, pre-sized) after an active segment whose
//! unsynced tail a crash tore.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, Vfs};

use super::reader::{WalReplayReport, replay_segments};
use super::segment_path;
use super::writer::WalWriter;
use crate::{StorageError, StorageResult};

const SEGMENT_BYTES: u64 = 64 * 1024;

fn writer(vfs: Arc<dyn Vfs>, dir: &Path) -> WalWriter {
    // No buffer: every record goes to the file at once, as the crash image
    // below needs.
    WalWriter::create(vfs, dir, 1, SEGMENT_BYTES, 0, false).unwrap()
}

fn append(wal: &mut WalWriter, byte: u8) {
    wal.append(100, |buffer| buffer.extend_from_slice(&[byte; 100]))
        .unwrap();
}

fn replay(dir: &Path, ids: &[u64]) -> StorageResult<(WalReplayReport, Vec<u8>)> {
    let mut seen = Vec::new();
    let (report, _) = replay_segments(
        &OsVfs::new(),
        dir,
        ids,
        false,
        true,
        &|_| false,
        |_| {},
        |_, _, payload| {
            seen.push(payload[0]);
            Ok(())
        },
    )?;
    Ok((report, seen))
}

/// Segment 1 with records 1..=3 synced and record 4 written but torn by
/// a crash, then segment 2 created ahead of time by `prepare`: the state
/// a crash leaves right after the background step readied the spare.
#[test]
fn replay_accepts_an_empty_spare_after_a_torn_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    for byte in 1..=3 {
        append(&mut wal, byte);
    }
    wal.sync().unwrap();
    let (_, torn_at) = wal.position();
    append(&mut wal, 4);
    wal.write_buffer().unwrap();
    assert!(wal.spare().prepare().unwrap(), "the spare was created");
    assert_eq!(wal.spare().ready_id(), Some(2));
    drop(wal);
    // The crash tore record 4: half of its payload never reached the disk.
    let mut file = vfs.open_file(&segment_path(dir.path(), 1)).unwrap();
    file.write_at(torn_at + 64, &[0u8; 60]).unwrap();
    drop(file);
    // The spare is pre-sized: all zeros after its header.
    assert_eq!(
        vfs.open_file(&segment_path(dir.path(), 2))
            .unwrap()
            .len()
            .unwrap(),
        SEGMENT_BYTES
    );

    let (report, seen) = replay(dir.path(), &[1, 2]).unwrap();
    assert_eq!(seen, vec![1, 2, 3], "the synced prefix, nothing after it");
    let torn = report.torn_tail.expect("record 4 is a torn tail");
    assert_eq!(torn.file, segment_path(dir.path(), 1));
    assert_eq!(torn.offset, torn_at);
    assert_eq!(report.segments, vec![1, 2]);
    assert_eq!(report.empty_segments, vec![2]);
    assert!(report.removed_partial_segments.is_empty());
}

/// The same damage with no spare after it but a segment holding a record:
/// segment 1 was synced before segment 2 got records, so its damage is
/// corruption, as before the spare existed.
#[test]
fn damage_before_a_segment_with_records_is_still_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    append(&mut wal, 1);
    let (_, damaged_at) = wal.position();
    append(&mut wal, 2);
    assert!(wal.spare().prepare().unwrap());
    assert_eq!(wal.rotate().unwrap(), 2);
    append(&mut wal, 3);
    wal.sync().unwrap();
    drop(wal);
    let mut file = vfs.open_file(&segment_path(dir.path(), 1)).unwrap();
    file.write_at(damaged_at + 64, &[0u8; 60]).unwrap();
    drop(file);

    match replay(dir.path(), &[1, 2]) {
        Err(StorageError::Corruption { file, offset, .. }) => {
            assert_eq!(file, segment_path(dir.path(), 1));
            assert_eq!(offset, damaged_at);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

/// With the spare ready, a rotation creates no file and syncs no
/// directory on the writer's path: it switches to the spare.
#[test]
fn a_rotation_with_the_spare_ready_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let creates = Arc::new(AtomicUsize::new(0));
    let dir_syncs = Arc::new(AtomicUsize::new(0));
    let armed = Arc::new(Mutex::new(false));
    let (counted_creates, counted_syncs, is_armed) = (
        Arc::clone(&creates),
        Arc::clone(&dir_syncs),
        Arc::clone(&armed),
    );
    let vfs: Arc<dyn Vfs> = Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if *is_armed.lock().unwrap() {
            match op.kind {
                OpKind::Create => counted_creates.fetch_add(1, Ordering::SeqCst),
                OpKind::SyncDir => counted_syncs.fetch_add(1, Ordering::SeqCst),
                _ => 0,
            };
        }
        Ok(())
    }));
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    append(&mut wal, 1);
    assert!(wal.spare().prepare().unwrap());
    assert!(!wal.spare().prepare().unwrap(), "one spare at a time");
    *armed.lock().unwrap() = true;
    assert_eq!(wal.rotate().unwrap(), 2);
    append(&mut wal, 2);
    wal.sync().unwrap();
    assert_eq!(creates.load(Ordering::SeqCst), 0);
    assert_eq!(dir_syncs.load(Ordering::SeqCst), 0);
    // Without a spare the writer creates the segment itself, as before.
    assert_eq!(wal.rotate().unwrap(), 3);
    assert_eq!(creates.load(Ordering::SeqCst), 1);
    assert_eq!(dir_syncs.load(Ordering::SeqCst), 1);
    drop(wal);
    let (report, seen) = replay(dir.path(), &[1, 2, 3]).unwrap();
    assert_eq!(seen, vec![1, 2]);
    assert_eq!(report.empty_segments, vec![3]);
    assert!(report.torn_tail.is_none());
}

/// A record larger than the spare grows it before use.
#[test]
fn a_record_larger_than_the_spare_grows_it() {
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    append(&mut wal, 1);
    assert!(wal.spare().prepare().unwrap());
    let big = SEGMENT_BYTES as usize;
    wal.append(big, |buffer| buffer.resize(buffer.len() + big, 7))
        .unwrap();
    wal.sync().unwrap();
    assert_eq!(wal.segment_id(), 2, "the big record went to the spare");
    drop(wal);
    let (report, seen) = replay(dir.path(), &[1, 2]).unwrap();
    assert_eq!(seen, vec![1, 7]);
    assert!(report.torn_tail.is_none());
}

/// Once `presync_bytes` went to the active segment, `presync` fsyncs it
/// (through its own handle) and is not due again until as much more went
/// to it; `presync_due` tells the engine when to wake the worker.
#[test]
fn presync_fsyncs_the_active_segment_once_enough_went_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let syncs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&syncs);
    let vfs: Arc<dyn Vfs> = Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if op.kind == OpKind::SyncData {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }));
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    let spare = wal.spare();
    let step = spare.presync_bytes();
    assert_eq!(step, SEGMENT_BYTES / super::spare::WAL_PRESYNC_DIVISOR);
    let before = syncs.load(Ordering::SeqCst);
    assert!(!spare.presync().unwrap(), "nothing went to the segment yet");
    assert!(!wal.presync_due());
    // 128 bytes per record: just under `step`, then past it.
    let records = step / 128;
    for byte in 0..records - 1 {
        append(&mut wal, byte as u8);
    }
    assert!(!wal.presync_due());
    assert!(!spare.presync().unwrap());
    append(&mut wal, 0xee);
    assert!(wal.presync_due());
    assert!(!wal.presync_due(), "said once per step");
    assert!(spare.presync().unwrap());
    assert_eq!(syncs.load(Ordering::SeqCst), before + 1);
    assert!(!spare.presync().unwrap(), "not due again yet");
    assert_eq!(syncs.load(Ordering::SeqCst), before + 1);
    // A rotation starts counting afresh in the next segment.
    assert!(spare.prepare().unwrap());
    wal.rotate().unwrap();
    assert!(!spare.presync().unwrap());
}

/// Simulator seed 302: a bit rotted in the header of a spare never used
/// (synced bytes, so the simulated disk may flip them), after an active
/// segment whose unsynced tail the crash tore. The spare holds nothing, so
/// it is removed; it must not make the active segment count as sealed and
/// its torn tail as corruption.
#[test]
fn a_spare_with_a_rotted_header_holds_nothing_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut wal = writer(Arc::clone(&vfs), dir.path());
    append(&mut wal, 1);
    wal.sync().unwrap();
    let (_, torn_at) = wal.position();
    append(&mut wal, 2);
    wal.write_buffer().unwrap();
    assert!(wal.spare().prepare().unwrap());
    drop(wal);
    let mut file = vfs.open_file(&segment_path(dir.path(), 1)).unwrap();
    file.write_at(torn_at + 64, &[0u8; 60]).unwrap();
    drop(file);
    let spare = segment_path(dir.path(), 2);
    let mut file = vfs.open_file(&spare).unwrap();
    let mut byte = [0u8; 1];
    file.read_exact_at(16, &mut byte).unwrap();
    file.write_at(16, &[byte[0] ^ (1 << 6)]).unwrap();
    drop(file);

    let (report, seen) = replay(dir.path(), &[1, 2]).unwrap();
    assert_eq!(seen, vec![1]);
    assert_eq!(report.torn_tail.expect("record 2 is torn").offset, torn_at);
    assert_eq!(report.removed_partial_segments, vec![spare.clone()]);
    assert!(!vfs.exists(&spare).unwrap());
}
