//! Several threads write durably while readers hold snapshots: writers that
//! need an fsync at the same time share one (group commit), a full memtable
//! is flushed by the background worker, and a snapshot keeps answering as
//! of the moment it was taken.
//!
//! `cargo run -p kausal-storage --example concurrent`

use std::thread;

use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};

const WRITERS: u128 = 4;
const BLOCKS_PER_WRITER: u128 = 500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = Config::builder()
        .sync_mode(SyncMode::EveryWrite) // every put is fsynced before it returns
        .memtable_budget_bytes(256 * 1024) // small, so the worker flushes
        .build();
    let db = Database::open_with(
        std::sync::Arc::new(kausal_vfs::OsVfs::new()),
        dir.path(),
        config,
    )?;

    let before = db.snapshot();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let db = db.clone();
            thread::spawn(move || -> Result<(), kausal_storage::StorageError> {
                for n in 0..BLOCKS_PER_WRITER {
                    let id = BlockId::from_u128(1 + writer * BLOCKS_PER_WRITER + n);
                    let content = format!("fn f{id}() {{ {} }}", "x".repeat(400));
                    db.put_block(&ContextBlock::new(id, "src/gen.rs", "{}", content))?;
                }
                Ok(())
            })
        })
        .collect();
    for writer in writers {
        writer.join().map_err(|_| "writer panicked")??;
    }

    let after = db.snapshot();
    println!(
        "snapshot taken before the writes sees {} blocks; one taken after sees {}",
        before.iterate_blocks()?.count(),
        after.iterate_blocks()?.count()
    );
    let metrics = db.metrics();
    println!(
        "{} durable puts took {} fsyncs ({} writes rode on another writer's fsync); \
         {} flushes, {} write stalls",
        metrics.blocks_written,
        metrics.wal_syncs,
        metrics.group_commit_followers,
        metrics.flushes,
        metrics.write_stalls
    );
    drop((before, after));
    db.shutdown()?;
    Ok(())
}
