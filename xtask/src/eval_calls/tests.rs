use std::collections::BTreeSet;

use super::corpus::{CORPUS, Language, Registry, archive_url, sdist_url, select};
use std::path::Path;

use super::peers::{cgc_edges, gitnexus_edges};
use super::table::{
    CallersCheck, PeerScore, Row, Score, header, json, markdown, precise_summary, text,
};

#[test]
fn corpus_has_three_distinct_projects_per_language() {
    for language in [Language::Rust, Language::Python, Language::Typescript] {
        let projects = select(Some(language), None).unwrap();
        assert_eq!(projects.len(), 3, "{language:?}");
        let registry = match language {
            Language::Rust => Registry::CratesIo,
            Language::Python => Registry::PyPi,
            Language::Typescript => Registry::Npm,
            Language::Go | Language::C | Language::Zig => unreachable!("hand-labelled"),
        };
        assert!(projects.iter().all(|p| p.registry == registry));
    }
    let keys: BTreeSet<String> = CORPUS.iter().map(|p| p.key()).collect();
    assert_eq!(keys.len(), CORPUS.len());
    assert!(CORPUS.iter().all(|p| p.version.split('.').count() == 3));
    for language in [Language::Go, Language::C, Language::Zig] {
        assert!(language.hand_labelled());
        let labelled = super::hand::LABELLED
            .iter()
            .filter(|p| p.language == language.name())
            .count();
        assert_eq!(labelled, 2, "{language:?}");
    }
}

#[test]
fn selection_by_name_and_language() {
    let chosen = select(None, Some("petgraph")).unwrap();
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0].version, "0.8.3");
    assert!(select(Some(Language::Python), Some("petgraph")).is_err());
    let error = select(None, Some("nope")).unwrap_err();
    assert!(error.contains("regex-syntax"), "{error}");
}

#[test]
fn archive_urls() {
    let url = |name: &str| archive_url(select(None, Some(name)).unwrap()[0]);
    assert_eq!(
        url("itertools").unwrap(),
        "https://static.crates.io/crates/itertools/itertools-0.14.0.crate"
    );
    assert_eq!(
        url("@tanstack/query-core").unwrap(),
        "https://registry.npmjs.org/@tanstack/query-core/-/query-core-5.59.0.tgz"
    );
    assert_eq!(url("requests"), None);
    let key = select(None, Some("@tanstack/query-core")).unwrap()[0].key();
    assert_eq!(key, "tanstack-query-core-5.59.0");
}

#[test]
fn sdist_is_picked_from_the_simple_index() {
    let page = r#"{"files": [
        {"filename": "click-8.1.7-py3-none-any.whl", "url": "https://x/click-8.1.7-py3-none-any.whl"},
        {"filename": "click-8.1.6.tar.gz", "url": "https://x/click-8.1.6.tar.gz"},
        {"filename": "click-8.1.7.tar.gz", "url": "https://x/old.tar.gz", "yanked": true},
        {"filename": "click-8.1.7.tar.gz", "url": "https://x/click-8.1.7.tar.gz", "yanked": false}
    ]}"#;
    assert_eq!(
        sdist_url(page, "8.1.7").unwrap(),
        "https://x/click-8.1.7.tar.gz"
    );
    assert!(sdist_url(page, "9.0.0").is_err());
    assert!(sdist_url("<html>", "8.1.7").is_err());
}

/// A precise check that meets the bar: every edge, every caller set.
const PRECISE_MET: &str = r#"{"ours": 1000, "reference": 1000, "both": 1000, "precision": 1.0,
    "recall": 1.0, "files": 55, "ingest_seconds": 0.5, "callers_checked": 20,
    "callers_exact": 20}"#;

fn rows() -> Vec<Row> {
    let project = |name: &str| select(None, Some(name)).unwrap()[0];
    let mut scored = Row::new(project("regex-syntax"));
    scored.index_seconds = Some(12.34);
    scored.score = Score::from_json(
        r#"{"ours": 900, "reference": 1000, "both": 880, "precision": 0.97777,
            "recall": 0.88, "files": 55, "ingest_seconds": 0.41, "unmapped": 3}"#,
    );
    scored.precise = Score::from_json(PRECISE_MET);
    let mut failed = Row::new(project("mobx"));
    failed.score = Err("index: no indexer: npm install failed | offline".into());
    vec![scored, failed]
}

