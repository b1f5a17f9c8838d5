//! A rotation leaves the old segment unsynced (retired) and whoever writes
//! the first bytes of the next segment fsyncs it first: the writer inline,
//! or the WAL flusher thread, which also never writes a later buffer after
//! that fsync failed.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, Vfs, VfsError};

use super::writer::WalWriter;

const SEGMENT_BYTES: u64 = 64 * 1024;

/// (operation, segment id, name of the thread that ran it), for writes and
/// fsyncs of WAL segments, once armed (the creation of segment 1 syncs it).
#[derive(Clone, Default)]
struct Log {
    entries: Arc<Mutex<Vec<(OpKind, u64, String)>>>,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

impl Log {
    fn arm(&self) {
        self.entries.lock().unwrap().clear();
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(OpKind, u64, String)>> {
        self.entries.lock().unwrap()
    }
}

fn segment_id(path: &Path) -> Option<u64> {
    match crate::files::classify_path(path) {
        Some(crate::files::FileKind::WalSegment { id }) => Some(id),
        _ => None,
    }
}

/// A VFS that logs segment writes and fsyncs, failing the fsyncs of
/// segment `fail_sync_of` (if any).
fn logging_vfs(log: &Log, fail_sync_of: Option<u64>) -> Arc<dyn Vfs> {
    let log = log.clone();
    Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        let Some(id) = segment_id(op.path) else {
            return Ok(());
        };
        if !log.armed.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        if matches!(op.kind, OpKind::Write | OpKind::SyncData) {
            let thread = std::thread::current().name().unwrap_or("").to_string();
            log.lock().push((op.kind, id, thread));
        }
        if op.kind == OpKind::SyncData && fail_sync_of == Some(id) {
            return Err(VfsError::new(
                op.kind.name(),
                op.path,
                std::io::Error::other("injected"),
            ));
        }
        Ok(())
    }))
}

fn append(wal: &mut WalWriter, byte: u8) {
    wal.append(100, |buffer| buffer.extend_from_slice(&[byte; 100]))
        .unwrap();
}

/// The position in `log` of the first `kind` of segment `id`.
fn first(log: &Log, kind: OpKind, id: u64) -> Option<usize> {
    log.lock()
        .iter()
        .position(|(k, segment, _)| *k == kind && *segment == id)
}

#[test]
fn a_rotation_leaves_the_old_segment_to_the_next_write_which_syncs_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    // No buffer and no flusher: every record goes to the file inline.
    let mut wal = WalWriter::create(
        logging_vfs(&log, None),
        dir.path(),
        1,
        SEGMENT_BYTES,
        0,
        false,
    )
    .unwrap();
    append(&mut wal, 1);
    assert!(wal.spare().prepare().unwrap());
    log.arm();
    assert_eq!(wal.rotate().unwrap(), 2);
    assert!(log.lock().is_empty(), "the rotation wrote or synced");
    assert!(wal.has_retired());
    append(&mut wal, 2);
    let ops: Vec<(OpKind, u64)> = log.lock().iter().map(|(k, id, _)| (*k, *id)).collect();
    assert_eq!(ops, vec![(OpKind::SyncData, 1), (OpKind::Write, 2)]);
    assert!(!wal.has_retired());
    // A sync covers a retired segment too, even with nothing buffered.
    assert!(wal.spare().prepare().unwrap());
    wal.rotate().unwrap();
    log.arm();
    wal.sync().unwrap();
    let ops: Vec<(OpKind, u64)> = log.lock().iter().map(|(k, id, _)| (*k, *id)).collect();
    assert_eq!(ops, vec![(OpKind::SyncData, 2), (OpKind::SyncData, 3)]);
}

#[test]
fn the_flusher_syncs_the_retired_segment_before_the_next_one_gets_a_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let mut wal = WalWriter::create(
        logging_vfs(&log, None),
        dir.path(),
        1,
        SEGMENT_BYTES,
        4096,
        true,
    )
    .unwrap();
    // 128-byte records: several buffers of 4 KiB handed to the flusher.
    for byte in 0..100 {
        append(&mut wal, byte);
    }
    // Armed once the spare (segment 2, header written and synced) exists.
    assert!(wal.spare().prepare().unwrap());
    log.arm();
    assert_eq!(wal.rotate().unwrap(), 2);
    for byte in 0..100 {
        append(&mut wal, byte);
    }
    wal.write_buffer().unwrap();
    let sync = first(&log, OpKind::SyncData, 1).expect("segment 1 was synced");
    let write = first(&log, OpKind::Write, 2).expect("segment 2 was written");
    assert!(
        sync < write,
        "segment 2 got a byte before segment 1 was durable"
    );
    let entries = log.lock().clone();
    assert_eq!(
        entries[sync].2, "kausal-wal",
        "the flusher thread synced it"
    );
    assert_eq!(
        entries
            .iter()
            .filter(|(k, id, _)| *k == OpKind::SyncData && *id == 1)
            .count(),
        1
    );
}

#[test]
fn after_a_failed_sync_of_the_retired_segment_the_flusher_writes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let mut wal = WalWriter::create(
        logging_vfs(&log, Some(1)),
        dir.path(),
        1,
        SEGMENT_BYTES,
        4096,
        true,
    )
    .unwrap();
    for byte in 0..100 {
        append(&mut wal, byte);
    }
    assert!(wal.spare().prepare().unwrap());
    log.arm();
    wal.rotate().unwrap();
    // The failure reaches the writer at a hand-off once the flusher met it
    // (whenever that is), or at the drain at the latest.
    let mut failed = false;
    for byte in 0..100 {
        if wal
            .append(100, |buffer| buffer.extend_from_slice(&[byte; 100]))
            .is_err()
        {
            failed = true;
            break;
        }
    }
    assert!(
        failed || wal.write_buffer().is_err(),
        "the failed fsync reaches the writer"
    );
    assert!(first(&log, OpKind::SyncData, 1).is_some());
    assert_eq!(
        first(&log, OpKind::Write, 2),
        None,
        "a byte reached segment 2 although segment 1 is not durable"
    );
}

#[test]
fn a_rotation_writes_a_small_last_buffer_itself_when_the_flusher_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let mut wal = WalWriter::create(
        logging_vfs(&log, None),
        dir.path(),
        1,
        SEGMENT_BYTES,
        1024 * 1024,
        true,
    )
    .unwrap();
    // Under the buffer limit: nothing was ever handed to the flusher.
    for byte in 0..10 {
        append(&mut wal, byte);
    }
    assert!(wal.spare().prepare().unwrap());
    log.arm();
    wal.rotate().unwrap();
    let entries = log.lock().clone();
    let this = std::thread::current().name().unwrap_or("").to_string();
    assert_eq!(
        entries,
        vec![(OpKind::Write, 1, this)],
        "written on the rotating thread, not fsynced"
    );
    assert!(wal.has_retired());
}
