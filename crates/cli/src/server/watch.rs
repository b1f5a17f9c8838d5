//! `--watch`: re-ingest when files under the root change. `notify` reports
//! changes (inotify on Linux); a thread waits until the tree has been quiet
//! for `limits::WATCH_DEBOUNCE`, then runs one incremental ingest (which
//! stats every file and parses only the changed ones). Changes inside the
//! database directory (and `.git/`) are ignored, so the ingest's own
//! writes trigger nothing. The first ingest runs at start, catching up
//! with whatever changed while no server ran.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::limits;
use super::store::Store;

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
    /// Watches `store.root()` and ingests into `store` on changes.
    pub fn start(store: Arc<Store>) -> Result<Self, String> {
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
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kausal-watch".into())
            .spawn(move || {
                report(&store, "start");
                loop {
                    // Wait for a change (or the end).
                    match rx.recv_timeout(std::time::Duration::from_millis(200)) {
                        Ok(()) => {}
                        Err(RecvTimeoutError::Timeout) if !stopped.load(Ordering::Relaxed) => {
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
                    report(&store, "change");
                }
            })
            .map_err(|error| error.to_string())?;
        Ok(Self {
            watcher: Some(watcher),
            stop,
            thread: Some(thread),
        })
    }
}

/// One ingest; its outcome goes to stderr (stdout is the protocol's in
/// `kausal mcp`) and into the store's metrics.
fn report(store: &Store, why: &str) {
    match store.ingest() {
        Ok(summary) => {
            if summary.files_parsed + summary.files_removed > 0 {
                eprintln!(
                    "kausal: re-ingested ({why}): {} parsed, {} removed in {:.3} s",
                    summary.files_parsed, summary.files_removed, summary.seconds
                );
            }
        }
        Err(error) => eprintln!("kausal: ingest after {why} failed: {error}"),
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
