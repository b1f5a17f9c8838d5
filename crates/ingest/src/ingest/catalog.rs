//! The ingest's side of the names dictionary (`crate::name_dictionary`),
//! the names by length (`crate::name_lengths`, in `lengths`) and the
//! graph's counts (`crate::graph_counts`): kept in step with the files
//! after every ingest, written after the files' batches when they
//! changed, in batches of their own followed by a sync.
//!
//! Between ingests the ingester holds each file's dictionary entries
//! (to take them back out when the file changes or goes) and how many
//! files give each entry, so an edit touches the shards of the names it
//! added or removed. After a restart (the picture loaded from the graph)
//! every shard is built once and compared by fingerprint with the stored
//! one, so an unchanged tree still writes nothing. A crash between the
//! files' batches and these leaves the dictionary and counts of the
//! previous ingest until the next one, which rebuilds and compares them
//! like after a restart.

mod lengths;

use std::collections::{BTreeMap, BTreeSet};

use kausal_storage::{BlockId, BlockView, ContextBlock, Database, StorageError, WriteBatch};
use rustc_hash::{FxHashMap, FxHashSet};

use super::State;
use crate::error::IngestError;
use crate::graph_counts::{GraphCounts, counts_id, records_kept};
use crate::language::Language;
use crate::name_dictionary::{
    DICTIONARY_URI, file_entries, head_block, head_id, is_cut, is_dictionary_block, shard_block,
    shard_id,
};
use crate::provenance::CallProvenance;
use crate::record::fingerprint;
use crate::report::IngestReport;
use crate::resolve::Resolution;

/// One file's part of the dictionary.
#[derive(Debug, Clone)]
struct FileEntries {
    /// The content hash and language its entries were taken from.
    content_hash: u128,
    language: Language,
    /// Its entries, sorted, without repeats.
    entries: Vec<Box<str>>,
}

/// The dictionary and counts as this ingester last stored them.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    files: FxHashMap<String, FileEntries>,
    /// Each entry, with the number of files that give it.
    entries: BTreeMap<Box<str>, u32>,
    /// First entry of each stored shard; `None` when not known (after a
    /// load from the graph): every shard is then built and compared.
    starts: Option<BTreeSet<Box<str>>>,
    /// First name of each stored names-by-length shard, by length; known
    /// exactly when `starts` is.
    length_starts: Option<lengths::LengthStarts>,
    /// Fingerprint of each stored dictionary or counts block.
    stored: FxHashMap<BlockId, u128>,
    /// Recorded call edges by rule, from the last resolution.
    calls_by_rule: BTreeMap<String, u64>,
}

impl Catalog {
    /// Notes a stored block while the picture is loaded from the graph;
    /// true when it is one of the catalog's (not a file's).
    pub(super) fn note_loaded(&mut self, view: &BlockView<'_>, fp: u128) -> bool {
        let ours = view.id == counts_id() || is_dictionary_block(view.metadata_json);
        if ours {
            self.stored.insert(view.id, fp);
        }
        ours
    }

    /// Counts the records the provenance blocks of `resolution` hold, by
    /// rule (`files` files; records of other numbers are not written).
    pub(super) fn count_calls(&mut self, resolution: &Resolution, files: usize) {
        self.calls_by_rule.clear();
        for run in resolution.provenance.chunk_by(|a, b| a.file == b.file) {
            if run[0].file as usize >= files {
                continue;
            }
            let records: Vec<CallProvenance> = run.iter().map(|p| p.record).collect();
            for record in &records[..records_kept(&records)] {
                *self
                    .calls_by_rule
                    .entry(record.rule.name().to_string())
                    .or_default() += 1;
            }
        }
    }
}

/// Takes one file's `entries` out of the catalog's counts, noting in
/// `touched` that each was present before.
fn take_out(catalog: &mut Catalog, entries: &[Box<str>], touched: &mut BTreeMap<Box<str>, bool>) {
    for entry in entries {
        touched.entry(entry.clone()).or_insert(true);
        if let Some(count) = catalog.entries.get_mut(entry) {
            *count -= 1;
            if *count == 0 {
                catalog.entries.remove(entry);
            }
        }
    }
}

