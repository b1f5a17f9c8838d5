//! The ingest's side of precise mode (`crate::precise`): merging SCIP
//! indexes into the ingester's picture, planning the precise-calls blocks,
//! and putting each fresh file's precise call edges in place of its
//! heuristic ones in a resolution.

use std::sync::Arc;

use kausal_storage::{BlockId, Database, EdgeType};
use rustc_hash::{FxHashMap, FxHashSet};

use super::State;
use crate::error::IngestError;
use crate::precise::defs::{created_block, created_edges};
use crate::precise::stored::{PreciseFile, precise_block};
use crate::precise::{MergeFile, PreciseIndex, PreciseReport, merge};
use crate::provenance::{CallProvenance, CallRule};
use crate::record::fingerprint;
use crate::resolve::{FileProvenance, Resolution};

/// Merges `indexes` into `state.precise`; returns the paths whose precise
/// calls were set (their blocks are planned again). The text of a file
/// whose content the ingester released after writing it is read back
/// from its file block.
pub(super) fn merge_indexes(
    engine: &Database,
    state: &mut State,
    indexes: &[PreciseIndex],
    report: &mut PreciseReport,
) -> Result<FxHashSet<String>, IngestError> {
    if indexes.is_empty() {
        return Ok(FxHashSet::default());
    }
    let covered: FxHashSet<&str> = indexes.iter().flat_map(|index| index.paths()).collect();
    let snapshot = engine.snapshot();
    let mut texts: FxHashMap<&str, Arc<str>> = FxHashMap::default();
    for (path, entry) in &state.files {
        let released = entry.record.content.is_empty() && entry.record.size > 0;
        if !released || !covered.contains(path.as_str()) {
            continue;
        }
        let view =
            snapshot
                .find_block(entry.names.file_id)
                .map_err(|source| IngestError::ReadGraph {
                    block: entry.names.file_id.to_string(),
                    source,
                })?;
        if let Some(view) = view {
            texts.insert(path.as_str(), Arc::from(view.content));
        }
    }
    // Only the files some index covers: the mapping reads no other.
    let tree: Vec<MergeFile> = state
        .files
        .values()
        .filter(|entry| covered.contains(entry.record.path.as_str()))
        .map(|entry| MergeFile {
            path: &entry.record.path,
            language: entry.record.language,
            text: texts
                .get(entry.record.path.as_str())
                .map_or(&entry.record.content, |text| text),
            mtime_ns: entry.record.mtime_ns,
            content_hash: entry.record.content_hash,
            summary: &entry.record.summary,
            names: &entry.names,
        })
        .collect();
    let merged = merge(indexes, &tree, report);
    drop(tree);
    let mut texts: FxHashMap<String, Arc<str>> = texts
        .into_iter()
        .map(|(path, text)| (path.to_string(), text))
        .collect();
    let mut dirty = FxHashSet::default();
    for (path, file) in merged {
        // The blocks created for its definitions are cut from its text
        // when they are planned; it is released again after that.
        if let Some(text) = texts.remove(&path)
            && let Some(entry) = state.files.get_mut(&path)
        {
            entry.record.content = text;
        }
        dirty.insert(path.clone());
        state.precise.insert(path, file);
    }
    Ok(dirty)
}

/// Releases the text of every file (written to its file block by now):
/// between ingests the ingester keeps summaries and hashes, not the tree.
pub(super) fn release_contents(state: &mut State) {
    let empty: Arc<str> = Arc::from("");
    for entry in state.files.values_mut() {
        entry.record.content = empty.clone();
    }
}

/// The precise file of `path` when it still describes the file (same
/// content hash).
fn fresh<'s>(state: &'s State, path: &str) -> Option<&'s PreciseFile> {
    let file = state.precise.get(path)?;
    let entry = state.files.get(path)?;
    (entry.record.content_hash == file.content_hash).then_some(file)
}

