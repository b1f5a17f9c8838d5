//! Background work as steps: one step flushes the oldest frozen memtable
//! or, when none waits, runs one compaction merge. Production drives steps
//! from a worker thread; the simulator (with `Config::background_worker`
//! off) calls [`Database::run_background_step`] at seeded points, so runs
//! stay deterministic and crashes can land inside a step.
//!
//! A step takes the `background` lock for its whole run (one flush or merge
//! at a time, and the manifest is its own), builds the new table without
//! holding anything readers or writers need, and installs it under `mem`
//! with a pointer swap. Snapshots taken before keep the old tables (and
//! their maps) alive; files of merged tables are removed at once, which is
//! safe because a map outlives the removal of its file.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::files::{FileKind, classify};
use crate::metrics::Counters;
use crate::sstable::reader::Table;
use crate::{StorageError, StorageResult};

use super::Database;
use super::compaction::pick_compaction;
use super::shared::{Shared, lock};
use super::tables::{TableDir, TableError};

/// Longest pause of the worker after a failed step before it retries.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// First pause of the worker after a failed step.
const FIRST_RETRY_BACKOFF: Duration = Duration::from_millis(10);

impl Shared {
    fn table_dir(&self) -> TableDir<'_> {
        TableDir {
            vfs: &self.vfs,
            dir: &self.dir,
        }
    }

    /// Turns a flush or compaction failure into a `StorageError`: a failed
    /// manifest replace (after its rename began) poisons writes; anything
    /// else changed nothing durable and is only reported.
    fn background_failure(&self, (error, manifest_unknown): TableError) -> StorageError {
        if manifest_unknown {
            self.health.poison(&error, false);
        }
        error
    }

    /// Counts and records a failed step that a writer or the worker survived.
    pub fn note_background_error(&self, error: &StorageError) {
        Counters::add(&self.counters.background_errors, 1);
        self.health.set_background_error(error);
        // Stalled writers decide whether to give up.
        let _mem = self.lock_mem();
        self.progress.notify_all();
    }

    /// One unit of background work; false when there was none. Every step
    /// first makes the next WAL segment ready when it is not, and fsyncs
    /// the active one when enough went to it (each cheap when not due; not
    /// counted as work).
    pub fn background_step(&self) -> StorageResult<bool> {
        if self.read_only {
            return Ok(false);
        }
        self.health.check_writable()?;
        self.prepare_wal_segment()?;
        self.presync_wal_segment()?;
        if self.flush_step()? {
            return Ok(true);
        }
        if self.config.auto_compact {
            return self.compaction_step();
        }
        Ok(false)
    }

    /// Creates the next WAL segment ahead of time (see `wal::spare`), so
    /// that the writer's next rotation does not create one while it holds
    /// the writer lock. A failed fsync poisons the engine as a failed WAL
    /// sync does (the kernel may have dropped other dirty pages or entries
    /// of the directory); any other failure (a full disk) is left to the
    /// writer, which then creates the segment itself and reports what
    /// fails there: failing the step would also hold back the flush that
    /// frees WAL space.
    pub fn prepare_wal_segment(&self) -> StorageResult<()> {
        let Some(spare) = &self.wal_spare else {
            return Ok(());
        };
        match spare.prepare() {
            Ok(_) => Ok(()),
            Err(failure) if failure.sync_failed => {
                self.health.poison(&failure.error, true);
                Err(failure.error)
            }
            Err(_) => Ok(()),
        }
    }

    /// Fsyncs the active WAL segment when enough went to it since the last
    /// time (see `wal::spare`), so that the fsync its rotation needs finds
    /// little dirty. A failure is a failed WAL fsync (fsyncgate): it
    /// poisons writes and reads.
    pub fn presync_wal_segment(&self) -> StorageResult<()> {
        let Some(spare) = &self.wal_spare else {
            return Ok(());
        };
        if let Err(error) = spare.presync() {
            self.health.poison(&error, true);
            return Err(error);
        }
        Ok(())
    }

    /// Flushes the oldest frozen memtable, if any.
    pub fn flush_step(&self) -> StorageResult<bool> {
        let mut background = lock(&self.background);
        self.health.check_writable()?;
        let (memtable, first_kept_segment) = {
            let mem = self.lock_mem();
            let frozen = mem.frozen_count();
            if frozen == 0 {
                return Ok(false);
            }
            (
                mem.memtables[frozen].clone(),
                mem.frozen_segments[frozen - 1],
            )
        };
        let flushed = self
            .table_dir()
            .flush_memtable(&background.manifest, &memtable)
            .map_err(|failure| self.background_failure(failure))?;
        {
            let mut mem = self.lock_mem();
            mem.memtables.pop();
            mem.frozen_segments.pop();
            if let Some((_, table)) = &flushed {
                let mut tables: Vec<Arc<Table>> = mem.tables.to_vec();
                tables.push(Arc::clone(table));
                mem.tables = tables.into();
            }
            mem.dirty = true;
            self.progress.notify_all();
        }
        if let Some((manifest, _)) = flushed {
            background.manifest = manifest;
            Counters::add(&self.counters.flushes, 1);
        }
        drop(background);
        self.remove_wal_segments_before(first_kept_segment);
        // A new table may make a compaction due.
        self.signal_work();
        Ok(true)
    }

    /// Runs one compaction merge, if one is due.
    pub fn compaction_step(&self) -> StorageResult<bool> {
        let mut background = lock(&self.background);
        self.health.check_writable()?;
        // Only holders of `background` change the table list, so it stays
        // as read here until this step installs its result.
        let tables = Arc::clone(&self.lock_mem().tables);
        let Some(range) = pick_compaction(&self.config, &tables) else {
            return Ok(false);
        };
        self.merge(&mut background, &tables, range)?;
        Ok(true)
    }

    /// Merges every table into one, in bounded steps; false when there were
    /// no tables.
    pub fn compact_all(&self) -> StorageResult<bool> {
        let mut background = lock(&self.background);
        self.health.check_writable()?;
        if self.lock_mem().tables.is_empty() {
            return Ok(false);
        }
        loop {
            let tables = Arc::clone(&self.lock_mem().tables);
            if tables.len() <= 1 {
                return Ok(true);
            }
            let end = tables.len().min(crate::limits::MAX_TABLES_PER_COMPACTION);
            self.merge(&mut background, &tables, 0..end)?;
        }
    }

    fn merge(
        &self,
        background: &mut super::shared::BackgroundState,
        tables: &Arc<[Arc<Table>]>,
        range: std::ops::Range<usize>,
    ) -> StorageResult<()> {
        let dir = self.table_dir();
        let merged = dir
            .merge_tables(&background.manifest, tables, range.clone())
            .map_err(|failure| self.background_failure(failure))?;
        let old_paths: Vec<_> = tables[range.clone()]
            .iter()
            .map(|table| table.path().to_path_buf())
            .collect();
        {
            let mut mem = self.lock_mem();
            let mut next: Vec<Arc<Table>> = mem.tables.to_vec();
            next.splice(range, merged.table);
            mem.tables = next.into();
            mem.dirty = true;
            self.progress.notify_all();
        }
        background.manifest = merged.manifest;
        for path in old_paths {
            dir.remove_quietly(&path);
        }
        dir.remove_orphan_tables(&background.manifest);
        let _ = self.vfs.sync_dir(&self.dir);
        Counters::add(&self.counters.compactions, 1);
        Ok(())
    }

    /// When every write is in a table (no frozen memtable, an empty active
    /// one), removes every segment older than the active one: an earlier
    /// flush may have failed to remove them (SIM-FINDINGS f).
    pub fn remove_flushed_wal_segments(&self) {
        let active_segment = {
            let writer = self.lock_writer();
            let mem = self.lock_mem();
            if mem.frozen_count() > 0 || !mem.active().is_empty() {
                return;
            }
            writer.wal.as_ref().map(|wal| wal.segment_id())
        };
        if let Some(active) = active_segment {
            self.remove_wal_segments_before(active);
        }
    }

    /// Removes WAL segments older than `first_kept`: every write they hold
    /// is in a table.
    pub fn remove_wal_segments_before(&self, first_kept: u64) {
        let Ok(names) = self.vfs.list_dir(&self.dir) else {
            return;
        };
        let mut removed = false;
        for name in names {
            if matches!(classify(&name), Some(FileKind::WalSegment { id }) if id < first_kept) {
                // A segment left behind is harmless: replay skips records
                // the tables already hold, and the next flush retries.
                self.table_dir().remove_quietly(&self.dir.join(name));
                removed = true;
            }
        }
        if removed {
            let _ = self.vfs.sync_dir(&self.dir);
        }
    }
}

