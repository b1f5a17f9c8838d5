//! `impact`: what a change can break. From the symbols named (a NAME; a
//! file PATH: every item it defines and the file itself; `PATH:LINE` or
//! `PATH:START-END`: the items those lines touch) or the symbols a
//! unified diff touches (`diff.rs`), everything that reaches them through
//! incoming `calls`, `calls_method`, `calls_function` and `imports` edges
//! (and `calls_candidate` with `candidates`), up to a depth, grouped by
//! distance, with the tests among them (`testcode.rs`) listed apart.
//!
//! Lines to symbols: the items of the file (its outline) whose line range
//! intersects a changed line, innermost only (a method, not also its impl
//! or class); the file block itself when no item does (top-level code).
//! A hunk that only removes lines is placed between the new-side lines
//! around the removal, and maps to the innermost item containing both:
//! right when the database is at the diff's new side (ingested after the
//! edit, or `serve --watch`). A deleted file maps its removed (old-side)
//! lines to the blocks the database still has for its path (ingested
//! before the deletion); a file the database does not have is listed with
//! `ingested` false. A rename without hunks seeds the file block.

use std::collections::BTreeMap;

use kausal_ingest::BlockMeta;
use kausal_query::{Direction, EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::{BlockId, BlockView, EdgeType, StorageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{FileDiff, parse_diff};
use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::names;
use crate::outline::{OutlineItem, file_items, flatten};
use crate::reader::Reader;
use crate::resolve::{query_error, resolve_one, storage_error};
use crate::testcode::TestDetector;

/// Default `impact --depth`.
pub const DEFAULT_IMPACT_DEPTH: u32 = 3;
/// Deepest `impact --depth`.
pub const MAX_IMPACT_DEPTH: u32 = 10;
/// Most blocks `impact` lists beyond the changed ones (then `truncated`).
pub const MAX_IMPACT_RESULTS: usize = 2000;
/// Most changed symbols one `impact` starts from.
pub const MAX_IMPACT_TARGETS: usize = 5000;

/// Arguments of `impact`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ImpactArgs {
    /// What changed: a NAME (or qualified-name suffix, or block id), a
    /// file PATH (every item it defines), or `PATH:LINE` /
    /// `PATH:START-END` (the items those lines touch). Omit with a diff.
    #[serde(default)]
    pub target: Option<String>,
    /// Edges to follow back from the changed symbols (1 to 10).
    #[arg(long, default_value_t = DEFAULT_IMPACT_DEPTH)]
    #[serde(default = "default_depth")]
    pub depth: u32,
    /// Also follow `calls_candidate` edges (calls with a few possible targets).
    #[arg(long)]
    #[serde(default)]
    pub candidates: bool,
    /// Read a unified diff (`git diff`) on stdin and start from the
    /// symbols its changed lines touch.
    #[arg(long = "diff")]
    #[serde(skip)]
    pub diff_stdin: bool,
    /// A unified diff (`git diff` output, at most 1 MiB): start from the
    /// symbols its changed lines touch instead of `target`.
    #[arg(skip)]
    #[serde(default)]
    pub diff: Option<String>,
}

fn default_depth() -> u32 {
    DEFAULT_IMPACT_DEPTH
}

/// A block `impact` lists.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImpactBlock {
    /// The block.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// Edges from it to a changed symbol (0 for a changed symbol).
    pub distance: u32,
    /// The edge type by which it reaches the block in `from`; null for a
    /// changed symbol.
    pub via: Option<String>,
    /// Id of the block one step nearer the change; null for a changed symbol.
    pub from: Option<String>,
    /// The rule that makes it a test (`rust_test_attribute`,
    /// `python_test_function`, ...; docs/CLI.md); absent when it is not one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_rule: Option<String>,
}

/// The blocks at one distance.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImpactLevel {
    /// Edges to the nearest changed symbol.
    pub distance: u32,
    /// The blocks, by path and line.
    pub blocks: Vec<ImpactBlock>,
}

