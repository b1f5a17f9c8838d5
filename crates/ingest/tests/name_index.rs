//! The name index after a cold ingest and after edits: lookups by name,
//! qualified-name suffix and path find exactly the blocks they name, and
//! renamed or deleted items leave the index with them.

mod support;

use std::sync::Arc;

use kausal_ingest::name_index::{PATH_KEY_PREFIX, key_id, lookup_key, matches_suffix};
use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{Database, EdgeType};
use kausal_vfs::OsVfs;
use support::meta_field;

/// Qualified names (or paths, for files) of the blocks `query` resolves to.
fn lookup(engine: &Database, query: &str) -> Vec<String> {
    let mut found: Vec<String> = engine
        .snapshot()
        .find_outgoing_edges(key_id(&lookup_key(query)))
        .unwrap()
        .into_iter()
        .filter(|edge| edge.edge_type == EdgeType::Names)
        .filter_map(|edge| {
            let snapshot = engine.snapshot();
            let view = snapshot.find_block(edge.target).unwrap()?;
            let qualified = meta_field(view.metadata_json, "qualified_name");
            let is_file = meta_field(view.metadata_json, "kind") == "file";
            let keep = query.starts_with(PATH_KEY_PREFIX)
                || meta_field(view.metadata_json, "name") == query
                || matches_suffix(&qualified, query);
            keep.then(|| {
                if is_file {
                    view.source_uri.to_string()
                } else {
                    qualified
                }
            })
        })
        .collect();
    found.sort();
    found
}

#[test]
fn names_suffixes_and_paths_resolve_through_the_index() {
    let repo = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = repo.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write("src/lib.rs", "pub mod reader;\npub mod writer;\n");
    write(
        "src/reader.rs",
        "pub struct TableReader;\nimpl TableReader {\n    pub fn find(&self) {}\n}\npub fn open() {}\n",
    );
    write(
        "src/writer.rs",
        "pub struct TableWriter;\nimpl TableWriter {\n    pub fn find(&self) {}\n}\n",
    );
    let db = tempfile::tempdir().unwrap();
    let vfs = Arc::new(OsVfs::new());
    let engine =
        Database::open_with(vfs.clone(), db.path(), kausal_storage::Config::default()).unwrap();
    let mut ingester = Ingester::new(
        vfs,
        repo.path(),
        IngestOptions {
            progress: false,
            ..IngestOptions::default()
        },
    )
    .unwrap();
    ingester.ingest(&engine).unwrap();
    assert_eq!(
        lookup(&engine, "find"),
        [
            "crate::reader::TableReader::find",
            "crate::writer::TableWriter::find"
        ]
    );
    assert_eq!(
        lookup(&engine, "TableReader::find"),
        ["crate::reader::TableReader::find"]
    );
    assert_eq!(
        lookup(&engine, "reader::TableReader::find"),
        ["crate::reader::TableReader::find"]
    );
    assert_eq!(lookup(&engine, "open"), ["crate::reader::open"]);
    assert_eq!(lookup(&engine, "path:src/reader.rs"), ["src/reader.rs"]);
    assert_eq!(lookup(&engine, "reader.rs"), ["src/reader.rs"]);
    assert!(lookup(&engine, "nothing_here").is_empty());

    // Rename `open` to `open_table`, delete writer.rs.
    write(
        "src/reader.rs",
        "pub struct TableReader;\nimpl TableReader {\n    pub fn find(&self) {}\n}\npub fn open_table() {}\n",
    );
    std::fs::remove_file(repo.path().join("src/writer.rs")).unwrap();
    ingester.ingest(&engine).unwrap();
    assert!(lookup(&engine, "open").is_empty());
    assert_eq!(lookup(&engine, "open_table"), ["crate::reader::open_table"]);
    assert_eq!(
        lookup(&engine, "find"),
        ["crate::reader::TableReader::find"]
    );
    assert!(lookup(&engine, "writer.rs").is_empty());
}
