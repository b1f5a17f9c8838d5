//! `IngestReport`: what an ingest did (files parsed, unchanged, removed,
//! skipped with reasons), what the graph now holds (blocks by kind, edges
//! by type) and how calls were resolved.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::resolve::{CallSample, CallStats, ImportStats};

/// A file left out (or only partly ingested), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct SkippedFile {
    /// Path relative to the ingested root, `/`-separated.
    pub path: String,
    /// Why: for a skipped file e.g. `larger than 1048576 bytes`, `binary
    /// (NUL byte in the first 8 KiB)`, `not UTF-8 (...)`; for a partial one
    /// its syntax error count and/or the entry cap it hit.
    pub reason: String,
    /// The class of `reason`, for counting and for the exit status.
    pub cause: SkipCause,
}

impl SkippedFile {
    /// A file left out for `reason`.
    pub fn new(path: impl Into<String>, cause: SkipCause, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
            cause,
        }
    }
}

/// Why a file was left out (or only partly ingested), as a class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SkipCause {
    /// Larger than `IngestOptions::max_file_bytes` (`--max-filesize`).
    TooLarge,
    /// Its blocks would break a storage limit (a file block's metadata over
    /// 1 MiB: tens of thousands of items in one generated file).
    OverLimit,
    /// Binary (a NUL byte) or not UTF-8.
    NotText,
    /// Vanished, unreadable, or the walk could not list it.
    Unreadable,
    /// The parser or extractor failed on it.
    ParseFailed,
    /// A symbolic link, not followed (by choice: `follow_symlinks`).
    Symlink,
    /// Parsed in part: tree-sitter error nodes or an entry cap (the `partial` list).
    Partial,
}

impl SkipCause {
    /// The name used in JSON and in `stats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::OverLimit => "over_limit",
            Self::NotText => "not_text",
            Self::Unreadable => "unreadable",
            Self::ParseFailed => "parse_failed",
            Self::Symlink => "symlink",
            Self::Partial => "partial",
        }
    }

    /// True when the file was wanted but could not be ingested: an ingest
    /// that skipped such a file is incomplete (`kausal ingest` exits 3).
    /// Symbolic links are left out by choice, partial files are in the graph.
    pub fn leaves_file_out(self) -> bool {
        !matches!(self, Self::Symlink | Self::Partial)
    }
}

/// Source files the walk left out because ignore rules (`.gitignore`,
/// `.ignore`, `.kausalignore`, `--ignore-file`) matched them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IgnoredFiles {
    /// Source files (by extension) that the ignore rules excluded; 0 with
    /// `--no-ignore`.
    pub excluded: u64,
    /// Source files the walk would have found without ignore rules.
    pub without_rules: u64,
    /// The rule file whose rules match the most excluded files, when any.
    pub top_rule_file: Option<RuleFileHit>,
}

/// One ignore file and what it excluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RuleFileHit {
    /// The rule file (relative to the root when inside it).
    pub path: String,
    /// Excluded source files its rules match (estimated from an evenly
    /// spaced sample when more than `MAX_IGNORE_ATTRIBUTION_SAMPLES` were
    /// excluded).
    pub matched: u64,
    /// One of its rules that matched, as written (`/*`, `*.h`, ...).
    pub rule: String,
    /// One excluded file it matched.
    pub example: String,
}

impl IgnoredFiles {
    /// True when the rules hid something a person should hear about: every
    /// source file, or more than half of them.
    pub fn is_suspicious(&self) -> bool {
        self.excluded > 0 && self.excluded.saturating_mul(2) > self.without_rules
    }

    /// The warning `ingest` prints when the rules look suspicious.
    pub fn warning(&self) -> Option<String> {
        if !self.is_suspicious() {
            return None;
        }
        let mut text = format!(
            "ignore rules excluded {} of {} source files",
            self.excluded, self.without_rules
        );
        if let Some(hit) = &self.top_rule_file {
            text.push_str(&format!(
                "; most by {} (rule `{}` matches {}, e.g. {})",
                hit.path, hit.rule, hit.matched, hit.example
            ));
        }
        text.push_str("; pass --no-ignore to ingest them, or --ignore-file FILE to add rules");
        Some(text)
    }
}

