//! "Did you mean" reads the names by length and prefix matches the names
//! dictionary, and both stay right through incremental ingests that add
//! and remove names; in a database without the names by length, or
//! without a dictionary (ingested before they existed), suggestions fall
//! back to every name of the dictionary, or to a scan, and give the same
//! answers.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use kausal_ingest::name_dictionary::head_id;
use kausal_ingest::name_lengths;
use kausal_ingest::{IngestOptions, Ingester};
use kausal_service::Reader;
use kausal_service::names::{self, MatchKind, SuggestionSource};
use kausal_storage::Database;
use kausal_vfs::{OsVfs, Vfs};

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

fn suggest(engine: &Database, query: &str) -> (Vec<String>, SuggestionSource) {
    let suggestions = names::suggest(&Reader::new(engine), query).unwrap();
    (suggestions.names, suggestions.source)
}

/// Names of the blocks a prefix query matches, sorted.
fn prefix(engine: &Database, query: &str) -> Vec<String> {
    let reader = Reader::new(engine);
    let matches = names::matches(&reader, query).unwrap();
    assert_eq!(matches.kind, MatchKind::Prefix, "{query}");
    let mut found: Vec<String> = matches
        .blocks
        .iter()
        .map(|view| kausal_service::BlockInfo::from_view(view).name)
        .collect();
    found.sort();
    found
}

/// A database under `dir` holding one ingest of `root`, and the ingester
/// that wrote it (for incremental ingests after edits).
fn ingested(dir: &Path, root: &Path) -> (Database, Ingester) {
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let engine = Database::open_with(vfs.clone(), dir.join("db"), Default::default()).unwrap();
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    let mut ingester = Ingester::new(vfs, root, options).unwrap();
    ingester.ingest(&engine).unwrap();
    (engine, ingester)
}

#[test]
fn suggestions_follow_incremental_edits_through_the_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(
        &root,
        "src/lib.rs",
        "pub fn alpha_parser() {}\npub fn beta_reader() {}\npub struct Table;\n\
         impl std::fmt::Display for Table {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { Ok(()) }\n}\n",
    );
    write(&root, "src/other.rs", "pub fn beta_writer() {}\n");
    let (engine, mut ingester) = ingested(dir.path(), &root);

    let (found, source) = suggest(&engine, "alpha_parsr");
    assert_eq!(source, SuggestionSource::Lengths);
    assert_eq!(found, ["alpha_parser"]);
    assert_eq!(prefix(&engine, "beta_"), ["beta_reader", "beta_writer"]);
    // A name that is no index key (an impl's) is found by its entry's key.
    assert_eq!(
        prefix(&engine, "impl std::fmt::Display"),
        ["impl std::fmt::Display for Table"]
    );

    // One name renamed, one added, a file deleted: an incremental ingest.
    write(
        &root,
        "src/lib.rs",
        "pub fn alpha_parsing() {}\npub fn beta_reader() {}\npub fn gamma_writer() {}\n",
    );
    std::fs::remove_file(root.join("src/other.rs")).unwrap();
    ingester.ingest(&engine).unwrap();
    let (found, source) = suggest(&engine, "alpha_parsr");
    assert_eq!(source, SuggestionSource::Lengths);
    assert_eq!(found, ["alpha_parsing"]);
    assert_eq!(suggest(&engine, "gamma_writr").0, ["gamma_writer"]);
    assert_eq!(prefix(&engine, "beta_"), ["beta_reader"]);
    assert!(prefix(&engine, "impl std").is_empty());

    // Without the names by length, then without the dictionary (databases
    // from before them): every name of the dictionary, then a scan, the
    // same answers.
    let by_length = suggest(&engine, "beta_readr");
    assert_eq!(by_length.1, SuggestionSource::Lengths);
    engine.delete_block(name_lengths::head_id()).unwrap();
    let (found, source) = suggest(&engine, "beta_readr");
    assert_eq!(source, SuggestionSource::Dictionary);
    assert_eq!(found, by_length.0);
    engine.delete_block(head_id()).unwrap();
    let (found, source) = suggest(&engine, "beta_readr");
    assert_eq!(source, SuggestionSource::Scan);
    assert_eq!(found, by_length.0);
    assert_eq!(prefix(&engine, "beta_"), ["beta_reader"]);
}

