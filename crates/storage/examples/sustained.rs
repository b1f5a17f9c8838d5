//! The benchmark's sustained put row on its own (`--only concurrent`,
//! "put_block 1KiB sustained"): 688,128 buffered 1 KiB puts into 64 MiB
//! memtables with the background worker flushing and compacting behind
//! the writer, each put timed alone. Prints p50 to max, the write stalls,
//! and every put slower than `SLOW_NS` with what the engine did around it.
//! Builds only this crate, for profiling:
//!
//! `cargo run --release -p kausal-storage --example sustained -- [RUNS] [--cpu] [--buffered]`
//!
//! With `--buffered` it runs the `writes` group's buffered put row instead
//! (20,000 puts of warm-up, then 200,000 timed, into a 512 MiB memtable
//! that never flushes: only the WAL rotates).
//!
//! With `--cpu` each put also reads the thread's scheduler statistics
//! (`/proc/thread-self/schedstat`: time on a CPU and time waiting for one),
//! which adds about a microsecond per put but tells a put that worked (or
//! blocked) from one whose thread was preempted.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kausal_storage::{BlockId, Config, ContextBlock, Database, Metrics, SyncMode};
use kausal_vfs::OsVfs;

const MEMTABLE_BYTES: usize = 64 * 1024 * 1024;
/// The harness's `SUSTAINED_PUTS_PER_MIB` times 12 memtables of 64 MiB.
const PUTS: usize = 12 * 896 * 64;
/// Puts slower than this are listed.
const SLOW_NS: u64 = 1_000_000;
/// A 64 MiB memtable holds this many of these blocks: every put at a
/// multiple of it freezes the memtable (and rotates the WAL). Checked on
/// each such put; reported apart, since that was the slowest put.
const FREEZE_EVERY: usize = 57_605;

/// The row to run: (memtable bytes, warm-up puts, timed puts, compaction).
fn shape(buffered: bool) -> (usize, usize, usize, bool) {
    if buffered {
        (512 * 1024 * 1024, 20_000, 200_000, false)
    } else {
        (MEMTABLE_BYTES, 0, PUTS, true)
    }
}

fn open(dir: &Path, buffered: bool) -> Database {
    let (memtable_bytes, _, _, compact) = shape(buffered);
    let config = Config::builder()
        .memtable_budget_bytes(memtable_bytes)
        .sync_mode(SyncMode::Manual)
        .auto_compact(compact)
        .build();
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open")
}

