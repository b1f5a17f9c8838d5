//! Times the incremental path: one cold ingest of a source tree into a
//! scratch database, then RUNS re-ingests that alternately add a function
//! to one file and take it out again, as the benchmark's "one file
//! edited" row does. Meant for a profiler (`perf record`, callgrind) where
//! the benchmark harness would mostly show the cold ingest.
//!
//! Run: `cargo run --release -p kausal-ingest --example edit_loop -- DIR FILE [RUNS]`
//! (DIR is copied to a temporary directory; FILE is relative to DIR; prints
//! the median and best edit and the last edit's phase timings).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{Config, Database, SyncMode};
use kausal_vfs::OsVfs;

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            // An hour old, as in the benchmark: a file modified within the
            // racy margin of the last walk is read again on every ingest.
            let old = SystemTime::now() - Duration::from_secs(3600);
            std::fs::File::options()
                .write(true)
                .open(&target)?
                .set_modified(old)?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: edit_loop DIR FILE [RUNS]";
    let dir = args.next().ok_or(usage)?;
    let file = args.next().ok_or(usage)?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(200);
    let scratch = tempfile::tempdir()?;
    let tree = scratch.path().join("src");
    copy_tree(Path::new(&dir), &tree)?;
    let config = Config::builder().sync_mode(SyncMode::Manual).build();
    let engine = Database::open_with(Arc::new(OsVfs::new()), scratch.path().join("db"), config)?;
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    let mut ingester = Ingester::new(Arc::new(OsVfs::new()), &tree, options)?;
    let started = Instant::now();
    ingester.ingest(&engine)?;
    println!("cold ingest {:?}", started.elapsed());

    let edited = tree.join(&file);
    let original = std::fs::read_to_string(&edited)?;
    let changed = format!("{original}\npub fn kausal_bench_added() {{}}\n");
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut last = None;
    for run in 0..runs {
        std::fs::write(&edited, if run % 2 == 0 { &changed } else { &original })?;
        let started = Instant::now();
        let report = ingester.ingest(&engine)?;
        times.push(started.elapsed());
        if std::env::var_os("EDIT_LOOP_VERBOSE").is_some() {
            println!("edit {run}: {:?} {}", started.elapsed(), report.timings);
        }
        last = Some(report.timings);
    }
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let best = times.first().copied().unwrap_or_default();
    println!("{runs} edits of {file}: median {median:?}, best {best:?}");
    if let Some(timings) = last {
        println!("last edit: {timings}");
    }
    Ok(())
}
