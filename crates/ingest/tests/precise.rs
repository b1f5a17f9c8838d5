//! Precise mode: a SCIP index's call edges replace the heuristic call
//! edges of the files it covers and still describes; edits fall back to
//! heuristic edges per file; restarts keep what was merged; bad indexes
//! are refused before anything is written.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kausal_ingest::Ingester;
use kausal_ingest::precise::{PreciseError, PreciseIndex};
use kausal_storage::Database;
use kausal_vfs::{OsVfs, Vfs};
use protobuf::Message;
use scip::types::{Document, Index, Metadata, Occurrence, ToolInfo};
use support::*;

const LIB: &str = "mod a;\nmod b;\nmod c;\nmod d;\n";
const A: &str = "\
pub struct Store;
impl Store {
    pub fn get(&self) -> u32 {
        1
    }
}
pub struct Cache;
impl Cache {
    pub fn get(&self) -> u32 {
        2
    }
}
pub fn open() -> Store {
    Store
}
";
// `second`'s receiver comes from a function the heuristic cannot type:
// it sees two `get`s and stores candidates; the index knows.
const B: &str = "\
use crate::a;
pub fn first() -> u32 {
    let s = a::open();
    s.get()
}
pub fn second() -> u32 {
    let v = crate::c::make();
    v.get()
}
";
const C: &str = "\
pub fn make() -> impl Sized {
    crate::a::Cache
}
pub fn third() -> u32 {
    crate::b::first()
}
";

// `generated` is written by a macro: tree-sitter sees a token tree and
// makes no block for it; the index defines it (at its name in the
// invocation), so the merge creates one.
const D: &str = "\
macro_rules! make_fn {
    ($name:ident) => {
        pub fn $name() -> u32 {
            7
        }
    };
}
make_fn!(generated);
pub fn user() -> u32 {
    generated()
}
";

const PKG: &str = "rust-analyzer cargo fx 0.1.0 ";

/// A SCIP document under construction: occurrences found by searching the
/// text (byte columns, as rust-analyzer counts).
struct Doc {
    path: &'static str,
    text: &'static str,
    occurrences: Vec<Occurrence>,
}

impl Doc {
    fn new(path: &'static str, text: &'static str) -> Self {
        Self {
            path,
            text,
            occurrences: Vec::new(),
        }
    }

    /// An occurrence of `ident` in the first line containing `line`.
    fn at(mut self, line: &str, ident: &str, symbol: &str, definition: bool) -> Self {
        let (number, text) = self
            .text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(line))
            .unwrap_or_else(|| panic!("no line with {line:?} in {}", self.path));
        let from = text.find(line).unwrap();
        let column = from + text[from..].find(ident).unwrap();
        self.occurrences.push(Occurrence {
            range: vec![number as i32, column as i32, (column + ident.len()) as i32],
            symbol: format!("{PKG}{symbol}"),
            symbol_roles: i32::from(definition),
            ..Occurrence::default()
        });
        self
    }

    fn def(self, line: &str, ident: &str, symbol: &str) -> Self {
        self.at(line, ident, symbol, true)
    }

    fn call(self, line: &str, ident: &str, symbol: &str) -> Self {
        self.at(line, ident, symbol, false)
    }

    /// The last occurrence spans, as a whole definition, the lines from
    /// the one containing `line` through `lines` more.
    fn enclosing(mut self, line: &str, lines: usize) -> Self {
        let number = self.text.lines().position(|l| l.contains(line)).unwrap();
        let end = self.text.lines().nth(number + lines).unwrap().len();
        let last = self.occurrences.last_mut().unwrap();
        last.enclosing_range = vec![number as i32, 0, (number + lines) as i32, end as i32];
        self
    }
}

