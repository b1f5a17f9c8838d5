//! The `Ingester`: walk, read and parse in parallel, resolve, and write the
//! difference between the stored graph and the graph the tree should give.
//!
//! Correctness rule: the graph written is a pure function of the current
//! tree (block contents and metadata from each file's summary, edges from
//! resolving all summaries), and an ingest writes exactly the difference
//! between it and what is stored. The ingester's picture of what is stored
//! comes from the graph itself (each file's state block carries its size,
//! mtime, content hash and summary), so after a crash at any point a re-ingest
//! reloads that picture, recomputes the target graph, and converges to the
//! from-scratch result. Between successful ingests the picture is kept in
//! memory, so a no-change re-ingest is a walk and a stat per file.
//!
//! This file runs an ingest (walk, parse threads, the target set of files);
//! `difference` plans and writes the graph's difference, `load` rebuilds
//! the picture from a stored graph, `catalog` keeps the names dictionary
//! and the graph's counts.

mod batch_writer;
mod block_plan;
mod catalog;
mod difference;
mod edge_delta;
mod edge_set;
mod load;
mod precise;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use kausal_storage::{BlockId, Database, EdgeType};
use kausal_vfs::Vfs;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::IngestOptions;
use crate::error::IngestError;
use crate::extract::{ParsedTree, parse_tree, summarize, summarize_walked};
use crate::hash::hash_bytes;
use crate::language::Language;
use crate::naming::{FileNames, name_file};
use crate::provenance::CallProvenance;
use crate::read::read_source;
use crate::record::{FileRecord, storable};
use crate::report::{IngestReport, SkipCause, SkippedFile};
use crate::resolve::{CallCache, CallSample, CallStats, FileDerived, ImportStats};
use crate::walk::{WalkEntry, walk};

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
    /// Resolution's lookup tables over this file's summary, kept between
    /// ingests (built on first use).
    derived: FileDerived,
    /// This file's name-index edges (see `name_index`), built on first
    /// use: they depend on the file alone.
    name_edges: std::sync::OnceLock<Vec<kausal_storage::GraphEdge>>,
}

impl Entry {
    /// This file's name-index edges, built on first use.
    fn name_edges(&self) -> &[kausal_storage::GraphEdge] {
        self.name_edges.get_or_init(|| {
            let mut edges = Vec::new();
            crate::name_index::file_edges(&self.record.path, &self.names, &mut edges);
            edges
        })
    }

    fn new(record: FileRecord, names: FileNames) -> Self {
        Self {
            record,
            names,
            derived: FileDerived::default(),
            name_edges: std::sync::OnceLock::new(),
        }
    }
}

/// A file's stored call provenance block (see `crate::provenance`).
#[derive(Debug, Clone)]
struct ProvenanceEntry {
    /// The file's path: the batch the block is written in.
    path: Arc<str>,
    /// Fingerprint of the stored block.
    fingerprint: u128,
    /// The records it holds, when this ingester wrote them; `None` after
    /// loading from the graph (compared by fingerprint then).
    records: Option<Vec<CallProvenance>>,
}

