//! The write path: room in the memtable (freeze a full one, stall while
//! background work is behind), WAL append, apply, and group commit.
//!
//! Group commit: a writer that needs durability asks for its record's WAL
//! position to be synced. Under the `sync` lock it either finds the
//! position already covered by an fsync (and returns), or waits while
//! another writer's fsync runs and checks again, or becomes the leader: it
//! marks an fsync as running, writes the WAL buffer out under the `writer`
//! lock, then fsyncs holding neither lock, so writers that arrive
//! meanwhile append their records and are covered together by the next
//! fsync.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::config::SyncMode;
use crate::limits::{
    COMPACTION_STALL_FACTOR, GROUP_COMMIT_GATHER_MICROS, MAX_FROZEN_MEMTABLES, STALL_POLL_MILLIS,
};
use crate::memtable::Memtable;
use crate::metrics::Counters;
use crate::op::{Op, PAYLOAD_HEADER_BYTES, encode_payload};
use crate::wal::writer::WalWriter;
use crate::{StorageError, StorageResult};

use super::compaction::pick_compaction;
use super::shared::{MemState, Shared, Writer, lock};

/// Counts a writer inside `sync_to` from its creation to its drop.
struct InSyncGuard<'a>(&'a AtomicUsize);

impl<'a> InSyncGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for InSyncGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a write must wait before it may go on.
enum Room {
    Ready,
    /// The active memtable is full and may be frozen.
    Freeze,
    Stall,
}

impl Shared {
    fn room(&self, mem: &MemState) -> Room {
        let full = mem.active().approximate_bytes() >= self.config.memtable_budget_bytes;
        let compaction_behind = self.config.auto_compact
            && mem.tables.len() >= self.config.compaction_min_tables * COMPACTION_STALL_FACTOR
            && pick_compaction(&self.config, &mem.tables).is_some();
        if compaction_behind || (full && mem.frozen_count() >= MAX_FROZEN_MEMTABLES) {
            Room::Stall
        } else if full {
            Room::Freeze
        } else {
            Room::Ready
        }
    }

    /// Makes room for a write: freezes a full memtable, or waits while too
    /// many frozen memtables or tables wait for background work. Without a
    /// worker thread the waiting writer runs that work itself.
    fn make_room(&self, writer: &mut Writer) -> StorageResult<()> {
        let mut stall_started: Option<Instant> = None;
        let finish_stall = |started: Option<Instant>| {
            if let Some(started) = started {
                Counters::add(
                    &self.counters.write_stall_micros,
                    started.elapsed().as_micros() as u64,
                );
            }
        };
        loop {
            let mem = self.lock_mem();
            match self.room(&mem) {
                Room::Ready => {
                    finish_stall(stall_started);
                    return Ok(());
                }
                Room::Freeze => {
                    drop(mem);
                    finish_stall(stall_started);
                    return self.freeze(writer);
                }
                Room::Stall => {}
            }
            if stall_started.is_none() {
                stall_started = Some(Instant::now());
                Counters::add(&self.counters.write_stalls, 1);
            }
            if !self.config.background_worker {
                drop(mem);
                if let Err(error) = self.background_step() {
                    finish_stall(stall_started);
                    return Err(self.stalled(error));
                }
                continue;
            }
            let errors_before = Counters::get(&self.counters.background_errors);
            self.signal_work();
            let (mem, _) = self
                .progress
                .wait_timeout(mem, Duration::from_millis(STALL_POLL_MILLIS))
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            drop(mem);
            self.health.check_writable()?;
            if Counters::get(&self.counters.background_errors) > errors_before {
                finish_stall(stall_started);
                let failure = self.health.last_background_error();
                let reason = failure.as_ref().map(|f| f.reason.clone());
                return Err(
                    self.stall_error(reason.unwrap_or_default(), failure.and_then(|f| f.kind))
                );
            }
        }
    }

    fn stalled(&self, error: StorageError) -> StorageError {
        if self.health.is_poisoned() {
            return error;
        }
        self.note_background_error(&error);
        self.stall_error(error.to_string(), error.io_kind())
    }