fn index_bytes(documents: Vec<Doc>) -> Vec<u8> {
    let index = Index {
        metadata: Some(Metadata {
            tool_info: Some(ToolInfo {
                name: "rust-analyzer".into(),
                version: "test".into(),
                ..ToolInfo::default()
            })
            .into(),
            project_root: "file:///fixture".into(),
            ..Metadata::default()
        })
        .into(),
        documents: documents
            .into_iter()
            .map(|doc| Document {
                relative_path: doc.path.into(),
                occurrences: doc.occurrences,
                ..Document::default()
            })
            .collect(),
        ..Index::default()
    };
    index.write_to_bytes().unwrap()
}

/// The index of the fixture: definitions in `a.rs`, `c.rs` and `b.rs`,
/// and every call with its true callee.
fn fixture_index(c: &'static str) -> Vec<u8> {
    let a = Doc::new("src/a.rs", A)
        .def("pub fn get(&self) -> u32 {", "get", "a/Store#get().")
        .def("pub fn open()", "open", "a/open().");
    // The second `get` is Cache's: found by its own line.
    let mut a = a;
    let cache_line = A.lines().position(|l| l.contains("impl Cache")).unwrap() + 1;
    let column = A.lines().nth(cache_line).unwrap().find("get").unwrap();
    a.occurrences.push(Occurrence {
        range: vec![cache_line as i32, column as i32, column as i32 + 3],
        symbol: format!("{PKG}a/Cache#get()."),
        symbol_roles: 1,
        ..Occurrence::default()
    });
    let b = Doc::new("src/b.rs", B)
        .def("pub fn first", "first", "b/first().")
        .def("pub fn second", "second", "b/second().")
        .call("a::open()", "open", "a/open().")
        .call("s.get()", "get", "a/Store#get().")
        .call("c::make()", "make", "c/make().")
        .call("v.get()", "get", "a/Cache#get().");
    let c = Doc::new("src/c.rs", c)
        .def("pub fn make", "make", "c/make().")
        .def("pub fn third", "third", "c/third().")
        .call("b::first()", "first", "b/first().");
    index_bytes(vec![a, b, c, d_document()])
}

