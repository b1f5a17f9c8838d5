//! `context`: what an agent needs to work on one symbol, packed into a
//! token budget (`budget.rs`): the symbol's source; the signatures and
//! first doc lines of its callers and callees, nearest first (depth 1
//! before depth 2, callers before callees at each depth); the types it
//! uses; and its file's outline. Greedy in that priority order: each
//! entry is taken if it still fits, so one large entry does not starve
//! the smaller ones after it; what did not fit is counted per section.
//!
//! Types: a method's own type (its `method_of` edge) first. Beyond it the
//! graph has no edge from a block to the types it mentions
//! (ingest writes no `references` edges), so the identifiers of the
//! symbol's signature, then of its body, are each looked up in the name
//! index (one edge lookup per distinct identifier, at most
//! [`MAX_TYPE_NAMES`]) and kept when they name a struct, enum, union,
//! trait, class, interface or type alias of the symbol's language; a
//! name several such blocks share keeps the one in the symbol's file if
//! there is one; a name more than [`MAX_TYPE_CANDIDATES`] types share
//! elsewhere (a generic parameter `G` matching type aliases all over)
//! adds none.

use std::collections::{HashSet, VecDeque};

use kausal_ingest::BlockMeta;
use kausal_storage::{BlockId, EdgeType, StorageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::budget::{Budget, DEFAULT_BUDGET, check_budget, fit_lines, tokens};
use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::names;
use crate::outline::{file_items, file_of, flatten};
use crate::reader::Reader;
use crate::resolve::{resolve_one, storage_error};

/// Deepest callers and callees `context` lists.
pub const CONTEXT_DEPTH: u32 = 2;
/// Most callers (and, apart, callees) `context` collects before packing.
pub const MAX_CONTEXT_NEIGHBOURS: usize = 1000;
/// Most distinct identifiers of a symbol looked up as types.
pub const MAX_TYPE_NAMES: usize = 256;
/// Most blocks one identifier may add as types; a name more share adds none.
pub const MAX_TYPE_CANDIDATES: usize = 3;

/// Kinds that are types.
const TYPE_KINDS: &[&str] = &[
    "struct",
    "enum",
    "union",
    "trait",
    "class",
    "interface",
    "type_alias",
];

/// Arguments of `context`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ContextArgs {
    /// A name, a qualified-name suffix, a file path, or a block id.
    pub name: String,
    /// Tokens to fill (1 to 100,000; a token counted as 4 bytes of text,
    /// rounded up).
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
    #[serde(default = "default_budget")]
    pub budget: usize,
}

fn default_budget() -> usize {
    DEFAULT_BUDGET
}

/// A caller, callee or type, as `context` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ContextEntry {
    /// The block.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// Its declaration up to the body (else `kind qualified_name`).
    pub signature: String,
    /// First line of its doc comment; empty when none.
    pub doc: String,
    /// Call edges from the symbol (callers: to it); 0 for types.
    pub depth: u32,
    /// What the entry cost: tokens of `"{location} {signature}\n{doc}"`.
    pub tokens: usize,
}

/// One line of the file's outline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OutlineLine {
    /// Nesting (0 for top-level items).
    pub level: usize,
    /// The item's kind.
    pub kind: String,
    /// The item's name.
    pub name: String,
    /// Its declaration up to the body (else `kind name`).
    pub signature: String,
    /// First line, 1-based.
    pub start_line: u64,
    /// Last line, 1-based, inclusive.
    pub end_line: u64,
    /// What the line cost: tokens of the signature indented by 2 spaces a level.
    pub tokens: usize,
}

/// Entries each section had but the budget (or a collection limit) left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct ContextOmitted {
    /// Callers left out.
    pub callers: usize,
    /// Callees left out.
    pub callees: usize,
    /// Types left out.
    pub types: usize,
    /// Outline lines left out.
    pub outline: usize,
}

/// The report of `context`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContextReport {
    /// The symbol.
    pub target: BlockInfo,
    /// Its declaration up to the body.
    pub signature: String,
    /// First line of its doc comment.
    pub doc: String,
    /// Its source, whole or cut at a line to fit the budget.
    pub source: String,
    /// The source was cut.
    pub source_truncated: bool,
    /// Callers, depth 1 then 2, each by path and line.
    pub callers: Vec<ContextEntry>,
    /// Callees, likewise.
    pub callees: Vec<ContextEntry>,
    /// Types its signature and body name.
    pub types: Vec<ContextEntry>,
    /// Its file's outline, in line order.
    pub outline: Vec<OutlineLine>,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens used: at most `budget`.
    pub used_tokens: usize,
    /// Entries left out, per section.
    pub omitted: ContextOmitted,
    /// Something was left out: the source was cut, an entry did not fit,
    /// or a section reached its collection limit.
    pub truncated: bool,
}

