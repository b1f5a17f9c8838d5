//! The `Ingester`: walk, read and parse in parallel, resolve, and write the
//! difference between the stored graph and the graph the tree should give.
//!
//! Correctness rule: the graph written is a pure function of the current
//! tree (block contents and metadata from each file's summary, edges from
//! resolving all summaries), and an ingest writes exactly the difference
//! between it and what is stored. The ingester's picture of what is stored
//! comes from the graph itself (file blocks carry each file's size, mtime,
//! content hash and summary), so after a crash at any point a re-ingest
//! reloads that picture, recomputes the target graph, and converges to the
//! from-scratch result. Between successful ingests the picture is kept in
//! memory, so a no-change re-ingest is a walk and a stat per file.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use kausal_storage::{BlockId, Database, EdgeType, GraphEdge, StorageError, WriteBatch};
use kausal_vfs::Vfs;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::IngestOptions;
use crate::error::IngestError;
use crate::extract::extract;
use crate::hash::hash_bytes;
use crate::naming::{FileNames, name_file};
use crate::read::read_source;
use crate::record::{
    FileRecord, file_blocks, fingerprint, is_file_block, is_state_block, record_from_block,
};
use crate::report::{IngestReport, SkipCause, SkippedFile};
use crate::resolve::{CallSample, CallStats, FileView, ImportStats, resolve};
use crate::walk::{WalkEntry, walk};
use crate::walk_record::{WALK_RECORD_URI, WalkRecord, walk_record_id};

/// How much older than the previous walk an mtime must be for size+mtime
/// to prove a file unchanged (coarse file-system timestamp ticks).
const RACY_MARGIN_NS: u64 = 2_000_000_000;

/// Time since `clock`, restarting it.
fn lap(clock: &mut Instant) -> std::time::Duration {
    let elapsed = clock.elapsed();
    *clock = Instant::now();
    elapsed
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One file as the ingester holds it.
#[derive(Debug, Clone)]
struct Entry {
    record: FileRecord,
    names: FileNames,
}

/// The ingester's picture of the stored graph.
#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, Entry>,
    /// Fingerprint and path of every stored block.
    blocks: FxHashMap<BlockId, (u128, Arc<str>)>,
    edges: FxHashSet<GraphEdge>,
    /// True once the stored graph is known to equal the target graph of
    /// `files` (after a successful ingest); false after loading from a
    /// graph a crash may have left half-written.
    verified: bool,
    calls: CallStats,
    imports: ImportStats,
    samples: Vec<CallSample>,
    /// Wall clock (ns since the epoch) when the last successful walk began.
    /// A file whose mtime is not clearly older than that may have been
    /// rewritten within one timestamp tick without changing size or mtime
    /// ("racily clean", as git calls it), so it is re-read and hashed.
    last_walk_ns: u64,
}

/// Ingests one directory tree into engines, keeping what it learned
/// between calls so re-ingests touch only what changed.
pub struct Ingester {
    root: PathBuf,
    vfs: Arc<dyn Vfs>,
    options: IngestOptions,
    state: Option<State>,
}

enum Parsed {
    Record(Box<FileRecord>),
    Skipped(SkipCause, String),
}

impl Ingester {
    /// An ingester of `root`, reading file contents through `vfs`.
    pub fn new(
        vfs: Arc<dyn Vfs>,
        root: impl AsRef<Path>,
        options: IngestOptions,
    ) -> Result<Self, IngestError> {
        options.validate()?;
        Ok(Self {
            root: root.as_ref().to_path_buf(),
            vfs,
            options,
            state: None,
        })
    }

    /// Forgets the in-memory picture; the next ingest reloads it from the
    /// graph (what happens after a restart).
    pub fn forget(&mut self) {
        self.state = None;
    }

