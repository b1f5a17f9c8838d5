//! The write half of an ingest: from the ingester's picture (`State`) and
//! the files that changed to the target graph, planned in two steps (blocks,
//! then edges by resolving every file) and applied as one batch per file;
//! and the walk record. Planning never writes; applying never decides.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use kausal_storage::{BlockId, Database, GraphEdge, StorageError, WriteBatch};
use rustc_hash::{FxHashMap, FxHashSet};

use super::batch_writer::BatchWriter;
use super::block_plan::{BlockPlan, plan_and_write_blocks};
use super::edge_set::EdgeSet;
use super::{Entry, ProvenanceEntry, State, lap};
use crate::error::IngestError;
use crate::provenance::{CallProvenance, provenance_block, provenance_block_id};
use crate::record::fingerprint;
use crate::report::IngestReport;
use crate::resolve::{FileView, Resolution, resolve_incremental};
use crate::walk_record::{WALK_RECORD_URI, WalkRecord, walk_record_id};

/// What the edges of the graph should be, and the writes that get there.
struct EdgePlan {
    /// Every edge of the target graph.
    target: EdgeSet,
    /// A new resolution, when one ran (its edges moved to `target`).
    resolution: Option<Resolution>,
    /// New edges, as positions in `target`, by the file whose batch
    /// writes them, sorted (a cold ingest writes every edge: positions
    /// keep it from holding a second copy of them).
    puts: BTreeMap<String, Vec<u32>>,
    /// Stale edges not deleted with a block, by file, sorted.
    deletes: BTreeMap<String, Vec<GraphEdge>>,
}

/// What an ingest found changed, for `write_difference`.
pub(super) struct Changes<'a> {
    /// Files read again (new bytes, or the same bytes with a new mtime).
    pub changed: &'a [String],
    /// Files whose content changed.
    pub edited: &'a FxHashSet<String>,
    /// Resolve calls again (else every file kept its resolution input).
    pub resolve_again: bool,
    /// Files whose precise calls a merged index set.
    pub precise_dirty: &'a FxHashSet<String>,
}

/// Computes the target graph and writes what differs from `state`.
pub(super) fn write_difference(
    engine: &Database,
    state: &mut State,
    changes: &Changes,
    threads: usize,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let Changes {
        changed,
        edited,
        resolve_again,
        precise_dirty,
    } = *changes;
    let mut clock = Instant::now();
    let mut blocks = plan_and_write_blocks(engine, state, changed, threads, report)?;
    let precise_blocks =
        super::precise::plan_blocks(state, precise_dirty, &mut blocks.puts, &mut blocks.deletes)?;
    // Every file's text is in its file block now; resolution and later
    // ingests need summaries only.
    super::precise::release_contents(state);
    report.timings.blocks = lap(&mut clock);
    let mut edges = plan_edges(
        state,
        &mut blocks,
        &precise_blocks,
        edited,
        resolve_again,
        threads,
    );
    report.resolved = edges.resolution.is_some();
    // Provenance changes only with a resolution (else every call edge
    // and its rule stayed), and is written in its file's batch.
    let provenance = match &mut edges.resolution {
        Some(resolution) => {
            let files = state.files.len();
            state.catalog.count_calls(resolution, files);
            let planned = plan_provenance(state, resolution, &mut blocks)?;
            // Each file's records are in `planned` now: free the tree's
            // list (a record per call edge) before the writes.
            resolution.provenance = Vec::new();
            Some(planned)
        }
        None => None,
    };
    report.timings.resolve = lap(&mut clock);
    apply(engine, &blocks, &edges, provenance.as_ref(), report)?;
    report.timings.write = lap(&mut clock);
    engine.sync().map_err(|source| IngestError::Write {
        path: "(sync)".into(),
        source,
    })?;
    report.timings.sync = lap(&mut clock);

    state.blocks = blocks.target;
    state.edges = edges.target;
    if let Some(provenance) = provenance {
        state.provenance = provenance;
    }
    state.precise_stored = precise_blocks;
    state.verified = true;
    if let Some(resolution) = edges.resolution {
        state.counted = true;
        state.calls = resolution.calls;
        state.imports = resolution.imports;
        state.samples = resolution.samples;
    }
    Ok(())
}

