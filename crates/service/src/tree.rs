//! `callers` and `callees`: the call tree around one block, cut at a
//! depth and a node count, cycles and repeats marked instead of expanded.

use kausal_storage::{BlockId, EdgeType, StorageError};

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::query::{MAX_TREE_DEPTH, MAX_TREE_NODES};
use crate::reader::Reader;
use crate::report::{TreeNode, TreeReport};
use crate::resolve::{resolve_one, storage_error};

fn call_edge(edge_type: EdgeType) -> bool {
    matches!(
        edge_type,
        EdgeType::Calls | EdgeType::CallsMethod | EdgeType::CallsFunction
    )
}

struct TreeBuilder<'e> {
    engine: &'e Reader,
    incoming: bool,
    nodes: usize,
    truncated: bool,
    seen: std::collections::HashSet<BlockId>,
}

impl TreeBuilder<'_> {
    fn children(
        &mut self,
        id: BlockId,
        depth_left: u32,
        path: &mut Vec<BlockId>,
    ) -> Result<Vec<TreeNode>, StorageError> {
        let edges = if self.incoming {
            self.engine.snapshot().find_incoming_edges(id)?
        } else {
            self.engine.snapshot().find_outgoing_edges(id)?
        };
        let mut children = Vec::new();
        for edge in edges.into_iter().filter(|edge| call_edge(edge.edge_type)) {
            let other = if self.incoming {
                edge.source
            } else {
                edge.target
            };
            let Some(view) = self.engine.snapshot().find_block(other)? else {
                continue;
            };
            if self.nodes >= MAX_TREE_NODES {
                self.truncated = true;
                break;
            }
            self.nodes += 1;
            let cycle = path.contains(&other);
            let repeated = !cycle && !self.seen.insert(other);
            let mut node = TreeNode {
                block: BlockInfo::from_view(&view),
                edge: edge.edge_type.name().to_string(),
                cycle,
                repeated,
                children: Vec::new(),
            };
            if !cycle && !repeated && depth_left > 1 {
                path.push(other);
                node.children = self.children(other, depth_left - 1, path)?;
                path.pop();
            }
            children.push(node);
        }
        children.sort_by(|a, b| {
            (&a.block.path, a.block.start_line).cmp(&(&b.block.path, b.block.start_line))
        });
        Ok(children)
    }
}

pub(crate) fn tree(
    engine: &Reader,
    name: &str,
    depth: u32,
    incoming: bool,
) -> Result<TreeReport, ServiceError> {
    if depth == 0 || depth > MAX_TREE_DEPTH {
        return Err(ServiceError::Usage(format!(
            "--depth must be between 1 and {MAX_TREE_DEPTH}"
        )));
    }
    let root = resolve_one(engine, name)?;
    let mut builder = TreeBuilder {
        engine,
        incoming,
        nodes: 0,
        truncated: false,
        seen: std::collections::HashSet::from([root.id]),
    };
    let children = builder
        .children(root.id, depth, &mut vec![root.id])
        .map_err(storage_error(engine.dir()))?;
    if children.is_empty() {
        return Err(ServiceError::NoResults(format!(
            "no {} of {} found (calls the ingest could not resolve are not in the graph)",
            if incoming { "callers" } else { "callees" },
            BlockInfo::from_view(&root).title()
        )));
    }
    Ok(TreeReport {
        root: BlockInfo::from_view(&root),
        depth,
        children,
        truncated: builder.truncated,
    })
}