/// The document of `src/d.rs`: `generated` defined in the macro's
/// invocation (the whole invocation its enclosing range), called by `user`.
fn d_document() -> Doc {
    Doc::new("src/d.rs", D)
        .def("make_fn!(generated)", "generated", "d/generated().")
        .enclosing("make_fn!(generated)", 0)
        .def("pub fn user", "user", "d/user().")
        .enclosing("pub fn user", 2)
        .call("    generated()", "generated", "d/generated().")
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn ns(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

const WRITTEN: u64 = 1_600_000_000;
const INDEXED: u64 = 1_700_000_000;
const EDITED: u64 = 1_800_000_000;

fn set_mtime(root: &Path, path: &str, time: SystemTime) {
    let file = std::fs::File::options()
        .write(true)
        .open(root.join(path))
        .unwrap();
    file.set_modified(time).unwrap();
}

/// Writes the fixture tree with `c` as `src/c.rs`, every file written
/// before the index was made.
fn write_fixture(root: &Path, c: &str) {
    write_tree(
        root,
        &[
            ("src/lib.rs", LIB),
            ("src/a.rs", A),
            ("src/b.rs", B),
            ("src/c.rs", c),
            ("src/d.rs", D),
        ],
    );
    for path in ["src/lib.rs", "src/a.rs", "src/b.rs", "src/c.rs", "src/d.rs"] {
        set_mtime(root, path, at(WRITTEN));
    }
}

fn ingester(root: &Path) -> Ingester {
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    Ingester::new(vfs, root, options()).unwrap()
}

fn precise(bytes: &[u8]) -> PreciseIndex {
    PreciseIndex::decode(bytes, "index.scip", Some(ns(at(INDEXED)))).unwrap()
}

/// Every stored edge has both ends stored.
fn assert_no_dangling(engine: &Database) {
    let dump = dump(engine);
    for edge in &dump.edges {
        if edge.edge_type == kausal_storage::EdgeType::Names {
            continue;
        }
        assert!(dump.blocks.contains_key(&edge.source), "source of {edge:?}");
        assert!(dump.blocks.contains_key(&edge.target), "target of {edge:?}");
    }
}

#[test]
fn the_index_replaces_the_heuristic_call_edges_of_the_files_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let engine = open_engine(&dir.path().join("db"));
    let mut ingester = ingester(&root);

    ingester.ingest(&engine).unwrap();
    let heuristic = edge_lines(&engine);
    // The heuristic cannot type `second`'s receiver: no edge to a `get`.
    assert!(
        !heuristic
            .iter()
            .any(|e| e.starts_with("crate::b::second -calls_method->")),
        "{heuristic:#?}"
    );

    let report = ingester
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    assert_eq!(report.precise.applied, 4, "{report}");
    assert!(report.precise.rejected.is_empty(), "{report}");
    assert_eq!((report.precise.files, report.precise.stale), (4, 0));
    assert_eq!((report.precise.unmapped, report.precise.blocks), (0, 1));
    let (records, unrecorded) = provenance_lines(&engine);
    assert_eq!(unrecorded, 0);
    assert_eq!(
        records,
        lines(&[
            "crate::b::first -calls-> crate::a::open precise",
            "crate::b::first -calls_method-> crate::a::Store::get precise",
            "crate::b::second -calls-> crate::c::make precise",
            "crate::b::second -calls_method-> crate::a::Cache::get precise",
            "crate::c::third -calls-> crate::b::first precise",
            "crate::d::user -calls-> crate::d::generated precise",
        ])
    );
    let edges = edge_lines(&engine);
    assert!(
        !edges.iter().any(|e| e.contains("calls_candidate")),
        "{edges:#?}"
    );
    // Everything but call edges is as the heuristic ingest left it, and
    // the block created for `generated` is an item of its file.
    let not_calls = |set: &std::collections::BTreeSet<String>| {
        set.iter()
            .filter(|e| !e.contains(" -calls"))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    let mut expected = not_calls(&heuristic);
    expected.insert("src/d.rs -contains-> crate::d::generated".into());
    expected.insert("crate::d::generated -defined_in-> src/d.rs".into());
    assert_eq!(not_calls(&edges), expected);
    assert_no_dangling(&engine);

    // Merging the same index again writes nothing.
    let again = ingester
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    assert_eq!(
        (
            again.blocks_written,
            again.edges_written,
            again.edges_deleted
        ),
        (0, 0, 0)
    );
}

#[test]
fn files_the_index_does_not_cover_keep_their_heuristic_edges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let engine = open_engine(&dir.path().join("db"));
    // An index of b.rs alone (with the callees' definitions it needs).
    let a = Doc::new("src/a.rs", A).def("pub fn open()", "open", "a/open().");
    let b = Doc::new("src/b.rs", B)
        .def("pub fn first", "first", "b/first().")
        .call("a::open()", "open", "a/open().");
    let bytes = index_bytes(vec![a, b]);
    let report = ingester(&root)
        .ingest_precise(&engine, &[precise(&bytes)])
        .unwrap();
    assert_eq!(report.precise.applied, 2);
    let (records, _) = provenance_lines(&engine);
    // b.rs: exactly the index's one call; c.rs: heuristic rules.
    assert!(records.contains("crate::b::first -calls-> crate::a::open precise"));
    assert!(!records.iter().any(|r| r.starts_with("crate::b::second")));
    assert!(
        records.contains("crate::c::third -calls-> crate::b::first path"),
        "{records:#?}"
    );
}

/// Edits `path` (to `edited`, after the index) in a tree merged with the
/// fixture index, re-ingests, and checks the graph against a fresh ingest
/// of the edited tree merging the same index (where `path` is refused as
/// modified after the index): the same edges, the same blocks but the
/// stale precise-calls block of `path` (and the walk record that counts
/// it). Returns the engine and the ingester, to undo the edit.
fn edit_and_compare(root: &Path, db: &Path, path: &str, edited: &str) -> (Database, Ingester) {
    let engine = open_engine(db);
    let mut ingester = ingester(root);
    ingester
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    std::fs::write(root.join(path), edited).unwrap();
    set_mtime(root, path, at(EDITED));
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!(
        (report.precise.files, report.precise.stale),
        (4, 1),
        "{report}"
    );

    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = open_engine(fresh_dir.path());
    let fresh_report = self::ingester(root)
        .ingest_precise(&fresh, &[precise(&fixture_index(C))])
        .unwrap();
    let rejected: Vec<&str> = fresh_report
        .precise
        .rejected
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(rejected, [path], "{fresh_report}");
    assert_eq!(report.precise.blocks, fresh_report.precise.blocks);
    let incremental = dump(&engine);
    let from_scratch = dump(&fresh);
    assert_eq!(incremental.edges, from_scratch.edges);
    let walk = kausal_ingest::walk_record::walk_record_id();
    let mut blocks = incremental.blocks.clone();
    blocks.retain(|id, _| from_scratch.blocks.contains_key(id) && *id != walk);
    let mut expected = from_scratch.blocks.clone();
    expected.remove(&walk);
    assert_eq!(blocks, expected);
    assert_eq!(incremental.blocks.len(), from_scratch.blocks.len() + 1);
    assert_no_dangling(&engine);
    (engine, ingester)
}

/// The blocks named `name` in the name index (what `kausal find` reads).
fn named(engine: &Database, name: &str) -> Vec<(String, String)> {
    let dump = dump(engine);
    let key = kausal_ingest::name_index::key_id(name);
    engine
        .snapshot()
        .find_outgoing_edges(key)
        .unwrap()
        .iter()
        .filter(|edge| edge.edge_type == kausal_storage::EdgeType::Names)
        .map(|edge| {
            let (_, meta, content) = &dump.blocks[&edge.target];
            (meta.clone(), content.clone())
        })
        .collect()
}

#[test]
fn an_edit_falls_back_to_heuristic_edges_for_the_edited_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    // b.rs edited after the index: a body edit, same items and calls.
    let edited_b = B.replace("let s = a::open();", "let s = a::open(); // opened");
    let db = dir.path().join("db");
    let (engine, mut ingester) = edit_and_compare(&root, &db, "src/b.rs", &edited_b);
    let (records, _) = provenance_lines(&engine);
    assert!(
        !records
            .iter()
            .any(|r| r.starts_with("crate::b::") && r.ends_with(" precise")),
        "{records:#?}"
    );
    assert!(records.contains("crate::c::third -calls-> crate::b::first precise"));
    // The other files keep their created blocks.
    assert!(records.contains("crate::d::user -calls-> crate::d::generated precise"));

    // The edit undone: the stored precise edges describe b.rs again.
    std::fs::write(root.join("src/b.rs"), B).unwrap();
    set_mtime(&root, "src/b.rs", at(WRITTEN));
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!(report.precise.stale, 0);
    let (records, _) = provenance_lines(&engine);
    assert!(records.contains("crate::b::second -calls_method-> crate::a::Cache::get precise"));
}

