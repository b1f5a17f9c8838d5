//! `kausal-bench`: the benchmark harness behind `cargo xtask benchmark`.
//!
//! Seeded data, release build, warm-up, then measured runs. Prints one
//! table (ops/s, p50/p99/p99.9 from an HDR histogram, heap allocations and
//! bytes per op from a counting global allocator, targets), writes the same
//! figures to `target/benchmark/latest.json`, and saves or compares named
//! baselines. Peer comparisons (`compare`) run the same operations on
//! kausal and on fjall and redb (features `fjall`, `redb`) with the data in
//! the same, named state; `inmemory` runs the graph queries on petgraph, the
//! in-memory limit; `kausaldb` is the replaced engine's own benchmark.

mod alloc;
mod cli;
mod compare;
mod concurrent;
mod html;
mod ingest;
mod inmemory;
mod kausaldb;
#[cfg(feature = "fjall")]
mod peer_fjall;
#[cfg(feature = "redb")]
mod peer_redb;
mod precise;
mod report;
mod scale;
mod server;
mod workloads;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use serde_json::json;

#[global_allocator]
static GLOBAL: alloc::CountingAllocator = alloc::CountingAllocator;

#[derive(Parser)]
#[command(name = "kausal-bench", about = "kausal benchmark harness")]
struct Args {
    /// Smaller data sets: the whole run in well under 30 s.
    #[arg(long)]
    quick: bool,
    /// Save this run as baseline NAME.
    #[arg(long, value_name = "NAME")]
    save_baseline: Option<String>,
    /// Compare with baseline NAME (ratio of p50 per row).
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Run only these groups (comma-separated: writes, lookups, edges,
    /// traversals (with the petgraph rows), bulk, concurrent, ingest, precise,
    /// cli, server, kausaldb, peers, scale); all when absent.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The big tree of the `scale` group (e.g. the Linux source); the
    /// group is skipped, with how to get one, when absent.
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
}

/// Engines of the peer comparisons: kausal first, then each enabled peer.
fn openers() -> Vec<compare::Opener> {
    #[allow(unused_mut)]
    let mut openers: Vec<compare::Opener> =
        vec![|dir, durability, sizing| Box::new(compare::Kausal::open(dir, durability, sizing))];
    #[cfg(feature = "fjall")]
    openers.push(peer_fjall::open);
    #[cfg(feature = "redb")]
    openers.push(peer_redb::open);
    openers
}

/// "N of M rows with targets met[; missed: …]", for the terminal and the report.
fn targets_summary(rows: &[report::Row]) -> String {
    let met = rows
        .iter()
        .filter(|row| row.targets_met() == Some(true))
        .count();
    let with_targets = rows
        .iter()
        .filter(|row| row.targets_met().is_some())
        .count();
    let missed: Vec<&str> = rows
        .iter()
        .filter(|row| row.targets_met() == Some(false))
        .map(|row| row.name.as_str())
        .collect();
    let missed = if missed.is_empty() {
        String::new()
    } else {
        format!("; missed: {}", missed.join(", "))
    };
    format!("{met} of {with_targets} rows with targets met{missed}")
}

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let scale = if args.quick {
        workloads::Scale::quick()
    } else {
        workloads::Scale::full()
    };
    let output = report::output_dir();
    let work = output.join("work");
    let _ = std::fs::remove_dir_all(&work);
    if let Err(error) = std::fs::create_dir_all(&work) {
        eprintln!("cannot create {}: {error}", work.display());
        return ExitCode::FAILURE;
    }
    // Data lives on the real disk under target/, not in a tmpfs, so fsync costs what it costs.
    let dir = match tempfile::tempdir_in(&work) {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a work directory: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let progress =
        |message: &str| eprintln!("[{:>6.1}s] {message}", started.elapsed().as_secs_f64());
    let mut facts = workloads::Facts::default();
    let mut rows = Vec::new();
    let wanted = |group: &str| args.only.is_empty() || args.only.iter().any(|g| g == group);
    if wanted("writes") {
        progress("writes: put_block buffered, fsync per write, batches of 100");
        rows.extend(workloads::writes(&scale, dir.path(), &mut facts));
    }
    if wanted("lookups") {
        progress("lookups: memtable, SSTable, miss");
        rows.extend(workloads::lookups(&scale, dir.path()));
    }
    if wanted("edges") {
        progress("edges: put_edge, outgoing and incoming lookups");
        rows.extend(workloads::edges(&scale, dir.path()));
    }
    let mut graph_comparisons = Vec::new();
    let mut graph_note = String::new();
    if wanted("traversals") {
        progress("traversals: building the code graph");
        let (traversal_rows, spec) = workloads::traversals(&scale, dir.path(), &progress);
        progress("in-memory limit: the same graph and queries on petgraph");
        graph_comparisons = inmemory::run(&scale, &spec, &traversal_rows);
        graph_note = inmemory::describe(&spec);
        rows.extend(traversal_rows);
    }
    if wanted("bulk") {
        progress("bulk: flush, compaction, recovery");
        rows.extend(workloads::bulk(&scale, dir.path()));
    }
    if wanted("concurrent") {
        progress("concurrent: sustained puts across flushes and compactions");
        rows.extend(concurrent::rows(&scale, dir.path(), &progress));
    }
    if wanted("cli") {
        progress("cli: building a code graph for the kausal command");
        rows.extend(cli::rows(args.quick, dir.path(), &progress));
    }
    if wanted("server") {
        progress("server: HTTP under 32 clients during re-ingests, MCP for one client");
        rows.extend(server::rows(args.quick, dir.path(), &progress));
    }
    if wanted("ingest") {
        progress("ingest: cold, no change, one file edited");
        rows.extend(ingest::ingest(args.quick, dir.path()));
    }
    if wanted("precise") {
        progress("precise: rust-analyzer scip, then the index decoded and merged into an ingest");
        rows.extend(precise::rows(args.quick, dir.path()));
    }
    if wanted("kausaldb") {
        progress("kausaldb workload: storage and queries on SimVfs");
        rows.extend(kausaldb::storage_rows());
        rows.extend(kausaldb::query_rows());
    }
    if wanted("scale") {
        progress("scale: the release binary on a big tree (--corpus)");
        rows.extend(scale::rows(args.corpus.as_deref(), dir.path(), &progress));
    }
    let (mut comparisons, mut peer_settings) = (Vec::new(), Vec::new());
    if wanted("peers") {
        progress("peers: the same operations in the same state on every engine");
        (comparisons, peer_settings) = compare::run(&scale, dir.path(), &openers());
    }
    let peak_rss = peak_rss_bytes();
    progress("done");

    let baseline = args.baseline.as_ref().and_then(|name| {
        let path = output.join("baselines").join(format!("{name}.json"));
        match std::fs::read_to_string(&path)
            .map(|text| serde_json::from_str::<serde_json::Value>(&text))
        {
            Ok(Ok(value)) => Some((name.as_str(), value)),
            _ => {
                eprintln!("baseline {name} not found at {}", path.display());
                None
            }
        }
    });
    println!();
    report::print_table(&rows, baseline.as_ref().map(|(name, value)| (*name, value)));
    println!();
    let overhead = facts.memtable_bytes_per_payload_byte;
    if wanted("writes") {
        println!(
            "memtable bytes per payload byte: {overhead:.3} (target <= 1.3: {})",
            if overhead <= 1.3 { "met" } else { "MISSED" }
        );
    }
    if let Some(rss) = peak_rss {
        println!(
            "peak resident memory: {:.1} MiB",
            rss as f64 / (1024.0 * 1024.0)
        );
    }
    let targets = targets_summary(&rows);
    println!("targets: {targets}");
    let mut run = json!({
        "quick": args.quick,
        "seconds": started.elapsed().as_secs_f64(),
        "peak_rss_bytes": peak_rss,
        "memtable_bytes_per_payload_byte": overhead,
    });
    if !comparisons.is_empty() {
        println!();
        compare::print_comparisons("peer comparison", &comparisons);
        for settings in &peer_settings {
            println!("  {settings}");
        }
        run["comparisons"] = compare::to_json(&comparisons);
        run["peer_settings"] = json!(peer_settings);
    }
    if !graph_comparisons.is_empty() {
        println!();
        compare::print_comparisons("in-memory limit: kausal over petgraph", &graph_comparisons);
        println!("  {graph_note}");
        run["graph_comparisons"] = compare::to_json(&graph_comparisons);
        run["graph_note"] = json!(graph_note);
    }
    let document = report::to_json(&rows, run);
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    let latest = output.join("latest.json");
    if let Err(error) = std::fs::write(&latest, &text) {
        eprintln!("cannot write {}: {error}", latest.display());
        return ExitCode::FAILURE;
    }
    println!("figures written to {}", latest.display());
    let summary = format!(
        "{} run in {:.1} s; {targets}",
        if args.quick { "--quick" } else { "full" },
        started.elapsed().as_secs_f64(),
    );
    let report_path = output.join("report.html");
    let report = html::write(
        &report_path,
        &html::ReportInput {
            rows: &rows,
            comparisons: &comparisons,
            peer_settings: &peer_settings,
            graph_comparisons: &graph_comparisons,
            graph_note: &graph_note,
            baseline: baseline.as_ref().map(|(name, value)| (*name, value)),
            summary: &summary,
        },
    );
    match report {
        Ok(()) => println!("charts written to {}", report_path.display()),
        Err(error) => {
            eprintln!("report.html: {error}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(name) = &args.save_baseline {
        let path = output.join("baselines").join(format!("{name}.json"));
        let saved = std::fs::create_dir_all(output.join("baselines"))
            .and_then(|()| std::fs::write(&path, &text));
        match saved {
            Ok(()) => println!("baseline {name} saved to {}", path.display()),
            Err(error) => {
                eprintln!("cannot save baseline {name}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
