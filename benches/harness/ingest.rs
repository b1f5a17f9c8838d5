//! Ingest rows: a cold ingest of real crates (petgraph 0.8.3 and
//! regex-syntax 0.8.12 from the cargo registry, found with `cargo
//! metadata`; this workspace's `crates/` if they are missing), a re-ingest
//! with nothing changed, and a re-ingest after editing one file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{Config, Database, SyncMode};
use kausal_vfs::OsVfs;

use crate::report::{Row, Target, measure, measure_bulk};

/// The cold ingest row's target (issue 21): lines per second.
const COLD_LINES_PER_SECOND: f64 = 200_000.0;

/// Cold ingests the cold row is the median of (`--quick`, and not).
const COLD_RUNS_QUICK: usize = 3;
const COLD_RUNS: usize = 5;

/// Source directories of the benchmark corpus.
pub(crate) fn corpus_sources() -> Vec<(String, PathBuf)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Without a platform filter an offline `cargo metadata` fails on
    // dependencies of other targets that were never downloaded (the
    // Android crates of `iana-time-zone`), and the rows fell back to
    // `crates/` unnoticed.
    let mut args = vec!["metadata", "--format-version", "1", "--offline"];
    let host = host_triple();
    if let Some(host) = host.as_deref() {
        args.extend(["--filter-platform", host]);
    }
    let metadata = Command::new(cargo)
        .args(&args)
        .current_dir(&workspace)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| serde_json::from_slice::<serde_json::Value>(&output.stdout).ok());
    let mut found = Vec::new();
    if let Some(packages) = metadata.as_ref().and_then(|m| m["packages"].as_array()) {
        for (name, version) in [("petgraph", "0.8.3"), ("regex-syntax", "0.8.12")] {
            let manifest = packages
                .iter()
                .find(|p| p["name"] == name && p["version"] == version)
                .and_then(|p| p["manifest_path"].as_str());
            if let Some(dir) = manifest.and_then(|m| Path::new(m).parent()) {
                found.push((format!("{name}-{version}"), dir.join("src")));
            }
        }
    }
    if found.is_empty() {
        eprintln!(
            "ingest rows: petgraph 0.8.3 and regex-syntax 0.8.12 not found with `cargo metadata`; measuring this workspace's crates/ instead"
        );
        found.push(("kausal-crates".into(), workspace.join("crates")));
    }
    found
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Option<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc).arg("-vV").output().ok()?;
    String::from_utf8(output.stdout)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
}

/// Copies `.rs` files, backdating mtimes by an hour (as in a checkout that
/// is not being edited), and returns the number of lines.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> u64 {
    let old = SystemTime::now() - Duration::from_secs(3600);
    let mut lines = 0;
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        let _ = std::fs::create_dir_all(&dst);
        let Ok(entries) = std::fs::read_dir(&src) else {
            continue;
        };
        for entry in entries.flatten() {
            let target = dst.join(entry.file_name());
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && entry.file_name() != "target" {
                stack.push((entry.path(), target));
            } else if kind.is_file()
                && entry.path().extension().is_some_and(|e| e == "rs")
                && let Ok(text) = std::fs::read_to_string(entry.path())
            {
                lines += text.lines().count() as u64;
                let _ = std::fs::write(&target, text);
                if let Ok(file) = std::fs::File::options().write(true).open(&target) {
                    let _ = file.set_modified(old);
                }
            }
        }
    }
    lines
}

fn options() -> IngestOptions {
    IngestOptions {
        progress: false,
        ..IngestOptions::default()
    }
}

fn open(dir: &Path) -> Database {
    // Batches are atomic and a re-ingest repairs a crashed one, so an
    // ingest syncs once at its end rather than per file.
    let config = Config::builder().sync_mode(SyncMode::Manual).build();
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open engine")
}

