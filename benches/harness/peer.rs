//! The fjall peer baseline: the same keys (16-byte block ids), the same
//! 1 KiB values and the same durability settings as the kausal rows.

use std::path::Path;

use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use kausal_benches::code_content;
use kausal_storage::BlockId;

use crate::report::{Row, format_ns, measure};
use crate::workloads::Scale;

fn key(n: u128) -> [u8; 16] {
    *BlockId::from_u128(n).as_bytes()
}

/// Runs put (buffered), put (fsync per write) and get (hit) on fjall.
pub fn run(scale: &Scale, dir: &Path) -> Vec<Row> {
    let value = code_content(1, 1024);
    let database = Database::builder(dir.join("fjall"))
        .open()
        .expect("open fjall");
    let keyspace = database
        .keyspace("blocks", KeyspaceCreateOptions::default)
        .expect("open keyspace");
    for n in 0..scale.puts / 10 {
        keyspace
            .insert(key(10_000_000 + n as u128), value.as_bytes())
            .expect("insert");
    }
    let mut rows = vec![measure(
        "put_block 1KiB (WAL buffered)",
        scale.puts,
        1,
        |i| {
            keyspace
                .insert(key(i as u128 + 1), value.as_bytes())
                .expect("insert");
        },
    )];
    rows.push(measure(
        "put_block 1KiB (fsync per write)",
        scale.sync_puts,
        1,
        |i| {
            keyspace
                .insert(key(i as u128 + 1), value.as_bytes())
                .expect("insert");
            database.persist(PersistMode::SyncData).expect("persist");
        },
    ));
    let mut rng = fastrand::Rng::with_seed(7);
    let mut found = 0usize;
    rows.push(measure(
        "find_block (memtable hit)",
        scale.lookups,
        16,
        |_| {
            let n = rng.u128(1..=scale.puts as u128);
            found += keyspace.get(key(n)).expect("get").map_or(0, |v| v.len());
        },
    ));
    assert!(found > 0);
    rows.iter_mut()
        .for_each(|row| row.note = "fjall 3 (same keys, values, durability)".into());
    rows
}

/// Prints kausal against fjall for the shared rows.
pub fn print_comparison(kausal: &[Row], fjall: &[Row]) {
    println!("peer baseline: fjall, same process, same workload");
    println!(
        "{:<36}  {:>10}  {:>10}  {:>12}  {:>12}  {:>18}",
        "operation", "kausal p50", "fjall p50", "kausal ops/s", "fjall ops/s", "kausal/fjall ops/s"
    );
    for peer in fjall {
        let Some(ours) = kausal.iter().find(|row| row.name == peer.name) else {
            continue;
        };
        println!(
            "{:<36}  {:>10}  {:>10}  {:>12.0}  {:>12.0}  {:>18.2}",
            peer.name,
            format_ns(ours.p50_ns),
            format_ns(peer.p50_ns),
            ours.ops_per_second(),
            peer.ops_per_second(),
            ours.ops_per_second() / peer.ops_per_second().max(1e-9)
        );
    }
}
