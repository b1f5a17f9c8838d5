//! Opening a data directory: lock, inventory of files, manifest, tables,
//! WAL replay (flushing to tables whenever the memtable budget fills, so a
//! WAL larger than memory recovers), a final flush and manifest rewrite that
//! make everything recovered durable in fresh files, removal of the replayed
//! segments, then a fresh WAL segment.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_vfs::{FileLock, Vfs};

use crate::config::Config;
use crate::manifest::{MANIFEST_FILE, MANIFEST_TEMP_FILE, Manifest};
use crate::memtable::Memtable;
use crate::metrics::Counters;
use crate::op::{PayloadError, PayloadOps};
use crate::sstable::parse_table_file_name;
use crate::sstable::reader::Table;
use crate::wal::parse_segment_file_name;
use crate::wal::reader::{WalReplayReport, replay_segments};
use crate::wal::writer::WalWriter;
use crate::{StorageError, StorageResult};

use super::StorageEngine;
use super::core::Core;

/// Name of the lock file that keeps a second engine out.
pub const LOCK_FILE: &str = "LOCK";

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// What WAL replay found: segments, records, torn tail, salvaged ranges.
    pub wal: WalReplayReport,
    /// Records applied to the memtable.
    pub records_applied: u64,
    /// Records skipped because the tables already held them.
    pub records_skipped: u64,
    /// Memtable flushes during replay, including the final one that makes
    /// everything replayed durable in a fresh table.
    pub flushes_during_replay: u64,
    /// Table files no manifest named, removed.
    pub orphan_tables_removed: Vec<PathBuf>,
}

struct Inventory {
    segments: Vec<u64>,
    has_tables: bool,
}

fn take_inventory(vfs: &dyn Vfs, dir: &Path, read_only: bool) -> StorageResult<Inventory> {
    let mut inventory = Inventory {
        segments: Vec::new(),
        has_tables: false,
    };
    for name in vfs.list_dir(dir)? {
        if let Some(id) = parse_segment_file_name(&name) {
            inventory.segments.push(id);
        } else if parse_table_file_name(&name).is_some() {
            inventory.has_tables = true;
        } else if name == MANIFEST_TEMP_FILE {
            // A manifest write that never reached its rename.
            if !read_only {
                vfs.remove_file(&dir.join(&name))?;
            }
        } else if name != MANIFEST_FILE && name != LOCK_FILE {
            return Err(StorageError::UnexpectedFile {
                path: dir.join(name),
            });
        }
    }
    inventory.segments.sort_unstable();
    Ok(inventory)
}

/// Creates `dir` and its missing parents, then syncs every ancestor of
/// `dir` (its parent up to the root, or to the start of a relative path): a
/// new directory's entry is durable only after its parent is synced, and
/// everything later written inside it hangs off that entry. Every ancestor
/// is synced on every writable open, not just the ones this open created:
/// an earlier open (maybe in another process) may have created them and
/// failed before its sync, which leaves their entries' durability unknown,
/// as a failed fsync does for data. Syncing a clean directory is cheap.
fn create_dir_durably(vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
    if !vfs.exists(dir)? {
        vfs.create_dir_all(dir)?;
    }
    for ancestor in dir.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            vfs.sync_dir(Path::new("."))?;
            break;
        }
        vfs.sync_dir(ancestor)?;
    }
    Ok(())
}

fn load_tables(vfs: &dyn Vfs, dir: &Path, manifest: &Manifest) -> StorageResult<Vec<Table>> {
    let mut tables = Vec::with_capacity(manifest.tables.len());
    for meta in &manifest.tables {
        let path = crate::sstable::table_path(dir, meta.id);
        let table = Table::open(vfs, &path, meta.id)?;
        if table.meta() != meta {
            return Err(StorageError::corruption(
                path,
                0,
                format!(
                    "table does not match its manifest entry: file {:?}, manifest {:?}",
                    table.meta(),
                    meta
                ),
            ));
        }
        tables.push(table);
    }
    Ok(tables)
}

fn payload_corruption(path: &Path, offset: u64, error: PayloadError) -> StorageError {
    let reason = match error {
        PayloadError::Decode(decode) => {
            format!("record payload: bad {} at byte {}", decode.what, decode.at)
        }
        PayloadError::Invalid(invalid) => format!("record payload: {invalid}"),
    };
    StorageError::corruption(path, offset, reason)
}

/// True when `payload` decodes into ops that all validate: the second check
/// on a record repaired by one bit.
fn payload_is_valid(payload: &[u8]) -> bool {
    let Ok(mut ops) = PayloadOps::new(payload) else {
        return false;
    };
    for op in ops.by_ref() {
        match op {
            Ok((_, op)) if op.validate().is_ok() => {}
            _ => return false,
        }
    }
    ops.finish().is_ok()
}

