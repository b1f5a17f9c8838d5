//! `Store`: the server's one door to the database. Handlers (HTTP and MCP)
//! and the file watcher reach the graph only through [`Store::read`],
//! [`Store::ingest`], [`Store::metrics`] and [`Store::shutdown`]; no other
//! server file names a storage type.
//!
//! **This is the seam where the concurrent engine plugs in.** Today's
//! `StorageEngine` takes `&mut self` for writes and is not `Sync`, so the
//! store keeps it behind one `Mutex`: a query holds the mutex while it
//! runs, and an ingest holds it for the whole `Ingester::ingest` call (the
//! ingester needs `&mut StorageEngine` from its first read to its last
//! write). Every answer is therefore consistent with one state of the
//! graph, but a query that arrives during an ingest waits for it (bounded
//! by the request timeout). When `kausal_storage::Database` (a
//! `Clone + Send + Sync` handle whose `snapshot()` gives a consistent
//! `Snapshot`) lands, only this file changes:
//!
//! - `Graph` becomes `Snapshot` (and the CLI query functions take it);
//! - `Store` holds a `Database` instead of `Mutex<Option<StorageEngine>>`;
//! - `read` takes `database.snapshot()` and never waits for an ingest;
//! - `ingest` passes `&Database` to the ingester, holding only the
//!   `ingester` mutex (one ingest at a time);
//! - `metrics`, `recover` and `shutdown` call the `Database` equivalents.
//!
//! A failed WAL write (a full disk) poisons the engine, which then refuses
//! reads too; the store reopens the directory (writable, else read-only) so
//! queries keep answering from what was acknowledged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use kausal_ingest::{IngestError, IngestOptions, Ingester};
use kausal_storage::{Config, StorageEngine, StorageError};
use kausal_vfs::Vfs;
use serde::Serialize;
use thiserror::Error;

use crate::commands::{IngestSummary, ingest_summary};

/// What a query reads: one consistent view of the graph.
pub type Graph = StorageEngine;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {}: {source}", db.display())]
    Storage {
        db: PathBuf,
        #[source]
        source: Box<StorageError>,
    },
    #[error("ingest of {} into {}: {source}", root.display(), db.display())]
    Ingest {
        root: PathBuf,
        db: PathBuf,
        #[source]
        source: Box<IngestError>,
    },
    #[error("database {} is closed (the server is shutting down)", db.display())]
    Closed { db: PathBuf },
    #[error("database {} is open read-only ({reason}); ingest is refused until it can be reopened for writing", db.display())]
    ReadOnly { db: PathBuf, reason: String },
    #[error("database {}: a thread panicked while holding the {what} lock", db.display())]
    LockPoisoned { db: PathBuf, what: &'static str },
}

impl StoreError {
    /// True when the error is a full disk (the ingest can be retried once
    /// space is freed; nothing acknowledged was lost).
    pub fn is_disk_full(&self) -> bool {
        let text = match self {
            StoreError::Storage { source, .. } => source.to_string(),
            StoreError::Ingest { source, .. } => source.to_string(),
            StoreError::ReadOnly { reason, .. } => reason.clone(),
            _ => return false,
        };
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull).to_string();
        text.contains(&full) || text.contains("No space left")
    }
}

/// Figures the server reports at `/v1/metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct StoreMetrics {
    pub db: String,
    pub root: String,
    /// An ingest is running now.
    pub ingesting: bool,
    pub ingests_ok: u64,
    pub ingests_failed: u64,
    pub last_ingest_seconds: f64,
    pub last_ingest_error: Option<String>,
    /// Why the database is open read-only, if it is.
    pub read_only: Option<String>,
    pub tables: usize,
    pub table_bytes: u64,
    pub memtable_bytes: usize,
    pub memtable_blocks: usize,
    pub memtable_edges: usize,
    pub background_errors: u64,
}

/// The database of one repository, shared by every request.
pub struct Store {
    vfs: Arc<dyn Vfs>,
    db: PathBuf,
    root: PathBuf,
    engine: Mutex<Option<StorageEngine>>,
    /// Serialises ingests and keeps the ingester's picture between them.
    ingester: Mutex<Ingester>,
    ingesting: AtomicBool,
    ingests_ok: AtomicU64,
    ingests_failed: AtomicU64,
    last_ingest_micros: AtomicU64,
    last_error: Mutex<Option<String>>,
    read_only_reason: Mutex<Option<String>>,
}

