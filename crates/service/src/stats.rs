//! `stats`: counts of blocks and edges, table and file sizes, and what the
//! last ingest's walk left out. The counts are read from the one block
//! ingest keeps them in (`kausal_ingest::graph_counts`); only a database
//! ingested before that block existed is scanned block by block (27 s on
//! the Linux kernel's two million blocks).

use std::collections::BTreeMap;
use std::path::Path;

use kausal_ingest::WalkRecord;
use kausal_ingest::graph_counts::{GraphCounts, counts_id};
use kausal_ingest::meta::is_internal_block;
use kausal_ingest::provenance::{UNRECORDED, read_provenance};
use kausal_ingest::walk_record::walk_record_id;
use kausal_storage::EdgeType;
use kausal_vfs::{OsVfs, Vfs};

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::reader::Reader;
use crate::report::{Answer, StatsReport};
use crate::resolve::storage_error;

fn dir_bytes(dir: &Path) -> u64 {
    let vfs = OsVfs::new();
    vfs.list_dir(dir)
        .map(|names| {
            names
                .iter()
                .filter_map(|name| vfs.file_size(&dir.join(name)).ok())
                .sum()
        })
        .unwrap_or(0)
}

pub(crate) fn stats(engine: &Reader, db: &Path) -> Result<Answer, ServiceError> {
    stats_from(engine, db, Counting::Stored)
}

/// Where `stats` takes its counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// The counts block, else a scan.
    Stored,
    /// A scan of every block (what the counts block must agree with).
    #[cfg_attr(not(test), allow(dead_code))]
    Scan,
}

fn stats_from(engine: &Reader, db: &Path, counting: Counting) -> Result<Answer, ServiceError> {
    let mut report = StatsReport {
        db: db.display().to_string(),
        blocks: 0,
        blocks_by_kind: BTreeMap::new(),
        blocks_by_language: BTreeMap::new(),
        edges_by_type: BTreeMap::new(),
        calls_by_provenance: BTreeMap::new(),
        tables: 0,
        table_bytes: 0,
        file_bytes: dir_bytes(db),
        memtable_bytes: 0,
        memtable_blocks: 0,
        memtable_edges: 0,
        last_walk: None,
    };
    let snapshot = engine.snapshot();
    let stored = match counting {
        Counting::Stored => snapshot
            .find_block(counts_id())
            .map_err(storage_error(db))?
            .and_then(|view| GraphCounts::from_block(&view)),
        Counting::Scan => None,
    };
    match stored {
        Some(counts) => {
            report.blocks = counts.blocks;
            report.blocks_by_kind = counts.blocks_by_kind;
            report.blocks_by_language = counts.blocks_by_language;
            report.edges_by_type = counts.edges_by_type;
            report.calls_by_provenance = counts.calls_by_rule;
            report.last_walk = snapshot
                .find_block(walk_record_id())
                .map_err(storage_error(db))?
                .and_then(|view| WalkRecord::from_block(&view));
        }
        None => count_by_scan(engine, &mut report)?,
    }
    // Call edges without a record: the rest of the `calls` and
    // `calls_method` edges (present, even when 0, so the key is stable).
    let calls: u64 = [EdgeType::Calls, EdgeType::CallsMethod]
        .iter()
        .filter_map(|t| report.edges_by_type.get(t.name()))
        .sum();
    let recorded: u64 = report.calls_by_provenance.values().sum();
    report
        .calls_by_provenance
        .insert(UNRECORDED.to_string(), calls.saturating_sub(recorded));
    let sizes = engine.snapshot().sizes();
    report.tables = sizes.tables;
    report.table_bytes = sizes.table_bytes;
    report.memtable_bytes = sizes.memtable_bytes;
    report.memtable_blocks = sizes.memtable_blocks;
    report.memtable_edges = sizes.memtable_edges;
    Ok(Answer::Stats(report))
}

