//! The benchmark's recovery row on its own: a WAL of N put_block records
//! (the harness's `bulk` group: buffered, 1 GiB memtable, never flushed),
//! then timed opens of copies of it (replay, then the recovered state
//! written into a fresh table). Builds only this crate, for profiling:
//!
//! `cargo run --release -p kausal-storage --example recovery -- [RECORDS] [RUNS] [TEMPLATE]`
//!
//! With TEMPLATE, the WAL is written there once and reused by later runs
//! (so that a profile of a run shows the opens alone).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};
use kausal_vfs::OsVfs;

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(1024 * 1024 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build()
}

fn open(dir: &Path) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, config()).expect("open")
}

/// The harness's `code_content`.
fn code_content(seed: u64, len: usize) -> String {
    let unit = format!("fn f{seed:x}(x: u64) -> u64 {{ x.wrapping_mul({seed}) }}\n");
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let records: u128 = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("RECORDS"));
    let runs: usize = args.next().map_or(3, |n| n.parse().expect("RUNS"));
    let root = tempfile::tempdir().expect("tempdir");
    let template = args
        .next()
        .map_or_else(|| root.path().join("template"), Into::into);
    if template.exists() {
        run(&template, root.path(), records, runs);
        return;
    }
    let engine = open(&template);
    let n = 1u128;
    let mut small = ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/module_{}/file_{}.rs", n % 97, n % 1009),
        format!(r#"{{"name":"f{n}","kind":"function"}}"#),
        code_content(1, 64),
    );
    for n in 1..=records {
        small.id = BlockId::from_u128(n);
        engine.put_block(&small).expect("put");
    }
    engine.sync().expect("sync");
    let wal_bytes = engine.metrics().wal_bytes_appended;
    drop(engine);
    println!("{records} records, {wal_bytes} WAL bytes");
    run(&template, root.path(), records, runs);
}

/// Times `runs` opens, each of a fresh copy of `template`.
fn run(template: &Path, root: &Path, records: u128, runs: usize) {
    for run in 0..runs {
        let dir = root.join(format!("run{run}"));
        copy_dir(template, &dir);
        let started = Instant::now();
        let engine = open(&dir);
        let seconds = started.elapsed().as_secs_f64();
        let report = engine.recovery_report();
        assert_eq!(
            report.records_applied, records as u64,
            "every record replayed"
        );
        println!(
            "run {run}: {seconds:.3} s (flushes {}, segments kept {})",
            report.flushes_during_replay, report.replayed_segments_kept
        );
        drop(engine);
        std::fs::remove_dir_all(&dir).expect("remove copy");
    }
}
