//! A scripted MCP session on real code: a copy of petgraph 0.8.3 (a pinned
//! dev-dependency; its source found with `cargo metadata`, as the ingest
//! crate's real-crate tests find theirs) is ingested with `kausal ingest`,
//! then `kausal mcp` runs as a child process and rmcp's client asks it
//! what an agent would: find a function, read it, who calls it, what its
//! caller calls. Each answer is checked against facts read from
//! petgraph's source (src/algo/mod.rs) and against the tool's output
//! schema.
//!
//! The session is a list of [`Step`]s; the agent tools `context` and
//! `impact` have theirs in [`steps_for_tools_to_come`].

mod mcp_client;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The real project the session reads.
const PACKAGE: (&str, &str) = ("petgraph", "0.8.3");

/// Where cargo keeps the source of the package `name` `version` (a
/// dependency of the workspace), from `cargo metadata` (offline, for this
/// host only: a full resolve needs every platform's packages).
fn package_dir(name: &str, version: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo_version = Command::new(env!("CARGO"))
        .arg("-vV")
        .output()
        .expect("cargo -vV");
    let host = String::from_utf8_lossy(&cargo_version.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_string))
        .expect("cargo names its host");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host, "--manifest-path"])
        .arg(&workspace)
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let package = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|package| package["name"] == name && package["version"] == version)
        .unwrap_or_else(|| panic!("{name} {version} not in cargo metadata"));
    Path::new(package["manifest_path"].as_str().expect("manifest_path"))
        .parent()
        .expect("package directory")
        .to_path_buf()
}

/// One question of the session and the check of its answer.
struct Step {
    tool: &'static str,
    arguments: Value,
    check: fn(&Value),
}

/// `(qualified_name, location, resolved_by)` of a tree's direct children.
fn children(answer: &Value) -> Vec<(String, String, String)> {
    answer["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|child| {
            let text = |field: &str| child[field].as_str().unwrap_or_default().to_string();
            (
                text("qualified_name"),
                text("location"),
                text("resolved_by"),
            )
        })
        .collect()
}

/// The questions about `with_dfs` (src/algo/mod.rs:333, private, called
/// by `toposort` and `has_path_connecting`) and `toposort`.
fn steps() -> Vec<Step> {
    vec![
        Step {
            tool: "find",
            arguments: json!({"name": "with_dfs"}),
            check: |answer| {
                assert_eq!(answer["total"], 1, "{answer}");
                let result = &answer["results"][0];
                assert_eq!(result["qualified_name"], "crate::algo::with_dfs");
                assert_eq!(result["kind"], "function");
                assert_eq!(result["location"], "src/algo/mod.rs:333");
            },
        },
        Step {
            tool: "show",
            arguments: json!({"name": "crate::algo::with_dfs"}),
            check: |answer| {
                assert_eq!(answer["location"], "src/algo/mod.rs:333");
                let content = answer["content"].as_str().unwrap_or_default();
                assert!(
                    content.contains("local_visitor = Dfs::empty(g);"),
                    "{content}"
                );
                assert!(
                    answer["signature"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("fn with_dfs<G, F, R>"),
                    "{answer}"
                );
            },
        },
        Step {
            tool: "callers",
            arguments: json!({"name": "crate::algo::with_dfs"}),
            check: |answer| {
                let mut callers = children(answer);
                callers.sort();
                assert_eq!(
                    callers,
                    [
                        (
                            "crate::algo::has_path_connecting".to_string(),
                            "src/algo/mod.rs:369".to_string(),
                            "scope".to_string()
                        ),
                        (
                            "crate::algo::toposort".to_string(),
                            "src/algo/mod.rs:211".to_string(),
                            "scope".to_string()
                        ),
                    ],
                    "{answer}"
                );
            },
        },
        Step {
            tool: "callees",
            arguments: json!({"name": "crate::algo::toposort"}),
            check: |answer| {
                let callees = children(answer);
                assert!(
                    callees.contains(&(
                        "crate::algo::with_dfs".to_string(),
                        "src/algo/mod.rs:333".to_string(),
                        "scope".to_string()
                    )),
                    "{answer}"
                );
                // Every call edge says how it was resolved.
                assert!(
                    callees
                        .iter()
                        .all(|(_, _, resolved_by)| !resolved_by.is_empty()),
                    "{answer}"
                );
            },
        },
    ]
}

/// `qualified_name`s of the objects in `answer[field]`.
fn names_in(answer: &Value, field: &str) -> Vec<String> {
    answer[field]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["qualified_name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The steps of the agent tools (`context`, `impact`): what an agent asks
/// before changing `with_dfs`.
fn steps_for_tools_to_come() -> Vec<Step> {
    vec![
        Step {
            tool: "context",
            arguments: json!({"name": "crate::algo::with_dfs", "budget": 2000}),
            check: |answer| {
                let source = answer["source"].as_str().unwrap_or_default();
                assert!(
                    source.contains("local_visitor = Dfs::empty(g);"),
                    "{answer}"
                );
                assert!(answer["used_tokens"].as_u64() <= Some(2000), "{answer}");
                let callers = names_in(answer, "callers");
                for caller in ["crate::algo::toposort", "crate::algo::has_path_connecting"] {
                    assert!(callers.contains(&caller.to_string()), "{callers:?}");
                }
                // Depth 1 before depth 2.
                let depths: Vec<u64> = answer["callers"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|c| c["depth"].as_u64()).collect())
                    .unwrap_or_default();
                assert!(
                    depths.windows(2).all(|pair| pair[0] <= pair[1]),
                    "{depths:?}"
                );
                // `Dfs` (src/visit/traversal.rs) is a type its body names.
                let types = names_in(answer, "types");
                assert!(
                    types.iter().any(|name| name.ends_with("::Dfs")),
                    "{types:?}"
                );
            },
        },
        Step {
            tool: "impact",
            arguments: json!({"target": "crate::algo::with_dfs", "depth": 2}),
            check: |answer| {
                let near: Vec<String> = names_in(&answer["levels"][0], "blocks");
                assert_eq!(
                    near,
                    ["crate::algo::toposort", "crate::algo::has_path_connecting"],
                    "{answer}"
                );
                // petgraph's tests/graph.rs calls toposort in `#[test]` functions.
                let tests = names_in(answer, "tests");
                assert!(
                    tests.contains(&"crate::test_toposort".to_string()),
                    "{tests:?}"
                );
                assert!(
                    answer["tests"]
                        .as_array()
                        .is_some_and(|tests| tests.iter().all(|t| t["test_rule"].is_string())),
                    "{answer}"
                );
            },
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_on_petgraph() {
    let (name, version) = PACKAGE;
    let repo = support::copy_sources(&package_dir(name, version));
    support::kausal(repo.path(), &["ingest"]);
    let client = mcp_client::start(support::kausal_bin(), repo.path(), &[], &[]).await;
    let tools = client.list_all_tools().await.expect("list tools");
    for step in steps().into_iter().chain(steps_for_tools_to_come()) {
        let answer = mcp_client::ok(&client, step.tool, step.arguments.clone()).await;
        mcp_client::assert_valid(&answer, &mcp_client::output_schema(&tools, step.tool));
        (step.check)(&answer);
    }
    client.cancel().await.expect("close");
}
