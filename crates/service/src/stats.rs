//! `stats`: counts of blocks and edges, table and file sizes, and what the
//! last ingest's walk left out.

use std::collections::BTreeMap;
use std::path::Path;

use kausal_ingest::WalkRecord;
use kausal_ingest::meta::is_internal_block;
use kausal_ingest::provenance::{UNRECORDED, read_provenance};
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