pub fn ingest(quick: bool, dir: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let tree = dir.join("ingest-src");
    let mut lines = 0;
    let mut names = Vec::new();
    for (name, source) in corpus_sources() {
        lines += copy_tree(&source, &tree.join(&name));
        names.push(name);
    }
    let bytes: u64 = walk_bytes(&tree);

    // Several cold ingests, each into a new database, and the median
    // one is the row: one run decided the row before, and on a shared
    // host a single run varied by a fifth. The last run's database and
    // ingester go on to the incremental rows.
    let cold_runs = if quick { COLD_RUNS_QUICK } else { COLD_RUNS };
    let mut cold: Vec<(Row, kausal_ingest::IngestReport)> = Vec::new();
    let mut last = None;
    for run in 0..cold_runs {
        let db = dir.join(format!("ingest-db-{run}"));
        let _ = std::fs::remove_dir_all(&db);
        let engine = open(&db);
        let mut ingester =
            Ingester::new(Arc::new(OsVfs::new()), &tree, options()).expect("ingester");
        let mut report = None;
        let row = measure_bulk(&format!("ingest cold ({lines} lines)"), bytes, || {
            report = Some(ingester.ingest(&engine).expect("cold ingest"));
        });
        cold.push((row, report.expect("report")));
        if let Some((engine, _, db)) = last.replace((engine, ingester, db)) {
            drop(engine);
            let _ = std::fs::remove_dir_all(db);
        }
    }
    let (engine, mut ingester, _) = last.expect("at least one cold run");
    let all_seconds: Vec<String> = cold
        .iter()
        .map(|(row, _)| format!("{:.0}", row.seconds * 1e3))
        .collect();
    let slowest = cold.iter().map(|(row, _)| row.seconds).fold(0.0, f64::max);
    cold.sort_by(|a, b| a.0.seconds.total_cmp(&b.0.seconds));
    let (mut row, report) = cold.swap_remove(cold.len() / 2);
    let lines_per_second = lines as f64 / row.seconds.max(1e-9);
    row.ops = lines;
    row.p99_ns = slowest * 1e9;
    row.p999_ns = row.p99_ns;
    row.max_ns = row.p99_ns;
    rows.push(
        row.target(Target::SecondsAtMost(lines as f64 / COLD_LINES_PER_SECOND))
            .note(format!(
                "{lines_per_second:.0} lines/s (target >= 200,000), median of {cold_runs} cold ingests ({} ms) over {}, {} files; {} calls resolved of {}; median run: {}",
                all_seconds.join(", "),
                names.join(" + "),
                report.files_seen,
                report.calls.resolved,
                report.calls.total,
                report.timings
            )),
    );

    let runs = if quick { 5 } else { 30 };
    let row = measure(
        &format!("re-ingest, no change ({lines} lines)"),
        runs,
        1,
        |_| {
            let report = ingester.ingest(&engine).expect("re-ingest");
            assert_eq!(report.files_parsed, 0);
        },
    );
    rows.push(
        row.target(Target::P50AtMostNs(100e6))
            .note("walk + stat per file; nothing read, parsed or written"),
    );

    // Edit one mid-sized file: alternate between two versions.
    let edited = pick_file(&tree);
    let original = std::fs::read_to_string(&edited).unwrap_or_default();
    let changed = format!("{original}\npub fn kausal_bench_added() {{}}\n");
    let mut last = None;
    let row = measure("re-ingest, one file edited", runs, 1, |i| {
        let text = if i % 2 == 0 { &changed } else { &original };
        std::fs::write(&edited, text).expect("edit");
        let report = ingester.ingest(&engine).expect("re-ingest");
        assert_eq!(report.files_parsed, 1);
        last = Some(report.timings);
    });
    rows.push(row.target(Target::P50AtMostNs(20e6)).note(format!(
        "{}: adds a function; parse 1 file, resolve again (Rust calls of the files the edit can affect), write the difference; last run: {}",
        edited.strip_prefix(&tree).unwrap_or(&edited).display(),
        last.map(|t| t.to_string()).unwrap_or_default()
    )));

    // A body-only edit (a trailing space on the last line): items, calls
    // and imports unchanged, so resolution is skipped.
    let trailing = format!("{} \n", original.trim_end_matches('\n'));
    let mut last = None;
    let row = measure("re-ingest, one file body edit", runs, 1, |i| {
        let text = if i % 2 == 0 { &trailing } else { &original };
        std::fs::write(&edited, text).expect("edit");
        let report = ingester.ingest(&engine).expect("re-ingest");
        assert_eq!(report.files_parsed, 1);
        last = Some((report.resolved, report.timings));
    });
    let (resolved, timings) = last.unwrap_or_default();
    rows.push(row.target(Target::P50AtMostNs(20e6)).note(format!(
        "same file, whitespace only: resolution {}; last run: {timings}",
        if resolved { "ran" } else { "skipped" }
    )));
    rows
}

fn walk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// A file of about 300-600 lines (a typical edit target), else any file.
fn pick_file(dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                files.push((text.lines().count(), path));
            }
        }
    }
    files.sort();
    files
        .iter()
        .find(|(lines, _)| (300..=600).contains(lines))
        .or(files.last())
        .map(|(_, path)| path.clone())
        .unwrap_or_default()
}
