//! From what a user typed to blocks: a block id, an exact name, a
//! qualified-name suffix (`TableReader::find`), a file path, or, when none
//! of those match, a name prefix. Exact names, suffixes and paths go through
//! the name index that kausal-ingest writes (one edge lookup); prefixes and
//! "did you mean" suggestions, asked only when the index found nothing,
//! read the names dictionary kausal-ingest writes beside it
//! (`kausal_ingest::name_dictionary`), and scan the blocks only in a
//! database ingested before the dictionary existed.

use kausal_ingest::BlockMeta;
use kausal_ingest::name_dictionary::Dictionary;
use kausal_ingest::name_index::{PATH_KEY_PREFIX, key_id, lookup_key, matches_suffix};
use kausal_ingest::name_lengths::{NameLengths, name_length};
use kausal_storage::{BlockId, BlockView, EdgeType, StorageError};

use crate::reader::Reader;

use crate::error::Candidate;
use crate::model::BlockInfo;
use crate::suggest::{MAX_NAMES_EXAMINED, Nearest};

/// Suggestions offered for a name that matches nothing.
pub const MAX_SUGGESTIONS: usize = 5;
/// The farthest edit distance a suggestion may have, however long the
/// query (under it, a third of the query's characters, at least 2): a name
/// seven edits off is no "did you mean", and every edit allowed widens the
/// lengths read by two.
pub const MAX_SUGGESTION_DISTANCE: usize = 6;
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

/// True when `query` is read as a block id (32 hex digits).
fn is_block_id(query: &str) -> bool {
    query.len() == 32 && BlockId::parse_hex(query).is_ok()
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
/// blocks whose name starts with it, at most [`MAX_PREFIX_MATCHES`].
pub fn matches<'e>(engine: &'e Reader, query: &str) -> Result<Matches<'e>, StorageError> {
    matches_capped(engine, query, MAX_PREFIX_MATCHES)
}

/// [`matches`], collecting at most `prefix_cap` prefix matches (the first
/// names in the dictionary's order). A caller that shows only N answers asks
/// for N + 1: every block collected is a read, and a one-letter prefix on
/// the kernel names tens of thousands.
pub fn matches_capped<'e>(
    engine: &'e Reader,
    query: &str,
    prefix_cap: usize,
) -> Result<Matches<'e>, StorageError> {
    if is_block_id(query)
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
    Ok(Matches {
        blocks: prefixed(engine, query, prefix_cap.clamp(1, MAX_PREFIX_MATCHES))?,
        kind: MatchKind::Prefix,
    })
}

/// Blocks whose name starts with `query`, at most `cap`: from the names
/// dictionary (the names in order, each looked up in the index), or, in a
/// database ingested before the dictionary existed, by a scan of every
/// block.
fn prefixed<'e>(
    engine: &'e Reader,
    query: &str,
    cap: usize,
) -> Result<Vec<BlockView<'e>>, StorageError> {
    let snapshot = engine.snapshot();
    let Some(dictionary) = Dictionary::open(snapshot)? else {
        return prefixed_by_scan(engine, query, cap);
    };
    // Each entry names at least one block: this many entries are enough.
    let mut keys: Vec<&str> = Vec::new();
    dictionary.with_prefix(query, |_, key| {
        if keys.last() != Some(&key) {
            keys.push(key);
        }
        keys.len() < cap
    })?;
    let mut found: Vec<BlockView<'e>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        for view in index_lookup(engine, key)? {
            let (name, _) = meta_name(&view);
            if name.starts_with(query) && seen.insert(view.id) {
                found.push(view);
                if found.len() == cap {
                    return Ok(found);
                }
            }
        }
    }
    Ok(found)
}

/// [`prefixed`] by a scan of every block (a database without a names
/// dictionary).
fn prefixed_by_scan<'e>(
    engine: &'e Reader,
    query: &str,
    cap: usize,
) -> Result<Vec<BlockView<'e>>, StorageError> {
    let mut prefixed = Vec::new();
    for view in engine.snapshot().iterate_blocks()? {
        let view = view?;
        let (name, _) = meta_name(&view);
        if !name.is_empty() && name.starts_with(query) {
            prefixed.push(view);
            if prefixed.len() == cap {
                break;
            }
        }
    }
    Ok(prefixed)
}

