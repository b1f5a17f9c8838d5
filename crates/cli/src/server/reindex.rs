//! `serve --watch --precise`: the SCIP indexers in the background. The
//! watcher ([`super::watch`]) triggers a run once the tree has been quiet
//! for the quiet period (`limits::PRECISE_QUIET`, `--precise-quiet`)
//! after a re-ingest that changed something (or after the start). A run
//! is `kausal index`'s: detect the languages, run each one's indexer from
//! `PATH` into a temporary directory ([`RunIndexers`]), then merge
//! every index produced through [`Store::ingest_precise`] (an incremental
//! ingest that holds the ingest lock only for the merge). Queries keep
//! answering from the current graph throughout. One run at a time, on
//! one thread: a trigger while a run is under way queues one more run
//! (never more). A missing or failing indexer, or a failed merge, is
//! logged on stderr and counted in `/v1/metrics` (`store.precise`),
//! never fatal.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use kausal_ingest::precise::PreciseIndex;

use super::store::Store;

/// Runs the SCIP indexers of the repository at `root` (absolute), writing
/// into `scratch`: the indexes produced, and one line per indexer that
/// failed. `kausal index`'s machinery (`crate::index::run_indexers`),
/// passed in by the command so that the server does not depend on it.
pub type RunIndexers = fn(root: &Path, scratch: &Path) -> (Vec<PreciseIndex>, Vec<String>);

/// `serve --watch --precise`: when and how to index.
#[derive(Debug, Clone, Copy)]
pub struct PreciseWatch {
    /// How long the tree must be quiet after a re-ingest before a run.
    pub quiet: Duration,
    /// The indexers.
    pub index: RunIndexers,
}

/// Prefix of the temporary directory a run's indexes are written into.
const SCRATCH_PREFIX: &str = "kausal-serve-index-";

/// The background indexer thread; dropping it stops it (a run under way
/// is left to finish on its own: its merge then fails on the closed store).
pub struct Reindexer {
    quiet: Duration,
    trigger: Option<SyncSender<()>>,
    stop: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reindexer {
    /// Starts the thread that runs the indexers for `store` when triggered.
    pub fn start(store: Arc<Store>, precise: PreciseWatch) -> Result<Self, String> {
        // Capacity 1: one run waiting behind the one under way, at most.
        let (trigger, triggered) = mpsc::sync_channel::<()>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicBool::new(false));
        let (stopped, busy) = (Arc::clone(&stop), Arc::clone(&running));
        let thread = std::thread::Builder::new()
            .name("kausal-index".into())
            .spawn(move || {
                for () in triggered {
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    busy.store(true, Ordering::Relaxed);
                    store.record_precise_run(None);
                    let outcome = run_indexers(&store, precise.index);
                    if let Err(error) = &outcome {
                        eprintln!("kausal: precise indexing failed: {error}");
                    }
                    store.record_precise_run(Some(outcome));
                    busy.store(false, Ordering::Relaxed);
                }
            })
            .map_err(|error| error.to_string())?;
        Ok(Self {
            quiet: precise.quiet,
            trigger: Some(trigger),
            stop,
            running,
            thread: Some(thread),
        })
    }

    /// How long the tree must be quiet before a run.
    pub fn quiet(&self) -> Duration {
        self.quiet
    }

    /// Asks for a run (a no-op when one is already waiting).
    pub fn trigger(&self) {
        if let Some(trigger) = &self.trigger
            && let Err(TrySendError::Disconnected(())) = trigger.try_send(())
        {
            eprintln!("kausal: the precise indexing thread has stopped");
        }
    }
}

impl Drop for Reindexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.trigger.take());
        if let Some(thread) = self.thread.take()
            && !self.running.load(Ordering::Relaxed)
        {
            let _ = thread.join();
        }
    }
}

/// One run: the indexers (`index`), then one merge of the indexes they
/// produced. `Err` says why nothing was merged, or which indexers failed
/// beside a merge of the others.
fn run_indexers(store: &Store, index: RunIndexers) -> Result<(), String> {
    let root = std::path::absolute(store.root()).unwrap_or_else(|_| store.root().to_path_buf());
    let scratch = tempfile::Builder::new()
        .prefix(SCRATCH_PREFIX)
        .tempdir()
        .map_err(|error| {
            format!(
                "cannot create a temporary directory for the indexes in {}: {error}",
                std::env::temp_dir().display()
            )
        })?;
    let (indexes, failed) = index(&root, scratch.path());
    if indexes.is_empty() {
        return if failed.is_empty() {
            // Nothing to index with (no indexer installed): not a failure.
            Ok(())
        } else {
            Err(failed.join("; "))
        };
    }
    let summary = store
        .ingest_precise(&indexes)
        .map_err(|error| format!("merging the indexes: {error}"))?;
    eprintln!(
        "kausal: precise calls merged from {} index(es): {}",
        indexes.len(),
        summary.precise
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