/// Replays one WAL record into `core`: all of its ops or none. A writable
/// open flushes the memtable whenever its budget fills; a read-only one
/// writes nothing and keeps the whole WAL tail in memory.
fn replay_record(
    core: &mut Core,
    report: &mut RecoveryReport,
    read_only: bool,
    path: &Path,
    offset: u64,
    payload: &[u8],
) -> StorageResult<()> {
    let corrupt = |error| payload_corruption(path, offset, error);
    let ops = PayloadOps::new(payload).map_err(corrupt)?;
    let base_sequence = ops.base_sequence();
    if base_sequence <= core.manifest.flushed_sequence {
        report.records_skipped += 1;
        return Ok(());
    }
    // Validate the whole record before applying any of it.
    let mut check = PayloadOps::new(payload).map_err(corrupt)?;
    for op in check.by_ref() {
        let (_, op) = op.map_err(corrupt)?;
        op.validate()
            .map_err(|error| corrupt(PayloadError::Invalid(error)))?;
    }
    check.finish().map_err(corrupt)?;
    if !read_only && core.memtable.approximate_bytes() >= core.config.memtable_budget_bytes {
        core.write_memtable_table().map_err(|(error, _)| error)?;
        report.flushes_during_replay += 1;
    }
    for op in ops {
        let (sequence, op) = op.map_err(corrupt)?;
        core.apply(sequence, op);
    }
    report.records_applied += 1;
    Ok(())
}