/// Target edges (resolved again, Rust calls only in the files `edited`
/// can affect, or the stored ones when no file's resolution input
/// changed) and the edge writes, each assigned to
/// the batch of the file its owner lives in.
fn plan_edges(
    state: &mut State,
    blocks: &mut BlockPlan,
    precise: &super::precise::PreciseBlocks,
    edited: &FxHashSet<String>,
    resolve_again: bool,
    threads: usize,
) -> EdgePlan {
    let mut resolution = resolve_again.then(|| {
        let views: Vec<FileView> = state
            .files
            .values()
            .map(|entry| {
                FileView::with_derived(
                    &entry.record.path,
                    entry.record.language,
                    &entry.record.summary,
                    &entry.names,
                    &entry.derived,
                )
            })
            .collect();
        // Only a verified state's cache saw the summaries of every file
        // not edited.
        let edited: FxHashSet<&str> = edited.iter().map(String::as_str).collect();
        let changed = state.verified.then_some(&edited);
        resolve_incremental(&views, threads, &mut state.call_cache, changed)
    });
    if let Some(resolution) = &mut resolution {
        plan_stubs(resolution, blocks);
        super::precise::substitute(state, &blocks.target, precise, resolution);
    }
    // Without a resolution every changed file kept its items, calls and
    // imports: the same edges, name index included, and nothing to write;
    // they move to the plan (the state gets them back from it). The
    // resolution's edges are moved, not copied: after this they live in
    // `target` only.
    let (target, added, stale) = match &mut resolution {
        Some(resolution) => target_edges(state, blocks, precise, edited, resolution),
        None => (std::mem::take(&mut state.edges), Vec::new(), Vec::new()),
    };
    let blocks: &BlockPlan = blocks;
    let deleted_blocks: FxHashSet<BlockId> = blocks.deletes.values().flatten().copied().collect();
    // An edge is written in the batch of the file its owner lives in.
    let path_of = |edge: &GraphEdge| -> &str {
        let id = super::edge_delta::owner(edge);
        blocks
            .target
            .get(&id)
            .or_else(|| blocks.stored(&id))
            .or_else(|| precise.get(&id))
            .map_or("", |(_, p)| &**p)
    };
    // Both come out sorted (a deterministic write order).
    let mut puts: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for position in added {
        let Some(edge) = target.get(position) else {
            continue;
        };
        push_by_path(&mut puts, path_of(edge), position);
    }
    let mut deletes: BTreeMap<String, Vec<GraphEdge>> = BTreeMap::new();
    for edge in stale {
        // Deleting a block deletes its edges.
        if deleted_blocks.contains(&edge.source) || deleted_blocks.contains(&edge.target) {
            continue;
        }
        push_by_path(&mut deletes, path_of(&edge), edge);
    }
    EdgePlan {
        target,
        resolution,
        puts,
        deletes,
    }
}

/// The target edges after a resolution, the positions in it of the edges
/// to write and the stored edges it lacks: the stored set with the
/// edit's dirty owners replaced when `edge_delta` can tell them, else
/// every edge of the resolution and of the name index, sorted.
fn target_edges(
    state: &State,
    blocks: &BlockPlan,
    precise: &super::precise::PreciseBlocks,
    edited: &FxHashSet<String>,
    resolution: &mut Resolution,
) -> super::edge_set::Replaced {
    let deleted = blocks.deletes.values().flatten().copied();
    let dirty = super::edge_delta::dirty_owners(state, blocks, deleted, precise.len(), edited);
    if let Some(owners) = dirty {
        return super::edge_delta::replace(state, resolution, &owners);
    }
    // The name index (see `name_index`): derived like every other
    // edge, so it is written, diffed and deleted with the blocks it
    // names.
    let name_edges: Vec<&[GraphEdge]> = state.files.values().map(Entry::name_edges).collect();
    resolution
        .edges
        .reserve(name_edges.iter().map(|edges| edges.len()).sum());
    for edges in name_edges {
        resolution.edges.extend_from_slice(edges);
    }
    let target = EdgeSet::from_unsorted(std::mem::take(&mut resolution.edges));
    let (added, stale) = target.difference(&state.edges);
    (target, added, stale)
}

