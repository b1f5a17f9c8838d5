//! `Store`: the server's one door to the database. Handlers (HTTP and MCP)
//! and the file watcher reach the graph only through [`Store::read`],
//! [`Store::ingest`], [`Store::metrics`] and [`Store::shutdown`]; no other
//! server file names a storage type.
//!
//! The store holds a `kausal_storage::Database` (a `Clone + Send + Sync`
//! handle). A query clones the handle out under a brief read lock and
//! answers from one [`Reader`](kausal_service::Reader) (a snapshot): it never waits for an ingest,
//! and every answer is consistent with one state of the graph, however
//! many files the ingest running meanwhile has written. Ingests run one at
//! a time (the ingester mutex) and write through the same handle.
//!
//! A failed WAL write (a full disk) poisons the engine, which then refuses
//! reads too; the store reopens the directory (writable, else read-only) so
//! queries keep answering from what was acknowledged. The write lock on the
//! handle is taken only to swap it (reopen) or take it (shutdown).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use kausal_ingest::precise::PreciseIndex;
use kausal_ingest::{IngestError, IngestOptions, Ingester};
use kausal_storage::{Config, Database, StorageError};
use kausal_vfs::Vfs;
use serde::Serialize;
use thiserror::Error;

use crate::summary::{IngestSummary, ingest_summary};

/// Why a store opened by [`Store::open_read_only`] is read-only.
const READ_ONLY_BY_CHOICE: &str = "opened read-only so that other readers can share the database";

/// What a query reads: one consistent view of the graph.
pub type Graph = kausal_service::Reader;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The storage engine failed to open, read or close the database (HTTP 500 `storage`; 507 when
    /// the disk is full).
    #[error("database {}: {source}", db.display())]
    Storage {
        /// The database directory.
        db: PathBuf,
        /// What the storage engine reported.
        #[source]
        source: Box<StorageError>,
    },
    /// An ingest failed (HTTP 500 `ingest`; 507 when the disk is full); the graph keeps
    /// answering as of the last successful one.
    #[error("ingest of {} into {}: {source}", root.display(), db.display())]
    Ingest {
        /// The repository root being ingested.
        root: PathBuf,
        /// The database directory written to.
        db: PathBuf,
        /// What the ingester reported.
        #[source]
        source: Box<IngestError>,
    },
    /// The store was shut down; reads and ingests after it fail (HTTP 503 `shutting_down`).
    #[error("database {} is closed (the server is shutting down)", db.display())]
    Closed {
        /// The database directory.
        db: PathBuf,
    },
    /// The database could only be opened read-only (for example after a full disk), so an ingest
    /// was refused (HTTP 503 `read_only`); queries still answer.
    #[error("database {} is open read-only ({reason}); ingest is refused until it can be reopened for writing", db.display())]
    ReadOnly {
        /// The database directory.
        db: PathBuf,
        /// Why it is read-only: the error from opening it for writing.
        reason: String,
        /// That error was a full disk (HTTP 507 `disk_full`).
        disk_full: bool,
    },
    /// A thread panicked while holding one of the store's locks; the store cannot be used safely
    /// (HTTP 500 `storage`).
    #[error("database {}: a thread panicked while holding the {what} lock", db.display())]
    LockPoisoned {
        /// The database directory.
        db: PathBuf,
        /// Which lock: `database` (the handle) or `ingest`.
        what: &'static str,
    },
}

impl StoreError {
    /// True when the error is a full disk (the ingest can be retried once
    /// space is freed; nothing acknowledged was lost).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Storage { source, .. } => source.is_storage_full(),
            StoreError::Ingest { source, .. } => caused_by_full_disk(source.as_ref()),
            StoreError::ReadOnly { disk_full, .. } => *disk_full,
            _ => false,
        }
    }
}

/// True when a storage error in `error`'s source chain is a full disk. The
/// chain is walked (rather than `IngestError`'s variants matched) so that
/// any ingest error wrapping a storage error counts.
fn caused_by_full_disk(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(storage) = error.downcast_ref::<StorageError>() {
            return storage.is_storage_full();
        }
        next = error.source();
    }
    false
}

