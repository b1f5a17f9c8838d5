//! The cross-repository question in SQL, as an analytics engine asks it:
//! two repositories exported on their own, their files registered as the
//! tables `blocks` and `edges` in DataFusion, and docs/EXPORT.md's query
//! for every caller of `mathlib::normalize` across both. Built only with
//! the `datafusion-test` feature (`cargo xtask export-check`): DataFusion
//! takes minutes to compile on two cores, so test-all asks the same
//! question through the Parquet reader instead (`cross_repo.rs`).

#![cfg(feature = "datafusion-test")]
#![allow(clippy::unwrap_used)]

mod support;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use support::{APP_A, APP_B, cell, ingest_and_export};

/// docs/EXPORT.md's example, word for word.
const CALLERS_SQL: &str = "
SELECT caller.repo, caller.qualified_name, caller.path, caller.start_line,
       e.edge_type, e.resolved_by
FROM blocks callee
JOIN edges e ON e.repo = callee.repo AND e.target = callee.id
JOIN blocks caller ON caller.repo = e.repo AND caller.id = e.source
WHERE callee.name = 'normalize' AND callee.path LIKE '%mathlib.rs'
  AND e.edge_type IN ('calls', 'calls_method', 'calls_function')
ORDER BY caller.repo, caller.qualified_name";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datafusion_finds_every_caller_across_two_repositories() {
    let out = tempfile::tempdir().unwrap();
    let a = ingest_and_export("app-a", APP_A, &[], out.path());
    let b = ingest_and_export("app-b", APP_B, &["src/generated.rs"], out.path());
    let context = SessionContext::new();
    for table in ["blocks", "edges", "files"] {
        let paths: Vec<String> = [&a.dir, &b.dir]
            .iter()
            .map(|dir| dir.join(format!("{table}.parquet")).display().to_string())
            .collect();
        let frame = context
            .read_parquet(paths, ParquetReadOptions::default())
            .await
            .unwrap();
        context.register_table(table, frame.into_view()).unwrap();
    }
    let batches = context
        .sql(CALLERS_SQL)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut found = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let column = |name| cell(batch, name, row).unwrap_or_else(|| "NULL".into());
            found.push(format!(
                "{} {} {}:{} {} {}",
                column("repo"),
                column("qualified_name"),
                column("path"),
                column("start_line"),
                column("edge_type"),
                column("resolved_by")
            ));
        }
    }
    assert_eq!(
        found,
        [
            "app-a crate::layout src/lib.rs:7 calls path",
            "app-a crate::render src/lib.rs:3 calls path",
            "app-b crate::main src/main.rs:3 calls path",
            "app-b crate::report src/main.rs:8 calls path",
        ]
    );

    // The files of both repositories, in one table: the skipped one too.
    let files = context
        .sql("SELECT repo, status, count(*) AS n FROM files GROUP BY repo, status ORDER BY repo, status")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let counts: Vec<String> = files
        .iter()
        .flat_map(|batch| {
            (0..batch.num_rows()).map(move |row| {
                format!(
                    "{} {} {}",
                    cell(batch, "repo", row).unwrap(),
                    cell(batch, "status", row).unwrap(),
                    batch
                        .column_by_name("n")
                        .map(|n| datafusion::arrow::array::cast::as_primitive_array::<
                            datafusion::arrow::datatypes::Int64Type,
                        >(n)
                        .value(row))
                        .unwrap()
                )
            })
        })
        .collect();
    assert_eq!(
        counts,
        ["app-a ingested 2", "app-b ingested 2", "app-b skipped 1"]
    );
}
