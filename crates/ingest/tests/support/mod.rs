//! Shared helpers of the ingest tests: write a fixture tree, open an
//! engine, and dump the stored graph as readable lines.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, IngestReport, Ingester};
use kausal_storage::{BlockId, Config, Database, GraphEdge, SyncMode};
use kausal_vfs::{OsVfs, Vfs};

/// Writes `files` (repo-relative path, content) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
}

pub fn fast_config() -> Config {
    Config::builder()
        .sync_mode(SyncMode::Manual)
        .memtable_budget_bytes(8 * 1024 * 1024)
        .build()
}

pub fn open_engine(dir: &Path) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, fast_config()).unwrap()
}

pub fn options() -> IngestOptions {
    IngestOptions {
        progress: false,
        threads: Some(2),
        ..IngestOptions::default()
    }
}

/// Ingests `root` into a fresh engine under `db`; returns engine and report.
pub fn ingest_fresh(root: &Path, db: &Path) -> (Database, IngestReport) {
    let engine = open_engine(db);
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, root, options()).unwrap();
    let report = ingester.ingest(&engine).unwrap();
    (engine, report)
}

/// Ingests `files` (written to a fresh tree) on `threads` threads into a
/// fresh engine; returns the stored graph and the report.
pub fn ingest_on_threads(files: &[(String, String)], threads: usize) -> (Dump, IngestReport) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    write_tree(&root, &refs);
    let engine = open_engine(&dir.path().join("db"));
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let options = IngestOptions {
        threads: Some(threads),
        ..options()
    };
    let mut ingester = Ingester::new(vfs, &root, options).unwrap();
    let report = ingester.ingest(&engine).unwrap();
    (dump(&engine), report)
}

/// The blocks of code (not the ingester's internal ones) of a dump.
pub fn code_blocks(dump: &Dump) -> Vec<&(String, String, String)> {
    dump.blocks
        .values()
        .filter(|(_, metadata, _)| {
            kausal_ingest::BlockMeta::parse(metadata).is_some_and(|meta| !meta.is_internal())
        })
        .collect()
}

/// The whole stored graph: blocks (uri, metadata, content) and edges.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump {
    pub blocks: BTreeMap<BlockId, (String, String, String)>,
    pub edges: BTreeSet<GraphEdge>,
}

/// A block's metadata, but the walk record's with its walk time zeroed:
/// the one field in which a fresh ingest and an incremental one of the
/// same tree may differ.
pub fn timeless_metadata(view: &kausal_storage::BlockView) -> String {
    match kausal_ingest::WalkRecord::from_block(view) {
        Some(mut record) => {
            record.walk_started_ns = 0;
            record.to_block().unwrap().metadata_json
        }
        None => view.metadata_json.to_string(),
    }
}

pub fn dump(engine: &Database) -> Dump {
    let mut blocks = BTreeMap::new();
    let mut edges = BTreeSet::new();
    for view in engine.snapshot().iterate_blocks().unwrap() {
        let view = view.unwrap();
        blocks.insert(
            view.id,
            (
                view.source_uri.to_string(),
                timeless_metadata(&view),
                view.content.to_string(),
            ),
        );
    }
    for id in blocks.keys() {
        edges.extend(engine.snapshot().find_outgoing_edges(*id).unwrap());
        edges.extend(engine.snapshot().find_incoming_edges(*id).unwrap());
    }
    Dump { blocks, edges }
}

/// Field of a block's metadata.
pub fn meta_field(metadata: &str, field: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(metadata).unwrap();
    match &value[field] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Edges as `source -type-> target` with qualified names (file blocks by path).
pub fn edge_lines(engine: &Database) -> BTreeSet<String> {
    let dump = dump(engine);
    let name = |id: &BlockId| -> String {
        match dump.blocks.get(id) {
            Some((uri, meta, _)) => {
                if meta_field(meta, "kind") == "file" {
                    uri.clone()
                } else {
                    meta_field(meta, "qualified_name")
                }
            }
            None => format!("<missing {id}>"),
        }
    };
    // Name-index edges have their own test (`name_index.rs`).
    dump.edges
        .iter()
        .filter(|e| e.edge_type != kausal_storage::EdgeType::Names)
        .map(|e| format!("{} -{}-> {}", name(&e.source), e.edge_type, name(&e.target)))
        .collect()
}

/// Only the call edges (`calls` and `calls_method`).
pub fn call_lines(engine: &Database) -> BTreeSet<String> {
    edge_lines(engine)
        .into_iter()
        .filter(|l| l.contains(" -calls-> ") || l.contains(" -calls_method-> "))
        .collect()
}

pub fn lines(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every stored call provenance record as `caller -type-> callee rule`
/// (qualified names, as `edge_lines`), and the number of call edges
/// without a record.
pub fn provenance_lines(engine: &Database) -> (BTreeSet<String>, usize) {
    let dump = dump(engine);
    let name = |id: &BlockId| -> String {
        match dump.blocks.get(id) {
            Some((uri, meta, _)) if meta_field(meta, "kind") == "file" => uri.clone(),
            Some((_, meta, _)) => meta_field(meta, "qualified_name"),
            None => format!("<missing {id}>"),
        }
    };
    let mut lines = BTreeSet::new();
    let mut recorded = BTreeSet::new();
    for (id, (uri, meta, content)) in &dump.blocks {
        let view = kausal_storage::BlockView {
            id: *id,
            sequence: 0,
            source_uri: uri,
            metadata_json: meta,
            content,
        };
        let Some(stored) = kausal_ingest::provenance::read_provenance(&view) else {
            continue;
        };
        for record in stored.records {
            let e = record.edge;
            assert!(dump.edges.contains(&e), "a record of a stored edge");
            recorded.insert(e);
            lines.insert(format!(
                "{} -{}-> {} {}",
                name(&e.source),
                e.edge_type,
                name(&e.target),
                record.rule
            ));
        }
    }
    let unrecorded = dump
        .edges
        .iter()
        .filter(|e| {
            matches!(
                e.edge_type,
                kausal_storage::EdgeType::Calls | kausal_storage::EdgeType::CallsMethod
            ) && !recorded.contains(e)
        })
        .count();
    (lines, unrecorded)
}
