//! Scenario: a generated code graph of 11,000 blocks (1,000 files of 10
//! functions, with defined_in/contains/calls edges); callers, callees and a
//! 3-hop call traversal checked against the generated answer before and after
//! flush, compaction and restart.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kausal_query::{Algorithm, EdgeTypeSet, Filter, QueryEngine, Traversal};
use kausal_sim::model::Mutation;
use kausal_sim::workload::code_graph_batches;
use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, SyncMode, WriteBatch};
use kausal_tests::{open, scratch_dir};

const FILES: usize = 1_000;
const FUNCTIONS_PER_FILE: usize = 10;

struct Expected {
    callees: BTreeMap<BlockId, BTreeSet<BlockId>>,
    callers: BTreeMap<BlockId, BTreeSet<BlockId>>,
    names: BTreeMap<BlockId, String>,
}

impl Expected {
    fn three_hops(&self, start: BlockId) -> BTreeMap<BlockId, u32> {
        let mut depth = BTreeMap::from([(start, 0)]);
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let d = depth[&node];
            if d == 3 {
                continue;
            }
            for next in self.callees.get(&node).into_iter().flatten() {
                if !depth.contains_key(next) {
                    depth.insert(*next, d + 1);
                    queue.push_back(*next);
                }
            }
        }
        depth
    }
}

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(4 * 1024 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build()
}

fn ingest(dir: &std::path::Path) -> (Database, Expected) {
    let batches = code_graph_batches(7, FILES, FUNCTIONS_PER_FILE);
    let mut expected = Expected {
        callees: BTreeMap::new(),
        callers: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    let engine = open(dir, config());
    for (index, batch) in batches.iter().enumerate() {
        let mut write = WriteBatch::new();
        for mutation in batch {
            match mutation {
                Mutation::PutBlock(id, block) => {
                    let name = serde_name(&block.metadata_json);
                    expected.names.insert(*id, name);
                    write
                        .put_block(ContextBlock::new(
                            *id,
                            &block.source_uri,
                            &block.metadata_json,
                            &block.content,
                        ))
                        .expect("batch put");
                }
                Mutation::PutEdge(edge) => {
                    if edge.edge_type == EdgeType::Calls {
                        expected
                            .callees
                            .entry(edge.source)
                            .or_default()
                            .insert(edge.target);
                        expected
                            .callers
                            .entry(edge.target)
                            .or_default()
                            .insert(edge.source);
                    }
                    write.put_edge(*edge).expect("batch edge");
                }
                other => panic!("unexpected mutation {other:?}"),
            }
        }
        engine.write_batch(&write).expect("write batch");
        if index == FILES / 2 {
            engine.flush().expect("flush"); // half in tables, half in the memtable
        }
    }
    engine.sync().expect("sync");
    (engine, expected)
}

fn serde_name(metadata: &str) -> String {
    let start = metadata.find("\"name\":\"").expect("name field") + 8;
    let end = metadata[start..].find('"').expect("end of name") + start;
    metadata[start..end].to_string()
}

fn check(engine: &Database, expected: &Expected, stage: &str) {
    let snapshot = engine.snapshot();
    let queries = QueryEngine::new(&snapshot);
    let function = |n: u128| BlockId::from_u128(n);
    assert!(
        engine.snapshot().iterate_blocks().expect("read").count() >= 10_000,
        "{stage}"
    );
    for n in (1..=(FILES * FUNCTIONS_PER_FILE) as u128).step_by(97) {
        let id = function(n);
        let callees: BTreeSet<BlockId> = queries
            .find_callees(id)
            .expect("callees")
            .iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(
            &callees,
            expected.callees.get(&id).unwrap_or(&BTreeSet::new()),
            "{stage}: callees of {n}"
        );
        let callers: BTreeSet<BlockId> = queries
            .find_callers(id)
            .expect("callers")
            .iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(
            &callers,
            expected.callers.get(&id).unwrap_or(&BTreeSet::new()),
            "{stage}: callers of {n}"
        );
        let traversal = Traversal::new(vec![id])
            .edge_types(EdgeTypeSet::only(EdgeType::Calls))
            .max_depth(3)
            .max_results(10_000)
            .algorithm(Algorithm::BreadthFirst);
        let result = queries.traverse(&traversal).expect("3-hop");
        let found: BTreeMap<BlockId, u32> = result
            .nodes
            .iter()
            .map(|node| (node.block.id, node.depth))
            .collect();
        assert_eq!(found, expected.three_hops(id), "{stage}: 3 hops from {n}");
    }
    let name = &expected.names[&function(4242)];
    let by_name = queries.find_by_name(name).expect("by name");
    assert_eq!(
        by_name.blocks.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![function(4242)],
        "{stage}"
    );
    let file = queries.find_by_file_path("src/file_3.rs").expect("by file");
    assert_eq!(
        file.blocks.len(),
        FUNCTIONS_PER_FILE + 1,
        "{stage}: file block and its functions"
    );
    let kinds = queries
        .scan(
            &Filter::And(vec![
                Filter::SourceUriPrefix("src/file_99".into()),
                Filter::metadata("kind", "file"),
            ]),
            100,
        )
        .expect("scan");
    assert_eq!(
        kinds.blocks.len(),
        11,
        "{stage}: file_99 and file_990..=999"
    );
}

#[test]
fn callers_callees_and_three_hops_survive_flush_compaction_and_restart() {
    let (_guard, dir) = scratch_dir();
    let (engine, expected) = ingest(&dir);
    let metrics = engine.metrics();
    assert!(
        metrics.memtable_blocks > 0,
        "part of the graph is in the memtable: {metrics:?}"
    );
    assert!(
        engine.metrics().sstable_count >= 1,
        "part of the graph is in tables"
    );
    check(&engine, &expected, "after ingest");
    engine.flush().expect("flush");
    check(&engine, &expected, "after flush");
    engine.compact_all().expect("compact");
    check(&engine, &expected, "after compaction");
    drop(engine);
    let engine = open(&dir, config());
    check(&engine, &expected, "after restart");
}
