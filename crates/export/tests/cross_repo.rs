//! Two repositories that vendor the same library function, each ingested
//! and exported on its own, then joined as an analytics engine would join
//! the files: every caller of `mathlib::normalize` across both. Read back
//! with the `parquet` crate's Arrow reader, so this runs in test-all; the
//! same question in SQL through DataFusion is `datafusion_query.rs`
//! (`cargo xtask export-check`).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeSet, HashMap};

use support::{APP_A, APP_B, ingest_and_export, read_parquet, rows, text};

/// The expected answer: (repo, caller's qualified name, file:line, edge
/// type, resolved_by). `mathlib::normalize(..)` is a call by path.
const CALLERS: &[(&str, &str, &str, &str, &str)] = &[
    ("app-a", "crate::layout", "src/lib.rs:7", "calls", "path"),
    ("app-a", "crate::render", "src/lib.rs:3", "calls", "path"),
    ("app-b", "crate::main", "src/main.rs:3", "calls", "path"),
    ("app-b", "crate::report", "src/main.rs:8", "calls", "path"),
];

type Row = HashMap<String, Option<String>>;

/// Every caller of the functions named `name` in a file ending in
/// `file`, across the exports in `dirs`: the join of docs/EXPORT.md's
/// example query, done by hand.
fn callers_across(dirs: &[&std::path::Path], name: &str, file: &str) -> BTreeSet<Vec<String>> {
    let load = |table: &str| -> Vec<Row> {
        dirs.iter()
            .flat_map(|dir| rows(&dir.join(format!("{table}.parquet"))))
            .collect()
    };
    let (blocks, edges) = (load("blocks"), load("edges"));
    let by_id: HashMap<(String, String), &Row> = blocks
        .iter()
        .map(|row| ((text(row, "repo"), text(row, "id")), row))
        .collect();
    let callees: BTreeSet<(String, String)> = blocks
        .iter()
        .filter(|row| text(row, "name") == name && text(row, "path").ends_with(file))
        .map(|row| (text(row, "repo"), text(row, "id")))
        .collect();
    edges
        .iter()
        .filter(|edge| text(edge, "edge_type").starts_with("calls"))
        .filter(|edge| callees.contains(&(text(edge, "repo"), text(edge, "target"))))
        .map(|edge| {
            let caller = by_id[&(text(edge, "repo"), text(edge, "source"))];
            vec![
                text(edge, "repo"),
                text(caller, "qualified_name"),
                format!("{}:{}", text(caller, "path"), text(caller, "start_line")),
                text(edge, "edge_type"),
                edge["resolved_by"].clone().unwrap_or_default(),
            ]
        })
        .collect()
}

#[test]
fn every_caller_of_a_library_function_across_two_repositories() {
    let out = tempfile::tempdir().unwrap();
    let a = ingest_and_export("app-a", APP_A, &[], out.path());
    let b = ingest_and_export("app-b", APP_B, &["src/generated.rs"], out.path());
    let found = callers_across(&[&a.dir, &b.dir], "normalize", "mathlib.rs");
    let expected: BTreeSet<Vec<String>> = CALLERS
        .iter()
        .map(|row| {
            [row.0, row.1, row.2, row.3, row.4]
                .map(String::from)
                .to_vec()
        })
        .collect();
    assert_eq!(found, expected);
    // The library's own internal call is not a caller of `normalize`.
    let scale = callers_across(&[&a.dir, &b.dir], "scale", "mathlib.rs");
    let scale_callers: BTreeSet<(String, String)> = scale
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    assert_eq!(
        scale_callers,
        BTreeSet::from([
            ("app-a".into(), "crate::mathlib::normalize".into()),
            ("app-b".into(), "crate::mathlib::normalize".into()),
        ])
    );
}

#[test]
fn each_file_names_its_table_repository_and_versions() {
    let out = tempfile::tempdir().unwrap();
    let a = ingest_and_export("app-a", APP_A, &[], out.path());
    for (table, written) in ["blocks", "edges", "files"].iter().zip(&a.report.tables) {
        assert_eq!(written.table, *table);
        let path = a.dir.join(format!("{table}.parquet"));
        assert_eq!(written.path, path.display().to_string());
        assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());
        let (batches, metadata) = read_parquet(&path);
        let rows: usize = batches.iter().map(|batch| batch.num_rows()).sum();
        assert_eq!(written.rows, rows as u64, "{table}");
        assert_eq!(metadata["kausal.table"], *table);
        assert_eq!(metadata["kausal.repo"], "app-a");
        assert_eq!(metadata["kausal.export_version"], "1");
        assert_eq!(metadata["kausal.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            metadata["kausal.ingest_version"],
            kausal_ingest::INGEST_STATE_VERSION.to_string()
        );
        assert_eq!(metadata["kausal.exported_at"], "2026-01-01T00:00:00Z");
        assert_eq!(metadata["kausal.files_seen"], "2");
        assert_eq!(metadata["kausal.files_skipped"], "0");
        // No temporary file is left behind.
        assert!(!a.dir.join(format!("{table}.parquet.tmp")).exists());
    }
    // Two files, a function and the library's two functions, the
    // module: no internal block (state, provenance, dictionary, counts).
    let blocks = rows(&a.dir.join("blocks.parquet"));
    let kinds: BTreeSet<String> = blocks.iter().map(|row| text(row, "kind")).collect();
    assert!(
        kinds.contains("file") && kinds.contains("function"),
        "{kinds:?}"
    );
    for internal in [
        "ingest_state",
        "call_provenance",
        "name_dictionary",
        "graph_counts",
        "ingest_walk",
    ] {
        assert!(!kinds.contains(internal), "{internal} exported");
    }
    assert!(a.report.internal_blocks > 0);
}

#[test]
fn files_lists_ingested_files_with_their_hash_and_the_skipped_one_with_its_cause() {
    let out = tempfile::tempdir().unwrap();
    let b = ingest_and_export("app-b", APP_B, &["src/generated.rs"], out.path());
    let mut files = rows(&b.dir.join("files.parquet"));
    files.sort_by_key(|row| text(row, "path"));
    let paths: Vec<String> = files.iter().map(|row| text(row, "path")).collect();
    assert_eq!(paths, ["src/generated.rs", "src/main.rs", "src/mathlib.rs"]);
    let (generated, main) = (&files[0], &files[1]);
    assert_eq!(text(generated, "status"), "skipped");
    assert_eq!(text(generated, "skip_cause"), "too_large");
    assert!(text(generated, "skip_reason").contains("larger than"));
    for column in ["language", "file_id", "lines", "bytes", "content_hash"] {
        assert_eq!(generated[column], None, "{column}");
    }
    assert_eq!(text(main, "status"), "ingested");
    assert_eq!(text(main, "language"), "rust");
    assert_eq!(text(main, "lines"), APP_B[1].1.lines().count().to_string());
    assert_eq!(text(main, "bytes"), APP_B[1].1.len().to_string());
    assert_eq!(text(main, "syntax_errors"), "0");
    assert_eq!(main["skip_cause"], None);
    let hash = text(main, "content_hash");
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    // file_id is the file's row in blocks.
    let blocks = rows(&b.dir.join("blocks.parquet"));
    let file_block = blocks
        .iter()
        .find(|row| text(row, "id") == text(main, "file_id"))
        .unwrap();
    assert_eq!(text(file_block, "kind"), "file");
    assert_eq!(text(file_block, "path"), "src/main.rs");
    let (_, metadata) = read_parquet(&b.dir.join("files.parquet"));
    assert_eq!(metadata["kausal.files_skipped"], "1");
}
