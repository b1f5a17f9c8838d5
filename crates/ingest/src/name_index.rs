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
    let segments: Vec<&str> = query.split(sep).collect();
    if segments.len() <= 2 {
        query.to_string()
    } else {
        segments[segments.len() - 2..].join(sep)
    }
}

/// True when `qualified_name` is `query` or ends with `<sep>query`.
pub fn matches_suffix(qualified_name: &str, query: &str) -> bool {
    qualified_name == query
        || qualified_name
            .strip_suffix(query)
            .is_some_and(|head| head.ends_with("::") || head.ends_with('.'))
}

/// Keys of an item with this qualified name.
fn item_keys(qualified_name: &str, keys: &mut Vec<String>) {
    let sep = separator(qualified_name);
    let segments: Vec<&str> = qualified_name.split(sep).collect();
    if let Some(last) = segments.last() {
        keys.push((*last).to_string());
    }
    if segments.len() >= 2 {
        keys.push(segments[segments.len() - 2..].join(sep));
    }
    keys.push(qualified_name.to_string());
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
