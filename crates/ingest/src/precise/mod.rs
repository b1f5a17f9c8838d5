//! Precise mode: call edges from a SCIP index (`rust-analyzer scip`,
//! `scip-typescript`, `scip-python`), merged into the heuristic graph.
//!
//! [`PreciseIndex::decode`] reads and checks an index before anything is
//! written; [`crate::Ingester::ingest_precise`] ingests the tree as usual
//! and, for each file the index covers and still describes, stores the
//! index's call edges ([`stored`]) and uses them in place of the
//! heuristic call edges of that file (provenance `precise`). Files the
//! index does not cover keep their heuristic edges; so do files edited
//! since: a file whose modification time is not older than the index, or
//! whose text no longer has the index's definitions where the index says
//! (`stale`). Once stored, a file's precise edges hold while its content
//! hash is the one they were computed for; an edit falls back to the
//! heuristic edges until the next index.

pub mod calls;
pub mod defs;
pub mod scip_index;
pub mod stored;
pub mod symbol;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use kausal_storage::GraphEdge;
use serde::Serialize;

use crate::language::Language;
use crate::naming::FileNames;
use crate::summary::{ItemKind, Summary};
use calls::{Func, TreeFile, map_calls, simple_name};
use defs::{CreatedDef, DefsFile, created_defs, created_funcs};
use scip_index::{ScipDocument, ScipIndex};
use stored::PreciseFile;

pub use scip_index::MAX_SCIP_BYTES;

/// Why a SCIP index cannot be used. Nothing is written when this is
/// returned.
#[derive(Debug, thiserror::Error)]
pub enum PreciseError {
    /// The file does not decode as a SCIP index, or breaks one of its
    /// rules (a range that ends before it starts, a path out of the tree).
    #[error("{path} is not a usable SCIP index: {reason}")]
    Corrupt {
        /// Where the index was read from.
        path: String,
        /// What is wrong, and where in the index.
        reason: String,
    },
}

/// A decoded, checked SCIP index, ready to merge.
#[derive(Debug, Clone)]
pub struct PreciseIndex {
    origin: String,
    /// Wall clock (ns since the epoch) when the indexer ran: files
    /// modified since are not described by it. `None`: unknown (only the
    /// text check applies).
    indexed_at_ns: Option<u64>,
    index: ScipIndex,
}

impl PreciseIndex {
    /// Decodes `bytes`, an index read from `origin`, made by an indexer
    /// that ran at `indexed_at_ns` (for a file, its modification time).
    pub fn decode(
        bytes: &[u8],
        origin: &str,
        indexed_at_ns: Option<u64>,
    ) -> Result<Self, PreciseError> {
        Ok(Self {
            origin: origin.to_string(),
            indexed_at_ns,
            index: ScipIndex::decode(bytes, origin)?,
        })
    }

    /// Where the index was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The indexer's name and version.
    pub fn tool(&self) -> &str {
        &self.index.tool
    }

    /// Documents (source files) the index covers.
    pub fn documents(&self) -> usize {
        self.index.documents.len()
    }

    /// Occurrences (symbol mentions) in all documents.
    pub fn occurrences(&self) -> u64 {
        self.index.occurrences
    }

    /// The paths of the documents, in the index's order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.index.documents.iter().map(|d| d.path.as_str())
    }
}

/// A document of an index that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedDocument {
    /// The document's path.
    pub path: String,
    /// Why it was not applied.
    pub reason: String,
}

/// What the precise part of one ingest did, and what the graph holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PreciseReport {
    /// The indexes merged this time (`rust-analyzer 1.95.0 (index.scip)`).
    pub indexes: Vec<String>,
    /// Occurrences in the indexes merged this time.
    pub occurrences: u64,
    /// Files whose precise edges were computed this time.
    pub applied: u64,
    /// Documents not applied: the file changed after the index was made
    /// (its heuristic edges stay).
    pub rejected: Vec<RejectedDocument>,
    /// Documents of files the ingest does not hold (ignored, skipped,
    /// generated outside the tree).
    pub outside_tree: u64,
    /// Calls of the index whose callee is a function the tree has no block
    /// for, or outside any function.
    pub unmapped: u64,
    /// Function and method blocks in the graph after this ingest that the
    /// merges created for definitions tree-sitter makes no block for
    /// (`precise::defs`; metadata `"origin":"precise"`).
    pub blocks: u64,
    /// Files with precise edges in the graph after this ingest.
    pub files: u64,
    /// Of those, files edited since their index: heuristic edges are used
    /// until the next index.
    pub stale: u64,
    /// Precise call edges in the graph after this ingest.
    pub edges: u64,
    /// Wall time of mapping the indexes onto the tree.
    #[serde(skip)]
    pub merge: Duration,
}

/// One file of the tree as the merge sees it.
pub(crate) struct MergeFile<'a> {
    pub path: &'a str,
    pub language: Language,
    pub text: &'a str,
    pub mtime_ns: u64,
    pub content_hash: u128,
    pub summary: &'a Summary,
    pub names: &'a FileNames,
}

/// The function and method blocks of a file.
fn functions(summary: &Summary, names: &FileNames) -> Vec<Func> {
    summary
        .items
        .iter()
        .zip(&names.item_ids)
        .filter(|(item, _)| matches!(item.kind, ItemKind::Function | ItemKind::Method))
        .map(|(item, &id)| Func {
            id,
            name: item.name.clone(),
            start: item.start_line,
            end: item.end_line,
        })
        .collect()
}

