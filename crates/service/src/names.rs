//! From what a user typed to blocks: a block id, an exact name, a
//! qualified-name suffix (`TableReader::find`), a file path, or, when none
//! of those match, a name prefix. Exact names, suffixes and paths go through
//! the name index that kausal-ingest writes (one edge lookup); prefixes and
//! "did you mean" suggestions scan the blocks, which only happens when the
//! index found nothing.

use kausal_ingest::BlockMeta;
use kausal_ingest::name_index::{PATH_KEY_PREFIX, key_id, lookup_key, matches_suffix};
use kausal_storage::{BlockId, BlockView, EdgeType, StorageError};

use crate::reader::Reader;

use crate::error::Candidate;
use crate::model::BlockInfo;

/// Suggestions offered for a name that matches nothing.
pub const MAX_SUGGESTIONS: usize = 5;
/// Blocks a prefix search collects before it stops.
pub const MAX_PREFIX_MATCHES: usize = 1000;

/// How a query matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The name was a block id.
    Id,
    /// An exact name, qualified-name suffix or file path, found through the name index.
    Exact,
    /// Nothing matched exactly; these blocks' names start with the query.
    Prefix,
}

/// Blocks matching `query`, and how they matched.
pub struct Matches<'e> {
    /// The blocks matched; at most [`MAX_PREFIX_MATCHES`] for a prefix match.
    pub blocks: Vec<BlockView<'e>>,
    /// Whether they matched by id, exactly or by prefix.
    pub kind: MatchKind,
}

fn index_lookup<'e>(engine: &'e Reader, key: &str) -> Result<Vec<BlockView<'e>>, StorageError> {
    let mut blocks = Vec::new();
    for edge in engine.snapshot().find_outgoing_edges(key_id(key))? {
        if edge.edge_type != EdgeType::Names {
            continue;
        }
        if let Some(view) = engine.snapshot().find_block(edge.target)? {
            blocks.push(view);
        }
    }
    Ok(blocks)
}

/// Blocks whose own name is exactly `name`, through the name index only
/// (one lookup, never a scan): what `context` resolves the names a body
/// mentions with.
pub(crate) fn exact_name<'e>(
    engine: &'e Reader,
    name: &str,
) -> Result<Vec<BlockView<'e>>, StorageError> {
    let mut found = index_lookup(engine, &lookup_key(name))?;
    found.retain(|view| meta_name(view).0 == name);
    Ok(found)
}

fn meta_name(view: &BlockView<'_>) -> (String, String) {
    let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
    (meta.name.into_owned(), meta.qualified_name.into_owned())
}

/// Every block `query` names exactly (id, name, suffix or path); else the
/// blocks whose name starts with it.
pub fn matches<'e>(engine: &'e Reader, query: &str) -> Result<Matches<'e>, StorageError> {
    if query.len() == 32
        && let Ok(id) = BlockId::parse_hex(query)
    {
        let snapshot = engine.snapshot();
        let blocks = snapshot.find_block(id)?.into_iter().collect();
        return Ok(Matches {
            blocks,
            kind: MatchKind::Id,
        });
    }
    let mut exact = Vec::new();
    for view in index_lookup(engine, &lookup_key(query))? {
        let (name, qualified) = meta_name(&view);
        if name == query || matches_suffix(&qualified, query) {
            exact.push(view);
        }
    }
    let path = query.trim_start_matches("./");
    exact.extend(index_lookup(engine, &format!("{PATH_KEY_PREFIX}{path}"))?);
    exact.sort_by_key(|view| view.id);
    exact.dedup_by_key(|view| view.id);
    if !exact.is_empty() {
        return Ok(Matches {
            blocks: exact,
            kind: MatchKind::Exact,
        });
    }
    let mut prefixed = Vec::new();
    for view in engine.snapshot().iterate_blocks()? {
        let view = view?;
        let (name, _) = meta_name(&view);
        if !name.is_empty() && name.starts_with(query) {
            prefixed.push(view);
            if prefixed.len() == MAX_PREFIX_MATCHES {
                break;
            }
        }
    }
    Ok(Matches {
        blocks: prefixed,
        kind: MatchKind::Prefix,
    })
}

