//! Provenance over MCP: `callers`, `callees`, `trace` and `path` answers
//! say how each call edge was resolved (`resolved_by`: a heuristic rule,
//! or `precise` from a SCIP index) and whether the calling file has an
//! index (`precise_file`; with an edge not `precise`, the file was edited
//! since), as the command line does; and the answers stay valid against the tools'
//! output schemas with those fields present.

mod mcp_client;
mod precise_fixture;

use serde_json::{Value, json};

use precise_fixture::*;

/// `(qualified_name, resolved_by, precise_file)` of a tree's children.
fn edges(answer: &Value) -> Vec<(String, String, bool)> {
    answer["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|child| {
            (
                child["qualified_name"].as_str().unwrap_or_default().into(),
                child["resolved_by"].as_str().unwrap_or_default().into(),
                child["precise_file"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_report_resolved_by_and_precise_file() {
    let repo = fixture();
    let dir = repo.path();
    let indexes = tempfile::tempdir().expect("tempdir");
    let index = indexes.path().join("index.scip");
    std::fs::write(&index, index_bytes()).expect("write index");
    set_mtime(&index, at(INDEXED));
    expect(kausal(dir).arg("ingest").arg("--scip").arg(&index), 0);
    // c.rs edited after the index: its calls are heuristic again.
    write(dir, "src/c.rs", &format!("{C}// edited\n"));
    set_mtime(&dir.join("src/c.rs"), at(EDITED));
    expect(kausal(dir).arg("ingest"), 0);

    let kausal_bin = env!("CARGO_BIN_EXE_kausal");
    let client = mcp_client::start(kausal_bin, dir, &[], &[]).await;
    let tools = client.list_all_tools().await.expect("list tools");
    let schema = |tool: &str| mcp_client::output_schema(&tools, tool);

    let precise = mcp_client::ok(&client, "callers", json!({"name": "crate::a::Store::get"})).await;
    mcp_client::assert_valid(&precise, &schema("callers"));
    assert_eq!(
        edges(&precise),
        [("crate::b::first".to_string(), "precise".to_string(), true)],
        "{precise}"
    );
    let stale = mcp_client::ok(&client, "callers", json!({"name": "crate::b::first"})).await;
    mcp_client::assert_valid(&stale, &schema("callers"));
    assert_eq!(
        edges(&stale),
        [("crate::c::third".to_string(), "path".to_string(), true)],
        "{stale}"
    );
    let callees = mcp_client::ok(&client, "callees", json!({"name": "crate::c::third"})).await;
    mcp_client::assert_valid(&callees, &schema("callees"));
    assert!(
        edges(&callees).contains(&("crate::b::first".to_string(), "path".to_string(), true)),
        "{callees}"
    );
    let trace = mcp_client::ok(
        &client,
        "trace",
        json!({"name": "crate::c::third", "edges": ["calls"], "depth": 1}),
    )
    .await;
    mcp_client::assert_valid(&trace, &schema("trace"));
    let step = trace["reached"]
        .as_array()
        .expect("reached")
        .iter()
        .find(|step| step["qualified_name"] == "crate::b::first")
        .unwrap_or_else(|| panic!("first reached: {trace}"));
    assert_eq!(
        (&step["resolved_by"], &step["precise_file"]),
        (&json!("path"), &json!(true))
    );
    client.cancel().await.expect("close");
}
