//! Shared helpers for the scenario tests in this directory: scratch
//! directories, block builders, and a reader of WAL segment layout used to
//! aim faults at record boundaries.

use std::path::{Path, PathBuf};

/// The README's Rust examples, compiled and run as doc tests so they cannot
/// drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
use std::sync::Arc;

use kausal_storage::{BlockId, Config, ContextBlock, Database, SyncMode};
use kausal_vfs::OsVfs;

/// A fresh temporary directory for one scenario; removed when dropped.
pub fn scratch_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let path = dir.path().join("db");
    (dir, path)
}

/// The id of test block `n`.
pub fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

/// Deterministic content for block `n` of about `len` bytes.
pub fn content(n: u128, len: usize) -> String {
    let seed = format!("fn f{n}() {{ /* block {n} */ }}\n");
    seed.repeat(len / seed.len() + 1)[..len].to_string()
}

/// Test block `n` with `len` bytes of content.
pub fn block(n: u128, len: usize) -> ContextBlock {
    ContextBlock::new(
        id(n),
        format!("src/module_{}/f{n}.rs", n % 17),
        format!(r#"{{"name":"f{n}","kind":"function"}}"#),
        content(n, len),
    )
}

/// A configuration with small budgets so tests cross every boundary.
pub fn small_config() -> Config {
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes(16 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .compaction_base_bytes(32 * 1024)
        .build()
}

/// Opens `dir` on the real file system.
pub fn open(dir: &Path, config: Config) -> Database {
    Database::open_with(Arc::new(OsVfs::new()), dir, config).expect("open engine")
}

/// WAL segment files of `dir`, oldest first.
pub fn wal_segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list data directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("wal-"))
        })
        .collect();
    segments.sort();
    segments
}

/// Table files of `dir`.
pub fn table_files(dir: &Path) -> Vec<PathBuf> {
    let mut tables: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list data directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sst"))
        .collect();
    tables.sort();
    tables
}

/// Byte ranges `(offset, length)` of the records in a WAL segment file,
/// following the documented format (24-byte segment header; records of a
/// 24-byte header starting with header crc u32 | len u32, then the payload,
/// padded to a multiple of 8; zeros after the last record). The length is
/// header plus payload, without the padding.
pub fn wal_records(path: &Path) -> Vec<(usize, usize)> {
    let bytes = std::fs::read(path).expect("read segment");
    let mut records = Vec::new();
    let mut offset = 24;
    while offset + 24 <= bytes.len() {
        let header_crc = u32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().expect("4 bytes"));
        if header_crc == 0 && len == 0 {
            break;
        }
        // Header (24 bytes) and payload, padded to a multiple of 8.
        let span = (24 + len as usize).div_ceil(8) * 8;
        records.push((offset, 24 + len as usize));
        offset += span;
    }
    records
}

/// Copies every file of `from` into `to` (created if needed).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}