/// Lines `start` to `end`, 1-based, inclusive.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
pub struct LineRange {
    /// First line.
    pub start: u32,
    /// Last line.
    pub end: u32,
}

/// One file of a diff, as `impact --diff` read it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffFile {
    /// The path after the change (before it, for a deleted file).
    pub path: String,
    /// The path before, when the file was renamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// `modified`, `added`, `deleted`, `renamed` or `binary`.
    pub status: String,
    /// The database has the file (else nothing in it can be found).
    pub ingested: bool,
    /// Lines added (new side; old side for a deleted file), as ranges.
    pub changed_lines: Vec<LineRange>,
    /// New-side lines before which lines were only removed.
    pub removed_before: Vec<u32>,
    /// Changed symbols found in it.
    pub symbols: usize,
}

/// The report of `impact`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ImpactReport {
    /// The changed symbols the walk started from.
    pub targets: Vec<ImpactBlock>,
    /// The depth asked for.
    pub depth: u32,
    /// Edge types followed back.
    pub edges: Vec<String>,
    /// What reaches the changed symbols, nearest first.
    pub levels: Vec<ImpactLevel>,
    /// The tests among the changed symbols and what reaches them, nearest
    /// first (each is also in `targets` or `levels`).
    pub tests: Vec<ImpactBlock>,
    /// Blocks in `levels`.
    pub total: usize,
    /// More than 2,000 blocks reach the change: the farthest are left out.
    pub truncated: bool,
    /// The diff's files (with a diff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Vec<DiffFile>>,
}

/// `src/a.rs:10-20` -> (`src/a.rs`, 10..=20); `parse` -> (`parse`, none).
pub(crate) fn split_target(text: &str) -> Result<(&str, Option<LineRange>), ServiceError> {
    let Some((name, lines)) = text.rsplit_once(':') else {
        return Ok((text, None));
    };
    if lines.is_empty() || !lines.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Ok((text, None));
    }
    let bad = || {
        ServiceError::Usage(format!(
            "{text:?}: a line range is LINE or START-END, 1-based"
        ))
    };
    let (start, end) = match lines.split_once('-') {
        Some((start, end)) => (
            start.parse().map_err(|_| bad())?,
            end.parse().map_err(|_| bad())?,
        ),
        None => {
            let line = lines.parse().map_err(|_| bad())?;
            (line, line)
        }
    };
    if start == 0 || end < start {
        return Err(bad());
    }
    Ok((name, Some(LineRange { start, end })))
}

/// What a changed span must do to an item's lines to touch it.
#[derive(Debug, Clone, Copy)]
enum Touch {
    /// Share a line (changed lines).
    Intersect(LineRange),
    /// Hold both lines (the two around a removal).
    Contain(LineRange),
}

/// The ids of the innermost items of `flat` the spans touch, and whether
/// a span touches no item (top-level code: the file is the changed symbol).
fn touched(flat: &[(usize, &OutlineItem)], spans: &[Touch]) -> (Vec<String>, bool) {
    let mut ids = Vec::new();
    let mut top_level = false;
    for span in spans {
        let hits = |item: &OutlineItem| match *span {
            Touch::Intersect(LineRange { start, end }) => {
                item.start_line <= u64::from(end) && item.end_line >= u64::from(start)
            }
            Touch::Contain(LineRange { start, end }) => {
                item.start_line <= u64::from(start) && item.end_line >= u64::from(end)
            }
        };
        let mut any = false;
        for (index, (level, item)) in flat.iter().enumerate() {
            if !hits(item) {
                continue;
            }
            any = true;
            // Pre-order: its descendants follow it, deeper, until a line
            // at its level or above.
            let inner = flat[index + 1..]
                .iter()
                .take_while(|(deeper, _)| deeper > level)
                .any(|(_, child)| hits(child));
            if !inner && !ids.contains(&item.id) {
                ids.push(item.id.clone());
            }
        }
        top_level |= !any;
    }
    (ids, top_level)
}

