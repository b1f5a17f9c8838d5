//! Property test: random sequences of puts, deletes, edges, batches,
//! flushes, compactions and reopens against a `BTreeMap` reference model.

use std::collections::{BTreeMap, BTreeSet};

use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, WriteBatch};
use kausal_tests::{content, id, open, scratch_dir};
use proptest::prelude::*;

const IDS: u128 = 24;

#[derive(Debug, Clone)]
enum Step {
    Put(u128, usize),
    Delete(u128),
    PutEdge(u128, u128, u16),
    DeleteEdge(u128, u128, u16),
    Batch(Vec<Step>),
    Flush,
    Compact,
    CompactAll,
    Reopen,
}

fn simple_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1..=IDS, 0usize..3000).prop_map(|(n, len)| Step::Put(n, len)),
        2 => (1..=IDS).prop_map(Step::Delete),
        4 => (1..=IDS, 1..=IDS, 1u16..=3).prop_map(|(a, b, t)| Step::PutEdge(a, b, t)),
        1 => (1..=IDS, 1..=IDS, 1u16..=3).prop_map(|(a, b, t)| Step::DeleteEdge(a, b, t)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => simple_step(),
        2 => prop::collection::vec(simple_step(), 1..8).prop_map(Step::Batch),
        1 => Just(Step::Flush),
        1 => Just(Step::Compact),
        1 => Just(Step::CompactAll),
        1 => Just(Step::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    blocks: BTreeMap<u128, String>,
    edges: BTreeSet<GraphEdge>,
}

fn edge(a: u128, b: u128, t: u16) -> GraphEdge {
    GraphEdge::new(id(a), id(b), EdgeType::from_u16(t).expect("known type"))
}

fn model_block(n: u128, len: usize) -> ContextBlock {
    ContextBlock::new(
        id(n),
        format!("m/{n}.rs"),
        format!(r#"{{"len":{len}}}"#),
        content(n * 7 + len as u128, len),
    )
}

impl Model {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Put(n, len) => {
                self.blocks.insert(*n, model_block(*n, *len).content);
            }
            Step::Delete(n) => {
                self.blocks.remove(n);
                let gone = id(*n);
                self.edges.retain(|e| e.source != gone && e.target != gone);
            }
            Step::PutEdge(a, b, t) => {
                self.edges.insert(edge(*a, *b, *t));
            }
            Step::DeleteEdge(a, b, t) => {
                self.edges.remove(&edge(*a, *b, *t));
            }
            Step::Batch(steps) => steps.iter().for_each(|s| self.apply(s)),
            Step::Flush | Step::Compact | Step::CompactAll | Step::Reopen => {}
        }
    }

    fn outgoing(&self, n: u128) -> Vec<GraphEdge> {
        let mut edges: Vec<_> = self
            .edges
            .iter()
            .filter(|e| e.source == id(n))
            .copied()
            .collect();
        edges.sort_by_key(|e| (e.edge_type, e.target));
        edges
    }

    fn incoming(&self, n: u128) -> Vec<GraphEdge> {
        let mut edges: Vec<_> = self
            .edges
            .iter()
            .filter(|e| e.target == id(n))
            .copied()
            .collect();
        edges.sort_by_key(|e| (e.edge_type, e.source));
        edges
    }
}

fn add_to_batch(batch: &mut WriteBatch, step: &Step) {
    match step {
        Step::Put(n, len) => batch.put_block(model_block(*n, *len)).expect("batch put"),
        Step::Delete(n) => batch.delete_block(id(*n)).expect("batch delete"),
        Step::PutEdge(a, b, t) => batch.put_edge(edge(*a, *b, *t)).expect("batch edge"),
        Step::DeleteEdge(a, b, t) => batch
            .delete_edge(edge(*a, *b, *t))
            .expect("batch edge delete"),
        _ => unreachable!("batches hold simple steps"),
    }
}

fn config() -> Config {
    kausal_tests::small_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(8 * 1024)
        .auto_compact(true)
        .compaction_min_tables(3)
        .compaction_base_bytes(8 * 1024)
        .build()
}

fn check(engine: &Database, model: &Model) -> Result<(), TestCaseError> {
    for n in 1..=IDS {
        let found = engine
            .snapshot()
            .find_block(id(n))
            .expect("find")
            .map(|v| v.content.to_string());
        prop_assert_eq!(found.as_ref(), model.blocks.get(&n), "block {}", n);
        prop_assert_eq!(
            engine.snapshot().find_outgoing_edges(id(n)).expect("read"),
            model.outgoing(n),
            "out edges of {}",
            n
        );
        prop_assert_eq!(
            engine.snapshot().find_incoming_edges(id(n)).expect("read"),
            model.incoming(n),
            "in edges of {}",
            n
        );
    }
    let scanned: Vec<(u128, String)> = engine
        .snapshot()
        .iterate_blocks()
        .expect("read")
        .map(|v| {
            let v = v.expect("scan");
            (v.id.as_u128(), v.content.to_string())
        })
        .collect();
    let expected: Vec<(u128, String)> = model.blocks.iter().map(|(k, v)| (*k, v.clone())).collect();
    prop_assert_eq!(scanned, expected);
    prop_assert!(
        engine
            .snapshot()
            .find_block(BlockId::from_u128(IDS + 1))
            .expect("find")
            .is_none()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_btreemap_model(steps in prop::collection::vec(step(), 1..120)) {
        let (_guard, dir) = scratch_dir();
        let mut engine = open(&dir, config());
        let mut model = Model::default();
        for (index, step) in steps.iter().enumerate() {
            match step {
                Step::Put(n, len) => { engine.put_block(&model_block(*n, *len)).expect("put"); }
                Step::Delete(n) => { engine.delete_block(id(*n)).expect("delete"); }
                Step::PutEdge(a, b, t) => { engine.put_edge(edge(*a, *b, *t)).expect("edge"); }
                Step::DeleteEdge(a, b, t) => { engine.delete_edge(edge(*a, *b, *t)).expect("edge delete"); }
                Step::Batch(steps) => {
                    let mut batch = WriteBatch::new();
                    steps.iter().for_each(|s| add_to_batch(&mut batch, s));
                    engine.write_batch(&batch).expect("batch");
                }
                Step::Flush => engine.flush().expect("flush"),
                Step::Compact => { engine.compact().expect("compact"); }
                Step::CompactAll => { engine.compact_all().expect("compact all"); }
                Step::Reopen => {
                    engine.sync().expect("sync");
                    drop(engine);
                    engine = open(&dir, config());
                }
            }
            model.apply(step);
            if index % 10 == 0 {
                check(&engine, &model)?;
            }
        }
        check(&engine, &model)?;
        drop(engine);
        let engine = open(&dir, config());
        check(&engine, &model)?;
    }
}
