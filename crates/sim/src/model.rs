//! The reference model: what the engine must contain, as plain `BTreeMap`s,
//! with a log of acknowledged writes since the last recovery so the checker
//! knows which writes may be lost at a crash.
//!
//! Durability rule the model encodes: writes reach the disk in order (one
//! WAL, one flush at a time), so after a crash the engine holds exactly the
//! writes of some prefix of the log that includes every write known durable
//! (`durable_len`), plus possibly the one write whose failure poisoned the
//! engine (`maybe`).

use std::collections::{BTreeMap, BTreeSet};

use kausal_storage::{BlockId, GraphEdge};

/// A stored block as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelBlock {
    /// The block's source URI.
    pub source_uri: String,
    /// Its metadata JSON.
    pub metadata_json: String,
    /// Its content.
    pub content: String,
}

/// One mutation inside a logged write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Stores a block version.
    PutBlock(BlockId, ModelBlock),
    /// Deletes a block and every edge at it.
    DeleteBlock(BlockId),
    /// Stores an edge.
    PutEdge(GraphEdge),
    /// Deletes an edge.
    DeleteEdge(GraphEdge),
}

/// Everything a reader can observe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelState {
    /// Live blocks by id.
    pub blocks: BTreeMap<BlockId, ModelBlock>,
    /// Live edges.
    pub edges: BTreeSet<GraphEdge>,
}

impl ModelState {
    /// Applies one logged write (all of its mutations, in order).
    pub fn apply(&mut self, write: &[Mutation]) {
        for mutation in write {
            match mutation {
                Mutation::PutBlock(id, block) => {
                    self.blocks.insert(*id, block.clone());
                }
                Mutation::DeleteBlock(id) => {
                    self.blocks.remove(id);
                    self.edges
                        .retain(|edge| edge.source != *id && edge.target != *id);
                }
                Mutation::PutEdge(edge) => {
                    self.edges.insert(*edge);
                }
                Mutation::DeleteEdge(edge) => {
                    self.edges.remove(edge);
                }
            }
        }
    }

    /// Live edges leaving `id`, in the engine's order (type, target).
    pub fn outgoing(&self, id: BlockId) -> Vec<GraphEdge> {
        let mut edges: Vec<GraphEdge> = self
            .edges
            .iter()
            .filter(|edge| edge.source == id)
            .copied()
            .collect();
        edges.sort_by_key(|edge| (edge.edge_type, edge.target));
        edges
    }

    /// Live edges entering `id`, in the engine's order (type, source).
    pub fn incoming(&self, id: BlockId) -> Vec<GraphEdge> {
        let mut edges: Vec<GraphEdge> = self
            .edges
            .iter()
            .filter(|edge| edge.target == id)
            .copied()
            .collect();
        edges.sort_by_key(|edge| (edge.edge_type, edge.source));
        edges
    }
}

/// The model: a base state (as of the last recovery) and the writes since.
#[derive(Debug, Default)]
pub struct Model {
    base: ModelState,
    log: Vec<Vec<Mutation>>,
    durable_len: usize,
    maybe: Option<Vec<Mutation>>,
    current: ModelState,
}

impl Model {
    /// What the engine must show now (acknowledged writes only).
    pub fn current(&self) -> &ModelState {
        &self.current
    }

    /// Records an acknowledged write.
    pub fn acknowledge(&mut self, write: Vec<Mutation>) {
        self.current.apply(&write);
        self.log.push(write);
    }

    /// Every acknowledged write so far is durable.
    pub fn mark_durable(&mut self) {
        self.durable_len = self.log.len();
    }

    /// A write failed and poisoned the engine: it may or may not survive.
    pub fn record_maybe(&mut self, write: Vec<Mutation>) {
        debug_assert!(
            self.maybe.is_none(),
            "a poisoned engine accepts no second write"
        );
        self.maybe = Some(write);
    }

    /// Writes acknowledged since the last recovery.
    pub fn pending_writes(&self) -> usize {
        self.log.len()
    }

