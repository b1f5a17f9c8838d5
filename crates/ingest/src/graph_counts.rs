//! The graph's counts, kept at ingest so that `kausal stats` reads one
//! block instead of every block and edge (27 s on the Linux kernel's
//! database): code blocks by kind and language, edges by type, and call
//! edges by the rule that resolved them. One internal block (kind
//! [`COUNTS_KIND`]), rewritten by an ingest only when a count changed.
//!
//! The counts are what a scan of the stored graph would count: every
//! block ingest writes for a file or item (not its bookkeeping), every
//! edge (all of ingest's edges start at such a block, but for the name
//! index's, which start at key nodes and are counted once each), and the
//! records the provenance blocks hold (`crate::provenance`, capped at
//! [`MAX_PROVENANCE_BYTES`] per file). A database written before this
//! block existed has none: readers fall back to the scan.

use std::collections::BTreeMap;

use kausal_storage::{BlockId, BlockView, ContextBlock};
use serde::{Deserialize, Serialize};

use crate::hash::StableHasher;
pub use crate::meta::COUNTS_KIND;
use crate::meta::has_kind;
use crate::provenance::{CallProvenance, MAX_PROVENANCE_BYTES};

/// `source_uri` of the counts block (no file has it).
pub const COUNTS_URI: &str = "kausal:counts";
/// Version of the counts block; a reader ignores (and scans instead of
/// reading) any other.
pub const COUNTS_VERSION: u32 = 1;

/// What the graph holds, by kind, language, type and rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphCounts {
    /// Always [`COUNTS_KIND`] (first, so the kind is visible unparsed).
    pub kind: String,
    /// [`COUNTS_VERSION`].
    pub version: u32,
    /// Code blocks (files and items).
    pub blocks: u64,
    /// Code blocks by kind (`file`, `function`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Code blocks by language.
    pub blocks_by_language: BTreeMap<String, u64>,
    /// Edges by type name.
    pub edges_by_type: BTreeMap<String, u64>,
    /// Recorded call edges by the rule that resolved them (no
    /// `unrecorded`: a reader derives it from the call edges).
    pub calls_by_rule: BTreeMap<String, u64>,
}

impl GraphCounts {
    /// The counts stored in `view`, if it is the counts block of this
    /// version.
    pub fn from_block(view: &BlockView) -> Option<Self> {
        if view.id != counts_id() || !has_kind(view.metadata_json, COUNTS_KIND) {
            return None;
        }
        serde_json::from_str(view.metadata_json)
            .ok()
            .filter(|counts: &Self| counts.version == COUNTS_VERSION)
    }

    /// The block that stores these counts.
    pub fn to_block(&self) -> Result<ContextBlock, String> {
        let counts = Self {
            kind: COUNTS_KIND.to_string(),
            version: COUNTS_VERSION,
            ..self.clone()
        };
        let json = serde_json::to_string(&counts).map_err(|error| error.to_string())?;
        Ok(ContextBlock::new(
            counts_id(),
            COUNTS_URI.to_string(),
            json,
            String::new(),
        ))
    }
}

/// Id of the counts block (one per database).
pub fn counts_id() -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest graph counts v1")
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Bytes of one provenance line (`<source> <target> <type> <rule>\n`):
/// what [`records_kept`] sums against the cap.
fn line_bytes(record: &CallProvenance) -> usize {
    32 + 1 + 32 + 1 + record.edge.edge_type.name().len() + 1 + record.rule.name().len() + 1
}

/// How many of one file's `records` its provenance block holds: the
/// longest run whose lines fit [`MAX_PROVENANCE_BYTES`].
pub(crate) fn records_kept(records: &[CallProvenance]) -> usize {
    let mut bytes = 0;
    for (kept, record) in records.iter().enumerate() {
        bytes += line_bytes(record);
        if bytes > MAX_PROVENANCE_BYTES {
            return kept;
        }
    }
    records.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::{CallRule, provenance_block, read_provenance};
    use kausal_storage::{EdgeType, GraphEdge};

    #[test]
    fn counts_round_trip_through_their_block() {
        let mut counts = GraphCounts {
            blocks: 3,
            ..GraphCounts::default()
        };
        counts.blocks_by_kind.insert("file".into(), 1);
        counts.calls_by_rule.insert("scope".into(), 2);
        let block = counts.to_block().expect("block");
        let view = BlockView {
            id: block.id,
            sequence: 0,
            source_uri: &block.source_uri,
            metadata_json: &block.metadata_json,
            content: &block.content,
        };
        let read = GraphCounts::from_block(&view).expect("read");
        assert_eq!((read.blocks, read.kind.as_str()), (3, COUNTS_KIND));
        assert_eq!(read.calls_by_rule, counts.calls_by_rule);
    }

    #[test]
    fn records_kept_is_what_a_capped_provenance_block_holds() {
        let line = 32 + 1 + 32 + 1 + "calls".len() + 1 + "scope".len() + 1;
        let records: Vec<CallProvenance> = (0..MAX_PROVENANCE_BYTES / line + 10)
            .map(|n| CallProvenance {
                edge: GraphEdge::new(
                    BlockId::from_u128(n as u128 + 1),
                    BlockId::from_u128(u128::MAX - n as u128),
                    EdgeType::Calls,
                ),
                rule: CallRule::Scope,
            })
            .collect();
        let block = provenance_block("a.rs", BlockId::from_u128(7), &records).expect("block");
        let view = BlockView {
            id: block.id,
            sequence: 0,
            source_uri: &block.source_uri,
            metadata_json: &block.metadata_json,
            content: &block.content,
        };
        let stored = read_provenance(&view).expect("provenance");
        assert!(stored.meta.omitted > 0);
        assert_eq!(records_kept(&records), stored.records.len());
        assert_eq!(records_kept(&records[..5]), 5);
    }
}
