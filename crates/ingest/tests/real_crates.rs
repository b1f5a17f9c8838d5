//! Real third-party crates (pinned dev-dependencies petgraph 0.8.3 and
//! regex-syntax 0.8.12): their sources, found with `cargo metadata`, are
//! copied to a temporary directory and ingested; graph invariants and call
//! edges verified by reading their code are checked.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_storage::EdgeType;
use kausal_vfs::OsVfs;
use support::*;

fn package_dir(name: &str, version: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    // Resolved for this host only: a full resolve needs every platform's
    // packages (android_system_properties for chrono, ...) in the offline
    // cache, which a build for this host does not download.
    let cargo_version = Command::new(env!("CARGO")).arg("-vV").output().unwrap();
    let host = String::from_utf8_lossy(&cargo_version.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_string))
        .unwrap();
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
            "--manifest-path",
        ])
        .arg(&workspace)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name && p["version"] == version)
        .unwrap_or_else(|| panic!("{name} {version} not in cargo metadata"));
    Path::new(package["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let target = dst.join(entry.file_name());
            if kind.is_dir() {
                stack.push((entry.path(), target));
            } else if kind.is_file() {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

/// Ingests a copy of the crate; checks invariants and `expected` call edges.
fn check_crate(name: &str, version: &str, expected: &[&str]) {
    let tree = tempfile::tempdir().unwrap();
    copy_dir(&package_dir(name, version), tree.path());
    let db = tempfile::tempdir().unwrap();
    let engine = open_engine(db.path());
    let mut ingester = Ingester::new(Arc::new(OsVfs::new()), tree.path(), options()).unwrap();
    let report = ingester.ingest(&engine).unwrap();
    eprintln!("== {name} {version}\n{report}");
    assert!(report.calls.resolved > 500, "{report}");

    let dump = dump(&engine);
    // Every block but ingest's bookkeeping (the walk record, each file's
    // state block) is a file or an item of one.
    let kinds: BTreeMap<_, String> = dump
        .blocks
        .iter()
        .filter(|(_, (_, meta, _))| {
            !kausal_ingest::BlockMeta::parse(meta).is_some_and(|meta| meta.is_internal())
        })
        .map(|(id, (_, meta, _))| (*id, meta_field(meta, "kind")))
        .collect();
    let mut parents: BTreeMap<_, usize> = BTreeMap::new();
    for edge in &dump.edges {
        // A name-index key is a node, not a block.
        if edge.edge_type != EdgeType::Names {
            assert!(kinds.contains_key(&edge.source), "dangling {edge:?}");
        }
        assert!(kinds.contains_key(&edge.target), "dangling {edge:?}");
        match edge.edge_type {
            EdgeType::DefinedIn => *parents.entry(edge.source).or_default() += 1,
            EdgeType::Calls | EdgeType::CallsMethod => {
                let kind = &kinds[&edge.target];
                assert!(kind == "function" || kind == "method", "call into a {kind}");
            }
            EdgeType::MethodOf => assert_eq!(kinds[&edge.source], "method"),
            _ => {}
        }
    }
    for (id, kind) in &kinds {
        let expected_parents = usize::from(kind != "file" || parents.contains_key(id));
        assert_eq!(
            parents.get(id).copied().unwrap_or(0),
            expected_parents,
            "{kind} {id}"
        );
    }
    for (_, (uri, meta, _)) in dump
        .blocks
        .iter()
        .filter(|(id, _)| kinds.contains_key(*id))
        .take(200)
    {
        assert_eq!(meta_field(meta, "path"), *uri);
        let start: u64 = meta_field(meta, "start_line").parse().unwrap();
        let end: u64 = meta_field(meta, "end_line").parse().unwrap();
        assert!(start >= 1 && start <= end);
    }
    let calls = call_lines(&engine);
    let missing: BTreeSet<&str> = expected
        .iter()
        .copied()
        .filter(|line| !calls.contains(*line))
        .collect();
    assert!(missing.is_empty(), "missing call edges: {missing:#?}");

    // Nothing changed: nothing is written.
    let again = ingester.ingest(&engine).unwrap();
    assert_eq!(again.files_parsed, 0, "{again}");
    assert_eq!(again.blocks_written + again.edges_written, 0, "{again}");
}

#[test]
fn petgraph() {
    check_crate(
        "petgraph",
        "0.8.3",
        &[
            // src/graph_impl/mod.rs: add_edge -> self.try_add_edge(a, b, weight)
            "crate::graph_impl::Graph::add_edge -calls_method-> crate::graph_impl::Graph::try_add_edge",
            // update_edge -> self.try_update_edge(a, b, weight)
            "crate::graph_impl::Graph::update_edge -calls_method-> crate::graph_impl::Graph::try_update_edge",
            // src/algo/mod.rs: toposort -> with_dfs(g, space, |dfs| ..)
            "crate::algo::toposort -calls-> crate::algo::with_dfs",
        ],
    );
}

#[test]
fn regex_syntax() {
    check_crate(
        "regex-syntax",
        "0.8.12",
        &[
            // src/lib.rs: escape -> escape_into(text, &mut quoted)
            "crate::escape -calls-> crate::escape_into",
            // escape_into -> is_meta_character(c)
            "crate::escape_into -calls-> crate::is_meta_character",
        ],
    );
}