/// Puts the precise call edges of every fresh file in place of the
/// heuristic call edges (`calls`, `calls_method`, `calls_candidate`) that
/// start in it, with provenance `precise`, and adds the edges of the
/// blocks created for its definitions (`contains`, `defined_in`, `names`).
/// An edge whose end is no block of the target graph (`blocks` and
/// `precise`: a function renamed or deleted since, a created block of a
/// file edited since) is left out.
pub(super) fn substitute(
    state: &State,
    blocks: &FxHashMap<BlockId, (u128, Arc<str>)>,
    precise: &PreciseBlocks,
    resolution: &mut Resolution,
) {
    let fresh_files: FxHashMap<&str, (u32, &PreciseFile)> = state
        .files
        .keys()
        .enumerate()
        .filter_map(|(n, path)| Some((path.as_str(), (n as u32, fresh(state, path)?))))
        .collect();
    if fresh_files.is_empty() {
        return;
    }
    let is_call = |edge_type: EdgeType| {
        matches!(
            edge_type,
            EdgeType::Calls | EdgeType::CallsMethod | EdgeType::CallsCandidate
        )
    };
    let in_fresh_file = |id: &BlockId| {
        blocks
            .get(id)
            .is_some_and(|(_, path)| fresh_files.contains_key(&**path))
    };
    resolution
        .edges
        .retain(|edge| !(is_call(edge.edge_type) && in_fresh_file(&edge.source)));
    let numbers: FxHashSet<u32> = fresh_files.values().map(|(n, _)| *n).collect();
    resolution
        .provenance
        .retain(|record| !numbers.contains(&record.file));
    let exists = |id: &BlockId| blocks.contains_key(id) || precise.contains_key(id);
    for (path, (number, file)) in &fresh_files {
        if let Some(entry) = state.files.get(*path) {
            created_edges(entry.names.file_id, &file.defs, &mut resolution.edges);
        }
        for edge in &file.edges {
            if !exists(&edge.source) || !exists(&edge.target) {
                continue;
            }
            resolution.edges.push(*edge);
            resolution.provenance.push(FileProvenance {
                file: *number,
                record: CallProvenance {
                    edge: *edge,
                    rule: CallRule::Precise,
                },
            });
        }
    }
    // Sorted by (file, edge), one record per edge, as `rule_choice` leaves it.
    resolution
        .provenance
        .sort_by_key(|record| (record.file, record.record.edge));
}

/// Stored precise blocks: the precise-calls blocks and the blocks created
/// for definitions (`precise::defs`): id -> (fingerprint, path).
pub(super) type PreciseBlocks = FxHashMap<BlockId, (u128, Arc<str>)>;

/// The precise blocks of the target graph, with the writes that get there
/// added to `puts` / `deletes` (by file). Only the files in `dirty` are
/// built again; the others stay as stored. A file whose edges would not
/// fit a block keeps its heuristic edges. A file's created blocks are in
/// the graph while the file is fresh, and cut from its text (the text the
/// index described).
pub(super) fn plan_blocks(
    state: &mut State,
    dirty: &FxHashSet<String>,
    puts: &mut std::collections::BTreeMap<String, Vec<kausal_storage::ContextBlock>>,
    deletes: &mut std::collections::BTreeMap<String, Vec<BlockId>>,
) -> Result<PreciseBlocks, IngestError> {
    let files = &state.files;
    state.precise.retain(|path, _| files.contains_key(path));
    let mut target: PreciseBlocks = FxHashMap::default();
    let mut unfit = Vec::new();
    for (path, file) in &state.precise {
        let Some(entry) = state.files.get(path) else {
            continue;
        };
        let id = crate::precise::stored::precise_block_id(entry.names.file_id);
        let mut blocks = Vec::with_capacity(1 + file.defs.len());
        if !dirty.contains(path)
            && let Some(stored) = state.precise_stored.get(&id)
        {
            target.insert(id, stored.clone());
        } else {
            match precise_block(path, entry.names.file_id, file) {
                Ok(block) => blocks.push(block),
                Err(_) => {
                    unfit.push(path.clone());
                    continue;
                }
            }
        }
        if entry.record.content_hash == file.content_hash {
            for def in &file.defs {
                if !dirty.contains(path)
                    && let Some(stored) = state.precise_stored.get(&def.id)
                {
                    target.insert(def.id, stored.clone());
                    continue;
                }
                let language = entry.record.language;
                let block = created_block(path, language, &entry.record.content, def).map_err(
                    |reason| IngestError::Write {
                        path: path.clone(),
                        source: kausal_storage::StorageError::InvalidMetadata {
                            id: def.id,
                            reason,
                        },
                    },
                )?;
                blocks.push(block);
            }
        }
        for block in blocks {
            let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
            let id = block.id;
            if state.precise_stored.get(&id).map(|(old, _)| *old) != Some(fp) {
                puts.entry(path.clone()).or_default().push(block);
            }
            target.insert(id, (fp, Arc::from(path.as_str())));
        }
    }
    for path in unfit {
        state.precise.remove(&path);
    }
    for (id, (_, path)) in &state.precise_stored {
        if !target.contains_key(id) {
            let ids = deletes.entry(path.to_string()).or_default();
            ids.push(*id);
            ids.sort();
        }
    }
    Ok(target)
}

/// Precise files, stale ones and precise edges now in `state`, into
/// `report`.
pub(super) fn describe(state: &State, report: &mut PreciseReport) {
    for (path, file) in &state.precise {
        report.files += 1;
        match fresh(state, path) {
            Some(_) => {
                report.edges += file.edges.len() as u64;
                report.blocks += file.defs.len() as u64;
            }
            None => report.stale += 1,
        }
    }
}
