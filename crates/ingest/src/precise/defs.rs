//! Blocks for the functions an index defines and tree-sitter makes no
//! block for: trait methods declared inside a macro invocation
//! (petgraph's `trait_template! { pub trait NodeIndexable { fn
//! to_index(..); } }`, a token tree to tree-sitter), TypeScript private
//! methods (`#dispatch() {}`) and abstract method signatures. Without a
//! block, every call to them would be dropped as unmapped.
//!
//! A *created* block is found per document, from that document and the
//! file's text alone ([`created_defs`]): a definition of a function
//! symbol (descriptor `().`) where no function block of the same name
//! holds any of the symbol's definition lines in that file. It spans the
//! definition's `enclosing_range` (signature and body) when the indexer
//! gives one, else the name. It is stored with the file's precise calls
//! ([`super::stored`]) and, like them, holds while the file keeps the
//! content it was made for: the ingest writes it as a `function` or
//! `method` block whose metadata ends in `"origin":"precise"`
//! ([`created_block`]), contained in the file block and named in the name
//! index like any item ([`created_edges`]).

use std::collections::HashMap;

use kausal_storage::{BlockId, ContextBlock, EdgeType, GraphEdge};
use serde::Serialize;

use super::calls::{Func, byte_offset, innermost, simple_name};
use super::scip_index::{ScipDocument, ScipIndex};
use super::symbol::local_path;
use crate::hash::StableHasher;
use crate::language::Language;
use crate::limits::MAX_SIGNATURE_BYTES;
use crate::meta::BlockMeta;
use crate::naming::FileNames;
use crate::summary::ItemKind;

/// The `origin` a created block's metadata ends with.
pub const CREATED_ORIGIN: &str = "precise";

/// The end of a created block's metadata: `origin` is written last, so a
/// reader tells a created block without parsing it.
const ORIGIN_SUFFIX: &str = r#","origin":"precise"}"#;

/// A function block the merge creates for a definition of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDef {
    /// Its block ([`created_id`]).
    pub id: BlockId,
    /// `Function`, or `Method` when a type or value holds it.
    pub kind: ItemKind,
    /// Its own name (`to_index`, `#dispatch`).
    pub name: String,
    /// The file's module and the symbol's path below its namespace
    /// (`crate::visit::NodeIndexable::to_index`).
    pub qualified: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
    /// Where its text starts in the file's text (bytes).
    pub start_byte: u32,
    /// Where its text ends (exclusive).
    pub end_byte: u32,
}

/// One file as [`created_defs`] reads it.
pub struct DefsFile<'a> {
    /// Repo-relative path.
    pub path: &'a str,
    /// Its language (separator, block ids).
    pub language: Language,
    /// Its text: the text the index describes.
    pub text: &'a str,
    /// The file's module path (`crate::visit`).
    pub module: &'a str,
    /// The file's function and method blocks from tree-sitter.
    pub funcs: &'a [Func],
}

/// Id of a created block: hashed like an item's id (language, path,
/// qualified name, kind, ordinal among created blocks of the same name
/// and kind in the file) under its own domain, so it never equals the id
/// of a block tree-sitter makes.
pub fn created_id(
    language: Language,
    path: &str,
    qualified: &str,
    kind: ItemKind,
    ordinal: u32,
) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest precise definition v1")
        .field(language.name().as_bytes())
        .field(path.as_bytes())
        .field(qualified.as_bytes())
        .field(kind.name().as_bytes())
        .number(u64::from(ordinal))
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Byte offsets of the start of each line of `text` (as `str::lines`
/// splits it).
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
    starts
}

/// The byte range of (line, start, end line, end) in `text`.
fn byte_range(
    text: &str,
    starts: &[usize],
    lines: &[&str],
    range: (u32, u32, u32, u32),
    document: &ScipDocument,
) -> Option<(usize, usize)> {
    let at = |line: u32, column: u32| -> Option<usize> {
        let offset = byte_offset(lines.get(line as usize)?, column, document.columns)?;
        Some(starts.get(line as usize)? + offset)
    };
    let (start, end) = (at(range.0, range.1)?, at(range.2, range.3)?);
    (start <= end && end <= text.len()).then_some((start, end))
}

