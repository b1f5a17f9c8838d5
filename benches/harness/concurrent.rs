//! The concurrent engine's rows (group `concurrent`): the write tail under
//! a sustained load that crosses flushes and compactions, reads while a
//! flush and a compaction run on the background worker, group commit
//! (fsynced puts from 1 and 4 threads) and read scaling (1 and 2 threads).
//!
//! Multi-threaded rows time each operation on its own thread into its own
//! histogram; the row merges them, and its ops/s is all threads' operations
//! over the wall-clock time from a common start. Allocations are counted
//! across all threads.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kausal_benches::{block, power_law_edges};
use kausal_query::{EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::{BlockId, Config, Database, EdgeType, Metrics, SyncMode, WriteBatch};
use kausal_vfs::OsVfs;

use crate::alloc;
use crate::report::{Row, Target, latency_histogram, measure, time_groups};
use crate::workloads::{SUSTAINED_PUTS_PER_MIB, Scale};

/// Queries per snapshot in the read rows (a server takes one per request
/// or batch, not one per lookup).
const QUERIES_PER_SNAPSHOT: usize = 1_000;
const TRAVERSALS_PER_SNAPSHOT: usize = 50;
/// Lookups timed together (see `report::measure`).
const GROUP: usize = 16;
/// Longest wait for the background flush and compaction of the read row.
const BACKGROUND_DEADLINE: Duration = Duration::from_secs(120);

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn open(dir: &Path, config: Config) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open engine")
}

/// The default configuration (background worker, auto-compaction) with
/// buffered writes and the given memtable budget.
fn sustained_config(memtable_bytes: usize) -> Config {
    Config::builder()
        .memtable_budget_bytes(memtable_bytes)
        .sync_mode(SyncMode::Manual)
        .build()
}

/// What the background did between two metric readings, for row notes.
fn background_note(before: &Metrics, after: &Metrics) -> String {
    format!(
        "during the row: {} flushes, {} compactions, {} write stalls ({:.1} ms stalled in all), \
         {} write pauses ({:.1} ms)",
        after.flushes - before.flushes,
        after.compactions - before.compactions,
        after.write_stalls - before.write_stalls,
        (after.write_stall_micros - before.write_stall_micros) as f64 / 1e3,
        after.write_pauses - before.write_pauses,
        (after.write_pause_micros - before.write_pause_micros) as f64 / 1e3
    )
}

/// CPU time this process has used (user + system), from /proc; None where
/// there is no /proc.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces); utime and
    // stime are the 14th and 15th fields, in clock ticks (100 per second).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `work(thread, histogram)` on `threads` threads released together;
/// returns the row over all of them (`ops` operations in all). Its note
/// says how many cores the process kept busy meanwhile: on a loaded
/// machine, threads that find no free core cannot scale.
fn run_threads(
    name: &str,
    threads: usize,
    ops: usize,
    work: impl Fn(usize, &mut Histogram<u64>) + Sync,
) -> Row {
    let start = Barrier::new(threads + 1);
    let (allocations_before, bytes_before) = alloc::snapshot();
    let cpu_before = process_cpu_seconds();
    let (histogram, seconds) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (start, work) = (&start, &work);
                scope.spawn(move || {
                    let mut histogram = latency_histogram();
                    start.wait();
                    work(thread, &mut histogram);
                    histogram
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        let mut merged = latency_histogram();
        for handle in handles {
            merged
                .add(handle.join().expect("benchmark thread"))
                .expect("same histogram bounds");
        }
        (merged, started.elapsed().as_secs_f64())
    });
    let (allocations_after, bytes_after) = alloc::snapshot();
    let row = Row::from_histogram(
        name,
        ops as u64,
        seconds,
        &histogram,
        (
            allocations_after - allocations_before,
            bytes_after - bytes_before,
        ),
    );
    match (cpu_before, process_cpu_seconds()) {
        (Some(before), Some(after)) => {
            let cpu = (after - before).max(0.01);
            row.note(format!(
                "process CPU {cpu:.2} s in {seconds:.2} s: {:.2} cores busy, {} ops per CPU second",
                cpu / seconds.max(1e-9),
                crate::report::format_rate(ops as f64 / cpu)
            ))
        }
        _ => row,
    }
}

