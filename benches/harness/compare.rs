//! Like-for-like comparisons of kausal with peer engines (fjall, redb).
//!
//! Every engine runs the same operations on the same keys and values with
//! the same durability, and each row names the state the data is in; the
//! engines are brought into that state together before the row runs:
//!
//! * `fresh`: an empty store; the writes of the row are the only data.
//! * `memtable`: the read set was just written and sits in both LSMs'
//!   memtables (asserted: no table exists yet). redb has no memtable: its
//!   committed B-tree pages are in its own cache.
//! * `tables`: the same data after every engine flushed it to tables and
//!   compacted them into one run, then read every key once so caches are
//!   warm (kausal: the OS page cache under its mmap; fjall: its block cache,
//!   sized to hold the whole set; redb: its page cache).
//!
//! A block is stored by kausal as (source_uri, metadata, content); a peer
//! stores the same three fields concatenated as the value of the 16-byte
//! block id, so every engine holds the same payload bytes. Edges are
//! kausal edges; a peer stores each as a 34-byte key (source, type,
//! target) with an empty value, and "outgoing edges" is a prefix scan over
//! the source.
//!
//! One write row differs: the sustained load (`Sizing::Sustained`) writes
//! several memtables' worth, one put timed at a time, with both LSMs at the
//! same memtable budget flushing and compacting in the background; its
//! tail (p99.9, max), printed under the row, is the point.

use std::path::Path;
use std::sync::Arc;

use kausal_benches::block;
use kausal_storage::{
    BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, Snapshot, SyncMode, WriteBatch,
};
use kausal_vfs::OsVfs;
use serde_json::{Value, json};

use crate::report::{Row, format_ns, measure};
use crate::workloads::Scale;

/// Content bytes of every compared block.
pub const VALUE_CONTENT_BYTES: usize = 1024;
/// Blocks of one batch (one commit).
pub const BATCH_BLOCKS: usize = 100;
/// Outgoing edges of every node in the edge rows.
pub const EDGE_DEGREE: u128 = 10;
/// Operations timed together below a microsecond (see `report::measure`).
const GROUP: usize = 16;
/// kausal's memtable budget here: large enough that nothing flushes before
/// the `tables` rows ask for it.
const MEMTABLE_BUDGET_BYTES: usize = 512 * 1024 * 1024;

/// How the LSMs' memtables are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// Large enough that the read set stays in the memtable until `settle`
    /// (kausal 512 MiB, fjall 256 MiB); compaction only when asked.
    HoldsReadSet,
    /// The sustained write load: both LSMs at the same memtable budget
    /// (kausal's default, 64 MiB, in a full run), flushing and compacting
    /// in the background as configured out of the box.
    Sustained { memtable_bytes: usize },
}

/// Whether each write must be durable when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Logged, not fsynced (kausal: WAL buffered; fjall: journal buffered;
    /// redb: `Durability::None`).
    Buffered,
    /// fsynced before the call returns (kausal: `SyncMode::EveryWrite`;
    /// fjall: `persist(SyncData)`; redb: `Durability::Immediate`).
    Fsync,
}

/// One engine under comparison.
pub trait Subject {
    /// Short name ("kausal", "fjall", "redb").
    fn name(&self) -> &'static str;
    /// Stores the benchmark block under `id` as one write.
    fn put(&mut self, id: BlockId);
    /// Stores the benchmark block under every id of `ids` in one commit.
    fn put_batch(&mut self, ids: &[BlockId]);
    /// Stores `edges` (set-up, untimed; committed when it returns).
    fn put_edges(&mut self, edges: &[GraphEdge]);
    /// Makes what was written readable by the read methods (redb: a new
    /// read transaction; kausal: a new snapshot; fjall: nothing).
    fn begin_reads(&mut self);
    /// Bytes of the value stored under `id` (0 when absent).
    fn get(&mut self, id: BlockId) -> usize;
    /// Number of outgoing edges of `id` (each one materialised).
    fn outgoing(&mut self, id: BlockId) -> usize;
    /// Flushes everything to tables and compacts them into one run.
    fn settle(&mut self);
    /// True while no table exists (all data in the memtable).
    fn only_memtable(&self) -> bool;
    /// How the engine is configured, for the row notes.
    fn settings(&self) -> String;
}

/// The benchmark block for `id`.
pub fn compared_block(id: BlockId) -> ContextBlock {
    let mut block = block(1, VALUE_CONTENT_BYTES);
    block.id = id;
    block
}

/// The value a peer stores for a block: its three fields back to back.
#[cfg_attr(not(any(feature = "fjall", feature = "redb")), allow(dead_code))]
pub fn peer_value() -> Vec<u8> {
    let block = compared_block(BlockId::from_u128(1));
    let mut value = Vec::new();
    value.extend_from_slice(block.source_uri.as_bytes());
    value.extend_from_slice(block.metadata_json.as_bytes());
    value.extend_from_slice(block.content.as_bytes());
    value
}