/// Brings the catalog's entries in line with `state.files` (only files
/// new, edited or gone since the last call are looked at); returns the
/// entries that appeared or disappeared.
fn update_entries(state: &mut State) -> BTreeSet<Box<str>> {
    let catalog = &state.catalog;
    if catalog.files.is_empty() && catalog.entries.is_empty() && catalog.starts.is_none() {
        bulk_entries(state);
        // Every shard is built and compared: nothing is said to flip.
        return BTreeSet::new();
    }
    let catalog = &mut state.catalog;
    // Whether each entry touched was present before.
    let mut touched: BTreeMap<Box<str>, bool> = BTreeMap::new();
    let gone: Vec<String> = catalog
        .files
        .keys()
        .filter(|path| !state.files.contains_key(*path))
        .cloned()
        .collect();
    for path in gone {
        if let Some(old) = catalog.files.remove(&path) {
            take_out(catalog, &old.entries, &mut touched);
        }
    }
    for (path, file) in &state.files {
        let record = &file.record;
        if catalog.files.get(path).is_some_and(|old| {
            old.content_hash == record.content_hash && old.language == record.language
        }) {
            continue;
        }
        let entries = file_entries(path, &file.names, &record.summary);
        if let Some(old) = catalog.files.remove(path) {
            take_out(catalog, &old.entries, &mut touched);
        }
        for entry in &entries {
            let count = catalog.entries.entry(entry.clone()).or_insert(0);
            touched.entry(entry.clone()).or_insert(*count > 0);
            *count += 1;
        }
        let part = FileEntries {
            content_hash: record.content_hash,
            language: record.language,
            entries,
        };
        catalog.files.insert(path.clone(), part);
    }
    touched
        .into_iter()
        .filter(|(entry, before)| *before != catalog.entries.contains_key(entry))
        .map(|(entry, _)| entry)
        .collect()
}

/// The entries of every file at once, when the catalog holds none (a
/// first ingest, or the first after a load) and every shard is built
/// anyway: one sort of all entries, where inserting them one by one into
/// the map, each noted as touched, took most of 7 s on the Linux tree.
fn bulk_entries(state: &mut State) {
    let catalog = &mut state.catalog;
    let mut all: Vec<Box<str>> = Vec::new();
    for (path, file) in &state.files {
        let record = &file.record;
        let entries = file_entries(path, &file.names, &record.summary);
        all.extend(entries.iter().cloned());
        let part = FileEntries {
            content_hash: record.content_hash,
            language: record.language,
            entries,
        };
        catalog.files.insert(path.clone(), part);
    }
    all.sort_unstable();
    let mut counted: Vec<(Box<str>, u32)> = Vec::with_capacity(all.len());
    for entry in all {
        match counted.last_mut() {
            Some((last, count)) if *last == entry => *count += 1,
            _ => counted.push((entry, 1)),
        }
    }
    // From sorted input the map is built in one pass.
    catalog.entries = counted.into_iter().collect();
}

/// The writes that bring the stored blocks to the target ones.
#[derive(Default)]
struct Plan {
    puts: Vec<(ContextBlock, u128)>,
    deletes: Vec<BlockId>,
    /// Every block planned, written or already stored as it is.
    built: FxHashSet<BlockId>,
}

impl Plan {
    /// Puts `block` unless the stored one has its fingerprint.
    fn put(&mut self, catalog: &Catalog, block: ContextBlock) {
        self.built.insert(block.id);
        let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
        if catalog.stored.get(&block.id) != Some(&fp) {
            self.puts.push((block, fp));
        }
    }
}

fn invalid(id: BlockId) -> impl Fn(String) -> IngestError {
    move |reason| IngestError::Write {
        path: DICTIONARY_URI.into(),
        source: StorageError::InvalidMetadata { id, reason },
    }
}

/// The dictionary's writes, given the entries that `flipped`.
fn plan_dictionary(
    catalog: &Catalog,
    flipped: &BTreeSet<Box<str>>,
    plan: &mut Plan,
) -> Result<BTreeSet<Box<str>>, IngestError> {
    let (starts, dirty): (BTreeSet<Box<str>>, BTreeSet<Box<str>>) = match &catalog.starts {
        // Every shard is built (stored ones not built go: see `write`).
        None => {
            let starts: BTreeSet<Box<str>> = std::iter::once(Box::from(""))
                .chain(catalog.entries.keys().filter(|e| is_cut(e)).cloned())
                .collect();
            (starts.clone(), starts)
        }
        Some(old) => {
            let mut starts = old.clone();
            let mut dirty = BTreeSet::new();
            for entry in flipped.iter().filter(|entry| is_cut(entry)) {
                if catalog.entries.contains_key(entry) {
                    starts.insert(entry.clone());
                } else if starts.remove(entry) {
                    plan.deletes.push(shard_id(entry));
                }
            }
            for entry in flipped {
                // The shard that holds the entry's place now, and the one
                // before a new cut (which it shortened).
                dirty.extend(starts.range(..=entry.clone()).next_back().cloned());
                if is_cut(entry) && catalog.entries.contains_key(entry) {
                    dirty.extend(starts.range(..entry.clone()).next_back().cloned());
                }
            }
            (starts, dirty)
        }
    };
    for start in &dirty {
        let end = starts
            .range((
                std::ops::Bound::Excluded(start.clone()),
                std::ops::Bound::Unbounded,
            ))
            .next();
        let range = match end {
            Some(end) => catalog.entries.range(start.clone()..end.clone()),
            None => catalog.entries.range(start.clone()..),
        };
        let block = shard_block(start, range.map(|(entry, _)| &**entry))
            .map_err(invalid(shard_id(start)))?;
        plan.put(catalog, block);
    }
    Ok(starts)
}

