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
    let mut totals = FaultCounts::default();
    let mut stats = SimStats::default();
    let mut operations = 0u64;
    let mut recoveries = 0u64;
    let mut read_only_opens = 0u64;
    let mut detected = 0u64;
    let mut failures = Vec::new();
    for (index, seed) in seeds.iter().copied().enumerate() {
        let Ok(options) = options(&args, seed) else {
            return ExitCode::FAILURE;
        };
        let report = run_seed(&options);
        totals.add(&report.faults);
        stats.add(&report.stats);
        operations += report.ops_run as u64;
        recoveries += report.recoveries;
        read_only_opens += report.read_only_opens;
        match &report.stop {
            Some(Stop::Failure { op, message }) => {
                println!("FAIL seed {seed} at op {op}: {message}");
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
                println!("  replay: cargo xtask sim --seed {seed} --ops {op}{without}");
                failures.push(seed);
            }
            Some(Stop::CorruptionDetected { op, message }) => {
                detected += 1;
                if args.list_detected {
                    println!("detected seed {seed} at op {op}: {message}");
                }
            }
            None => {}
        }
        if (index + 1) % 500 == 0 {
            eprintln!(
                "  {} of {} seeds, {} failures, {:.0}s",
                index + 1,
                seeds.len(),
                failures.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "seeds run: {}  operations: {operations}  crashes: {}  recoveries: {recoveries}  \
         read-only opens checked: {read_only_opens}",
        seeds.len(),
        totals.crashes
    );
    println!(
        "faults injected: {} (read {}, write {}, short write {}, sync {}, reordered writeback {}, \
         torn page {}, torn write {}, dir entry rollback {}, bit flip {}, wal bit flip {}, disk full {})",
        totals.total(),
        totals.read_errors,
        totals.write_errors,
        totals.short_writes,
        totals.sync_errors,
        totals.reordered_writebacks,
        totals.torn_pages,
        totals.torn_writes,
        totals.dir_entry_rollbacks,
        totals.bit_flips,
        totals.wal_bit_flips,
        totals.disk_full
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
    println!("bit flips detected and reported (run ended, as designed): {detected}");
    println!(
        "failures: {}{}  ({:.1}s)",
        failures.len(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(" (seeds {failures:?})")
        },
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
