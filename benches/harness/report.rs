//! Rows of the benchmark table: measuring, printing, JSON output and
//! comparison with a saved baseline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::alloc;

/// A target a row must meet.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    P50AtMostNs(f64),
    P99AtMostNs(f64),
    P999AtMostNs(f64),
    /// No single operation slower than this.
    MaxAtMostNs(f64),
    /// Throughput at least `ops_per_second` (a multiple of another row's,
    /// fixed when the row is built; `what` names it, e.g. "3x 1 thread").
    OpsPerSecondAtLeast {
        ops_per_second: f64,
        what: &'static str,
    },
    SecondsAtMost(f64),
    AllocationsPerOpAtMost(f64),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::P50AtMostNs(ns) => format!("p50<={}", format_ns(*ns)),
            Target::P99AtMostNs(ns) => format!("p99<={}", format_ns(*ns)),
            Target::P999AtMostNs(ns) => format!("p99.9<={}", format_ns(*ns)),
            Target::MaxAtMostNs(ns) => format!("max<={}", format_ns(*ns)),
            Target::OpsPerSecondAtLeast {
                ops_per_second,
                what,
            } => format!("ops/s>={} ({what})", format_rate(*ops_per_second)),
            Target::SecondsAtMost(s) => format!("<={s}s"),
            Target::AllocationsPerOpAtMost(a) => format!("allocs<={a}"),
        }
    }
}

/// One measured operation.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub ops: u64,
    pub seconds: f64,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub p999_ns: f64,
    /// The slowest operation (of a timed group's mean, for grouped rows).
    pub max_ns: f64,
    pub allocations_per_op: f64,
    pub bytes_per_op: f64,
    /// MB/s for bulk rows (flush, compaction).
    pub megabytes_per_second: Option<f64>,
    pub targets: Vec<Target>,
    pub note: String,
}

impl Row {
    pub fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-12)
    }

    /// Whether every target holds (`None` when the row has none).
    pub fn targets_met(&self) -> Option<bool> {
        if self.targets.is_empty() {
            return None;
        }
        Some(self.targets.iter().all(|target| match target {
            Target::P50AtMostNs(ns) => self.p50_ns <= *ns,
            Target::P99AtMostNs(ns) => self.p99_ns <= *ns,
            Target::P999AtMostNs(ns) => self.p999_ns <= *ns,
            Target::MaxAtMostNs(ns) => self.max_ns <= *ns,
            Target::OpsPerSecondAtLeast { ops_per_second, .. } => {
                self.ops_per_second() >= *ops_per_second
            }
            Target::SecondsAtMost(s) => self.seconds <= *s,
            Target::AllocationsPerOpAtMost(a) => self.allocations_per_op <= *a,
        }))
    }

    pub fn target(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Puts `note` before the note the row has (if any).
    pub fn add_note(mut self, note: impl Into<String>) -> Self {
        let note = note.into();
        self.note = if self.note.is_empty() {
            note
        } else {
            format!("{note}; {}", self.note)
        };
        self
    }
}

/// Times `ops` calls of `op` in groups of `group` into `histogram`, one
/// record per group: its mean per op.
pub fn time_groups(
    histogram: &mut Histogram<u64>,
    ops: usize,
    group: usize,
    mut op: impl FnMut(usize),
) {
    let group = group.max(1);
    let mut done = 0;
    while done < ops {
        let count = group.min(ops - done);
        let started = Instant::now();
        for i in done..done + count {
            op(i);
        }
        let per_op = started.elapsed().as_nanos() as u64 / count as u64;
        histogram.saturating_record(per_op.max(1));
        done += count;
    }
}

/// Runs `op(i)` for `i in 0..ops`, timing groups of `group` operations
/// (sub-microsecond operations are timed in groups so the clock's own cost,
/// about 20 ns, does not dominate; each group records its mean per op).
pub fn measure(name: &str, ops: usize, group: usize, mut op: impl FnMut(usize)) -> Row {
    let mut histogram = latency_histogram();
    let (allocations_before, bytes_before) = alloc::snapshot();
    let started = Instant::now();
    time_groups(&mut histogram, ops, group, &mut op);
    let seconds = started.elapsed().as_secs_f64();
    let (allocations_after, bytes_after) = alloc::snapshot();
    Row::from_histogram(
        name,
        ops as u64,
        seconds,
        &histogram,
        (
            allocations_after - allocations_before,
            bytes_after - bytes_before,
        ),
    )
}

/// A histogram of per-operation latencies in nanoseconds, as every row
/// records them (1 ns to 60 s, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds")
}

impl Row {
    /// A row from latencies recorded elsewhere (e.g. merged from several
    /// threads): `ops` operations in `seconds` of wall-clock time, with
    /// `(allocations, bytes)` allocated in total.
    pub fn from_histogram(
        name: &str,
        ops: u64,
        seconds: f64,
        histogram: &Histogram<u64>,
        (allocations, bytes): (u64, u64),
    ) -> Row {
        Row {
            name: name.to_string(),
            ops,
            seconds,
            p50_ns: histogram.value_at_quantile(0.5) as f64,
            p99_ns: histogram.value_at_quantile(0.99) as f64,
            p999_ns: histogram.value_at_quantile(0.999) as f64,
            max_ns: histogram.max() as f64,
            allocations_per_op: allocations as f64 / ops.max(1) as f64,
            bytes_per_op: bytes as f64 / ops.max(1) as f64,
            megabytes_per_second: None,
            targets: Vec::new(),
            note: String::new(),
        }
    }
}

