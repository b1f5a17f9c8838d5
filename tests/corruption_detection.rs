//! Scenario: a bit flipped at rest in any part of any file is detected, and
//! the error names the file. Nothing is silently skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_storage::{Database, StorageError};
use kausal_tests::{
    block, id, open, scratch_dir, small_config, table_files, wal_records, wal_segments,
};
use kausal_vfs::OsVfs;

/// A directory with one table of 50 blocks (and edges) and nothing in the WAL.
fn one_table() -> (tempfile::TempDir, PathBuf, PathBuf) {
    one_table_of(50)
}

/// A directory with one table of `blocks` blocks, each with a call edge to
/// the next, and nothing in the WAL.
fn one_table_of(blocks: u128) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (guard, dir) = scratch_dir();
    // One memtable holds them all, so shutdown writes a single table.
    let config = kausal_storage::Config::builder()
        .memtable_budget_bytes(16 * 1024 * 1024)
        .sync_mode(kausal_storage::SyncMode::Manual)
        .auto_compact(false)
        .build();
    let engine = open(&dir, config);
    for n in 1..=blocks {
        engine.put_block(&block(n, 300)).expect("put");
        engine
            .put_edge(kausal_storage::GraphEdge::new(
                id(n),
                id(n % blocks + 1),
                kausal_storage::EdgeType::Calls,
            ))
            .expect("edge");
    }
    engine.shutdown().expect("shutdown");
    let mut tables = table_files(&dir);
    let table = tables.pop().expect("a table");
    assert!(tables.is_empty(), "expected one table");
    (guard, dir, table)
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[offset] ^= 0x08;
    std::fs::write(path, bytes).expect("write");
}

fn open_error(dir: &Path) -> StorageError {
    Database::open_with(Arc::new(OsVfs::new()), dir, small_config())
        .expect_err("must detect corruption")
}

fn assert_names(error: &StorageError, file: &Path) {
    match error {
        StorageError::Corruption { file: named, .. } => assert_eq!(named, file, "{error}"),
        other => panic!("expected corruption naming {}, got {other}", file.display()),
    }
    assert!(
        error
            .to_string()
            .contains(&*file.file_name().expect("name").to_string_lossy())
    );
}

/// Section offsets from a table footer (see DESIGN.md).
fn sections(table: &Path) -> Vec<(usize, usize)> {
    let bytes = std::fs::read(table).expect("read");
    let footer = &bytes[bytes.len() - 160..];
    (0..5)
        .map(|i| {
            let at = 56 + i * 16;
            let offset = u64::from_le_bytes(footer[at..at + 8].try_into().expect("8"));
            let len = u64::from_le_bytes(footer[at + 8..at + 16].try_into().expect("8"));
            (offset as usize, len as usize)
        })
        .collect()
}

#[test]
fn flipped_bit_in_table_data_fails_the_read_naming_the_table() {
    let (_guard, dir, table) = one_table();
    let (data_offset, _) = sections(&table)[0];
    flip(&table, data_offset + 60); // inside the first record's strings
    let engine = open(&dir, small_config());
    let snapshot = engine.snapshot();
    let error = snapshot.find_block(id(1)).expect_err("checksum must fail");
    assert_names(&error, &table);
    // Other blocks are still readable, and the scan reports the bad one.
    assert!(engine.snapshot().find_block(id(2)).expect("find").is_some());
    let errors = engine
        .snapshot()
        .iterate_blocks()
        .expect("read")
        .filter(Result::is_err)
        .count();
    assert_eq!(errors, 1);
}

/// Bytes of the page table of a table with `blocks` index entries and
/// `edges` edge entries (see crates/storage/src/sstable/pages.rs).
fn page_table_bytes(blocks: usize, edges: usize) -> usize {
    let part = |entries: usize| entries.div_ceil(256) * 20 + if entries > 0 { 16 } else { 0 };
    part(blocks) + 2 * part(edges)
}

