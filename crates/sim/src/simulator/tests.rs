//! Tests of the simulator: whole seeds, and the corruption verdict.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::vfs::BitFlip;

fn flip(path: &str, offset: u64) -> BitFlip {
    BitFlip {
        path: PathBuf::from(path),
        offset,
        bit: 3,
    }
}

#[test]
fn runs_check_read_only_opens_after_crashes() {
    let opens: u64 = (0..4)
        .map(|seed| run_seed(&SimOptions::standard(seed, 400)))
        .inspect(|report| assert!(report.failure().is_none(), "{report:?}"))
        .map(|report| report.read_only_opens)
        .sum();
    assert!(opens > 0, "no read-only open was checked");
}

#[test]
fn runs_flush_by_steps_and_check_snapshots_across_background_work() {
    let mut stats = SimStats::default();
    for seed in 0..8 {
        let report = run_seed(&SimOptions::standard(seed, 500));
        assert!(report.failure().is_none(), "{report:?}");
        stats.add(&report.stats);
    }
    assert!(stats.step_flushes > 0, "{stats:?}");
    assert!(stats.step_flushes > stats.stall_flushes, "{stats:?}");
    assert!(stats.step_failures_fired > 0, "{stats:?}");
    assert!(stats.snapshot_checks_across_changes > 0, "{stats:?}");
}

#[test]
fn corruption_counts_as_detected_only_in_a_flipped_file_and_for_wal_at_or_before_the_flip() {
    let wal = "/db/wal-00000000000000000007.log";
    let flips = [flip(wal, 500), flip("/db/t-00000000000000000001.sst", 90)];
    // The record holding the flipped byte, or an earlier one, is named.
    assert!(judge_corruption(Path::new(wal), 480, &flips).is_ok());
    assert!(judge_corruption(Path::new(wal), 500, &flips).is_ok());
    // A report after the damage blames intact synced data.
    assert!(judge_corruption(Path::new(wal), 501, &flips).is_err());
    // Another segment, with no flip, must open.
    assert!(judge_corruption(Path::new("/db/wal-00000000000000000008.log"), 24, &flips).is_err());
    // Tables report section offsets; any offset in a flipped table counts.
    assert!(judge_corruption(Path::new("/db/t-00000000000000000001.sst"), 4000, &flips).is_ok());
    assert!(judge_corruption(Path::new("/db/MANIFEST"), 20, &flips).is_err());
}
