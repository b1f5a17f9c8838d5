//! The `scale` group (issue 23): the release `kausal` binary on a big tree
//! given with `--corpus DIR` (the Linux source: `apt-get install
//! linux-source-6.1`, then `tar xf /usr/src/linux-source-6.1.tar.xz`, then
//! `--corpus linux-source-6.1`). Skipped with that hint when no corpus is
//! given; it installs nothing itself.
//!
//! Rows, each a whole process as a user runs it: the cold ingest (wall
//! time, lines/s, peak RSS of the process, database size), universal
//! ctags over the same tree when `ctags` is on PATH, the queries of the
//! issue's "a big graph answers like a small one" (find found and missing,
//! callers of a hot function, stats, a read-only open), and a re-ingest
//! after editing 10 files. The tree is hard-linked into the work directory
//! first, and an edit replaces a link with a new file, so the corpus itself
//! is never changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::report::{Row, Target, measure, measure_bulk};

/// Whole-process runs of each query row.
const QUERY_RUNS: usize = 20;
/// Files the re-ingest row edits.
const EDITED_FILES: usize = 10;
/// A function the kernel defines once and calls from everywhere.
const FOUND_NAME: &str = "vfs_read";
/// The hot callee of the callers row: `kmalloc` of `include/linux/slab.h`.
/// The bare name is ambiguous on the whole tree (`tools/` defines four
/// more for its tests), and `callers` then lists the five instead of
/// answering.
const HOT_CALLEE: &str = "linux::slab::kmalloc";
/// A name no tree defines.
const MISSING_NAME: &str = "kausal_scale_no_such_function";

/// The rows, or none (with a message) when there is no corpus or binary.
pub fn rows(corpus: Option<&Path>, work: &Path, progress: &dyn Fn(&str)) -> Vec<Row> {
    let Some(corpus) = corpus else {
        progress(
            "scale: skipped, no --corpus DIR (the Linux source: `apt-get install linux-source-6.1`, `tar xf /usr/src/linux-source-6.1.tar.xz`, then `cargo xtask benchmark --only scale --corpus linux-source-6.1`)",
        );
        return Vec::new();
    };
    let Some(binary) = crate::cli::kausal_binary() else {
        progress("scale: skipped, no release `kausal` binary beside the harness");
        return Vec::new();
    };
    let tree = work.join("scale-tree");
    let db = work.join("scale-db");
    progress(&format!(
        "scale: hard-linking {} into the work directory",
        corpus.display()
    ));
    if let Err(error) = link_tree(corpus, &tree) {
        progress(&format!("scale: skipped, cannot link the corpus: {error}"));
        return Vec::new();
    }
    let kausal = |args: &[&str]| -> Output {
        Command::new(&binary)
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("run kausal")
    };
    let mut rows = Vec::new();
    progress("scale: cold ingest (whole tree, --no-ignore)");
    let tree_arg = tree.to_string_lossy().to_string();
    let (mut report, mut peak_rss, mut exit) = (serde_json::Value::Null, 0, None);
    let mut ingest_row = measure_bulk("scale: cold ingest, whole process", 0, || {
        let mut command = Command::new(&binary);
        command
            .arg("--db")
            .arg(&db)
            .args(["ingest", "--no-ignore", "--json", &tree_arg]);
        let (output, peak) = run_with_peak_rss(&mut command);
        report = serde_json::from_slice(&output.stdout).unwrap_or_default();
        (peak_rss, exit) = (peak, output.status.code());
    });
    let lines = report["lines_parsed"].as_u64().unwrap_or(0);
    let files = report["files_parsed"].as_u64().unwrap_or(0);
    let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
    let seconds = ingest_row.seconds;
    ingest_row.megabytes_per_second = None;
    ingest_row = ingest_row.note(format!(
        "{files} files, {lines} lines: {:.0} lines/s; peak RSS {:.2} GB; database {:.2} GB; {} skipped, {} partial; exit {}",
        lines as f64 / seconds.max(1e-9),
        peak_rss as f64 / 1e9,
        dir_bytes(&db) as f64 / 1e9,
        count("skipped"),
        count("partial"),
        exit.unwrap_or(-1),
    ));
    rows.push(ingest_row);
    if let Some(row) = ctags_row(&tree, work) {
        rows.push(row);
    }
    rows.extend(query_rows(&kausal, progress));
    progress("scale: re-ingest after editing 10 files");
    rows.push(reingest_row(&tree, &kausal));
    rows
}