/// Names close to `query` (edit distance), for "did you mean".
pub fn suggestions(engine: &Reader, query: &str) -> Result<Vec<String>, StorageError> {
    // `Tree::gett` or `Tre::get`: the blocks named like its last segment,
    // by qualified name, closest first (one index lookup, no scan).
    let sep = kausal_ingest::name_index::separator(query);
    if let Some((_, last)) = query.rsplit_once(sep)
        && !last.is_empty()
    {
        let mut scored: Vec<(usize, String)> = Vec::new();
        for view in index_lookup(engine, last)? {
            let (_, qualified) = meta_name(&view);
            let tail_start = qualified.len().saturating_sub(query.len() + 16);
            let tail = qualified.get(tail_start..).unwrap_or(&qualified);
            let distance = edit_distance(query, tail, usize::MAX).unwrap_or(usize::MAX);
            if !scored.iter().any(|(_, known)| *known == qualified) {
                scored.push((distance, qualified.to_string()));
            }
        }
        if !scored.is_empty() {
            scored.sort();
            return Ok(scored
                .into_iter()
                .take(MAX_SUGGESTIONS)
                .map(|(_, name)| name)
                .collect());
        }
    }
    let limit = (query.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, String)> = Vec::new();
    for view in engine.snapshot().iterate_blocks()? {
        let (name, _) = meta_name(&view?);
        if name.is_empty() || scored.iter().any(|(_, known)| *known == name) {
            continue;
        }
        if let Some(distance) = edit_distance(query, &name, limit) {
            scored.push((distance, name));
        }
    }
    scored.sort();
    Ok(scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, name)| name)
        .collect())
}

/// Levenshtein distance of `a` and `b`, or `None` when it exceeds `limit`.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        let mut row_min = current[0];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            row_min = row_min.min(current[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= limit).then_some(distance)
}

/// A candidate line for an ambiguous name.
pub fn candidate(view: &BlockView<'_>) -> Candidate {
    let info = BlockInfo::from_view(view);
    Candidate {
        location: info.location(),
        kind: info.kind.clone(),
        qualified_name: info.title().to_string(),
        id: info.id,
    }
}

/// True when `path` matches `glob`: `*` within a path segment, `**` across
/// segments, `?` one character.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    fn matches(glob: &[u8], path: &[u8]) -> bool {
        match glob.first() {
            None => path.is_empty(),
            Some(b'*') if glob.get(1) == Some(&b'*') => {
                let rest = glob[2..].strip_prefix(b"/").unwrap_or(&glob[2..]);
                (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
            }
            Some(b'*') => (0..=path.len())
                .take_while(|skip| *skip == 0 || path[skip - 1] != b'/')
                .any(|skip| matches(&glob[1..], &path[skip..])),
            Some(b'?') => !path.is_empty() && path[0] != b'/' && matches(&glob[1..], &path[1..]),
            Some(byte) => path.first() == Some(byte) && matches(&glob[1..], &path[1..]),
        }
    }
    matches(glob.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("parse", "parse", 2), Some(0));
        assert_eq!(edit_distance("prase", "parse", 2), Some(2));
        assert_eq!(edit_distance("pars", "parse", 2), Some(1));
        assert_eq!(edit_distance("completely", "parse", 2), None);
    }

    #[test]
    fn globs() {
        assert!(glob_matches("src/*.rs", "src/lib.rs"));
        assert!(!glob_matches("src/*.rs", "src/a/lib.rs"));
        assert!(glob_matches("src/**/*.rs", "src/a/b/lib.rs"));
        assert!(glob_matches("src/**/*.rs", "src/lib.rs"));
        assert!(glob_matches("**/reader.rs", "crates/storage/src/reader.rs"));
        assert!(glob_matches("?.c", "a.c"));
        assert!(!glob_matches("src/*.rs", "tests/lib.rs"));
    }
}