/// Where a document defines functions, sorted: an enclosing range that
/// holds another function's definition is not this function's own
/// (rust-analyzer gives every function a macro invocation generates the
/// whole invocation), so the block takes its name's range instead.
struct FunctionSites(Vec<(u32, u32)>);

impl FunctionSites {
    fn of(index: &ScipIndex, document: &ScipDocument) -> Self {
        let mut sites: Vec<(u32, u32)> = document
            .occurrences
            .iter()
            .filter(|o| o.definition)
            .filter(|o| {
                let symbol = index.symbols.get(o.symbol as usize);
                symbol.is_some_and(|s| simple_name(s).is_some())
            })
            .map(|o| (o.line, o.start))
            .collect();
        sites.sort_unstable();
        Self(sites)
    }

    /// How many function definitions start inside `range`.
    fn holds(&self, range: (u32, u32, u32, u32)) -> usize {
        let from = self.0.partition_point(|&site| site < (range.0, range.1));
        let to = self.0.partition_point(|&site| site <= (range.2, range.3));
        to.saturating_sub(from)
    }
}

/// The created blocks of `file`, whose document in `index` is
/// `document` (applied: the file still has the text the index was made
/// of). One per function symbol defined here with no function block of
/// its name around any of its definitions in this file (a TypeScript
/// overload's signatures have none, its implementation has one), at the
/// symbol's first definition.
pub fn created_defs(
    index: &ScipIndex,
    document: &ScipDocument,
    file: &DefsFile,
) -> Vec<CreatedDef> {
    // Definition occurrences by symbol, in order of first definition.
    let mut order: Vec<u32> = Vec::new();
    let mut sites: HashMap<u32, Vec<usize>> = HashMap::new();
    for (at, occurrence) in document.occurrences.iter().enumerate() {
        if !occurrence.definition {
            continue;
        }
        let entry = sites.entry(occurrence.symbol).or_default();
        if entry.is_empty() {
            order.push(occurrence.symbol);
        }
        entry.push(at);
    }
    let function_sites = FunctionSites::of(index, document);
    let holds = |range| function_sites.holds(range);
    let lines: Vec<&str> = file.text.lines().collect();
    let starts = line_starts(file.text);
    let separator = file.language.scope_rules().separator;
    let mut ordinals: HashMap<(String, ItemKind), u32> = HashMap::new();
    let mut created = Vec::new();
    for symbol in order {
        let Some(text) = index.symbols.get(symbol as usize) else {
            continue;
        };
        let (Some(name), Some((path, is_method))) =
            (simple_name(text), local_path(text, separator))
        else {
            continue;
        };
        let at = sites.get(&symbol).map_or(&[][..], Vec::as_slice);
        let occurrences = at.iter().filter_map(|&n| document.occurrences.get(n));
        let has_block = occurrences
            .clone()
            .any(|o| innermost(file.funcs, o.line + 1, Some(name)).is_some());
        let Some((&first, occurrence)) = at.first().zip(occurrences.clone().next()) else {
            continue;
        };
        if has_block {
            continue;
        }
        let own = (
            occurrence.line,
            occurrence.start,
            occurrence.end_line,
            occurrence.end,
        );
        let own_sites = |range: (u32, u32, u32, u32)| {
            let inside = |o: &&super::scip_index::Occurrence| {
                (range.0, range.1) <= (o.line, o.start) && (o.line, o.start) <= (range.2, range.3)
            };
            occurrences.clone().filter(inside).count()
        };
        let whole = document
            .enclosing
            .get(&(first as u32))
            .copied()
            .filter(|&whole| holds(whole) <= own_sites(whole));
        let Some((range, (start_byte, end_byte))) = whole
            .and_then(|whole| {
                Some((
                    whole,
                    byte_range(file.text, &starts, &lines, whole, document)?,
                ))
            })
            .or_else(|| Some((own, byte_range(file.text, &starts, &lines, own, document)?)))
        else {
            continue;
        };
        let kind = if is_method {
            ItemKind::Method
        } else {
            ItemKind::Function
        };
        let qualified = if file.module.is_empty() {
            path
        } else {
            format!("{}{separator}{path}", file.module)
        };
        // The stored form is one tab-separated line per block.
        if qualified.contains(char::is_control) {
            continue;
        }
        let ordinal = ordinals.entry((qualified.clone(), kind)).or_insert(0);
        let id = created_id(file.language, file.path, &qualified, kind, *ordinal);
        *ordinal += 1;
        created.push(CreatedDef {
            id,
            kind,
            name: name.to_string(),
            qualified,
            start_line: range.0 + 1,
            end_line: range.2 + 1,
            start_byte: start_byte as u32,
            end_byte: end_byte as u32,
        });
    }
    created
}