#[test]
fn flipped_bit_in_table_bloom_page_table_or_footer_fails_open() {
    let (_guard, dir, table) = one_table();
    let pristine = std::fs::read(&table).expect("read");
    let parts = sections(&table);
    let file_len = pristine.len();
    let page_table = file_len - 160 - page_table_bytes(50, 50);
    assert_eq!(
        page_table,
        parts[4].0 + parts[4].1,
        "page table follows the bloom filter"
    );
    let targets = [
        ("bloom", parts[4].0 + 20),
        ("page table checksum", page_table + 1),
        ("page table key", page_table + 10),
        ("footer", file_len - 100),
        ("footer magic", file_len - 160),
    ];
    for (what, offset) in targets {
        std::fs::write(&table, &pristine).expect("restore");
        flip(&table, offset);
        let error = open_error(&dir);
        assert_names(&error, &table);
        eprintln!("{what}: {error}");
    }
    std::fs::write(&table, &pristine).expect("restore");
    open(&dir, small_config());
}

/// Index and edge pages are verified the first time a read touches them:
/// the open succeeds, the read fails naming the table and the page, and
/// `verify_tables` (what `kausal verify` runs) finds it without a read.
#[test]
fn flipped_bit_in_a_table_index_or_edge_page_fails_the_first_read_of_that_page() {
    let (_guard, dir, table) = one_table();
    let pristine = std::fs::read(&table).expect("read");
    let parts = sections(&table);
    type Read = fn(&kausal_storage::Snapshot) -> Result<(), StorageError>;
    let targets: [(&str, usize, Read); 3] = [
        ("index", parts[1].0 + 3, |s| s.find_block(id(7)).map(drop)),
        ("out edges", parts[2].0 + 20, |s| {
            s.find_outgoing_edges(id(7)).map(drop)
        }),
        ("in edges", parts[3].0 + 20, |s| {
            s.find_incoming_edges(id(7)).map(drop)
        }),
    ];
    for (what, offset, read) in targets {
        std::fs::write(&table, &pristine).expect("restore");
        flip(&table, offset);
        let engine = open(&dir, small_config());
        let snapshot = engine.snapshot();
        let damaged = snapshot.verify_tables().expect("verify");
        assert_eq!(damaged.len(), 1, "{what}");
        assert_names(&damaged[0], &table);
        let error = read(&snapshot).expect_err(what);
        assert_names(&error, &table);
        match error {
            StorageError::Corruption { offset: at, .. } => {
                // The page starts where its section does (one page here).
                let section = match what {
                    "index" => parts[1].0,
                    "out edges" => parts[2].0,
                    _ => parts[3].0,
                };
                assert_eq!(at as usize, section, "{what}");
            }
            other => panic!("{what}: {other}"),
        }
        eprintln!("{what}: {error}");
    }
}

/// A damaged page costs only the reads that touch it: 600 blocks make
/// three index pages; a flip in the last leaves the first two readable.
#[test]
fn a_damaged_page_leaves_the_other_pages_readable() {
    let (_guard, dir, table) = one_table_of(600);
    let parts = sections(&table);
    // Index entries are 40 bytes; entry 530 lies in the third page.
    flip(&table, parts[1].0 + 530 * 40 + 20);
    let engine = open(&dir, small_config());
    let snapshot = engine.snapshot();
    for n in [1u128, 100, 256, 512] {
        assert!(snapshot.find_block(id(n)).expect("a good page").is_some());
    }
    let error = snapshot.find_block(id(531)).expect_err("the damaged page");
    match &error {
        StorageError::Corruption { offset, reason, .. } => {
            assert_eq!(*offset as usize, parts[1].0 + 512 * 40, "{error}");
            assert!(reason.contains("page 2"), "{error}");
        }
        other => panic!("{other}"),
    }
    // Found again on a second read: a failed page is never marked verified.
    assert!(snapshot.find_block(id(600)).is_err());
}