#[test]
fn a_function_tree_sitter_has_no_block_for_gets_one_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let engine = open_engine(&dir.path().join("db"));
    let mut ingester = ingester(&root);
    ingester.ingest(&engine).unwrap();
    // Tree-sitter sees `make_fn!(generated);` as a macro call.
    assert_eq!(named(&engine, "generated"), []);

    let report = ingester
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    assert_eq!((report.precise.unmapped, report.precise.blocks), (0, 1));
    // `find generated`: one block, where the index defines it.
    let found = named(&engine, "generated");
    assert_eq!(found.len(), 1, "{found:?}");
    let (meta, content) = &found[0];
    assert_eq!(meta_field(meta, "kind"), "function");
    assert_eq!(meta_field(meta, "qualified_name"), "crate::d::generated");
    assert_eq!(meta_field(meta, "origin"), "precise");
    assert_eq!(meta_field(meta, "language"), "rust");
    assert_eq!(meta_field(meta, "path"), "src/d.rs");
    let lines_of = |meta: &str| (meta_field(meta, "start_line"), meta_field(meta, "end_line"));
    assert_eq!(lines_of(meta), ("8".into(), "8".into()));
    assert_eq!(content, "make_fn!(generated);");
    assert_eq!(named(&engine, "d::generated").len(), 1);
    assert_eq!(named(&engine, "crate::d::generated").len(), 1);
    // `callers generated`: `user`, by the index.
    let (records, _) = provenance_lines(&engine);
    assert!(
        records.contains("crate::d::user -calls-> crate::d::generated precise"),
        "{records:#?}"
    );
    assert_no_dangling(&engine);
}