/// The function blocks of `created` as the call mapping sees them.
pub fn created_funcs(created: &[CreatedDef]) -> impl Iterator<Item = Func> + '_ {
    created.iter().map(|def| Func {
        id: def.id,
        name: def.name.clone(),
        start: def.start_line,
        end: def.end_line,
    })
}

/// A created block's metadata: an item's, then its origin.
#[derive(Serialize)]
struct CreatedMeta<'a> {
    #[serde(flatten)]
    meta: BlockMeta<'a>,
    origin: &'static str,
}

/// The block of `def`, a created definition of the file `path` whose
/// text is `text` (the text the index described).
pub fn created_block(
    path: &str,
    language: Language,
    text: &str,
    def: &CreatedDef,
) -> Result<ContextBlock, String> {
    let content = text
        .get(def.start_byte as usize..def.end_byte as usize)
        .unwrap_or("");
    // The line that names it (an enclosing range may start at its doc
    // comment), whitespace collapsed, as a signature reads.
    let bare = def.name.trim_start_matches('#');
    let first = content
        .lines()
        .find(|line| line.contains(bare))
        .or_else(|| content.lines().next())
        .unwrap_or("");
    let signature = first.split_whitespace().collect::<Vec<_>>().join(" ");
    let meta = CreatedMeta {
        meta: BlockMeta {
            kind: def.kind.name().into(),
            name: def.name.as_str().into(),
            qualified_name: def.qualified.as_str().into(),
            language: language.name().into(),
            path: path.into(),
            start_line: def.start_line,
            end_line: def.end_line,
            signature: crate::text::cut(&signature, MAX_SIGNATURE_BYTES).into(),
            doc: "".into(),
            syntax_errors: None,
        },
        origin: CREATED_ORIGIN,
    };
    let json = serde_json::to_string(&meta).map_err(|error| error.to_string())?;
    Ok(ContextBlock::new(def.id, path.to_string(), json, content))
}

/// True when a stored block is a created block.
pub fn is_created_block(metadata_json: &str) -> bool {
    metadata_json.ends_with(ORIGIN_SUFFIX)
}

/// The edges a created block has, as an item of its file: `contains`
/// from the file block, `defined_in` back, and its name-index edges.
pub fn created_edges(file_id: BlockId, created: &[CreatedDef], out: &mut Vec<GraphEdge>) {
    for def in created {
        out.push(GraphEdge::new(file_id, def.id, EdgeType::Contains));
        out.push(GraphEdge::new(def.id, file_id, EdgeType::DefinedIn));
    }
    let names = FileNames {
        file_id,
        module: String::new(),
        item_ids: created.iter().map(|def| def.id).collect(),
        qualified: created.iter().map(|def| def.qualified.clone()).collect(),
    };
    let mut edges = Vec::new();
    crate::name_index::file_edges("", &names, &mut edges);
    // The file's own keys are the file's business.
    out.extend(edges.into_iter().filter(|edge| edge.target != file_id));
}
