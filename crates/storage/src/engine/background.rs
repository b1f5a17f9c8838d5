//! Background work as steps: one step readies the next WAL segment and
//! presyncs the active one when due, then flushes the oldest frozen
//! memtable or, when none waits, runs one compaction merge. Production
//! drives them from three worker threads (WAL segments, flushes, merges:
//! a flush never waits behind a merge, nor a presync behind a flush); the simulator (with
//! `Config::background_worker` off) calls [`Database::run_background_step`]
//! at seeded points, so runs stay deterministic and crashes can land
//! inside a step.
//!
//! A flush holds `flush` and a merge `merge_lock` for their whole run; each
//! writes its table holding nothing else (its id taken from the manifest
//! under `background` first, and kept from orphan sweeps while it is
//! written), then, holding `background`, stores a manifest built from the
//! current one (a flush appends its table; a merge replaces its range,
//! whose positions only merges change) and installs it under `mem` with a
//! pointer swap. Snapshots taken before keep the old tables (and
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
use super::shared::{BackgroundState, Shared, lock};
use super::tables::{TableDir, TableError};
use crate::limits::MAX_LIVE_TABLES;
use crate::sstable::table_path;

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

    /// Takes the next table id for a table about to be written, and keeps
    /// it from orphan sweeps until [`Shared::end_table`]. Refuses when the
    /// manifest is full. The bumped `next_table_id` becomes durable with
    /// the next manifest stored; an id lost to a failure is only skipped.
    fn begin_table(&self, check_room: bool) -> StorageResult<u64> {
        let mut background = lock(&self.background);
        let count = background.manifest.tables.len();
        if check_room && count >= MAX_LIVE_TABLES {
            return Err(StorageError::TooManyTables {
                count,
                max: MAX_LIVE_TABLES,
            });
        }
        let id = background.manifest.next_table_id;
        background.manifest.next_table_id = id + 1;
        background.in_flight.push(id);
        Ok(id)
    }

    /// The table `id` is installed or given up.
    fn end_table(background: &mut BackgroundState, id: u64) {
        background.in_flight.retain(|in_flight| *in_flight != id);
    }

    /// Flushes the oldest frozen memtable, if any. Holds `flush` (flushes
    /// install in freeze order) but not `background` while it writes the
    /// table, so a running merge never holds it back; `background` only
    /// for the manifest replace and the install.
    pub fn flush_step(&self) -> StorageResult<bool> {
        let _flush = lock(&self.flush);
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
        let started = std::time::Instant::now();
        let written = match memtable.sequence_range() {
            Some((_, max_sequence)) => Some((self.write_flushed_table(&memtable)?, max_sequence)),
            None => None,
        };
        {
            // The manifest replace and the install under one `background`
            // hold: a merge installing meanwhile starts from both or
            // neither.
            let mut background = lock(&self.background);
            let table = match written {
                Some(((id, meta), max_sequence)) => {
                    let mut next = background.manifest.clone();
                    next.flushed_sequence = next.flushed_sequence.max(max_sequence);
                    next.tables.push(meta);
                    let path = table_path(&self.dir, id);
                    let installed = self.table_dir().install(&next, &path, id);
                    Self::end_table(&mut background, id);
                    let table = installed.map_err(|failure| self.background_failure(failure))?;
                    background.manifest = next;
                    Counters::add(&self.counters.flushes, 1);
                    Some(table)
                }
                None => None,
            };
            let mut mem = self.lock_mem();
            mem.memtables.pop();
            mem.frozen_segments.pop();
            if let Some(table) = table {
                let mut tables: Vec<Arc<Table>> = mem.tables.to_vec();
                tables.push(table);
                mem.tables = tables.into();
            }
            mem.invalidate();
            self.progress.notify_all();
        }
        // Read only by pacing, which runs only with a worker thread: the
        // simulator's runs never depend on this clock reading.
        let seconds = started.elapsed().as_secs_f64().max(1e-6);
        let rate = memtable.approximate_bytes() as f64 / seconds;
        self.flush_rate
            .store(rate as u64, std::sync::atomic::Ordering::Relaxed);
        self.remove_wal_segments_before(first_kept_segment);
        // A new table may make a compaction due.
        self.signal_work();
        Ok(true)
    }

    /// Writes `memtable` to a new table file (synced, its directory entry
    /// too) holding no lock; returns its id and metadata.
    fn write_flushed_table(
        &self,
        memtable: &crate::memtable::Memtable,
    ) -> StorageResult<(u64, crate::sstable::TableMeta)> {
        let dir = self.table_dir();
        let id = self.begin_table(true)?;
        match dir.write_table_file(memtable, id) {
            Ok(meta) => Ok((id, meta)),
            Err(error) => {
                dir.remove_quietly(&table_path(&self.dir, id));
                Self::end_table(&mut lock(&self.background), id);
                Err(error)
            }
        }
    }

    /// Runs one compaction merge, if one is due.
    pub fn compaction_step(&self) -> StorageResult<bool> {
        let _merge = lock(&self.merge_lock);
        self.health.check_writable()?;
        // Only holders of `merge_lock` remove tables; flushes only append,
        // so the range picked here keeps its positions until this step
        // installs its result.
        let tables = Arc::clone(&self.lock_mem().tables);
        let Some(range) = pick_compaction(&self.config, &tables) else {
            return Ok(false);
        };
        self.merge(&tables, range)?;
        Ok(true)
    }

    /// Merges every table into one, in bounded steps; false when there were
    /// no tables.
    pub fn compact_all(&self) -> StorageResult<bool> {
        let _merge = lock(&self.merge_lock);
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
            self.merge(&tables, 0..end)?;
        }
    }

    /// Merges `tables[range]` (the caller holds `merge_lock`): writes the
    /// merged table holding no lock, then, holding `background`, stores a
    /// manifest with the range replaced in the current table list (which
    /// flushes may have appended to meanwhile) and installs it.
    fn merge(
        &self,
        tables: &Arc<[Arc<Table>]>,
        range: std::ops::Range<usize>,
    ) -> StorageResult<()> {
        let dir = self.table_dir();
        let id = self.begin_table(false)?;
        let path = table_path(&self.dir, id);
        let meta = match dir.write_merged_table(tables, &range, id) {
            Ok(meta) => meta,
            Err(error) => {
                dir.remove_quietly(&path);
                Self::end_table(&mut lock(&self.background), id);
                return Err(error);
            }
        };
        let empty = meta.block_count == 0 && meta.edge_count == 0;
        let mut background = lock(&self.background);
        let mut next = background.manifest.clone();
        let same = next.tables.get(range.clone()).is_some_and(|current| {
            current
                .iter()
                .zip(&tables[range.clone()])
                .all(|(meta, table)| meta.id == table.meta().id)
        });
        if !same {
            // Cannot happen: only this step removes tables.
            dir.remove_quietly(&path);
            Self::end_table(&mut background, id);
            return Err(StorageError::corruption(
                crate::manifest::Manifest::path(&self.dir),
                0,
                "the tables of a running merge changed under it",
            ));
        }
        let replacement = if empty { Vec::new() } else { vec![meta] };
        next.tables.splice(range.clone(), replacement);
        let installed = if empty {
            let stored = dir.store_manifest(&next);
            dir.remove_quietly(&path);
            stored.map(|()| None)
        } else {
            dir.install(&next, &path, id).map(Some)
        };
        Self::end_table(&mut background, id);
        let table = installed.map_err(|failure| self.background_failure(failure))?;
        {
            let mut mem = self.lock_mem();
            let mut live: Vec<Arc<Table>> = mem.tables.to_vec();
            live.splice(range.clone(), table);
            mem.tables = live.into();
            mem.invalidate();
            self.progress.notify_all();
        }
        background.manifest = next;
        for table in &tables[range] {
            dir.remove_quietly(table.path());
        }
        self.remove_orphan_tables(&background);
        drop(background);
        let _ = self.vfs.sync_dir(&self.dir);
        Counters::add(&self.counters.compactions, 1);
        Ok(())
    }

    /// Removes table files that the manifest does not name and no running
    /// flush or merge is writing (left by a failure).
    fn remove_orphan_tables(&self, background: &BackgroundState) {
        let Ok(names) = self.vfs.list_dir(&self.dir) else {
            return;
        };
        for name in names {
            let Some(FileKind::Table { id }) = classify(&name) else {
                continue;
            };
            if background.manifest.tables.iter().any(|meta| meta.id == id)
                || background.in_flight.contains(&id)
            {
                continue;
            }
            self.table_dir().remove_quietly(&self.dir.join(name));
        }
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

/// What a worker thread runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerRole {
    /// Readies the next WAL segment and presyncs the active one: never
    /// behind a flush of seconds, or the rotation finds the segment dirty.
    Wal,
    /// Flushes frozen memtables.
    Flush,
    /// Runs compaction merges.
    Merge,
}

