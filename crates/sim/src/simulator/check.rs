//! Checking the engine against the reference model: what it shows (every
//! block, the edges of every id), one id, a walk along edges, and whether a
//! reported corruption is an honest report of a bit flipped at rest.

use std::path::Path;

use kausal_storage::{BlockId, Database};

use crate::model::{ModelBlock, ModelState};
use crate::vfs::{BitFlip, is_wal_segment};

use super::{Runner, Stop};

pub(super) fn model_block(view: &kausal_storage::BlockView<'_>) -> ModelBlock {
    ModelBlock {
        source_uri: view.source_uri.to_string(),
        metadata_json: view.metadata_json.to_string(),
        content: view.content.to_string(),
    }
}

impl Runner {
    /// Everything the engine shows, read with faults disabled.
    pub fn observe(&mut self) -> Result<ModelState, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.observe_inner();
        self.vfs.set_faults_enabled(true);
        result
    }

    fn observe_inner(&mut self) -> Result<ModelState, Stop> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| self.fail("no open engine"))?;
        self.observe_engine(engine)
    }

    /// Everything `engine` shows: every block and the outgoing edges of
    /// every id the workload uses.
    pub(super) fn observe_engine(&self, engine: &Database) -> Result<ModelState, Stop> {
        let mut state = ModelState::default();
        let snapshot = engine.snapshot();
        let views = snapshot
            .iterate_blocks()
            .map_err(|error| self.read_error(&error, "iterate_blocks"))?;
        for view in views {
            let view = view.map_err(|error| self.read_error(&error, "iterate_blocks"))?;
            state.blocks.insert(view.id, model_block(&view));
        }
        let ids = (1..=self.id_space)
            .map(BlockId::from_u128)
            .chain(self.extra_ids.iter().copied());
        for id in ids {
            let edges = engine
                .snapshot()
                .find_outgoing_edges(id)
                .map_err(|error| self.read_error(&error, &format!("edges of {id}")))?;
            state.edges.extend(edges);
        }
        Ok(state)
    }

    /// Compares what the engine shows for `id` with the model's current state.
    pub fn check_id(&mut self, id: BlockId) -> Result<(), Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.check_id_inner(id);
        self.vfs.set_faults_enabled(true);
        result
    }

    fn check_id_inner(&self, id: BlockId) -> Result<(), Stop> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| self.fail("no open engine"))?;
        let expected = self.model.current();
        let found = engine
            .snapshot()
            .find_block(id)
            .map_err(|error| self.read_error(&error, &format!("find_block {id}")))?
            .map(|view| model_block(&view));
        if found.as_ref() != expected.blocks.get(&id) {
            return Err(self.fail(format!(
                "block {id}: engine has {:?}, model has {:?}",
                found.as_ref().map(|b| (b.content.len(), &b.source_uri)),
                expected
                    .blocks
                    .get(&id)
                    .map(|b| (b.content.len(), &b.source_uri))
            )));
        }
        let outgoing = engine
            .snapshot()
            .find_outgoing_edges(id)
            .map_err(|error| self.read_error(&error, &format!("edges from {id}")))?;
        if outgoing != expected.outgoing(id) {
            return Err(self.fail(format!(
                "outgoing edges of {id}: engine {outgoing:?}, model {:?}",
                expected.outgoing(id)
            )));
        }
        let incoming = engine
            .snapshot()
            .find_incoming_edges(id)
            .map_err(|error| self.read_error(&error, &format!("edges to {id}")))?;
        if incoming != expected.incoming(id) {
            return Err(self.fail(format!(
                "incoming edges of {id}: engine {incoming:?}, model {:?}",
                expected.incoming(id)
            )));
        }
        Ok(())
    }

    /// Compares the whole engine with the model's current state.
    pub fn check_all(&mut self) -> Result<(), Stop> {
        let observed = self.observe()?;
        if observed != *self.model.current() {
            return Err(self.fail(format!(
                "engine state differs from the model: {} blocks / {} edges vs {} / {}",
                observed.blocks.len(),
                observed.edges.len(),
                self.model.current().blocks.len(),
                self.model.current().edges.len()
            )));
        }
        Ok(())
    }

    pub(super) fn walk(&mut self, start: BlockId) -> Result<(), Stop> {
        let mut frontier = vec![start];
        for _depth in 0..3 {
            let mut next = Vec::new();
            for id in frontier {
                self.check_id(id)?;
                let engine = self
                    .engine
                    .as_ref()
                    .ok_or_else(|| self.fail("no open engine"))?;
                let edges = engine
                    .snapshot()
                    .find_outgoing_edges(id)
                    .map_err(|error| self.read_error(&error, &format!("edges from {id}")))?;
                next.extend(edges.into_iter().map(|edge| edge.target).take(4));
            }
            frontier = next;
        }
        Ok(())
    }
}

/// Whether a `Corruption { file, offset }` error is an honest report of a bit
/// flipped at rest: `file` must have had a bit flipped. For a WAL segment
/// the error must also name where the damage starts: recovery reads front
/// to back, so the record it blames starts at or before the flipped byte.
/// Returns the flips of `file` as text, or why the report is wrong.
pub(super) fn judge_corruption(
    file: &Path,
    offset: u64,
    flips: &[BitFlip],
) -> Result<String, String> {
    let here: Vec<&BitFlip> = flips.iter().filter(|flip| flip.path == file).collect();
    let listed = here
        .iter()
        .map(|flip| format!("offset {} bit {}", flip.offset, flip.bit))
        .collect::<Vec<_>>()
        .join(", ");
    if here.is_empty() {
        return Err("unexpected error: no bit was flipped in this file".into());
    }
    if is_wal_segment(file) && !here.iter().any(|flip| flip.offset >= offset) {
        return Err(format!(
            "the WAL corruption is reported past every flipped bit ({listed})"
        ));
    }
    Ok(listed)
}