/// What one ingest did and what the graph holds afterwards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Source files the walk found.
    pub files_seen: u64,
    /// Files read and parsed this time.
    pub files_parsed: u64,
    /// Files whose size and mtime (or content hash) were unchanged.
    pub files_unchanged: u64,
    /// Files stored before and gone now (deleted, ignored or skipped).
    pub files_removed: u64,
    /// Files not ingested, with reasons.
    pub skipped: Vec<SkippedFile>,
    /// Source files the ignore rules excluded (not in `files_seen`).
    pub ignored: IgnoredFiles,
    /// Files ingested with syntax errors or over an entry cap.
    pub partial: Vec<SkippedFile>,
    /// Lines of the files parsed this time.
    pub lines_parsed: u64,
    /// Bytes of the files parsed this time.
    pub bytes_parsed: u64,
    /// Lines of all ingested files.
    pub total_lines: u64,
    /// Blocks the graph holds after this ingest, by metadata `kind`
    /// (`file`, `function`, `method`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Edges the graph holds after this ingest, by edge type name.
    pub edges_by_type: BTreeMap<String, u64>,
    /// How the graph's call sites were resolved (over all files, not only
    /// the ones parsed this time).
    pub calls: CallStats,
    /// How the graph's imports were resolved.
    pub imports: ImportStats,
    /// Some unresolved and ambiguous calls (capped), for inspection.
    pub call_samples: Vec<CallSample>,
    /// Blocks put this time (new or changed; unchanged blocks are not rewritten).
    pub blocks_written: u64,
    /// Blocks deleted this time (items and files that are gone).
    pub blocks_deleted: u64,
    /// Edges put this time.
    pub edges_written: u64,
    /// Edges deleted this time.
    pub edges_deleted: u64,
    /// Write batches committed (each one atomic in the storage engine).
    pub batches: u64,
    /// Precise mode: what merging SCIP indexes did, and the precise
    /// part of the graph.
    pub precise: crate::precise::PreciseReport,
    /// False when resolution was skipped because no file's items, calls,
    /// imports or types changed (only bodies' text or positions).
    pub resolved: bool,
    /// True when the stored graph was not known to be whole (the first
    /// ingest after one that stopped half-way, or of a graph written
    /// before the walk record was written last): every file's blocks were
    /// built again and compared with the stored ones.
    #[serde(default)]
    pub checked_whole_graph: bool,
    /// Wall time of the whole ingest.
    #[serde(skip)]
    pub elapsed: Duration,
    /// Wall time per stage.
    #[serde(skip)]
    pub timings: Timings,
}

/// Wall time of each stage of one ingest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Reading the stored graph back (first ingest of an `Ingester` only).
    pub load: Duration,
    /// Walking the tree (ignore files, sizes, modification times).
    pub walk: Duration,
    /// Reading and parsing the changed files (on all parse threads).
    pub parse: Duration,
    /// Building the blocks of the changed files.
    pub blocks: Duration,
    /// Name resolution over every file's summary (zero when skipped).
    pub resolve: Duration,
    /// Writing the difference to the storage engine.
    pub write: Duration,
    /// The final sync that makes the ingest durable.
    pub sync: Duration,
    /// The names dictionary, names by length, counts and walk record,
    /// written after the files' batches.
    pub catalog: Duration,
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "load {:.1}ms, walk {:.1}ms, read+parse {:.1}ms, blocks {:.1}ms, resolve {:.1}ms, write {:.1}ms, sync {:.1}ms, catalog {:.1}ms",
            ms(self.load),
            ms(self.walk),
            ms(self.parse),
            ms(self.blocks),
            ms(self.resolve),
            ms(self.write),
            ms(self.sync),
            ms(self.catalog)
        )
    }
}

