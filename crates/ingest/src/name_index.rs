//! The name index: lets `find` and name resolution answer from one edge
//! lookup instead of a scan that parses every block's metadata.
//!
//! Each key is a node id (not a block) hashed from the key text; a `names`
//! edge leads from the key's node to every block it names. Keys of a block:
//! its last name segment (`find`), its last two segments (`TableReader::find`),
//! its whole qualified name, and for a file block its file name and
//! `path:<repo-relative path>`. A longer suffix query (`reader::TableReader::find`)
//! looks up its last two segments and filters by suffix.
//!
//! The edges are computed from the same summaries as every other edge and
//! written in the same per-file batches, so the index is exactly as durable
//! and as current as the blocks (a crash mid-ingest leaves both at the same
//! batch boundary), deleting a block deletes its index edges with it, and
//! the incremental-equals-fresh rule covers the index too.

use kausal_storage::{BlockId, EdgeType, GraphEdge};

use crate::hash::StableHasher;
use crate::naming::FileNames;

/// Prefix of the key that names a file by its repo-relative path.
pub const PATH_KEY_PREFIX: &str = "path:";

/// Node id of an index key.
pub fn key_id(key: &str) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name index v1")
        .field(key.as_bytes())
        .finish();
    // The all-zero id is reserved; a hash of zero is astronomically unlikely
    // but must still map to a valid id.
    BlockId::from_u128(hash.max(1))
}

/// The separator of a qualified name: `::` (Rust, C) or `.` (the rest).
pub fn separator(qualified_name: &str) -> &'static str {
    if qualified_name.contains("::") {
        "::"
    } else {
        "."
    }
}

/// The index key a lookup of `query` uses: the query itself when it has at
/// most two segments, else its last two.
pub fn lookup_key(query: &str) -> String {
    let sep = separator(query);
    let segments = split_segments(query, sep);
    if segments.len() <= 2 {
        query.to_string()
    } else {
        segments[segments.len() - 2..].join(sep)
    }
}

/// True when `qualified_name` is `query` or ends with `<sep>query`, also
/// with a trait impl's segment `<Tree as AbstractTree>` read as the type
/// (`Tree::get`) or as the trait (`AbstractTree::get`), as people type it.
pub fn matches_suffix(qualified_name: &str, query: &str) -> bool {
    let plain = |qualified: &str| {
        qualified == query
            || qualified
                .strip_suffix(query)
                .is_some_and(|head| head.ends_with("::") || head.ends_with('.'))
    };
    if plain(qualified_name) {
        return true;
    }
    if !qualified_name.contains(" as ") {
        return false;
    }
    let sep = separator(qualified_name);
    let segments = split_segments(qualified_name, sep);
    segments.iter().enumerate().any(|(at, segment)| {
        impl_segment_names(segment).is_some_and(|(type_name, trait_name)| {
            [type_name, trait_name].iter().any(|name| {
                let mut variant: Vec<&str> = segments.clone();
                variant[at] = name;
                plain(&variant.join(sep))
            })
        })
    })
}

