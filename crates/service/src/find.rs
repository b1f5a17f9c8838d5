//! `find`: blocks matching a name, filtered by kind and path glob.

use crate::error::ServiceError;
use crate::model::BlockInfo;
use crate::names::{self, MatchKind};
use crate::query::MAX_FIND_LIMIT;
use crate::reader::Reader;
use crate::report::{Answer, FindReport};
use crate::resolve::storage_error;

/// Kind names users type, mapped to the stored kind.
fn normalize_kind(kind: &str) -> &str {
    match kind {
        "fn" | "func" => "function",
        "mod" => "module",
        "const" | "constant" => "const",
        "type" => "type_alias",
        other => other,
    }
}

pub(crate) fn find(
    engine: &Reader,
    query: &str,
    kind: Option<&str>,
    glob: Option<&str>,
    limit: usize,
) -> Result<Answer, ServiceError> {
    let db = engine.dir();
    if limit == 0 || limit > MAX_FIND_LIMIT {
        return Err(ServiceError::Usage(format!(
            "--limit must be between 1 and {MAX_FIND_LIMIT}"
        )));
    }
    // Unfiltered, a prefix answer needs one block past the limit (to say it
    // is truncated); a filter may drop any of them, so it gets the full cap.
    let prefix_cap = match (kind, glob) {
        (None, None) => limit + 1,
        _ => names::MAX_PREFIX_MATCHES,
    };
    let matches = names::matches_capped(engine, query, prefix_cap).map_err(storage_error(db))?;
    let kind = kind.map(normalize_kind);
    let mut results: Vec<BlockInfo> = matches
        .blocks
        .iter()
        .map(BlockInfo::from_view)
        .filter(|info| kind.is_none_or(|kind| info.kind == kind))
        .filter(|info| glob.is_none_or(|glob| names::glob_matches(glob, &info.path)))
        .collect();
    if results.is_empty() {
        let suggestions = names::suggestions(engine, query).map_err(storage_error(db))?;
        return Err(ServiceError::NotFound {
            name: query.to_string(),
            suggestions,
        });
    }
    results.sort_by(|a, b| {
        (&a.path, a.start_line, &a.qualified_name).cmp(&(&b.path, b.start_line, &b.qualified_name))
    });
    let truncated = results.len() > limit;
    results.truncate(limit);
    Ok(Answer::Find(FindReport {
        query: query.to_string(),
        matched_by: match matches.kind {
            MatchKind::Id => "id",
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix",
        }
        .to_string(),
        results,
        truncated,
    }))
}