#[test]
fn an_edit_of_a_file_with_a_created_block_removes_it_until_the_next_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let edited_d = D.replace("    generated()", "    generated() + 1");
    let db = dir.path().join("db");
    let (engine, mut ingester) = edit_and_compare(&root, &db, "src/d.rs", &edited_d);
    // d.rs keeps its stored precise calls (stale), not its created block:
    // the edit may have moved or removed `generated`.
    assert_eq!(named(&engine, "generated"), []);
    let edges = edge_lines(&engine);
    assert!(!edges.iter().any(|e| e.contains("generated")), "{edges:#?}");

    // The edit undone: the block is back, with its caller.
    std::fs::write(root.join("src/d.rs"), D).unwrap();
    set_mtime(&root, "src/d.rs", at(WRITTEN));
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!((report.precise.stale, report.precise.blocks), (0, 1));
    assert_eq!(named(&engine, "generated").len(), 1);
    let (records, _) = provenance_lines(&engine);
    assert!(records.contains("crate::d::user -calls-> crate::d::generated precise"));
    assert_no_dangling(&engine);
}

#[test]
fn a_precise_edge_to_a_function_deleted_since_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let engine = open_engine(&dir.path().join("db"));
    let mut ingester = ingester(&root);
    ingester
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    // `b::first` renamed: c.rs is unchanged, its precise edge to `first`
    // has no target any more.
    let renamed = B.replace("pub fn first()", "pub fn first_renamed()");
    std::fs::write(root.join("src/b.rs"), renamed).unwrap();
    set_mtime(&root, "src/b.rs", at(EDITED));
    ingester.ingest(&engine).unwrap();
    assert_no_dangling(&engine);
    let (records, _) = provenance_lines(&engine);
    assert!(
        !records.iter().any(|r| r.starts_with("crate::c::third")),
        "{records:#?}"
    );
}

#[test]
fn a_restart_keeps_the_merged_edges() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let db = dir.path().join("db");
    let before = {
        let engine = open_engine(&db);
        ingester(&root)
            .ingest_precise(&engine, &[precise(&fixture_index(C))])
            .unwrap();
        engine.sync().unwrap();
        let before = dump(&engine);
        engine.shutdown().unwrap();
        before
    };
    let engine = open_engine(&db);
    // A new process: the picture is loaded from the graph, then verified.
    let report = ingester(&root).ingest(&engine).unwrap();
    assert_eq!((report.precise.files, report.precise.stale), (4, 0));
    assert_eq!(dump(&engine).edges, before.edges);
    assert_eq!(dump(&engine).blocks, before.blocks);
}