impl IngestReport {
    /// True when no wanted file was left out (see
    /// [`SkipCause::leaves_file_out`]); false makes `kausal ingest` exit 3.
    pub fn is_complete(&self) -> bool {
        !self.skipped.iter().any(|file| file.cause.leaves_file_out())
    }

    /// Skipped files counted by cause name.
    pub fn skipped_by_cause(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for file in &self.skipped {
            *counts.entry(file.cause.name()).or_default() += 1;
        }
        counts
    }

    /// Source lines per second of this ingest (parsed lines over wall time).
    pub fn lines_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.lines_parsed as f64 / seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "files: {} seen, {} parsed, {} unchanged, {} removed, {} skipped, {} partial",
            self.files_seen,
            self.files_parsed,
            self.files_unchanged,
            self.files_removed,
            self.skipped.len(),
            self.partial.len()
        )?;
        writeln!(
            f,
            "lines: {} parsed in {:.3}s ({:.0} lines/s), {} in the graph",
            self.lines_parsed,
            self.elapsed.as_secs_f64(),
            self.lines_per_second(),
            self.total_lines
        )?;
        let kinds: Vec<String> = self
            .blocks_by_kind
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "blocks: {}", kinds.join(", "))?;
        let edges: Vec<String> = self
            .edges_by_type
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "edges: {}", edges.join(", "))?;
        let c = &self.calls;
        writeln!(
            f,
            "calls: {} total, {} resolved, {} ambiguous, {} external, {} unresolved, {} local, {} constructors",
            c.total, c.resolved, c.ambiguous, c.external, c.unresolved, c.local, c.constructor
        )?;
        let rules: Vec<String> = c.by_rule.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(f, "resolved by rule: {}", rules.join(", "))?;
        let i = &self.imports;
        writeln!(
            f,
            "imports: {} total, {} resolved, {} external, {} unresolved",
            i.total, i.resolved, i.external, i.unresolved
        )?;
        let p = &self.precise;
        if !p.indexes.is_empty() {
            writeln!(
                f,
                "precise: merged {} ({} occurrences) in {:.1}ms: {} files applied, {} changed since the index, {} not in the tree, {} calls to code without a block",
                p.indexes.join(", "),
                p.occurrences,
                p.merge.as_secs_f64() * 1e3,
                p.applied,
                p.rejected.len(),
                p.outside_tree,
                p.unmapped
            )?;
        }
        if p.files > 0 {
            writeln!(
                f,
                "precise: {} files, {} call edges; {} files edited since their index (heuristic edges until the next)",
                p.files - p.stale,
                p.edges,
                p.stale
            )?;
        }
        writeln!(f, "time: {}", self.timings)?;
        write!(
            f,
            "writes: {} blocks written, {} deleted, {} edges written, {} deleted, {} batches",
            self.blocks_written,
            self.blocks_deleted,
            self.edges_written,
            self.edges_deleted,
            self.batches
        )?;
        for skipped in &self.skipped {
            write!(f, "\nskipped {}: {}", skipped.path, skipped.reason)?;
        }
        for rejected in &p.rejected {
            write!(f, "\nnot precise {}: {}", rejected.path, rejected.reason)?;
        }
        if let Some(warning) = self.ignored.warning() {
            write!(f, "\nwarning: {warning}")?;
        } else if self.ignored.excluded > 0 {
            write!(
                f,
                "\nignored: {} source files excluded by ignore rules (--no-ignore to include them)",
                self.ignored.excluded
            )?;
        }
        if !self.is_complete() {
            write!(
                f,
                "\nincomplete: {} files left out (listed above); the rest is ingested",
                self.skipped
                    .iter()
                    .filter(|file| file.cause.leaves_file_out())
                    .count()
            )?;
        }
        Ok(())
    }
}