/// Figures the server reports at `/v1/metrics`.
#[derive(Debug, Clone, Serialize)]
pub struct StoreMetrics {
    /// The database directory.
    pub db: String,
    /// The repository root that ingests read.
    pub root: String,
    /// An ingest is running now.
    pub ingesting: bool,
    /// Ingests that succeeded since the server started.
    pub ingests_ok: u64,
    /// Ingests that failed since the server started.
    pub ingests_failed: u64,
    /// Wall-clock time of the last ingest, in seconds (0 before the first).
    pub last_ingest_seconds: f64,
    /// The last ingest's error message; `None` when it succeeded or none ran.
    pub last_ingest_error: Option<String>,
    /// Why the database is open read-only, if it is.
    pub read_only: Option<String>,
    /// Sorted tables on disk.
    pub tables: usize,
    /// Bytes of the sorted tables.
    pub table_bytes: u64,
    /// Bytes of writes held in memory, not yet in a table.
    pub memtable_bytes: usize,
    /// Blocks held in memory, not yet in a table.
    pub memtable_blocks: usize,
    /// Edges held in memory, not yet in a table.
    pub memtable_edges: usize,
    /// Background flushes or compactions that failed without poisoning the database.
    pub background_errors: u64,
    /// `serve --watch --precise`: the background indexer runs.
    pub precise: PreciseRuns,
}

/// The background SCIP indexer runs of `serve --watch --precise`, at
/// `/v1/metrics` (`store.precise`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreciseRuns {
    /// An indexer run (indexers and merge) is under way.
    pub running: bool,
    /// Runs that failed nowhere: their indexes were merged (or no
    /// indexer is installed, so there was nothing to run).
    pub runs_ok: u64,
    /// Runs that merged nothing because an indexer failed (or none produced
    /// an index) or the merge failed.
    pub runs_failed: u64,
    /// Why the last failed run failed; `None` after a good one.
    pub last_error: Option<String>,
}

/// The database of one repository, shared by every request.
pub struct Store {
    vfs: Arc<dyn Vfs>,
    db: PathBuf,
    root: PathBuf,
    engine: RwLock<Option<Database>>,
    /// Serialises ingests and keeps the ingester's picture between them.
    ingester: Mutex<Ingester>,
    ingesting: AtomicBool,
    ingests_ok: AtomicU64,
    ingests_failed: AtomicU64,
    last_ingest_micros: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Why the last reopen was read-only, and whether that was a full disk.
    read_only_reason: Mutex<Option<(String, bool)>>,
    /// The test hook [`INGEST_PAUSE_ENV`]; `None` unless the variable is set.
    pause: Option<IngestPause>,
    /// What the background indexer runs did (`serve --watch --precise`).
    precise_runs: Mutex<PreciseRuns>,
}

/// Test hook, not a user setting (docs/CLI.md does not list it): when this
/// environment variable names a path `P`, ingest number `N` of the process
/// (counted from 1) pauses once it has begun (it holds the ingest lock and
/// `/v1/metrics` reports `ingesting`, before it has read or written
/// anything): it creates the empty file `P.paused-N`, then waits until
/// `P.resume-N` exists. The server tests use it to act while an ingest runs
/// (SIGTERM, SIGKILL) without racing the clock. Unset, nothing is done.
pub const INGEST_PAUSE_ENV: &str = "KAUSAL_TEST_INGEST_PAUSE";

/// [`INGEST_PAUSE_ENV`], read once when the store opens.
struct IngestPause {
    path: PathBuf,
    ingests: AtomicU64,
}

impl IngestPause {
    fn from_env() -> Option<Self> {
        let path = std::env::var_os(INGEST_PAUSE_ENV).filter(|path| !path.is_empty())?;
        Some(Self {
            path: PathBuf::from(path),
            ingests: AtomicU64::new(0),
        })
    }

