//! `kausal ingest --scip FILE`: the index's call edges replace the
//! heuristic ones of the files it covers (provenance `precise`, counted by
//! `stats`), fixing a call the heuristic could not settle; an edit falls
//! back to heuristic edges, which callers/trace then mark; and a missing,
//! truncated, garbage or oversized index is refused with its name before
//! anything is written; while a server serves the database, neither
//! `ingest --scip` nor `index` runs.

mod precise_fixture;
mod support;

use std::path::Path;

use precise_fixture::*;

/// Writes the fixture's index into `dir` as `name`, made at [`INDEXED`].
fn write_index(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write index");
    set_mtime(&path, at(INDEXED));
    path
}

#[test]
fn the_index_makes_the_calls_precise_and_fixes_the_unsettled_one() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let index = write_index(indexes.path(), "index.scip", &index_bytes());

    expect(kausal(dir).arg("ingest"), 0);
    // The heuristic cannot tell which `get` `second` calls: no caller.
    expect(kausal(dir).args(["callers", "crate::a::Cache::get"]), 1);
    let stats = json(kausal(dir).arg("stats"), 0);
    assert_eq!(
        stats["calls_by_provenance"]["precise"],
        serde_json::Value::Null
    );
    assert_eq!(stats["last_walk"]["precise_files"], 0, "{stats}");

    let report = json(kausal(dir).arg("ingest").arg("--scip").arg(&index), 0);
    let precise = &report["precise"];
    assert_eq!(precise["applied"], 3, "{report}");
    assert_eq!(
        (&precise["files"], &precise["stale"]),
        (&3.into(), &0.into())
    );
    assert_eq!(precise["edges"], 5, "{report}");
    assert_eq!(precise["rejected"], serde_json::json!([]));
    assert!(
        precise["indexes"][0]
            .as_str()
            .is_some_and(|merged| merged.starts_with("rust-analyzer test (")),
        "{report}"
    );

    let stats = json(kausal(dir).arg("stats"), 0);
    assert_eq!(stats["calls_by_provenance"]["precise"], 5, "{stats}");
    let walk = &stats["last_walk"];
    assert_eq!(
        (
            &walk["precise_files"],
            &walk["precise_stale"],
            &walk["precise_edges"]
        ),
        (&3.into(), &0.into(), &5.into()),
        "{stats}"
    );
    let text = stdout(kausal(dir).arg("stats"), 0);
    assert!(
        text.contains(
            "precise: 3 files with call edges from a SCIP index, 0 edited since the index"
        ),
        "{text}"
    );

    assert_eq!(
        callers(dir, "crate::a::Cache::get"),
        [("crate::b::second".to_string(), "precise".to_string(), true)]
    );
    assert_eq!(
        callers(dir, "crate::a::Store::get"),
        [("crate::b::first".to_string(), "precise".to_string(), true)]
    );
    // Precise edges are not marked; neither are the Python file's, which
    // no index covers.
    let text = stdout(kausal(dir).args(["callers", "crate::b::first"]), 0);
    assert!(
        text.contains("crate::c::third") && !text.contains("heuristic"),
        "{text}"
    );
    let text = stdout(kausal(dir).args(["callers", "summarize"]), 0);
    assert!(
        text.contains("main") && !text.contains("heuristic"),
        "{text}"
    );
    assert_eq!(
        callers(dir, "summarize"),
        [("tools.report.main".to_string(), "scope".to_string(), false)],
    );
}

#[test]
fn an_edited_file_falls_back_to_heuristic_edges_and_they_are_marked() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let index = write_index(indexes.path(), "index.scip", &index_bytes());
    expect(kausal(dir).arg("ingest").arg("--scip").arg(&index), 0);

    // c.rs edited after the index (a comment): its calls are heuristic again.
    let edited = format!("{C}// edited\n");
    write(dir, "src/c.rs", &edited);
    set_mtime(&dir.join("src/c.rs"), at(EDITED));
    let report = json(kausal(dir).arg("ingest"), 0);
    assert_eq!(
        (&report["precise"]["files"], &report["precise"]["stale"]),
        (&3.into(), &1.into()),
        "{report}"
    );
    let stats = json(kausal(dir).arg("stats"), 0);
    assert_eq!(stats["last_walk"]["precise_stale"], 1, "{stats}");
    let text = stdout(kausal(dir).arg("stats"), 0);
    assert!(text.contains("1 edited since the index"), "{text}");

    assert_eq!(
        callers(dir, "crate::b::first"),
        [("crate::c::third".to_string(), "path".to_string(), true)]
    );
    let text = stdout(kausal(dir).args(["callers", "crate::b::first"]), 0);
    assert!(
        text.contains("crate::c::third") && text.contains("(heuristic: path)"),
        "{text}"
    );
    // b.rs is still described by the index: its edges are unmarked.
    let text = stdout(kausal(dir).args(["callees", "crate::b::second"]), 0);
    assert!(
        text.contains("crate::a::Cache::get") && !text.contains("heuristic"),
        "{text}"
    );
    let text = stdout(
        kausal(dir).args([
            "trace",
            "crate::c::third",
            "--direction",
            "out",
            "--edges",
            "calls,calls_method",
        ]),
        0,
    );
    let marked: Vec<&str> = text.lines().filter(|l| l.contains("(heuristic:")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("crate::b::first"), "{text}");
    let trace = json(
        kausal(dir).args([
            "trace",
            "crate::c::third",
            "--direction",
            "out",
            "--edges",
            "calls",
        ]),
        0,
    );
    let first = &trace["reached"][1];
    assert_eq!(
        (&first["name"], &first["resolved_by"]),
        (&"first".into(), &"path".into())
    );
    assert_eq!(first["precise_file"], true, "{trace}");
}

