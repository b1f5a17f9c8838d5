//! `StorageError`: every way a storage call fails, each naming what and where.

use std::io;
use std::path::PathBuf;

use kausal_memory::MemoryError;
use kausal_vfs::VfsError;
use thiserror::Error;

use crate::BlockId;

/// Result of a storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// A failed storage call.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A block id string is not 32 hex digits.
    #[error("invalid block id {text:?}: {reason}")]
    InvalidBlockId {
        /// The text given as an id.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The all-zero block id is reserved.
    #[error("the all-zero block id is not a valid id")]
    ZeroBlockId,
    /// A field is larger than its limit.
    #[error("block {id}: {field} is {len} bytes, limit is {max}")]
    FieldTooLarge {
        /// The block.
        id: BlockId,
        /// `source_uri`, `metadata_json` or `content`.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes (see [`crate::limits`]).
        max: usize,
    },
    /// `metadata_json` is not a JSON object.
    #[error("block {id}: metadata_json is not a JSON object: {reason}")]
    InvalidMetadata {
        /// The block.
        id: BlockId,
        /// The JSON parser's message, or what else is wrong.
        reason: String,
    },
    /// An edge type value is not one of the known kinds.
    #[error("unknown edge type {value}")]
    UnknownEdgeType {
        /// The numeric code found.
        value: u16,
    },
    /// An edge type name is not one of the known kinds.
    #[error("unknown edge type name {name:?}")]
    UnknownEdgeTypeName {
        /// The name given.
        name: String,
    },
    /// A write batch exceeds its limits.
    #[error("write batch too large: {reason}")]
    BatchTooLarge {
        /// Which limit and by how much.
        reason: String,
    },
    /// A `Config` value is out of range.
    #[error("invalid config: {reason}")]
    InvalidConfig {
        /// Which setting and its allowed range.
        reason: String,
    },
    /// A file's bytes fail a checksum or do not parse.
    #[error("corruption in {} at offset {offset}: {reason}", file.display())]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damage in it.
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// A file written by a format version this build does not read (a
    /// newer kausal, or a retired version).
    #[error(
        "{} is {what} format version {found}; this build reads versions {supported:?}",
        file.display()
    )]
    UnsupportedFormat {
        /// The file.
        file: PathBuf,
        /// What kind of file: "table", "WAL segment", "manifest".
        what: &'static str,
        /// The version the file carries.
        found: u32,
        /// Every version of this kind of file that this build reads.
        supported: &'static [u32],
    },
    /// A file in the data directory that kausal did not write.
    #[error("unexpected file in data directory: {}", path.display())]
    UnexpectedFile {
        /// The file.
        path: PathBuf,
    },
    /// Another engine holds the directory's lock.
    #[error(
        "database {} is locked by another process ({}); close it, or open read-only once it is done writing",
        dir.display(),
        holder.as_deref().unwrap_or("readers, or a writer that did not say who it is")
    )]
    Locked {
        /// The database directory.
        dir: PathBuf,
        /// What the holder wrote into `LOCK` (a writer writes its pid).
        holder: Option<String>,
    },
    /// A read-only engine was asked to write.
    #[error("database {} is open read-only", dir.display())]
    ReadOnly {
        /// The database directory.
        dir: PathBuf,
    },
    /// A read-only open found no database.
    #[error("no kausal database in {}: {reason}", dir.display())]
    NotADatabase {
        /// The directory given.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// An earlier fsync or write failed; the engine refuses writes until reopened.
    #[error("engine is poisoned and refuses writes until reopened: {reason}")]
    Poisoned {
        /// The first failure that poisoned the engine.
        reason: String,
        /// The I/O error kind of that failure, when it was an I/O error
        /// (kept so callers can tell a full disk from a broken one without
        /// reading `reason`).
        kind: Option<io::ErrorKind>,
    },
    /// `shutdown` was called on this database (through any handle).
    #[error("database {} is shut down", dir.display())]
    Closed {
        /// The database directory.
        dir: PathBuf,
    },
    /// A write had to wait for a background flush or compaction (the
    /// frozen memtables or tables are at their limit) and that work failed:
    /// writes are refused until the cause (often a full disk) clears.
    /// Nothing is poisoned.
    #[error(
        "write refused: the memtable holds {memtable_bytes} bytes and flushing it keeps failing: {reason}"
    )]
    WriteStalled {
        /// Bytes held by the active and frozen memtables.
        memtable_bytes: usize,
        /// The background failure.
        reason: String,
        /// The I/O error kind of that failure, when it was an I/O error.
        kind: Option<io::ErrorKind>,
    },
    /// Too many live SSTables; `compact` must run first.
    #[error("{count} live SSTables reached the limit of {max}; run compact()")]
    TooManyTables {
        /// Live tables.
        count: usize,
        /// The limit (`MAX_LIVE_TABLES`).
        max: usize,
    },
    /// An I/O operation failed.
    #[error(transparent)]
    Io(#[from] VfsError),
    /// An arena handle could not be resolved (a broken invariant).
    #[error("memtable arena: {0}")]
    Memory(#[from] MemoryError),
}

impl StorageError {
    /// The kind of the I/O error behind this error: the error itself for
    /// [`StorageError::Io`], the failure that caused it for
    /// [`StorageError::Poisoned`] and [`StorageError::WriteStalled`];
    /// `None` for errors that are not I/O failures.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::Io(error) => Some(error.kind()),
            Self::Poisoned { kind, .. } | Self::WriteStalled { kind, .. } => *kind,
            _ => None,
        }
    }

    /// True when the error comes from a full disk
    /// ([`io::ErrorKind::StorageFull`]), directly or as the cause of a
    /// poisoned engine or a stalled write: freeing space and retrying (or
    /// reopening) can succeed, and nothing acknowledged was lost.
    pub fn is_storage_full(&self) -> bool {
        self.io_kind() == Some(io::ErrorKind::StorageFull)
    }

    /// A corruption error at `file`/`offset`.
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Self::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn io(kind: io::ErrorKind) -> StorageError {
        StorageError::Io(VfsError::new(
            "write_at",
            Path::new("wal-1.log"),
            io::Error::from(kind),
        ))
    }

    #[test]
    fn a_full_disk_is_recognised_through_every_wrapper() {
        let full = Some(io::ErrorKind::StorageFull);
        assert!(io(io::ErrorKind::StorageFull).is_storage_full());
        assert!(!io(io::ErrorKind::Other).is_storage_full());
        let poisoned = StorageError::Poisoned {
            reason: "write_at failed".into(),
            kind: full,
        };
        assert!(poisoned.is_storage_full());
        let stalled = StorageError::WriteStalled {
            memtable_bytes: 1,
            reason: "flush failed".into(),
            kind: full,
        };
        assert!(stalled.is_storage_full());
        let unknown = StorageError::Poisoned {
            reason: "No space left on device".into(),
            kind: None,
        };
        assert!(!unknown.is_storage_full(), "the text is not consulted");
        assert!(!StorageError::ZeroBlockId.is_storage_full());
        assert_eq!(StorageError::ZeroBlockId.io_kind(), None);
    }
}
