//! Blocks as the CLI shows them: the documented metadata fields of
//! kausal-ingest (docs/INGEST.md), parsed once per shown block.

use kausal_storage::BlockView;
use serde::{Deserialize, Serialize};

/// A block's identity and place, for lists and trees.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockInfo {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub qualified_name: String,
    pub language: String,
    pub path: String,
    pub start_line: u64,
    pub end_line: u64,
}

impl BlockInfo {
    pub fn from_view(view: &BlockView<'_>) -> Self {
        let meta: serde_json::Value =
            serde_json::from_str(view.metadata_json).unwrap_or(serde_json::Value::Null);
        let text = |field: &str| meta[field].as_str().unwrap_or_default().to_string();
        let line = |field: &str| meta[field].as_u64().unwrap_or(0);
        let path = match text("path") {
            path if path.is_empty() => view.source_uri.to_string(),
            path => path,
        };
        Self {
            id: view.id.to_string(),
            kind: text("kind"),
            name: text("name"),
            qualified_name: text("qualified_name"),
            language: text("language"),
            path,
            start_line: line("start_line"),
            end_line: line("end_line"),
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
#[derive(Debug, Serialize, Deserialize)]
pub struct BlockDetail {
    #[serde(flatten)]
    pub info: BlockInfo,
    pub signature: String,
    pub doc: String,
    pub metadata: serde_json::Value,
    pub content: String,
}

impl BlockDetail {
    pub fn from_view(view: &BlockView<'_>) -> Self {
        let metadata: serde_json::Value =
            serde_json::from_str(view.metadata_json).unwrap_or(serde_json::Value::Null);
        Self {
            info: BlockInfo::from_view(view),
            signature: metadata["signature"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            doc: metadata["doc"].as_str().unwrap_or_default().to_string(),
            metadata,
            content: view.content.to_string(),
        }
    }
}
