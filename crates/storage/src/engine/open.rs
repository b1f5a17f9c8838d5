//! Opening a data directory: lock, inventory of files, manifest, tables,
//! WAL replay (flushing to tables whenever the memtable budget fills, so a
//! WAL larger than memory recovers), then making everything replayed
//! durable: when replay was clean and fit the memtable, by writing the
//! last segment's unsynced part again and syncing it (the replayed
//! segments stay until the first flush); otherwise by a final flush into
//! a fresh table, after which the replayed segments are removed. Then a
//! manifest rewrite and a fresh WAL segment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_vfs::{FileLock, Vfs};

use crate::config::Config;
use crate::files::{FileKind, LOCK_FILE, classify};
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::metrics::Counters;
use crate::op::{Op, PayloadError, PayloadOps};
use crate::sstable::reader::Table;
use crate::wal::reader::{LogEnd, READ_WINDOW_BYTES, replay_segments};
use crate::wal::writer::WalWriter;
use crate::wal::{RECORD_HEADER_BYTES, segment_path};
use crate::{StorageError, StorageResult};

use super::Database;
use super::recovery_report::RecoveryReport;
use super::shared::apply_op;
use super::tables::TableDir;

/// State rebuilt by recovery before the engine starts.
struct Recovering {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    config: Config,
    memtable: Vec<Memtable>,
    tables: Vec<Arc<Table>>,
    manifest: Manifest,
    next_sequence: u64,
    counters: Counters,
    /// Bytes of the segments that hold records, and of the records
    /// replayed so far (with their headers): how far replay is.
    log_bytes: u64,
    replayed_bytes: u64,
    /// `replayed_bytes` at which the block index is next sized for the
    /// rest of the log.
    next_estimate_at: u64,
}

/// Replayed bytes after which the block index is first sized for the
/// whole log, from the blocks per byte seen so far; then again each time
/// they double.
const FIRST_ESTIMATE_BYTES: u64 = 4 * 1024 * 1024;

impl Recovering {
    fn table_dir(&self) -> TableDir<'_> {
        TableDir {
            vfs: &self.vfs,
            dir: &self.dir,
        }
    }

    /// Writes the memtable to a table and starts an empty one.
    fn flush(&mut self) -> StorageResult<()> {
        let flushed = self
            .table_dir()
            .flush_memtable(&self.manifest, &self.memtable[0])
            .map_err(|(error, _)| error)?;
        if let Some((manifest, table)) = flushed {
            self.manifest = manifest;
            self.tables.push(table);
            Counters::add(&self.counters.flushes, 1);
        }
        self.memtable[0] = Memtable::new(self.config.memtable_budget_bytes);
        Ok(())
    }

    /// Sizes the block index for the blocks the rest of the log will
    /// likely add, at the rate seen so far, once replay is past the next
    /// estimate point. Growing by doublings during a large replay faulted
    /// in twice the final index and placed every entry again at each
    /// (issue 26). An estimate too high (segment files are preallocated,
    /// so the bytes left are an upper bound) costs memory only up to a
    /// quarter of the memtable budget; too low, the index grows as usual.
    fn size_block_index(&mut self, record_bytes: usize) {
        self.replayed_bytes += record_bytes as u64;
        if self.replayed_bytes < self.next_estimate_at {
            return;
        }
        self.next_estimate_at = self.replayed_bytes.saturating_mul(2);
        let memtable = &mut self.memtable[0];
        let blocks =
            memtable.block_count() as u128 * self.log_bytes as u128 / self.replayed_bytes as u128;
        memtable.reserve_blocks(
            usize::try_from(blocks).unwrap_or(usize::MAX),
            self.config.memtable_budget_bytes / 4,
        );
    }

    /// Applies one replayed op (validated) to the memtable.
    fn apply(&mut self, sequence: u64, op: Op<'_>) -> StorageResult<()> {
        apply_op(
            &mut self.memtable,
            &self.tables,
            sequence,
            op,
            &self.counters,
        )?;
        self.next_sequence = self.next_sequence.max(sequence + 1);
        Ok(())
    }
}