/// A peer's key for an edge: source, type (big-endian), target.
#[cfg_attr(not(any(feature = "fjall", feature = "redb")), allow(dead_code))]
pub fn edge_key(edge: &GraphEdge) -> [u8; 34] {
    let mut key = [0u8; 34];
    key[..16].copy_from_slice(edge.source.as_bytes());
    key[16..18].copy_from_slice(&edge.edge_type.as_u16().to_be_bytes());
    key[18..].copy_from_slice(edge.target.as_bytes());
    key
}

/// kausal as a [`Subject`].
pub struct Kausal {
    memtable_bytes: usize,
    engine: Database,
    block: ContextBlock,
    edges: Vec<GraphEdge>,
    /// Reads go through one snapshot, taken in `begin_reads` (as redb's
    /// reads go through one read transaction).
    snapshot: Option<Snapshot>,
}

impl Kausal {
    pub fn open(dir: &Path, durability: Durability, sizing: Sizing) -> Self {
        let sync_mode = match durability {
            Durability::Buffered => SyncMode::Manual,
            Durability::Fsync => SyncMode::EveryWrite,
        };
        let config = match sizing {
            Sizing::HoldsReadSet => Config::builder()
                .memtable_budget_bytes(MEMTABLE_BUDGET_BYTES)
                .sync_mode(sync_mode)
                .auto_compact(false)
                .build(),
            Sizing::Sustained { memtable_bytes } => Config::builder()
                .memtable_budget_bytes(memtable_bytes)
                .sync_mode(sync_mode)
                .build(),
        };
        let memtable_bytes = config.memtable_budget_bytes();
        Self {
            memtable_bytes,
            engine: Database::open_with(Arc::new(OsVfs::new()), dir.join("kausal"), config)
                .expect("open kausal"),
            block: compared_block(BlockId::from_u128(1)),
            edges: Vec::with_capacity(64),
            snapshot: None,
        }
    }
}

impl Subject for Kausal {
    fn name(&self) -> &'static str {
        "kausal"
    }

    fn put(&mut self, id: BlockId) {
        self.block.id = id;
        self.engine.put_block(&self.block).expect("put");
    }

    fn put_batch(&mut self, ids: &[BlockId]) {
        let mut batch = WriteBatch::new();
        for &id in ids {
            self.block.id = id;
            batch.put_block(self.block.clone()).expect("batch");
        }
        self.engine.write_batch(&batch).expect("write batch");
    }

    fn put_edges(&mut self, edges: &[GraphEdge]) {
        for chunk in edges.chunks(1_000) {
            let mut batch = WriteBatch::new();
            for edge in chunk {
                batch.put_edge(*edge).expect("batch");
            }
            self.engine.write_batch(&batch).expect("write batch");
        }
        self.engine.sync().expect("sync");
    }

    fn begin_reads(&mut self) {
        self.snapshot = Some(self.engine.snapshot());
    }

    fn get(&mut self, id: BlockId) -> usize {
        let snapshot = self.snapshot.get_or_insert_with(|| self.engine.snapshot());
        snapshot.find_block(id).expect("find").map_or(0, |b| {
            b.source_uri.len() + b.metadata_json.len() + b.content.len()
        })
    }

    fn outgoing(&mut self, id: BlockId) -> usize {
        let snapshot = self.snapshot.get_or_insert_with(|| self.engine.snapshot());
        snapshot
            .find_outgoing_edges_into(id, &mut self.edges)
            .expect("edges");
        self.edges.len()
    }

    fn settle(&mut self) {
        self.snapshot = None;
        self.engine.flush().expect("flush");
        self.engine.compact_all().expect("compact");
    }

    fn only_memtable(&self) -> bool {
        self.engine.metrics().sstable_count == 0
    }

    fn settings(&self) -> String {
        format!(
            "kausal: WAL + memtable ({} MiB budget), tables read through mmap, record \
             checksum verified on every table read; find_block returns a view borrowed \
             from the engine",
            self.memtable_bytes >> 20
        )
    }
}

/// Operations of one comparison row on every engine, kausal first.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub operation: String,
    pub state: &'static str,
    /// (engine name, row); kausal is the first.
    pub results: Vec<(&'static str, Row)>,
    /// The tail is the point of the row: printed with p99.9 and max.
    pub tail: bool,
}

