//! SimVfs's process model: a power loss ends the process. Whatever a
//! thread of the old process still holds (a `Database` clone, its
//! background worker, a file handle) can change nothing that the next
//! process sees.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use kausal_sim::{FaultConfig, SimVfs};
use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};
use kausal_vfs::Vfs;

const DIR: &str = "/db";

fn config(worker: bool) -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(8 * 1024)
        .compaction_min_tables(2)
        .sync_mode(SyncMode::Manual)
        .background_worker(worker)
        .build()
}

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        BlockId::from_u128(n + 1),
        "src/a.rs",
        "{}",
        format!("fn f{n}() {{ /* {} */ }}", "x".repeat(200)),
    )
}

/// Every block id the database shows.
fn ids(db: &Database) -> Vec<BlockId> {
    db.snapshot()
        .iterate_blocks()
        .expect("iterate")
        .map(|view| view.expect("block").id)
        .collect()
}

/// What the old process's thread tried after the power loss.
#[derive(Debug, Default)]
struct ZombieOutcome {
    succeeded: Vec<&'static str>,
    attempted: usize,
}

#[test]
fn a_thread_holding_a_database_after_a_power_loss_changes_nothing_the_next_process_sees() {
    let sim = SimVfs::new(7, FaultConfig::default());
    sim.create_dir_all(Path::new(DIR)).expect("mkdir");
    sim.sync_dir(Path::new("/")).expect("sync /");
    // The old process: a worker thread, several tables, a synced prefix.
    let old = Database::open_with(Arc::new(sim.clone()), DIR, config(true)).expect("open");
    for n in 0..200 {
        old.put_block(&block(n)).expect("put");
    }
    old.sync().expect("sync");
    old.flush().expect("flush");
    old.compact_all().expect("compact");
    for n in 200..260 {
        old.put_block(&block(n)).expect("put");
    }
    old.flush().expect("flush");
    old.sync().expect("sync");

    // A thread of the old process waits for the word to write again.
    let (go, wait) = mpsc::channel::<()>();
    let zombie_db = old.clone();
    let zombie = std::thread::spawn(move || {
        wait.recv().expect("go");
        let mut outcome = ZombieOutcome::default();
        let mut attempt = |name: &'static str, result: bool| {
            outcome.attempted += 1;
            if result {
                outcome.succeeded.push(name);
            }
        };
        // Puts may be accepted into memory (the WAL buffers them); nothing
        // that would make them durable may succeed.
        for n in 1000..1100 {
            let _ = zombie_db.put_block(&block(n));
        }
        let _ = zombie_db.delete_block(BlockId::from_u128(3));
        attempt("sync", zombie_db.sync().is_ok());
        attempt("flush", zombie_db.flush().is_ok());
        attempt("compact_all", zombie_db.compact_all().is_ok());
        // The drop runs whatever shutdown work the engine does.
        drop(zombie_db);
        outcome
    });

    sim.crash();
    assert!(!sim.is_running(), "the power loss ended the process");
    let sim = sim.restart();
    let new = Database::open_with(Arc::new(sim.clone()), DIR, config(false)).expect("reopen");
    let recovered = ids(&new);
    assert_eq!(recovered.len(), 260, "every synced block is back");
    let ops_before = sim.mutating_ops();
    let files_before = sim.list_dir(Path::new(DIR)).expect("list");

    go.send(()).expect("go");
    let outcome = zombie.join().expect("zombie thread");
    drop(old);
    assert!(
        outcome.succeeded.is_empty(),
        "the old process wrote after the power loss: {:?} of {} attempts succeeded",
        outcome.succeeded,
        outcome.attempted
    );
    assert_eq!(
        sim.mutating_ops(),
        ops_before,
        "the old process reached the disk"
    );
    assert_eq!(sim.list_dir(Path::new(DIR)).expect("list"), files_before);
    assert_eq!(ids(&new), recovered, "the new process's view changed");

    // And what the next process finds after a clean reopen is the same.
    new.shutdown().expect("shutdown");
    let sim = sim.restart();
    let next = Database::open_with(Arc::new(sim.clone()), DIR, config(false)).expect("reopen");
    assert_eq!(ids(&next), recovered);
}

#[test]
fn restart_without_a_crash_is_a_killed_process_the_page_cache_survives() {
    let sim = SimVfs::new(8, FaultConfig::default());
    sim.create_dir_all(Path::new(DIR)).expect("mkdir");
    sim.sync_dir(Path::new("/")).expect("sync /");
    let old = Database::open_with(Arc::new(sim.clone()), DIR, config(false)).expect("open");
    for n in 0..20 {
        old.put_block(&block(n)).expect("put");
    }
    old.sync().expect("sync");
    let new_sim = sim.restart();
    assert!(!sim.is_running() && new_sim.is_running());
    // The old process's lock died with it: the new one opens.
    let new = Database::open_with(Arc::new(new_sim.clone()), DIR, config(false)).expect("open");
    assert!(ids(&new).len() >= 20, "synced blocks survive a kill");
    assert!(
        old.put_block(&block(99)).and_then(|_| old.sync()).is_err(),
        "the killed process cannot make a write durable"
    );
    drop(old);
    assert!(
        new.snapshot()
            .find_block(BlockId::from_u128(100))
            .expect("find")
            .is_none()
    );
}
