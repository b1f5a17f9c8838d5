//! `map`: the repository in a token budget, most important first, as
//! aider's repo map does it. Importance is PageRank over the call and
//! import graph (`calls`, `calls_method`, `calls_function`, `imports`;
//! an edge gives rank to what is called or imported): [`PAGERANK_ITERATIONS`]
//! rounds with damping [`PAGERANK_DAMPING`], the rank of blocks without
//! outgoing edges spread evenly, every sum taken in block-id order, so the
//! same graph always ranks the same. Files and items enter the budget in
//! rank order (ties by id); an item costs its signature line and, the
//! first time, its file's header line; what does not fit is left out and
//! counted, and at most [`MAX_MAP_CANDIDATES`] are offered. The answer
//! groups what was taken by file, files in the order they entered, items
//! in line order.

use std::collections::HashMap;

use kausal_ingest::BlockMeta;
use kausal_ingest::meta::is_internal_block;
use kausal_storage::{BlockId, EdgeType, StorageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::budget::{Budget, DEFAULT_BUDGET, check_budget, tokens};
use crate::error::ServiceError;
use crate::reader::Reader;
use crate::resolve::storage_error;

/// PageRank rounds: enough for ranks to settle to the order shown (the
/// change per round shrinks by the damping factor, 0.85^30 < 1%).
pub const PAGERANK_ITERATIONS: usize = 30;
/// PageRank's damping factor: the chance a walk follows an edge.
pub const PAGERANK_DAMPING: f64 = 0.85;
/// Most ranked files and items offered to the budget.
pub const MAX_MAP_CANDIDATES: usize = 5000;

/// Arguments of `map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct MapArgs {
    /// Tokens to fill (1 to 100,000; a token counted as 4 bytes of text,
    /// rounded up).
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
    #[serde(default = "default_budget")]
    pub budget: usize,
}

fn default_budget() -> usize {
    DEFAULT_BUDGET
}

/// An item on the map.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MapItem {
    /// The item's block id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its qualified name.
    pub qualified_name: String,
    /// Its declaration up to the body (else `kind name`).
    pub signature: String,
    /// First line, 1-based.
    pub start_line: u64,
    /// Last line, 1-based, inclusive.
    pub end_line: u64,
    /// PageRank times the number of blocks ranked (1.0 is average),
    /// rounded to 3 decimals.
    pub rank: f64,
    /// What its line cost: tokens of `"  {signature}"`.
    pub tokens: usize,
}

/// A file on the map.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MapFile {
    /// Repo-relative path.
    pub path: String,
    /// Its language.
    pub language: String,
    /// Its items that fit, in line order.
    pub items: Vec<MapItem>,
    /// What its header line cost: tokens of `"{path}:"`.
    pub tokens: usize,
}

/// The report of `map`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MapReport {
    /// Files, most important first.
    pub files: Vec<MapFile>,
    /// The budget, in tokens.
    pub budget: usize,
    /// Tokens used: at most `budget`.
    pub used_tokens: usize,
    /// Blocks ranked (files and items).
    pub ranked: usize,
    /// Files with items that are not on the map.
    pub files_omitted: usize,
    /// Items not on the map.
    pub items_omitted: usize,
    /// Something was left out.
    pub truncated: bool,
}

/// PageRank of `n` nodes over `edges` (source, target): `iterations`
/// rounds with damping `damping`; nodes without outgoing edges give their
/// rank to every node evenly. Sums in edge order: `edges` sorted gives
/// the same answer every time. Ranks sum to 1.
pub fn pagerank(n: usize, edges: &[(u32, u32)], iterations: usize, damping: f64) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let size = n as f64;
    let mut out_degree = vec![0u32; n];
    for &(source, _) in edges {
        out_degree[source as usize] += 1;
    }
    let mut rank = vec![1.0 / size; n];
    let mut next = vec![0.0; n];
    for _ in 0..iterations {
        let dangling: f64 = rank
            .iter()
            .zip(&out_degree)
            .filter(|(_, degree)| **degree == 0)
            .map(|(rank, _)| rank)
            .sum();
        let base = (1.0 - damping) / size + damping * dangling / size;
        next.iter_mut().for_each(|value| *value = base);
        for &(source, target) in edges {
            let source = source as usize;
            next[target as usize] += damping * rank[source] / f64::from(out_degree[source]);
        }
        std::mem::swap(&mut rank, &mut next);
    }
    rank
}

