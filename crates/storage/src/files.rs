//! The names of the files in a database directory, and which kind of file a
//! name is. The one place that knows them: the engine creates and
//! recognises its files through this module, and tools that look at a data
//! directory from outside (the simulator's fault injection, backups) ask
//! [`classify`] instead of matching names themselves.
//!
//! ```
//! use kausal_storage::files::{FileKind, classify, table_file_name};
//!
//! assert_eq!(classify(&table_file_name(3)), Some(FileKind::Table { id: 3 }));
//! assert_eq!(classify("MANIFEST"), Some(FileKind::Manifest));
//! assert_eq!(classify("notes.txt"), None);
//! ```

use std::path::Path;

/// File name of the manifest (the live table list).
pub const MANIFEST_FILE: &str = "MANIFEST";
/// File name of a manifest being written, renamed over [`MANIFEST_FILE`]
/// once synced.
pub const MANIFEST_TEMP_FILE: &str = "MANIFEST.tmp";
/// Name of the lock file that keeps a second engine out.
pub const LOCK_FILE: &str = "LOCK";

const WAL_PREFIX: &str = "wal-";
const WAL_SUFFIX: &str = ".log";
const TABLE_PREFIX: &str = "t-";
const TABLE_SUFFIX: &str = ".sst";
/// Ids in file names are zero-padded to this many digits, so names sort
/// in id order.
const ID_DIGITS: usize = 20;

/// What a file in a database directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A write-ahead log segment, `wal-<id:020>.log`.
    WalSegment {
        /// The segment id.
        id: u64,
    },
    /// A sorted table, `t-<id:020>.sst`.
    Table {
        /// The table id.
        id: u64,
    },
    /// The manifest, [`MANIFEST_FILE`].
    Manifest,
    /// A manifest being written, [`MANIFEST_TEMP_FILE`].
    ManifestTemp,
    /// The directory lock, [`LOCK_FILE`].
    Lock,
}

impl FileKind {
    /// True for a WAL segment.
    pub fn is_wal_segment(self) -> bool {
        matches!(self, Self::WalSegment { .. })
    }

    /// True for a sorted table.
    pub fn is_table(self) -> bool {
        matches!(self, Self::Table { .. })
    }
}

/// The kind of the file named `name` (a bare file name, not a path), or
/// `None` for a name the engine never writes.
pub fn classify(name: &str) -> Option<FileKind> {
    match name {
        MANIFEST_FILE => Some(FileKind::Manifest),
        MANIFEST_TEMP_FILE => Some(FileKind::ManifestTemp),
        LOCK_FILE => Some(FileKind::Lock),
        _ => {
            if let Some(id) = parse_id(name, WAL_PREFIX, WAL_SUFFIX) {
                Some(FileKind::WalSegment { id })
            } else {
                parse_id(name, TABLE_PREFIX, TABLE_SUFFIX).map(|id| FileKind::Table { id })
            }
        }
    }
}

/// [`classify`] of the last component of `path`; `None` when it has none
/// or it is not UTF-8 (the engine's names are ASCII).
pub fn classify_path(path: &Path) -> Option<FileKind> {
    classify(path.file_name()?.to_str()?)
}

/// File name of WAL segment `id`.
pub fn segment_file_name(id: u64) -> String {
    format!("{WAL_PREFIX}{id:0ID_DIGITS$}{WAL_SUFFIX}")
}

/// File name of table `id`.
pub fn table_file_name(id: u64) -> String {
    format!("{TABLE_PREFIX}{id:0ID_DIGITS$}{TABLE_SUFFIX}")
}

/// The id in `<prefix><20 digits><suffix>`; other widths are refused so
/// that every id has exactly one name.
fn parse_id(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() != ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn names_round_trip_through_classify() {
        assert_eq!(segment_file_name(7), "wal-00000000000000000007.log");
        assert_eq!(table_file_name(3), "t-00000000000000000003.sst");
        assert_eq!(
            classify(&segment_file_name(7)),
            Some(FileKind::WalSegment { id: 7 })
        );
        assert_eq!(
            classify(&table_file_name(u64::MAX)),
            Some(FileKind::Table { id: u64::MAX })
        );
        assert_eq!(classify("MANIFEST"), Some(FileKind::Manifest));
        assert_eq!(classify("MANIFEST.tmp"), Some(FileKind::ManifestTemp));
        assert_eq!(classify("LOCK"), Some(FileKind::Lock));
    }

    #[test]
    fn names_the_engine_never_writes_are_none() {
        for name in [
            "wal-7.log",
            "t-3.sst",
            "wal-0000000000000000000x.log",
            "t-00000000000000000003.sst.bak",
            "manifest",
            "",
        ] {
            assert_eq!(classify(name), None, "{name}");
        }
    }

    #[test]
    fn paths_are_classified_by_their_file_name() {
        let path = PathBuf::from("/db").join(segment_file_name(1));
        assert_eq!(classify_path(&path), Some(FileKind::WalSegment { id: 1 }));
        assert!(classify_path(&path).is_some_and(FileKind::is_wal_segment));
        assert_eq!(classify_path(Path::new("/")), None);
    }
}
