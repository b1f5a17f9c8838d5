//! [`answer`]: a [`Query`] answered on one [`Reader`] (one snapshot): the
//! dispatch to each query's file.

use std::path::Path;

use crate::context::context;
use crate::error::ServiceError;
use crate::find::find;
use crate::graph::{cycles, deps, path, trace};
use crate::impact::impact;
use crate::map::map;
use crate::model::BlockDetail;
use crate::outline::outline;
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
        Query::Find(args) => find(
            engine,
            &args.name,
            args.kind.as_deref(),
            args.path.as_deref(),
            args.limit,
        ),
        Query::Show(args) => {
            let view = resolve_one(engine, &args.name)?;
            Ok(Answer::Show(BlockDetail::from_view(&view)))
        }
        Query::Callers(args) => {
            tree(engine, &args.name, args.depth, true, args.candidates).map(Answer::Callers)
        }
        Query::Callees(args) => {
            tree(engine, &args.name, args.depth, false, args.candidates).map(Answer::Callees)
        }
        Query::Trace(args) => trace(engine, db, args),
        Query::Path(args) => path(engine, db, &args.from, &args.to, &args.edges),
        Query::Cycles(args) => cycles(engine, db, &args.edges),
        Query::Deps(args) => deps(engine, &args.target),
        Query::Stats => stats(engine, db),
        Query::Context(args) => context(engine, args).map(Answer::Context),
        Query::Impact(args) => impact(engine, args).map(Answer::Impact),
        Query::Outline(args) => outline(engine, args).map(Answer::Outline),
        Query::Map(args) => map(engine, args).map(Answer::Map),
    }
}
