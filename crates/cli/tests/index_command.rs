//! `kausal index`: with no indexer on PATH it names what to install and
//! ingests the heuristic graph; with fake indexers on PATH (scripts that
//! copy a prepared SCIP index to their `--output`, or fail) it merges
//! what succeeded and reports what failed, with its exit status and the
//! tail of its error output.

#![cfg(unix)]

mod precise_fixture;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use precise_fixture::*;

/// A directory for fake indexers, to be the whole of PATH.
struct FakeBin {
    dir: tempfile::TempDir,
}

impl FakeBin {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// An executable script `name` running `body` under /bin/sh.
    fn script(&self, name: &str, body: &str) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// A fake indexer that records its arguments in `NAME.args` and copies
    /// `index` to the path after `--output`.
    fn copying(&self, name: &str, index: &Path) {
        let args = self.dir.path().join(format!("{name}.args"));
        self.script(
            name,
            &format!(
                "echo \"$@\" > '{args}'\nout=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --output ]; then out=\"$2\"; fi\n  shift\ndone\nexec '{cp}' '{index}' \"$out\"",
                args = args.display(),
                cp = program("cp").display(),
                index = index.display(),
            ),
        );
    }

    /// The arguments the fake `name` was run with.
    fn args(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.args")))
            .expect("the fake indexer ran")
    }
}

/// `name` as the test's own PATH finds it (the fakes run with another).
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

/// `kausal index` in `dir` with `bin` as the whole PATH.
fn index(dir: &Path, bin: &FakeBin) -> std::process::Command {
    let mut command = kausal(dir);
    command.arg("index").env("PATH", bin.path());
    command
}

fn indexer<'a>(report: &'a serde_json::Value, language: &str) -> &'a serde_json::Value {
    report["indexers"]
        .as_array()
        .expect("indexers")
        .iter()
        .find(|run| run["language"] == language)
        .unwrap_or_else(|| panic!("no {language} indexer in {report}"))
}

#[test]
fn without_indexers_it_names_them_and_ingests_the_heuristic_graph() {
    let repo = fixture();
    let dir = repo.path();
    let empty = FakeBin::new();
    let text = stdout(&mut index(dir, &empty), 0);
    assert!(
        text.contains(
            "rust-analyzer (rust, Cargo.toml): missing: rust-analyzer is not on PATH; \
             install it with `rustup component add rust-analyzer`"
        ),
        "{text}"
    );
    assert!(
        text.contains("scip-python (python, tools/report.py): missing: scip-python is not on PATH; install it with `npm install -g @sourcegraph/scip-python`"),
        "{text}"
    );
    assert!(text.contains("files: 5 seen"), "{text}");
    let found = stdout(kausal(dir).args(["find", "crate::b::second"]), 0);
    assert!(found.contains("src/b.rs"), "{found}");
    let stats = json(kausal(dir).arg("stats"), 0);
    assert_eq!(stats["last_walk"]["precise_files"], 0, "{stats}");

    let report = json(&mut index(dir, &empty), 0);
    assert_eq!(report["command"], "index");
    let rust = indexer(&report, "rust");
    assert_eq!(
        (&rust["status"], &rust["indexer"]),
        (&"missing".into(), &"rust-analyzer".into())
    );
    assert_eq!(rust["program"], serde_json::Value::Null);
    assert_eq!(indexer(&report, "python")["status"], "missing");
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["precise"]["files"], 0, "{report}");
}

#[test]
fn a_fake_rust_analyzer_is_merged_and_a_failing_indexer_is_reported() {
    let repo = fixture();
    let dir = repo.path();
    let prepared = tempfile::tempdir().expect("tempdir");
    let index_file = prepared.path().join("prepared.scip");
    std::fs::write(&index_file, index_bytes()).expect("write index");
    let bin = FakeBin::new();
    bin.copying("rust-analyzer", &index_file);
    bin.script(
        "scip-python",
        "echo 'Indexing...'\necho 'error: no Python environment found' >&2\nexit 3",
    );

    let text = stdout(&mut index(dir, &bin), 0);
    assert!(
        text.contains("rust-analyzer (rust, Cargo.toml): indexed 3 files in "),
        "{text}"
    );
    assert!(
        text.contains("scip-python (python, tools/report.py): failed after ")
            && text.contains(
                "scip-python failed (exit status: 3); its files keep heuristic call edges"
            )
            && text.contains("  | error: no Python environment found"),
        "{text}"
    );
    assert!(
        text.contains("precise: merged rust-analyzer test"),
        "{text}"
    );
    assert_eq!(
        bin.args("rust-analyzer")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>(),
        ["scip", ".", "--output"]
    );

    // The heuristic could not settle `second`'s call; the index did.
    assert_eq!(
        callers(dir, "crate::a::Cache::get"),
        [("crate::b::second".to_string(), "precise".to_string(), true)]
    );
    let stats = json(kausal(dir).arg("stats"), 0);
    assert_eq!(stats["last_walk"]["precise_files"], 3, "{stats}");
    assert_eq!(stats["calls_by_provenance"]["precise"], 5, "{stats}");

    let report = json(&mut index(dir, &bin), 0);
    let rust = indexer(&report, "rust");
    assert_eq!(
        (&rust["status"], &rust["documents"]),
        (&"indexed".into(), &3.into())
    );
    let python = indexer(&report, "python");
    assert_eq!(
        (&python["status"], &python["exit_code"]),
        (&"failed".into(), &3.into())
    );
    assert_eq!(
        python["stderr_tail"],
        serde_json::json!(["error: no Python environment found"]),
        "{report}"
    );
    assert_eq!(report["precise"]["applied"], 3, "{report}");
}

#[test]
fn an_indexer_that_writes_no_usable_index_is_a_failure_not_an_error() {
    let repo = fixture();
    let dir = repo.path();
    let prepared = tempfile::tempdir().expect("tempdir");
    let garbage = prepared.path().join("garbage.scip");
    std::fs::write(&garbage, b"\xff\xff\xff not protobuf").expect("write");
    let bin = FakeBin::new();
    bin.copying("rust-analyzer", &garbage);
    let report = json(&mut index(dir, &bin), 0);
    let rust = indexer(&report, "rust");
    assert_eq!(rust["status"], "failed", "{report}");
    let message = rust["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("rust-analyzer exited 0 but SCIP index ")
            && message.contains("not a usable SCIP index"),
        "{message}"
    );
    assert_eq!(report["precise"]["files"], 0, "{report}");
    // The heuristic graph is in.
    expect(kausal(dir).args(["find", "crate::b::second"]), 0);
}