/// What a reader sees of the database: stats, a find, a callers tree.
fn observed(dir: &Path) -> (serde_json::Value, String, String) {
    let stats = json(kausal(dir).arg("stats"), 0);
    let find = stdout(kausal(dir).args(["find", "get"]), 0);
    let callers = stdout(kausal(dir).args(["callers", "crate::b::first"]), 0);
    (stats, find, callers)
}

/// `ingest --scip ARGS` fails with `bad_index` naming `named`.
fn refused(dir: &Path, scip: &[&Path], named: &Path) -> String {
    let mut command = kausal(dir);
    command.arg("ingest");
    for path in scip {
        command.arg("--scip").arg(path);
    }
    let output = expect(&mut command, 2);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.starts_with(&format!("kausal: SCIP index {}: ", named.display())),
        "{stderr}"
    );
    let output = expect(command.arg("--json"), 2);
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).expect("JSON error");
    assert_eq!(error["error"]["code"], "bad_index", "{error}");
    assert_eq!(error["error"]["exit_code"], 2, "{error}");
    stderr
}

#[test]
fn bad_indexes_are_refused_before_anything_is_written() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let good_bytes = index_bytes();
    let good = write_index(indexes.path(), "good.scip", &good_bytes);
    // Cut inside a document: a length-delimited field runs past the end.
    let truncated = write_index(
        indexes.path(),
        "truncated.scip",
        &good_bytes[..good_bytes.len() * 2 / 3],
    );
    let garbage = write_index(
        indexes.path(),
        "garbage.scip",
        b"\xff\xff\xff\xff not a SCIP index, not protobuf \xff\xff",
    );
    let missing = indexes.path().join("missing.scip");
    let oversized = indexes.path().join("oversized.scip");
    // Sparse: no disk is used for the bytes over the limit.
    std::fs::File::create(&oversized)
        .and_then(|file| file.set_len(kausal_ingest::precise::MAX_SCIP_BYTES + 1))
        .expect("sparse file");

    expect(kausal(dir).arg("ingest"), 0);
    let before = observed(dir);

    let stderr = refused(dir, &[&truncated], &truncated);
    assert!(stderr.contains("not a usable SCIP index"), "{stderr}");
    let stderr = refused(dir, &[&garbage], &garbage);
    assert!(stderr.contains("not a usable SCIP index"), "{stderr}");
    let stderr = refused(dir, &[&missing], &missing);
    assert!(stderr.ends_with(": no such file\n"), "{stderr}");
    let stderr = refused(dir, &[&oversized], &oversized);
    assert!(stderr.contains("over the limit"), "{stderr}");
    // A good index before a bad one is not merged either: all are read
    // before the database is opened.
    refused(dir, &[&good, &truncated], &truncated);
    assert_eq!(observed(dir), before);

    // A relative path is named as typed.
    std::fs::copy(&truncated, dir.join("cut.scip")).expect("copy");
    refused(dir, &[Path::new("cut.scip")], Path::new("cut.scip"));
    std::fs::remove_file(dir.join("cut.scip")).expect("remove");
    assert_eq!(observed(dir), before);

    // The good one alone merges.
    expect(kausal(dir).arg("ingest").arg("--scip").arg(&good), 0);
    assert_ne!(observed(dir), before);
}

#[test]
fn later_indexes_win_and_a_stale_index_is_rejected_per_file() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let index = write_index(indexes.path(), "index.scip", &index_bytes());
    // c.rs changed after the index was made: its document is rejected.
    set_mtime(&dir.join("src/c.rs"), at(EDITED));
    let report = json(
        kausal(dir)
            .arg("ingest")
            .arg("--scip")
            .arg(&index)
            .arg("--scip")
            .arg(&index),
        0,
    );
    let precise = &report["precise"];
    assert_eq!(precise["applied"], 2, "{report}");
    let rejected: Vec<&str> = precise["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(rejected, ["src/c.rs", "src/c.rs"], "{report}");
    let text = stdout(kausal(dir).arg("ingest").arg("--scip").arg(&index), 0);
    assert!(
        text.contains("precise: merged rust-analyzer test"),
        "{text}"
    );
    assert!(
        text.contains("not precise src/c.rs: modified after the index"),
        "{text}"
    );
    assert_eq!(
        callers(dir, "crate::b::first"),
        [("crate::c::third".to_string(), "path".to_string(), false)]
    );
}

#[test]
fn a_running_server_is_not_asked_to_merge_indexes() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let index = write_index(indexes.path(), "index.scip", &index_bytes());
    let server = support::Server::start(dir, &[]);
    for args in [
        vec![
            "ingest".into(),
            "--scip".into(),
            index.display().to_string(),
        ],
        vec!["index".to_string()],
    ] {
        let output = expect(kausal(dir).env_remove("KAUSAL_NO_SERVER").args(&args), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("a kausal server is serving") && stderr.contains("stop the server"),
            "{args:?}: {stderr}"
        );
    }
    server.terminate();
    expect(kausal(dir).arg("ingest").arg("--scip").arg(&index), 0);
    assert_eq!(
        callers(dir, "crate::a::Cache::get"),
        [("crate::b::second".to_string(), "precise".to_string(), true)]
    );
}