    /// Brings `engine` in line with the tree. The engine must hold nothing
    /// but what ingests of this root wrote.
    pub fn ingest(&mut self, engine: &Database) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let mut state = match self.state.take() {
            Some(state) => state,
            None => load_state(engine)?,
        };
        let load = started.elapsed();
        let result = self.run(engine, &mut state, started).map(|mut report| {
            report.timings.load = load;
            report
        });
        // Keep the picture only if it matches what is stored.
        if result.is_ok() {
            self.state = Some(state);
        }
        result
    }

    fn run(
        &self,
        engine: &Database,
        state: &mut State,
        started: Instant,
    ) -> Result<IngestReport, IngestError> {
        let mut report = IngestReport::default();
        let walk_started_ns = now_ns();
        let mut clock = Instant::now();
        let outcome = walk(&self.root, &self.options)?;
        let (walked, mut skipped) = (outcome.entries, outcome.skipped);
        report.ignored = outcome.ignored;
        report.timings.walk = lap(&mut clock);
        report.files_seen = walked.len() as u64;

        // Unchanged by size and mtime, or to be read.
        let mut to_read: Vec<&WalkEntry> = Vec::new();
        for entry in &walked {
            if entry.size > self.options.max_file_bytes {
                skipped.push(SkippedFile::new(
                    entry.path.clone(),
                    SkipCause::TooLarge,
                    format!(
                        "larger than {} bytes (--max-filesize)",
                        self.options.max_file_bytes
                    ),
                ));
                continue;
            }
            let same = state.files.get(&entry.path).is_some_and(|old| {
                old.record.language == entry.language
                    && old.record.size == entry.size
                    && old.record.mtime_ns == entry.mtime_ns
                    && entry.mtime_ns != 0
                    && entry.mtime_ns.saturating_add(RACY_MARGIN_NS) < state.last_walk_ns
            });
            if same {
                report.files_unchanged += 1;
            } else {
                to_read.push(entry);
            }
        }
        let parsed = self.read_and_parse(&to_read, state)?;
        report.timings.parse = lap(&mut clock);

        // The target set of files.
        let walked_paths: FxHashSet<&str> = walked.iter().map(|e| e.path.as_str()).collect();
        let mut changed: Vec<String> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        // False while every changed file kept its resolution input (a body
        // edit that left items, calls, imports and types alone): the edges
        // are then unchanged and resolution is skipped.
        let mut structure_changed = false;
        for (entry, result) in to_read.iter().zip(parsed) {
            match result {
                Parsed::Record(record) => {
                    let record = *record;
                    structure_changed |= state.files.get(&entry.path).is_none_or(|old| {
                        !same_resolution_input(&old.record.summary, &record.summary)
                    });
                    if state.files.get(&entry.path).map(|e| &e.record.content_hash)
                        == Some(&record.content_hash)
                    {
                        report.files_unchanged += 1;
                    } else {
                        report.files_parsed += 1;
                        report.lines_parsed += u64::from(record.summary.lines);
                        report.bytes_parsed += record.size;
                    }
                    let names = name_file(record.language, &record.path, &record.summary);
                    changed.push(entry.path.clone());
                    state
                        .files
                        .insert(entry.path.clone(), Entry { record, names });
                }
                Parsed::Skipped(cause, reason) => {
                    skipped.push(SkippedFile::new(entry.path.clone(), cause, reason));
                    if state.files.remove(&entry.path).is_some() {
                        removed.push(entry.path.clone());
                    }
                }
            }
        }
        let gone: Vec<String> = state
            .files
            .keys()
            .filter(|path| !walked_paths.contains(path.as_str()))
            .cloned()
            .collect();
        for path in gone {
            state.files.remove(&path);
            removed.push(path);
        }
        // Files that were over the size limit are skipped above without
        // being read; they leave the graph too.
        let oversized: Vec<String> = skipped
            .iter()
            .filter(|s| state.files.contains_key(&s.path))
            .map(|s| s.path.clone())
            .collect();
        for path in oversized {
            state.files.remove(&path);
            removed.push(path);
        }
        report.files_removed = removed.len() as u64;

        if !changed.is_empty() || !removed.is_empty() || !state.verified {
            let resolve_again = structure_changed || !removed.is_empty() || !state.verified;
            self.write_difference(engine, state, &changed, resolve_again, &mut report)?;
        }

        state.last_walk_ns = walk_started_ns;
        skipped.sort();
        report.skipped = skipped;
        for entry in state.files.values() {
            let summary = &entry.record.summary;
            report.total_lines += u64::from(summary.lines);
            *report.blocks_by_kind.entry("file".into()).or_default() += 1;
            for item in &summary.items {
                *report
                    .blocks_by_kind
                    .entry(item.kind.name().into())
                    .or_default() += 1;
            }
            if summary.syntax_errors > 0 || !summary.truncated.is_empty() {
                let mut reason = format!("{} syntax error nodes", summary.syntax_errors);
                if !summary.truncated.is_empty() {
                    reason = format!("{reason}; {}", summary.truncated);
                }
                report.partial.push(SkippedFile::new(
                    entry.record.path.clone(),
                    SkipCause::Partial,
                    reason,
                ));
            }
        }
        // Counted per type first: a String key per edge was a measurable
        // share of a one-file re-ingest.
        let mut by_type: FxHashMap<EdgeType, u64> = FxHashMap::default();
        for edge in &state.edges {
            *by_type.entry(edge.edge_type).or_default() += 1;
        }
        for (edge_type, count) in by_type {
            report
                .edges_by_type
                .insert(edge_type.name().to_string(), count);
        }
        report.calls = state.calls.clone();
        report.imports = state.imports.clone();
        report.call_samples = state.samples.clone();
        write_walk_record(engine, state, &report)?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Reads and parses files on all cores; results in input order.
    fn read_and_parse(
        &self,
        entries: &[&WalkEntry],
        state: &State,
    ) -> Result<Vec<Parsed>, IngestError> {
        let threads = self
            .options
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, entries.len().max(1));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Parsed>>> =
            Mutex::new((0..entries.len()).map(|_| None).collect());
        let progress = self.progress_bar(entries);
        let worker = || {
            let mut parser = tree_sitter::Parser::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = entries.get(index) else {
                    break;
                };
                // A panic inside the parser or extractor (a bug, or a grammar
                // crash on hostile input) skips the file instead of ending
                // the ingest; the parser is replaced since its state is unknown.
                let parsed = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.parse_one(entry, state, &mut parser)
                })) {
                    Ok(parsed) => parsed,
                    Err(_) => {
                        parser = tree_sitter::Parser::new();
                        Parsed::Skipped(
                            SkipCause::ParseFailed,
                            "internal error while parsing (panic caught)".into(),
                        )
                    }
                };
                progress.inc(1);
                if let Ok(mut results) = results.lock()
                    && let Some(slot) = results.get_mut(index)
                {
                    *slot = Some(parsed);
                }
            }
        };
        if threads == 1 {
            worker();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(worker);
                }
            });
        }
        progress.finish_and_clear();
        let results = results.into_inner().map_err(|_| IngestError::Worker {
            reason: "a parse worker panicked".into(),
        })?;
        results
            .into_iter()
            .enumerate()
            .map(|(index, parsed)| {
                parsed.ok_or_else(|| IngestError::Worker {
                    reason: format!(
                        "no result for {}",
                        entries.get(index).map_or("?", |e| e.path.as_str())
                    ),
                })
            })
            .collect()
    }

    fn progress_bar(&self, entries: &[&WalkEntry]) -> ProgressBar {
        if !self.options.progress || !std::io::stderr().is_terminal() || entries.len() < 200 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(entries.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} ingest {pos}/{len} files {per_sec} eta {eta} {wide_bar}",
        ) {
            bar.set_style(style);
        }
        bar
    }

    fn parse_one(
        &self,
        entry: &WalkEntry,
        state: &State,
        parser: &mut tree_sitter::Parser,
    ) -> Parsed {
        let text = match read_source(&*self.vfs, &entry.absolute, self.options.max_file_bytes) {
            Ok(text) => text,
            Err((cause, reason)) => return Parsed::Skipped(cause, reason),
        };
        let content_hash = hash_bytes(text.as_bytes());
        let size = text.len() as u64;
        // Same bytes as stored: keep the summary, only size/mtime change.
        if let Some(old) = state.files.get(&entry.path)
            && old.record.content_hash == content_hash
            && old.record.language == entry.language
        {
            let mut record = old.record.clone();
            record.size = size;
            record.mtime_ns = entry.mtime_ns;
            return Parsed::Record(Box::new(record));
        }
        let record = match extract(entry.language, &text, parser) {
            Ok(summary) => FileRecord {
                path: entry.path.clone(),
                language: entry.language,
                size,
                mtime_ns: entry.mtime_ns,
                content_hash,
                content: Arc::from(text),
                summary,
            },
            Err(reason) => {
                return Parsed::Skipped(SkipCause::ParseFailed, format!("parse failed: {reason}"));
            }
        };
        // A file whose blocks the storage engine would refuse (a generated
        // header of tens of thousands of `#define`s makes a file block's
        // metadata larger than a block may be) is left out here, on the
        // parse thread, instead of failing the write of the whole ingest.
        if let Err(reason) = storable(&record) {
            return Parsed::Skipped(SkipCause::OverLimit, reason);
        }
        Parsed::Record(Box::new(record))
    }

    /// Computes the target graph and writes what differs from `state`.
    fn write_difference(
        &self,
        engine: &Database,
        state: &mut State,
        changed: &[String],
        resolve_again: bool,
        report: &mut IngestReport,
    ) -> Result<(), IngestError> {
        let mut clock = Instant::now();
        // Target blocks of the files that changed (all files when the
        // stored graph is not verified).
        let rebuild: Vec<&str> = if state.verified {
            changed.iter().map(String::as_str).collect()
        } else {
            state.files.keys().map(String::as_str).collect()
        };
        let rebuild_set: FxHashSet<&str> = rebuild.iter().copied().collect();
        let mut puts: BTreeMap<String, Vec<kausal_storage::ContextBlock>> = BTreeMap::new();
        let mut target_blocks: FxHashMap<BlockId, (u128, Arc<str>)> = FxHashMap::default();
        for path in &rebuild {
            let Some(entry) = state.files.get(*path) else {
                continue;
            };
            let blocks =
                file_blocks(&entry.record, &entry.names).map_err(|reason| IngestError::Write {
                    path: (*path).to_string(),
                    source: StorageError::InvalidMetadata {
                        id: entry.names.file_id,
                        reason,
                    },
                })?;
            let path_arc: Arc<str> = Arc::from(*path);
            for block in blocks {
                let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
                target_blocks.insert(block.id, (fp, path_arc.clone()));
                if state.blocks.get(&block.id).map(|(old, _)| *old) != Some(fp) {
                    puts.entry((*path).to_string()).or_default().push(block);
                }
            }
        }
        // Blocks of unchanged files stay as they are.
        for (id, (fp, path)) in &state.blocks {
            if !rebuild_set.contains(&**path) && state.files.contains_key(&**path) {
                target_blocks.insert(*id, (*fp, path.clone()));
            }
        }
        let mut deletes: BTreeMap<String, Vec<BlockId>> = BTreeMap::new();
        for (id, (_, path)) in &state.blocks {
            if !target_blocks.contains_key(id) && *id != walk_record_id() {
                deletes.entry(path.to_string()).or_default().push(*id);
            }
        }
        for ids in deletes.values_mut() {
            ids.sort();
        }

        report.timings.blocks = lap(&mut clock);
        // Target edges: resolve every file.
        let views: Vec<FileView> = state
            .files
            .values()
            .map(|entry| {
                FileView::new(
                    &entry.record.path,
                    entry.record.language,
                    &entry.record.summary,
                    &entry.names,
                )
            })
            .collect();
        let resolution = if resolve_again {
            let mut resolution = resolve(&views);
            // The name index (see `name_index`): derived like every other
            // edge, so it is written, diffed and deleted with the blocks it
            // names.
            for (path, entry) in &state.files {
                crate::name_index::file_edges(path, &entry.names, &mut resolution.edges);
            }
            Some(resolution)
        } else {
            // Same items, calls and imports in every changed file: the same
            // edges, name index included (names are part of the comparison).
            None
        };
        report.resolved = resolution.is_some();
        let target_edges: FxHashSet<GraphEdge> = match &resolution {
            Some(resolution) => resolution.edges.iter().copied().collect(),
            None => state.edges.clone(),
        };
        let deleted_blocks: FxHashSet<BlockId> = deletes.values().flatten().copied().collect();
        // An edge is written in the batch of the file its source lives in;
        // a name-index edge's source is a key, not a block: use the target.
        let owner = |edge: &GraphEdge| {
            if edge.edge_type == EdgeType::Names {
                edge.target
            } else {
                edge.source
            }
        };
        let path_of = |id: &BlockId| -> String {
            target_blocks
                .get(id)
                .or_else(|| state.blocks.get(id))
                .map(|(_, p)| p.to_string())
                .unwrap_or_default()
        };
        let mut edge_puts: BTreeMap<String, Vec<GraphEdge>> = BTreeMap::new();
        // Only the new edges are sorted (for a deterministic write order).
        let mut new_edges: Vec<&GraphEdge> = target_edges
            .iter()
            .filter(|edge| !state.edges.contains(edge))
            .collect();
        new_edges.sort();
        for edge in new_edges {
            edge_puts
                .entry(path_of(&owner(edge)))
                .or_default()
                .push(*edge);
        }
        let mut edge_deletes: BTreeMap<String, Vec<GraphEdge>> = BTreeMap::new();
        let mut stale: Vec<&GraphEdge> = state
            .edges
            .iter()
            .filter(|edge| !target_edges.contains(edge))
            .collect();
        stale.sort();
        for edge in stale {
            // Deleting a block deletes its edges.
            if deleted_blocks.contains(&edge.source) || deleted_blocks.contains(&edge.target) {
                continue;
            }
            edge_deletes
                .entry(path_of(&owner(edge)))
                .or_default()
                .push(*edge);
        }

        report.timings.resolve = lap(&mut clock);
        // One batch per file (split only past the batch limits).
        let mut paths: Vec<&String> = puts
            .keys()
            .chain(deletes.keys())
            .chain(edge_puts.keys())
            .chain(edge_deletes.keys())
            .collect();
        paths.sort();
        paths.dedup();
        let mut writer = BatchWriter::new(engine);
        for path in paths {
            writer.path = path.clone();
            for block in puts.get(path).into_iter().flatten() {
                writer.push(|b| b.put_block(block.clone()))?;
                report.blocks_written += 1;
            }
            for id in deletes.get(path).into_iter().flatten() {
                writer.push(|b| b.delete_block(*id))?;
                report.blocks_deleted += 1;
            }
            for edge in edge_deletes.get(path).into_iter().flatten() {
                writer.push(|b| b.delete_edge(*edge))?;
                report.edges_deleted += 1;
            }
            for edge in edge_puts.get(path).into_iter().flatten() {
                writer.push(|b| b.put_edge(*edge))?;
                report.edges_written += 1;
            }
            writer.commit()?;
        }
        report.batches = writer.batches;
        report.timings.write = lap(&mut clock);
        engine.sync().map_err(|source| IngestError::Write {
            path: "(sync)".into(),
            source,
        })?;
        report.timings.sync = lap(&mut clock);

        // The walk record is not a file's block; it is written by `run`.
        if let Some(record) = state.blocks.get(&walk_record_id()) {
            target_blocks.insert(walk_record_id(), record.clone());
        }
        state.blocks = target_blocks;
        state.edges = target_edges;
        state.verified = true;
        if let Some(resolution) = resolution {
            state.calls = resolution.calls;
            state.imports = resolution.imports;
            state.samples = resolution.samples;
        }
        Ok(())
    }
}