impl Store {
    /// Opens `db` for writing (taking its exclusive lock) to serve the
    /// repository at `root`.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        db: &Path,
        root: &Path,
        options: IngestOptions,
    ) -> Result<Self, StoreError> {
        let engine = StorageEngine::open(vfs.clone(), db, Config::default()).map_err(|source| {
            StoreError::Storage {
                db: db.to_path_buf(),
                source: Box::new(source),
            }
        })?;
        let ingester =
            Ingester::new(vfs.clone(), root, options).map_err(|source| StoreError::Ingest {
                root: root.to_path_buf(),
                db: db.to_path_buf(),
                source: Box::new(source),
            })?;
        Ok(Self {
            vfs,
            db: db.to_path_buf(),
            root: root.to_path_buf(),
            engine: Mutex::new(Some(engine)),
            ingester: Mutex::new(ingester),
            ingesting: AtomicBool::new(false),
            ingests_ok: AtomicU64::new(0),
            ingests_failed: AtomicU64::new(0),
            last_ingest_micros: AtomicU64::new(0),
            last_error: Mutex::new(None),
            read_only_reason: Mutex::new(None),
        })
    }

    /// The database directory.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// The repository root that ingests read.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn engine(&self) -> Result<MutexGuard<'_, Option<StorageEngine>>, StoreError> {
        self.engine.lock().map_err(|_| StoreError::LockPoisoned {
            db: self.db.clone(),
            what: "database",
        })
    }

    /// Runs `query` on one consistent view of the graph.
    pub fn read<R>(&self, query: impl FnOnce(&Graph, &Path) -> R) -> Result<R, StoreError> {
        let guard = self.engine()?;
        let engine = guard.as_ref().ok_or_else(|| StoreError::Closed {
            db: self.db.clone(),
        })?;
        Ok(query(engine, &self.db))
    }

    /// Brings the graph in line with the tree (incrementally: only changed
    /// files are parsed). One ingest runs at a time; a failed one leaves
    /// the graph answering as of the last successful one.
    pub fn ingest(&self) -> Result<IngestSummary, StoreError> {
        let mut ingester = self.ingester.lock().map_err(|_| StoreError::LockPoisoned {
            db: self.db.clone(),
            what: "ingest",
        })?;
        let started = Instant::now();
        self.ingesting.store(true, Ordering::Relaxed);
        let result = self.ingest_locked(&mut ingester);
        self.ingesting.store(false, Ordering::Relaxed);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_ingest_micros.store(micros, Ordering::Relaxed);
        let error_text = result.as_ref().err().map(ToString::to_string);
        if let Ok(mut last) = self.last_error.lock() {
            *last = error_text;
        }
        match &result {
            Ok(_) => self.ingests_ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.ingests_failed.fetch_add(1, Ordering::Relaxed),
        };
        result
    }

    fn ingest_locked(&self, ingester: &mut Ingester) -> Result<IngestSummary, StoreError> {
        let mut guard = self.engine()?;
        if guard.as_ref().is_some_and(StorageEngine::is_read_only) {
            // A full disk left it read-only: try writing again.
            self.reopen(&mut guard);
        }
        let engine = guard.as_mut().ok_or_else(|| StoreError::Closed {
            db: self.db.clone(),
        })?;
        if engine.is_read_only() {
            let reason = self
                .read_only_reason
                .lock()
                .ok()
                .and_then(|reason| reason.clone())
                .unwrap_or_else(|| "opened read-only".into());
            return Err(StoreError::ReadOnly {
                db: self.db.clone(),
                reason,
            });
        }
        match ingester.ingest(engine) {
            Ok(report) => Ok(ingest_summary(&self.db, &self.root, &report)),
            Err(source) => {
                // The ingester reloads its picture from the graph next time.
                ingester.forget();
                if engine.is_poisoned() {
                    self.reopen(&mut guard);
                }
                Err(StoreError::Ingest {
                    root: self.root.clone(),
                    db: self.db.clone(),
                    source: Box::new(source),
                })
            }
        }
    }

    /// Replaces the engine in `slot` by a fresh open of the directory:
    /// writable if possible, else read-only (so queries keep working).
    fn reopen(&self, slot: &mut Option<StorageEngine>) {
        // Dropping releases the directory lock before the reopen takes it.
        drop(slot.take());
        let reason = match StorageEngine::open(self.vfs.clone(), &self.db, Config::default()) {
            Ok(engine) => {
                *slot = Some(engine);
                None
            }
            Err(error) => {
                match StorageEngine::open_read_only(self.vfs.clone(), &self.db, Config::default()) {
                    Ok(engine) => *slot = Some(engine),
                    Err(read_error) => {
                        if let Ok(mut last) = self.last_error.lock() {
                            *last = Some(format!("reopen failed: {read_error}"));
                        }
                    }
                }
                Some(error.to_string())
            }
        };
        if let Ok(mut read_only) = self.read_only_reason.lock() {
            *read_only = reason;
        }
    }

    /// Counters of ingests and the engine's figures; never waits for an
    /// ingest (the engine's figures are zero while one holds the engine).
    pub fn metrics(&self) -> StoreMetrics {
        let mut metrics = StoreMetrics {
            db: self.db.display().to_string(),
            root: self.root.display().to_string(),
            ingesting: self.ingesting.load(Ordering::Relaxed),
            ingests_ok: self.ingests_ok.load(Ordering::Relaxed),
            ingests_failed: self.ingests_failed.load(Ordering::Relaxed),
            last_ingest_seconds: self.last_ingest_micros.load(Ordering::Relaxed) as f64 / 1e6,
            last_ingest_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            read_only: self
                .read_only_reason
                .lock()
                .ok()
                .and_then(|reason| reason.clone()),
            tables: 0,
            table_bytes: 0,
            memtable_bytes: 0,
            memtable_blocks: 0,
            memtable_edges: 0,
            background_errors: 0,
        };
        if let Ok(guard) = self.engine.try_lock()
            && let Some(engine) = guard.as_ref()
        {
            let figures = engine.metrics();
            metrics.tables = figures.sstable_count;
            metrics.table_bytes = figures.sstable_bytes;
            metrics.memtable_bytes = figures.memtable_bytes;
            metrics.memtable_blocks = figures.memtable_blocks;
            metrics.memtable_edges = figures.memtable_edges;
            metrics.background_errors = figures.background_errors;
        }
        metrics
    }

    /// Flushes and closes the database, releasing its lock; later reads
    /// and ingests fail with `Closed`. Waits for a running ingest.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        let _ingest = self.ingester.lock();
        let engine = self.engine()?.take();
        match engine {
            Some(engine) if !engine.is_read_only() => {
                engine.shutdown().map_err(|source| StoreError::Storage {
                    db: self.db.clone(),
                    source: Box::new(source),
                })
            }
            _ => Ok(()),
        }
    }
}