#[test]
fn a_capped_prefix_match_reads_only_the_first_names_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    // Written out of name order, so file order cannot pass for name order.
    write(
        &root,
        "src/lib.rs",
        "pub fn many_e() {}\npub fn many_c() {}\npub fn many_a() {}\npub fn many_d() {}\npub fn many_b() {}\n",
    );
    let (engine, _) = ingested(dir.path(), &root);
    let reader = Reader::new(&engine);
    let capped = names::matches_capped(&reader, "many_", 3).unwrap();
    assert_eq!(capped.kind, MatchKind::Prefix);
    let found: Vec<String> = capped
        .blocks
        .iter()
        .map(|view| kausal_service::BlockInfo::from_view(view).name)
        .collect();
    assert_eq!(found, ["many_a", "many_b", "many_c"]);
    // Uncapped, all five.
    assert_eq!(
        prefix(&engine, "many_"),
        ["many_a", "many_b", "many_c", "many_d", "many_e"]
    );
}

/// Names of many lengths, and queries near and far from them: the names by
/// length (read outward from the query's length) give exactly what every
/// name of the dictionary gives.
#[test]
fn suggestions_by_length_equal_those_from_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let mut text = String::new();
    let stems = ["parse", "parser", "parse_all", "reader", "read", "rd", "x"];
    for (n, stem) in stems.iter().enumerate() {
        for suffix in ["", "_a", "_ab", "_abc", "_abcdef", "_abcdefghijkl"] {
            text.push_str(&format!("def {stem}{suffix}():\n    return {n}\n\n"));
        }
    }
    write(&root, "m.py", &text);
    let (engine, _) = ingested(dir.path(), &root);
    let queries = [
        "pars",
        "parze",
        "parse_ab",
        "raeder",
        "read_abcdefghijkl",
        "r",
        "zz",
        "parse_abcdefgh",
        "x_abcd",
        "qqqqqqqqqqqqqqqqq",
    ];
    let by_length: Vec<(Vec<String>, SuggestionSource)> = queries
        .iter()
        .map(|query| suggest(&engine, query))
        .collect();
    let answered = by_length.iter().filter(|(names, _)| !names.is_empty());
    assert!(answered.count() >= 8, "{by_length:?}");
    engine.delete_block(name_lengths::head_id()).unwrap();
    for (query, (names, source)) in queries.iter().zip(by_length) {
        assert_eq!(source, SuggestionSource::Lengths, "{query}");
        let (every, source) = suggest(&engine, query);
        assert_eq!(source, SuggestionSource::Dictionary, "{query}");
        assert_eq!(names, every, "{query}");
    }
}

/// A block id that names no block gets no suggestions: every name would be
/// far from 32 hex digits, and reading them all took most of `kausal show
/// ID` on the kernel (30 ms of a 35 ms process).
#[test]
fn a_missing_block_id_gets_no_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    // One edit from the id below.
    write(
        &root,
        "m.py",
        "def a000000000000000000000000000000x():\n    return 1\n",
    );
    let (engine, _) = ingested(dir.path(), &root);
    let (found, source) = suggest(&engine, "a000000000000000000000000000000y");
    assert_eq!(source, SuggestionSource::Lengths);
    assert_eq!(found, ["a000000000000000000000000000000x"]);
    let (found, source) = suggest(&engine, "a0000000000000000000000000000001");
    assert_eq!(source, SuggestionSource::BlockId);
    assert!(found.is_empty(), "{found:?}");
}
