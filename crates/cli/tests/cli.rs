//! End-to-end tests of the `kausal` binary on a small fixture repository:
//! every command in human and JSON form, ambiguous and unknown names, a
//! missing database, a corrupted table, a backup taken while an ingest
//! runs, and a query while another process holds the writer lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;

mod support;

use support::fixture;

fn kausal(repo: &Path) -> Command {
    let mut command = Command::cargo_bin("kausal").expect("binary");
    command
        .current_dir(repo)
        .env_remove("KAUSAL_DB")
        .env("NO_COLOR", "1");
    command
}

fn ingested() -> tempfile::TempDir {
    let repo = fixture();
    kausal(repo.path()).arg("ingest").assert().success();
    assert!(repo.path().join(".kausal").is_dir());
    repo
}

/// Runs `command`, expecting exit `code`; returns its stderr.
fn failing(command: &mut Command, code: i32) -> String {
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(command: &mut Command) -> String {
    let output = command.output().expect("run");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn json(command: &mut Command) -> serde_json::Value {
    let output = command.arg("--json").output().expect("run");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn ingest_then_every_query_in_human_form() {
    let repo = ingested();
    let dir = repo.path();
    insta::assert_snapshot!("find_parse", stdout(kausal(dir).args(["find", "parse"])));
    insta::assert_snapshot!("find_prefix", stdout(kausal(dir).args(["find", "summ"])));
    insta::assert_snapshot!(
        "find_kind_and_path",
        stdout(kausal(dir).args(["find", "helper", "--kind", "fn", "--path", "src/l*.rs"]))
    );
    insta::assert_snapshot!("show_lex", stdout(kausal(dir).args(["show", "lex"])));
    insta::assert_snapshot!(
        "callers_lex",
        stdout(kausal(dir).args(["callers", "lex", "--depth", "3"]))
    );
    insta::assert_snapshot!(
        "callees_run",
        stdout(kausal(dir).args(["callees", "run", "--depth", "3"]))
    );
    insta::assert_snapshot!(
        "trace_run",
        stdout(kausal(dir).args(["trace", "run", "--edges", "calls", "--depth", "4"]))
    );
    insta::assert_snapshot!(
        "path_run_lex",
        stdout(kausal(dir).args(["path", "run", "lex"]))
    );
    insta::assert_snapshot!("cycles", stdout(kausal(dir).args(["cycles"])));
    insta::assert_snapshot!(
        "deps_parse",
        stdout(kausal(dir).args(["deps", "src/parse.rs"]))
    );
    let stats = stdout(kausal(dir).arg("stats"));
    assert!(stats.contains("blocks: "), "{stats}");
    assert!(stats.contains("calls "), "{stats}");
    kausal(dir).arg("verify").assert().success();
}

#[test]
fn every_command_prints_one_json_document() {
    let repo = ingested();
    let dir = repo.path();
    let find = json(kausal(dir).args(["find", "parse"]));
    insta::assert_json_snapshot!("find_parse_json", find);
    let callers = json(kausal(dir).args(["callers", "lex"]));
    assert_eq!(callers["command"], "callers");
    assert_eq!(
        callers["children"][0]["qualified_name"],
        "crate::parse::parse"
    );
    assert_eq!(callers["children"][0]["path"], "src/parse.rs");
    assert_eq!(callers["children"][0]["start_line"], 4);
    // `parse` calls `lex` through `use crate::lex::lex`.
    assert_eq!(callers["children"][0]["resolved_by"], "import", "{callers}");
    let path = json(kausal(dir).args(["path", "run", "lex"]));
    let rules: Vec<&serde_json::Value> = path["steps"]
        .as_array()
        .map(|steps| steps.iter().map(|step| &step["resolved_by"]).collect())
        .unwrap_or_default();
    assert_eq!(
        rules,
        [&serde_json::Value::Null, &"path".into(), &"import".into()],
        "{path}"
    );
    let stats = json(kausal(dir).arg("stats"));
    let by_rule = &stats["calls_by_provenance"];
    assert_eq!(
        (&by_rule["import"], &by_rule["path"], &by_rule["scope"]),
        (&1.into(), &1.into(), &4.into()),
        "{stats}"
    );
    assert_eq!(by_rule["unrecorded"], 0, "{stats}");
    // The provenance blocks are bookkeeping, not code.
    assert!(
        stats["blocks_by_kind"].get("call_provenance").is_none(),
        "{stats}"
    );
    for args in [
        vec!["show", "run"],
        vec!["callees", "run"],
        vec!["trace", "run"],
        vec!["path", "run", "lex"],
        vec!["cycles"],
        vec!["deps", "src/parse.rs"],
        vec!["stats"],
        vec!["verify"],
    ] {
        let document = json(kausal(dir).args(&args));
        assert_eq!(document["command"], args[0], "{document}");
    }
    let again = json(kausal(dir).arg("ingest"));
    assert_eq!(again["command"], "ingest");
    assert_eq!(again["files_unchanged"], 4);
    assert_eq!(again["blocks_written"], 0);
}

#[test]
fn an_ambiguous_name_lists_candidates_and_exits_2() {
    let repo = ingested();
    let stderr = failing(kausal(repo.path()).args(["callers", "helper"]), 2);
    assert!(stderr.contains("ambiguous"), "{stderr}");
    assert!(stderr.contains("src/lex.rs:6"), "{stderr}");
    assert!(stderr.contains("src/parse.rs:9"), "{stderr}");
    let output = kausal(repo.path())
        .args(["callers", "helper", "--json"])
        .output()
        .expect("run");
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).expect("JSON error");
    assert_eq!(error["error"]["code"], "ambiguous");
    assert_eq!(
        error["error"]["details"]["candidates"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // A qualified name picks one.
    kausal(repo.path())
        .args(["callers", "lex::helper"])
        .assert()
        .success();
}

#[test]
fn an_unknown_name_suggests_near_names_and_exits_1() {
    let repo = ingested();
    let stderr = failing(kausal(repo.path()).args(["callers", "parze"]), 1);
    assert!(stderr.contains("did you mean parse"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_missing_database_is_one_clear_line() {
    let repo = fixture();
    let stderr = failing(kausal(repo.path()).args(["find", "parse"]), 2);
    assert!(
        stderr.starts_with("kausal: no kausal database found"),
        "{stderr}"
    );
    assert!(stderr.contains("kausal ingest"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn table_of(db: &Path) -> PathBuf {
    std::fs::read_dir(db)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.extension().is_some_and(|ext| ext == "sst"))
        .expect("a table")
}

#[test]
fn a_corrupted_table_is_found_by_verify_and_queries_fail_cleanly() {
    let repo = ingested();
    let db = repo.path().join(".kausal");
    // The first data record is the block with the smallest id.
    let first = kausal_storage::Database::open_read_only_with(
        Arc::new(kausal_vfs::OsVfs::new()),
        &db,
        kausal_storage::Config::default(),
    )
    .expect("open")
    .snapshot()
    .iterate_blocks()
    .expect("iterate")
    .next()
    .expect("a block")
    .expect("readable")
    .id;
    let table = table_of(&db);
    let mut bytes = std::fs::read(&table).expect("read");
    bytes[100] ^= 0x20; // inside the first data record
    std::fs::write(&table, bytes).expect("write");
    let output = kausal(repo.path()).arg("verify").output().expect("run");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("damaged"), "{text}");
    assert!(
        text.contains(&*table.file_name().expect("name").to_string_lossy()),
        "{text}"
    );
    let verify = json(kausal(repo.path()).arg("verify"));
    assert_eq!(verify["damaged"].as_array().map(Vec::len), Some(1));
    assert!(verify["damaged"][0]["offset"].as_u64().is_some());
    // A query that reads the damaged block fails with one line, no panic
    // (`stats` no longer reads every block: it reads the counts ingest keeps).
    let stderr = failing(kausal(repo.path()).args(["show", &first.to_string()]), 2);
    assert!(stderr.starts_with("kausal: database"), "{stderr}");
    assert!(stderr.contains("corruption"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_query_while_a_writer_holds_the_database_names_the_writer() {
    let repo = ingested();
    let db = repo.path().join(".kausal");
    let writer = kausal_storage::Database::open_with(
        Arc::new(kausal_vfs::OsVfs::new()),
        &db,
        kausal_storage::Config::default(),
    )
    .expect("writer");
    let stderr = failing(kausal(repo.path()).args(["find", "parse"]), 2);
    assert!(stderr.contains("locked by another process"), "{stderr}");
    assert!(
        stderr.contains(&format!("writer pid {}", std::process::id())),
        "{stderr}"
    );
    drop(writer);
    // Readers share the database with each other. (A child process that
    // another test thread started while the writer was open holds a copy
    // of the lock's descriptor until it execs: wait for those copies to go;
    // no new one can appear.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let first = loop {
        match kausal_storage::Database::open_read_only_with(
            Arc::new(kausal_vfs::OsVfs::new()),
            &db,
            kausal_storage::Config::default(),
        ) {
            Ok(reader) => break reader,
            Err(kausal_storage::StorageError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(error) => panic!("reader: {error}"),
        }
    };
    kausal(repo.path())
        .args(["find", "parse"])
        .assert()
        .success();
    drop(first);
}

#[test]
fn a_backup_taken_while_an_ingest_runs_opens_and_verifies() {
    let repo = fixture();
    // Enough files that the ingest takes a while.
    for n in 0..400 {
        let path = repo.path().join(format!("src/gen/m{n}.rs"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(
            path,
            format!("pub fn f{n}() -> usize {{ g{n}() }}\nfn g{n}() -> usize {{ {n} }}\n"),
        )
        .expect("write");
    }
    kausal(repo.path()).arg("ingest").assert().success();
    for n in 0..400 {
        std::fs::write(
            repo.path().join(format!("src/gen/m{n}.rs")),
            format!("pub fn f{n}() -> usize {{ h{n}() }}\nfn h{n}() -> usize {{ {n} + 1 }}\n"),
        )
        .expect("rewrite");
    }
    let mut ingest = std::process::Command::new(assert_cmd::cargo::cargo_bin("kausal"))
        .current_dir(repo.path())
        .arg("ingest")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn ingest");
    let backups = tempfile::tempdir().expect("tempdir");
    let mut taken = 0;
    for attempt in 0..5 {
        let target = backups.path().join(format!("b{attempt}"));
        kausal(repo.path())
            .args(["backup", &target.to_string_lossy()])
            .assert()
            .success();
        kausal(repo.path())
            .args(["--db", &target.to_string_lossy(), "verify"])
            .assert()
            .success();
        kausal(repo.path())
            .args(["--db", &target.to_string_lossy(), "find", "f7"])
            .assert()
            .success();
        taken += 1;
    }
    assert!(ingest.wait().expect("ingest").success());
    assert_eq!(taken, 5);
}

#[test]
fn the_readme_quick_start_commands_run() {
    let repo = fixture();
    kausal(repo.path()).args(["ingest", "."]).assert().success();
    kausal(repo.path())
        .args(["callers", "parse"])
        .assert()
        .success();
}

#[test]
fn an_empty_name_and_a_backup_inside_the_database_are_usage_errors() {
    let repo = ingested();
    // An empty name used to match every block as a prefix.
    let stderr = failing(kausal(repo.path()).args(["find", ""]), 2);
    assert!(stderr.contains("must not be empty"), "{stderr}");
    // A backup inside `.kausal/` would put a directory the database does not know into it.
    let stderr = failing(kausal(repo.path()).args(["backup", ".kausal/copy"]), 2);
    assert!(stderr.contains("inside the database"), "{stderr}");
    assert!(!repo.path().join(".kausal/copy").exists());
    kausal(repo.path()).arg("verify").assert().success();
}

#[test]
fn a_trait_impl_method_is_found_by_the_type_or_the_trait_name() {
    let repo = tempfile::tempdir().expect("tempdir");
    support::write(repo.path(), "src/lib.rs", "pub mod tree;\n");
    support::write(
        repo.path(),
        "src/tree.rs",
        "pub trait AbstractTree {\n    fn get(&self) -> u32;\n}\n\npub struct Tree;\n\nimpl AbstractTree for Tree {\n    fn get(&self) -> u32 {\n        1\n    }\n}\n\npub fn through_trait<T: AbstractTree>(t: &T) -> u32 {\n    t.get()\n}\n\npub fn direct(t: &Tree) -> u32 {\n    t.get()\n}\n",
    );
    kausal(repo.path()).arg("ingest").assert().success();
    let found = json(kausal(repo.path()).args(["find", "Tree::get"]));
    let names: Vec<&str> = found["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter_map(|r| r["qualified_name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        names,
        ["crate::tree::<Tree as AbstractTree>::get"],
        "{found}"
    );
    let by_trait = json(kausal(repo.path()).args(["find", "AbstractTree::get"]));
    assert_eq!(
        by_trait["results"].as_array().map(Vec::len),
        Some(2),
        "the declaration and the impl: {by_trait}"
    );
    // Callers of the impl's method include those through the trait, marked.
    let callers = json(kausal(repo.path()).args(["callers", "Tree::get"]));
    let children = callers["children"].as_array().cloned().unwrap_or_default();
    let marks: Vec<(String, Option<String>)> = children
        .iter()
        .map(|child| {
            (
                child["name"].as_str().unwrap_or_default().to_string(),
                child["via_trait"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            (
                "through_trait".to_string(),
                Some("crate::tree::AbstractTree::get".to_string())
            ),
            ("direct".to_string(), None),
        ],
        "{callers}"
    );
    let human = stdout(kausal(repo.path()).args(["callers", "Tree::get"]));
    assert!(
        human.contains("(via trait crate::tree::AbstractTree::get)"),
        "{human}"
    );
    // A near miss of a qualified name suggests the qualified names.
    let stderr = failing(kausal(repo.path()).args(["show", "Tre::get"]), 1);
    assert!(stderr.contains("<Tree as AbstractTree>::get"), "{stderr}");
}

#[test]
fn candidate_callers_are_left_out_unless_asked_for_and_then_marked() {
    let repo = tempfile::tempdir().expect("tempdir");
    support::write(
        repo.path(),
        "src/lib.rs",
        "pub struct A;\nimpl A {\n    pub fn frob_xyz(&self) {}\n}\npub struct B;\nimpl B {\n    pub fn frob_xyz(&self) {}\n}\npub fn unknown(v: Vec<A>) {\n    v.first().map(|a| a.frob_xyz());\n}\n",
    );
    kausal(repo.path()).arg("ingest").assert().success();
    failing(kausal(repo.path()).args(["callers", "A::frob_xyz"]), 1);
    let with = json(kausal(repo.path()).args(["callers", "A::frob_xyz", "--candidates"]));
    assert_eq!(with["children"][0]["name"], "unknown", "{with}");
    assert_eq!(with["children"][0]["candidate"], true, "{with}");
    assert_eq!(with["children"][0]["edge"], "calls_candidate", "{with}");
    assert_eq!(with["children"][0]["resolved_by"], "candidate", "{with}");
    let calls = ["trace", "unknown", "--edges", "calls,calls_method"];
    let trace = json(kausal(repo.path()).args(calls));
    assert!(
        !trace.to_string().contains("frob_xyz"),
        "trace leaves candidates out unless asked: {trace}"
    );
    let trace = json(kausal(repo.path()).args(calls).arg("--candidates"));
    assert!(
        trace.to_string().contains("\"via\":\"calls_candidate\""),
        "{trace}"
    );
    assert!(
        trace.to_string().contains("\"resolved_by\":\"candidate\""),
        "{trace}"
    );
}

/// `resolved_by` for many callers in one file: the first lookups scan the
/// file's provenance text, later ones a parsed map (`provenance.rs` in
/// kausal-service); every caller must get its rule either way.
#[test]
fn many_callers_in_one_file_each_get_their_rule() {
    let repo = tempfile::tempdir().expect("tempdir");
    let callers: String = (0..20)
        .map(|n| format!("pub fn caller{n}() {{ target(); }}\n"))
        .collect();
    support::write(
        repo.path(),
        "Cargo.toml",
        "[package]\nname = \"many\"\nversion = \"0.1.0\"\n",
    );
    support::write(
        repo.path(),
        "src/lib.rs",
        &format!("pub fn target() {{}}\n{callers}"),
    );
    kausal(repo.path()).arg("ingest").assert().success();
    let answer = json(kausal(repo.path()).args(["callers", "target"]));
    let rules: Vec<&serde_json::Value> = answer["children"]
        .as_array()
        .map(|children| children.iter().map(|child| &child["resolved_by"]).collect())
        .unwrap_or_default();
    assert_eq!(rules.len(), 20, "{answer}");
    assert!(rules.iter().all(|rule| *rule == "scope"), "{answer}");
}