/// The harness's `block(n, len)`.
fn block(n: u128, len: usize) -> ContextBlock {
    let unit = format!("fn f{n:x}(x: u64) -> u64 {{ x.wrapping_mul({n}) }}\n");
    let content = unit.repeat(len / unit.len() + 1)[..len].to_string();
    ContextBlock::new(
        BlockId::from_u128(n),
        format!("src/module_{}/file_{}.rs", n % 97, n % 1009),
        format!(r#"{{"name":"f{n}","kind":"function"}}"#),
        content,
    )
}

/// This thread's (ns on a CPU, ns waiting on a run queue).
struct SchedStat {
    file: File,
    buffer: [u8; 128],
}

impl SchedStat {
    fn open() -> Option<Self> {
        let file = File::open("/proc/thread-self/schedstat").ok()?;
        Some(Self {
            file,
            buffer: [0; 128],
        })
    }

    fn read(&mut self) -> (u64, u64) {
        let len = self.file.read_at(&mut self.buffer, 0).unwrap_or(0);
        let text = std::str::from_utf8(&self.buffer[..len]).unwrap_or("");
        let mut fields = text.split_whitespace().map(|f| f.parse().unwrap_or(0));
        (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
    }
}

struct Slow {
    put: usize,
    wall_ns: u64,
    cpu_ns: Option<(u64, u64)>,
    stalls: u64,
    segment_changed: bool,
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn run(dir: &Path, cpu: bool, buffered: bool) {
    let db = open(dir, buffered);
    let (_, warmup, puts, _) = shape(buffered);
    let mut template = block(1, 1024);
    for i in 0..warmup {
        template.id = BlockId::from_u128(10_000_000 + i as u128);
        db.put_block(&template).expect("put");
    }
    let mut sched = if cpu { SchedStat::open() } else { None };
    let mut latencies = Vec::with_capacity(puts);
    let mut slow = Vec::new();
    let mut freezes = Vec::new();
    let before = db.metrics();
    let mut last = before.clone();
    let started = Instant::now();
    for i in 0..puts {
        template.id = BlockId::from_u128(i as u128 + 1);
        let freezing = !buffered && i > 0 && i % FREEZE_EVERY == 0;
        let segment_before = freezing.then(|| db.metrics().wal_active_segment);
        let cpu_before = sched.as_mut().map(SchedStat::read);
        let put_started = Instant::now();
        db.put_block(&template).expect("put");
        let wall_ns = put_started.elapsed().as_nanos() as u64;
        let cpu_after = sched.as_mut().map(SchedStat::read);
        latencies.push(wall_ns);
        if let Some(segment) = segment_before {
            let rotated = db.metrics().wal_active_segment != segment;
            freezes.push((i, wall_ns, rotated));
        }
        if wall_ns >= SLOW_NS {
            let now = db.metrics();
            slow.push(Slow {
                put: i,
                wall_ns,
                cpu_ns: cpu_before
                    .zip(cpu_after)
                    .map(|(b, a)| (a.0 - b.0, a.1 - b.1)),
                stalls: now.write_stalls - last.write_stalls,
                segment_changed: now.wal_active_segment != last.wal_active_segment,
            });
            last = now;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = db.metrics();
    report(&mut latencies, &slow, &before, &after, seconds);
    let rotating: Vec<String> = freezes
        .iter()
        .map(|(i, ns, rotated)| {
            let mark = if *rotated { "" } else { " (no rotation)" };
            format!("{i}: {:.2} ms{mark}", *ns as f64 / 1e6)
        })
        .collect();
    println!("  freezing puts: {}", rotating.join(", "));
    db.shutdown().expect("shutdown");
}

fn report(latencies: &mut [u64], slow: &[Slow], before: &Metrics, after: &Metrics, seconds: f64) {
    latencies.sort_unstable();
    println!(
        "{} puts in {seconds:.2} s: p50 {} ns, p99 {:.1} us, p99.9 {:.1} us, max {:.2} ms; \
         {} flushes, {} compactions, {} stalls ({:.1} ms), {} pauses ({:.1} ms)",
        latencies.len(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99) as f64 / 1e3,
        percentile(latencies, 0.999) as f64 / 1e3,
        percentile(latencies, 1.0) as f64 / 1e6,
        after.flushes - before.flushes,
        after.compactions - before.compactions,
        after.write_stalls - before.write_stalls,
        (after.write_stall_micros - before.write_stall_micros) as f64 / 1e3,
        after.write_pauses - before.write_pauses,
        (after.write_pause_micros - before.write_pause_micros) as f64 / 1e3,
    );
    let over = |ns: u64| latencies.len() - latencies.partition_point(|&l| l < ns);
    println!(
        "  puts over 30 us: {}, over 100 us: {}, over 1 ms: {}, over 5 ms: {}",
        over(30_000),
        over(100_000),
        over(1_000_000),
        over(5_000_000)
    );
    for s in slow {
        let cpu = s.cpu_ns.map_or(String::new(), |(on_cpu, waiting)| {
            format!(
                " on cpu {:.2} ms, runnable {:.2} ms",
                on_cpu as f64 / 1e6,
                waiting as f64 / 1e6
            )
        });
        println!(
            "  put {:>7}: {:>8.2} ms{cpu}{}{}",
            s.put,
            s.wall_ns as f64 / 1e6,
            if s.stalls > 0 { ", stalled" } else { "" },
            if s.segment_changed {
                ", WAL rotated since the last slow put"
            } else {
                ""
            },
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cpu = args.iter().any(|a| a == "--cpu");
    let buffered = args.iter().any(|a| a == "--buffered");
    let runs: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1);
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("temp dir");
        run(dir.path(), cpu, buffered);
    }
}