/// The file block stored for `path`, if the database has the file.
fn file_block<'e>(reader: &'e Reader, path: &str) -> Result<Option<BlockView<'e>>, StorageError> {
    let matches = names::matches(reader, path)?;
    Ok(matches.blocks.into_iter().find(|view| {
        let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
        meta.is_file() && meta.path == path
    }))
}

/// The changed symbols of `file` for `spans` (all items and the file when
/// `spans` is `None`).
fn file_seeds(
    reader: &Reader,
    file: &BlockView<'_>,
    spans: Option<&[Touch]>,
) -> Result<Vec<BlockId>, StorageError> {
    let (items, _, _) = file_items(reader, file.id)?;
    let flat = flatten(&items);
    let (ids, top_level) = match spans {
        Some(spans) => touched(&flat, spans),
        None => (flat.iter().map(|(_, item)| item.id.clone()).collect(), true),
    };
    let mut seeds: Vec<BlockId> = ids
        .iter()
        .filter_map(|id| BlockId::parse_hex(id).ok())
        .collect();
    if top_level {
        seeds.insert(0, file.id);
    }
    Ok(seeds)
}

/// Consecutive numbers as ranges: `[1, 2, 3, 7]` -> `1-3, 7-7`.
fn ranges(lines: &[u32]) -> Vec<LineRange> {
    let mut out: Vec<LineRange> = Vec::new();
    for &line in lines {
        match out.last_mut() {
            Some(last) if last.end.checked_add(1) == Some(line) => last.end = line,
            _ => out.push(LineRange {
                start: line,
                end: line,
            }),
        }
    }
    out
}

/// The changed symbols of a diff, and what it said of each file.
fn diff_seeds(reader: &Reader, text: &str) -> Result<(Vec<BlockId>, Vec<DiffFile>), ServiceError> {
    let db = reader.dir();
    let files =
        parse_diff(text).map_err(|error| ServiceError::Usage(format!("--diff: {error}")))?;
    let mut seeds = Vec::new();
    let mut report = Vec::new();
    for file in &files {
        let (status, path, lines, removals) = describe(file);
        let view = file_block(reader, path).map_err(storage_error(db))?;
        let spans: Vec<Touch> = lines
            .iter()
            .map(|range| Touch::Intersect(*range))
            .chain(removals.iter().map(|&point| {
                Touch::Contain(LineRange {
                    start: point.saturating_sub(1).max(1),
                    end: point.max(1),
                })
            }))
            .collect();
        let found = match &view {
            Some(view) if status == "renamed" && spans.is_empty() => vec![view.id],
            Some(view) if !spans.is_empty() => {
                file_seeds(reader, view, Some(&spans)).map_err(storage_error(db))?
            }
            _ => Vec::new(),
        };
        report.push(DiffFile {
            path: path.to_string(),
            old_path: (status == "renamed")
                .then(|| file.old_path.clone())
                .flatten(),
            status: status.to_string(),
            ingested: view.is_some(),
            changed_lines: lines,
            removed_before: removals,
            symbols: found.len(),
        });
        seeds.extend(found);
    }
    Ok((seeds, report))
}

/// A file's status, the path to look up, its changed line ranges and its
/// removal points.
fn describe(file: &FileDiff) -> (&'static str, &str, Vec<LineRange>, Vec<u32>) {
    if file.binary {
        return ("binary", file.path(), Vec::new(), Vec::new());
    }
    match (&file.old_path, &file.new_path) {
        (None, _) => ("added", file.path(), ranges(&file.added), Vec::new()),
        (Some(old), None) => ("deleted", old, ranges(&file.removed), Vec::new()),
        (Some(old), Some(new)) => (
            if old == new { "modified" } else { "renamed" },
            new,
            ranges(&file.added),
            file.removal_points.clone(),
        ),
    }
}

