//! The record of the last walk, stored as one block beside the graph so
//! that `kausal stats` can say what the last ingest left out and why
//! (files skipped by cause, files the ignore rules excluded and by which
//! rule file), and how much of the graph is precise (from SCIP indexes)
//! and how stale. It holds what the tree, the options and the stored
//! precise calls decide (no counts of what changed), so a fresh ingest and
//! an incremental one of the same tree store the same record, with one
//! exception: when the walk began, which a restarted ingester needs to
//! trust a file's size and modification time (see `walk_started_ns`).

use std::collections::BTreeMap;

use kausal_storage::{BlockId, BlockView, ContextBlock};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::hash::StableHasher;
use crate::limits::MAX_RECORDED_SKIPPED_FILES;
use crate::report::{IgnoredFiles, IngestReport, SkippedFile};

/// `source_uri` of the walk record block (not a path: no file has it).
pub const WALK_RECORD_URI: &str = "kausal:last-walk";
/// `kind` in the walk record's metadata.
pub use crate::meta::WALK_RECORD_KIND;

/// What the last walk found and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WalkRecord {
    /// Always [`WALK_RECORD_KIND`] (first, so the kind is visible unparsed).
    pub kind: String,
    /// Source files the walk found.
    pub files_seen: u64,
    /// Files left out, counted by cause name (`too_large`, `over_limit`, ...).
    pub skipped_by_cause: BTreeMap<String, u64>,
    /// The first skipped files, by path, with reasons (at most
    /// `MAX_RECORDED_SKIPPED_FILES`).
    pub skipped: Vec<SkippedFile>,
    /// Files parsed only in part.
    pub partial: u64,
    /// What the ignore rules excluded.
    pub ignored: IgnoredFiles,
    /// Files with precise call edges from a SCIP index (stale ones
    /// included).
    #[serde(default)]
    pub precise_files: u64,
    /// Of those, files edited since their index.
    #[serde(default)]
    pub precise_stale: u64,
    /// Precise call edges of the fresh files.
    #[serde(default)]
    pub precise_edges: u64,
    /// Wall clock (ns since the Unix epoch) when the walk began; 0 in
    /// records written before it was kept. After a restart a file whose
    /// size and modification time match its stored state and whose mtime
    /// is clearly older than this is not read again (git's "racily clean"
    /// rule); without it every file is read and hashed.
    #[serde(default)]
    pub walk_started_ns: u64,
}

impl WalkRecord {
    /// The record of the walk `report` describes.
    pub fn from_report(report: &IngestReport, walk_started_ns: u64) -> Self {
        Self {
            kind: WALK_RECORD_KIND.to_string(),
            files_seen: report.files_seen,
            skipped_by_cause: report
                .skipped_by_cause()
                .into_iter()
                .map(|(cause, count)| (cause.to_string(), count))
                .collect(),
            skipped: report
                .skipped
                .iter()
                .take(MAX_RECORDED_SKIPPED_FILES)
                .cloned()
                .collect(),
            partial: report.partial.len() as u64,
            ignored: report.ignored.clone(),
            precise_files: report.precise.files,
            precise_stale: report.precise.stale,
            precise_edges: report.precise.edges,
            walk_started_ns,
        }
    }

    /// The record stored in `view`, if `view` is the walk record block.
    pub fn from_block(view: &BlockView) -> Option<Self> {
        if view.id != walk_record_id() || view.source_uri != WALK_RECORD_URI {
            return None;
        }
        serde_json::from_str(view.metadata_json)
            .ok()
            .filter(|record: &Self| record.kind == WALK_RECORD_KIND)
    }

    /// The block that stores this record.
    pub fn to_block(&self) -> Result<ContextBlock, String> {
        let json = serde_json::to_string(self).map_err(|error| error.to_string())?;
        Ok(ContextBlock::new(
            walk_record_id(),
            WALK_RECORD_URI.to_string(),
            json,
            String::new(),
        ))
    }
}

/// Id of the walk record block (one per database).
pub fn walk_record_id() -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest walk record v1")
        .finish();
    BlockId::from_u128(hash.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SkipCause;

    #[test]
    fn a_record_round_trips_through_its_block_and_caps_the_list() {
        let mut report = IngestReport {
            files_seen: 3,
            ..IngestReport::default()
        };
        for index in 0..MAX_RECORDED_SKIPPED_FILES + 5 {
            report.skipped.push(SkippedFile::new(
                format!("gen/{index}.h"),
                SkipCause::TooLarge,
                "larger than 1 bytes",
            ));
        }
        let record = WalkRecord::from_report(&report, 1_765_000_000_000_000_000);
        assert_eq!(record.walk_started_ns, 1_765_000_000_000_000_000);
        assert_eq!(record.skipped.len(), MAX_RECORDED_SKIPPED_FILES);
        assert_eq!(
            record.skipped_by_cause.get("too_large"),
            Some(&((MAX_RECORDED_SKIPPED_FILES + 5) as u64))
        );
        let block = record.to_block().expect("block");
        let view = BlockView {
            id: block.id,
            sequence: 0,
            source_uri: &block.source_uri,
            metadata_json: &block.metadata_json,
            content: &block.content,
        };
        assert_eq!(WalkRecord::from_block(&view), Some(record));
    }
}
