//! Times extraction (parse + summary, one thread, no database) over every
//! source file under a directory: the part of a cold ingest that tuning
//! the extractors changes, measured without the walk, the writes or the
//! other threads a loaded machine adds noise to.
//!
//! Run: `cargo run --release -p kausal-ingest --example extract_corpus -- DIR [RUNS]`
//! (prints the best and the median of RUNS passes, default 7, and a digest
//! of every summary: a change meant to make extraction faster must leave
//! the digest alone).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kausal_ingest::{Language, extract, hash_bytes};

fn sources(dir: &Path, out: &mut Vec<(Language, String)>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out)?;
        } else if let Some(language) = path.to_str().and_then(Language::from_path)
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            out.push((language, text));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: extract_corpus DIR [RUNS]")?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(7);
    let mut files = Vec::new();
    sources(Path::new(&dir), &mut files)?;
    let lines: usize = files.iter().map(|(_, text)| text.lines().count()).sum();
    let mut parser = tree_sitter::Parser::new();
    // Compiles the queries outside the timed passes.
    for (language, text) in files.iter().take(1) {
        extract(*language, text, &mut parser)?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut items = 0;
    let mut digest = 0u128;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        items = 0;
        digest = 0;
        for (language, text) in &files {
            let summary = extract(*language, text, &mut parser)?;
            items += summary.items.len();
            digest = digest
                .wrapping_mul(31)
                .wrapping_add(hash_bytes(format!("{summary:?}").as_bytes()));
        }
        times.push(started.elapsed());
    }
    times.sort();
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "{} files, {lines} lines, {items} items, digest {digest:032x}: best {:.1} ms ({:.0} lines/s on one thread), median {:.1} ms of {} runs",
        files.len(),
        best.as_secs_f64() * 1e3,
        lines as f64 / best.as_secs_f64(),
        median.as_secs_f64() * 1e3,
        times.len()
    );
    Ok(())
}
