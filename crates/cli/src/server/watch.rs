//! `--watch`: re-ingest when files under the root change. `notify` reports
//! changes (inotify on Linux); a thread waits until the tree has been quiet
//! for `limits::WATCH_DEBOUNCE`, then runs one incremental ingest (which
//! stats every file and parses only the changed ones). Changes inside the
//! database directory (and `.git/`) are ignored, so the ingest's own
//! writes trigger nothing. The first ingest runs at start, catching up
//! with whatever changed while no server ran. With `--precise`, the
//! thread also triggers the background SCIP indexers (`reindex`) once the
//! tree has been quiet for the quiet period after a re-ingest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::limits;
use super::reindex::{PreciseWatch, Reindexer};
use super::store::Store;

/// How often the watch thread looks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// A running watcher; dropping it stops the thread after its ingest.
pub struct Watcher {
    watcher: Option<RecommendedWatcher>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn relevant(path: &Path, db: &Path, root: &Path) -> bool {
    if path.starts_with(db) {
        return false;
    }
    let relative = path.strip_prefix(root).unwrap_or(path);
    !relative
        .components()
        .any(|part| part.as_os_str() == ".git" || part.as_os_str() == ".kausal")
}

impl Watcher {
    /// Watches `store.root()` and ingests into `store` on changes; with
    /// `precise` (`--precise`), also runs the SCIP
    /// indexers once the tree has been quiet that long after a re-ingest.
    pub fn start(store: Arc<Store>, precise: Option<PreciseWatch>) -> Result<Self, String> {
        let root = store.root().to_path_buf();
        // Paths notify reports are absolute: compare against absolute ones.
        let absolute = |path: &Path| -> PathBuf {
            std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
        };
        let (root_abs, db_abs) = (absolute(&root), absolute(store.db()));
        let (tx, rx) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else {
                    // An overflowed queue and the like: ingest to be sure.
                    let _ = tx.send(());
                    return;
                };
                if event.kind.is_access() {
                    return;
                }
                if event
                    .paths
                    .iter()
                    .any(|path| relevant(path, &db_abs, &root_abs))
                {
                    let _ = tx.send(());
                }
            })
            .map_err(|error| error.to_string())?;
        watcher
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|error| error.to_string())?;
        let reindexer = precise
            .map(|precise| Reindexer::start(Arc::clone(&store), precise))
            .transpose()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kausal-watch".into())
            .spawn(move || watch_loop(&store, &rx, &stopped, reindexer))
            .map_err(|error| error.to_string())?;
        Ok(Self {
            watcher: Some(watcher),
            stop,
            thread: Some(thread),
        })
    }
}

/// The watch thread: the start ingest, then an ingest after each burst of
/// changes (once quiet for `WATCH_DEBOUNCE`); with a reindexer, an
/// indexer run once the tree has been quiet for its period after an
/// ingest that changed something (the start one always counts).
fn watch_loop(
    store: &Store,
    rx: &mpsc::Receiver<()>,
    stopped: &AtomicBool,
    reindexer: Option<Reindexer>,
) {
    // Since when the graph has changed without an indexer run after it.
    let mut changed_at = report(store, "start").then(Instant::now);
    loop {
        let wait = match (&reindexer, changed_at) {
            (Some(reindexer), Some(at)) => reindexer
                .quiet()
                .saturating_sub(at.elapsed())
                .min(STOP_POLL),
            _ => STOP_POLL,
        };
        // Wait for a change, the end, or the quiet period to pass.
        match rx.recv_timeout(wait) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) if !stopped.load(Ordering::Relaxed) => {
                if let (Some(reindexer), Some(at)) = (&reindexer, changed_at)
                    && at.elapsed() >= reindexer.quiet()
                {
                    reindexer.trigger();
                    changed_at = None;
                }
                continue;
            }
            Err(_) => return,
        }
        // Debounce: until quiet for WATCH_DEBOUNCE.
        loop {
            match rx.recv_timeout(limits::WATCH_DEBOUNCE) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        if stopped.load(Ordering::Relaxed) {
            return;
        }
        if report(store, "change") {
            changed_at = Some(Instant::now());
        }
    }
}

/// One ingest; its outcome goes to stderr (stdout is the protocol's in
/// `kausal mcp`) and into the store's metrics. True when it changed the
/// graph (or was the start one).
fn report(store: &Store, why: &str) -> bool {
    match store.ingest() {
        Ok(summary) => {
            let changed = summary.files_parsed + summary.files_removed > 0;
            if changed {
                eprintln!(
                    "kausal: re-ingested ({why}): {} parsed, {} removed in {:.3} s",
                    summary.files_parsed, summary.files_removed, summary.seconds
                );
            }
            changed || why == "start"
        }
        Err(error) => {
            eprintln!("kausal: ingest after {why} failed: {error}");
            false
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.watcher.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
