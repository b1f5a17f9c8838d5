//! `kausal serve --watch --precise`: once the tree has been quiet for the
//! quiet period (`--precise-quiet 0` here: no clock in the tests) after
//! the start ingest, the SCIP indexers run in the background (fakes on
//! PATH: a script that copies a prepared index to its `--output`) and
//! their precise calls are merged; queries answer meanwhile from the
//! current graph. A failing indexer is logged and counted, never fatal.
//! The fake indexer waits on a FIFO the test writes to, so the test acts
//! while a run is under way without racing it.

#![cfg(unix)]

mod precise_fixture;
mod support;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use support::{SAFETY, Server, encode, wait_until};

/// A directory of fake indexers, to be the whole of the server's PATH.
struct FakeBin {
    dir: tempfile::TempDir,
}

impl FakeBin {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// An executable script `name` running `body` under /bin/sh.
    fn script(&self, name: &str, body: &str) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// A fake indexer that reads `gate` to its end (blocking until the
    /// test has opened and closed it), then copies `index` to the path
    /// after `--output`.
    fn gated_copy(&self, name: &str, gate: &Path, index: &Path) {
        self.script(
            name,
            &format!(
                "'{cat}' '{gate}' > /dev/null\nout=\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --output ]; then out=\"$2\"; fi\n  shift\ndone\nexec '{cp}' '{index}' \"$out\"",
                cat = program("cat").display(),
                cp = program("cp").display(),
                gate = gate.display(),
                index = index.display(),
            ),
        );
    }

    fn path(&self) -> &OsStr {
        self.dir.path().as_os_str()
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

/// Opens the FIFO `gate` for writing (which waits for the fake indexer to
/// open it for reading: it is running then) and returns it; closing it
/// lets the indexer go on. Gives up after [`SAFETY`].
fn open_gate(gate: &Path) -> std::fs::File {
    let (tx, rx) = mpsc::channel();
    let path = gate.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::OpenOptions::new().write(true).open(path));
    });
    rx.recv_timeout(SAFETY)
        .expect("the fake indexer opened its gate")
        .expect("open the gate")
}

fn precise_metrics(server: &Server) -> serde_json::Value {
    server.store_metrics()["precise"].clone()
}

/// `(qualified_name, resolved_by)` of the direct callers of `name`, over HTTP.
fn callers(server: &Server, name: &str) -> Vec<(String, String)> {
    let (status, answer) = server.get(&format!("/v1/callers?name={}", encode(name)));
    assert_eq!(status, 200, "{answer}");
    answer["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|child| {
            let text = |field: &str| child[field].as_str().unwrap_or_default().to_string();
            (text("qualified_name"), text("resolved_by"))
        })
        .collect()
}

#[test]
fn a_quiet_tree_gets_precise_edges_while_queries_answer() {
    let repo = precise_fixture::fixture();
    let prepared = tempfile::tempdir().expect("tempdir");
    let index_file = prepared.path().join("prepared.scip");
    std::fs::write(&index_file, precise_fixture::index_bytes()).expect("write index");
    let gate = prepared.path().join("gate");
    let made = Command::new(program("mkfifo"))
        .arg(&gate)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let bin = FakeBin::new();
    bin.gated_copy("rust-analyzer", &gate, &index_file);

    let server = Server::start_env(
        repo.path(),
        &["--watch", "--precise", "--precise-quiet", "0"],
        &[("PATH", bin.path())],
    );
    // The indexer runs (held at its gate) after the start ingest.
    let held = open_gate(&gate);
    assert_eq!(precise_metrics(&server)["running"], true);
    // Queries answer from the current, heuristic graph meanwhile.
    let (status, stats) = server.get("/v1/stats");
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["last_walk"]["precise_edges"], 0, "{stats}");
    assert!(
        !callers(&server, "crate::a::Store::get")
            .iter()
            .any(|(_, resolved_by)| resolved_by == "precise")
    );

    drop(held);
    wait_until("a merged indexer run", || {
        precise_metrics(&server)["runs_ok"].as_u64() >= Some(1)
    });
    let runs = precise_metrics(&server);
    assert_eq!(
        (&runs["running"], &runs["runs_failed"], &runs["last_error"]),
        (&false.into(), &0.into(), &serde_json::Value::Null),
        "{runs}"
    );
    let (_, stats) = server.get("/v1/stats");
    assert!(
        stats["last_walk"]["precise_edges"].as_u64() >= Some(2),
        "{stats}"
    );
    assert_eq!(stats["last_walk"]["precise_files"], 3, "{stats}");
    assert_eq!(
        callers(&server, "crate::a::Store::get"),
        [("crate::b::first".to_string(), "precise".to_string())]
    );
    assert_eq!(
        callers(&server, "crate::a::Cache::get"),
        [("crate::b::second".to_string(), "precise".to_string())]
    );
    assert!(server.terminate().success());
}

#[test]
fn a_failing_indexer_is_logged_and_counted_never_fatal() {
    let repo = precise_fixture::fixture();
    let bin = FakeBin::new();
    bin.script(
        "rust-analyzer",
        "echo 'error: cannot load the workspace' >&2\nexit 3",
    );
    let server = Server::start_env(
        repo.path(),
        &["--watch", "--precise", "--precise-quiet", "0"],
        &[("PATH", bin.path())],
    );
    wait_until("a failed indexer run", || {
        precise_metrics(&server)["runs_failed"].as_u64() >= Some(1)
    });
    let runs = precise_metrics(&server);
    let error = runs["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("rust-analyzer"), "{runs}");
    assert_eq!(runs["runs_ok"], 0, "{runs}");
    // The server goes on answering, from the heuristic graph.
    let (status, stats) = server.get("/v1/stats");
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["last_walk"]["precise_edges"], 0, "{stats}");
    assert_eq!(
        callers(&server, "crate::b::first"),
        [("crate::c::third".to_string(), "path".to_string())]
    );
    assert!(server.terminate().success());
}
