//! The exported tables' schema: every column of `blocks.parquet`,
//! `edges.parquet` and `files.parquet` with its Arrow type, nullability
//! and meaning (one table of [`Column`]s per file, from which the Arrow
//! schemas are built and `docs/EXPORT.md` is checked), and the key-value
//! metadata every file carries.
//!
//! Types are chosen for the engines that read the files: strings that
//! take a handful of values (repository, kind, language, edge type, rule,
//! status, cause) are Arrow dictionaries with `Int32` keys, the key type
//! DataFusion, DuckDB, Spark and Trino all read; ids are the 32 lowercase
//! hex digits the CLI and HTTP API print, so they join with those answers
//! and compare as text; line numbers are `UInt32` (as ingest stores them);
//! a file's size is `UInt64`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};

/// Version of the exported tables' layout: bumped when a column is added,
/// removed, renamed or changes type or meaning (stored as
/// `kausal.export_version` in every file).
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// A column's type, as the export writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (`Utf8`).
    Text,
    /// UTF-8 text of few distinct values (`Dictionary(Int32, Utf8)`).
    Category,
    /// `UInt32`.
    U32,
    /// `UInt64`.
    U64,
}

impl ColumnType {
    /// The Arrow type of a column of this type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Category => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            ColumnType::U32 => DataType::UInt32,
            ColumnType::U64 => DataType::UInt64,
        }
    }
}

/// One column of an exported table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: &'static str,
    /// Its type.
    pub kind: ColumnType,
    /// Whether it may hold nulls.
    pub nullable: bool,
    /// What it holds (the text docs/EXPORT.md gives).
    pub meaning: &'static str,
}

const fn column(
    name: &'static str,
    kind: ColumnType,
    nullable: bool,
    meaning: &'static str,
) -> Column {
    Column {
        name,
        kind,
        nullable,
        meaning,
    }
}

use ColumnType::{Category, Text, U32, U64};

/// `repo`, the first column of every table.
const REPO: Column = column(
    "repo",
    Category,
    false,
    "the repository's name (`--repo`, default the ingested root's directory name); \
     with `id` it identifies a block across exports",
);

/// The columns of `blocks.parquet`: one row per code block (files,
/// modules, functions, types, ...; never ingest's internal blocks).
pub const BLOCK_COLUMNS: &[Column] = &[
    REPO,
    column(
        "id",
        Text,
        false,
        "block id, 32 lowercase hex digits (as the CLI prints it); unique within a repository",
    ),
    column(
        "kind",
        Category,
        false,
        "`file`, `module`, `function`, `method`, `struct`, `enum`, `trait`, `impl`, `class`, ...",
    ),
    column(
        "name",
        Text,
        false,
        "the item's own name; a file's file name",
    ),
    column(
        "qualified_name",
        Text,
        false,
        "the name with its module path (`crate::parse::parse`, `pkg.util.parse`); a file's module path",
    ),
    column(
        "language",
        Category,
        false,
        "`rust`, `python`, `typescript`, `javascript`, `go`, `c`, `zig`",
    ),
    column(
        "path",
        Text,
        false,
        "repository-relative, `/`-separated path of the file holding the block",
    ),
    column("start_line", U32, false, "first line, 1-based"),
    column("end_line", U32, false, "last line, 1-based, inclusive"),
    column(
        "signature",
        Text,
        false,
        "the item's text up to its body, whitespace collapsed (empty for files)",
    ),
    column(
        "doc",
        Text,
        false,
        "first line of its doc comment (empty when none)",
    ),
    column(
        "content_bytes",
        U32,
        false,
        "bytes of the block's source text (the text itself stays in the database: `kausal show ID`)",
    ),
];

/// The columns of `edges.parquet`: one row per stored edge leaving a
/// code block (the name index's `names` edges are not exported).
pub const EDGE_COLUMNS: &[Column] = &[
    REPO,
    column(
        "source",
        Text,
        false,
        "id of the block the edge leaves (a `blocks.id` of the same repo)",
    ),
    column(
        "target",
        Text,
        false,
        "id of the block the edge enters (a `blocks.id` of the same repo)",
    ),
    column(
        "edge_type",
        Category,
        false,
        "`calls`, `calls_method`, `calls_function`, `calls_candidate`, `imports`, `contains`, \
         `defined_in`, `method_of`, `implements`, `extends`, `references`, `depends_on`",
    ),
    column(
        "resolved_by",
        Category,
        true,
        "call edges: the rule that resolved the call (`precise`, `scope`, `import`, `path`, \
         `self_method`, `inherited`, `receiver_type`, `trait_bound`, `blanket_trait`, \
         `unique_name`), `candidate` for `calls_candidate`, `unrecorded` for a call edge \
         without a record; null for other edge types",
    ),
];

