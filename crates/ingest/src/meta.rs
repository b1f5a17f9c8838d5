//! `BlockMeta`: the typed contract of a block's `metadata_json` (the schema
//! in docs/INGEST.md). Ingest serialises it; every reader (the query
//! service, the CLI, tests) deserialises it once, borrowing from the
//! stored text where it can. Fields are written in this order, `kind`
//! first, so a reader can tell a block's kind from the first bytes.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// `kind` of a file block.
pub const FILE_KIND: &str = "file";
/// `kind` of a file's ingest state block (not code: see [`crate::record`]).
pub const STATE_KIND: &str = "ingest_state";
/// `kind` of a file's call provenance block (not code: see
/// [`crate::provenance`]).
pub const PROVENANCE_KIND: &str = "call_provenance";
/// `kind` of a file's precise-calls block (not code: see
/// [`crate::precise::stored`]).
pub const PRECISE_KIND: &str = "precise_calls";
/// `kind` of the walk record (not code: see [`crate::walk_record`]).
pub const WALK_RECORD_KIND: &str = "ingest_walk";
/// `kind` of the names dictionary's blocks (not code: see
/// [`crate::name_dictionary`]).
pub const DICTIONARY_KIND: &str = "name_dictionary";
/// `kind` of the graph's counts (not code: see [`crate::graph_counts`]).
pub const COUNTS_KIND: &str = "graph_counts";

/// The display metadata of a file or item block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockMeta<'a> {
    /// `file`, `module`, `function`, `method`, `struct`, ...
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    /// The item's own name; a file's file name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// The name with its module path (`crate::parse::parse`).
    #[serde(borrow)]
    pub qualified_name: Cow<'a, str>,
    /// `rust`, `python`, ...
    #[serde(borrow)]
    pub language: Cow<'a, str>,
    /// Repo-relative, `/`-separated (also the block's `source_uri`).
    #[serde(borrow)]
    pub path: Cow<'a, str>,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
    /// The item's text up to its body, whitespace collapsed.
    #[serde(borrow)]
    pub signature: Cow<'a, str>,
    /// First line of the doc comment.
    #[serde(borrow)]
    pub doc: Cow<'a, str>,
    /// File blocks: tree-sitter ERROR/MISSING nodes in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syntax_errors: Option<u32>,
}

impl<'a> BlockMeta<'a> {
    /// The metadata in `json`, borrowing its strings; `None` when it is not
    /// a JSON object of this shape (a block some other writer stored).
    pub fn parse(json: &'a str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    /// True for a file block.
    pub fn is_file(&self) -> bool {
        self.kind == FILE_KIND
    }

    /// True for a block that is not code (a file's ingest state or call
    /// provenance, the walk record): what lists of code and counts of
    /// blocks leave out.
    pub fn is_internal(&self) -> bool {
        is_internal_kind(&self.kind)
    }

    /// The JSON text stored for this metadata.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// True for the `kind` of a block that is not code: a file's ingest state
/// ([`STATE_KIND`]), call provenance ([`PROVENANCE_KIND`]) or precise
/// calls ([`PRECISE_KIND`]), the walk record ([`WALK_RECORD_KIND`]), the
/// names dictionary ([`DICTIONARY_KIND`]), the graph's counts
/// ([`COUNTS_KIND`]).
pub fn is_internal_kind(kind: &str) -> bool {
    INTERNAL_KINDS.contains(&kind)
}

/// Every kind of block that is not code.
const INTERNAL_KINDS: [&str; 6] = [
    STATE_KIND,
    PROVENANCE_KIND,
    WALK_RECORD_KIND,
    PRECISE_KIND,
    DICTIONARY_KIND,
    COUNTS_KIND,
];

/// True when a stored block's metadata is of an internal kind (see
/// [`is_internal_kind`]), read without parsing it.
pub fn is_internal_block(metadata_json: &str) -> bool {
    INTERNAL_KINDS
        .iter()
        .any(|kind| has_kind(metadata_json, kind))
}

/// True when a stored block's metadata says `kind` without parsing it
/// (ingest writes `kind` first).
pub fn has_kind(metadata_json: &str, kind: &str) -> bool {
    metadata_json
        .strip_prefix(r#"{"kind":""#)
        .and_then(|rest| rest.strip_prefix(kind))
        .is_some_and(|rest| rest.starts_with('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_borrowing_and_kind_is_readable_unparsed() {
        let meta = BlockMeta {
            kind: "function".into(),
            name: "parse".into(),
            qualified_name: "crate::parse::parse".into(),
            language: "rust".into(),
            path: "src/parse.rs".into(),
            start_line: 4,
            end_line: 7,
            signature: "pub fn parse(text: &str) -> usize".into(),
            doc: "Parses \"text\".".into(),
            syntax_errors: None,
        };
        let json = meta.to_json().expect("json");
        assert!(
            json.starts_with(r#"{"kind":"function","name":"parse","#),
            "{json}"
        );
        assert!(!json.contains("syntax_errors"));
        let back = BlockMeta::parse(&json).expect("parses");
        assert_eq!(back, meta);
        assert!(matches!(back.name, Cow::Borrowed(_)));
        assert!(has_kind(&json, "function"));
        assert!(!has_kind(&json, "func"));
        assert!(!has_kind(&json, "file"));
        // Fields another writer left out default; unknown ones are ignored.
        let partial = BlockMeta::parse(r#"{"name":"x","extra":[1,2]}"#).expect("parses");
        assert_eq!((partial.kind.as_ref(), partial.name.as_ref()), ("", "x"));
        assert_eq!(BlockMeta::parse("[1]"), None);
    }
}
