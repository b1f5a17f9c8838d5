//! [`answer`]: a [`Query`] answered on one [`Reader`] (one snapshot), and
//! what every query shares: name checks, resolving a name to one block,
//! error mapping.

use std::path::Path;

use kausal_storage::{BlockView, StorageError};

use crate::error::ServiceError;
use crate::find::find;
use crate::graph::{cycles, deps, path, trace};
use crate::model::{BlockDetail, BlockInfo};
use crate::names;
use crate::query::Query;
use crate::reader::Reader;
use crate::report::Answer;
use crate::stats::stats;
use crate::tree::tree;

/// Answers `query` on `engine` (the database in `db`).
pub fn answer(engine: &Reader, db: &Path, query: &Query) -> Result<Answer, ServiceError> {
    for name in query.names() {
        check_name(name)?;
    }
    match query {
        Query::Find {
            name,
            kind,
            path,
            limit,
        } => find(engine, name, kind.as_deref(), path.as_deref(), *limit),
        Query::Show { name } => {
            let view = resolve_one(engine, name)?;
            Ok(Answer::Show(BlockDetail::from_view(&view)))
        }
        Query::Callers { name, depth } => tree(engine, name, *depth, true).map(Answer::Callers),
        Query::Callees { name, depth } => tree(engine, name, *depth, false).map(Answer::Callees),
        Query::Trace {
            name,
            direction,
            depth,
            edges,
            limit,
        } => trace(engine, db, name, *direction, *depth, edges, *limit),
        Query::Path { from, to, edges } => path(engine, db, from, to, edges),
        Query::Cycles { edges } => cycles(engine, db, edges),
        Query::Deps { target } => deps(engine, target),
        Query::Stats => stats(engine, db),
    }
}

/// Rejects an empty NAME (which would match every block as a prefix).
pub fn check_name(name: &str) -> Result<(), ServiceError> {
    if name.trim().is_empty() {
        return Err(ServiceError::Usage("a NAME must not be empty".into()));
    }
    Ok(())
}

pub(crate) fn storage_error(db: &Path) -> impl Fn(StorageError) -> ServiceError + '_ {
    move |source| ServiceError::Storage {
        db: db.to_path_buf(),
        source,
    }
}

pub(crate) fn query_error(db: &Path) -> impl Fn(kausal_query::QueryError) -> ServiceError + '_ {
    move |source| ServiceError::Query {
        db: db.to_path_buf(),
        source,
    }
}

/// The one block `query` names; lists candidates when it names several.
pub(crate) fn resolve_one<'e>(
    engine: &'e Reader,
    query: &str,
) -> Result<BlockView<'e>, ServiceError> {
    let db = engine.dir();
    let matches = names::matches(engine, query).map_err(storage_error(db))?;
    let mut blocks = matches.blocks;
    if blocks.len() > 1 {
        // `parse` means the function, not the file `parse.rs` whose module
        // path ends in `parse`; a path or a full module name still names
        // the file.
        let items: Vec<BlockView<'e>> = blocks
            .iter()
            .filter(|view| BlockInfo::from_view(view).kind != "file")
            .copied()
            .collect();
        if !items.is_empty() && items.len() < blocks.len() {
            let names_file = blocks.iter().any(|view| {
                let info = BlockInfo::from_view(view);
                info.kind == "file" && (info.path == query || info.qualified_name == query)
            });
            if !names_file {
                blocks = items;
            }
        }
    }
    if blocks.len() > 1 {
        // A full qualified name (or path) that one block has exactly wins.
        let exact: Vec<BlockView<'e>> = blocks
            .iter()
            .filter(|view| {
                let info = BlockInfo::from_view(view);
                info.qualified_name == query || info.path == query
            })
            .copied()
            .collect();
        if exact.len() == 1 {
            blocks = exact;
        }
    }
    match blocks.len() {
        1 => Ok(blocks[0]),
        0 => Err(ServiceError::NotFound {
            name: query.to_string(),
            suggestions: names::suggestions(engine, query).map_err(storage_error(db))?,
        }),
        _ => {
            blocks.sort_by_cached_key(|view| {
                let info = BlockInfo::from_view(view);
                (info.path, info.start_line)
            });
            let candidates: Vec<_> = blocks.iter().map(names::candidate).collect();
            Err(ServiceError::Ambiguous {
                name: query.to_string(),
                candidates,
            })
        }
    }
}
