//! `kausal-sim`: runs simulated seeds and prints what happened.
//! `cargo xtask sim --seeds N --ops M [--seed S]` builds and runs this.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kausal_sim::{DirSetup, FAULT_KINDS, FaultCounts, SimOptions, SimStats, Stop, run_seed};

#[derive(Parser)]
#[command(
    name = "kausal-sim",
    about = "Deterministic simulation of the kausal storage engine"
)]
struct Args {
    /// Number of seeds to run (starting at --first-seed).
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// Operations per seed.
    #[arg(long, default_value_t = 2000)]
    ops: usize,
    /// Run exactly this seed (replay).
    #[arg(long)]
    seed: Option<u64>,
    /// First seed of the range.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Turn a fault kind off (repeatable): read, write, short-write, sync,
    /// torn-write, reordered-writeback, torn-page, dir-entry-rollback,
    /// bit-flip, wal-bit-flip, disk-full. All are on by default.
    #[arg(long, value_name = "KIND")]
    without: Vec<String>,
    /// Start with the data directory already durable (made by an operator),
    /// to look past failures in how the engine makes new directories durable.
    #[arg(long)]
    premade_data_dir: bool,
    /// Bits each WAL flip flips, within one 512 B sector (1: a single bit).
    #[arg(long, default_value_t = 1)]
    wal_flip_bits: u32,
    /// Print every run that ended with a bit flip detected, and its message.
    #[arg(long)]
    list_detected: bool,
}

/// The options of one seed with the requested fault kinds turned off.
fn options(args: &Args, seed: u64) -> Result<SimOptions, String> {
    let mut options = SimOptions::standard(seed, args.ops);
    if args.premade_data_dir {
        options.dirs = DirSetup::DataDirExists;
    }
    options.faults.wal_flip_bits = args.wal_flip_bits;
    let without = &args.without;
    for kind in without {
        options.disable(kind)?;
    }
    Ok(options)
}

/// Totals over every seed run.
#[derive(Default)]
struct Totals {
    faults: FaultCounts,
    stats: SimStats,
    operations: u64,
    recoveries: u64,
    read_only_opens: u64,
    /// Runs that ended with a bit flip detected and reported.
    detected: u64,
    /// Seeds that failed.
    failures: Vec<u64>,
}

/// The command that replays a failed seed up to the failing op.
fn replay_command(args: &Args, seed: u64, op: usize) -> String {
    let mut without: String = args
        .without
        .iter()
        .map(|kind| format!(" --without {kind}"))
        .collect();
    if args.premade_data_dir {
        without.push_str(" --premade-data-dir");
    }
    if args.wal_flip_bits != 1 {
        without.push_str(&format!(" --wal-flip-bits {}", args.wal_flip_bits));
    }
    format!("cargo xtask sim --seed {seed} --ops {op}{without}")
}

/// Adds one seed's report to the totals, printing a failure's replay.
fn record(args: &Args, seed: u64, report: &kausal_sim::RunReport, totals: &mut Totals) {
    totals.faults.add(&report.faults);
    totals.stats.add(&report.stats);
    totals.operations += report.ops_run as u64;
    totals.recoveries += report.recoveries;
    totals.read_only_opens += report.read_only_opens;
    match &report.stop {
        Some(Stop::Failure { op, message }) => {
            println!("FAIL seed {seed} at op {op}: {message}");
            println!("  replay: {}", replay_command(args, seed, *op));
            totals.failures.push(seed);
        }
        Some(Stop::CorruptionDetected { op, message }) => {
            totals.detected += 1;
            if args.list_detected {
                println!("detected seed {seed} at op {op}: {message}");
            }
        }
        None => {}
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = options(&args, 0) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    let seeds: Vec<u64> = match args.seed {
        Some(seed) => vec![seed],
        None => (args.first_seed..args.first_seed + args.seeds).collect(),
    };
    // Panics are caught and reported per seed; keep their backtraces quiet.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let started = Instant::now();
    let mut totals = Totals::default();
    for (index, seed) in seeds.iter().copied().enumerate() {
        let Ok(options) = options(&args, seed) else {
            return ExitCode::FAILURE;
        };
        record(&args, seed, &run_seed(&options), &mut totals);
        if (index + 1) % 500 == 0 {
            eprintln!(
                "  {} of {} seeds, {} failures, {:.0}s",
                index + 1,
                seeds.len(),
                totals.failures.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    print_summary(&args, seeds.len(), &totals);
    println!(
        "failures: {}{}  ({:.1}s)",
        totals.failures.len(),
        if totals.failures.is_empty() {
            String::new()
        } else {
            format!(" (seeds {:?})", totals.failures)
        },
        started.elapsed().as_secs_f64()
    );
    if totals.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The soak's counts: operations, faults, background steps, snapshots.
fn print_summary(args: &Args, seeds: usize, totals: &Totals) {
    let (faults, stats) = (&totals.faults, &totals.stats);
    println!(
        "seeds run: {seeds}  operations: {}  crashes: {}  recoveries: {}  \
         read-only opens checked: {}",
        totals.operations, faults.crashes, totals.recoveries, totals.read_only_opens
    );
    println!(
        "faults injected: {} (read {}, write {}, short write {}, sync {}, reordered writeback {}, \
         torn page {}, torn write {}, dir entry rollback {}, bit flip {}, wal bit flip {}, disk full {})",
        faults.total(),
        faults.read_errors,
        faults.write_errors,
        faults.short_writes,
        faults.sync_errors,
        faults.reordered_writebacks,
        faults.torn_pages,
        faults.torn_writes,
        faults.dir_entry_rollbacks,
        faults.bit_flips,
        faults.wal_bit_flips,
        faults.disk_full
    );
    println!(
        "background steps: {} flushes, {} merges, {} idle, {} failed; failures scheduled inside \
         a step fired: {} ({} of them power losses); writes stalled: {} (flushes run by stalled \
         writes: {})",
        stats.step_flushes,
        stats.step_merges,
        stats.idle_steps,
        stats.failed_steps,
        stats.step_failures_fired,
        stats.step_crashes,
        stats.write_stalls,
        stats.stall_flushes
    );
    println!(
        "snapshots: {} taken, {} full checks matched the model at their sequence ({} across a \
         flush or compaction completed while open), {} refused with Poisoned by a poisoned engine",
        stats.snapshots_taken,
        stats.snapshot_checks,
        stats.snapshot_checks_across_changes,
        stats.snapshot_reads_refused
    );
    if !args.without.is_empty() {
        println!(
            "fault kinds off: {} (of {})",
            args.without.join(", "),
            FAULT_KINDS.join(", ")
        );
    }
    println!(
        "bit flips detected and reported (run ended, as designed): {}",
        totals.detected
    );
}