/// Names close to `query`, for "did you mean" (see [`suggest`]).
pub fn suggestions(engine: &Reader, query: &str) -> Result<Vec<String>, StorageError> {
    Ok(suggest(engine, query)?.names)
}

/// Where suggestions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionSource {
    /// Nowhere: the query is a block id (32 hex digits), and no name is
    /// near one a person meant.
    BlockId,
    /// The blocks the index has under the query's last segment.
    Index,
    /// The names by length, only the lengths near the query's.
    Lengths,
    /// The names dictionary, every name (a database from before the names
    /// by length).
    Dictionary,
    /// A scan of every block (a database without a names dictionary).
    Scan,
}

/// Suggestions and where they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestions {
    /// At most [`MAX_SUGGESTIONS`] names, closest first.
    pub names: Vec<String>,
    /// Where they came from.
    pub source: SuggestionSource,
}

/// Names close to `query`: for `Tree::gett` the qualified names of the
/// blocks named like its last segment (one index lookup); else the names
/// within edit distance `chars / 3` of it (at least 2, at most
/// [`MAX_SUGGESTION_DISTANCE`]), closest first, then by
/// name (see [`crate::suggest`]), read from the names by length (the
/// query's length, then outward one length at a time while a name that
/// far off could still be kept), or, in a database ingested before those
/// existed, from every name of the dictionary or by a scan of every
/// block.
pub fn suggest(engine: &Reader, query: &str) -> Result<Suggestions, StorageError> {
    if is_block_id(query) {
        return Ok(Suggestions {
            names: Vec::new(),
            source: SuggestionSource::BlockId,
        });
    }
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
            return Ok(Suggestions {
                names: scored
                    .into_iter()
                    .take(MAX_SUGGESTIONS)
                    .map(|(_, name)| name)
                    .collect(),
                source: SuggestionSource::Index,
            });
        }
    }
    let limit = (query.chars().count() / 3).clamp(2, MAX_SUGGESTION_DISTANCE);
    let mut nearest = Nearest::new(query, limit, MAX_SUGGESTIONS);
    if let Some(lengths) = NameLengths::open(engine.snapshot())? {
        nearest_by_length(&lengths, query, &mut nearest)?;
        return Ok(Suggestions {
            names: nearest.into_names(),
            source: SuggestionSource::Lengths,
        });
    }
    let source = match Dictionary::open(engine.snapshot())? {
        Some(dictionary) => {
            let mut examined = 0;
            dictionary.names(|name| {
                nearest.offer(name);
                examined += 1;
                examined < MAX_NAMES_EXAMINED
            })?;
            SuggestionSource::Dictionary
        }
        None => {
            for view in engine.snapshot().iterate_blocks()? {
                let (name, _) = meta_name(&view?);
                if !name.is_empty() {
                    nearest.offer(&name);
                }
            }
            SuggestionSource::Scan
        }
    };
    Ok(Suggestions {
        names: nearest.into_names(),
        source,
    })
}

/// Offers `nearest` the names of `lengths` whose length could be within
/// its bound of the query's: the query's length, then one off each way,
/// and so on, until the distance in length alone exceeds the bound (which
/// drops as near names are kept). Reads at most [`MAX_NAMES_EXAMINED`].
fn nearest_by_length(
    lengths: &NameLengths<'_>,
    query: &str,
    nearest: &mut Nearest,
) -> Result<(), StorageError> {
    let length = name_length(query);
    let mut examined = 0;
    let mut apart = 0u32;
    while apart as usize <= nearest.bound() {
        let shorter = length.checked_sub(apart).filter(|_| apart > 0);
        for of_length in shorter.into_iter().chain(length.checked_add(apart)) {
            let go_on = lengths.names_of_length(of_length, |name| {
                nearest.offer(name);
                examined += 1;
                examined < MAX_NAMES_EXAMINED
            })?;
            if !go_on {
                return Ok(());
            }
        }
        apart += 1;
    }
    Ok(())
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
