//! `StorageError`: every way a storage call fails, each naming what and where.

use std::path::PathBuf;

use kausal_memory::MemoryError;
use kausal_vfs::VfsError;
use thiserror::Error;

use crate::BlockId;

/// Result of a storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// A failed storage call.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A block id string is not 32 hex digits.
    #[error("invalid block id {text:?}: {reason}")]
    InvalidBlockId { text: String, reason: &'static str },
    /// The all-zero block id is reserved.
    #[error("the all-zero block id is not a valid id")]
    ZeroBlockId,
    /// A field is larger than its limit.
    #[error("block {id}: {field} is {len} bytes, limit is {max}")]
    FieldTooLarge {
        id: BlockId,
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// `metadata_json` is not a JSON object.
    #[error("block {id}: metadata_json is not a JSON object: {reason}")]
    InvalidMetadata { id: BlockId, reason: String },
    /// An edge type value is not one of the known kinds.
    #[error("unknown edge type {value}")]
    UnknownEdgeType { value: u16 },
    /// An edge type name is not one of the known kinds.
    #[error("unknown edge type name {name:?}")]
    UnknownEdgeTypeName { name: String },
    /// A write batch exceeds its limits.
    #[error("write batch too large: {reason}")]
    BatchTooLarge { reason: String },
    /// A `Config` value is out of range.
    #[error("invalid config: {reason}")]
    InvalidConfig { reason: String },
    /// A file's bytes fail a checksum or do not parse.
    #[error("corruption in {} at offset {offset}: {reason}", file.display())]
    Corruption {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A file written by a format version this build does not read (a
    /// newer kausal, or a retired version).
    #[error(
        "{} is {what} format version {found}; this build reads versions {supported:?}",
        file.display()
    )]
    UnsupportedFormat {
        file: PathBuf,
        what: &'static str,
        found: u32,
        /// Every version of this kind of file that this build reads.
        supported: &'static [u32],
    },
    /// A file in the data directory that kausal did not write.
    #[error("unexpected file in data directory: {}", path.display())]
    UnexpectedFile { path: PathBuf },
    /// Another engine holds the directory's lock.
    #[error(
        "database {} is locked by another process ({}); close it, or open read-only once it is done writing",
        dir.display(),
        holder.as_deref().unwrap_or("readers, or a writer that did not say who it is")
    )]
    Locked {
        dir: PathBuf,
        /// What the holder wrote into `LOCK` (a writer writes its pid).
        holder: Option<String>,
    },
    /// A read-only engine was asked to write.
    #[error("database {} is open read-only", dir.display())]
    ReadOnly { dir: PathBuf },
    /// A read-only open found no database.
    #[error("no kausal database in {}: {reason}", dir.display())]
    NotADatabase { dir: PathBuf, reason: String },
    /// An earlier fsync or write failed; the engine refuses writes until reopened.
    #[error("engine is poisoned and refuses writes until reopened: {reason}")]
    Poisoned { reason: String },
    /// `shutdown` was called on this database (through any handle).
    #[error("database {} is shut down", dir.display())]
    Closed { dir: PathBuf },
    /// Write-triggered flushes keep failing and the memtable is over its
    /// hard limit: writes wait for the cause (often a full disk) to clear.
    #[error(
        "write refused: the memtable holds {memtable_bytes} bytes and flushing it keeps failing: {reason}"
    )]
    WriteStalled {
        memtable_bytes: usize,
        reason: String,
    },
    /// Too many live SSTables; `compact` must run first.
    #[error("{count} live SSTables reached the limit of {max}; run compact()")]
    TooManyTables { count: usize, max: usize },
    /// An I/O operation failed.
    #[error(transparent)]
    Io(#[from] VfsError),
    /// An arena handle could not be resolved (a broken invariant).
    #[error("memtable arena: {0}")]
    Memory(#[from] MemoryError),
}

impl StorageError {
    /// A corruption error at `file`/`offset`.
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Self::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }
}