/// True when two summaries of one file resolve to the same edges: the same
/// items (kinds, names, nesting, impl types, signatures), calls, imports,
/// typed locals and fields. Positions and docs may differ.
fn same_resolution_input(a: &crate::summary::Summary, b: &crate::summary::Summary) -> bool {
    a.calls == b.calls
        && a.imports == b.imports
        && a.typed_locals == b.typed_locals
        && a.fields == b.fields
        && a.local_calls == b.local_calls
        && a.module_decls == b.module_decls
        && a.items.len() == b.items.len()
        && a.items.iter().zip(&b.items).all(|(x, y)| {
            x.kind == y.kind
                && x.name == y.name
                && x.parent == y.parent
                && x.impl_type == y.impl_type
                && x.impl_trait == y.impl_trait
                && x.signature == y.signature
        })
}

/// Accumulates ops into a batch, committing when it would exceed the
/// storage limits and at the end of each file.
struct BatchWriter<'e> {
    engine: &'e Database,
    batch: WriteBatch,
    path: String,
    batches: u64,
}

impl<'e> BatchWriter<'e> {
    fn new(engine: &'e Database) -> Self {
        Self {
            engine,
            batch: WriteBatch::new(),
            path: String::new(),
            batches: 0,
        }
    }

    fn push(
        &mut self,
        op: impl Fn(&mut WriteBatch) -> Result<(), StorageError>,
    ) -> Result<(), IngestError> {
        match op(&mut self.batch) {
            Ok(()) => Ok(()),
            Err(StorageError::BatchTooLarge { .. }) if !self.batch.is_empty() => {
                self.commit()?;
                op(&mut self.batch).map_err(|source| self.error(source))
            }
            Err(source) => Err(self.error(source)),
        }
    }

