//! Scenario: a crash at every record boundary and in the middle of every
//! record of a multi-segment WAL, after a sync point. Each crash state is
//! built on disk (the segment cut at that byte, later segments never
//! written), then opened: every synced record survives, every record wholly
//! before the cut survives, nothing after it appears.

use std::path::{Path, PathBuf};

use kausal_tests::{
    block, content, copy_dir, id, open, scratch_dir, small_config, wal_records, wal_segments,
};

const BLOCKS: u128 = 90;
const SYNCED: u128 = 40;

/// Builds a WAL of `BLOCKS` single-block records over several segments,
/// synced after block `SYNCED`; returns the pristine directory.
fn build_wal() -> (tempfile::TempDir, PathBuf) {
    let (guard, dir) = scratch_dir();
    let config = small_config()
        .into_builder()
        .memtable_budget_bytes(16 * 1024 * 1024)
        .wal_segment_bytes(6 * 1024)
        .build();
    let engine = open(&dir, config);
    for n in 1..=BLOCKS {
        engine.put_block(&block(n, 400)).expect("put");
        if n == SYNCED {
            engine.sync().expect("sync");
        }
    }
    drop(engine); // best-effort sync: every record is in the files
    (guard, dir)
}

/// Every record in log order: (segment index, offset, length).
fn all_records(dir: &Path) -> Vec<(usize, usize, usize)> {
    wal_segments(dir)
        .iter()
        .enumerate()
        .flat_map(|(segment, path)| {
            wal_records(path)
                .into_iter()
                .map(move |(offset, len)| (segment, offset, len))
        })
        .collect()
}

#[test]
fn crash_at_every_record_boundary_and_mid_record() {
    let (_guard, pristine) = build_wal();
    let segments = wal_segments(&pristine);
    assert!(segments.len() >= 4, "{} segments", segments.len());
    let records = all_records(&pristine);
    assert_eq!(records.len(), BLOCKS as usize, "one record per put");
    let synced_end = {
        let (segment, offset, len) = records[SYNCED as usize - 1];
        (segment, offset + len)
    };
    let scratch = tempfile::tempdir().expect("scratch");
    let mut cases = 0;
    for (index, (segment, offset, len)) in records.iter().copied().enumerate() {
        for (cut, whole_records) in [
            (offset, index),
            (offset + len / 2, index),
            (offset + len, index + 1),
        ] {
            if (segment, cut) < synced_end {
                continue; // not a possible crash state: those bytes were synced
            }
            cases += 1;
            let dir = scratch.path().join(format!("case-{cases}"));
            copy_dir(&pristine, &dir);
            let names = wal_segments(&dir);
            for later in &names[segment + 1..] {
                std::fs::remove_file(later).expect("remove later segment");
            }
            let mut bytes = std::fs::read(&names[segment]).expect("read");
            for byte in &mut bytes[cut..] {
                *byte = 0;
            }
            std::fs::write(&names[segment], &bytes).expect("write");

            let engine = open(&dir, small_config());
            let snapshot = engine.snapshot();
            for n in 1..=BLOCKS {
                let found = snapshot.find_block(id(n)).expect("find");
                if n as usize <= whole_records {
                    let view = found.unwrap_or_else(|| {
                        panic!("cut at {cut} of segment {segment}: block {n} lost")
                    });
                    assert_eq!(view.content, content(n, 400));
                } else {
                    assert!(
                        found.is_none(),
                        "cut at {cut} of segment {segment}: block {n} appeared"
                    );
                }
            }
            let torn = engine.recovery_report().wal.torn_tail.is_some();
            assert_eq!(
                torn,
                cut == offset + len / 2,
                "torn tail reported only for a mid-record cut"
            );
        }
    }
    assert!(cases >= 100, "{cases} crash states checked");
}