    /// `P.<what>-N`.
    fn marker(&self, what: &str, number: u64) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{what}-{number}"));
        PathBuf::from(name)
    }

    /// Announces this ingest and waits for the test to let it go on.
    fn wait(&self) {
        let number = self.ingests.fetch_add(1, Ordering::Relaxed) + 1;
        // Through OsVfs like every other file the server touches.
        let vfs = kausal_vfs::OsVfs::new();
        if vfs.create_file(&self.marker("paused", number)).is_err() {
            return;
        }
        let resume = self.marker("resume", number);
        while !vfs.exists(&resume).unwrap_or(false) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
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
        let engine = Database::open_with(vfs.clone(), db, Config::default()).map_err(|source| {
            StoreError::Storage {
                db: db.to_path_buf(),
                source: Box::new(source),
            }
        })?;
        Self::with_engine(vfs, engine, db, root, options)
    }

    /// Opens `db` read-only (its shared lock: CLI queries and other
    /// read-only stores run beside it) when it holds a database, else for
    /// writing as [`Store::open`]. An ingest through a read-only store
    /// first reopens the directory for writing, and is refused with
    /// `ReadOnly` (naming the holder of the lock) when it cannot.
    pub fn open_read_only(
        vfs: Arc<dyn Vfs>,
        db: &Path,
        root: &Path,
        options: IngestOptions,
    ) -> Result<Self, StoreError> {
        match Database::open_read_only_with(vfs.clone(), db, Config::default()) {
            Ok(engine) => {
                let store = Self::with_engine(vfs, engine, db, root, options)?;
                if let Ok(mut reason) = store.read_only_reason.lock() {
                    *reason = Some((READ_ONLY_BY_CHOICE.into(), false));
                }
                Ok(store)
            }
            Err(_) => Self::open(vfs, db, root, options),
        }
    }

    /// Whether the database is open read-only now.
    pub fn is_read_only(&self) -> bool {
        self.engine().is_ok_and(|engine| engine.is_read_only())
    }

    fn with_engine(
        vfs: Arc<dyn Vfs>,
        engine: Database,
        db: &Path,
        root: &Path,
        options: IngestOptions,
    ) -> Result<Self, StoreError> {
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
            engine: RwLock::new(Some(engine)),
            ingester: Mutex::new(ingester),
            ingesting: AtomicBool::new(false),
            ingests_ok: AtomicU64::new(0),
            ingests_failed: AtomicU64::new(0),
            last_ingest_micros: AtomicU64::new(0),
            last_error: Mutex::new(None),
            read_only_reason: Mutex::new(None),
            pause: IngestPause::from_env(),
            precise_runs: Mutex::new(PreciseRuns::default()),
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

    /// A clone of the current handle (the lock is held only to clone it).
    fn engine(&self) -> Result<Database, StoreError> {
        let slot = self.engine.read().map_err(|_| StoreError::LockPoisoned {
            db: self.db.clone(),
            what: "database",
        })?;
        slot.clone().ok_or_else(|| StoreError::Closed {
            db: self.db.clone(),
        })
    }

    /// Runs `query` on one consistent view of the graph (a snapshot taken
    /// now); never waits for an ingest.
    pub fn read<R>(&self, query: impl FnOnce(&Graph, &Path) -> R) -> Result<R, StoreError> {
        let reader = kausal_service::Reader::new(&self.engine()?);
        Ok(query(&reader, &self.db))
    }

    /// Brings the graph in line with the tree (incrementally: only changed
    /// files are parsed). One ingest runs at a time; a failed one leaves
    /// the graph answering as of the last successful one.
    pub fn ingest(&self) -> Result<IngestSummary, StoreError> {
        self.ingest_precise(&[])
    }

    /// As [`Store::ingest`], merging the precise calls of `indexes`
    /// (decoded SCIP indexes; `kausal ingest --scip`'s merge).
    pub fn ingest_precise(&self, indexes: &[PreciseIndex]) -> Result<IngestSummary, StoreError> {
        let mut ingester = self.ingester.lock().map_err(|_| StoreError::LockPoisoned {
            db: self.db.clone(),
            what: "ingest",
        })?;
        self.ingesting.store(true, Ordering::Relaxed);
        if let Some(pause) = &self.pause {
            pause.wait();
        }
        let started = Instant::now();
        let result = self.ingest_locked(&mut ingester, indexes);
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

    fn ingest_locked(
        &self,
        ingester: &mut Ingester,
        indexes: &[PreciseIndex],
    ) -> Result<IngestSummary, StoreError> {
        if self.engine()?.is_read_only() {
            // A full disk left it read-only: try writing again.
            self.reopen();
        }
        let engine = self.engine()?;
        if engine.is_read_only() {
            let (reason, disk_full) = self
                .read_only_reason
                .lock()
                .ok()
                .and_then(|reason| reason.clone())
                .unwrap_or_else(|| ("opened read-only".into(), false));
            return Err(StoreError::ReadOnly {
                db: self.db.clone(),
                reason,
                disk_full,
            });
        }
        match ingester.ingest_precise(&engine, indexes) {
            Ok(report) => Ok(ingest_summary(&self.db, &self.root, &report)),
            Err(source) => {
                // The ingester reloads its picture from the graph next time.
                ingester.forget();
                if engine.is_poisoned() {
                    drop(engine);
                    self.reopen();
                }
                Err(StoreError::Ingest {
                    root: self.root.clone(),
                    db: self.db.clone(),
                    source: Box::new(source),
                })
            }
        }
    }

    /// Replaces the handle by a fresh open of the directory: writable if
    /// possible, else read-only (so queries keep working). Queries in
    /// flight keep their snapshots of the old one; the directory lock is
    /// free once they finish cloning (a reopen that finds it still held
    /// leaves the old handle in place and says so in the metrics).
    fn reopen(&self) {
        let Ok(mut slot) = self.engine.write() else {
            return;
        };
        // Dropping releases the directory lock before the reopen takes it.
        drop(slot.take());
        let reason = match Database::open_with(self.vfs.clone(), &self.db, Config::default()) {
            Ok(engine) => {
                *slot = Some(engine);
                None
            }
            Err(error) => {
                match Database::open_read_only_with(self.vfs.clone(), &self.db, Config::default()) {
                    Ok(engine) => *slot = Some(engine),
                    Err(read_error) => {
                        if let Ok(mut last) = self.last_error.lock() {
                            *last = Some(format!("reopen failed: {read_error}"));
                        }
                    }
                }
                Some((error.to_string(), error.is_storage_full()))
            }
        };
        if let Ok(mut read_only) = self.read_only_reason.lock() {
            *read_only = reason;
        }
    }

    /// Records that a background indexer run began (`None`) or ended
    /// (`Some`: merged, or why not).
    pub fn record_precise_run(&self, outcome: Option<Result<(), String>>) {
        let Ok(mut runs) = self.precise_runs.lock() else {
            return;
        };
        runs.running = outcome.is_none();
        match outcome {
            None => {}
            Some(Ok(())) => {
                runs.runs_ok += 1;
                runs.last_error = None;
            }
            Some(Err(error)) => {
                runs.runs_failed += 1;
                runs.last_error = Some(error);
            }
        }
    }

    /// Counters of ingests and the engine's figures; never waits for an
    /// ingest.
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
                .and_then(|reason| reason.clone().map(|(reason, _)| reason)),
            tables: 0,
            table_bytes: 0,
            memtable_bytes: 0,
            memtable_blocks: 0,
            memtable_edges: 0,
            background_errors: 0,
            precise: self
                .precise_runs
                .lock()
                .map(|runs| runs.clone())
                .unwrap_or_default(),
        };
        if let Ok(engine) = self.engine() {
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
        let engine = self
            .engine
            .write()
            .map_err(|_| StoreError::LockPoisoned {
                db: self.db.clone(),
                what: "database",
            })?
            .take();
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
