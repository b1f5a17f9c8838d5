//! The reference call graph: calls between functions of the tree as a SCIP
//! index records them, mapped onto kausal's function and method blocks by
//! `kausal_ingest::precise::calls` (the mapping precise mode stores, so
//! the eval and `kausal ingest --scip` read an index one way; its module
//! documentation says what counts as a call).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use kausal_ingest::precise::calls::{self, TreeFile, map_calls};
use kausal_ingest::precise::scip_index::ScipIndex;
use kausal_storage::BlockId;

use crate::Func;

/// The reference edges, each with one call site (`path:line: text`), and
/// what was left out.
#[derive(Default)]
pub struct Reference {
    pub edges: BTreeMap<(BlockId, BlockId), String>,
    /// References to functions of the tree not followed by a call.
    pub not_calls: u64,
    /// Calls outside any function (module-level code).
    pub top_level: u64,
    /// Calls whose callee is no kausal function block.
    pub unmapped: u64,
    /// The blocks the indexer analysed: functions whose definition the
    /// index holds, and the ends of reference edges. Code it left out (a
    /// `cfg` that is off, a feature not enabled, a branch pyright finds
    /// unreachable on this platform) has none.
    pub indexed: BTreeSet<BlockId>,
}

/// The reference edges of `index` over the tree at `root`.
pub fn reference_edges(index: &ScipIndex, root: &Path, funcs: &[Func]) -> Reference {
    let texts: HashMap<&str, String> = index
        .documents
        .iter()
        .filter_map(|document| {
            let text = std::fs::read_to_string(root.join(&document.path)).ok()?;
            Some((document.path.as_str(), text))
        })
        .collect();
    let mut by_path: HashMap<&str, Vec<calls::Func>> = HashMap::new();
    for f in funcs {
        by_path
            .entry(f.path.as_str())
            .or_default()
            .push(calls::Func {
                id: f.id,
                name: f.name.clone(),
                start: f.start,
                end: f.end,
            });
    }
    let empty = Vec::new();
    let tree: HashMap<&str, TreeFile> = texts
        .iter()
        .map(|(path, text)| {
            let funcs = by_path.get(path).unwrap_or(&empty);
            (*path, TreeFile { text, funcs })
        })
        .collect();
    let mapped = map_calls(index, &tree, |_| true);
    let mut reference = Reference {
        not_calls: mapped.not_calls,
        top_level: mapped.top_level,
        unmapped: mapped.unmapped,
        indexed: mapped.defined.iter().copied().collect(),
        ..Reference::default()
    };
    let mut paths: Vec<_> = mapped.by_file.iter().collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    for (path, calls) in paths {
        let lines: Vec<&str> = texts
            .get(path.as_str())
            .map_or(Vec::new(), |t| t.lines().collect());
        for call in calls {
            let key = (call.edge.source, call.edge.target);
            reference.edges.entry(key).or_insert_with(|| {
                let text = lines.get(call.line as usize - 1).map_or("", |l| l.trim());
                format!("{path}:{}: {text}", call.line)
            });
        }
    }
    let ends: Vec<BlockId> = reference.edges.keys().flat_map(|&(a, b)| [a, b]).collect();
    reference.indexed.extend(ends);
    reference
}