/// Appends `value` to `path`'s list, allocating the key only for a path
/// not seen yet (this runs once per edge written).
fn push_by_path<T>(map: &mut BTreeMap<String, Vec<T>>, path: &str, value: T) {
    match map.get_mut(path) {
        Some(values) => values.push(value),
        None => {
            map.insert(path.to_string(), vec![value]);
        }
    }
}

/// The external stubs `resolution` names (see `crate::stubs`): new ones
/// written, ones no call reaches any more deleted, each language's in one
/// batch of their own.
fn plan_stubs(resolution: &mut Resolution, blocks: &mut BlockPlan) {
    let mut wanted: FxHashSet<BlockId> = FxHashSet::default();
    resolution.stubs.retain(|(language, name)| {
        let id = crate::stubs::stub_id(*language, name);
        wanted.insert(id);
        if blocks.target.contains_key(&id) {
            return true;
        }
        // A name past the storage limits gets no stub and no edge.
        let Ok(block) = crate::stubs::stub_block(*language, name) else {
            return false;
        };
        let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
        let uri = block.source_uri.clone();
        blocks.set(id, Some((fp, Arc::from(uri.as_str()))));
        if blocks.stored(&id).map(|(old, _)| *old) != Some(fp) {
            blocks.puts.entry(uri).or_default().push(block);
        }
        true
    });
    let gone: Vec<(BlockId, Arc<str>)> = blocks
        .target
        .iter()
        .filter(|(id, (_, path))| crate::stubs::is_stub_uri(path) && !wanted.contains(id))
        .map(|(id, (_, path))| (*id, path.clone()))
        .collect();
    for (id, path) in gone {
        blocks.set(id, None);
        let deletes = blocks.deletes.entry(path.to_string()).or_default();
        deletes.push(id);
        deletes.sort();
    }
}

/// The provenance blocks of the target graph (one per file with call
/// edges), adding the writes that get there to `blocks`: a file's block is
/// built (text and fingerprint) only when its records differ from the
/// ones this ingester stored, so an edit re-formats the files whose call
/// edges or rules changed, not every file.
fn plan_provenance(
    state: &mut State,
    resolution: &Resolution,
    blocks: &mut BlockPlan,
) -> Result<FxHashMap<BlockId, ProvenanceEntry>, IngestError> {
    let mut old = std::mem::take(&mut state.provenance);
    let entries: Vec<&Entry> = state.files.values().collect();
    let mut target: FxHashMap<BlockId, ProvenanceEntry> = FxHashMap::default();
    // `resolution.provenance` is sorted by calling file (`rule_choice`).
    for run in resolution.provenance.chunk_by(|a, b| a.file == b.file) {
        let Some(entry) = entries.get(run[0].file as usize) else {
            continue;
        };
        let id = provenance_block_id(entry.names.file_id);
        let stored = old.remove(&id);
        let same = stored
            .as_ref()
            .and_then(|s| s.records.as_deref())
            .is_some_and(|r| {
                r.len() == run.len() && r.iter().zip(run).all(|(a, b)| *a == b.record)
            });
        let stored_fp = stored.as_ref().map(|s| s.fingerprint);
        if same && let Some(stored) = stored {
            target.insert(id, stored);
            continue;
        }
        let records: Vec<CallProvenance> = run.iter().map(|p| p.record).collect();
        let path = entry.record.path.as_str();
        let block = provenance_block(path, entry.names.file_id, &records).map_err(|reason| {
            IngestError::Write {
                path: path.to_string(),
                source: StorageError::InvalidMetadata { id, reason },
            }
        })?;
        let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
        if stored_fp != Some(fp) {
            blocks
                .provenance_puts
                .insert(path.to_string(), entry.names.file_id);
        }
        let entry = ProvenanceEntry {
            path: Arc::from(path),
            fingerprint: fp,
            records: Some(records),
        };
        target.insert(id, entry);
    }
    // Files without call edges any more, or gone: their blocks go.
    for (id, stored) in old {
        let deletes = blocks.deletes.entry(stored.path.to_string()).or_default();
        deletes.push(id);
        deletes.sort();
    }
    Ok(target)
}

