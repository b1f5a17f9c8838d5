//! What the walk leaves out is said, never silent, and one file never ends
//! an ingest: ignore rules that exclude everything are named with their
//! rule file and `no_ignore` overrides them; a file too large, or whose
//! blocks would break a storage limit (a generated header of tens of
//! thousands of `#define`s), is skipped with its cause while the rest is
//! ingested; the stored walk record says so for `kausal stats`.

mod support;

use std::fmt::Write as _;
use std::sync::Arc;

use kausal_ingest::{IngestOptions, Ingester, SkipCause, WalkRecord};
use kausal_vfs::{OsVfs, Vfs};
use support::*;

fn ingest_with(
    root: &std::path::Path,
    db: &std::path::Path,
    options: IngestOptions,
) -> (kausal_storage::Database, kausal_ingest::IngestReport) {
    let engine = open_engine(db);
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let report = Ingester::new(vfs, root, options)
        .unwrap()
        .ingest(&engine)
        .unwrap();
    (engine, report)
}

fn stored_walk_record(engine: &kausal_storage::Database) -> Option<WalkRecord> {
    engine
        .snapshot()
        .iterate_blocks()
        .unwrap()
        .map(|view| view.unwrap())
        .find_map(|view| WalkRecord::from_block(&view))
}

/// The tree of Debian's `linux-source` package in small: its top-level
/// `.gitignore` ignores everything but `debian/`.
fn ignore_everything_tree() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    write_tree(
        repo.path(),
        &[
            (".gitignore", "# packaging\n/*\n!/debian/\n"),
            ("kernel/fork.c", "int copy_process(void) { return 0; }\n"),
            ("kernel/exit.c", "void do_exit(void) { copy_process(); }\n"),
            ("mm/slab.c", "void *kmalloc(int n) { return 0; }\n"),
            ("debian/rules.py", "def main():\n    pass\n"),
        ],
    );
    repo
}

#[test]
fn rules_that_exclude_most_files_are_named_and_no_ignore_overrides_them() {
    let repo = ignore_everything_tree();
    let db = tempfile::tempdir().unwrap();
    let (engine, report) = ingest_with(repo.path(), &db.path().join("a"), options());
    assert_eq!(report.files_seen, 1, "only debian/ is walked: {report}");
    assert_eq!(report.ignored.excluded, 3);
    assert_eq!(report.ignored.without_rules, 4);
    let hit = report
        .ignored
        .top_rule_file
        .clone()
        .expect("a rule file is named");
    assert_eq!((hit.path.as_str(), hit.rule.as_str()), (".gitignore", "/*"));
    assert_eq!(hit.matched, 3);
    assert!(hit.example.ends_with(".c"), "{hit:?}");
    let text = report.to_string();
    assert!(
        text.contains(
            "warning: ignore rules excluded 3 of 4 source files; most by .gitignore (rule `/*`"
        ) && text.contains("--no-ignore"),
        "{text}"
    );
    // Ignoring is a choice the tree made, not a failure.
    assert!(report.is_complete());
    let record = stored_walk_record(&engine).expect("walk record stored");
    assert_eq!(record.ignored, report.ignored);
    assert_eq!(record.files_seen, 1);
    drop(engine);

    let no_ignore = IngestOptions {
        no_ignore: true,
        ..options()
    };
    let (engine, report) = ingest_with(repo.path(), &db.path().join("b"), no_ignore);
    assert_eq!(report.files_seen, 4, "{report}");
    assert_eq!(report.ignored, Default::default());
    assert!(!report.to_string().contains("warning:"), "{report}");
    let record = stored_walk_record(&engine).expect("walk record stored");
    assert_eq!(record.files_seen, 4);
}