/// The counts of the graph `state` holds after an ingest `report`
/// describes.
fn counts(state: &State, report: &IngestReport) -> GraphCounts {
    let mut counts = GraphCounts {
        blocks_by_kind: report.blocks_by_kind.clone(),
        edges_by_type: report.edges_by_type.clone(),
        calls_by_rule: state.catalog.calls_by_rule.clone(),
        ..GraphCounts::default()
    };
    for file in state.files.values() {
        let blocks = 1 + file.record.summary.items.len() as u64;
        counts.blocks += blocks;
        *counts
            .blocks_by_language
            .entry(file.record.language.name().to_string())
            .or_default() += blocks;
    }
    // External stubs are no file's blocks (`crate::stubs`): their
    // `source_uri` names their language.
    for (_, path) in state.blocks.values() {
        if let Some(language) = path.strip_prefix(crate::stubs::EXTERNAL_URI_PREFIX) {
            counts.blocks += 1;
            *counts
                .blocks_by_language
                .entry(language.to_string())
                .or_default() += 1;
        }
    }
    counts
}

/// Brings the stored dictionary and counts in line with `state` after an
/// ingest `report` describes; true when it wrote anything.
pub(super) fn write(
    engine: &Database,
    state: &mut State,
    report: &IngestReport,
) -> Result<bool, IngestError> {
    let flipped = update_entries(state);
    let catalog = &state.catalog;
    let mut plan = Plan::default();
    let starts = if flipped.is_empty() && catalog.starts.is_some() {
        None
    } else {
        let starts = plan_dictionary(catalog, &flipped, &mut plan)?;
        let head = head_block(
            starts.iter().map(|start| &**start),
            catalog.entries.len() as u64,
            0,
        )
        .map_err(invalid(head_id()))?;
        plan.put(catalog, head);
        let length_starts = lengths::plan(catalog, &flipped, &mut plan)?;
        Some((starts, length_starts))
    };
    let counts = counts(state, report)
        .to_block()
        .map_err(invalid(counts_id()))?;
    plan.put(catalog, counts);
    if catalog.starts.is_none() {
        // Every block was built: every stored one not among them goes.
        let stale = catalog.stored.keys().filter(|id| !plan.built.contains(id));
        plan.deletes.extend(stale.copied());
    }
    let wrote = !plan.puts.is_empty() || !plan.deletes.is_empty();
    apply(engine, &plan)?;
    let catalog = &mut state.catalog;
    for id in &plan.deletes {
        catalog.stored.remove(id);
    }
    for (block, fp) in &plan.puts {
        catalog.stored.insert(block.id, *fp);
    }
    if let Some((starts, length_starts)) = starts {
        catalog.starts = Some(starts);
        catalog.length_starts = Some(length_starts);
    }
    Ok(wrote)
}

/// Writes `plan`: the shards first and the head last, in as few batches
/// as the storage limits allow, then a sync.
fn apply(engine: &Database, plan: &Plan) -> Result<(), IngestError> {
    if plan.puts.is_empty() && plan.deletes.is_empty() {
        return Ok(());
    }
    let error = |source| IngestError::Write {
        path: DICTIONARY_URI.into(),
        source,
    };
    let mut batch = WriteBatch::new();
    let push = |batch: &mut WriteBatch,
                op: &dyn Fn(&mut WriteBatch) -> Result<(), StorageError>|
     -> Result<(), IngestError> {
        match op(batch) {
            Err(StorageError::BatchTooLarge { .. }) if !batch.is_empty() => {
                engine.write_batch(batch).map_err(error)?;
                batch.clear();
                op(batch).map_err(error)
            }
            other => other.map_err(error),
        }
    };
    // A reader between batches finds a shard the head does not list yet
    // (harmless), never a listed shard missing but for a deleted one
    // (read as empty).
    let (head, shards): (Vec<_>, Vec<_>) = plan
        .puts
        .iter()
        .partition(|(block, _)| block.id == head_id());
    for (block, _) in shards.iter().chain(&head) {
        push(&mut batch, &|b| b.put_block(block.clone()))?;
    }
    for id in &plan.deletes {
        push(&mut batch, &|b| b.delete_block(*id))?;
    }
    if !batch.is_empty() {
        engine.write_batch(&batch).map_err(error)?;
    }
    engine.sync().map_err(error)
}
