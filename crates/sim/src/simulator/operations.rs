//! Operations sent to the engine: writes (single or batched), invalid
//! puts, maintenance calls and background steps, each with the model
//! updated by its outcome and the errors a fault may cause accepted.

use std::collections::BTreeSet;

use kausal_storage::{BlockId, ContextBlock, Database, StorageError, SyncMode, WriteBatch};

use crate::model::{ModelBlock, Mutation};
use crate::workload::ScheduledFailure;

use super::{Runner, Stop};

fn to_block(id: BlockId, block: &ModelBlock) -> ContextBlock {
    ContextBlock::new(id, &block.source_uri, &block.metadata_json, &block.content)
}

impl Runner {
    fn touched(mutations: &[Mutation]) -> BTreeSet<BlockId> {
        let mut ids = BTreeSet::new();
        for mutation in mutations {
            match mutation {
                Mutation::PutBlock(id, _) | Mutation::DeleteBlock(id) => {
                    ids.insert(*id);
                }
                Mutation::PutEdge(edge) | Mutation::DeleteEdge(edge) => {
                    ids.insert(edge.source);
                    ids.insert(edge.target);
                }
            }
        }
        ids
    }

    /// Sends one write to the engine (as one action of the run) and updates
    /// the model by its outcome.
    pub fn write(&mut self, mutations: Vec<Mutation>, as_batch: bool) -> Result<(), Stop> {
        self.op += 1;
        self.advance_pressure();
        self.write_inner(mutations, as_batch)
    }