#[test]
fn an_ignore_file_adds_rules_and_a_few_ignored_files_raise_no_warning() {
    let repo = tempfile::tempdir().unwrap();
    write_tree(
        repo.path(),
        &[
            ("src/a.rs", "pub fn a() {}\n"),
            ("src/b.rs", "pub fn b() {}\n"),
            ("src/c.rs", "pub fn c() {}\n"),
            ("gen/out.rs", "pub fn generated() {}\n"),
        ],
    );
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), "gen/\n").unwrap();
    let db = tempfile::tempdir().unwrap();
    let with_file = IngestOptions {
        ignore_files: vec![rules.path().to_path_buf()],
        ..options()
    };
    let (_engine, report) = ingest_with(repo.path(), db.path(), with_file);
    assert_eq!(report.files_seen, 3, "{report}");
    assert_eq!(report.ignored.excluded, 1);
    assert!(!report.ignored.is_suspicious());
    let hit = report
        .ignored
        .top_rule_file
        .clone()
        .expect("rule file named");
    assert_eq!(hit.rule, "gen/");
    assert!(
        report
            .to_string()
            .contains("ignored: 1 source files excluded"),
        "{report}"
    );
}

/// A generated register header: `count` `#define`s, each an item.
fn register_header(count: usize) -> String {
    let mut text = String::from("/* generated */\n");
    for index in 0..count {
        let _ = writeln!(text, "#define mmREG_{index:05}__FIELD_MASK 0x{index:08x}");
    }
    text
}

#[test]
fn a_header_over_the_size_limit_is_skipped_and_the_rest_ingested() {
    let repo = tempfile::tempdir().unwrap();
    // 20,000 #defines (under 1 MiB) are ingested: their summary lives in
    // the file's state block, not in display metadata with its 1 MiB cap.
    let dense = register_header(20_000);
    assert!((dense.len() as u64) < IngestOptions::default().max_file_bytes);
    write_tree(
        repo.path(),
        &[
            ("drivers/gpu/asic_reg/bif_sh_mask.h", &dense),
            ("drivers/gpu/huge_sh_mask.h", &register_header(40_000)),
            (
                "drivers/gpu/gpu.c",
                "int gpu_init(void) { return helper(); }\nint helper(void) { return 1; }\n",
            ),
        ],
    );
    let db = tempfile::tempdir().unwrap();
    let (engine, report) = ingest_with(repo.path(), db.path(), options());
    let causes: Vec<(&str, SkipCause)> = report
        .skipped
        .iter()
        .map(|file| (file.path.as_str(), file.cause))
        .collect();
    assert_eq!(
        causes,
        [("drivers/gpu/huge_sh_mask.h", SkipCause::TooLarge)],
        "{report}"
    );
    assert!(!report.is_complete());
    assert_eq!(report.files_parsed, 2, "{report}");
    assert!(
        report.to_string().contains("incomplete: 1 files left out"),
        "{report}"
    );
    assert_eq!(
        report.blocks_by_kind.get("function").copied(),
        Some(2),
        "{report}"
    );
    assert_eq!(
        report.blocks_by_kind.get("macro").copied(),
        Some(20_000),
        "{report}"
    );
    let record = stored_walk_record(&engine).expect("walk record");
    assert_eq!(record.skipped_by_cause.get("too_large"), Some(&1));

    // Raising the size limit ingests the big one too, and a re-ingest
    // stores the new record.
    let mut ingester = Ingester::new(
        Arc::new(OsVfs::new()),
        repo.path(),
        IngestOptions {
            max_file_bytes: 4 * 1024 * 1024,
            ..options()
        },
    )
    .unwrap();
    let report = ingester.ingest(&engine).unwrap();
    assert!(
        report.skipped.is_empty() && report.is_complete(),
        "{report}"
    );
    let record = stored_walk_record(&engine).expect("walk record");
    assert!(record.skipped_by_cause.is_empty(), "{record:?}");
    // Nothing changed: a no-change re-ingest writes nothing, the record included.
    let again = ingester.ingest(&engine).unwrap();
    assert_eq!((again.blocks_written, again.batches), (0, 0), "{again}");
    assert_eq!(stored_walk_record(&engine), Some(record));
}