/// The counts of `report` (and its walk record) by reading every block
/// and its edges: a database ingested before the counts block existed.
fn count_by_scan(engine: &Reader, report: &mut StatsReport) -> Result<(), ServiceError> {
    let db = engine.dir();
    let mut edges = Vec::new();
    for view in engine
        .snapshot()
        .iterate_blocks()
        .map_err(storage_error(db))?
    {
        let view = view.map_err(storage_error(db))?;
        // The walk record is ingest's note about the tree, not a block of it.
        if let Some(record) = WalkRecord::from_block(&view) {
            report.last_walk = Some(record);
            continue;
        }
        // A file's call provenance: counted by rule, not a block of code.
        if let Some(stored) = read_provenance(&view) {
            for record in &stored.records {
                *report
                    .calls_by_provenance
                    .entry(record.rule.name().to_string())
                    .or_default() += 1;
            }
            continue;
        }
        // A file's ingest state (or a provenance block of another
        // version) is ingest's bookkeeping, not code.
        if is_internal_block(view.metadata_json) {
            continue;
        }
        let info = BlockInfo::from_view(&view);
        report.blocks += 1;
        *report.blocks_by_kind.entry(info.kind).or_default() += 1;
        *report.blocks_by_language.entry(info.language).or_default() += 1;
        engine
            .snapshot()
            .find_outgoing_edges_into(view.id, &mut edges)
            .map_err(storage_error(db))?;
        for edge in &edges {
            *report
                .edges_by_type
                .entry(edge.edge_type.name().to_string())
                .or_default() += 1;
        }
        // Name-index edges start at key nodes, which are not blocks.
        engine
            .snapshot()
            .find_incoming_edges_into(view.id, &mut edges)
            .map_err(storage_error(db))?;
        for edge in edges.iter().filter(|e| e.edge_type == EdgeType::Names) {
            *report
                .edges_by_type
                .entry(edge.edge_type.name().to_string())
                .or_default() += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use kausal_ingest::{IngestOptions, Ingester};
    use kausal_storage::Database;

    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// `stats` from the counts block, and from a scan, as JSON.
    fn both(engine: &Database) -> (serde_json::Value, serde_json::Value) {
        let reader = Reader::new(engine);
        assert!(
            reader.snapshot().find_block(counts_id()).unwrap().is_some(),
            "ingest stores the counts"
        );
        let answer = |counting| {
            serde_json::to_value(stats_from(&reader, engine.dir(), counting).unwrap()).unwrap()
        };
        (answer(Counting::Stored), answer(Counting::Scan))
    }

    #[test]
    fn stored_counts_equal_a_scan_through_edits_and_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        write(
            &root,
            "src/lib.rs",
            "mod a;\npub fn top() { a::helper(); }\n",
        );
        write(
            &root,
            "src/a.rs",
            "pub struct T;\nimpl T { pub fn m(&self) {} }\npub fn helper() { T.m(); }\n",
        );
        write(
            &root,
            "py/util.py",
            "def f():\n    return g()\n\ndef g():\n    return 1\n",
        );
        // A call out of the tree (`printf`): whatever ingest makes of it
        // must be counted as a scan counts it.
        write(
            &root,
            "c/main.c",
            "int main(void) { printf(\"x\"); return 0; }\n",
        );
        let vfs: Arc<dyn kausal_vfs::Vfs> = Arc::new(OsVfs::new());
        let engine =
            Database::open_with(vfs.clone(), dir.path().join("db"), Default::default()).unwrap();
        let options = IngestOptions {
            progress: false,
            ..IngestOptions::default()
        };
        let mut ingester = Ingester::new(vfs, &root, options).unwrap();
        ingester.ingest(&engine).unwrap();
        let (stored, scanned) = both(&engine);
        assert_eq!(stored, scanned);
        assert!(
            stored["calls_by_provenance"]["scope"].as_u64().unwrap() > 0,
            "{stored}"
        );

        // An edit that adds calls and a type, and a file removed.
        write(
            &root,
            "src/a.rs",
            "pub struct T;\npub enum E { X }\nimpl T { pub fn m(&self) {} }\n\
             pub fn helper() { T.m(); other(); }\nfn other() {}\n",
        );
        std::fs::remove_file(root.join("py/util.py")).unwrap();
        ingester.ingest(&engine).unwrap();
        let (after, scanned) = both(&engine);
        assert_eq!(after, scanned);
        assert_ne!(after["blocks"], stored["blocks"]);
        assert!(
            after["blocks_by_language"].get("python").is_none(),
            "{after}"
        );

        // After a restart the picture is loaded from the graph.
        ingester.forget();
        write(&root, "src/b.rs", "pub fn b() { crate::top(); }\n");
        write(
            &root,
            "src/lib.rs",
            "mod a;\nmod b;\npub fn top() { a::helper(); }\n",
        );
        ingester.ingest(&engine).unwrap();
        let (restarted, scanned) = both(&engine);
        assert_eq!(restarted, scanned);
        assert_ne!(restarted["blocks"], after["blocks"]);
    }
}