/// Reads who holds the directory lock, as the holder wrote it.
fn lock_holder(vfs: &dyn Vfs, dir: &Path) -> Option<String> {
    let file = vfs.open_file(&dir.join(LOCK_FILE)).ok()?;
    let len = (file.len().ok()? as usize).min(256);
    let mut bytes = vec![0u8; len];
    file.read_exact_at(0, &mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Writes this process's id into `LOCK` (after taking the exclusive lock),
/// so that a process locked out can say who holds it. Best effort.
pub(super) fn write_lock_holder(vfs: &dyn Vfs, dir: &Path, holder: Option<&str>) {
    if let Ok(mut file) = vfs.open_file(&dir.join(LOCK_FILE)) {
        let _ = file.set_len(0);
        if let Some(holder) = holder {
            let _ = file.write_at(0, holder.as_bytes());
        }
    }
}

fn take_lock(vfs: &dyn Vfs, dir: &Path, read_only: bool) -> StorageResult<FileLock> {
    let path = dir.join(LOCK_FILE);
    let locked = if read_only {
        vfs.lock_file_shared(&path)
    } else {
        vfs.lock_file(&path)
    };
    locked.map_err(|error| {
        if error.kind() == std::io::ErrorKind::WouldBlock {
            StorageError::Locked {
                dir: dir.to_path_buf(),
                holder: lock_holder(vfs, dir),
            }
        } else {
            StorageError::Io(error)
        }
    })
}

impl StorageEngine {
    /// Opens (creating if needed) the engine in `dir`, recovering whatever a
    /// crash left: a torn WAL tail is truncated and reported in
    /// [`StorageEngine::recovery_report`]; corruption anywhere else is an
    /// error naming the file and offset, unless `config.wal_salvage` is set.
    /// Takes the directory's exclusive lock.
    pub fn open(vfs: Arc<dyn Vfs>, dir: impl AsRef<Path>, config: Config) -> StorageResult<Self> {
        Self::open_in_mode(vfs, dir.as_ref(), config, false)
    }

    /// Opens an existing database for reading only: takes a shared lock (any
    /// number of readers, no writer), replays the WAL into memory, and
    /// writes nothing at all: no recovery flush, no truncation of a torn
    /// tail, no new WAL segment. Every write returns
    /// [`StorageError::ReadOnly`]. Fails with `NotADatabase` when `dir`
    /// holds no database and `Locked` (naming the holder) while a writer
    /// has it open.
    pub fn open_read_only(
        vfs: Arc<dyn Vfs>,
        dir: impl AsRef<Path>,
        config: Config,
    ) -> StorageResult<Self> {
        Self::open_in_mode(vfs, dir.as_ref(), config, true)
    }

    fn open_in_mode(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        config: Config,
        read_only: bool,
    ) -> StorageResult<Self> {
        config.validate()?;
        let dir = dir.to_path_buf();
        let not_a_database = |reason: &str| StorageError::NotADatabase {
            dir: dir.clone(),
            reason: reason.to_string(),
        };
        if read_only {
            if !vfs.exists(&dir)? {
                return Err(not_a_database("the directory does not exist"));
            }
            // Checked before locking, which would create `LOCK`.
            let names = vfs.list_dir(&dir)?;
            if !names
                .iter()
                .any(|name| name == MANIFEST_FILE || parse_segment_file_name(name).is_some())
            {
                return Err(not_a_database("it has no MANIFEST and no WAL"));
            }
        } else {
            create_dir_durably(vfs.as_ref(), &dir)?;
        }
        let lock = take_lock(vfs.as_ref(), &dir, read_only)?;
        let inventory = take_inventory(vfs.as_ref(), &dir, read_only)?;
        let manifest = match Manifest::load(vfs.as_ref(), &dir)? {
            Some(manifest) => manifest,
            None if inventory.has_tables => {
                return Err(StorageError::corruption(
                    Manifest::path(&dir),
                    0,
                    "MANIFEST is missing but table files exist",
                ));
            }
            None if read_only && inventory.segments.is_empty() => {
                return Err(not_a_database("it has no MANIFEST and no WAL"));
            }
            None => {
                let fresh = Manifest {
                    next_table_id: 1,
                    flushed_sequence: 0,
                    tables: Vec::new(),
                };
                if !read_only {
                    fresh.store(vfs.as_ref(), &dir)?;
                }
                fresh
            }
        };
        let tables = load_tables(vfs.as_ref(), &dir, &manifest)?;
        let next_sequence = tables
            .iter()
            .map(|table| table.meta().max_sequence)
            .max()
            .unwrap_or(0)
            .max(manifest.flushed_sequence)
            + 1;
        let mut core = Core {
            vfs: Arc::clone(&vfs),
            dir: dir.clone(),
            memtable: Memtable::new(config.memtable_budget_bytes),
            config,
            tables,
            manifest,
            next_sequence,
            counters: Counters::default(),
            edge_scratch: RefCell::new(Vec::new()),
        };
        let mut report = RecoveryReport {
            orphan_tables_removed: if read_only {
                Vec::new()
            } else {
                core.remove_orphan_tables()
            },
            ..RecoveryReport::default()
        };
        let salvage = core.config.wal_salvage;
        let wal_report = replay_segments(
            vfs.as_ref(),
            &dir,
            &inventory.segments,
            salvage,
            !read_only,
            &|payload| payload_is_valid(payload),
            |path, offset, payload| {
                replay_record(&mut core, &mut report, read_only, path, offset, payload)
            },
        )?;
        report.wal = wal_report;
        if read_only {
            core.counters = Counters::default();
            return Ok(StorageEngine::assemble(core, None, report, lock));
        }
        // What replay read may exist only in the page cache: after a failed
        // fsync the kernel can drop the dirty pages and report later syncs
        // as clean (fsyncgate), so re-syncing the old files proves nothing.
        // Writing the recovered state into fresh files makes it durable:
        // flush the memtable to a new table, and store the manifest anew.
        if core.memtable.is_empty() {
            core.manifest.store(vfs.as_ref(), &dir)?;
        } else {
            core.write_memtable_table().map_err(|(error, _)| error)?;
            report.flushes_during_replay += 1;
        }
        // Every replayed write is now in a table: the old segments can go.
        for id in &inventory.segments {
            let path = crate::wal::segment_path(&dir, *id);
            if vfs.exists(&path)? {
                vfs.remove_file(&path)?;
            }
        }
        vfs.sync_dir(&dir)?;
        let next_segment = inventory.segments.last().map_or(1, |last| last + 1);
        let wal = WalWriter::create(
            Arc::clone(&vfs),
            &dir,
            next_segment,
            core.config.wal_segment_bytes,
            core.config.wal_buffer_bytes,
        )?;
        // Replay counted recovered writes; metrics count this session's.
        core.counters = Counters {
            flushes: core.counters.flushes,
            ..Counters::default()
        };
        write_lock_holder(
            vfs.as_ref(),
            &dir,
            Some(&format!("writer pid {}", std::process::id())),
        );
        Ok(StorageEngine::assemble(core, Some(wal), report, lock))
    }

    /// A freshly opened engine around recovered state.
    fn assemble(
        core: Core,
        wal: Option<WalWriter>,
        recovery: RecoveryReport,
        lock: FileLock,
    ) -> Self {
        StorageEngine {
            core,
            wal,
            poisoned: None,
            reads_refused: false,
            last_background_error: None,
            flush_retry_bytes: 0,
            closed: false,
            recovery,
            _lock: lock,
        }
    }
}
