//! `ExportError`: every way an export fails, naming what failed and where.

use std::path::PathBuf;

use kausal_storage::StorageError;
use kausal_vfs::VfsError;
use thiserror::Error;

/// A failed export. Files written before the failure are left as
/// `*.parquet.tmp` (removed on the next export into the directory); a
/// finished table's file is only ever replaced whole.
#[derive(Debug, Error)]
pub enum ExportError {
    /// The export directory exists and is not a directory.
    #[error("export directory {}: exists and is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// Reading the database failed (a damaged table page, a poisoned
    /// engine).
    #[error("reading the database for {table}: {source}")]
    Storage {
        /// The table being written when it failed.
        table: &'static str,
        /// What the storage engine reported.
        #[source]
        source: StorageError,
    },
    /// A file operation failed (the error names the operation and file).
    #[error("writing the export: {0}")]
    Vfs(#[from] VfsError),
    /// The Parquet writer failed.
    #[error("writing {}: {source}", path.display())]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// What the Parquet writer reported.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow record batch failed (a row of the wrong shape: a
    /// bug, reported rather than panicking).
    #[error("building a record batch of {table}: {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// What Arrow reported.
        #[source]
        source: arrow_schema::ArrowError,
    },
}
