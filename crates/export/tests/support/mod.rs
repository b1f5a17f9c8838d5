//! Shared by the export tests: two small repositories that each vendor
//! the same library function (`mathlib::normalize`) and call it, ingested
//! and exported; and readers of the written Parquet files (the `parquet`
//! crate's Arrow reader, no SQL engine).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use kausal_export::{ExportOptions, ExportReport};
use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::Database;
use kausal_vfs::OsVfs;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The export time every test export records.
pub const EXPORTED_AT_SECONDS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The library both repositories vendor.
pub const MATHLIB: &str =
    "pub fn normalize(x: f64) -> f64 {\n    x / scale()\n}\n\nfn scale() -> f64 {\n    2.0\n}\n";

/// `app-a`: a library crate whose `render` and `layout` call
/// `mathlib::normalize`; `helper` does not.
pub const APP_A: &[(&str, &str)] = &[
    ("src/mathlib.rs", MATHLIB),
    (
        "src/lib.rs",
        "mod mathlib;\n\npub fn render() -> f64 {\n    mathlib::normalize(2.0)\n}\n\npub fn layout() -> f64 {\n    mathlib::normalize(3.0) + helper()\n}\n\nfn helper() -> f64 {\n    1.0\n}\n",
    ),
];

/// `app-b`: a binary whose `main` and `report` call `mathlib::normalize`,
/// plus a file too large to ingest (skipped, listed in `files`).
pub const APP_B: &[(&str, &str)] = &[
    ("src/mathlib.rs", MATHLIB),
    (
        "src/main.rs",
        "mod mathlib;\n\nfn main() {\n    let value = mathlib::normalize(1.0);\n    report(value);\n}\n\nfn report(value: f64) {\n    println!(\"{}\", mathlib::normalize(value));\n}\n",
    ),
];

/// Bytes of `app-b`'s oversized file (over the ingest limit the tests set).
pub const LARGE_FILE_BYTES: usize = 4096;
/// The ingest size limit the tests set.
pub const MAX_FILE_BYTES: u64 = 2048;

/// A repository ingested into its own `.kausal/` and exported.
pub struct Exported {
    /// Holds the repository (and its database) until dropped.
    pub root: tempfile::TempDir,
    /// The export directory.
    pub dir: PathBuf,
    /// What the export reported.
    pub report: ExportReport,
}

/// Writes `files` into a new repository, adding `extra` large files.
pub fn write_repo(files: &[(&str, &str)], large: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for path in large {
        let text = "// padding\n".repeat(LARGE_FILE_BYTES / 11 + 1);
        std::fs::write(root.path().join(path), text).unwrap();
    }
    root
}

/// Ingests `root` into `root/.kausal`.
pub fn ingest(root: &Path) -> Database {
    let db = Database::open(root.join(".kausal")).unwrap();
    let options = IngestOptions {
        max_file_bytes: MAX_FILE_BYTES,
        threads: Some(1),
        ..IngestOptions::default()
    };
    Ingester::new(Arc::new(OsVfs::new()), root, options)
        .unwrap()
        .ingest(&db)
        .unwrap();
    db
}

/// Exports `db` as `repo` into `dir`.
pub fn export(db: &Database, repo: &str, dir: &Path) -> ExportReport {
    let options = ExportOptions {
        repo: repo.to_string(),
        root: None,
        exported_at: UNIX_EPOCH + Duration::from_secs(EXPORTED_AT_SECONDS),
    };
    kausal_export::export(Arc::new(OsVfs::new()), &db.snapshot(), dir, &options).unwrap()
}

/// Ingests and exports a repository of `files` (and `large` files) as
/// `repo` into `out/<repo>`.
pub fn ingest_and_export(
    repo: &str,
    files: &[(&str, &str)],
    large: &[&str],
    out: &Path,
) -> Exported {
    let root = write_repo(files, large);
    let db = ingest(root.path());
    let dir = out.join(repo);
    let report = export(&db, repo, &dir);
    db.shutdown().unwrap();
    Exported { root, dir, report }
}

/// Every batch of a Parquet file, and its key-value metadata.
pub fn read_parquet(path: &Path) -> (Vec<RecordBatch>, HashMap<String, String>) {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let batches = builder.build().unwrap().map(Result::unwrap).collect();
    (batches, metadata)
}

/// One cell as text: strings as they are, numbers in decimal, null as
/// `None`.
pub fn cell(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let array = batch.column_by_name(column).unwrap();
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::Utf8View => array.as_string_view().value(row).to_string(),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_dictionary::<Int32Type>();
            let key = dictionary.keys().value(row) as usize;
            dictionary
                .values()
                .as_string::<i32>()
                .value(key)
                .to_string()
        }
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).to_string(),
        other => panic!("column {column} has type {other}"),
    })
}

/// Every row of a table file as a map from column name to cell.
pub fn rows(path: &Path) -> Vec<HashMap<String, Option<String>>> {
    let (batches, _) = read_parquet(path);
    let mut out = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|field| (field.name().clone(), cell(batch, field.name(), row)))
                    .collect(),
            );
        }
    }
    out
}

/// The cell `column` of `row`, which must not be null.
pub fn text(row: &HashMap<String, Option<String>>, column: &str) -> String {
    row.get(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .clone()
        .unwrap_or_else(|| panic!("{column} is null"))
}
