//! `IngestReport`: what an ingest did (files parsed, unchanged, removed,
//! skipped with reasons), what the graph now holds (blocks by kind, edges
//! by type) and how calls were resolved.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

pub use crate::resolve::{CallSample, CallStats, ImportStats};

/// A file left out (or only partly ingested), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SkippedFile {
    /// Path relative to the ingested root, `/`-separated.
    pub path: String,
    /// Why: for a skipped file e.g. `larger than 1048576 bytes`, `binary
    /// (NUL byte in the first 8 KiB)`, `not UTF-8 (...)`; for a partial one
    /// its syntax error count and/or the entry cap it hit.
    pub reason: String,
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
    /// False when resolution was skipped because no file's items, calls,
    /// imports or types changed (only bodies' text or positions).
    pub resolved: bool,
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
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "load {:.1}ms, walk {:.1}ms, read+parse {:.1}ms, blocks {:.1}ms, resolve {:.1}ms, write {:.1}ms, sync {:.1}ms",
            ms(self.load),
            ms(self.walk),
            ms(self.parse),
            ms(self.blocks),
            ms(self.resolve),
            ms(self.write),
            ms(self.sync)
        )
    }
}

impl IngestReport {
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
        Ok(())
    }
}
