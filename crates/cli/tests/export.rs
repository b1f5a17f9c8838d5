//! `kausal export` end to end: the JSON and human reports of an export,
//! an export while another process holds the database for writing (from
//! a consistent copy), and the usage errors of a bad DIR or `--repo`.

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;

mod support;

use support::fixture;

fn kausal(repo: &Path) -> Command {
    let mut command = Command::cargo_bin("kausal").expect("binary");
    command
        .current_dir(repo)
        .env_remove("KAUSAL_DB")
        .env("KAUSAL_NO_SERVER", "1")
        .env("NO_COLOR", "1");
    command
}

fn ingested() -> tempfile::TempDir {
    let repo = fixture();
    kausal(repo.path()).arg("ingest").assert().success();
    repo
}

fn export_json(repo: &Path, args: &[&str]) -> serde_json::Value {
    let output = kausal(repo)
        .args(["export", "--format", "parquet", "--json"])
        .args(args)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

/// Rows of each table in an export report.
fn rows(report: &serde_json::Value) -> Vec<(String, u64)> {
    report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|table| {
            (
                table["table"].as_str().expect("table").to_string(),
                table["rows"].as_u64().expect("rows"),
            )
        })
        .collect()
}

/// The error document of a failing export (exit 2).
fn usage_error(repo: &Path, args: &[&str]) -> serde_json::Value {
    let output = kausal(repo)
        .args(["export", "--format", "parquet", "--json"])
        .args(args)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let document: serde_json::Value = serde_json::from_slice(&output.stderr).expect("a JSON error");
    document["error"].clone()
}

#[test]
fn an_export_reports_its_three_tables_in_json_and_in_words() {
    let repo = ingested();
    let report = export_json(repo.path(), &["out"]);
    assert_eq!(report["command"], "export");
    assert_eq!(report["format"], "parquet");
    assert_eq!(report["from_copy"], false);
    let name = repo.path().file_name().expect("name").to_string_lossy();
    assert_eq!(report["repo"], name.as_ref());
    // The fixture: 4 files (one Python), 7 functions, one call chain.
    let counts = rows(&report);
    assert_eq!(counts[0], ("blocks".to_string(), 11));
    assert_eq!(counts[2], ("files".to_string(), 4));
    assert_eq!(counts[1].0, "edges");
    assert!(counts[1].1 > 4, "{counts:?}");
    for table in report["tables"].as_array().expect("tables") {
        let path = Path::new(table["path"].as_str().expect("path"));
        let bytes = std::fs::metadata(path).expect("written").len();
        assert_eq!(table["bytes"].as_u64(), Some(bytes));
        assert!(path.starts_with(repo.path().join("out")), "{path:?}");
    }
    let human = kausal(repo.path())
        .args(["export", "--format", "parquet", "out", "--repo", "fixture"])
        .output()
        .expect("run");
    assert!(human.status.success(), "{human:?}");
    let text = String::from_utf8(human.stdout).expect("utf-8");
    assert!(
        text.starts_with("exported ") && text.contains("as repo \"fixture\""),
        "{text}"
    );
    assert!(
        text.contains("11 blocks") && text.contains("4 files"),
        "{text}"
    );
    for file in ["blocks.parquet", "edges.parquet", "files.parquet"] {
        assert!(text.contains(file), "{text}");
    }
}

#[test]
fn an_export_while_a_writer_holds_the_database_reads_a_consistent_copy() {
    let repo = ingested();
    let before = export_json(repo.path(), &["first"]);
    let writer = kausal_storage::Database::open_with(
        Arc::new(kausal_vfs::OsVfs::new()),
        repo.path().join(".kausal"),
        kausal_storage::Config::default(),
    )
    .expect("writer");
    let during = export_json(repo.path(), &["second"]);
    drop(writer);
    assert_eq!(during["from_copy"], true);
    assert_eq!(rows(&during), rows(&before));
    // The copy was taken inside DIR and is gone.
    let left: Vec<String> = std::fs::read_dir(repo.path().join("second"))
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["blocks.parquet", "edges.parquet", "files.parquet"]);
}

#[test]
fn a_bad_directory_or_repository_name_is_a_usage_error() {
    let repo = ingested();
    std::fs::write(repo.path().join("plain-file"), "x").expect("write");
    let error = usage_error(repo.path(), &["plain-file"]);
    assert_eq!(error["code"], "usage");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("plain-file") && message.contains("not a directory"),
        "{message}"
    );
    let inside = usage_error(repo.path(), &[".kausal/export"]);
    assert!(
        inside["message"]
            .as_str()
            .is_some_and(|m| m.contains("inside the database")),
        "{inside}"
    );
    let empty = usage_error(repo.path(), &["out", "--repo", " "]);
    assert_eq!(empty["code"], "usage");
    assert!(!repo.path().join("out").exists());
    let unknown = kausal(repo.path())
        .args(["export", "--format", "csv", "out"])
        .output()
        .expect("run");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn without_a_database_export_says_so() {
    let empty = tempfile::tempdir().expect("tempdir");
    let error = usage_error(empty.path(), &["out"]);
    assert_eq!(error["code"], "no_database");
}