/// The worker thread's loop: wait for work, run steps until none is left,
/// back off after failures (they are counted and kept as the last
/// background error), stop when asked or when the engine is poisoned.
pub(crate) fn run_worker(shared: Weak<Shared>) {
    let mut backoff = FIRST_RETRY_BACKOFF;
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        {
            let mut work = lock(&engine.work);
            while !work.pending && !work.stop {
                work = engine
                    .work_ready
                    .wait(work)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if work.stop {
                return;
            }
            work.pending = false;
        }
        loop {
            match engine.background_step() {
                Ok(true) => backoff = FIRST_RETRY_BACKOFF,
                Ok(false) => break,
                Err(error) => {
                    if engine.health.is_poisoned() {
                        return;
                    }
                    engine.note_background_error(&error);
                    // Sleep on the work signal so `stop` still wakes us.
                    let work = lock(&engine.work);
                    let (work, _) = engine
                        .work_ready
                        .wait_timeout(work, backoff)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if work.stop {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_RETRY_BACKOFF);
                }
            }
        }
    }
}

impl Database {
    /// Runs one unit of background work (flush the oldest frozen memtable,
    /// else one compaction merge when `auto_compact` is on) on the calling
    /// thread; false when there was nothing to do. With
    /// `Config::background_worker` off, this is how flushes and compactions
    /// happen (besides stalled writes, `flush` and `compact`); with it on,
    /// calling it is allowed and just competes with the worker.
    pub fn run_background_step(&self) -> StorageResult<bool> {
        self.shared().background_step()
    }
}
