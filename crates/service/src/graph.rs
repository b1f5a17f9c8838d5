//! `trace`, `path`, `cycles` and `deps`: traversals through kausal-query
//! and import neighbours.

use std::path::Path;

use kausal_query::{Algorithm, Direction, EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::EdgeType;

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::provenance::Provenance;
use crate::query::{TraceArgs, TraceDirection};
use crate::reader::Reader;
use crate::report::{Answer, CyclesReport, DepsReport, PathReport, TraceReport, TraceStep};
use crate::resolve::{query_error, resolve_one, storage_error};

/// Edge types from `--edges`, else `default`.
fn edge_set(
    names: &[String],
    default: &[EdgeType],
) -> Result<(EdgeTypeSet, Vec<String>), ServiceError> {
    let types: Vec<EdgeType> = if names.is_empty() {
        default.to_vec()
    } else {
        names
            .iter()
            .map(|name| {
                EdgeType::from_name(name.trim()).map_err(|_| {
                    ServiceError::Usage(format!(
                        "unknown edge type {name:?}; known: {}",
                        EdgeType::ALL
                            .iter()
                            .map(|t| t.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let labels = types.iter().map(|t| t.name().to_string()).collect();
    Ok((EdgeTypeSet::of(&types), labels))
}

/// What `trace` follows by default: every edge type but the name index's
/// and `calls_candidate` (guesses, followed with `--candidates`).
fn default_trace_types() -> Vec<EdgeType> {
    EdgeType::ALL
        .iter()
        .copied()
        .filter(|t| !matches!(t, EdgeType::Names | EdgeType::CallsCandidate))
        .collect()
}

const CALL_TYPES: &[EdgeType] = &[
    EdgeType::Calls,
    EdgeType::CallsMethod,
    EdgeType::CallsFunction,
];

fn steps(
    engine: &Reader,
    db: &Path,
    result: &kausal_query::TraversalResult<'_>,
) -> Result<Vec<TraceStep>, ServiceError> {
    let mut provenance = Provenance::new(engine);
    let mut steps = Vec::with_capacity(result.nodes.len());
    for node in &result.nodes {
        let (resolved_by, precise_file) = match &node.via {
            Some(edge) => {
                let rule = provenance.resolved_by(edge).map_err(storage_error(db))?;
                // Only a call edge has a caller whose file may be precise.
                let precise = match rule {
                    Some(_) => provenance
                        .precise_file(edge.source)
                        .map_err(storage_error(db))?,
                    None => false,
                };
                (rule.map(str::to_string), precise)
            }
            None => (None, false),
        };
        steps.push(TraceStep {
            block: BlockInfo::from_view(&node.block),
            depth: node.depth,
            via: node.via.map(|edge| edge.edge_type.name().to_string()),
            resolved_by,
            precise_file,
            from: node
                .parent
                .and_then(|parent| result.nodes.get(parent))
                .map(|parent| parent.block.id.to_string()),
        });
    }
    Ok(steps)
}

pub(crate) fn trace(engine: &Reader, db: &Path, args: &TraceArgs) -> Result<Answer, ServiceError> {
    let TraceArgs {
        name,
        direction,
        depth,
        edges,
        limit,
        candidates,
    } = args;
    let (direction, depth, limit) = (*direction, *depth, *limit);
    let start = resolve_one(engine, name)?;
    let mut wanted = edges.clone();
    if *candidates && !wanted.is_empty() {
        wanted.push(EdgeType::CallsCandidate.name().to_string());
    }
    let mut default = default_trace_types();
    if *candidates {
        default.push(EdgeType::CallsCandidate);
    }
    let (types, labels) = edge_set(&wanted, &default)?;
    let (direction, label) = match direction {
        TraceDirection::In => (Direction::Incoming, "in"),
        TraceDirection::Out => (Direction::Outgoing, "out"),
        TraceDirection::Both => (Direction::Both, "both"),
    };
    let traversal = Traversal::new(vec![start.id])
        .direction(direction)
        .edge_types(types)
        .max_depth(depth)
        .max_results(limit);
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    Ok(Answer::Trace(TraceReport {
        start: BlockInfo::from_view(&start),
        direction: label.to_string(),
        edges: labels,
        depth,
        reached: steps(engine, db, &result)?,
        truncated: result.truncated,
    }))
}

pub(crate) fn path(
    engine: &Reader,
    db: &Path,
    from: &str,
    to: &str,
    edges: &[String],
) -> Result<Answer, ServiceError> {
    let source = resolve_one(engine, from)?;
    let target = resolve_one(engine, to)?;
    let (types, _) = edge_set(edges, CALL_TYPES)?;
    let traversal = Traversal::new(vec![source.id])
        .edge_types(types)
        .algorithm(Algorithm::ShortestPath { target: target.id });
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    if result.nodes.is_empty() {
        return Err(ServiceError::NoResults(format!(
            "no path from {from} to {to}"
        )));
    }
    Ok(Answer::Path(PathReport {
        from: BlockInfo::from_view(&source),
        to: BlockInfo::from_view(&target),
        steps: steps(engine, db, &result)?,
    }))
}

pub(crate) fn cycles(engine: &Reader, db: &Path, edges: &[String]) -> Result<Answer, ServiceError> {
    let (types, labels) = edge_set(edges, CALL_TYPES)?;
    let traversal = Traversal::new(Vec::new())
        .edge_types(types)
        .max_results(kausal_query::limits::MAX_RESULTS_CAP)
        .algorithm(Algorithm::StronglyConnectedComponents);
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    let mut cycles: Vec<Vec<BlockInfo>> = result
        .components
        .iter()
        .map(|component| {
            let mut blocks: Vec<BlockInfo> = component
                .iter()
                .map(|index| BlockInfo::from_view(&result.nodes[*index].block))
                .collect();
            blocks.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
            blocks
        })
        .collect();
    cycles.sort_by(|a, b| {
        b.len()
            .cmp(&a.len())
            .then_with(|| a[0].path.cmp(&b[0].path))
    });
    Ok(Answer::Cycles(CyclesReport {
        edges: labels,
        cycles,
        truncated: result.truncated,
    }))
}

pub(crate) fn deps(engine: &Reader, target: &str) -> Result<Answer, ServiceError> {
    let db = engine.dir();
    let view = resolve_one(engine, target)?;
    let neighbours = |incoming: bool| -> Result<Vec<BlockInfo>, ServiceError> {
        let edges = if incoming {
            engine.snapshot().find_incoming_edges(view.id)
        } else {
            engine.snapshot().find_outgoing_edges(view.id)
        }
        .map_err(storage_error(db))?;
        let mut blocks = Vec::new();
        for edge in edges
            .into_iter()
            .filter(|e| e.edge_type == EdgeType::Imports)
        {
            let other = if incoming { edge.source } else { edge.target };
            if let Some(found) = engine
                .snapshot()
                .find_block(other)
                .map_err(storage_error(db))?
            {
                blocks.push(BlockInfo::from_view(&found));
            }
        }
        blocks.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
        Ok(blocks)
    };
    Ok(Answer::Deps(DepsReport {
        target: BlockInfo::from_view(&view),
        imports: neighbours(false)?,
        imported_by: neighbours(true)?,
    }))
}