    /// Finds the log prefix the recovered engine shows: the smallest `k` in
    /// `durable_len..=log.len()` (then the `maybe` write on top of all of
    /// them) whose state equals `observed`. On success the model restarts
    /// from that state; on failure it returns a description.
    pub fn recover(&mut self, observed: &ModelState) -> Result<usize, String> {
        let mut state = self.base.clone();
        for write in &self.log[..self.durable_len] {
            state.apply(write);
        }
        let mut matched = None;
        for k in self.durable_len..=self.log.len() {
            if k > self.durable_len {
                state.apply(&self.log[k - 1]);
            }
            if state == *observed {
                matched = Some(k);
                break;
            }
        }
        if matched.is_none()
            && let Some(maybe) = &self.maybe
        {
            state.apply(maybe);
            if state == *observed {
                matched = Some(self.log.len() + 1);
            }
        }
        let Some(k) = matched else {
            return Err(self.describe_mismatch(observed));
        };
        self.base = observed.clone();
        self.current = observed.clone();
        self.log.clear();
        self.durable_len = 0;
        self.maybe = None;
        Ok(k)
    }

    fn describe_mismatch(&self, observed: &ModelState) -> String {
        let mut durable = self.base.clone();
        for write in &self.log[..self.durable_len] {
            durable.apply(write);
        }
        let missing: Vec<String> = durable
            .blocks
            .iter()
            .filter(|(id, block)| observed.blocks.get(id) != Some(block))
            .take(3)
            .map(|(id, _)| format!("durable block {id} missing or different"))
            .collect();
        let extra: Vec<String> = observed
            .blocks
            .keys()
            .filter(|id| !self.current.blocks.contains_key(id) && !durable.blocks.contains_key(id))
            .take(3)
            .map(|id| format!("block {id} present but never acknowledged at the end"))
            .collect();
        format!(
            "recovered state matches no allowed log prefix ({} writes logged, {} durable, maybe: {}); \
             observed {} blocks / {} edges, durable prefix has {} blocks / {} edges; {}",
            self.log.len(),
            self.durable_len,
            self.maybe.is_some(),
            observed.blocks.len(),
            observed.edges.len(),
            durable.blocks.len(),
            durable.edges.len(),
            missing
                .into_iter()
                .chain(extra)
                .collect::<Vec<_>>()
                .join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kausal_storage::EdgeType;

    fn put(n: u128, text: &str) -> Vec<Mutation> {
        vec![Mutation::PutBlock(
            BlockId::from_u128(n),
            ModelBlock {
                source_uri: String::new(),
                metadata_json: "{}".into(),
                content: text.into(),
            },
        )]
    }

    #[test]
    fn recovery_accepts_prefixes_from_the_durable_point_only() {
        let mut model = Model::default();
        model.acknowledge(put(1, "a"));
        model.mark_durable();
        model.acknowledge(put(2, "b"));
        model.acknowledge(put(3, "c"));
        // Losing the undurable tail is allowed.
        let mut only_first = ModelState::default();
        only_first.apply(&put(1, "a"));
        assert_eq!(model.recover(&only_first), Ok(1));
        // Losing a durable write is not.
        let mut model = Model::default();
        model.acknowledge(put(1, "a"));
        model.acknowledge(put(2, "b"));
        model.mark_durable();
        assert!(model.recover(&only_first).is_err());
    }

    #[test]
    fn delete_removes_edges_and_maybe_write_is_optional() {
        let a = BlockId::from_u128(1);
        let b = BlockId::from_u128(2);
        let edge = GraphEdge::new(a, b, EdgeType::Calls);
        let mut model = Model::default();
        model.acknowledge(vec![Mutation::PutEdge(edge)]);
        model.mark_durable();
        model.record_maybe(vec![Mutation::DeleteBlock(b)]);
        let mut with_delete = ModelState::default();
        with_delete.apply(&[Mutation::PutEdge(edge), Mutation::DeleteBlock(b)]);
        assert!(with_delete.edges.is_empty());
        assert_eq!(model.recover(&with_delete), Ok(2));
    }
}