    pub(super) fn write_inner(
        &mut self,
        mutations: Vec<Mutation>,
        as_batch: bool,
    ) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let before = engine.metrics();
        let result = if as_batch || mutations.len() != 1 {
            let mut batch = WriteBatch::new();
            for mutation in &mutations {
                let added = match mutation {
                    Mutation::PutBlock(id, block) => batch.put_block(to_block(*id, block)),
                    Mutation::DeleteBlock(id) => batch.delete_block(*id),
                    Mutation::PutEdge(edge) => batch.put_edge(*edge),
                    Mutation::DeleteEdge(edge) => batch.delete_edge(*edge),
                };
                if let Err(error) = added {
                    return Err(Stop::Failure {
                        op: 0,
                        message: format!("valid batch op rejected: {error}"),
                    });
                }
            }
            engine.write_batch(&batch)
        } else {
            match &mutations[0] {
                Mutation::PutBlock(id, block) => engine.put_block_fields(
                    *id,
                    &block.source_uri,
                    &block.metadata_json,
                    &block.content,
                ),
                Mutation::DeleteBlock(id) => engine.delete_block(*id),
                Mutation::PutEdge(edge) => engine.put_edge(*edge),
                Mutation::DeleteEdge(edge) => engine.delete_edge(*edge),
            }
        };
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!("    -> {result:?} poisoned={poisoned}");
        }
        // A new WAL segment (a freeze of the full memtable, or a full
        // segment) no longer makes the writes before it durable: the old
        // segment is fsynced only before the first byte goes to the new
        // one's file (issue 26), so nothing is marked durable here.
        let touched = Self::touched(&mutations);
        match result {
            Ok(sequence) => {
                // One sequence per op, consecutive, right after the last
                // acknowledged write.
                let expected = self.last_sequence + mutations.len() as u64;
                if sequence != expected {
                    return Err(self.fail(format!(
                        "write of {} ops acknowledged with sequence {sequence}, expected {expected}",
                        mutations.len()
                    )));
                }
                self.last_sequence = sequence;
                self.model.acknowledge(mutations);
                if self.config.sync_mode() == SyncMode::EveryWrite {
                    self.model.mark_durable();
                }
            }
            Err(error) => {
                self.expect_fault_error(&error)?;
                if poisoned {
                    self.model.record_maybe(mutations);
                    self.check_poisoned_engine(&engine)?;
                    // This handle must go too: the directory lock is released
                    // when the last one drops.
                    drop(engine);
                    return self.restart(self.op.is_multiple_of(2));
                }
                let next = engine.metrics().next_sequence;
                if next != self.last_sequence + 1 {
                    return Err(self.fail(format!(
                        "a failed write that did not poison the engine moved its next sequence \
                         to {next} (last acknowledged {})",
                        self.last_sequence
                    )));
                }
            }
        }
        self.stats.stall_flushes += engine.metrics().flushes - before.flushes;
        for id in touched {
            self.check_id(id)?;
        }
        Ok(())
    }

    /// Accepts the errors a fault can cause; anything else is a failure.
    fn expect_fault_error(&self, error: &StorageError) -> Result<(), Stop> {
        match error {
            // WriteStalled: flushes keep failing (a full disk); the write
            // was refused before anything was logged.
            StorageError::Io(_)
            | StorageError::Poisoned { .. }
            | StorageError::WriteStalled { .. } => Ok(()),
            StorageError::Corruption { .. } => Err(self.read_error(error, "write")),
            other => Err(self.fail(format!("write failed with a non-fault error: {other}"))),
        }
    }

    /// Runs a maintenance call; a poisoning failure forces a restart.
    pub(super) fn maintenance(
        &mut self,
        call: impl FnOnce(&Database) -> Result<(), StorageError>,
        durable_on_success: bool,
    ) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let result = call(&engine);
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!("    -> {result:?} poisoned={poisoned}");
        }
        match result {
            Ok(()) => {
                if durable_on_success {
                    self.model.mark_durable();
                }
                Ok(())
            }
            Err(error) => self.maintenance_failed(engine, &error, poisoned),
        }
    }

    /// After a failed flush, compaction, sync or background step: a
    /// poisoning failure restarts the engine (after checking what the
    /// poisoned engine still serves); any other must have changed nothing
    /// a reader sees, through a new snapshot or an open one.
    fn maintenance_failed(
        &mut self,
        engine: Database,
        error: &StorageError,
        poisoned: bool,
    ) -> Result<(), Stop> {
        self.expect_fault_error(error)?;
        if poisoned {
            self.check_poisoned_engine(&engine)?;
            // The directory lock goes with the last handle.
            drop(engine);
            return self.restart(!self.op.is_multiple_of(2));
        }
        self.check_all()?;
        self.check_open_snapshots()
    }

    /// Runs one background step, with a failure (or power loss) scheduled
    /// inside it when `fail_at` says so, and checks its outcome like any
    /// maintenance call; after a power loss the engine is recovered.
    pub(super) fn background_step(
        &mut self,
        fail_at: Option<ScheduledFailure>,
    ) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let before = engine.metrics();
        let crashes_before = self.vfs.counts().crashes;
        if let Some(failure) = fail_at {
            self.vfs.schedule_failure(failure.at, failure.crash);
        }
        let result = engine.run_background_step();
        let fired = fail_at.is_some() && !self.vfs.cancel_scheduled_failure();
        let crashed = self.vfs.counts().crashes > crashes_before;
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!(
                "    -> {result:?} poisoned={poisoned} scheduled failure fired={fired} crashed={crashed} \
                 (frozen memtables before: {})",
                before.frozen_memtables
            );
        }
        if fired {
            self.stats.step_failures_fired += 1;
        }
        match &result {
            Ok(true) if before.frozen_memtables > 0 => self.stats.step_flushes += 1,
            Ok(true) => self.stats.step_merges += 1,
            Ok(false) => self.stats.idle_steps += 1,
            Err(_) => self.stats.failed_steps += 1,
        }
        if let Err(error) = &result {
            self.expect_fault_error(error)?;
        }
        if crashed {
            // The power went out inside the step: what the engine still
            // holds in memory must stay consistent until it is dropped.
            self.stats.step_crashes += 1;
            if poisoned {
                self.check_poisoned_engine(&engine)?;
            } else {
                self.check_open_snapshots()?;
            }
            drop(engine);
            return self.reopen_after(true);
        }
        match result {
            Ok(did_work) => {
                let after = engine.metrics();
                if did_work && before.frozen_memtables > 0 {
                    if after.frozen_memtables + 1 != before.frozen_memtables {
                        return Err(self.fail(format!(
                            "a flush step left {} frozen memtables of {}",
                            after.frozen_memtables, before.frozen_memtables
                        )));
                    }
                } else if did_work && after.compactions != before.compactions + 1 {
                    return Err(self.fail("a compaction step merged nothing"));
                }
                Ok(())
            }
            Err(error) => self.maintenance_failed(engine, &error, poisoned),
        }
    }

    pub(super) fn invalid_put(&mut self, zero_id: bool) -> Result<(), Stop> {
        let (id, metadata) = if zero_id {
            (BlockId::default(), "{}")
        } else {
            (BlockId::from_u128(1), "[\"not an object\"]")
        };
        let engine = self.engine()?;
        let result = engine.put_block_fields(id, "u", metadata, "c");
        match result {
            Err(StorageError::ZeroBlockId) if zero_id => {}
            Err(StorageError::InvalidMetadata { .. }) if !zero_id => {}
            other => return Err(self.fail(format!("invalid put gave {other:?}"))),
        }
        self.check_id(BlockId::from_u128(1))
    }
}
