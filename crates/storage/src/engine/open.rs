//! Opening a data directory: lock, inventory of files, manifest, tables,
//! WAL replay (flushing to tables whenever the memtable budget fills, so a
//! WAL larger than memory recovers), a final flush and manifest rewrite that
//! make everything recovered durable in fresh files, removal of the replayed
//! segments, then a fresh WAL segment.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_vfs::Vfs;

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

fn take_inventory(vfs: &dyn Vfs, dir: &Path) -> StorageResult<Inventory> {
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
            vfs.remove_file(&dir.join(&name))?;
        } else if name != MANIFEST_FILE && name != LOCK_FILE {
            return Err(StorageError::UnexpectedFile {
                path: dir.join(name),
            });
        }
    }
    inventory.segments.sort_unstable();
    Ok(inventory)
}

/// Creates `dir` and its missing parents, then syncs the parent of each
/// directory it created: a new directory's entry is durable only after its
/// parent is synced, and everything later written inside it hangs off
/// that entry.
fn create_dir_durably(vfs: &dyn Vfs, dir: &Path) -> StorageResult<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(path) = next {
        if path.as_os_str().is_empty() || vfs.exists(path)? {
            break;
        }
        missing.push(path);
        next = path.parent();
    }
    if missing.is_empty() {
        return Ok(());
    }
    vfs.create_dir_all(dir)?;
    // Deepest first: each sync makes one created entry durable.
    for created in missing {
        let parent = match created.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        vfs.sync_dir(parent)?;
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

/// Replays one WAL record into `core`: all of its ops or none.
fn replay_record(
    core: &mut Core,
    report: &mut RecoveryReport,
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
    if core.memtable.approximate_bytes() >= core.config.memtable_budget_bytes {
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

impl StorageEngine {
    /// Opens (creating if needed) the engine in `dir`, recovering whatever a
    /// crash left: a torn WAL tail is truncated and reported in
    /// [`StorageEngine::recovery_report`]; corruption anywhere else is an
    /// error naming the file and offset, unless `config.wal_salvage` is set.
    pub fn open(vfs: Arc<dyn Vfs>, dir: impl AsRef<Path>, config: Config) -> StorageResult<Self> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        create_dir_durably(vfs.as_ref(), &dir)?;
        let lock = vfs.lock_file(&dir.join(LOCK_FILE)).map_err(|error| {
            if error.kind() == std::io::ErrorKind::WouldBlock {
                StorageError::Locked { dir: dir.clone() }
            } else {
                StorageError::Io(error)
            }
        })?;
        let inventory = take_inventory(vfs.as_ref(), &dir)?;
        let manifest = match Manifest::load(vfs.as_ref(), &dir)? {
            Some(manifest) => manifest,
            None if inventory.has_tables => {
                return Err(StorageError::corruption(
                    Manifest::path(&dir),
                    0,
                    "MANIFEST is missing but table files exist",
                ));
            }
            None => {
                let fresh = Manifest {
                    next_table_id: 1,
                    flushed_sequence: 0,
                    tables: Vec::new(),
                };
                fresh.store(vfs.as_ref(), &dir)?;
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
            orphan_tables_removed: core.remove_orphan_tables(),
            ..RecoveryReport::default()
        };
        let salvage = core.config.wal_salvage;
        let wal_report = replay_segments(
            vfs.as_ref(),
            &dir,
            &inventory.segments,
            salvage,
            |path, offset, payload| replay_record(&mut core, &mut report, path, offset, payload),
        )?;
        report.wal = wal_report;
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
        Ok(StorageEngine {
            core,
            wal,
            poisoned: None,
            reads_refused: false,
            last_background_error: None,
            flush_retry_bytes: 0,
            closed: false,
            recovery: report,
            _lock: lock,
        })
    }
}
