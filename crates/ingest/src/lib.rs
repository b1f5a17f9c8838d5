//! kausal-ingest: turns a source tree into kausal context blocks and edges.
//!
//! Stages, each in its own file: `walk` (which files, honouring ignore
//! files) -> `read` (bytes through `Vfs`, size/binary/UTF-8 checks) ->
//! `extract` (tree-sitter query over the file: a pure function of language
//! and source to a [`summary::Summary`]) -> `naming` (qualified names,
//! stable ids) -> `resolve` (scope-aware call resolution over all
//! summaries) -> `record` (blocks and their metadata) -> `ingest` (the
//! difference to the stored graph, written in batches by one writer).
//! Languages are rows of the table in `language`, with queries in
//! `queries/<lang>/*.scm`. The block metadata schema is in `docs/INGEST.md`.
//!
//! # Examples
//!
//! Extraction alone, a pure function of (language, source) that needs no
//! database: what a file defines, calls and imports.
//!
//! ```
//! use kausal_ingest::summary::{CallKind, ItemKind};
//! use kausal_ingest::{Language, extract};
//!
//! let source = r#"
//! use crate::lexer::lex;
//!
//! /// Parses one statement.
//! pub fn parse(text: &str) -> usize {
//!     lex(text).len()
//! }
//! "#;
//! let mut parser = tree_sitter::Parser::new(); // reuse one per thread
//! let summary = extract(Language::Rust, source, &mut parser)?;
//!
//! let parse = &summary.items[0];
//! assert_eq!((parse.kind, parse.name.as_str()), (ItemKind::Function, "parse"));
//! assert_eq!(parse.doc, "Parses one statement.");
//! assert_eq!(parse.start_line, 5);
//! // Both calls are inside item 0 (`parse`); `.len()` is called on what `lex(..)` returns.
//! let calls: Vec<_> = summary.calls.iter().map(|c| (c.kind, c.text.as_str(), c.caller)).collect();
//! assert_eq!(calls, [(CallKind::Method, "len", Some(0)), (CallKind::Path, "lex", Some(0))]);
//! assert_eq!(summary.calls[0].receiver_call, Some(1));
//! assert_eq!(summary.imports[0].path, ["crate", "lexer", "lex"]);
//! # Ok::<(), String>(())
//! ```
//!
//! Ingesting a tree into a database (runnable: `cargo run -p kausal-ingest
//! --example ingest_dir`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use kausal_ingest::{IngestOptions, Ingester};
//! use kausal_storage::Database;
//! use kausal_vfs::OsVfs;
//!
//! let vfs = Arc::new(OsVfs::new());
//! let engine = Database::open_with(vfs.clone(), "/tmp/kausal-db", Default::default())?;
//! let mut ingester = Ingester::new(vfs, "path/to/repo", IngestOptions::default())?;
//! let report = ingester.ingest(&engine)?; // cold
//! println!("{report}");
//! let again = ingester.ingest(&engine)?; // only what changed
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Neighbours
//!
//! * [`kausal-vfs`](https://github.com/kausal-db/kausal/tree/main/crates/vfs):
//!   every source file is read through its `Vfs`;
//! * [`kausal-storage`](https://github.com/kausal-db/kausal/tree/main/crates/storage):
//!   where the blocks and edges go, one atomic batch per file;
//! * [`kausal-query`](https://github.com/kausal-db/kausal/tree/main/crates/query):
//!   asks the graph (callers, traversals, cycles);
//! * [`kausal-cli`](https://github.com/kausal-db/kausal/tree/main/crates/cli):
//!   `kausal ingest .` runs an [`Ingester`] and prints its [`IngestReport`].

#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod buckets;
mod error;
mod extract;
pub mod graph_counts;
mod hash;
mod ignored;
mod imports;
mod ingest;
pub mod language;
pub mod limits;
pub mod meta;
pub mod name_dictionary;
pub mod name_index;
pub mod name_lengths;
pub mod naming;
pub mod precise;
pub mod provenance;
mod read;
mod record;
pub mod report;
mod resolve;
pub mod stubs;
pub mod summary;
mod text;
mod walk;
pub mod walk_record;

pub use error::IngestError;
pub use extract::extract;
pub use hash::{StableHasher, hash_bytes};
pub use ingest::Ingester;
pub use language::Language;
pub use meta::BlockMeta;
pub use provenance::{CallRule, MAX_PROVENANCE_BYTES};
pub use record::INGEST_STATE_VERSION;
pub use report::{IgnoredFiles, IngestReport, RuleFileHit, SkipCause, SkippedFile, Timings};
pub use walk::ALWAYS_SKIPPED_DIRS;
pub use walk_record::WalkRecord;

use limits::{DEFAULT_MAX_FILE_BYTES, MAX_FILE_BYTES_CEILING};

/// Settings of an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Files larger than this are skipped and listed (default 1 MiB, at
    /// most `MAX_FILE_BYTES_CEILING`).
    pub max_file_bytes: u64,
    /// Threads that parse files and resolve calls; `None` uses every core.
    pub threads: Option<usize>,
    /// Show a progress bar on a terminal (never when stderr is not one).
    pub progress: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_symlinks: bool,
    /// Ignore no files by rule: `.gitignore`, `.ignore`, `.kausalignore`
    /// and `ignore_files` are not read (hidden files and the always-skipped
    /// directories stay out).
    pub no_ignore: bool,
    /// Extra rule files in gitignore syntax, relative to the root
    /// (`--ignore-file`, as in ripgrep).
    pub ignore_files: Vec<std::path::PathBuf>,
    /// Keep, between ingests of one `Ingester`, what lets the next resolve
    /// only what an edit reaches: per-file call results and the C tables
    /// by name (about 1 GB on the Linux tree). An ingest that ends the
    /// process (`kausal ingest`) turns it off and holds less at its peak;
    /// its next run starts from the stored graph either way.
    pub keep_for_next: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            threads: None,
            progress: true,
            follow_symlinks: false,
            no_ignore: false,
            ignore_files: Vec::new(),
            keep_for_next: true,
        }
    }
}

impl IngestOptions {
    /// Rejects values outside their ranges.
    pub fn validate(&self) -> Result<(), IngestError> {
        if self.max_file_bytes == 0 || self.max_file_bytes > MAX_FILE_BYTES_CEILING {
            return Err(IngestError::InvalidOptions {
                reason: format!(
                    "max_file_bytes {} is outside 1..={MAX_FILE_BYTES_CEILING}",
                    self.max_file_bytes
                ),
            });
        }
        if self.threads == Some(0) {
            return Err(IngestError::InvalidOptions {
                reason: "threads must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Ingests `root` into `engine` once (a fresh [`Ingester`]; keep one
/// around instead to make re-ingests cheap).
pub fn ingest_dir(
    engine: &mut kausal_storage::Database,
    vfs: std::sync::Arc<dyn kausal_vfs::Vfs>,
    root: impl AsRef<std::path::Path>,
    options: IngestOptions,
) -> Result<IngestReport, IngestError> {
    Ingester::new(vfs, root, options)?.ingest(engine)
}

// The crate README's example runs as a doc test, so it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
