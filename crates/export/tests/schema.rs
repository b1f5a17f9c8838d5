//! The written schema cannot drift: every table's columns as read back
//! from an exported file (names, Arrow types, nullability) must equal the
//! checked-in snapshot `tests/snapshots/schema.txt` and the rows of
//! docs/EXPORT.md; an empty database exports three empty tables of that
//! schema; a bad directory is refused by name; and a graph larger than a
//! batch is written whole, call edges without a record marked as such.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::Arc;

use kausal_export::{ExportError, ExportOptions, TABLES, limits::BATCH_ROWS};
use kausal_storage::{BlockId, ContextBlock, Database, EdgeType, GraphEdge, WriteBatch};
use kausal_vfs::OsVfs;
use support::{export, read_parquet, rows, text};

/// `table.column: type, nullable|not null` for every column of the
/// files in `dir`, as the Parquet reader sees them.
fn written_schema(dir: &Path) -> String {
    let mut out = String::new();
    for table in TABLES {
        let file = std::fs::File::open(dir.join(table.file_name)).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        for field in builder.schema().fields() {
            out.push_str(&format!(
                "{}.{}: {}, {}\n",
                table.name,
                field.name(),
                field.data_type(),
                if field.is_nullable() {
                    "nullable"
                } else {
                    "not null"
                }
            ));
        }
    }
    out
}

fn export_empty(dir: &Path) -> kausal_export::ExportReport {
    let db_dir = tempfile::tempdir().unwrap();
    let db = Database::open(db_dir.path()).unwrap();
    let report = export(&db, "empty", dir);
    db.shutdown().unwrap();
    report
}

#[test]
fn the_written_schema_matches_the_snapshot_and_the_documentation() {
    let out = tempfile::tempdir().unwrap();
    export_empty(out.path());
    let written = written_schema(out.path());
    let snapshot_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/schema.txt");
    if std::env::var_os("KAUSAL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot_path, &written).unwrap();
    }
    let snapshot = std::fs::read_to_string(&snapshot_path).unwrap();
    assert_eq!(
        written, snapshot,
        "the exported schema changed: update docs/EXPORT.md, bump EXPORT_FORMAT_VERSION, \
         and rerun with KAUSAL_UPDATE_SNAPSHOTS=1"
    );
    // docs/EXPORT.md has one row per column: | `name` | type | nullable | meaning |
    let docs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/EXPORT.md");
    let docs = std::fs::read_to_string(docs_path).unwrap();
    for table in TABLES {
        let section = docs
            .split(&format!("### `{}`", table.file_name))
            .nth(1)
            .unwrap_or_else(|| panic!("docs/EXPORT.md has no section for {}", table.file_name));
        let section = section.split("\n### ").next().unwrap_or_default();
        let documented: Vec<&str> = section
            .lines()
            .filter(|line| line.starts_with("| `"))
            .collect();
        assert_eq!(
            documented.len(),
            table.columns.len(),
            "{}: {documented:#?}",
            table.name
        );
        for (line, column) in documented.iter().zip(table.columns) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let nullable = if column.nullable { "yes" } else { "no" };
            assert_eq!(
                (cells[1], cells[2], cells[3]),
                (
                    format!("`{}`", column.name).as_str(),
                    format!("`{}`", column.kind.data_type()).as_str(),
                    nullable
                ),
                "{}: {line}",
                table.name
            );
        }
    }
}

#[test]
fn an_empty_database_exports_three_empty_tables_with_their_metadata() {
    let out = tempfile::tempdir().unwrap();
    let report = export_empty(out.path());
    assert_eq!(report.tables.len(), 3);
    assert_eq!(report.internal_blocks, 0);
    for (table, written) in TABLES.iter().zip(&report.tables) {
        assert_eq!(written.rows, 0, "{}", table.name);
        let (batches, metadata) = read_parquet(&out.path().join(table.file_name));
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
        assert_eq!(metadata["kausal.table"], table.name);
        assert_eq!(metadata["kausal.repo"], "empty");
        assert_eq!(metadata["kausal.snapshot_sequence"], "0");
        // No ingest ran: nothing to say about a walk.
        assert!(!metadata.contains_key("kausal.files_seen"));
    }
}

#[test]
fn a_directory_that_is_a_file_is_refused_by_name() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let db_dir = tempfile::tempdir().unwrap();
    let db = Database::open(db_dir.path()).unwrap();
    let options = ExportOptions {
        repo: "r".into(),
        root: None,
        exported_at: std::time::SystemTime::now(),
    };
    let error =
        kausal_export::export(Arc::new(OsVfs::new()), &db.snapshot(), &file, &options).unwrap_err();
    assert!(
        matches!(&error, ExportError::NotADirectory { path } if *path == file),
        "{error}"
    );
    assert!(error.to_string().contains("not-a-dir"), "{error}");
    let below = kausal_export::export(
        Arc::new(OsVfs::new()),
        &db.snapshot(),
        &file.join("sub"),
        &options,
    )
    .unwrap_err();
    assert!(below.to_string().contains("not-a-dir"), "{below}");
}

#[test]
fn a_graph_of_several_batches_is_written_whole() {
    let blocks = 2 * BATCH_ROWS + 17;
    let db_dir = tempfile::tempdir().unwrap();
    let db = Database::open(db_dir.path()).unwrap();
    let id = |n: usize| BlockId::from_u128(n as u128 + 1);
    // One batch: a put per block would sync thousands of times.
    let mut batch = WriteBatch::new();
    for n in 0..blocks {
        let meta = format!(
            r#"{{"kind":"function","name":"f{n}","qualified_name":"m::f{n}","language":"rust","path":"src/m{}.rs","start_line":{n},"end_line":{}}}"#,
            n % 7,
            n + 1
        );
        batch
            .put_block(ContextBlock::new(id(n), "src/m.rs", meta, "fn f() {}"))
            .unwrap();
        if n > 0 {
            let edge_type = if n % 2 == 0 {
                EdgeType::Calls
            } else {
                EdgeType::CallsCandidate
            };
            batch
                .put_edge(GraphEdge::new(id(n - 1), id(n), edge_type))
                .unwrap();
        }
    }
    db.write_batch(&batch).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = export(&db, "big", out.path());
    db.shutdown().unwrap();
    assert_eq!(report.tables[0].rows, blocks as u64);
    assert_eq!(report.tables[1].rows, blocks as u64 - 1);
    let written = rows(&out.path().join("blocks.parquet"));
    assert_eq!(written.len(), blocks);
    for (n, row) in written.iter().enumerate() {
        // Blocks come in id order, so row n is block n.
        assert_eq!(text(row, "id"), id(n).to_string());
        assert_eq!(text(row, "qualified_name"), format!("m::f{n}"));
        assert_eq!(text(row, "path"), format!("src/m{}.rs", n % 7));
        assert_eq!(text(row, "end_line"), (n + 1).to_string());
        assert_eq!(text(row, "content_bytes"), "9");
    }
    // No provenance block: a call edge is `unrecorded`, a candidate
    // `candidate`.
    for (n, row) in rows(&out.path().join("edges.parquet")).iter().enumerate() {
        assert_eq!(text(row, "source"), id(n).to_string());
        let expected = if (n + 1) % 2 == 0 {
            ("calls", "unrecorded")
        } else {
            ("calls_candidate", "candidate")
        };
        assert_eq!(
            (
                text(row, "edge_type").as_str(),
                text(row, "resolved_by").as_str()
            ),
            expected
        );
    }
}