pub fn rows(scale: &Scale, dir: &Path, progress: &dyn Fn(&str)) -> Vec<Row> {
    let mut rows = vec![sustained_puts(scale, dir)];
    progress("concurrent: find_block while a flush and a compaction run");
    rows.extend(reads_under_background_work(scale, dir));
    progress("concurrent: fsynced puts from 1 and 4 threads");
    rows.extend(durable_puts(scale, dir));
    progress("concurrent: reads on 1 and 2 threads");
    rows.extend(parallel_reads(scale, dir));
    rows
}

/// put_block 1 KiB, buffered, one put timed at a time, for several
/// memtables' worth: the worker flushes and compacts behind the writer.
fn sustained_puts(scale: &Scale, dir: &Path) -> Row {
    let db = open(
        &dir.join("sustained"),
        sustained_config(scale.sustained_memtable_bytes),
    );
    let mut template = block(1, 1024);
    let before = db.metrics();
    let row = measure(
        &format!(
            "put_block 1KiB sustained ({} MiB memtables, flushing + compacting)",
            scale.sustained_memtable_bytes >> 20
        ),
        scale.sustained_puts,
        1,
        |i| {
            template.id = id(i as u128 + 1);
            db.put_block(&template).expect("put");
        },
    );
    let after = db.metrics();
    assert!(
        after.flushes - before.flushes >= 4,
        "the sustained load must cross several flushes"
    );
    row.target(Target::P999AtMostNs(30_000.0))
        .target(Target::MaxAtMostNs(5_000_000.0))
        .note(format!(
            "WAL buffered, default config otherwise (background worker, auto-compaction); \
             each put timed alone; {}",
            background_note(&before, &after)
        ))
}