/// The segments of a qualified name split at `sep` outside angle brackets
/// (`crate::<Tree as tree::AbstractTree>::get` has three).
fn split_segments<'q>(qualified_name: &'q str, sep: &str) -> Vec<&'q str> {
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut at = 0;
    let bytes = qualified_name.as_bytes();
    while at < bytes.len() {
        match bytes[at] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            _ if depth == 0 && qualified_name[at..].starts_with(sep) => {
                segments.push(&qualified_name[start..at]);
                at += sep.len();
                start = at;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    segments.push(&qualified_name[start..]);
    segments
}

/// `<Tree<K> as tree::AbstractTree>` -> (`Tree`, `AbstractTree`): the
/// names a trait impl's segment goes by. `None` for any other segment.
fn impl_segment_names(segment: &str) -> Option<(&str, &str)> {
    let inner = segment.strip_prefix('<')?.strip_suffix('>')?;
    let (type_text, trait_text) = inner.split_once(" as ")?;
    let type_end = type_text.find('<').unwrap_or(type_text.len());
    let type_name = type_text[..type_end].rsplit("::").next()?.trim();
    let trait_end = trait_text.find('<').unwrap_or(trait_text.len());
    let trait_name = trait_text[..trait_end].rsplit("::").next()?.trim();
    (!type_name.is_empty() && !trait_name.is_empty()).then_some((type_name, trait_name))
}

/// Keys of an item with this qualified name; a method of a trait impl
/// (`<Tree as AbstractTree>::get`) also gets `Tree::get` and
/// `AbstractTree::get`.
fn item_keys(qualified_name: &str, keys: &mut Vec<String>) {
    let sep = separator(qualified_name);
    let segments = split_segments(qualified_name, sep);
    if let Some(last) = segments.last() {
        keys.push((*last).to_string());
    }
    if segments.len() >= 2 {
        keys.push(segments[segments.len() - 2..].join(sep));
        if let (Some(last), Some((type_name, trait_name))) = (
            segments.last(),
            impl_segment_names(segments[segments.len() - 2]),
        ) {
            keys.push(format!("{type_name}{sep}{last}"));
            keys.push(format!("{trait_name}{sep}{last}"));
        }
    }
    keys.push(qualified_name.to_string());
}

/// True when `name` is one of the index keys of an item whose qualified
/// name is `qualified` (so looking `name` up finds the item).
pub(crate) fn is_key_of(name: &str, qualified: &str) -> bool {
    let mut keys = Vec::new();
    item_keys(qualified, &mut keys);
    keys.iter().any(|key| key == name)
}

/// The `names` edges of one file's blocks.
pub fn file_edges(path: &str, names: &FileNames, out: &mut Vec<GraphEdge>) {
    let mut keys = Vec::new();
    let push = |keys: &mut Vec<String>, id: BlockId, out: &mut Vec<GraphEdge>| {
        keys.sort();
        keys.dedup();
        for key in keys.drain(..) {
            if !key.is_empty() {
                out.push(GraphEdge::new(key_id(&key), id, EdgeType::Names));
            }
        }
    };
    let file_name = path.rsplit('/').next().unwrap_or(path);
    keys.push(file_name.to_string());
    keys.push(format!("{PATH_KEY_PREFIX}{path}"));
    if !names.module.is_empty() {
        item_keys(&names.module, &mut keys);
    }
    push(&mut keys, names.file_id, out);
    for (id, qualified) in names.item_ids.iter().zip(&names.qualified) {
        item_keys(qualified, &mut keys);
        push(&mut keys, *id, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_suffix_matching() {
        assert_eq!(lookup_key("find"), "find");
        assert_eq!(lookup_key("TableReader::find"), "TableReader::find");
        assert_eq!(lookup_key("reader::TableReader::find"), "TableReader::find");
        assert_eq!(lookup_key("pkg.util.Parser.parse"), "Parser.parse");
        assert!(matches_suffix(
            "crate::a::TableReader::find",
            "TableReader::find"
        ));
        assert!(matches_suffix(
            "crate::a::TableReader::find",
            "crate::a::TableReader::find"
        ));
        assert!(!matches_suffix(
            "crate::a::MyTableReader::find",
            "TableReader::find"
        ));
        assert!(matches_suffix("pkg.util.Parser.parse", "util.Parser.parse"));
        // A trait impl's method goes by its type's and its trait's name.
        let get = "crate::tree::<Tree<K> as tree::AbstractTree>::get";
        assert!(matches_suffix(get, "Tree::get"));
        assert!(matches_suffix(get, "AbstractTree::get"));
        assert!(matches_suffix(get, "tree::Tree::get"));
        assert!(!matches_suffix(get, "Tre::get"));
        assert_eq!(lookup_key(get), "<Tree<K> as tree::AbstractTree>::get");
        let mut keys = Vec::new();
        item_keys(get, &mut keys);
        assert!(keys.contains(&"Tree::get".to_string()), "{keys:?}");
        assert!(keys.contains(&"AbstractTree::get".to_string()), "{keys:?}");
        assert_ne!(key_id("find"), key_id("Find"));
    }

    #[test]
    fn a_file_and_its_items_get_their_keys() {
        let names = FileNames {
            file_id: BlockId::from_u128(1),
            module: "crate::sstable::reader".into(),
            item_ids: vec![BlockId::from_u128(2)],
            qualified: vec!["crate::sstable::reader::TableReader::find".into()],
        };
        let mut edges = Vec::new();
        file_edges("src/sstable/reader.rs", &names, &mut edges);
        let named = |key: &str, id: u128| {
            edges.contains(&GraphEdge::new(
                key_id(key),
                BlockId::from_u128(id),
                EdgeType::Names,
            ))
        };
        assert!(named("reader.rs", 1));
        assert!(named("path:src/sstable/reader.rs", 1));
        assert!(named("crate::sstable::reader", 1));
        assert!(named("find", 2));
        assert!(named("TableReader::find", 2));
        assert!(named("crate::sstable::reader::TableReader::find", 2));
        assert!(named("reader", 1) && named("sstable::reader", 1));
        assert_eq!(edges.len(), 5 + 3);
    }
}