/// Writes the plans: one batch per file (split only past the batch limits).
fn apply(
    engine: &Database,
    blocks: &BlockPlan,
    edges: &EdgePlan,
    provenance: Option<&FxHashMap<BlockId, ProvenanceEntry>>,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut paths: Vec<&String> = blocks
        .puts
        .keys()
        .chain(blocks.provenance_puts.keys())
        .chain(blocks.deletes.keys())
        .chain(edges.puts.keys())
        .chain(edges.deletes.keys())
        .collect();
    paths.sort();
    paths.dedup();
    let mut writer = BatchWriter::new(engine);
    for path in paths {
        writer.path = path.clone();
        for block in blocks.puts.get(path).into_iter().flatten() {
            writer.push(|b| b.put_block(block.clone()))?;
            report.blocks_written += 1;
        }
        if let Some(file_id) = blocks.provenance_puts.get(path) {
            let id = provenance_block_id(*file_id);
            let records = provenance
                .and_then(|p| p.get(&id))
                .and_then(|entry| entry.records.as_deref())
                .ok_or_else(|| IngestError::Worker {
                    reason: format!("no provenance records planned for {path}"),
                })?;
            // The same block `plan_provenance` built and fingerprinted.
            let block =
                provenance_block(path, *file_id, records).map_err(|reason| IngestError::Write {
                    path: path.to_string(),
                    source: StorageError::InvalidMetadata { id, reason },
                })?;
            writer.push(|b| b.put_block(block.clone()))?;
            report.blocks_written += 1;
        }
        let deletes = blocks.deletes.get(path).into_iter().flatten();
        for id in deletes.filter(|id| !blocks.written_deletes.contains(id)) {
            writer.push(|b| b.delete_block(*id))?;
            report.blocks_deleted += 1;
        }
        for edge in edges.deletes.get(path).into_iter().flatten() {
            writer.push(|b| b.delete_edge(*edge))?;
            report.edges_deleted += 1;
        }
        let puts = edges.puts.get(path).into_iter().flatten();
        for edge in puts.filter_map(|position| edges.target.get(*position)) {
            writer.push(|b| b.put_edge(*edge))?;
            report.edges_written += 1;
        }
        writer.commit()?;
    }
    report.batches += writer.batches;
    Ok(())
}

/// Stores what this walk left out (for `kausal stats`) and when it began
/// (for the next ingest after a restart): one block in its own batch, then
/// a sync. Written after the difference is synced, so a stored walk time
/// never vouches for files whose state blocks are not durable.
///
/// An ingest that wrote nothing (`wrote` false: no batch, and it did not
/// start from a loaded picture) and left out the same files keeps the
/// stored record, walk time included: a no-change re-ingest writes
/// nothing. The older time is safe (it trusts fewer files), and every
/// file it no longer trusts was read by then and found unchanged.
///
/// Written after every other write of the ingest, so a record that is
/// the graph's newest write says the last ingest finished.
pub(super) fn write_walk_record(
    engine: &Database,
    state: &mut State,
    report: &IngestReport,
    wrote: bool,
) -> Result<(), IngestError> {
    let error = |source| IngestError::Write {
        path: WALK_RECORD_URI.into(),
        source,
    };
    let record_block = |walk_started_ns| {
        WalkRecord::from_report(report, walk_started_ns)
            .to_block()
            .map_err(|reason| {
                error(StorageError::InvalidMetadata {
                    id: walk_record_id(),
                    reason,
                })
            })
    };
    let stored_fp = state.blocks.get(&walk_record_id()).map(|(old, _)| *old);
    if !wrote {
        let kept = record_block(state.recorded_walk_ns)?;
        let fp = fingerprint(&kept.source_uri, &kept.metadata_json, &kept.content);
        if stored_fp == Some(fp) {
            return Ok(());
        }
    }
    let block = record_block(state.last_walk_ns)?;
    let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
    let mut batch = WriteBatch::new();
    batch.put_block(block.clone()).map_err(error)?;
    engine.write_batch(&batch).map_err(error)?;
    engine.sync().map_err(error)?;
    state
        .blocks
        .insert(block.id, (fp, Arc::from(WALK_RECORD_URI)));
    state.recorded_walk_ns = state.last_walk_ns;
    Ok(())
}