/// The query rows: each a whole process, `QUERY_RUNS` times.
fn query_rows(kausal: &dyn Fn(&[&str]) -> Output, progress: &dyn Fn(&str)) -> Vec<Row> {
    progress("scale: queries");
    let queries: [(&str, Vec<&str>, f64); 5] = [
        ("find NAME (found)", vec!["find", FOUND_NAME], 30.0),
        (
            "find NAME (missing: suggestions)",
            vec!["find", MISSING_NAME],
            30.0,
        ),
        (
            "callers linux::slab::kmalloc --depth 1",
            vec!["callers", HOT_CALLEE, "--depth", "1"],
            100.0,
        ),
        ("stats", vec!["stats"], 100.0),
        (
            "show ID (a read-only open and one lookup)",
            vec!["show", "00000000000000000000000000000001"],
            100.0,
        ),
    ];
    queries
        .into_iter()
        .map(|(what, args, target_ms)| {
            let mut last = None;
            let row = measure(&format!("scale: `kausal {what}`"), QUERY_RUNS, 1, |_| {
                last = Some(kausal(&args));
            });
            let outcome = last.map_or_else(String::new, |output| {
                let text = String::from_utf8_lossy(&output.stdout);
                format!(
                    "exit {}, {} lines of output",
                    output.status.code().unwrap_or(-1),
                    text.lines().count()
                )
            });
            row.target(Target::P50AtMostNs(target_ms * 1e6))
                .note(format!("whole process, page cache warm; {outcome}"))
        })
        .collect()
}

/// Universal ctags over the same tree (C and headers), for scale.
fn ctags_row(tree: &Path, work: &Path) -> Option<Row> {
    let available = Command::new("ctags")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        return None;
    }
    let tags = work.join("scale-tags");
    let row = measure_bulk("scale: ctags -R over the same tree (peer)", 0, || {
        let _ = Command::new("ctags")
            .arg("-R")
            .arg("-f")
            .arg(&tags)
            .arg(tree)
            .output();
    });
    let size = std::fs::metadata(&tags).map_or(0, |meta| meta.len());
    let mut row = row.note(format!(
        "universal ctags, definitions only (no calls, no graph); tags file {:.1} MB",
        size as f64 / 1e6
    ));
    row.megabytes_per_second = None;
    Some(row)
}

/// Edits `EDITED_FILES` C files spread over the tree (each gains a
/// function), then re-ingests.
fn reingest_row(tree: &Path, kausal: &dyn Fn(&[&str]) -> Output) -> Row {
    let mut sources = Vec::new();
    collect_c_files(tree, &mut sources);
    sources.sort();
    let stride = (sources.len() / EDITED_FILES).max(1);
    for (n, path) in sources
        .iter()
        .step_by(stride)
        .take(EDITED_FILES)
        .enumerate()
    {
        // Replace the hard link with a new file: the corpus keeps its bytes.
        let mut text = std::fs::read(path).unwrap_or_default();
        text.extend_from_slice(
            format!("\nint kausal_scale_edit_{n}(void) {{ return {n}; }}\n").as_bytes(),
        );
        let _ = std::fs::remove_file(path);
        let _ = std::fs::write(path, text);
    }
    let tree_arg = tree.to_string_lossy().to_string();
    let mut exit = None;
    let started = Instant::now();
    let mut row = measure_bulk("scale: re-ingest after editing 10 files", 0, || {
        exit = kausal(&["ingest", "--no-ignore", &tree_arg]).status.code();
    });
    row.megabytes_per_second = None;
    row.target(Target::SecondsAtMost(2.0)).note(format!(
        "whole process: walk of the whole tree, 10 files parsed and resolved again; exit {}; {:.2} s",
        exit.unwrap_or(-1),
        started.elapsed().as_secs_f64()
    ))
}

fn collect_c_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => collect_c_files(&path, out),
            Ok(kind) if kind.is_file() && path.extension().is_some_and(|ext| ext == "c") => {
                out.push(path)
            }
            _ => {}
        }
    }
}

/// `cp -al`: a tree of hard links (directories made, files linked).
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(to);
    let status = Command::new("cp").arg("-al").arg(from).arg(to).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "cp -al exited with {status}"
        )))
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|entry| entry.metadata().ok())
            .map(|meta| meta.len())
            .sum()
    })
}

/// Runs `command` to its end, reading its peak RSS (`VmHWM`) from /proc
/// while it runs; stdout and stderr are drained on threads, so a large
/// JSON report cannot block the child.
fn run_with_peak_rss(command: &mut Command) -> (Output, u64) {
    use std::io::Read;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kausal");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        peak = peak.max(vm_hwm_bytes(&status_path));
        // Sampling, not synchronisation: VmHWM is the peak so far, so a
        // sample misses only growth in the last interval before exit.
        std::thread::sleep(std::time::Duration::from_millis(RSS_SAMPLE_MS));
    };
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    (output, peak)
}

/// How often the cold ingest's peak RSS is sampled.
const RSS_SAMPLE_MS: u64 = 50;

fn vm_hwm_bytes(status_path: &str) -> u64 {
    std::fs::read_to_string(status_path)
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}