/// The ingester's picture of the stored graph.
#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, Entry>,
    /// Fingerprint and path of every stored block but the provenance
    /// blocks.
    blocks: FxHashMap<BlockId, (u128, Arc<str>)>,
    /// The provenance blocks, by block id.
    provenance: FxHashMap<BlockId, ProvenanceEntry>,
    edges: edge_set::EdgeSet,
    /// True once the stored graph is known to equal the target graph of
    /// `files`: after a successful ingest, or after loading a graph whose
    /// newest write is the walk record (the last write of a successful
    /// ingest); false after loading a graph a crash may have left
    /// half-written.
    verified: bool,
    /// True once a resolution of this picture ran: `calls`, `imports`,
    /// `samples` and the catalog's calls by rule are known (they are not
    /// read back from the graph).
    counted: bool,
    calls: CallStats,
    imports: ImportStats,
    samples: Vec<CallSample>,
    /// Per-file Rust call resolution of the last ingest, so the next
    /// resolves again only the files an edit can affect.
    call_cache: CallCache,
    /// Precise calls from SCIP indexes, by file path: an input of the
    /// graph like the files' text (see `crate::precise`).
    precise: BTreeMap<String, crate::precise::stored::PreciseFile>,
    /// The stored precise-calls blocks.
    precise_stored: precise::PreciseBlocks,
    /// Wall clock (ns since the epoch) when the last successful walk began.
    /// A file whose mtime is not clearly older than that may have been
    /// rewritten within one timestamp tick without changing size or mtime
    /// ("racily clean", as git calls it), so it is re-read and hashed.
    last_walk_ns: u64,
    /// The walk time the stored walk record holds (see
    /// `difference::write_walk_record`).
    recorded_walk_ns: u64,
    /// The names dictionary and the graph's counts as stored.
    catalog: catalog::Catalog,
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
        self.ingest_precise(engine, &[])
    }

    /// Brings `engine` in line with the tree, merging the call edges of
    /// `indexes` (decoded SCIP indexes, see [`crate::precise`]) for the
    /// files they cover and still describe. Later indexes win for a file
    /// several cover.
    pub fn ingest_precise(
        &mut self,
        engine: &Database,
        indexes: &[crate::precise::PreciseIndex],
    ) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let mut state = match self.state.take() {
            Some(state) => state,
            None => load::load_state(engine)?,
        };
        let load = started.elapsed();
        let discard = !self.options.keep_for_next;
        state.call_cache.discard = discard;
        state.call_cache.c.discard = discard;
        let result = self
            .run(engine, &mut state, indexes, started)
            .map(|mut report| {
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
        indexes: &[crate::precise::PreciseIndex],
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

        let to_read = self.to_read(&walked, state, &mut skipped, &mut report);
        let parsed = self.read_and_parse(&to_read, state)?;
        report.timings.parse = lap(&mut clock);

        // The target set of files.
        let walked_paths: FxHashSet<&str> = walked.iter().map(|e| e.path.as_str()).collect();
        let mut changed: Vec<String> = Vec::new();
        // The files whose content changed: the others, even when read
        // again, keep the summary resolution saw last time.
        let mut edited: FxHashSet<String> = FxHashSet::default();
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
                    match state.files.get_mut(&entry.path) {
                        // Read again, same bytes: the summary, names and
                        // the tables built on them stand; size and mtime
                        // may be new. When they are not, the stored blocks
                        // are exactly this file's (the state block holds
                        // nothing else that could differ): nothing to plan.
                        Some(existing)
                            if existing.record.content_hash == record.content_hash
                                && existing.record.language == record.language =>
                        {
                            report.files_unchanged += 1;
                            if existing.record.size != record.size
                                || existing.record.mtime_ns != record.mtime_ns
                            {
                                changed.push(entry.path.clone());
                            }
                            existing.record = record;
                        }
                        _ => {
                            changed.push(entry.path.clone());
                            edited.insert(entry.path.clone());
                            report.files_parsed += 1;
                            report.lines_parsed += u64::from(record.summary.lines);
                            report.bytes_parsed += record.size;
                            let names = name_file(record.language, &record.path, &record.summary);
                            let old = state
                                .files
                                .insert(entry.path.clone(), Entry::new(record, names));
                            // The C resolution's kept tables still hold the
                            // old summary's names (see `CCache`).
                            if let Some(old) = old
                                && old.record.language == Language::C
                            {
                                let cache = &mut state.call_cache.c;
                                cache.note_replaced(&entry.path, old.record.summary);
                            }
                        }
                    }
                }
                Parsed::Skipped(cause, reason) => {
                    skipped.push(SkippedFile::new(entry.path.clone(), cause, reason));
                    if state.files.remove(&entry.path).is_some() {
                        removed.push(entry.path.clone());
                    }
                }
            }
        }
        remove_missing(state, &walked_paths, &skipped, &mut removed);
        report.files_removed = removed.len() as u64;

        let precise_dirty = precise::merge_indexes(engine, state, indexes, &mut report.precise)?;
        // An edit of a file with precise calls makes them stale (or fresh
        // again): its call edges change even when its structure did not.
        let precise_changed = !precise_dirty.is_empty()
            || edited.iter().any(|path| state.precise.contains_key(path))
            || removed.iter().any(|path| state.precise.contains_key(path));
        // The call counts (and the catalog's by rule) live in memory only:
        // the first ingest after a load resolves to learn them.
        let unverified = !state.verified;
        report.checked_whole_graph = unverified;
        let loaded = unverified || !state.counted;
        if !changed.is_empty() || !removed.is_empty() || loaded || precise_changed {
            let resolve_again =
                structure_changed || !removed.is_empty() || loaded || precise_changed;
            let threads = self.threads();
            let changes = difference::Changes {
                changed: &changed,
                edited: &edited,
                resolve_again,
                precise_dirty: &precise_dirty,
            };
            difference::write_difference(engine, state, &changes, threads, &mut report)?;
        }

        state.last_walk_ns = walk_started_ns;
        skipped.sort();
        report.skipped = skipped;
        finish(engine, state, &mut report, unverified)?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The walked files to read: not over the size limit (those join
    /// `skipped`) and not proven unchanged by size and mtime (those count
    /// as unchanged).
    fn to_read<'w>(
        &self,
        walked: &'w [WalkEntry],
        state: &State,
        skipped: &mut Vec<SkippedFile>,
        report: &mut IngestReport,
    ) -> Vec<&'w WalkEntry> {
        let mut to_read = Vec::new();
        for entry in walked {
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
        to_read
    }

    /// Reads and parses files on all cores; results in input order.
    ///
    /// A language's query takes tens of milliseconds to compile (the Rust
    /// one most). With more than one thread it compiles on a thread of its
    /// own while the workers parse: a file parsed before its query is ready
    /// waits in its worker's backlog (at most [`MAX_PARSED_BACKLOG`] trees)
    /// and is summarized once the query is there, so no core idles.
    fn read_and_parse(
        &self,
        entries: &[&WalkEntry],
        state: &State,
    ) -> Result<Vec<Parsed>, IngestError> {
        let threads = self.threads().clamp(1, entries.len().max(1));
        let order = largest_first(entries, threads);
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Parsed>>> =
            Mutex::new((0..entries.len()).map(|_| None).collect());
        let progress = self.progress_bar(entries);
        let lines_parsed = AtomicUsize::new(0);
        let compile_aside = threads > 1;
        let store = |index: usize, parsed: Parsed| {
            // Lines go in the message, since indicatif counts files.
            if !progress.is_hidden()
                && let Parsed::Record(record) = &parsed
            {
                let lines = record.summary.lines as usize;
                let total = lines_parsed.fetch_add(lines, Ordering::Relaxed) + lines;
                progress.set_message(format!("{total} lines"));
            }
            progress.inc(1);
            if let Ok(mut results) = results.lock()
                && let Some(slot) = results.get_mut(index)
            {
                *slot = Some(parsed);
            }
        };
        let worker = || {
            let mut parser = tree_sitter::Parser::new();
            let mut backlog: Vec<(usize, Box<PendingFile>)> = Vec::new();
            while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                let Some(entry) = entries.get(index) else {
                    break;
                };
                // A panic inside the parser or extractor (a bug, or a grammar
                // crash on hostile input) skips the file instead of ending
                // the ingest; the parser is replaced since its state is unknown.
                let stage = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.parse_stage(entry, state, &mut parser)
                })) {
                    Ok(stage) => stage,
                    Err(_) => {
                        parser = tree_sitter::Parser::new();
                        Stage::Done(panic_skip())
                    }
                };
                match stage {
                    Stage::Done(parsed) => store(index, parsed),
                    Stage::Pending(pending) => {
                        if compile_aside && !query_ready(entry.language) {
                            backlog.push((index, pending));
                        } else {
                            store(index, finish_parse(entry, *pending));
                        }
                    }
                }
                // Summarize what became ready; wait for the query only
                // when the backlog is full.
                let full = backlog.len() >= MAX_PARSED_BACKLOG;
                for (index, pending) in std::mem::take(&mut backlog) {
                    let Some(entry) = entries.get(index) else {
                        continue;
                    };
                    if full || query_ready(entry.language) {
                        store(index, finish_parse(entry, *pending));
                    } else {
                        backlog.push((index, pending));
                    }
                }
            }
            for (index, pending) in backlog {
                if let Some(entry) = entries.get(index) {
                    store(index, finish_parse(entry, *pending));
                }
            }
        };
        if threads == 1 {
            worker();
        } else {
            let mut languages: Vec<Language> = entries.iter().map(|e| e.language).collect();
            languages.sort_unstable_by_key(|l| l.name());
            languages.dedup();
            std::thread::scope(|scope| {
                for language in languages {
                    if !query_ready(language) {
                        // A failed build is reported by the file that
                        // needs it; a panic leaves the cell for the
                        // workers to build.
                        scope.spawn(move || {
                            let _ = std::panic::catch_unwind(|| language.compiled().is_ok());
                        });
                    }
                }
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

    /// Threads to parse and resolve on: the option, else every core.
    fn threads(&self) -> usize {
        self.options
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    fn progress_bar(&self, entries: &[&WalkEntry]) -> ProgressBar {
        if !self.options.progress || !std::io::stderr().is_terminal() || entries.len() < 200 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(entries.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} ingest {pos}/{len} files, {msg}, {per_sec}, eta {eta} {wide_bar}",
        ) {
            bar.set_style(style);
        }
        bar
    }

    /// Reads `entry` and parses it with the grammar alone; the query runs
    /// in [`finish_parse`].
    fn parse_stage(
        &self,
        entry: &WalkEntry,
        state: &State,
        parser: &mut tree_sitter::Parser,
    ) -> Stage {
        let text = match read_source(&*self.vfs, &entry.absolute, self.options.max_file_bytes) {
            Ok(text) => text,
            Err((cause, reason)) => return Stage::Done(Parsed::Skipped(cause, reason)),
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
            // The stored text may have been released (`release_contents`).
            record.content = Arc::from(text);
            return Stage::Done(Parsed::Record(Box::new(record)));
        }
        match parse_tree(entry.language, &text, parser) {
            Ok(tree) => Stage::Pending(Box::new(PendingFile {
                text,
                content_hash,
                size,
                tree,
            })),
            Err(reason) => Stage::Done(Parsed::Skipped(
                SkipCause::ParseFailed,
                format!("parse failed: {reason}"),
            )),
        }
    }
}

/// Completes `report` from the picture and writes what follows the files'
/// batches: the catalog, then the walk record, last, so that a stored
/// record newer than every other write says the graph is whole (see
/// `load`). `unverified`: this ingest began from an unverified picture.
fn finish(
    engine: &Database,
    state: &mut State,
    report: &mut IngestReport,
    unverified: bool,
) -> Result<(), IngestError> {
    describe_graph(state, report);
    precise::describe(state, &mut report.precise);
    report.calls = state.calls.clone();
    report.imports = state.imports.clone();
    report.call_samples = state.samples.clone();
    let catalog_started = Instant::now();
    let catalog_wrote = catalog::write(engine, state, report)?;
    let wrote = report.batches > 0 || catalog_wrote || unverified;
    difference::write_walk_record(engine, state, report, wrote)?;
    report.timings.catalog = catalog_started.elapsed();
    Ok(())
}

/// The order parse workers take `entries` in: largest files first when
/// there is more than one worker (taken in walk order, one large file near
/// the end kept one worker busy while the others had nothing left).
/// Results still land at their entry's index.
fn largest_first(entries: &[&WalkEntry], threads: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    if threads > 1 {
        order.sort_by_key(|&index| std::cmp::Reverse(entries.get(index).map_or(0, |e| e.size)));
    }
    order
}

/// Whether files of `language` can be summarized now: it walks its tree
/// (no query), or its query is compiled.
fn query_ready(language: Language) -> bool {
    language.walks_tree() || language.compiled_if_ready().is_some()
}

/// Most parsed files a worker holds while their language's query is
/// still compiling (each holds its text and syntax tree).
const MAX_PARSED_BACKLOG: usize = 64;

/// A file read and parsed, waiting for its language's query.
struct PendingFile {
    text: String,
    content_hash: u128,
    size: u64,
    tree: ParsedTree,
}

/// What the first stage of parsing a file gave.
enum Stage {
    Done(Parsed),
    Pending(Box<PendingFile>),
}

fn panic_skip() -> Parsed {
    Parsed::Skipped(
        SkipCause::ParseFailed,
        "internal error while parsing (panic caught)".into(),
    )
}

/// The second stage: runs the language's query over the parsed tree
/// (waiting for it to compile) and makes the file's record, unless the
/// storage engine would refuse its blocks.
fn finish_parse(entry: &WalkEntry, pending: PendingFile) -> Parsed {
    let PendingFile {
        text,
        content_hash,
        size,
        tree,
    } = pending;
    let language = entry.language;
    let compiled = match language.walks_tree() {
        true => None,
        false => match language.compiled() {
            Ok(compiled) => Some(compiled),
            Err(error) => {
                return Parsed::Skipped(SkipCause::ParseFailed, format!("parse failed: {error}"));
            }
        },
    };
    let summary = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match compiled {
        Some(compiled) => summarize(language, compiled, &text, &tree),
        None => summarize_walked(language, &text, &tree),
    })) {
        Ok(summary) => summary,
        Err(_) => return panic_skip(),
    };
    let record = FileRecord {
        path: entry.path.clone(),
        language: entry.language,
        size,
        mtime_ns: entry.mtime_ns,
        content_hash,
        content: Arc::from(text),
        summary,
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

/// Drops from `state` the files the walk no longer found and the files
/// skipped this time (over the size limit: skipped without being read),
/// adding their paths to `removed`.
fn remove_missing(
    state: &mut State,
    walked_paths: &FxHashSet<&str>,
    skipped: &[SkippedFile],
    removed: &mut Vec<String>,
) {
    let gone: Vec<String> = state
        .files
        .keys()
        .filter(|path| !walked_paths.contains(path.as_str()))
        .chain(
            skipped
                .iter()
                .map(|s| &s.path)
                .filter(|path| state.files.contains_key(*path)),
        )
        .cloned()
        .collect();
    for path in gone {
        if state.files.remove(&path).is_some() {
            removed.push(path);
        }
    }
}

/// What the graph holds after an ingest, into `report`: lines, blocks by
/// kind, partially parsed files, edges by type.
fn describe_graph(state: &State, report: &mut IngestReport) {
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
    // External stubs are no file's blocks (`crate::stubs`).
    let stubs = state
        .blocks
        .values()
        .filter(|(_, path)| crate::stubs::is_stub_uri(path))
        .count() as u64;
    if stubs > 0 {
        report
            .blocks_by_kind
            .insert(crate::stubs::EXTERNAL_KIND.to_string(), stubs);
    }
    // Counted per type first: a String key per edge was a measurable
    // share of a one-file re-ingest.
    let mut by_type: FxHashMap<EdgeType, u64> = FxHashMap::default();
    for edge in state.edges.iter() {
        *by_type.entry(edge.edge_type).or_default() += 1;
    }
    for (edge_type, count) in by_type {
        report
            .edges_by_type
            .insert(edge_type.name().to_string(), count);
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
