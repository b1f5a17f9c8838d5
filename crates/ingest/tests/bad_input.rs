//! Bad input never panics and never writes a partial file: each case is
//! skipped or partially ingested and listed in the report with its reason.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, Ingester};
use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, Vfs, VfsError};
use support::*;

/// OsVfs, except that reading the files whose paths end with a given
/// suffix fails with a given error kind (a file that vanishes or turns
/// unreadable after the walk).
fn failing_reads(failures: Vec<(&'static str, std::io::ErrorKind)>) -> Arc<dyn Vfs> {
    Arc::new(HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        if op.kind != OpKind::ReadFile {
            return Ok(());
        }
        match failures
            .iter()
            .find(|(suffix, _)| op.path.to_string_lossy().ends_with(suffix))
        {
            Some((_, kind)) => Err(VfsError::new(
                op.kind.name(),
                op.path,
                std::io::Error::new(*kind, "injected"),
            )),
            None => Ok(()),
        }
    }))
}

fn reason_of(report: &kausal_ingest::IngestReport, path: &str) -> String {
    report
        .skipped
        .iter()
        .chain(report.partial.iter())
        .find(|s| s.path == path)
        .map(|s| s.reason.clone())
        .unwrap_or_else(|| panic!("{path} not listed in\n{report}"))
}

#[test]
fn bad_files_are_skipped_or_partial_with_reasons() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    let nested_blocks = format!(
        "fn deep() {{{}{}}}\n",
        "{".repeat(10_000),
        "}".repeat(10_000)
    );
    let mut nested_modules = String::new();
    for _ in 0..10_000 {
        nested_modules.push_str("mod m { ");
    }
    nested_modules.push_str("fn inner() {}");
    nested_modules.push_str(&" }".repeat(10_000));
    let huge_line = format!("pub fn long() {{ let s = \"{}\"; }}\n", "x".repeat(900_000));
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub fn ok() {}\n"),
            (
                "src/broken.rs",
                "pub fn good() {}\nfn bad( {\n}\npub fn after() { good(); }\n",
            ),
            ("src/nested_blocks.rs", &nested_blocks),
            ("src/nested_modules.rs", &nested_modules),
            ("src/huge_line.rs", &huge_line),
            ("src/gone.rs", "pub fn gone() {}\n"),
            ("src/locked.rs", "pub fn locked() {}\n"),
            ("target/debug/x.rs", "fn never() {}\n"),
            ("node_modules/x/index.js", "function never() {}\n"),
            ("ignored/x.rs", "fn never() {}\n"),
            (".gitignore", "ignored/\n"),
        ],
    );
    std::fs::write(
        root.path().join("src/invalid_utf8.rs"),
        b"fn a() {}\n\xff\xfe\n",
    )
    .unwrap();
    std::fs::write(root.path().join("src/binary.rs"), b"fn a() {}\0\0\0").unwrap();
    std::fs::write(root.path().join("src/big.rs"), "// x\n".repeat(300_000)).unwrap();
    // A directory symlink loop (followed links detect it).
    std::os::unix::fs::symlink(root.path().join("src"), root.path().join("src/loop")).unwrap();

    let vfs = failing_reads(vec![
        ("src/gone.rs", std::io::ErrorKind::NotFound),
        ("src/locked.rs", std::io::ErrorKind::PermissionDenied),
    ]);
    let engine = open_engine(db.path());
    let options = IngestOptions {
        follow_symlinks: true,
        ..options()
    };
    let mut ingester = Ingester::new(vfs, root.path(), options).unwrap();
    let report = ingester.ingest(&engine).unwrap();

    assert!(reason_of(&report, "src/invalid_utf8.rs").contains("not UTF-8"));
    assert!(reason_of(&report, "src/binary.rs").contains("binary"));
    assert!(reason_of(&report, "src/big.rs").contains("larger than 1048576 bytes"));
    assert!(reason_of(&report, "src/gone.rs").contains("vanished"));
    assert!(reason_of(&report, "src/locked.rs").contains("unreadable"));
    assert!(reason_of(&report, "src/broken.rs").contains("syntax error"));
    assert!(reason_of(&report, "src/nested_modules.rs").contains("nested deeper than"));
    assert!(
        report.skipped.iter().any(|s| s.reason.contains("loop")),
        "{report}"
    );
    // Ignored and always-skipped directories are not walked.
    let dump = dump(&engine);
    let paths: std::collections::BTreeSet<&str> = dump
        .blocks
        .values()
        .map(|(uri, _, _)| uri.as_str())
        .collect();
    for path in [
        "target/debug/x.rs",
        "node_modules/x/index.js",
        "ignored/x.rs",
        "src/big.rs",
    ] {
        assert!(!paths.contains(path), "{path} was ingested");
    }
    for path in [
        "src/lib.rs",
        "src/broken.rs",
        "src/nested_blocks.rs",
        "src/huge_line.rs",
    ] {
        assert!(paths.contains(path), "{path} missing");
    }
    // The broken file keeps what parsed, including the call after the error.
    let calls = call_lines(&engine);
    assert!(
        calls.contains("crate::broken::after -calls-> crate::broken::good"),
        "{calls:#?}"
    );
    // A smaller configured limit skips more.
    let small = IngestOptions {
        max_file_bytes: 1000,
        ..options_for_test()
    };
    let db2 = tempfile::tempdir().unwrap();
    let engine2 = open_engine(db2.path());
    let report2 = Ingester::new(Arc::new(OsVfs::new()), root.path(), small)
        .unwrap()
        .ingest(&engine2)
        .unwrap();
    assert!(reason_of(&report2, "src/huge_line.rs").contains("larger than 1000 bytes"));
}

fn options_for_test() -> IngestOptions {
    options()
}

#[test]
fn a_file_that_becomes_bad_leaves_the_graph() {
    let root = tempfile::tempdir().unwrap();
    let db = tempfile::tempdir().unwrap();
    write_tree(
        root.path(),
        &[
            ("src/lib.rs", "pub fn a() {}\n"),
            ("src/b.rs", "pub fn b() {}\n"),
        ],
    );
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(Arc::new(OsVfs::new()), root.path(), options()).unwrap();
    ingester.ingest(&engine).unwrap();
    std::fs::write(root.path().join("src/b.rs"), b"\xff\xff").unwrap();
    let report = ingester.ingest(&engine).unwrap();
    assert_eq!(report.files_removed, 1, "{report}");
    let fresh_db = tempfile::tempdir().unwrap();
    let (fresh, _) = ingest_fresh(root.path(), fresh_db.path());
    assert!(dump(&engine) == dump(&fresh));
}

#[test]
fn invalid_options_are_rejected() {
    for options in [
        IngestOptions {
            max_file_bytes: 0,
            ..IngestOptions::default()
        },
        IngestOptions {
            threads: Some(0),
            ..IngestOptions::default()
        },
    ] {
        assert!(Ingester::new(Arc::new(OsVfs::new()), "/", options).is_err());
    }
    let db = tempfile::tempdir().unwrap();
    let engine = open_engine(db.path());
    let missing = PathBuf::from("/definitely/not/here");
    let error = Ingester::new(Arc::new(OsVfs::new()), &missing, options())
        .unwrap()
        .ingest(&engine)
        .unwrap_err();
    assert!(
        error.to_string().contains("/definitely/not/here"),
        "{error}"
    );
}