    fn stall_error(&self, reason: String, kind: Option<std::io::ErrorKind>) -> StorageError {
        let mem = self.lock_mem();
        StorageError::WriteStalled {
            memtable_bytes: mem.memtables.iter().map(Memtable::approximate_bytes).sum(),
            reason,
            kind,
        }
    }

    /// Freezes the active memtable: later writes go to a new WAL segment and
    /// a new memtable; the frozen one stays readable until its flush.
    pub fn freeze(&self, writer: &mut Writer) -> StorageResult<()> {
        if self.lock_mem().active().is_empty() {
            return Ok(());
        }
        // Every older segment then holds only writes of frozen memtables.
        // The rotation does not fsync the old segment (the WAL flusher or
        // the next inline write does, before the new one gets a byte).
        let first_kept_segment = self.wal_step(writer, WalWriter::rotate)?;
        {
            let mut mem = self.lock_mem();
            let fresh = Memtable::new(self.config.memtable_budget_bytes);
            let full = std::mem::replace(&mut mem.memtables[0], fresh);
            mem.memtables.insert(1, full);
            mem.frozen_segments.insert(0, first_kept_segment);
            mem.invalidate();
        }
        self.signal_work();
        Ok(())
    }

    /// Logs `ops` as one WAL record, applies them, and syncs per the sync
    /// mode. Returns the sequence of the last op.
    pub fn commit(&self, ops: &[Op<'_>]) -> StorageResult<u64> {
        if self.read_only {
            return Err(self.read_only_error());
        }
        self.health.check_writable()?;
        let (last_sequence, sync_to, pause) = {
            let mut writer = self.lock_writer();
            if writer.closed {
                return Err(StorageError::Closed {
                    dir: self.dir.clone(),
                });
            }
            self.health.check_writable()?;
            if ops.is_empty() {
                return Ok(writer.next_sequence - 1);
            }
            self.make_room(&mut writer)?;
            if ops.iter().any(|op| matches!(op, Op::DeleteBlock(_))) {
                self.lock_mem().check_deletes(ops)?;
            }
            let base_sequence = writer.next_sequence;
            let count = ops.len() as u32;
            let payload_len = PAYLOAD_HEADER_BYTES + ops.iter().map(Op::encoded_len).sum::<usize>();
            let segment_before = writer.wal.as_ref().map(WalWriter::segment_id);
            self.wal_step(&mut writer, |wal| {
                wal.append(payload_len, |buffer| {
                    encode_payload(base_sequence, ops.iter().copied(), count, buffer)
                })
            })?;
            if writer.wal.as_ref().map(WalWriter::segment_id) != segment_before
                || writer.wal.as_mut().is_some_and(WalWriter::presync_due)
            {
                // A full segment rotated (the worker readies the next one),
                // or enough went to the active one for a presync.
                self.signal_work();
            }
            let behind = {
                let mut mem = self.lock_mem();
                for (offset, op) in ops.iter().enumerate() {
                    if let Err(error) =
                        mem.apply(base_sequence + offset as u64, *op, &self.counters)
                    {
                        // Logged but not applied (a page `check_deletes`
                        // did not read, in a table installed since): the
                        // memtable no longer matches the log, and part of
                        // the batch is applied: refuse reads as well.
                        self.health.poison(&error, true);
                        return Err(error);
                    }
                }
                mem.frozen_count() >= MAX_FROZEN_MEMTABLES
            };
            let pause = self.pace(&mut writer, payload_len as u64, behind);
            let last_sequence = base_sequence + ops.len() as u64 - 1;
            writer.next_sequence = last_sequence + 1;
            Counters::add(&self.counters.batches_committed, 1);
            let wal = writer.wal.as_ref();
            let sync_now = match self.config.sync_mode {
                SyncMode::EveryWrite => true,
                SyncMode::Manual => false,
                SyncMode::EveryBytes(limit) => wal.is_some_and(|wal| wal.unsynced_bytes() >= limit),
            };
            (
                last_sequence,
                sync_now.then(|| wal.map(WalWriter::position)).flatten(),
                pause,
            )
        };
        if let Some(pause) = pause {
            // Outside the writer lock: other writers and the background
            // steps never wait for a paced writer.
            std::thread::sleep(pause);
            Counters::add(&self.counters.write_pauses, 1);
            Counters::add(&self.counters.write_pause_micros, pause.as_micros() as u64);
        }
        if let Some(position) = sync_to {
            self.sync_to(position)?;
        }
        Ok(last_sequence)
    }

    /// The pause a writer takes after appending `bytes` (see `pacing`):
    /// only with the background worker, while `behind` (the most frozen
    /// memtables wait) and a flush rate is known.
    fn pace(&self, writer: &mut Writer, bytes: u64, behind: bool) -> Option<Duration> {
        if !self.config.background_worker {
            return None;
        }
        let rate = self.flush_rate.load(Ordering::Relaxed);
        let ahead = (behind && rate > 0).then_some(rate as f64);
        writer.pacer.after_append(bytes, ahead)
    }

    /// Makes the WAL durable up to `position` (group commit, see above).
    /// The `sync` lock is never held across the fsync: a writer whose
    /// record the running fsync covers returns as soon as it ends, and one
    /// it does not cover waits for it and then leads the next.
    pub fn sync_to(&self, position: (u64, u64)) -> StorageResult<()> {
        let _in_sync = InSyncGuard::new(&self.in_sync);
        let mut state = lock(&self.sync);
        loop {
            self.health.check_writable()?;
            if state.synced >= position {
                Counters::add(&self.counters.group_commit_followers, 1);
                return Ok(());
            }
            if !state.in_progress {
                break;
            }
            state = self
                .sync_done
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.in_progress = true;
        let expected_group = state.last_group;
        drop(state);
        let synced = self.lead_sync(expected_group);
        let mut state = lock(&self.sync);
        state.in_progress = false;
        if let Ok((position, group)) = synced {
            state.synced = state.synced.max(position);
            state.last_group = group;
        }
        drop(state);
        self.sync_done.notify_all();
        synced.map(|_| ())
    }

    /// The leader's part: when other writers were waiting as the last
    /// fsync ended (durable writers are running concurrently), wait
    /// `GROUP_COMMIT_GATHER_MICROS` so that the ones just woken append
    /// their next records and share this fsync (PostgreSQL's
    /// `commit_delay`/`commit_siblings` rule); then write the WAL buffer
    /// out under the writer lock, fsync without it, and record the new
    /// durable position. Returns it with the number of writers inside
    /// `sync_to` when the fsync ended.
    fn lead_sync(&self, expected_group: usize) -> StorageResult<((u64, u64), usize)> {
        if expected_group > 1 {
            let deadline = Instant::now() + Duration::from_micros(GROUP_COMMIT_GATHER_MICROS);
            while Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        let job = {
            let mut writer = self.lock_writer();
            self.wal_step(&mut writer, WalWriter::prepare_sync)?
        };
        if let Err(error) = job.run() {
            // fsyncgate: the kernel may have dropped the dirty pages.
            self.health.poison(&error, true);
            return Err(error);
        }
        Counters::add(&self.counters.wal_syncs, 1);
        if let Some(wal) = self.lock_writer().wal.as_mut() {
            wal.mark_synced(job.position);
        }
        // Writers that queued up during this fsync (and the leader): how
        // many the next one should expect to share it.
        let group = self.in_sync.load(Ordering::Acquire).max(1);
        Ok((job.position, group))
    }

    /// Syncs everything appended so far.
    pub fn sync_all(&self) -> StorageResult<()> {
        if self.read_only {
            return Err(self.read_only_error());
        }
        self.health.check_writable()?;
        let position = {
            let writer = self.lock_writer();
            match writer.wal.as_ref() {
                Some(wal) => wal.position(),
                None => return Err(self.read_only_error()),
            }
        };
        self.sync_to(position)
    }
}