#[test]
fn truncated_table_fails_open_naming_the_table() {
    let (_guard, dir, table) = one_table();
    let bytes = std::fs::read(&table).expect("read");
    std::fs::write(&table, &bytes[..bytes.len() - 7]).expect("write");
    assert_names(&open_error(&dir), &table);
    std::fs::write(&table, &bytes[..10]).expect("write");
    assert_names(&open_error(&dir), &table);
}

#[test]
fn flipped_bit_in_manifest_fails_open_naming_it() {
    let (_guard, dir, _) = one_table();
    let manifest = dir.join("MANIFEST");
    let len = std::fs::metadata(&manifest).expect("stat").len() as usize;
    for offset in [0, 9, 13, 17, 25, len - 1] {
        let pristine = std::fs::read(&manifest).expect("read");
        flip(&manifest, offset);
        assert_names(&open_error(&dir), &manifest);
        std::fs::write(&manifest, pristine).expect("restore");
    }
    open(&dir, small_config());
}

#[test]
fn damage_in_a_sealed_wal_segment_is_repaired_if_one_bit_else_fails_open_naming_it() {
    let (_guard, dir) = scratch_dir();
    let config = small_config()
        .into_builder()
        .memtable_budget_bytes(16 * 1024 * 1024)
        .build();
    let engine = open(&dir, config.clone());
    for n in 1..=40u128 {
        engine.put_block(&block(n, 1000)).expect("put");
    }
    engine.sync().expect("sync");
    drop(engine);
    let pristine = dir.with_extension("pristine");
    kausal_tests::copy_dir(&dir, &pristine);
    let segment = &wal_segments(&dir)[0];
    let (offset, len) = wal_records(segment)[0];
    // One flipped bit: repaired, reported, every block there.
    flip(segment, offset + len - 1);
    let engine = open(&dir, config.clone());
    let repaired = &engine.recovery_report().wal.repaired;
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(&repaired[0].0, segment);
    assert!((1..=40).all(|n| engine.snapshot().find_block(id(n)).expect("find").is_some()));
    drop(engine);
    // Two damaged bytes in a sealed segment: corruption naming it.
    std::fs::remove_dir_all(&dir).expect("remove");
    kausal_tests::copy_dir(&pristine, &dir);
    flip(segment, offset + len - 1);
    flip(segment, offset + len - 40);
    assert_names(&open_error(&dir), segment);
}

#[test]
fn missing_manifest_with_tables_is_an_error_not_an_empty_database() {
    let (_guard, dir, _) = one_table();
    std::fs::remove_file(dir.join("MANIFEST")).expect("remove");
    let error = open_error(&dir);
    assert!(error.to_string().contains("MANIFEST"), "{error}");
}

/// A block delete also deletes the block's edges, so it reads their pages:
/// a damaged page refuses the delete before it is logged (nothing applied,
/// nothing in the WAL to trip the next recovery), and other writes go on.
#[test]
fn a_delete_whose_edge_page_is_damaged_is_refused_before_it_is_logged() {
    let (_guard, dir, table) = one_table();
    let parts = sections(&table);
    flip(&table, parts[2].0 + 20); // the only out-edge page
    let engine = open(&dir, small_config());
    let error = engine.delete_block(id(7)).expect_err("the page is damaged");
    assert_names(&error, &table);
    engine
        .put_block(&block(99, 100))
        .expect("other writes go on");
    let snapshot = engine.snapshot();
    assert!(
        snapshot
            .find_block(id(7))
            .expect("index page is fine")
            .is_some()
    );
    engine.shutdown().expect("shutdown");
    // Reopening replays the WAL: the refused delete is not in it.
    let engine = open(&dir, small_config());
    assert!(engine.snapshot().find_block(id(7)).expect("find").is_some());
    assert!(
        engine
            .snapshot()
            .find_block(id(99))
            .expect("find")
            .is_some()
    );
}
