//! `callers` and `callees`: the call tree around one block, cut at a
//! depth and a node count, cycles and repeats marked instead of expanded.

use std::collections::HashSet;

use kausal_storage::{BlockId, EdgeType, GraphEdge, StorageError};

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::provenance::Provenance;
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
    provenance: Provenance<'e>,
    incoming: bool,
    /// Follow `calls_candidate` edges too.
    candidates: bool,
    nodes: usize,
    truncated: bool,
    seen: HashSet<BlockId>,
}

impl TreeBuilder<'_> {
    /// The trait method a trait impl's method implements: the impl
    /// method's type (`method_of`), the traits it `implements` named as in
    /// the method's qualified name (`<Tree as AbstractTree>::get`), and the
    /// one method of that name declared there. `None` for any other block.
    fn trait_method(&self, id: BlockId) -> Result<Option<(BlockId, String)>, StorageError> {
        let snapshot = self.engine.snapshot();
        let Some(view) = snapshot.find_block(id)? else {
            return Ok(None);
        };
        let method = BlockInfo::from_view(&view);
        let Some(trait_name) = impl_trait_name(&method.qualified_name) else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for owner in snapshot.find_outgoing_edges(id)? {
            if owner.edge_type != EdgeType::MethodOf {
                continue;
            }
            for implemented in snapshot.find_outgoing_edges(owner.target)? {
                if implemented.edge_type != EdgeType::Implements {
                    continue;
                }
                let Some(trait_view) = snapshot.find_block(implemented.target)? else {
                    continue;
                };
                if BlockInfo::from_view(&trait_view).name != trait_name {
                    continue;
                }
                for declared in snapshot.find_incoming_edges(implemented.target)? {
                    if declared.edge_type != EdgeType::MethodOf || declared.source == id {
                        continue;
                    }
                    if let Some(declared_view) = snapshot.find_block(declared.source)? {
                        let info = BlockInfo::from_view(&declared_view);
                        if info.name == method.name && !info.qualified_name.contains(" as ") {
                            found.push((declared.source, info.qualified_name));
                        }
                    }
                }
            }
        }
        Ok((found.len() == 1).then(|| found.remove(0)))
    }

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
        let mut edges: Vec<(GraphEdge, Option<String>)> = edges
            .into_iter()
            .filter(|edge| {
                call_edge(edge.edge_type)
                    || (self.candidates && edge.edge_type == EdgeType::CallsCandidate)
            })
            .map(|edge| (edge, None))
            .collect();
        if self.incoming {
            // Callers of the trait method this impl method implements
            // reach it too (`Tree::get` <- callers of `AbstractTree::get`).
            if let Some((declared, declared_name)) = self.trait_method(id)? {
                let direct: HashSet<BlockId> = edges.iter().map(|(edge, _)| edge.source).collect();
                for edge in self.engine.snapshot().find_incoming_edges(declared)? {
                    if call_edge(edge.edge_type) && !direct.contains(&edge.source) {
                        edges.push((edge, Some(declared_name.clone())));
                    }
                }
            }
        }
        let mut children = Vec::new();
        for (edge, via_trait) in edges {
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
            let resolved_by = self.provenance.resolved_by(&edge)?;
            // Only an edge with a rule (a call edge) is marked.
            let precise_file =
                resolved_by.is_some() && self.provenance.precise_file(edge.source)?;
            let mut node = TreeNode {
                block: BlockInfo::from_view(&view),
                edge: edge.edge_type.name().to_string(),
                resolved_by: resolved_by.map(str::to_string),
                precise_file,
                cycle,
                repeated,
                via_trait,
                candidate: edge.edge_type == EdgeType::CallsCandidate,
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
    candidates: bool,
) -> Result<TreeReport, ServiceError> {
    if depth == 0 || depth > MAX_TREE_DEPTH {
        return Err(ServiceError::Usage(format!(
            "--depth must be between 1 and {MAX_TREE_DEPTH}"
        )));
    }
    let root = resolve_one(engine, name)?;
    let mut builder = TreeBuilder {
        engine,
        provenance: Provenance::new(engine),
        incoming,
        candidates,
        nodes: 0,
        truncated: false,
        seen: HashSet::from([root.id]),
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

/// `crate::tree::<Tree<K> as tree::AbstractTree>::get` -> `AbstractTree`.
fn impl_trait_name(qualified_name: &str) -> Option<&str> {
    let (_, after) = qualified_name.rsplit_once(" as ")?;
    let trait_path = after.split('>').next()?;
    let trait_path = trait_path.split('<').next()?;
    trait_path
        .rsplit("::")
        .next()
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::impl_trait_name;

    #[test]
    fn the_trait_of_an_impl_method_is_read_from_its_qualified_name() {
        assert_eq!(
            impl_trait_name("crate::tree::<Tree<K> as tree::AbstractTree>::get"),
            Some("AbstractTree")
        );
        assert_eq!(
            impl_trait_name("crate::<Thing as Shape<u8>>::area"),
            Some("Shape")
        );
        assert_eq!(impl_trait_name("crate::Thing::area"), None);
    }
}
