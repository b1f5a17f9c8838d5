//! `IngestError`: failures that stop an ingest. Problems with one input
//! file are not errors: they are `SkippedFile`s in the report.

use std::path::PathBuf;

use kausal_storage::StorageError;

/// Why an ingest stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The root to ingest is not a directory or cannot be listed.
    #[error("cannot walk {root}: {reason}")]
    Walk {
        /// The root given to the ingester.
        root: PathBuf,
        /// What went wrong (`not a directory`, an I/O error).
        reason: String,
    },
    /// A language's tree-sitter queries (`queries/<lang>/*.scm`, built into
    /// the binary) were rejected by its grammar: a bug in kausal, not in the
    /// input.
    #[error("the {language} queries do not compile: {reason}")]
    Query {
        /// The language's metadata name (`rust`, `python`, ...).
        language: &'static str,
        /// tree-sitter's message, naming the query file and position.
        reason: String,
    },
    /// An [`IngestOptions`](crate::IngestOptions) value is out of range.
    #[error("invalid ingest options: {reason}")]
    InvalidOptions {
        /// Which option, its value and the accepted range.
        reason: String,
    },
    /// The storage engine refused or failed a write (or the final sync).
    /// Batches committed before it stay; the next ingest finishes the job.
    #[error("cannot write the blocks of {path}: {source}")]
    Write {
        /// Relative path of the file whose blocks were being written, or
        /// `(sync)` when the final sync failed.
        path: String,
        /// The storage engine's error.
        #[source]
        source: StorageError,
    },
    /// Reading the graph back (at the first ingest of a process, to learn
    /// what earlier ingests stored) failed.
    #[error("cannot read the stored graph (block {block}): {source}")]
    ReadGraph {
        /// The block whose edges were being read, or `(scan)` for the scan
        /// over all blocks.
        block: String,
        /// The storage engine's error.
        #[source]
        source: StorageError,
    },
    /// A parse thread panicked or returned no result for a file: a bug in
    /// kausal or tree-sitter. Raised before this ingest writes anything.
    #[error("parse worker failed: {reason}")]
    Worker {
        /// What was missing.
        reason: String,
    },
}