/// One ranked block.
struct Node {
    id: BlockId,
    /// Index of its file's path in `paths`.
    file: u32,
    is_file: bool,
}

/// Every code block (id order) and the call and import edges among them.
/// The ranked graph.
struct Graph {
    /// Every code block, in id order.
    nodes: Vec<Node>,
    /// Each file's path and language, once.
    paths: Vec<(String, String)>,
    /// Call and import edges as node indexes, sorted, without repeats.
    edges: Vec<(u32, u32)>,
}

/// The call and import graph of every code block.
fn graph(reader: &Reader) -> Result<Graph, StorageError> {
    let snapshot = reader.snapshot();
    let mut nodes = Vec::new();
    let mut index: HashMap<BlockId, u32> = HashMap::new();
    let mut paths: Vec<(String, String)> = Vec::new();
    let mut path_index: HashMap<String, u32> = HashMap::new();
    for view in snapshot.iterate_blocks()? {
        let view = view?;
        if is_internal_block(view.metadata_json) {
            continue;
        }
        let Some(meta) = BlockMeta::parse(view.metadata_json) else {
            continue;
        };
        if meta.path.is_empty() {
            continue;
        }
        let next = u32::try_from(paths.len()).unwrap_or(u32::MAX);
        let file = *path_index.entry(meta.path.to_string()).or_insert_with(|| {
            paths.push((meta.path.to_string(), meta.language.to_string()));
            next
        });
        index.insert(view.id, u32::try_from(nodes.len()).unwrap_or(u32::MAX));
        nodes.push(Node {
            id: view.id,
            file,
            is_file: meta.is_file(),
        });
    }
    let mut edges = Vec::new();
    let mut out = Vec::new();
    for (source, node) in nodes.iter().enumerate() {
        snapshot.find_outgoing_edges_into(node.id, &mut out)?;
        for edge in &out {
            let followed = matches!(
                edge.edge_type,
                EdgeType::Calls
                    | EdgeType::CallsMethod
                    | EdgeType::CallsFunction
                    | EdgeType::Imports
            );
            if let (true, Some(&target)) = (followed, index.get(&edge.target))
                && target as usize != source
            {
                edges.push((u32::try_from(source).unwrap_or(u32::MAX), target));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    Ok(Graph {
        nodes,
        paths,
        edges,
    })
}

pub(crate) fn map(reader: &Reader, args: &MapArgs) -> Result<MapReport, ServiceError> {
    check_budget(args.budget)?;
    let db = reader.dir();
    let Graph {
        nodes,
        paths,
        edges,
    } = graph(reader).map_err(storage_error(db))?;
    let ranks = pagerank(nodes.len(), &edges, PAGERANK_ITERATIONS, PAGERANK_DAMPING);
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    // Highest rank first; ties in id order (the node order).
    order.sort_by(|a, b| ranks[*b].total_cmp(&ranks[*a]).then(a.cmp(b)));
    let mut budget = Budget::new(args.budget);
    let mut files: Vec<MapFile> = Vec::new();
    let mut file_slot: HashMap<u32, usize> = HashMap::new();
    let total_items = nodes.iter().filter(|node| !node.is_file).count();
    let mut items_shown = 0;
    let mut offered_all = true;
    for (offered, &at) in order.iter().enumerate() {
        if offered == MAX_MAP_CANDIDATES {
            offered_all = false;
            break;
        }
        let node = &nodes[at];
        let (path, language) = &paths[node.file as usize];
        let header = tokens(&format!("{path}:"));
        let header_cost = if file_slot.contains_key(&node.file) {
            0
        } else {
            header
        };
        let item = if node.is_file {
            None
        } else {
            let Some(view) = reader
                .snapshot()
                .find_block(node.id)
                .map_err(storage_error(db))?
            else {
                continue;
            };
            let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
            let signature = if meta.signature.is_empty() {
                format!("{} {}", meta.kind, meta.name)
            } else {
                meta.signature.to_string()
            };
            let cost = tokens(&format!("  {signature}"));
            Some(MapItem {
                id: node.id.to_string(),
                kind: meta.kind.into_owned(),
                qualified_name: meta.qualified_name.into_owned(),
                signature,
                start_line: u64::from(meta.start_line),
                end_line: u64::from(meta.end_line),
                rank: (ranks[at] * nodes.len() as f64 * 1000.0).round() / 1000.0,
                tokens: cost,
            })
        };
        let cost = header_cost + item.as_ref().map_or(0, |item| item.tokens);
        if cost == 0 || !budget.take(cost) {
            continue;
        }
        let slot = *file_slot.entry(node.file).or_insert_with(|| {
            files.push(MapFile {
                path: path.clone(),
                language: language.clone(),
                items: Vec::new(),
                tokens: header,
            });
            files.len() - 1
        });
        if let Some(item) = item {
            files[slot].items.push(item);
            items_shown += 1;
        }
    }
    for file in &mut files {
        file.items
            .sort_by(|a, b| (a.start_line, &a.id).cmp(&(b.start_line, &b.id)));
    }
    let files_with_items: std::collections::HashSet<u32> = nodes
        .iter()
        .filter(|node| !node.is_file)
        .map(|node| node.file)
        .collect();
    let files_shown_with_items = files.iter().filter(|file| !file.items.is_empty()).count();
    let items_omitted = total_items - items_shown;
    let files_omitted = files_with_items
        .len()
        .saturating_sub(files_shown_with_items);
    Ok(MapReport {
        files,
        budget: args.budget,
        used_tokens: budget.used(),
        ranked: nodes.len(),
        files_omitted,
        items_omitted,
        truncated: items_omitted > 0 || files_omitted > 0 || !offered_all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerank_of_a_tiny_graph_has_the_known_answer() {
        // a -> b, b has no outgoing edge (its rank spreads evenly):
        // ra = 0.15/2 + 0.85 rb/2, rb = 0.15/2 + 0.85 (ra + rb/2),
        // ra + rb = 1 => ra = 0.5/1.425, rb = 1 - ra.
        let ranks = pagerank(2, &[(0, 1)], 200, 0.85);
        let ra = 0.5 / 1.425;
        assert!((ranks[0] - ra).abs() < 1e-9, "{ranks:?}");
        assert!((ranks[1] - (1.0 - ra)).abs() < 1e-9, "{ranks:?}");
        // A cycle ranks every node the same; a star's centre highest.
        let ring = pagerank(3, &[(0, 1), (1, 2), (2, 0)], 30, 0.85);
        assert!(
            ring.iter().all(|rank| (rank - 1.0 / 3.0).abs() < 1e-12),
            "{ring:?}"
        );
        let star = pagerank(4, &[(1, 0), (2, 0), (3, 0)], 30, 0.85);
        assert!(
            star[0] > star[1] && star[1] == star[2] && star[2] == star[3],
            "{star:?}"
        );
        let sum: f64 = star.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(pagerank(0, &[], 30, 0.85).is_empty());
    }

    #[test]
    fn pagerank_is_deterministic() {
        let edges: Vec<(u32, u32)> = (0..200u32).map(|i| (i % 37, (i * 7) % 37)).collect();
        assert_eq!(
            pagerank(37, &edges, 30, 0.85),
            pagerank(37, &edges, 30, 0.85)
        );
    }
}