    fn error(&self, source: StorageError) -> IngestError {
        IngestError::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn commit(&mut self) -> Result<(), IngestError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.engine
            .write_batch(&self.batch)
            .map_err(|source| IngestError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.batches += 1;
        self.batch.clear();
        Ok(())
    }
}

/// Stores what this walk left out (for `kausal stats`) when it differs from
/// the stored record: one block in its own batch, then a sync.
fn write_walk_record(
    engine: &Database,
    state: &mut State,
    report: &IngestReport,
) -> Result<(), IngestError> {
    let error = |source| IngestError::Write {
        path: WALK_RECORD_URI.into(),
        source,
    };
    let block = WalkRecord::from_report(report)
        .to_block()
        .map_err(|reason| {
            error(StorageError::InvalidMetadata {
                id: walk_record_id(),
                reason,
            })
        })?;
    let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
    if state.blocks.get(&block.id).map(|(old, _)| *old) == Some(fp) {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    batch.put_block(block.clone()).map_err(error)?;
    engine.write_batch(&batch).map_err(error)?;
    engine.sync().map_err(error)?;
    state
        .blocks
        .insert(block.id, (fp, Arc::from(WALK_RECORD_URI)));
    Ok(())
}

/// `Ok` when every block of `record` is within the storage engine's limits;
/// else why not, naming the block.
fn storable(record: &FileRecord) -> Result<(), String> {
    let names = name_file(record.language, &record.path, &record.summary);
    let blocks = file_blocks(record, &names)?;
    for block in &blocks {
        kausal_storage::validate_block_fields(
            block.id,
            &block.source_uri,
            &block.metadata_json,
            &block.content,
        )
        .map_err(|error| format!("cannot be stored: {error}"))?;
    }
    Ok(())
}

/// Rebuilds the ingester's picture from the stored graph: every block's
/// fingerprint and path, every edge, and the file records carried by file
/// blocks. Marked unverified: a crash may have left it half-written.
fn load_state(engine: &Database) -> Result<State, IngestError> {
    let snapshot = engine.snapshot();
    let mut state = State::default();
    let mut ids = Vec::new();
    let mut paths: FxHashMap<String, Arc<str>> = FxHashMap::default();
    // File block contents by id, and state blocks (id, uri, metadata,
    // summary), joined after the scan.
    let mut contents: FxHashMap<BlockId, Arc<str>> = FxHashMap::default();
    let mut states: Vec<(BlockId, String, String, String)> = Vec::new();
    let views = snapshot
        .iterate_blocks()
        .map_err(|source| IngestError::ReadGraph {
            block: "(scan)".into(),
            source,
        })?;
    for view in views {
        let view = view.map_err(|source| IngestError::ReadGraph {
            block: "(scan)".into(),
            source,
        })?;
        let path = paths
            .entry(view.source_uri.to_string())
            .or_insert_with(|| Arc::from(view.source_uri))
            .clone();
        let fp = fingerprint(view.source_uri, view.metadata_json, view.content);
        state.blocks.insert(view.id, (fp, path));
        ids.push(view.id);
        if is_file_block(&view) {
            contents.insert(view.id, Arc::from(view.content));
        } else if is_state_block(&view) {
            states.push((
                view.id,
                view.source_uri.to_string(),
                view.metadata_json.to_string(),
                view.content.to_string(),
            ));
        }
    }
    // Each state block with its file block's content. A state that does
    // not parse, or whose file block is missing, is not trusted: its file
    // is re-parsed (and the stale blocks replaced), the ingest goes on.
    for (id, uri, metadata_json, content) in &states {
        let view = kausal_storage::BlockView {
            id: *id,
            sequence: 0,
            source_uri: uri,
            metadata_json,
            content,
        };
        let Ok(Some(record)) = record_from_block(&view, Arc::from("")) else {
            continue;
        };
        let file_id = crate::record::file_block_id(record.language, &record.path);
        let Some(file_content) = contents.get(&file_id) else {
            continue;
        };
        let record = FileRecord {
            content: file_content.clone(),
            ..record
        };
        let names = name_file(record.language, &record.path, &record.summary);
        state
            .files
            .insert(record.path.clone(), Entry { record, names });
    }
    let mut scratch = Vec::new();
    let read_edges = |id: kausal_storage::BlockId| {
        move |source| IngestError::ReadGraph {
            block: id.to_string(),
            source,
        }
    };
    for id in ids {
        scratch.clear();
        snapshot
            .find_outgoing_edges_into(id, &mut scratch)
            .map_err(read_edges(id))?;
        state.edges.extend(scratch.iter().copied());
        scratch.clear();
        snapshot
            .find_incoming_edges_into(id, &mut scratch)
            .map_err(read_edges(id))?;
        state.edges.extend(scratch.iter().copied());
    }
    // Edge types ingest never writes are not its to delete.
    state.edges.retain(|edge| {
        !matches!(
            edge.edge_type,
            EdgeType::References | EdgeType::DependsOn | EdgeType::CallsFunction
        )
    });
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;
    use crate::limits::MAX_SIGNATURE_BYTES;

    /// A record whose summary is `items` copies of one `#define`, each with
    /// a signature of the longest kept length.
    fn record_with_items(items: usize) -> FileRecord {
        let text = "#define REG_0 0x0\n";
        let mut parser = tree_sitter::Parser::new();
        let mut summary = crate::extract(Language::C, text, &mut parser).expect("extract");
        let template = summary.items[0].clone();
        summary.items = (0..items)
            .map(|index| {
                let mut item = template.clone();
                item.name = format!("REG_{index}");
                item.signature = "s".repeat(MAX_SIGNATURE_BYTES);
                item
            })
            .collect();
        FileRecord {
            path: "gen/regs.h".into(),
            language: Language::C,
            size: text.len() as u64,
            mtime_ns: 0,
            content_hash: crate::hash::hash_bytes(text.as_bytes()),
            content: Arc::from(text),
            summary,
        }
    }

    #[test]
    fn a_file_whose_state_would_break_a_storage_limit_is_not_storable() {
        assert_eq!(storable(&record_with_items(10)), Ok(()));
        // ~40,000 signatures of 512 bytes: a summary over the 16 MiB a
        // block's content may hold.
        let reason = storable(&record_with_items(40_000)).expect_err("over the limit");
        assert!(
            reason.starts_with("cannot be stored: ") && reason.contains("content is"),
            "{reason}"
        );
    }
}