/// What a finished open hands to the engine.
pub(super) struct Recovered {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    pub config: Config,
    pub memtable: Memtable,
    pub tables: Vec<Arc<Table>>,
    pub manifest: Manifest,
    pub next_sequence: u64,
    pub flushes: u64,
    pub wal: Option<WalWriter>,
    pub report: RecoveryReport,
    pub lock: FileLock,
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
        match classify(&name) {
            Some(FileKind::WalSegment { id }) => inventory.segments.push(id),
            Some(FileKind::Table { .. }) => inventory.has_tables = true,
            Some(FileKind::ManifestTemp) => {
                // A manifest write that never reached its rename.
                if !read_only {
                    vfs.remove_file(&dir.join(&name))?;
                }
            }
            Some(FileKind::Manifest | FileKind::Lock) => {}
            None => {
                return Err(StorageError::UnexpectedFile {
                    path: dir.join(name),
                });
            }
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

fn load_tables(vfs: &dyn Vfs, dir: &Path, manifest: &Manifest) -> StorageResult<Vec<Arc<Table>>> {
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
        tables.push(Arc::new(table));
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
    core: &mut Recovering,
    report: &mut RecoveryReport,
    read_only: bool,
    path: &Path,
    offset: u64,
    payload: &[u8],
) -> StorageResult<()> {
    let corrupt = |error| payload_corruption(path, offset, error);
    let mut ops = PayloadOps::new(payload).map_err(corrupt)?;
    if ops.base_sequence() <= core.manifest.flushed_sequence {
        report.records_skipped += 1;
        core.size_block_index(RECORD_HEADER_BYTES + payload.len());
        return Ok(());
    }
    // Validate the whole record before applying any of it. A record of one
    // op (every single write) is decoded once and applied as decoded; a
    // batch is decoded again to apply.
    let single = ops.remaining_ops() == 1;
    let mut first = None;
    for op in ops.by_ref() {
        let (sequence, op) = op.map_err(corrupt)?;
        op.validate()
            .map_err(|error| corrupt(PayloadError::Invalid(error)))?;
        if single {
            first = Some((sequence, op));
        }
    }
    ops.finish().map_err(corrupt)?;
    if !read_only && core.memtable[0].approximate_bytes() >= core.config.memtable_budget_bytes {
        core.flush()?;
        report.flushes_during_replay += 1;
    }
    match first {
        Some((sequence, op)) => core.apply(sequence, op)?,
        None => {
            for op in PayloadOps::new(payload).map_err(corrupt)? {
                let (sequence, op) = op.map_err(corrupt)?;
                core.apply(sequence, op)?;
            }
        }
    }
    report.records_applied += 1;
    core.size_block_index(RECORD_HEADER_BYTES + payload.len());
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

fn not_a_database(dir: &Path, reason: &str) -> StorageError {
    StorageError::NotADatabase {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Readies `dir` for its lock: a read-only open finds a database there, a
/// writable one creates it durably.
fn prepare_dir(vfs: &dyn Vfs, dir: &Path, read_only: bool) -> StorageResult<()> {
    if read_only {
        if !vfs.exists(dir)? {
            return Err(not_a_database(dir, "the directory does not exist"));
        }
        // Checked before locking, which would create `LOCK`.
        let names = vfs.list_dir(dir)?;
        if !names
            .iter()
            .filter_map(|name| classify(name))
            .any(|kind| kind == FileKind::Manifest || kind.is_wal_segment())
        {
            return Err(not_a_database(dir, "it has no MANIFEST and no WAL"));
        }
    } else {
        create_dir_durably(vfs, dir)?;
    }
    Ok(())
}

/// The manifest, or for a new database a fresh one (stored by a writable
/// open). A missing manifest beside table files is corruption.
fn load_manifest(
    vfs: &dyn Vfs,
    dir: &Path,
    inventory: &Inventory,
    read_only: bool,
) -> StorageResult<Manifest> {
    let manifest = match Manifest::load(vfs, dir)? {
        Some(manifest) => manifest,
        None if inventory.has_tables => {
            return Err(StorageError::corruption(
                Manifest::path(dir),
                0,
                "MANIFEST is missing but table files exist",
            ));
        }
        None if read_only && inventory.segments.is_empty() => {
            return Err(not_a_database(dir, "it has no MANIFEST and no WAL"));
        }
        None => {
            let fresh = Manifest {
                next_table_id: 1,
                flushed_sequence: 0,
                tables: Vec::new(),
            };
            if !read_only {
                fresh.store(vfs, dir)?;
            }
            fresh
        }
    };
    Ok(manifest)
}

/// Whether what replay put in the memtable may stay in its WAL segments
/// rather than go to a table: the replay was clean (nothing salvaged or
/// repaired, which a later replay would meet again), fit the memtable (no
/// table holds part of it) and applied something.
fn may_keep_in_wal(core: &Recovering, report: &RecoveryReport) -> bool {
    !core.memtable[0].is_empty()
        && report.flushes_during_replay == 0
        && report.wal.salvaged.is_empty()
        && report.wal.repaired.is_empty()
}

/// Makes the replayed log durable where it is: the bytes of its last
/// segment past the sync point its last record claims are written again
/// (the same bytes, as replay read them) and synced, and the file is cut
/// after its last record (preallocated zeros, or a torn tail). Every earlier byte already reached
/// the disk through a successful fsync (see [`LogEnd`]). What follows the
/// last record was truncated by replay (a torn tail) or is zeros.
///
/// Writing the bytes again is what makes the sync mean something: after a
/// failed fsync the kernel may have marked those pages clean without
/// writing them (fsyncgate), so syncing the file as it is could report
/// success with the bytes only in the page cache.
fn resync_log_end(vfs: &dyn Vfs, dir: &Path, log_end: LogEnd) -> StorageResult<()> {
    let mut file = vfs.open_file(&segment_path(dir, log_end.segment))?;
    let mut buffer = Vec::new();
    let mut offset = log_end.synced_through;
    while offset < log_end.end {
        let len = ((log_end.end - offset) as usize).min(READ_WINDOW_BYTES);
        buffer.resize(len, 0);
        file.read_exact_at(offset, &mut buffer)?;
        file.write_at(offset, &buffer)?;
        offset += len as u64;
    }
    // Always, even when the file already looks that long: a truncation of
    // a torn tail by an earlier open whose fsync failed is visible (the
    // length reads as cut) but may never reach the disk (fsyncgate), and
    // the torn bytes after it would come back at the next crash, in what
    // is then a sealed segment (simulator seed 174).
    file.set_len(log_end.end)?;
    file.sync_data()?;
    Ok(())
}

/// The end of a writable open: makes everything replayed durable, and
/// starts the next segment.
fn make_durable(
    core: &mut Recovering,
    report: &mut RecoveryReport,
    vfs: &Arc<dyn Vfs>,
    dir: &Path,
    segments: &[u64],
    log_end: Option<LogEnd>,
) -> StorageResult<WalWriter> {
    // What replay read may exist only in the page cache: after a failed
    // fsync the kernel can drop the dirty pages and report later syncs
    // as clean (fsyncgate), so re-syncing the old files proves nothing.
    if let Some(log_end) = log_end.filter(|_| may_keep_in_wal(core, report)) {
        // Only the last segment's unsynced part can be in that state:
        // write it again and sync it. The replayed segments stay; the
        // first flush of the memtable removes them (they are older than
        // the segment it rotates to). Writing a table here instead took
        // half of a large recovery (issue 26).
        resync_log_end(vfs.as_ref(), dir, log_end)?;
        core.manifest.store(vfs.as_ref(), dir)?;
        // Segments after the log's end hold nothing written.
        for id in &report.wal.empty_segments {
            let path = segment_path(dir, *id);
            if vfs.exists(&path)? {
                vfs.remove_file(&path)?;
            }
        }
        report.replayed_segments_kept = true;
    } else {
        // Write the recovered state into fresh files: flush the memtable
        // to a new table, and store the manifest anew.
        if core.memtable[0].is_empty() {
            core.manifest.store(vfs.as_ref(), dir)?;
        } else {
            core.flush()?;
            report.flushes_during_replay += 1;
        }
        // Every replayed write is now in a table: the old segments can go.
        for id in segments {
            let path = segment_path(dir, *id);
            if vfs.exists(&path)? {
                vfs.remove_file(&path)?;
            }
        }
    }
    vfs.sync_dir(dir)?;
    let next_segment = segments.last().map_or(1, |last| last + 1);
    let wal = WalWriter::create(
        Arc::clone(vfs),
        dir,
        next_segment,
        core.config.wal_segment_bytes,
        core.config.wal_buffer_bytes,
        core.config.background_worker,
    )?;
    write_lock_holder(
        vfs.as_ref(),
        dir,
        Some(&format!("writer pid {}", std::process::id())),
    );
    Ok(wal)
}

impl Database {
    /// Opens `dir` (creating it if needed) and recovers: the body of every
    /// writable or read-only open.
    pub(super) fn recover(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        config: Config,
        read_only: bool,
    ) -> StorageResult<Recovered> {
        config.validate()?;
        let dir = dir.to_path_buf();
        prepare_dir(vfs.as_ref(), &dir, read_only)?;
        let lock = take_lock(vfs.as_ref(), &dir, read_only)?;
        let inventory = take_inventory(vfs.as_ref(), &dir, read_only)?;
        let manifest = load_manifest(vfs.as_ref(), &dir, &inventory, read_only)?;
        let tables = load_tables(vfs.as_ref(), &dir, &manifest)?;
        let next_sequence = tables
            .iter()
            .map(|table| table.meta().max_sequence)
            .max()
            .unwrap_or(0)
            .max(manifest.flushed_sequence)
            + 1;
        let mut core = Recovering {
            vfs: Arc::clone(&vfs),
            dir: dir.clone(),
            memtable: vec![Memtable::new(config.memtable_budget_bytes)],
            config,
            tables,
            manifest,
            next_sequence,
            counters: Counters::default(),
            log_bytes: 0,
            replayed_bytes: 0,
            next_estimate_at: FIRST_ESTIMATE_BYTES,
        };
        let mut report = RecoveryReport {
            orphan_tables_removed: if read_only {
                Vec::new()
            } else {
                core.table_dir().remove_orphan_tables(&core.manifest)
            },
            ..RecoveryReport::default()
        };
        let salvage = core.config.wal_salvage;
        let log_bytes = std::cell::Cell::new(0);
        let (wal_report, log_end) = replay_segments(
            vfs.as_ref(),
            &dir,
            &inventory.segments,
            salvage,
            !read_only,
            &|payload| payload_is_valid(payload),
            |bytes| log_bytes.set(bytes),
            |path, offset, payload| {
                core.log_bytes = log_bytes.get();
                replay_record(&mut core, &mut report, read_only, path, offset, payload)
            },
        )?;
        report.wal = wal_report;
        if read_only {
            return Ok(core.finish(None, report, lock));
        }
        let wal = make_durable(
            &mut core,
            &mut report,
            &vfs,
            &dir,
            &inventory.segments,
            log_end,
        )?;
        Ok(core.finish(Some(wal), report, lock))
    }
}

impl Recovering {
    fn finish(self, wal: Option<WalWriter>, report: RecoveryReport, lock: FileLock) -> Recovered {
        let mut memtable = self.memtable;
        Recovered {
            vfs: self.vfs,
            dir: self.dir,
            config: self.config,
            memtable: memtable.remove(0),
            tables: self.tables,
            manifest: self.manifest,
            next_sequence: self.next_sequence,
            // Replay counted recovered writes; metrics count this session's.
            flushes: Counters::get(&self.counters.flushes),
            wal,
            report,
            lock,
        }
    }
}
