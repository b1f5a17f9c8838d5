//! kausal-export: a kausal database as Apache Parquet tables, for engines
//! that join many repositories' graphs (DataFusion, DuckDB, Spark, Trino):
//! `blocks.parquet` (code blocks: files, functions, types, ...),
//! `edges.parquet` (typed edges, call edges with the rule that resolved
//! them) and `files.parquet` (ingested and skipped files), each with the
//! kausal version, the ingest format version and the repository's name in
//! its key-value metadata. The schema is [`schema`]'s column tables
//! (documented in `docs/EXPORT.md`, checked against it by a test).
//!
//! [`export`] streams one [`kausal_storage::Snapshot`]: blocks in id
//! order, rows handed to the Parquet writer in bounded batches
//! ([`limits`]), so memory stays flat whatever the graph's size. Files are
//! written through [`kausal_vfs::Vfs`] under a temporary name and renamed
//! into place, so a reader never sees a half-written table.
//!
//! Neighbours: reads what kausal-ingest writes (block metadata, call
//! provenance, file state, the walk record) from kausal-storage;
//! kausal-cli's `kausal export` drives it.

#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod files;
pub mod limits;
mod provenance;
mod rows;
pub mod schema;
mod sink;
mod stream;
mod time;

pub use error::ExportError;
pub use schema::{Column, ColumnType, EXPORT_FORMAT_VERSION, TABLES, Table};
pub use stream::{ExportOptions, ExportReport, TableReport, export};
pub use time::rfc3339;
