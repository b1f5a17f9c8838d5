//! Stability guard for the on-disk format: databases written by each
//! supported table format are checked into `tests/fixtures/db-v<N>/`, and
//! this build must open, verify and query every one of them. The newest
//! fixture must also be exactly what this build writes for the same graph,
//! byte for byte, so a format change without a version bump (and a new
//! fixture) fails here instead of slipping into users' directories.
//!
//! To add a fixture after a deliberate format change (new version number):
//! `KAUSAL_FIXTURE_OUT=fixtures/db-v<N> cargo test -p kausal-tests
//! --test format_fixture -- --ignored write_fixture`, and add it to
//! `FIXTURES`. See "Format compatibility" in docs/DESIGN.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_query::QueryEngine;
use kausal_storage::{
    BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, Snapshot, SyncMode, WriteBatch,
};
use kausal_vfs::OsVfs;

/// Each checked-in fixture and the table format version its tables carry.
const FIXTURES: &[(&str, u32)] = &[("db-v2", 2), ("db-v3", 3), ("db-v4", 4)];

/// Footer size of every table version so far; the version sits 8 bytes
/// into it (see crates/storage/src/sstable/mod.rs).
const TABLE_FOOTER_BYTES: usize = 160;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn config() -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(8 * 1024)
        .sync_mode(SyncMode::EveryWrite)
        .auto_compact(false)
        .background_worker(false)
        .build()
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn block(n: u128) -> ContextBlock {
    ContextBlock::new(
        id(n),
        format!("src/m{}.rs", n % 3),
        format!(r#"{{"name":"f{n}","kind":"function","start_line":{n}}}"#),
        format!("fn f{n}() {{ f{}() }}", n + 1),
    )
}

/// Writes the fixture graph: two tables (one flush, then more writes and a
/// second flush), then a WAL tail that a reopen replays; a deleted block, a
/// deleted edge and a batch among them.
fn write_graph(dir: &Path) {
    let db = Database::open_with(Arc::new(OsVfs::new()), dir, config()).expect("open");
    for n in 1..=20 {
        db.put_block(&block(n)).expect("put");
    }
    for n in 1..20 {
        db.put_edge(GraphEdge::new(id(n), id(n + 1), EdgeType::Calls))
            .expect("edge");
    }
    db.flush().expect("flush");
    let mut batch = WriteBatch::new();
    for n in 21..=25 {
        batch.put_block(block(n)).expect("batch block");
        batch
            .put_edge(GraphEdge::new(id(n), id(1), EdgeType::Imports))
            .expect("batch edge");
    }
    db.write_batch(&batch).expect("batch");
    db.delete_block(id(5)).expect("delete block");
    db.delete_edge(GraphEdge::new(id(10), id(11), EdgeType::Calls))
        .expect("delete edge");
    db.flush().expect("flush");
    // The WAL tail: synced (EveryWrite), never flushed.
    db.put_block(&ContextBlock::new(id(30), "src/tail.rs", "{}", "tail"))
        .expect("put");
    db.put_edge(GraphEdge::new(id(30), id(2), EdgeType::References))
        .expect("edge");
    drop(db);
}

/// Asserts everything the fixture graph must answer.
fn check_graph(snapshot: &Snapshot, fixture: &str) {
    for n in (1..=25).filter(|n| *n != 5) {
        let view = snapshot
            .find_block(id(n))
            .expect("read")
            .unwrap_or_else(|| panic!("{fixture}: block {n} missing"));
        assert_eq!(view.content, block(n).content, "{fixture}: block {n}");
        assert_eq!(view.source_uri, block(n).source_uri);
    }
    assert!(snapshot.find_block(id(5)).expect("read").is_none());
    assert_eq!(
        snapshot
            .find_block(id(30))
            .expect("read")
            .map(|view| view.content),
        Some("tail")
    );
    assert_eq!(snapshot.iterate_blocks().expect("scan").count(), 25);
    let calls = |n: u128| snapshot.find_outgoing_edges(id(n)).expect("edges");
    assert_eq!(
        calls(1),
        vec![GraphEdge::new(id(1), id(2), EdgeType::Calls)],
        "{fixture}"
    );
    assert!(calls(10).is_empty(), "{fixture}: deleted edge");
    assert!(calls(4).is_empty(), "{fixture}: edge into deleted block 5");
    let importers = snapshot.find_incoming_edges(id(1)).expect("edges");
    assert_eq!(importers.len(), 5, "{fixture}");
    let queries = QueryEngine::new(snapshot);
    let callers = queries.find_callers(id(2)).expect("callers");
    assert_eq!(
        callers.iter().map(|view| view.id).collect::<Vec<_>>(),
        vec![id(1)]
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn table_versions(dir: &Path) -> Vec<u32> {
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "sst") {
            let bytes = std::fs::read(&path).expect("read table");
            let footer = bytes.len() - TABLE_FOOTER_BYTES;
            let mut version = [0u8; 4];
            version.copy_from_slice(&bytes[footer + 8..footer + 12]);
            versions.push(u32::from_le_bytes(version));
        }
    }
    versions
}

#[test]
fn every_checked_in_fixture_opens_verifies_and_answers() {
    for (name, version) in FIXTURES {
        let fixture = fixture_dir(name);
        let versions = table_versions(&fixture);
        assert_eq!(versions.len(), 2, "{name}: two tables");
        assert!(
            versions.iter().all(|found| found == version),
            "{name}: {versions:?}"
        );
        // Read-only first: it must write nothing, so it runs on a copy
        // only because the shared lock creates `LOCK`.
        let scratch = tempfile::tempdir().expect("tempdir");
        let copy = scratch.path().join("db");
        copy_dir(&fixture, &copy);
        let reader = Database::open_read_only_with(Arc::new(OsVfs::new()), &copy, config())
            .unwrap_or_else(|error| panic!("{name}: read-only open: {error}"));
        assert_eq!(
            reader.recovery_report().records_applied,
            2,
            "{name}: WAL tail"
        );
        check_graph(&reader.snapshot(), name);
        drop(reader);
        // A writable open recovers the tail into a table of today's format,
        // keeps answering, and a full compaction rewrites everything.
        let writer = Database::open_with(Arc::new(OsVfs::new()), &copy, config())
            .unwrap_or_else(|error| panic!("{name}: open: {error}"));
        check_graph(&writer.snapshot(), name);
        writer.compact_all().expect("compact");
        check_graph(&writer.snapshot(), name);
        writer.shutdown().expect("shutdown");
        let reopened =
            Database::open_with(Arc::new(OsVfs::new()), &copy, config()).expect("reopen");
        check_graph(&reopened.snapshot(), name);
        drop(reopened);
        // The verifier the CLI and backups use agrees.
        let backup = scratch.path().join("backup");
        kausal_storage::backup::backup(Arc::new(OsVfs::new()), &copy, &backup)
            .unwrap_or_else(|error| panic!("{name}: backup + verify: {error}"));
    }
}

#[test]
fn the_newest_fixture_is_what_this_build_writes() {
    let (newest, _) = FIXTURES.last().copied().expect("a fixture");
    let scratch = tempfile::tempdir().expect("tempdir");
    let fresh = scratch.path().join("db");
    write_graph(&fresh);
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name != "LOCK")
            .collect();
        names.sort();
        names
    };
    let fixture = fixture_dir(newest);
    assert_eq!(names(&fresh), names(&fixture));
    for name in names(&fixture) {
        let written = std::fs::read(fresh.join(&name)).expect("read fresh");
        let stored = std::fs::read(fixture.join(&name)).expect("read fixture");
        assert!(
            written == stored,
            "{name} differs from tests/fixtures/{newest}: the on-disk format changed. \
             Bump the format version, add a fixture (see this file's header) and \
             keep the old one opening."
        );
    }
}

/// Writes the fixture graph to `$KAUSAL_FIXTURE_OUT` (see the header).
#[test]
#[ignore = "writes a fixture; run by hand after a format version bump"]
fn write_fixture() {
    let out = std::env::var("KAUSAL_FIXTURE_OUT").expect("set KAUSAL_FIXTURE_OUT");
    let out = Path::new(&out);
    assert!(!out.exists(), "{} exists", out.display());
    write_graph(out);
    let _ = std::fs::remove_file(out.join("LOCK"));
}