/// find_block from three tables, idle and then while another thread fills
/// a memtable (its freeze makes the worker flush it, and the fourth table
/// makes a compaction of all four due); timed on this thread until the
/// compaction is installed.
fn reads_under_background_work(scale: &Scale, dir: &Path) -> Vec<Row> {
    let budget = scale.sustained_memtable_bytes;
    let db = open(&dir.join("background-reads"), sustained_config(budget));
    // Nine tenths of a memtable per table, so each `flush` makes one table.
    let per_table = (SUSTAINED_PUTS_PER_MIB * (budget >> 20)) * 9 / 10;
    let stored = (per_table * scale.background_read_tables) as u128;
    let mut template = block(1, 1024);
    for n in 1..=stored {
        template.id = id(n);
        db.put_block(&template).expect("put");
        if (n as usize).is_multiple_of(per_table) {
            db.flush().expect("flush");
        }
    }
    assert_eq!(db.metrics().sstable_count, scale.background_read_tables);
    // Warm the page cache.
    let snapshot = db.snapshot();
    for n in 1..=stored {
        assert!(snapshot.find_block(id(n)).expect("find").is_some());
    }
    drop(snapshot);

    let mut rng = fastrand::Rng::with_seed(23);
    let mut found = 0usize;
    let mut lookups = |histogram: &mut Histogram<u64>, count: usize| {
        let snapshot = db.snapshot();
        time_groups(histogram, count, 1, |_| {
            found += snapshot
                .find_block(id(rng.u128(1..=stored)))
                .expect("find")
                .map_or(0, |b| b.content.len());
        });
    };
    let mut rows = Vec::new();
    let idle_ops = scale.parallel_finds / 2;
    let mut histogram = latency_histogram();
    let started = Instant::now();
    for _ in 0..idle_ops / QUERIES_PER_SNAPSHOT {
        lookups(&mut histogram, QUERIES_PER_SNAPSHOT);
    }
    rows.push(
        Row::from_histogram(
            &format!("find_block ({} tables, idle)", scale.background_read_tables),
            (idle_ops / QUERIES_PER_SNAPSHOT * QUERIES_PER_SNAPSHOT) as u64,
            started.elapsed().as_secs_f64(),
            &histogram,
            (0, 0),
        )
        .note("each lookup timed alone (clock cost included); the baseline of the next row"),
    );

    let before = db.metrics();
    let writer_done = AtomicBool::new(false);
    let mut histogram = latency_histogram();
    let mut ops = 0usize;
    let (seconds, finished) = std::thread::scope(|scope| {
        let (db, writer_done) = (&db, &writer_done);
        scope.spawn(move || {
            // One memtable and a bit: the freeze hands a full memtable to
            // the worker, whose flush makes the fourth table.
            let mut template = block(1, 1024);
            let new = (SUSTAINED_PUTS_PER_MIB * (budget >> 20)) as u128 * 11 / 10;
            for n in 1..=new {
                template.id = id(stored + n);
                db.put_block(&template).expect("put");
            }
            writer_done.store(true, Ordering::Release);
        });
        let started = Instant::now();
        loop {
            lookups(&mut histogram, QUERIES_PER_SNAPSHOT);
            ops += QUERIES_PER_SNAPSHOT;
            if writer_done.load(Ordering::Acquire) {
                let now = db.metrics();
                if now.compactions > before.compactions && now.frozen_memtables == 0 {
                    return (started.elapsed().as_secs_f64(), true);
                }
            }
            if started.elapsed() > BACKGROUND_DEADLINE {
                return (started.elapsed().as_secs_f64(), false);
            }
        }
    });
    let after = db.metrics();
    assert!(found > 0);
    rows.push(
        Row::from_histogram(
            &format!(
                "find_block during a {} MiB flush + compaction",
                budget >> 20
            ),
            ops as u64,
            seconds,
            &histogram,
            (0, 0),
        )
        .target(Target::P99AtMostNs(10_000.0))
        .note(format!(
            "{} tables, page cache warm; another thread fills a memtable, then the worker \
             flushes it and compacts the four tables; timed until the compaction is installed{}; \
             one snapshot per {QUERIES_PER_SNAPSHOT} lookups; {}",
            scale.background_read_tables,
            if finished {
                ""
            } else {
                " (DEADLINE HIT: it was not)"
            },
            background_note(&before, &after)
        )),
    );
    rows
}

/// put_block 1 KiB with an fsync per write (`SyncMode::EveryWrite`) from
/// one thread and from four: group commit lets concurrent writers share an
/// fsync.
fn durable_puts(scale: &Scale, dir: &Path) -> Vec<Row> {
    let per_thread = scale.durable_puts_per_thread;
    let run = |threads: usize| -> Row {
        let db = open(
            &dir.join(format!("durable-{threads}")),
            Config::builder().sync_mode(SyncMode::EveryWrite).build(),
        );
        let before = db.metrics();
        let row = run_threads(
            &format!("put_block 1KiB fsync per write, {threads} thread(s)"),
            threads,
            threads * per_thread,
            |thread, histogram| {
                let mut template = block(1, 1024);
                time_groups(histogram, per_thread, 1, |i| {
                    template.id = id((thread as u128 + 1) * 1_000_000_000 + i as u128);
                    db.put_block(&template).expect("put");
                });
            },
        );
        let after = db.metrics();
        let writes = (threads * per_thread) as u64;
        row.add_note(format!(
            "{} fsyncs for {writes} writes ({} writers covered by another's fsync)",
            after.wal_syncs - before.wal_syncs,
            after.group_commit_followers - before.group_commit_followers
        ))
    };
    let one = run(1);
    let four = run(4)
        .target(Target::OpsPerSecondAtLeast {
            ops_per_second: 3.0 * one.ops_per_second(),
            what: "3x 1 thread",
        })
        .target(Target::P50AtMostNs(one.p50_ns));
    vec![one, four]
}

