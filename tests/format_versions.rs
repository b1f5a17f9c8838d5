//! Scenario, on real files: a database written by a newer format version is
//! refused with `UnsupportedFormat { found, supported }` naming the file,
//! never reported as corruption and never half-read. Each file's version
//! sits under a checksum, so a flipped version bit is corruption instead.

use std::path::Path;
use std::sync::Arc;

use kausal_storage::{Database, EdgeType, GraphEdge, StorageError};
use kausal_tests::{block, id, open, scratch_dir, small_config, table_files, wal_segments};
use kausal_vfs::OsVfs;

const TABLE_FOOTER_BYTES: usize = 160;

fn open_error(dir: &Path) -> StorageError {
    Database::open_with(Arc::new(OsVfs::new()), dir, small_config()).expect_err("must refuse")
}

fn assert_unsupported(error: StorageError, file: &Path, expected_found: u32) {
    match error {
        StorageError::UnsupportedFormat {
            file: named,
            found,
            supported,
            ..
        } => {
            assert_eq!(named, file);
            assert_eq!(found, expected_found);
            assert!(supported.iter().all(|version| *version < found));
        }
        other => panic!(
            "expected UnsupportedFormat for {}, got {other}",
            file.display()
        ),
    }
}

/// Rewrites the little-endian u32 at `at` and the crc32 of `covered` stored at `crc_at`.
fn set_version(
    path: &Path,
    at: usize,
    version: u32,
    covered: std::ops::Range<usize>,
    crc_at: usize,
) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at..at + 4].copy_from_slice(&version.to_le_bytes());
    let crc = crc32fast::hash(&bytes[covered]);
    bytes[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_table_from_a_newer_version_is_refused_clearly() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    for n in 1..=20u128 {
        engine.put_block(&block(n, 200)).expect("put");
        engine
            .put_edge(GraphEdge::new(id(n), id(n % 20 + 1), EdgeType::Calls))
            .expect("edge");
    }
    engine.shutdown().expect("shutdown");
    let table = table_files(&dir).pop().expect("a table");
    let len = std::fs::metadata(&table).expect("metadata").len() as usize;
    let footer = len - TABLE_FOOTER_BYTES;
    set_version(&table, footer + 8, 9, footer..len - 8, len - 8);
    assert_unsupported(open_error(&dir), &table, 9);
}

#[test]
fn a_wal_segment_from_a_newer_version_is_refused_clearly() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    engine.put_block(&block(1, 200)).expect("put");
    engine.sync().expect("sync");
    drop(engine);
    let segment = wal_segments(&dir).pop().expect("a segment");
    set_version(&segment, 8, 7, 0..20, 20);
    assert_unsupported(open_error(&dir), &segment, 7);
}

#[test]
fn a_manifest_from_a_newer_version_is_refused_clearly() {
    let (_guard, dir) = scratch_dir();
    let engine = open(&dir, small_config());
    engine.put_block(&block(1, 200)).expect("put");
    engine.shutdown().expect("shutdown");
    let manifest = dir.join("MANIFEST");
    let mut bytes = std::fs::read(&manifest).expect("read");
    bytes[8..12].copy_from_slice(&5u32.to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[8..16]);
    hasher.update(&bytes[20..]);
    bytes[16..20].copy_from_slice(&hasher.finalize().to_le_bytes());
    std::fs::write(&manifest, bytes).expect("write");
    assert_unsupported(open_error(&dir), &manifest, 5);
}