/// Runs `setup(state, i)` untimed, then times `op(state, i)` alone, for
/// `i in 0..ops`: for operations that need fresh input each time (a flush
/// needs a filled memtable). Allocations are counted in `op` only.
pub fn measure_with_setup<S>(
    name: &str,
    ops: usize,
    state: &mut S,
    mut setup: impl FnMut(&mut S, usize),
    mut op: impl FnMut(&mut S, usize),
) -> Row {
    let mut histogram = latency_histogram();
    let (mut allocations, mut bytes, mut seconds) = (0u64, 0u64, 0f64);
    for i in 0..ops {
        setup(state, i);
        let (allocations_before, bytes_before) = alloc::snapshot();
        let started = Instant::now();
        op(state, i);
        let elapsed = started.elapsed();
        let (allocations_after, bytes_after) = alloc::snapshot();
        allocations += allocations_after - allocations_before;
        bytes += bytes_after - bytes_before;
        seconds += elapsed.as_secs_f64();
        histogram.saturating_record((elapsed.as_nanos() as u64).max(1));
    }
    Row::from_histogram(name, ops as u64, seconds, &histogram, (allocations, bytes))
}

/// Times one bulk operation over `bytes` bytes.
pub fn measure_bulk(name: &str, bytes: u64, op: impl FnOnce()) -> Row {
    let mut row = measure(name, 1, 1, |_| ());
    let (allocations_before, bytes_before) = alloc::snapshot();
    let started = Instant::now();
    op();
    let seconds = started.elapsed().as_secs_f64();
    let (allocations_after, bytes_after) = alloc::snapshot();
    row.seconds = seconds;
    row.p50_ns = seconds * 1e9;
    row.p99_ns = row.p50_ns;
    row.p999_ns = row.p50_ns;
    row.max_ns = row.p50_ns;
    row.allocations_per_op = (allocations_after - allocations_before) as f64;
    row.bytes_per_op = (bytes_after - bytes_before) as f64;
    row.megabytes_per_second = Some(bytes as f64 / 1e6 / seconds.max(1e-12));
    row
}

pub fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2}s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2}ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2}us", ns / 1e3)
    } else {
        format!("{ns:.0}ns")
    }
}

pub fn format_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.1}")
    }
}

/// Where results and baselines are written.
pub fn output_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join("target").join("benchmark"))
        .unwrap_or_else(|| PathBuf::from("target/benchmark"))
}

/// One row as JSON.
pub fn row_json(row: &Row) -> Value {
    json!({
        "name": row.name,
        "ops": row.ops,
        "seconds": row.seconds,
        "ops_per_second": row.ops_per_second(),
        "p50_ns": row.p50_ns,
        "p99_ns": row.p99_ns,
        "p999_ns": row.p999_ns,
        "max_ns": row.max_ns,
        "allocations_per_op": row.allocations_per_op,
        "bytes_per_op": row.bytes_per_op,
        "megabytes_per_second": row.megabytes_per_second,
        "targets": row.targets.iter().map(Target::describe).collect::<Vec<_>>(),
        "targets_met": row.targets_met(),
        "note": row.note,
    })
}

pub fn to_json(rows: &[Row], extra: Value) -> Value {
    let rows: Vec<Value> = rows.iter().map(row_json).collect();
    json!({ "rows": rows, "run": extra })
}

/// Prints the table; with a baseline, adds the p50 ratio per row.
pub fn print_table(rows: &[Row], baseline: Option<(&str, &Value)>) {
    let baseline_p50 = |name: &str| -> Option<f64> {
        let (_, value) = baseline?;
        value["rows"]
            .as_array()?
            .iter()
            .find(|row| row["name"] == name)?["p50_ns"]
            .as_f64()
    };
    let name_width = rows
        .iter()
        .map(|row| row.name.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let mut header = format!(
        "{:<name_width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>8}  {:>10}  {:>9}  {:<18}",
        "operation",
        "ops/s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "allocs/op",
        "bytes/op",
        "MB/s",
        "target"
    );
    if let Some((name, _)) = baseline {
        header.push_str(&format!("  p50 vs {name}"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for row in rows {
        let target = match row.targets_met() {
            None => String::new(),
            Some(met) => format!(
                "{} {}",
                if met { "met" } else { "MISSED" },
                row.targets
                    .iter()
                    .map(Target::describe)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let mut line = format!(
            "{:<name_width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>8.2}  {:>10.1}  {:>9}  {:<18}",
            row.name,
            format_rate(row.ops_per_second()),
            format_ns(row.p50_ns),
            format_ns(row.p99_ns),
            format_ns(row.p999_ns),
            format_ns(row.max_ns),
            row.allocations_per_op,
            row.bytes_per_op,
            row.megabytes_per_second
                .map(|mb| format!("{mb:.0}"))
                .unwrap_or_default(),
            target
        );
        if baseline.is_some() {
            match baseline_p50(&row.name) {
                Some(old) if old > 0.0 => line.push_str(&format!("  x{:.2}", row.p50_ns / old)),
                _ => line.push_str("  (new)"),
            }
        }
        println!("{line}");
        if !row.note.is_empty() {
            println!("{:<name_width$}    {}", "", row.note);
        }
    }
}
