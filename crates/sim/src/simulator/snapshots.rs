//! Snapshots kept open across writes, background steps, flushes and
//! compactions: taking them, and checking each against the model state of
//! the moment it was taken.

use std::collections::BTreeSet;

use kausal_storage::{BlockId, Database, Snapshot, StorageError};

use crate::model::ModelState;
use crate::workload::SNAPSHOT_SLOTS;

use super::check::model_block;
use super::{Runner, Stop};

/// An open snapshot and what it must show.
pub(super) struct OpenSnapshot {
    snapshot: Snapshot,
    /// The model state when it was taken.
    expected: ModelState,
    /// Flushes plus compactions the engine had completed when it was taken.
    background_work: u64,
}

/// What a snapshot check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SnapshotCheck {
    /// Every read answered the expected state.
    Matched,
    /// Reads were refused with `Poisoned` (the engine is poisoned).
    Refused,
}

impl Runner {
    /// Takes a snapshot into `slot`; its sequence must be the last
    /// acknowledged write's, and never below an earlier snapshot's.
    pub(super) fn take_snapshot(&mut self, slot: usize) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let snapshot = engine.snapshot();
        let sequence = snapshot.sequence();
        if sequence != self.last_sequence || sequence < self.last_snapshot_sequence {
            return Err(self.fail(format!(
                "snapshot taken at sequence {sequence}: last acknowledged write {}, last snapshot {}",
                self.last_sequence, self.last_snapshot_sequence
            )));
        }
        self.last_snapshot_sequence = sequence;
        let metrics = engine.metrics();
        self.snapshots[slot % SNAPSHOT_SLOTS] = Some(OpenSnapshot {
            snapshot,
            expected: self.model.current().clone(),
            background_work: metrics.flushes + metrics.compactions,
        });
        self.stats.snapshots_taken += 1;
        Ok(())
    }

    /// Checks the snapshot in `slot`, if one is open there.
    pub(super) fn check_snapshot_slot(&mut self, slot: usize) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let Some(open) = &self.snapshots[slot % SNAPSHOT_SLOTS] else {
            return Ok(());
        };
        let outcome = self.check_snapshot(&engine, &open.snapshot, &open.expected, slot)?;
        if outcome == SnapshotCheck::Matched {
            let metrics = engine.metrics();
            if metrics.flushes + metrics.compactions > open.background_work {
                self.stats.snapshot_checks_across_changes += 1;
            }
        }
        self.count_check(outcome);
        Ok(())
    }

    fn count_check(&mut self, outcome: SnapshotCheck) {
        match outcome {
            SnapshotCheck::Matched => self.stats.snapshot_checks += 1,
            SnapshotCheck::Refused => self.stats.snapshot_reads_refused += 1,
        }
    }

    /// Checks every open snapshot.
    pub(super) fn check_open_snapshots(&mut self) -> Result<(), Stop> {
        for slot in 0..SNAPSHOT_SLOTS {
            self.check_snapshot_slot(slot)?;
        }
        Ok(())
    }

    /// A poisoned engine either refuses reads with `Poisoned` or serves
    /// exactly the acknowledged state (a failed manifest replace poisons
    /// writes only): checked on every open snapshot and on a new one, which
    /// must not show the failed write that poisoned it.
    pub(super) fn check_poisoned_engine(&mut self, engine: &Database) -> Result<(), Stop> {
        self.check_open_snapshots()?;
        let fresh = engine.snapshot();
        let expected = self.model.current().clone();
        let outcome = self.check_snapshot(engine, &fresh, &expected, SNAPSHOT_SLOTS)?;
        self.count_check(outcome);
        Ok(())
    }

    /// Compares everything `snapshot` shows with `expected`, faults off.
    fn check_snapshot(
        &self,
        engine: &Database,
        snapshot: &Snapshot,
        expected: &ModelState,
        slot: usize,
    ) -> Result<SnapshotCheck, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.check_snapshot_inner(engine, snapshot, expected, slot);
        self.vfs.set_faults_enabled(true);
        result
    }

    fn check_snapshot_inner(
        &self,
        engine: &Database,
        snapshot: &Snapshot,
        expected: &ModelState,
        slot: usize,
    ) -> Result<SnapshotCheck, Stop> {
        let name = format!("snapshot {slot} at sequence {}", snapshot.sequence());
        // `Err(None)`: reads refused on a poisoned engine, as they must be.
        let refused = |error: StorageError, what: &str| -> Result<SnapshotCheck, Stop> {
            if matches!(error, StorageError::Poisoned { .. }) && engine.is_poisoned() {
                return Ok(SnapshotCheck::Refused);
            }
            Err(self.read_error(&error, &format!("{name}: {what}")))
        };
        let mut blocks = std::collections::BTreeMap::new();
        match snapshot.iterate_blocks() {
            Ok(views) => {
                for view in views {
                    match view {
                        Ok(view) => {
                            blocks.insert(view.id, model_block(&view));
                        }
                        Err(error) => return refused(error, "iterate_blocks"),
                    }
                }
            }
            Err(error) => return refused(error, "iterate_blocks"),
        }
        if blocks != expected.blocks {
            let differing: Vec<u128> = blocks
                .keys()
                .chain(expected.blocks.keys())
                .filter(|id| blocks.get(id) != expected.blocks.get(id))
                .map(|id| id.as_u128())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .take(5)
                .collect();
            return Err(self.fail(format!(
                "{name}: iterate_blocks shows {} blocks, the model at its sequence {} \
                 (differing ids {differing:?})",
                blocks.len(),
                expected.blocks.len()
            )));
        }
        let ids = (1..=self.id_space)
            .map(BlockId::from_u128)
            .chain(self.extra_ids.iter().copied());
        for id in ids {
            let want = expected.blocks.get(&id);
            let found = match snapshot.find_block(id) {
                Ok(found) => found.map(|view| model_block(&view)),
                Err(error) => return refused(error, &format!("find_block {id}")),
            };
            if found.as_ref() != want {
                return Err(self.fail(format!(
                    "{name}: block {id}: snapshot has {:?}, model has {:?}",
                    found.as_ref().map(|b| (b.content.len(), &b.source_uri)),
                    want.map(|b| (b.content.len(), &b.source_uri))
                )));
            }
            match snapshot.block_exists(id) {
                Ok(exists) if exists == want.is_some() => {}
                Ok(exists) => {
                    return Err(self.fail(format!(
                        "{name}: block_exists({id}) is {exists}, find_block agrees with the model"
                    )));
                }
                Err(error) => return refused(error, &format!("block_exists {id}")),
            }
            let outgoing = match snapshot.find_outgoing_edges(id) {
                Ok(edges) => edges,
                Err(error) => return refused(error, &format!("edges from {id}")),
            };
            if outgoing != expected.outgoing(id) {
                return Err(self.fail(format!(
                    "{name}: outgoing edges of {id}: snapshot {outgoing:?}, model {:?}",
                    expected.outgoing(id)
                )));
            }
            let incoming = match snapshot.find_incoming_edges(id) {
                Ok(edges) => edges,
                Err(error) => return refused(error, &format!("edges to {id}")),
            };
            if incoming != expected.incoming(id) {
                return Err(self.fail(format!(
                    "{name}: incoming edges of {id}: snapshot {incoming:?}, model {:?}",
                    expected.incoming(id)
                )));
            }
        }
        Ok(SnapshotCheck::Matched)
    }
}