fn entry(view: &kausal_storage::BlockView<'_>, depth: u32) -> ContextEntry {
    let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
    let block = BlockInfo::from_meta(view, &meta);
    let signature = if meta.signature.is_empty() {
        format!("{} {}", block.kind, block.title())
    } else {
        meta.signature.into_owned()
    };
    let doc = meta.doc.into_owned();
    let tokens = tokens(&format!("{} {signature}\n{doc}", block.location()));
    ContextEntry {
        block,
        signature,
        doc,
        depth,
        tokens,
    }
}

fn is_call(edge_type: EdgeType) -> bool {
    matches!(
        edge_type,
        EdgeType::Calls | EdgeType::CallsMethod | EdgeType::CallsFunction
    )
}

/// Callers (`incoming`) or callees of `start` by depth, breadth first, at
/// most [`MAX_CONTEXT_NEIGHBOURS`]; whether the limit cut them.
fn neighbours(
    reader: &Reader,
    start: BlockId,
    incoming: bool,
) -> Result<(Vec<ContextEntry>, bool), StorageError> {
    let snapshot = reader.snapshot();
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, 0u32)]);
    let mut found = Vec::new();
    let mut cut = false;
    while let Some((id, depth)) = queue.pop_front() {
        if depth == CONTEXT_DEPTH {
            continue;
        }
        let edges = if incoming {
            snapshot.find_incoming_edges(id)?
        } else {
            snapshot.find_outgoing_edges(id)?
        };
        for edge in edges.into_iter().filter(|edge| is_call(edge.edge_type)) {
            let other = if incoming { edge.source } else { edge.target };
            if !seen.insert(other) {
                continue;
            }
            let Some(view) = snapshot.find_block(other)? else {
                continue;
            };
            if found.len() == MAX_CONTEXT_NEIGHBOURS {
                cut = true;
                break;
            }
            found.push(entry(&view, depth + 1));
            queue.push_back((other, depth + 1));
        }
    }
    found.sort_by(|a, b| {
        (a.depth, &a.block.path, a.block.start_line, &a.block.id).cmp(&(
            b.depth,
            &b.block.path,
            b.block.start_line,
            &b.block.id,
        ))
    });
    Ok((found, cut))
}

/// Distinct identifiers of `texts`, in order of first appearance.
pub(crate) fn identifiers<'t>(texts: &[&'t str]) -> Vec<&'t str> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for text in texts {
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            let starts_well = word
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_');
            if starts_well && seen.insert(word) {
                out.push(word);
            }
        }
    }
    out
}

/// The types the symbol's signature and body name (see the file's doc).
fn types(
    reader: &Reader,
    target: &BlockInfo,
    signature: &str,
    source: &str,
) -> Result<(Vec<ContextEntry>, bool), StorageError> {
    let names = identifiers(&[signature, source]);
    let cut = names.len() > MAX_TYPE_NAMES;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    // A method's own type comes first (`method_of`).
    let snapshot = reader.snapshot();
    let id = BlockId::parse_hex(&target.id).ok();
    for edge in id
        .map(|id| snapshot.find_outgoing_edges(id))
        .transpose()?
        .unwrap_or_default()
    {
        if edge.edge_type == EdgeType::MethodOf
            && let Some(view) = snapshot.find_block(edge.target)?
            && seen.insert(view.id.to_string())
        {
            found.push(entry(&view, 0));
        }
    }
    for name in names.into_iter().take(MAX_TYPE_NAMES) {
        if name == target.name {
            continue;
        }
        let mut candidates: Vec<ContextEntry> = names::exact_name(reader, name)?
            .iter()
            .map(|view| entry(view, 0))
            .filter(|found| {
                TYPE_KINDS.contains(&found.block.kind.as_str())
                    && found.block.language == target.language
                    && found.block.id != target.id
            })
            .collect();
        if candidates.iter().any(|c| c.block.path == target.path) {
            candidates.retain(|c| c.block.path == target.path);
        }
        candidates.sort_by(|a, b| {
            (&a.block.path, a.block.start_line).cmp(&(&b.block.path, b.block.start_line))
        });
        // A name more blocks share than that (a generic parameter `G`,
        // an associated `type Item`) says nothing about this symbol.
        if candidates.len() > MAX_TYPE_CANDIDATES {
            continue;
        }
        for candidate in candidates {
            if seen.insert(candidate.block.id.clone()) {
                found.push(candidate);
            }
        }
    }
    Ok((found, cut))
}

/// Takes the entries that fit, in order; returns them and how many did not.
pub(crate) fn pack<T>(
    budget: &mut Budget,
    entries: Vec<T>,
    cost: impl Fn(&T) -> usize,
) -> (Vec<T>, usize) {
    let total = entries.len();
    let taken: Vec<T> = entries
        .into_iter()
        .filter(|entry| budget.take(cost(entry)))
        .collect();
    let left_out = total - taken.len();
    (taken, left_out)
}

