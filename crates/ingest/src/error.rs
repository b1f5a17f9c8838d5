//! `IngestError`: failures that stop an ingest. Problems with one input
//! file are not errors: they are `SkippedFile`s in the report.

use std::path::PathBuf;

use kausal_storage::StorageError;

/// Why an ingest stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot walk {root}: {reason}")]
    Walk { root: PathBuf, reason: String },
    #[error("the {language} queries do not compile: {reason}")]
    Query {
        language: &'static str,
        reason: String,
    },
    #[error("invalid ingest options: {reason}")]
    InvalidOptions { reason: String },
    #[error("cannot write the blocks of {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: StorageError,
    },
    #[error("cannot read the stored graph (block {block}): {source}")]
    ReadGraph {
        block: String,
        #[source]
        source: StorageError,
    },
    #[error("stored block {block} ({path}) has ingest metadata kausal cannot read: {reason}")]
    StoredMetadata {
        block: String,
        path: String,
        reason: String,
    },
    #[error("parse worker failed: {reason}")]
    Worker { reason: String },
}
