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
    let (guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    for n in 1..=50u128 {
        engine.put_block(&block(n, 300)).expect("put");
        engine
            .put_edge(kausal_storage::GraphEdge::new(
                id(n),
                id(n % 50 + 1),
                kausal_storage::EdgeType::Calls,
            ))
            .expect("edge");
    }
    engine.shutdown().expect("shutdown");
    let table = table_files(&dir).pop().expect("a table");
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

#[test]
fn flipped_bit_in_table_index_edges_bloom_or_footer_fails_open() {
    let (_guard, dir, table) = one_table();
    let pristine = std::fs::read(&table).expect("read");
    let parts = sections(&table);
    let file_len = pristine.len();
    let targets = [
        ("index", parts[1].0 + 3),
        ("out edges", parts[2].0 + 20),
        ("in edges", parts[3].0 + 20),
        ("bloom", parts[4].0 + 20),
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
