//! [`answer`]: a [`Query`] answered on one [`Reader`] (one snapshot): the
//! dispatch to each query's file.

use std::path::Path;

use crate::error::ServiceError;
use crate::find::find;
use crate::graph::{cycles, deps, path, trace};
use crate::model::BlockDetail;
use crate::query::Query;
use crate::reader::Reader;
use crate::report::Answer;
use crate::resolve::{check_name, resolve_one};
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
