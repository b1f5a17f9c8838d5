//! The WAL segment created ahead of time (the spare) on SimVfs: a power
//! loss right after a background step readied it, with unsynced records of
//! the active segment reaching the disk in pieces, must recover a prefix
//! of the writes that holds every synced one, and accept the spare as a
//! segment with nothing written.

use std::path::Path;
use std::sync::Arc;

use kausal_sim::{FaultConfig, SimVfs};
use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};
use kausal_vfs::Vfs;

const DIR: &str = "/db";
/// Seeds per scenario: each picks how many writes are synced, how many are
/// not, and how the crash writes the unsynced pages back.
const SEEDS: u64 = 64;

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(256 * 1024)
        .wal_segment_bytes(8 * 1024)
        // Records go to the segment file at once: the crash decides which
        // of their pages reach the disk.
        .wal_buffer_bytes(0)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        // Background work runs where this test calls it.
        .background_worker(false)
        .build()
}

/// A disk whose unsynced pages a crash writes back in any order, some torn.
fn disk(seed: u64) -> SimVfs {
    let vfs = SimVfs::new(
        seed,
        FaultConfig {
            reordered_writeback: 0.7,
            torn_page: 0.3,
            torn_write: 0.5,
            ..FaultConfig::default()
        },
    );
    vfs.set_faults_enabled(false);
    vfs.create_dir_all(Path::new(DIR)).expect("mkdir");
    vfs.sync_dir(Path::new("/")).expect("sync /");
    vfs.set_faults_enabled(true);
    vfs
}

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n),
        "src/a.rs",
        "{}",
        format!("fn f{n}() {{ {} }}", "y".repeat(300)),
    )
}

/// Writes `synced` blocks and syncs, writes `unsynced` more, runs a
/// background step (which readies the spare), optionally writes `after`
/// more (some of which may rotate into the spare), loses power, reopens,
/// and checks that the blocks present are `1..=m` with every synced one
/// among them. Returns the recovery's empty segments.
fn crash_after_spare(seed: u64, synced: u128, unsynced: u128, after: u128) -> Vec<u64> {
    let vfs = disk(seed);
    let engine = Database::open_with(Arc::new(vfs.clone()), DIR, config()).expect("open");
    for n in 1..=synced {
        engine.put_block(&block(n)).expect("put");
    }
    engine.sync().expect("sync");
    for n in synced + 1..=synced + unsynced {
        engine.put_block(&block(n)).expect("put");
    }
    assert!(!engine.run_background_step().expect("step"), "seed {seed}");
    for n in synced + unsynced + 1..=synced + unsynced + after {
        engine.put_block(&block(n)).expect("put");
    }
    // Power off first: the old engine's drop cannot reach the disk.
    vfs.crash();
    drop(engine);
    let vfs = vfs.restart();
    let engine = Database::open_with(Arc::new(vfs), DIR, config())
        .unwrap_or_else(|error| panic!("seed {seed}: recovery failed: {error}"));
    let snapshot = engine.snapshot();
    let total = synced + unsynced + after;
    let present: Vec<bool> = (1..=total)
        .map(|n| {
            snapshot
                .find_block(BlockId::from_u128(n))
                .expect("find")
                .is_some()
        })
        .collect();
    let kept = present.iter().take_while(|here| **here).count();
    assert!(
        present[kept..].iter().all(|here| !here),
        "seed {seed}: not a prefix: {present:?}"
    );
    assert!(
        kept as u128 >= synced,
        "seed {seed}: lost synced writes: {kept} of {synced} kept"
    );
    engine.recovery_report().wal.empty_segments.clone()
}

/// The crash lands right after the spare was created: the log ends with
/// the active segment (its unsynced tail torn or not) and the empty spare.
#[test]
fn a_crash_right_after_the_spare_was_created_keeps_a_prefix_with_every_synced_write() {
    let mut spares_seen = 0;
    for seed in 0..SEEDS {
        let mut rng = fastrand::Rng::with_seed(seed);
        // Under 8 KiB of records: no rotation before the crash.
        let synced = rng.u128(1..=8);
        let unsynced = rng.u128(1..=8);
        let empty = crash_after_spare(seed, synced, unsynced, 0);
        if !empty.is_empty() {
            spares_seen += 1;
        }
    }
    // The spare's header and size were synced: it survives every crash.
    assert_eq!(spares_seen, SEEDS);
}

/// Writes after the step fill the active segment and rotate into the
/// spare, so the crash finds the spare holding unsynced records and the
/// segment before it synced whole (by the first write to the spare: a
/// rotation leaves it unsynced until then).
#[test]
fn a_crash_after_rotating_into_the_spare_keeps_a_prefix_with_every_synced_write() {
    for seed in 0..SEEDS {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x5a5a);
        let synced = rng.u128(1..=8);
        let unsynced = rng.u128(1..=8);
        // 24 blocks of ~350 B fill more than one 8 KiB segment.
        crash_after_spare(seed, synced, unsynced, 24);
    }
}