/// The columns of `files.parquet`: one row per ingested file, and one per
/// file the last ingest skipped (as far as its record lists them).
pub const FILE_COLUMNS: &[Column] = &[
    REPO,
    column(
        "path",
        Text,
        false,
        "repository-relative, `/`-separated path",
    ),
    column(
        "status",
        Category,
        false,
        "`ingested`, or `skipped` (left out by the last ingest: see `skip_cause`)",
    ),
    column(
        "language",
        Category,
        true,
        "as in `blocks.language`; null for a skipped file",
    ),
    column(
        "file_id",
        Text,
        true,
        "id of the file's block in `blocks`; null for a skipped file",
    ),
    column(
        "lines",
        U32,
        true,
        "lines in the file; null for a skipped file",
    ),
    column(
        "bytes",
        U64,
        true,
        "size in bytes when ingested; null for a skipped file",
    ),
    column(
        "content_hash",
        Text,
        true,
        "ingest's 128-bit hash of the content, 32 hex digits (changes when the file does); null for a skipped file",
    ),
    column(
        "syntax_errors",
        U32,
        true,
        "tree-sitter ERROR/MISSING nodes in the file (above 0: parsed in part); null when unknown",
    ),
    column(
        "skip_cause",
        Category,
        true,
        "why a skipped file was left out: `too_large`, `over_limit`, `not_text`, `unreadable`, \
         `parse_failed`, `symlink`; null for an ingested file",
    ),
    column(
        "skip_reason",
        Text,
        true,
        "the skip cause in words (`larger than 1048576 bytes`); null for an ingested file",
    ),
];

/// One exported table: its file name and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// `blocks`, `edges` or `files` (the `kausal.table` metadata value).
    pub name: &'static str,
    /// The file it is written to in the export directory.
    pub file_name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [Column],
}

/// `blocks.parquet`.
pub const BLOCKS: Table = Table {
    name: "blocks",
    file_name: "blocks.parquet",
    columns: BLOCK_COLUMNS,
};
/// `edges.parquet`.
pub const EDGES: Table = Table {
    name: "edges",
    file_name: "edges.parquet",
    columns: EDGE_COLUMNS,
};
/// `files.parquet`.
pub const FILES: Table = Table {
    name: "files",
    file_name: "files.parquet",
    columns: FILE_COLUMNS,
};

/// Every exported table, in the order they are written.
pub const TABLES: [Table; 3] = [BLOCKS, EDGES, FILES];

impl Table {
    /// The table's Arrow schema (without file metadata).
    pub fn schema(&self) -> Arc<Schema> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|column| Field::new(column.name, column.kind.data_type(), column.nullable))
            .collect();
        Arc::new(Schema::new_with_metadata(fields, HashMap::new()))
    }
}

/// Keys of the key-value metadata in every exported file.
pub mod keys {
    /// Which table the file holds: `blocks`, `edges` or `files`.
    pub const TABLE: &str = "kausal.table";
    /// [`super::EXPORT_FORMAT_VERSION`].
    pub const EXPORT_VERSION: &str = "kausal.export_version";
    /// The version of the kausal build that wrote the file.
    pub const KAUSAL_VERSION: &str = "kausal.version";
    /// kausal-ingest's `INGEST_STATE_VERSION`: the ingest format the
    /// graph was built with (a build whose version differs re-parses
    /// every file at its next ingest).
    pub const INGEST_VERSION: &str = "kausal.ingest_version";
    /// kausal-ingest's `PROVENANCE_VERSION`: the vocabulary
    /// `resolved_by` comes from.
    pub const PROVENANCE_VERSION: &str = "kausal.provenance_version";
    /// The repository's name (as in the `repo` column).
    pub const REPO: &str = "kausal.repo";
    /// The ingested root's absolute path, when known.
    pub const ROOT: &str = "kausal.root";
    /// When the export ran, RFC 3339 in UTC (`2026-05-01T12:00:00Z`).
    pub const EXPORTED_AT: &str = "kausal.exported_at";
    /// The database snapshot's sequence number the export read.
    pub const SEQUENCE: &str = "kausal.snapshot_sequence";
    /// Files the last ingest's walk found (`files_seen`), when recorded.
    pub const FILES_SEEN: &str = "kausal.files_seen";
    /// Files the last ingest skipped; `files.parquet` lists at most the
    /// first 100 of them (the walk record's cap).
    pub const FILES_SKIPPED: &str = "kausal.files_skipped";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_repo_and_has_unique_column_names() {
        for table in TABLES {
            assert_eq!(table.columns[0].name, "repo", "{}", table.name);
            let mut names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.columns.len(), "{}", table.name);
            assert_eq!(table.schema().fields().len(), table.columns.len());
            assert!(table.file_name.starts_with(table.name));
        }
    }
}
