//! A scripted MCP session on real code: a copy of petgraph 0.8.3 (a pinned
//! dev-dependency; its source found with `cargo metadata`, as the ingest
//! crate's real-crate tests find theirs) is ingested with `kausal ingest`,
//! then `kausal mcp` runs as a child process and rmcp's client asks it
//! what an agent would: find a function, read it, who calls it, what its
//! caller calls. Each answer is checked against facts read from
//! petgraph's source (src/algo/mod.rs) and against the tool's output
//! schema.
//!
//! The session is a list of [`Step`]s. Tools that are still to come (the
//! query commands `context` and `impact`) get their steps in
//! [`steps_for_tools_to_come`] when they land.

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

/// The place for the steps of the query tools still to come (`context`
/// and `impact`, from the query commands' branch): when a tool lands,
/// its questions about `with_dfs`/`toposort` and their checks go here and
/// the session runs them like the others. None yet.
fn steps_for_tools_to_come() -> Vec<Step> {
    Vec::new()
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
