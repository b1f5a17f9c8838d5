//! `VfsError`: an I/O error with the operation, the path and, where one
//! applies, the offset.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Result of a VFS operation.
pub type VfsResult<T> = Result<T, VfsError>;

/// An I/O failure: which operation, on which path, at which offset.
#[derive(Debug, Error)]
#[error("{op} failed on {}{}: {source}", path.display(), offset.map(|o| format!(" at offset {o}")).unwrap_or_default())]
pub struct VfsError {
    /// The operation that failed (`open`, `write_at`, `sync_data`, ...).
    pub op: &'static str,
    /// The file or directory it failed on.
    pub path: PathBuf,
    /// Byte offset for positioned reads and writes.
    pub offset: Option<u64>,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

impl VfsError {
    /// An error of `op` on `path`.
    pub fn new(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            op,
            path: path.to_path_buf(),
            offset: None,
            source,
        }
    }

    /// The same error, located at `offset`.
    pub fn at_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The kind of the underlying I/O error.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// True when the path did not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == io::ErrorKind::NotFound
    }
}