#[test]
fn score_json_needs_every_field() {
    let score = rows()[0].score.clone().unwrap();
    assert_eq!((score.files, score.reference, score.ours), (55, 1000, 900));
    assert!(Score::from_json(r#"{"ours": 1}"#).is_err());
    assert!(Score::from_json("nope").is_err());
}

#[test]
fn text_table_is_aligned() {
    let out = text(&rows());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("language    project       version"),
        "{out}"
    );
    assert!(lines[1].contains("0.978"), "{out}");
    assert!(lines[1].contains("12.3"), "{out}");
    assert!(lines[2].ends_with("index: no indexer: npm install failed | offline"));
    // Numbers end in the same column as their header.
    let end = lines[0].find("precision").unwrap() + "precision".len();
    assert_eq!(&lines[1][end - 5..end], "0.978");
}

#[test]
fn markdown_and_json_tables() {
    let out = markdown(&rows());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0].matches(" | ").count(), header(&[]).len() - 1);
    assert!(lines[1].starts_with("|---|---|---|---:|"));
    assert!(lines[2].starts_with(
        "| rust | regex-syntax | 0.8.12 | 55 | 1000 | 900 | 0.978 | 0.880 | 12.3 | 0.4 |"
    ));
    assert!(lines[3].contains("failed \\| offline"));
    let value = json(&rows());
    assert_eq!(value[0]["recall"], 0.88);
    assert_eq!(value[0]["kausal_edges"], 900);
    assert_eq!(value[1]["project"], "mobx");
    assert!(value[1]["error"].as_str().unwrap().contains("offline"));
    assert!(value[1]["index_seconds"].is_null());
}

#[test]
fn hand_labels_name_their_archive_and_wheels_are_found() {
    use super::hand::{LABELLED, pinned_sha256, wheel_url};
    let labels = "# project: x 1 (crates.io x 1, sha256 fee3f59f4321dab0c78d828942e7aa09d0bd8ad6e78a501977e6bf3d02938045)\npath\tline\n";
    assert_eq!(
        pinned_sha256(labels).as_deref(),
        Some("fee3f59f4321dab0c78d828942e7aa09d0bd8ad6e78a501977e6bf3d02938045")
    );
    assert_eq!(pinned_sha256("# project: x\npath\n"), None);
    let page = r#"{"files": [
        {"filename": "ziglang-0.13.0-py3-none-macosx_12_0_arm64.whl", "url": "https://a/mac"},
        {"filename": "ziglang-0.13.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl", "url": "https://a/linux"},
        {"filename": "ziglang-0.12.0-py3-none-manylinux_2_12_x86_64.whl", "url": "https://a/old"}
    ]}"#;
    assert_eq!(
        wheel_url(page, "ziglang", "0.13.0", "manylinux_2_12_x86_64").unwrap(),
        "https://a/linux"
    );
    assert!(wheel_url(page, "ziglang", "0.14.0", "manylinux_2_12_x86_64").is_err());
    // Every labels file of the corpus is in the repository and pins its archive.
    let dir = crate::checks::workspace_root().join("xtask/labels");
    for project in LABELLED {
        let text = std::fs::read_to_string(dir.join(project.labels)).unwrap();
        assert!(
            pinned_sha256(&text).is_some(),
            "{} pins no sha256",
            project.labels
        );
    }
}

#[test]
fn gitnexus_answer_becomes_tsv_with_one_based_lines() {
    let stdout = "\n  GitNexus Cypher (1.6.12)\n{\n  \"markdown\": \"| ap | al | bp | bl | an | bn |\\n| --- | --- | --- | --- | --- | --- |\\n| src/click/parser.py | 159 | src/click/parser.py | 108 | f | g |\\n| src/a b.py | 0 | src/c.py | 7 | h | i |\",\n  \"row_count\": 2\n}\n";
    assert_eq!(
        gitnexus_edges(stdout).unwrap(),
        "src/click/parser.py\t160\tsrc/click/parser.py\t109\tf\tg\nsrc/a b.py\t1\tsrc/c.py\t8\th\ti\n"
    );
    let empty = r#"{"markdown": "| ap | al | bp | bl | an | bn |\n| --- | --- | --- | --- | --- | --- |", "row_count": 0}"#;
    assert_eq!(gitnexus_edges(empty).unwrap(), "");
    let wrong = r#"{"markdown": "| a | b |\n| --- | --- |\n| 1 | 2 |"}"#;
    assert!(gitnexus_edges(wrong).unwrap_err().contains("columns"));
    let bad_line = r#"{"markdown": "| ap | al | bp | bl | an | bn |\n| a | x | b | 1 | f | g |"}"#;
    assert!(
        gitnexus_edges(bad_line)
            .unwrap_err()
            .contains("line number")
    );
    assert!(
        gitnexus_edges(r#"{"error": "Binder exception"}"#)
            .unwrap_err()
            .contains("Binder")
    );
    assert!(gitnexus_edges("no graph").is_err());
}

#[test]
fn cgc_answer_becomes_tsv_relative_to_the_tree() {
    let stdout = r#"No configuration file found. Using defaults.
Services initialized.
[
  {
    "ap": "/e/click/peers/cgc/tree/examples/aliases.py",
    "al": 114,
    "bp": "/e/click/peers/cgc/tree/src/click/utils.py",
    "bl": 219,
    "an": "clone",
    "bn": "echo\tx"
  }
]
"#;
    let tree = Path::new("/e/click/peers/cgc/tree");
    assert_eq!(
        cgc_edges(stdout, tree).unwrap(),
        "examples/aliases.py\t114\tsrc/click/utils.py\t219\tclone\techo x\n"
    );
    assert_eq!(cgc_edges("log\n[]\n", tree).unwrap(), "");
    assert!(cgc_edges("log only\n", tree).is_err());
    let no_line = "[{\"ap\": \"/x/a.py\", \"al\": null, \"bp\": \"b\", \"bl\": 1}]";
    assert!(cgc_edges(no_line, tree).unwrap_err().contains("`al`"));
}

fn rows_with_peers() -> Vec<Row> {
    let mut rows = rows();
    let peer_score = Score::from_json(
        r#"{"ours": 500, "reference": 1000, "both": 450, "precision": 0.9,
            "recall": 0.45, "files": 55, "ingest_seconds": 0.41}"#,
    );
    rows[0].peers = vec![
        PeerScore {
            name: "gitnexus",
            version: "1.6.12",
            seconds: Some(30.0),
            score: peer_score,
        },
        PeerScore {
            name: "cgc",
            version: "0.6.13",
            seconds: None,
            score: Err("cgc index failed".into()),
        },
    ];
    rows
}

