//! Precise-mode rows (issue 22): the cost of merging a SCIP index into an
//! ingest, against the cost of making the index.
//!
//! `rust-analyzer scip` indexes a copy of regex-syntax 0.8.12 (the Cargo
//! project of the ingest corpus that resolves offline: no required
//! dependencies; its `Cargo.toml`, `Cargo.lock` and `src/`), timed by wall
//! clock. The index is then decoded ([`PreciseIndex::decode`], its own
//! row) and merged by [`Ingester::ingest_precise`] into a fresh database
//! per run; the merge row is the merge's time (`report.precise.merge`,
//! mapping the index onto the tree) per 10,000 SCIP occurrences, with the
//! target that merging costs no more than indexing: p50 at most the
//! indexer's wall time per 10,000 occurrences. Without rust-analyzer (or
//! without regex-syntax in the cargo registry) the rows say why they were
//! skipped; that is not a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use kausal_ingest::precise::PreciseIndex;
use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{Config, Database, SyncMode};
use kausal_vfs::OsVfs;

use crate::ingest::{copy_tree, corpus_sources};
use crate::report::{Row, Target, latency_histogram, measure};

/// The crate indexed: in the ingest corpus, and `cargo metadata` needs no
/// network for it.
const PROJECT: &str = "regex-syntax-0.8.12";
/// The merge row's unit: SCIP occurrences.
const OCCURRENCES_PER_UNIT: f64 = 10_000.0;
/// The rows' names (a skipped row keeps them, so baselines line up).
const MERGE_ROW: &str = "precise merge per 10k SCIP occurrences";
const DECODE_ROW: &str = "precise: decode SCIP index";

/// The index made by the indexer, and what it cost.
struct Indexed {
    path: PathBuf,
    /// The indexer's wall time.
    seconds: f64,
    /// The indexer and its version.
    tool: String,
}

/// Rows that were not measured, and why.
fn skipped(reason: &str) -> Vec<Row> {
    eprintln!("precise rows skipped: {reason}");
    [MERGE_ROW, DECODE_ROW]
        .iter()
        .map(|name| {
            let row = Row::from_histogram(name, 0, 0.0, &latency_histogram(), (0, 0));
            row.note(format!("skipped: {reason}"))
        })
        .collect()
}

/// `rust-analyzer --version`, or why it cannot run.
fn rust_analyzer_version() -> Result<String, String> {
    let output = Command::new("rust-analyzer")
        .arg("--version")
        .output()
        .map_err(|error| {
            format!("rust-analyzer is not on PATH ({error}; `rustup component add rust-analyzer`)")
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || stdout.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "rust-analyzer does not run: {} (`rustup component add rust-analyzer`)",
            last.unwrap_or("no output").trim()
        ));
    }
    Ok(stdout)
}

/// Copies the crate's manifest, lock file and `src/` (modification times
/// an hour back) into `project`; returns the lines of its sources.
fn copy_project(source: &Path, project: &Path) -> Result<u64, String> {
    let root = source.parent().ok_or("the crate's src/ has no parent")?;
    std::fs::create_dir_all(project)
        .map_err(|error| format!("create {}: {error}", project.display()))?;
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|error| format!("read {}: {error}", manifest.display()))?;
    // The copy lies under this workspace's target/: an empty workspace
    // table makes it a workspace of its own, or cargo refuses it.
    std::fs::write(project.join("Cargo.toml"), format!("{text}\n[workspace]\n"))
        .map_err(|error| format!("write the manifest: {error}"))?;
    let lock = root.join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, project.join("Cargo.lock"))
            .map_err(|error| format!("copy {}: {error}", lock.display()))?;
    }
    Ok(copy_tree(source, &project.join("src")))
}

/// The line of the indexer's log that says why it failed: a panic's or an
/// error's, else the last.
fn failure_line(log: &str) -> &str {
    let lines = || log.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.contains("panicked") || l.to_ascii_lowercase().starts_with("error"))
        .or_else(|| lines().next_back())
        .unwrap_or("no output")
}

/// Runs `rust-analyzer scip` over `project` into `dir/index.scip`, timed.
fn index(project: &Path, dir: &Path, tool: String) -> Result<Indexed, String> {
    let path = dir.join("index.scip");
    let log = dir.join("rust-analyzer.log");
    let log_file = std::fs::File::create(&log)
        .map_err(|error| format!("create {}: {error}", log.display()))?;
    let log_err = log_file
        .try_clone()
        .map_err(|error| format!("open {}: {error}", log.display()))?;
    let started = Instant::now();
    let status = Command::new("rust-analyzer")
        .args(["scip", "."])
        .arg("--output")
        .arg(&path)
        .current_dir(project)
        // Its `cargo metadata` and build-script check stay off the network
        // and out of the copied tree.
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", dir.join("cargo-target"))
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(log_err))
        .status()
        .map_err(|error| format!("cannot start rust-analyzer: {error}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() || !path.is_file() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(format!(
            "rust-analyzer scip failed ({status}): {}",
            failure_line(&text)
        ));
    }
    Ok(Indexed {
        path,
        seconds,
        tool,
    })
}

/// The index file's modification time: the tree's files older than it are
/// the ones it describes.
fn made_at_ns(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_nanos() as u64)
}