impl Comparison {
    /// kausal's p50 over `peer`'s (below 1: kausal is faster).
    pub fn ratio(&self, peer: &str) -> Option<f64> {
        let kausal = self.results.first()?.1.p50_ns;
        let other = self
            .results
            .iter()
            .find(|(name, _)| *name == peer)?
            .1
            .p50_ns;
        (other > 0.0).then(|| kausal / other)
    }
}

pub const STATE_FRESH: &str = "fresh";
pub const STATE_MEMTABLE: &str = "memtable";
pub const STATE_TABLES: &str = "tables, compacted, cache warm";

/// Runs `op` on every subject with the same `ops` and group size.
fn compare_op(
    subjects: &mut [Box<dyn Subject>],
    operation: &str,
    state: &'static str,
    ops: usize,
    group: usize,
    mut op: impl FnMut(&mut dyn Subject, usize),
) -> Comparison {
    let results = subjects
        .iter_mut()
        .map(|subject| {
            let name = subject.name();
            let row = measure(&format!("{name}: {operation} [{state}]"), ops, group, |i| {
                op(subject.as_mut(), i)
            })
            // Each row carries its engine's settings, so a row read alone
            // (in latest.json) still says how the engine was configured.
            .note(subject.settings());
            (name, row)
        })
        .collect();
    Comparison {
        operation: operation.to_string(),
        state,
        results,
        tail: false,
    }
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

/// Opens every compared engine in its own directory under `dir`.
pub type Opener = fn(&Path, Durability, Sizing) -> Box<dyn Subject>;

/// The write rows (fresh stores) and the read rows (memtable, then tables).
/// Returns the rows and each engine's settings (for the notes).
pub fn run(scale: &Scale, dir: &Path, openers: &[Opener]) -> (Vec<Comparison>, Vec<String>) {
    let open_sized = |name: &str, durability: Durability, sizing: Sizing| {
        let root = dir.join(name);
        openers
            .iter()
            .map(|open| open(&root, durability, sizing))
            .collect::<Vec<Box<dyn Subject>>>()
    };
    let open_all =
        |name: &str, durability: Durability| open_sized(name, durability, Sizing::HoldsReadSet);
    let mut comparisons = Vec::new();

    let mut subjects = open_all("put-fsync", Durability::Fsync);
    let settings = subjects.iter().map(|subject| subject.settings()).collect();
    comparisons.push(compare_op(
        &mut subjects,
        "put 1 KiB, fsync per write",
        STATE_FRESH,
        scale.compare_sync_puts,
        1,
        |subject, i| subject.put(id(i as u128 + 1)),
    ));
    comparisons.push(compare_op(
        &mut subjects,
        "batch of 100 x 1 KiB, fsync per batch",
        STATE_FRESH,
        scale.compare_batches,
        1,
        |subject, i| {
            let first = 1_000_000 + (i * BATCH_BLOCKS) as u128;
            let ids: Vec<BlockId> = (first..first + BATCH_BLOCKS as u128).map(id).collect();
            subject.put_batch(&ids);
        },
    ));
    drop(subjects);

    let mut subjects = open_all("put-buffered", Durability::Buffered);
    comparisons.push(compare_op(
        &mut subjects,
        "put 1 KiB, no fsync",
        STATE_FRESH,
        scale.compare_blocks as usize,
        GROUP,
        |subject, i| subject.put(id(i as u128 + 1)),
    ));
    drop(subjects);

    // The sustained load: each put timed alone, the engines flushing and
    // compacting behind it. One engine open at a time, so no engine's
    // background work (a compaction still running) lands in another's row.
    let sizing = Sizing::Sustained {
        memtable_bytes: scale.sustained_memtable_bytes,
    };
    let mut sustained = Comparison {
        operation: format!(
            "put 1 KiB, no fsync, sustained ({} MiB memtables)",
            scale.sustained_memtable_bytes >> 20
        ),
        state: STATE_FRESH,
        results: Vec::new(),
        tail: true,
    };
    for open in openers {
        let mut subject = vec![open(
            &dir.join("put-sustained"),
            Durability::Buffered,
            sizing,
        )];
        let row = compare_op(
            &mut subject,
            &sustained.operation,
            STATE_FRESH,
            scale.sustained_puts,
            1,
            |subject, i| subject.put(id(i as u128 + 1)),
        );
        sustained.results.extend(row.results);
    }
    comparisons.push(sustained);

    // The read set: blocks 1..=compare_blocks, and EDGE_DEGREE outgoing
    // edges from each of 1..=edge_nodes.
    let mut subjects = open_all("reads", Durability::Buffered);
    let blocks = scale.compare_blocks;
    let nodes = scale.edge_nodes;
    let edges: Vec<GraphEdge> = (1..=nodes)
        .flat_map(|source| {
            (1..=EDGE_DEGREE).map(move |step| {
                GraphEdge::new(
                    id(source),
                    id((source + step * 7) % nodes + 1),
                    if step % 3 == 0 {
                        EdgeType::Imports
                    } else {
                        EdgeType::Calls
                    },
                )
            })
        })
        .collect();
    for subject in subjects.iter_mut() {
        let ids: Vec<BlockId> = (1..=blocks).map(id).collect();
        for chunk in ids.chunks(BATCH_BLOCKS) {
            subject.put_batch(chunk);
        }
        subject.put_edges(&edges);
        subject.begin_reads();
        assert!(
            subject.only_memtable(),
            "{}: the read set must fit the memtable",
            subject.name()
        );
    }
    let reads = scale.compare_reads;
    for state in [STATE_MEMTABLE, STATE_TABLES] {
        if state == STATE_TABLES {
            for subject in subjects.iter_mut() {
                subject.settle();
                subject.begin_reads();
                // Warm every cache with one read of everything.
                let mut bytes = 0;
                for n in 1..=blocks {
                    bytes += subject.get(id(n));
                }
                for n in 1..=nodes {
                    bytes += subject.outgoing(id(n));
                }
                assert!(bytes > 0);
            }
        }
        let mut rng = fastrand::Rng::with_seed(17);
        let keys: Vec<u128> = (0..reads).map(|_| rng.u128(1..=blocks)).collect();
        let mut total = 0usize;
        comparisons.push(compare_op(
            &mut subjects,
            "get (hit)",
            state,
            reads,
            GROUP,
            |subject, i| total += subject.get(id(keys[i])),
        ));
        comparisons.push(compare_op(
            &mut subjects,
            "get (miss)",
            state,
            reads,
            GROUP,
            |subject, i| total += subject.get(id(keys[i] + blocks * 1_000)),
        ));
        let sources: Vec<u128> = keys.iter().map(|k| k % nodes + 1).collect();
        comparisons.push(compare_op(
            &mut subjects,
            "outgoing edges of a block (degree 10, prefix scan)",
            state,
            reads,
            GROUP,
            |subject, i| total += subject.outgoing(id(sources[i])),
        ));
        assert!(total > 0);
    }
    (comparisons, settings)
}

/// Prints one table of comparisons: p50 per engine and kausal/peer ratios.
pub fn print_comparisons(title: &str, comparisons: &[Comparison]) {
    let Some(first) = comparisons.first() else {
        return;
    };
    let peers: Vec<&str> = first.results.iter().skip(1).map(|(n, _)| *n).collect();
    println!("{title} (p50; ratio = kausal p50 / peer p50, below 1 means kausal is faster)");
    let mut header = format!("{:<52}  {:<30}  {:>10}", "operation", "state", "kausal");
    for peer in &peers {
        header.push_str(&format!("  {peer:>10}  {:>8}", format!("k/{peer}")));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for comparison in comparisons {
        let mut line = format!(
            "{:<52}  {:<30}  {:>10}",
            comparison.operation,
            comparison.state,
            format_ns(comparison.results[0].1.p50_ns)
        );
        for peer in &peers {
            let p50 = comparison
                .results
                .iter()
                .find(|(name, _)| name == peer)
                .map(|(_, row)| format_ns(row.p50_ns))
                .unwrap_or_default();
            let ratio = comparison
                .ratio(peer)
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_default();
            line.push_str(&format!("  {p50:>10}  {ratio:>8}"));
        }
        println!("{line}");
        if comparison.tail {
            let tails: Vec<String> = comparison
                .results
                .iter()
                .map(|(name, row)| {
                    format!(
                        "{name} p99.9 {} max {}",
                        format_ns(row.p999_ns),
                        format_ns(row.max_ns)
                    )
                })
                .collect();
            println!(
                "  {} puts; tail: {}",
                comparison.results[0].1.ops,
                tails.join("; ")
            );
        }
    }
}

/// The comparisons as JSON: one entry per row with every engine's figures.
pub fn to_json(comparisons: &[Comparison]) -> Value {
    Value::Array(
        comparisons
            .iter()
            .map(|comparison| {
                let engines: serde_json::Map<String, Value> = comparison
                    .results
                    .iter()
                    .map(|(name, row)| (name.to_string(), crate::report::row_json(row)))
                    .collect();
                let ratios: serde_json::Map<String, Value> = comparison
                    .results
                    .iter()
                    .skip(1)
                    .filter_map(|(name, _)| {
                        comparison
                            .ratio(name)
                            .map(|ratio| (name.to_string(), json!(ratio)))
                    })
                    .collect();
                json!({
                    "operation": comparison.operation,
                    "state": comparison.state,
                    "engines": engines,
                    "kausal_p50_over_peer_p50": ratios,
                    "tail": comparison.tail,
                })
            })
            .collect(),
    )
}