#[test]
fn peers_get_four_columns_each_and_their_failures_a_note() {
    let rows = rows_with_peers();
    let out = text(&rows);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("gitnexus edges  gitnexus P  gitnexus R  gitnexus s  cgc edges"));
    assert!(lines[0].ends_with("cgc s  note"), "{out}");
    assert!(
        lines[1].contains("500       0.900       0.450        30.0"),
        "{out}"
    );
    assert!(lines[1].ends_with("cgc: cgc index failed"), "{out}");
    // The failed project has no peer scores: dashes in the peers' columns.
    assert!(lines[2].contains("-  index: no indexer"), "{out}");
    let md = markdown(&rows);
    let md_lines: Vec<&str> = md.lines().collect();
    assert_eq!(header(&["gitnexus", "cgc"]).len(), 22);
    assert_eq!(md_lines[0].matches(" | ").count(), 21);
    assert!(md_lines[1].ends_with("---:|---|"));
    assert!(
        md_lines[2]
            .contains("| 500 | 0.900 | 0.450 | 30.0 | - | - | - | - | cgc: cgc index failed |")
    );
    let value = json(&rows);
    assert_eq!(value[0]["peers"]["gitnexus"]["recall"], 0.45);
    assert_eq!(value[0]["peers"]["gitnexus"]["edges"], 500);
    assert!(
        value[0]["peers"]["cgc"]["error"]
            .as_str()
            .unwrap()
            .contains("failed")
    );
    assert!(value[1].get("peers").is_none());
}

#[test]
fn precise_columns_show_the_merge_and_flag_a_miss() {
    let mut rows = rows();
    let out = text(&rows);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("ingest s  precise P  precise R"), "{out}");
    assert!(lines[0].ends_with("callers  note"), "{out}");
    assert!(lines[1].ends_with("1.000      1.000  20/20 exact"), "{out}");
    // Numbers end in the same column as their header.
    let end = lines[0].find("callers").unwrap() + "callers".len();
    assert_eq!(&lines[1][end - 5..end], "exact");
    // The failed project says why once, not once more for the merge.
    assert!(lines[2].ends_with("-  index: no indexer: npm install failed | offline"));
    let md = markdown(&rows);
    assert!(
        md.contains("| 12.3 | 0.4 | 1.000 | 1.000 | 20/20 exact |  |"),
        "{md}"
    );
    assert_eq!(json(&rows)[0]["precise"]["callers_exact"], 20);
    assert_eq!(json(&rows)[0]["precise"]["met"], true);
    assert!(json(&rows)[1].get("precise").is_none());
    let summary = precise_summary(&rows).unwrap();
    assert!(
        summary.starts_with("precise merge: 1 of 1 projects"),
        "{summary}"
    );
    assert!(
        summary.contains("(20 of 20 caller sets exact)"),
        "{summary}"
    );

    let mut missed = rows[0].precise.clone().unwrap();
    missed.recall = 0.985;
    missed.callers = Some(CallersCheck {
        checked: 20,
        exact: 19,
    });
    rows[0].precise = Ok(missed);
    let note = rows[0].precise_miss().unwrap();
    assert!(
        note.contains("recall 0.985, callers exact for 19 of 20"),
        "{note}"
    );
    assert!(!note.contains("precision"), "{note}");
    assert!(text(&rows).lines().nth(1).unwrap().ends_with(&note));
    assert_eq!(json(&rows)[0]["precise"]["met"], false);
    let summary = precise_summary(&rows).unwrap();
    assert!(summary.contains("0 of 1 projects"), "{summary}");
    assert!(
        summary.contains("MISSED: regex-syntax (precise merge MISSED"),
        "{summary}"
    );
    // A scorer without the callers check, or a merge not scored, misses.
    rows[0].precise = Score::from_json(&PRECISE_MET.replace("\"callers_checked\": 20,", ""));
    assert!(rows[0].precise_miss().unwrap().contains("no callers check"));
    rows[0].precise = Err("score: scip-eval failed".into());
    assert!(
        rows[0]
            .precise_miss()
            .unwrap()
            .starts_with("precise: score")
    );
}