/// The changed symbols `target` names.
fn target_seeds(reader: &Reader, target: &str) -> Result<Vec<BlockId>, ServiceError> {
    let db = reader.dir();
    let (name, lines) = split_target(target)?;
    let view = resolve_one(reader, name)?;
    let is_file = BlockMeta::parse(view.metadata_json).is_some_and(|meta| meta.is_file());
    match (lines, is_file) {
        (None, false) => Ok(vec![view.id]),
        (None, true) => file_seeds(reader, &view, None).map_err(storage_error(db)),
        (Some(range), true) => {
            file_seeds(reader, &view, Some(&[Touch::Intersect(range)])).map_err(storage_error(db))
        }
        (Some(_), false) => Err(ServiceError::Usage(format!(
            "{target:?}: a line range needs a file path ({name} is a {})",
            BlockInfo::from_view(&view).kind
        ))),
    }
}

/// The edge types `impact` follows back.
fn impact_edges(candidates: bool) -> Vec<EdgeType> {
    let mut types = vec![
        EdgeType::Calls,
        EdgeType::CallsMethod,
        EdgeType::CallsFunction,
        EdgeType::Imports,
    ];
    if candidates {
        types.push(EdgeType::CallsCandidate);
    }
    types
}

pub(crate) fn impact(reader: &Reader, args: &ImpactArgs) -> Result<ImpactReport, ServiceError> {
    let db = reader.dir();
    if args.depth == 0 || args.depth > MAX_IMPACT_DEPTH {
        return Err(ServiceError::Usage(format!(
            "--depth must be between 1 and {MAX_IMPACT_DEPTH}"
        )));
    }
    let (mut seeds, diff) = match (&args.target, &args.diff) {
        (Some(target), None) => (target_seeds(reader, target)?, None),
        (None, Some(text)) => {
            let (seeds, files) = diff_seeds(reader, text)?;
            (seeds, Some(files))
        }
        _ => {
            return Err(ServiceError::Usage(
                "impact takes a NAME, PATH or PATH:LINE[-LINE], or --diff, not both".into(),
            ));
        }
    };
    let mut unique = std::collections::HashSet::new();
    seeds.retain(|id| unique.insert(*id));
    if seeds.len() > MAX_IMPACT_TARGETS {
        return Err(ServiceError::Usage(format!(
            "the change touches {} symbols, over the limit of {MAX_IMPACT_TARGETS} (MAX_IMPACT_TARGETS)",
            seeds.len()
        )));
    }
    let types = impact_edges(args.candidates);
    let traversal = Traversal::new(seeds.clone())
        .direction(Direction::Incoming)
        .edge_types(EdgeTypeSet::of(&types))
        .max_depth(args.depth)
        .max_results(seeds.len() + MAX_IMPACT_RESULTS);
    let engine = QueryEngine::new(reader.snapshot());
    let result = if seeds.is_empty() {
        None
    } else {
        Some(engine.traverse(&traversal).map_err(query_error(db))?)
    };
    let mut detector = TestDetector::new(reader);
    let mut targets = Vec::new();
    let mut by_distance: BTreeMap<u32, Vec<ImpactBlock>> = BTreeMap::new();
    for node in result.iter().flat_map(|result| result.nodes.iter()) {
        let meta = BlockMeta::parse(node.block.metadata_json).unwrap_or_default();
        let test_rule = detector
            .rule(node.block.id, &meta)
            .map_err(storage_error(db))?
            .map(str::to_string);
        let from = node
            .parent
            .and_then(|parent| result.as_ref().and_then(|r| r.nodes.get(parent)));
        let block = ImpactBlock {
            block: BlockInfo::from_meta(&node.block, &meta),
            distance: node.depth,
            via: node.via.map(|edge| edge.edge_type.name().to_string()),
            from: from.map(|parent| parent.block.id.to_string()),
            test_rule,
        };
        if node.depth == 0 {
            targets.push(block);
        } else {
            by_distance.entry(node.depth).or_default().push(block);
        }
    }
    let order = |a: &ImpactBlock, b: &ImpactBlock| {
        (a.distance, &a.block.path, a.block.start_line, &a.block.id).cmp(&(
            b.distance,
            &b.block.path,
            b.block.start_line,
            &b.block.id,
        ))
    };
    targets.sort_by(order);
    let levels: Vec<ImpactLevel> = by_distance
        .into_iter()
        .map(|(distance, mut blocks)| {
            blocks.sort_by(order);
            ImpactLevel { distance, blocks }
        })
        .collect();
    let tests: Vec<ImpactBlock> = targets
        .iter()
        .chain(levels.iter().flat_map(|level| level.blocks.iter()))
        .filter(|block| block.test_rule.is_some())
        .cloned()
        .collect();
    Ok(ImpactReport {
        targets,
        depth: args.depth,
        edges: types.iter().map(|t| t.name().to_string()).collect(),
        total: levels.iter().map(|level| level.blocks.len()).sum(),
        levels,
        tests,
        truncated: result.is_some_and(|result| result.truncated),
        diff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_a_name_and_a_line_range() -> Result<(), ServiceError> {
        let range = |start, end| Some(LineRange { start, end });
        assert_eq!(split_target("parse")?, ("parse", None));
        assert_eq!(split_target("Tree::get")?, ("Tree::get", None));
        assert_eq!(split_target("src/a.rs:7")?, ("src/a.rs", range(7, 7)));
        assert_eq!(split_target("src/a.rs:7-9")?, ("src/a.rs", range(7, 9)));
        for bad in [
            "src/a.rs:0",
            "src/a.rs:9-7",
            "src/a.rs:1-2-3",
            "a.rs:-",
            "a.rs:99999999999",
        ] {
            assert!(split_target(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    fn item(id: &str, start: u64, end: u64, children: Vec<OutlineItem>) -> OutlineItem {
        OutlineItem {
            id: id.into(),
            kind: "function".into(),
            name: id.into(),
            qualified_name: id.into(),
            signature: String::new(),
            doc: String::new(),
            start_line: start,
            end_line: end,
            children,
        }
    }

    #[test]
    fn changed_lines_touch_the_innermost_items_or_the_file() {
        let items = vec![
            item(
                "impl",
                1,
                10,
                vec![item("a", 2, 4, vec![]), item("b", 6, 9, vec![])],
            ),
            item("c", 12, 14, vec![]),
        ];
        let flat = flatten(&items);
        let span = |start, end| Touch::Intersect(LineRange { start, end });
        assert_eq!(
            touched(&flat, &[span(3, 3)]),
            (vec!["a".to_string()], false)
        );
        assert_eq!(
            touched(&flat, &[span(5, 5)]),
            (vec!["impl".to_string()], false)
        );
        assert_eq!(touched(&flat, &[span(4, 13)]).0, ["a", "b", "c"]);
        assert_eq!(touched(&flat, &[span(11, 11)]), (vec![], true));
        // A removal between lines 4 and 5 of the impl: held by the impl,
        // not by `a`, which ends at 4.
        let removal = Touch::Contain(LineRange { start: 4, end: 5 });
        assert_eq!(touched(&flat, &[removal]).0, ["impl"]);
        let removal = Touch::Contain(LineRange { start: 10, end: 11 });
        assert_eq!(touched(&flat, &[removal]), (vec![], true));
    }

    #[test]
    fn consecutive_lines_become_ranges() {
        let range = |start, end| LineRange { start, end };
        assert_eq!(
            ranges(&[1, 2, 3, 7, 9, 10]),
            [range(1, 3), range(7, 7), range(9, 10)]
        );
        assert!(ranges(&[]).is_empty());
        assert_eq!(ranges(&[u32::MAX]), [range(u32::MAX, u32::MAX)]);
    }
}