impl WorkerRole {
    pub fn thread_name(self) -> &'static str {
        match self {
            Self::Wal => "kausal-wal-prep",
            Self::Flush => "kausal-flush",
            Self::Merge => "kausal-compaction",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Wal => 0,
            Self::Flush => 1,
            Self::Merge => 2,
        }
    }

    /// One step of this worker's work; false when there was none.
    fn step(self, engine: &Shared) -> StorageResult<bool> {
        engine.health.check_writable()?;
        match self {
            Self::Wal => {
                engine.prepare_wal_segment()?;
                engine.presync_wal_segment()?;
                // Each is done until signalled again.
                Ok(false)
            }
            Self::Flush => engine.flush_step(),
            Self::Merge => engine.compaction_step(),
        }
    }
}

/// A worker thread's loop: wait for work, run steps until none is left,
/// back off after failures (they are counted and kept as the last
/// background error), stop when asked or when the engine is poisoned.
pub(crate) fn run_worker(shared: Weak<Shared>, role: WorkerRole) {
    let mut backoff = FIRST_RETRY_BACKOFF;
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        {
            let mut work = lock(&engine.work);
            while !work.pending[role.index()] && !work.stop {
                work = engine
                    .work_ready
                    .wait(work)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if work.stop {
                return;
            }
            work.pending[role.index()] = false;
        }
        loop {
            match role.step(&engine) {
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