/// Why `document` does not describe `file` any more, if it does not: the
/// file was modified at or after the index was made, or an occurrence
/// lies outside its text, or a function's definition does not spell the
/// function's name.
fn stale_reason(index: &PreciseIndex, document: &ScipDocument, file: &MergeFile) -> Option<String> {
    if let Some(at) = index.indexed_at_ns
        && file.mtime_ns >= at
    {
        return Some(format!(
            "modified after the index {} was made",
            index.origin
        ));
    }
    let lines: Vec<&str> = file.text.lines().collect();
    for occurrence in &document.occurrences {
        let spelled = lines.get(occurrence.line as usize).and_then(|line| {
            let start = calls::byte_offset(line, occurrence.start, document.columns)?;
            let end = if occurrence.end_line == occurrence.line {
                calls::byte_offset(line, occurrence.end, document.columns)?
            } else {
                line.len()
            };
            line.get(start..end)
        });
        // An empty file's module definition sits at 1:1 (scip-python).
        let empty_at_start = occurrence.line == 0 && occurrence.end == 0 && lines.is_empty();
        let Some(spelled) = spelled.or(empty_at_start.then_some("")) else {
            return Some(format!(
                "the index has a symbol at {}:{}:{} past the end of the file's text",
                document.path,
                occurrence.line + 1,
                occurrence.start + 1
            ));
        };
        if !occurrence.definition {
            continue;
        }
        let symbol = index.index.symbols.get(occurrence.symbol as usize);
        // A private method's range may or may not take in its `#`.
        if let Some(name) = symbol.and_then(|s| simple_name(s))
            && name != "constructor"
            && spelled.trim_start_matches('#') != name.trim_start_matches('#')
        {
            return Some(format!(
                "the index defines {name} at {}:{}, where the file now has {spelled:?}",
                document.path,
                occurrence.line + 1
            ));
        }
    }
    None
}

/// The precise calls `indexes` give for the files of `tree`: for each
/// file an index covers and still describes, its edges and the blocks
/// created for its definitions that have none ([`defs`]); the rest
/// counted in `report`. A file covered by several indexes takes the last.
pub(crate) fn merge(
    indexes: &[PreciseIndex],
    tree: &[MergeFile],
    report: &mut PreciseReport,
) -> Vec<(String, PreciseFile)> {
    let started = std::time::Instant::now();
    let funcs: Vec<Vec<Func>> = tree
        .iter()
        .map(|file| functions(file.summary, file.names))
        .collect();
    let by_path: HashMap<&str, usize> = tree
        .iter()
        .enumerate()
        .map(|(n, file)| (file.path, n))
        .collect();
    let mut merged: BTreeMap<String, PreciseFile> = BTreeMap::new();
    for index in indexes {
        report
            .indexes
            .push(format!("{} ({})", index.tool(), index.origin));
        report.occurrences += index.occurrences();
        // The documents that still describe their files, each with the
        // blocks its definitions need.
        let mut applied: HashMap<&str, Vec<CreatedDef>> = HashMap::new();
        for document in &index.index.documents {
            let Some(&n) = by_path.get(document.path.as_str()) else {
                report.outside_tree += 1;
                continue;
            };
            let (Some(file), Some(file_funcs)) = (tree.get(n), funcs.get(n)) else {
                continue;
            };
            if let Some(reason) = stale_reason(index, document, file) {
                report.rejected.push(RejectedDocument {
                    path: document.path.clone(),
                    reason,
                });
                continue;
            }
            let view = DefsFile {
                path: file.path,
                language: file.language,
                text: file.text,
                module: &file.names.module,
                funcs: file_funcs,
            };
            applied.insert(file.path, created_defs(&index.index, document, &view));
        }
        // Calls map onto the created blocks like onto any other.
        let extended: Vec<Vec<Func>> = tree
            .iter()
            .zip(&funcs)
            .map(|(file, funcs)| match applied.get(file.path) {
                Some(created) if !created.is_empty() => funcs
                    .iter()
                    .cloned()
                    .chain(created_funcs(created))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let view: HashMap<&str, TreeFile> = tree
            .iter()
            .zip(funcs.iter().zip(&extended))
            .map(|(file, (funcs, extended))| {
                let funcs = if extended.is_empty() { funcs } else { extended };
                (
                    file.path,
                    TreeFile {
                        text: file.text,
                        funcs,
                    },
                )
            })
            .collect();
        let mapped = map_calls(&index.index, &view, |document| {
            applied.contains_key(document.path.as_str())
        });
        report.unmapped += mapped.unmapped + mapped.top_level;
        for (path, calls) in mapped.by_file {
            let Some(file) = by_path.get(path.as_str()).and_then(|&n| tree.get(n)) else {
                continue;
            };
            let mut edges: Vec<GraphEdge> = calls.iter().map(|call| call.edge).collect();
            edges.sort();
            edges.dedup();
            let precise = PreciseFile {
                content_hash: file.content_hash,
                tool: index.tool().to_string(),
                edges,
                defs: applied.remove(file.path).unwrap_or_default(),
            };
            merged.insert(path, precise);
        }
    }
    report.applied = merged.len() as u64;
    report.merge = started.elapsed();
    merged.into_iter().collect()
}
