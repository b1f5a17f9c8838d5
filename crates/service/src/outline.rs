//! `outline`: a file's items, nested as the file nests them (module, impl,
//! class, trait -> their items), each with kind, name, signature, first
//! doc line and line range. Read through the `contains` edges ingest
//! writes from a file or item to what it directly holds; a Rust module
//! file's child module files (also `contains`) are files of their own and
//! not listed. `context` packs this outline, and `impact` finds the items
//! a line range touches in it.

use kausal_ingest::{BlockMeta, Language};
use kausal_storage::{BlockId, BlockView, EdgeType, StorageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::provenance::file_block_id;
use crate::reader::Reader;
use crate::resolve::{resolve_one, storage_error};

/// Most items one outline lists (the rest are counted as left out).
pub const MAX_OUTLINE_ITEMS: usize = 5000;
/// Deepest nesting an outline follows.
pub const MAX_OUTLINE_DEPTH: usize = 16;

/// Arguments of `outline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct OutlineArgs {
    /// A repo-relative file path (`src/parse.rs`); a symbol's name or id
    /// outlines the file that defines it.
    pub path: String,
}

/// One item of a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct OutlineItem {
    /// The item's block id.
    pub id: String,
    /// `function`, `method`, `struct`, `class`, `impl`, `module`, ...
    pub kind: String,
    /// The item's own name.
    pub name: String,
    /// The name with its module path.
    pub qualified_name: String,
    /// The declaration up to its body; empty when the language has none.
    pub signature: String,
    /// First line of its doc comment; empty when it has none.
    pub doc: String,
    /// First line, 1-based.
    pub start_line: u64,
    /// Last line, 1-based, inclusive.
    pub end_line: u64,
    /// The items it holds (an impl's methods, a class's methods, ...).
    pub children: Vec<OutlineItem>,
}

/// The report of `outline`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OutlineReport {
    /// The file outlined.
    pub file: BlockInfo,
    /// Its top-level items, in line order, each with its children.
    pub items: Vec<OutlineItem>,
    /// Items listed, at every level.
    pub total: usize,
    /// More than [`MAX_OUTLINE_ITEMS`] items, or nesting deeper than
    /// [`MAX_OUTLINE_DEPTH`]: the rest is left out.
    pub truncated: bool,
}

/// The file block `view` is, or the one that holds it.
pub(crate) fn file_of<'e>(
    reader: &'e Reader,
    view: &BlockView<'e>,
) -> Result<Option<BlockView<'e>>, StorageError> {
    let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
    if meta.is_file() {
        return Ok(Some(*view));
    }
    match Language::from_name(&meta.language) {
        Some(language) => reader
            .snapshot()
            .find_block(file_block_id(language, &meta.path)),
        None => Ok(None),
    }
}

struct Walk<'r> {
    reader: &'r Reader,
    count: usize,
    truncated: bool,
}

impl Walk<'_> {
    fn children(
        &mut self,
        parent: BlockId,
        level: usize,
    ) -> Result<Vec<OutlineItem>, StorageError> {
        if level >= MAX_OUTLINE_DEPTH {
            self.truncated = true;
            return Ok(Vec::new());
        }
        let snapshot = self.reader.snapshot();
        let mut found = Vec::new();
        for edge in snapshot.find_outgoing_edges(parent)? {
            if edge.edge_type != EdgeType::Contains {
                continue;
            }
            let Some(view) = snapshot.find_block(edge.target)? else {
                continue;
            };
            let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
            if meta.is_file() || meta.is_internal() {
                continue;
            }
            found.push((view.id, meta));
        }
        found.sort_by(|(a_id, a), (b_id, b)| {
            (a.start_line, a.end_line, a_id).cmp(&(b.start_line, b.end_line, b_id))
        });
        let mut items = Vec::with_capacity(found.len());
        for (id, meta) in found {
            if self.count >= MAX_OUTLINE_ITEMS {
                self.truncated = true;
                break;
            }
            self.count += 1;
            let children = self.children(id, level + 1)?;
            items.push(OutlineItem {
                id: id.to_string(),
                kind: meta.kind.into_owned(),
                name: meta.name.into_owned(),
                qualified_name: meta.qualified_name.into_owned(),
                signature: meta.signature.into_owned(),
                doc: meta.doc.into_owned(),
                start_line: u64::from(meta.start_line),
                end_line: u64::from(meta.end_line),
                children,
            });
        }
        Ok(items)
    }
}

/// The items of the file block `file`, nested; whether it was cut.
pub(crate) fn file_items(
    reader: &Reader,
    file: BlockId,
) -> Result<(Vec<OutlineItem>, usize, bool), StorageError> {
    let mut walk = Walk {
        reader,
        count: 0,
        truncated: false,
    };
    let items = walk.children(file, 0)?;
    Ok((items, walk.count, walk.truncated))
}

/// Every item in pre-order (an item before its children) with its
/// nesting level (0 for top-level items).
pub(crate) fn flatten(items: &[OutlineItem]) -> Vec<(usize, &OutlineItem)> {
    fn walk<'a>(items: &'a [OutlineItem], level: usize, out: &mut Vec<(usize, &'a OutlineItem)>) {
        for item in items {
            out.push((level, item));
            walk(&item.children, level + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(items, 0, &mut out);
    out
}

pub(crate) fn outline(reader: &Reader, args: &OutlineArgs) -> Result<OutlineReport, ServiceError> {
    let db = reader.dir();
    let view = resolve_one(reader, &args.path)?;
    let file = file_of(reader, &view)
        .map_err(storage_error(db))?
        .ok_or_else(|| {
            ServiceError::NoResults(format!(
                "{} is not in a file the database has",
                BlockInfo::from_view(&view).title()
            ))
        })?;
    let (items, total, truncated) = file_items(reader, file.id).map_err(storage_error(db))?;
    Ok(OutlineReport {
        file: BlockInfo::from_view(&file),
        items,
        total,
        truncated,
    })
}