#[test]
fn an_index_merged_after_a_restart_equals_one_merged_in_the_same_process() {
    // After a restart that trusts the stored graph, the picture holds no
    // file's text: the merge reads the texts it maps from the file blocks.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_fixture(&root, C);
    let in_process = {
        let engine = open_engine(&dir.path().join("one"));
        let mut ingester = ingester(&root);
        ingester.ingest(&engine).unwrap();
        ingester
            .ingest_precise(&engine, &[precise(&fixture_index(C))])
            .unwrap();
        dump(&engine)
    };
    let db = dir.path().join("two");
    {
        let engine = open_engine(&db);
        ingester(&root).ingest(&engine).unwrap();
        engine.sync().unwrap();
        engine.shutdown().unwrap();
    }
    let engine = open_engine(&db);
    let report = ingester(&root)
        .ingest_precise(&engine, &[precise(&fixture_index(C))])
        .unwrap();
    assert!(!report.checked_whole_graph, "{report}");
    assert_eq!(report.precise.applied, 4, "{report}");
    let restarted = dump(&engine);
    assert_eq!(restarted.edges, in_process.edges);
    assert_eq!(restarted.blocks, in_process.blocks);
}

#[test]
fn a_file_whose_text_no_longer_matches_the_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    // c.rs gained a line at the top after the index was made; no index
    // time is known (only the text check applies).
    let shifted: &'static str = Box::leak(format!("// new first line\n{C}").into_boxed_str());
    write_fixture(&root, shifted);
    let engine = open_engine(&dir.path().join("db"));
    let index = PreciseIndex::decode(&fixture_index(C), "index.scip", None).unwrap();
    let report = ingester(&root).ingest_precise(&engine, &[index]).unwrap();
    let rejected: Vec<&str> = report
        .precise
        .rejected
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(rejected, ["src/c.rs"], "{report}");
    assert!(
        report.precise.rejected[0].reason.contains("src/c.rs:1"),
        "{report}"
    );
}

#[test]
fn corrupt_and_truncated_indexes_are_refused_with_the_reason() {
    let bytes = fixture_index(C);
    let refused = |bytes: &[u8]| match PreciseIndex::decode(bytes, "cut.scip", None) {
        Err(PreciseError::Corrupt { path, reason }) => {
            assert_eq!(path, "cut.scip");
            assert!(!reason.is_empty());
            true
        }
        Ok(_) => false,
    };
    assert!(refused(&[]));
    assert!(refused(b"not a scip index at all, just text\n"));
    assert!(refused(&[0xff; 64]));
    // Cut anywhere but between two top-level fields (the metadata and
    // each document): a length prefix promises more than there is. (The
    // protobuf decoder alone accepts a document cut at a field boundary.)
    let boundaries = top_level_boundaries(&bytes);
    for cut in 1..bytes.len() {
        if !boundaries.contains(&cut) {
            assert!(refused(&bytes[..cut]), "cut at {cut} of {}", bytes.len());
        }
    }
    // A cut exactly between two documents cannot be told from a smaller
    // index (protobuf has no end marker): it decodes, with fewer
    // documents, and files it no longer covers keep heuristic edges.
    let documents = |cut: usize| {
        PreciseIndex::decode(&bytes[..cut], "cut.scip", None)
            .unwrap()
            .documents()
    };
    assert_eq!(boundaries.len(), 4, "{boundaries:?}");
    assert_eq!(documents(boundaries[1]), 1);
    assert_eq!(documents(boundaries[2]), 2);
    // Only metadata: no documents, refused.
    assert!(refused(&bytes[..boundaries[0]]));
    let index = PreciseIndex::decode(&bytes, "whole.scip", None).unwrap();
    assert_eq!((index.documents(), index.tool()), (4, "rust-analyzer test"));
}

/// Offsets where a top-level field of `bytes` ends (the last excluded):
/// each field here is length-delimited with a one-byte tag.
fn top_level_boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut boundaries = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        offset += 1; // tag
        let (mut length, mut shift) = (0usize, 0);
        loop {
            let byte = bytes[offset];
            offset += 1;
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        offset += length;
        if offset < bytes.len() {
            boundaries.push(offset);
        }
    }
    boundaries
}