fn outline_lines(
    reader: &Reader,
    view: &kausal_storage::BlockView<'_>,
) -> Result<(Vec<OutlineLine>, bool), StorageError> {
    let Some(file) = file_of(reader, view)? else {
        return Ok((Vec::new(), false));
    };
    let (items, _, cut) = file_items(reader, file.id)?;
    let lines = flatten(&items)
        .into_iter()
        .map(|(level, item)| {
            let signature = if item.signature.is_empty() {
                format!("{} {}", item.kind, item.name)
            } else {
                item.signature.clone()
            };
            let tokens = tokens(&format!("{}{signature}", "  ".repeat(level)));
            OutlineLine {
                level,
                kind: item.kind.clone(),
                name: item.name.clone(),
                signature,
                start_line: item.start_line,
                end_line: item.end_line,
                tokens,
            }
        })
        .collect();
    Ok((lines, cut))
}

pub(crate) fn context(reader: &Reader, args: &ContextArgs) -> Result<ContextReport, ServiceError> {
    check_budget(args.budget)?;
    let db = reader.dir();
    let view = resolve_one(reader, &args.name)?;
    let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
    let target = BlockInfo::from_meta(&view, &meta);
    let read = |error| storage_error(db)(error);
    let (callers, callers_cut) = neighbours(reader, view.id, true).map_err(read)?;
    let (callees, callees_cut) = neighbours(reader, view.id, false).map_err(read)?;
    let (types, types_cut) = types(reader, &target, &meta.signature, view.content).map_err(read)?;
    let (outline, outline_cut) = outline_lines(reader, &view).map_err(read)?;

    let mut budget = Budget::new(args.budget);
    let source = fit_lines(view.content, budget.left());
    let source_truncated = source.len() < view.content.len();
    budget.take(tokens(source));
    // Nearest first: callers and callees of depth 1, then of depth 2.
    let split = |entries: Vec<ContextEntry>| -> (Vec<ContextEntry>, Vec<ContextEntry>) {
        entries.into_iter().partition(|entry| entry.depth == 1)
    };
    let (callers_near, callers_far) = split(callers);
    let (callees_near, callees_far) = split(callees);
    let cost = |entry: &ContextEntry| entry.tokens;
    let (mut callers, callers_out_near) = pack(&mut budget, callers_near, cost);
    let (mut callees, callees_out_near) = pack(&mut budget, callees_near, cost);
    let (far, callers_out_far) = pack(&mut budget, callers_far, cost);
    callers.extend(far);
    let (far, callees_out_far) = pack(&mut budget, callees_far, cost);
    callees.extend(far);
    let (types, types_out) = pack(&mut budget, types, cost);
    let (outline, outline_out) = pack(&mut budget, outline, |line| line.tokens);
    let omitted = ContextOmitted {
        callers: callers_out_near + callers_out_far,
        callees: callees_out_near + callees_out_far,
        types: types_out,
        outline: outline_out,
    };
    let truncated = source_truncated
        || omitted != ContextOmitted::default()
        || callers_cut
        || callees_cut
        || types_cut
        || outline_cut;
    Ok(ContextReport {
        target,
        signature: meta.signature.into_owned(),
        doc: meta.doc.into_owned(),
        source: source.to_string(),
        source_truncated,
        callers,
        callees,
        types,
        outline,
        budget: args.budget,
        used_tokens: budget.used(),
        omitted,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_priority_order_and_the_budget_exactly() {
        let mut budget = Budget::new(10);
        let (taken, left_out) = pack(&mut budget, vec![4, 7, 3, 3, 1], |cost| *cost);
        // 4 fits, 7 does not (11), 3 fits (7), 3 fits (10), 1 does not (11).
        assert_eq!(taken, [4, 3, 3]);
        assert_eq!(left_out, 2);
        assert_eq!(budget.used(), 10);
        // A later section gets only what is left, however small its items.
        let (taken, left_out) = pack(&mut budget, vec![1, 1], |cost| *cost);
        assert!(taken.is_empty());
        assert_eq!(left_out, 2);
    }

    #[test]
    fn packing_is_deterministic() {
        let entries: Vec<usize> = (0..50).map(|i| (i * 7919) % 13 + 1).collect();
        let run = || {
            let mut budget = Budget::new(97);
            let taken = pack(&mut budget, entries.clone(), |cost| *cost);
            (taken, budget.used())
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.1 <= 97);
        // Exactly the greedy choice: each entry taken iff it fit when offered.
        let mut used = 0;
        let mut expected = Vec::new();
        for cost in &entries {
            if used + cost <= 97 {
                used += cost;
                expected.push(*cost);
            }
        }
        assert_eq!((first.0.0, first.1), (expected, used));
    }

    #[test]
    fn identifiers_are_distinct_in_first_appearance_order() {
        assert_eq!(
            identifiers(&["fn parse(t: &Token) -> Tree", "Tree::new(t, 1u8, _x)"]),
            ["fn", "parse", "t", "Token", "Tree", "new", "_x"]
        );
    }
}