/// find_block and 3-hop BFS on one compacted table from 1 and 2 threads;
/// each thread takes a snapshot (and, for BFS, a `QueryEngine`) per batch.
fn parallel_reads(scale: &Scale, dir: &Path) -> Vec<Row> {
    let db = open(
        &dir.join("parallel-reads"),
        sustained_config(256 * 1024 * 1024),
    );
    let nodes = scale.graph_nodes;
    let mut template = block(1, 200);
    for chunk in (1..=nodes).collect::<Vec<_>>().chunks(1_000) {
        let mut batch = WriteBatch::new();
        for &n in chunk {
            template.id = id(n);
            batch.put_block(template.clone()).expect("batch");
        }
        db.write_batch(&batch).expect("write batch");
    }
    for chunk in power_law_edges(3, nodes, 5).chunks(1_000) {
        let mut batch = WriteBatch::new();
        for edge in chunk {
            batch.put_edge(*edge).expect("batch");
        }
        db.write_batch(&batch).expect("write batch");
    }
    db.flush().expect("flush");
    db.compact_all().expect("compact");
    let calls = EdgeTypeSet::of(&[EdgeType::Calls, EdgeType::Imports]);

    let finds = |threads: usize| {
        let per_thread = scale.parallel_finds;
        run_threads(
            &format!("find_block (one table), {threads} thread(s)"),
            threads,
            threads * per_thread,
            |thread, histogram| {
                let mut rng = fastrand::Rng::with_seed(31 + thread as u64);
                let mut found = 0usize;
                let mut done = 0;
                while done < per_thread {
                    let snapshot = db.snapshot();
                    let count = QUERIES_PER_SNAPSHOT.min(per_thread - done);
                    time_groups(histogram, count, GROUP, |_| {
                        found += snapshot
                            .find_block(id(rng.u128(1..=nodes)))
                            .expect("find")
                            .map_or(0, |b| b.content.len());
                    });
                    done += count;
                }
                assert!(found > 0);
            },
        )
    };
    let traversals = |threads: usize| {
        let per_thread = scale.parallel_traversals;
        run_threads(
            &format!("traversal 3-hop BFS, {threads} thread(s)"),
            threads,
            threads * per_thread,
            |thread, histogram| {
                let mut rng = fastrand::Rng::with_seed(37 + thread as u64);
                let mut reached = 0usize;
                let mut done = 0;
                while done < per_thread {
                    let snapshot = db.snapshot();
                    let queries = QueryEngine::new(&snapshot);
                    let count = TRAVERSALS_PER_SNAPSHOT.min(per_thread - done);
                    time_groups(histogram, count, 1, |_| {
                        let traversal = Traversal::new(vec![id(rng.u128(1..=nodes))])
                            .edge_types(calls)
                            .max_depth(3)
                            .max_results(10_000);
                        reached += queries.traverse(&traversal).expect("3-hop").nodes.len();
                    });
                    done += count;
                }
                assert!(reached > 0);
            },
        )
    };
    let scaled = |one: &Row, two: Row| {
        two.target(Target::OpsPerSecondAtLeast {
            ops_per_second: 1.7 * one.ops_per_second(),
            what: "1.7x 1 thread",
        })
    };
    let note = format!(
        "{nodes} blocks and their power-law edges compacted into one table, page cache warm; \
         each thread runs the same number of queries, with a snapshot per batch"
    );
    let one_find = finds(1).add_note(&note);
    let two_finds = scaled(&one_find, finds(2)).add_note(&note);
    let one_bfs = traversals(1).add_note(&note);
    let two_bfs = scaled(&one_bfs, traversals(2)).add_note(&note);
    vec![one_find, two_finds, one_bfs, two_bfs]
}
