//! Blocks as the CLI shows them: kausal-ingest's typed metadata
//! ([`BlockMeta`], docs/INGEST.md), parsed once per shown block.

use kausal_ingest::BlockMeta;
use kausal_storage::BlockView;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A block's identity and place, for lists and trees.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct BlockInfo {
    /// The block's id: 32 hex digits.
    pub id: String,
    /// What the block is: `file`, `module`, `function`, `method`, `struct`, ...
    pub kind: String,
    /// The block's own name (`parse`); empty for a block without one.
    pub name: String,
    /// The name with its module path (`crate::parse::parse`).
    pub qualified_name: String,
    /// The source language (`rust`, `python`, ...).
    pub language: String,
    /// The file's path, relative to the repository root.
    pub path: String,
    /// First line of the block in its file, 1-based.
    pub start_line: u64,
    /// Last line of the block in its file, 1-based and inclusive.
    pub end_line: u64,
}

impl BlockInfo {
    /// The block as the CLI shows it, read from a stored block's metadata.
    pub fn from_view(view: &BlockView<'_>) -> Self {
        let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
        Self::from_meta(view, &meta)
    }

    /// The block as the CLI shows it, from its already parsed metadata.
    pub fn from_meta(view: &BlockView<'_>, meta: &BlockMeta<'_>) -> Self {
        let path = if meta.path.is_empty() {
            view.source_uri.to_string()
        } else {
            meta.path.to_string()
        };
        Self {
            id: view.id.to_string(),
            kind: meta.kind.to_string(),
            name: meta.name.to_string(),
            qualified_name: meta.qualified_name.to_string(),
            language: meta.language.to_string(),
            path,
            start_line: u64::from(meta.start_line),
            end_line: u64::from(meta.end_line),
        }
    }

    /// `path:line`, what editors and agents open.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.start_line.max(1))
    }

    /// The qualified name, or the path for a file or an unnamed block.
    pub fn title(&self) -> &str {
        if self.kind == "file" || self.qualified_name.is_empty() {
            &self.path
        } else {
            &self.qualified_name
        }
    }
}

/// Everything about one block, for `show`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct BlockDetail {
    /// The block's identity and place.
    #[serde(flatten)]
    pub info: BlockInfo,
    /// The declaration line(s) without the body; empty when the language has none.
    pub signature: String,
    /// The block's doc comment, without comment markers; empty when it has none.
    pub doc: String,
    /// All of the block's stored metadata, as kausal-ingest wrote it.
    pub metadata: serde_json::Value,
    /// The block's source text.
    pub content: String,
}

impl BlockDetail {
    /// Everything `show` prints about a stored block.
    pub fn from_view(view: &BlockView<'_>) -> Self {
        let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
        Self {
            info: BlockInfo::from_meta(view, &meta),
            signature: meta.signature.to_string(),
            doc: meta.doc.to_string(),
            // Shown as stored, fields a newer ingest adds included.
            metadata: serde_json::from_str(view.metadata_json).unwrap_or(serde_json::Value::Null),
            content: view.content.to_string(),
        }
    }
}