/// The decode row: `runs` decodes of the index.
fn decode_row(
    bytes: &[u8],
    origin: &str,
    made_at: Option<u64>,
    runs: usize,
) -> (Row, PreciseIndex) {
    let mut decoded = None;
    let mut row = measure(DECODE_ROW, runs, 1, |_| {
        decoded = Some(PreciseIndex::decode(bytes, origin, made_at).expect("decode the index"));
    });
    let index = decoded.expect("decoded");
    row.megabytes_per_second = Some(bytes.len() as f64 / 1e6 / (row.p50_ns / 1e9).max(1e-12));
    let row = row.note(format!(
        "{:.1} MiB, {} documents, {} occurrences (the whole file decoded and checked)",
        bytes.len() as f64 / (1024.0 * 1024.0),
        index.documents(),
        index.occurrences()
    ));
    (row, index)
}

/// The merge row: `runs` ingests of `project`, each into a fresh database
/// under `dir`, merging `index`; the merge's time per 10,000 occurrences,
/// against the indexer's.
fn merge_row(
    index: &PreciseIndex,
    indexed: &Indexed,
    project: &Path,
    dir: &Path,
    runs: usize,
) -> Row {
    let mut histogram = latency_histogram();
    let mut merge_seconds = 0.0;
    let mut ingest_seconds = Vec::new();
    let mut last = None;
    for run in 0..runs {
        let config = Config::builder().sync_mode(SyncMode::Manual).build();
        let engine = Database::open_with(
            Arc::new(OsVfs::new()),
            dir.join(format!("db-{run}")),
            config,
        )
        .expect("open engine");
        let options = IngestOptions {
            progress: false,
            ..IngestOptions::default()
        };
        let mut ingester =
            Ingester::new(Arc::new(OsVfs::new()), project, options).expect("ingester");
        let started = Instant::now();
        let report = ingester
            .ingest_precise(&engine, std::slice::from_ref(index))
            .expect("ingest with the index merged");
        ingest_seconds.push(started.elapsed().as_secs_f64());
        let merge = report.precise.merge.as_secs_f64();
        merge_seconds += merge;
        let per_unit_ns = merge * 1e9 * OCCURRENCES_PER_UNIT / index.occurrences().max(1) as f64;
        histogram.saturating_record((per_unit_ns as u64).max(1));
        last = Some(report);
        engine.shutdown().expect("shutdown");
    }
    let report = last.expect("at least one run");
    let precise = &report.precise;
    let units = index.occurrences() as f64 / OCCURRENCES_PER_UNIT;
    let indexer_per_unit_ns = indexed.seconds * 1e9 / units.max(1e-9);
    // One op is 10,000 occurrences merged, as p50 counts.
    let ops = (runs as f64 * units).round().max(1.0) as u64;
    let row = Row::from_histogram(MERGE_ROW, ops, merge_seconds, &histogram, (0, 0));
    let merge_p50_seconds = row.p50_ns * units / 1e9;
    ingest_seconds.sort_by(f64::total_cmp);
    let note = format!(
        "{} occurrences in {} documents: merge {:.1} ms (p50 of {runs}) against `rust-analyzer scip` {:.1} s wall ({}): \
         merge <= indexer time {}; ingest with the merge {:.0} ms (p50); {} files applied, {} rejected, {} precise edges, {} calls to no block; \
         allocations not separated from the ingest's",
        index.occurrences(),
        index.documents(),
        merge_p50_seconds * 1e3,
        indexed.seconds,
        indexed.tool,
        if merge_p50_seconds <= indexed.seconds {
            "met"
        } else {
            "MISSED"
        },
        ingest_seconds[ingest_seconds.len() / 2] * 1e3,
        precise.applied,
        precise.rejected.len(),
        precise.edges,
        precise.unmapped,
    );
    row.target(Target::P50AtMostNs(indexer_per_unit_ns))
        .note(note)
}

/// The precise rows: indexes, decodes and merges; skipped (with the
/// reason) when rust-analyzer or the crate is missing or the indexer
/// fails.
pub fn rows(quick: bool, dir: &Path) -> Vec<Row> {
    let tool = match rust_analyzer_version() {
        Ok(tool) => tool,
        Err(reason) => return skipped(&reason),
    };
    let Some((_, source)) = corpus_sources()
        .into_iter()
        .find(|(name, _)| name == PROJECT)
    else {
        return skipped(&format!(
            "{PROJECT} is not in the cargo registry (`cargo fetch` in the workspace)"
        ));
    };
    let dir = dir.join("precise");
    let project = dir.join(PROJECT);
    let lines = match copy_project(&source, &project) {
        Ok(lines) => lines,
        Err(reason) => return skipped(&reason),
    };
    let indexed = match index(&project, &dir, tool) {
        Ok(indexed) => indexed,
        Err(reason) => return skipped(&reason),
    };
    let bytes = match std::fs::read(&indexed.path) {
        Ok(bytes) => bytes,
        Err(error) => return skipped(&format!("read {}: {error}", indexed.path.display())),
    };
    let runs = if quick { 3 } else { 10 };
    let origin = indexed.path.display().to_string();
    let (decode, index) = decode_row(&bytes, &origin, made_at_ns(&indexed.path), runs);
    let merge = merge_row(&index, &indexed, &project, &dir, runs);
    let merge = merge.add_note(format!("{PROJECT}, {lines} lines"));
    vec![merge, decode]
}
