//! `IngestSummary`: the report of an `ingest`, as the CLI prints it and the
//! server returns it (`{"command": "ingest", ...}`).

use std::collections::BTreeMap;
use std::path::Path;

use kausal_ingest::{IgnoredFiles, SkippedFile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The report of an `ingest`: files read, blocks and edges written, files skipped.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IngestSummary {
    /// The database directory written to.
    pub db: String,
    /// The repository directory that was read.
    pub root: String,
    /// Files found under the root (ignored ones excluded).
    pub files_seen: u64,
    /// Files parsed because they were new or changed.
    pub files_parsed: u64,
    /// Files left alone because their content had not changed.
    pub files_unchanged: u64,
    /// Files in the database no longer under the root; their blocks were deleted.
    pub files_removed: u64,
    /// Lines in the parsed files.
    pub lines_parsed: u64,
    /// Blocks parsed, by kind (`function`, `struct`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Edges parsed, by type (`calls`, `imports`, ...).
    pub edges_by_type: BTreeMap<String, u64>,
    /// Call resolution counts: `total`, `resolved`, `ambiguous`, `external`, `unresolved`, ...
    pub calls: serde_json::Value,
    /// Precise mode (SCIP indexes): `indexes` merged this time, their
    /// `occurrences`, files `applied`, documents `rejected` [{`path`,
    /// `reason`}], `outside_tree`, `unmapped` calls; and what the graph
    /// holds after it: precise `files` (stale ones included), `stale`
    /// files (edited since their index) and precise call `edges`.
    #[serde(default)]
    pub precise: serde_json::Value,
    /// Blocks written (new or changed).
    pub blocks_written: u64,
    /// Blocks deleted (gone from their file or with their file).
    pub blocks_deleted: u64,
    /// Edges written.
    pub edges_written: u64,
    /// Edges deleted.
    pub edges_deleted: u64,
    /// Files not parsed at all, with why (too large, a symbolic link, unreadable, ...)
    /// and the cause's class (`too_large`, `over_limit`, `not_text`, ...).
    pub skipped: Vec<SkippedFile>,
    /// Files parsed only in part, with why (syntax error nodes, truncated parses).
    pub partial: Vec<SkippedFile>,
    /// Source files the ignore rules excluded, and the rule file that
    /// excluded the most.
    pub ignored: IgnoredFiles,
    /// False when a wanted file was left out (too large, over a storage
    /// limit, unreadable, not text, failed to parse): `ingest` then exits 3.
    pub complete: bool,
    /// Wall-clock time of the ingest, in seconds.
    pub seconds: f64,
    /// Seconds per phase: `load` (reading the stored graph back, first
    /// ingest of a process only), `walk`, `parse`, `blocks`, `resolve`,
    /// `write`, `sync`, `catalog` (names dictionary, counts and walk
    /// record). Where the wall-clock time went.
    #[serde(default)]
    pub phases: BTreeMap<String, f64>,
    /// The human-readable report, as `ingest` prints it; not in the JSON.
    #[serde(skip)]
    pub text: String,
}

/// An ingest's report tagged as the CLI's `--json` tags it
/// (`{"command": "ingest", ...}`), for the server's answers.
#[derive(Debug, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum IngestAnswer<'a> {
    /// `ingest`.
    Ingest(&'a IngestSummary),
}

/// The report of an ingest of `root` into `db`.
pub fn ingest_summary(
    db: &Path,
    root: &Path,
    report: &kausal_ingest::IngestReport,
) -> IngestSummary {
    IngestSummary {
        db: db.display().to_string(),
        root: root.display().to_string(),
        files_seen: report.files_seen,
        files_parsed: report.files_parsed,
        files_unchanged: report.files_unchanged,
        files_removed: report.files_removed,
        lines_parsed: report.lines_parsed,
        blocks_by_kind: report.blocks_by_kind.clone(),
        edges_by_type: report.edges_by_type.clone(),
        calls: serde_json::to_value(&report.calls).unwrap_or_default(),
        precise: serde_json::to_value(&report.precise).unwrap_or_default(),
        blocks_written: report.blocks_written,
        blocks_deleted: report.blocks_deleted,
        edges_written: report.edges_written,
        edges_deleted: report.edges_deleted,
        skipped: report.skipped.clone(),
        partial: report.partial.clone(),
        ignored: report.ignored.clone(),
        complete: report.is_complete(),
        seconds: report.elapsed.as_secs_f64(),
        phases: phase_seconds(&report.timings),
        text: report.to_string(),
    }
}

/// An ingest's phase timings as seconds by phase name.
fn phase_seconds(timings: &kausal_ingest::Timings) -> BTreeMap<String, f64> {
    [
        ("load", timings.load),
        ("walk", timings.walk),
        ("parse", timings.parse),
        ("blocks", timings.blocks),
        ("resolve", timings.resolve),
        ("write", timings.write),
        ("sync", timings.sync),
        ("catalog", timings.catalog),
    ]
    .into_iter()
    .map(|(phase, took)| (phase.to_string(), took.as_secs_f64()))
    .collect()
}
