//! What every query shares, below all of them: the name check, resolving a
//! name to exactly one block (or the error that lists candidates), and
//! wrapping engine errors with the database they came from.

use std::path::Path;

use kausal_storage::{BlockView, StorageError};

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::names;
use crate::reader::Reader;

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
