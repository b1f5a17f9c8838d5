//! End-to-end tests of the answers made for agents (`context`, `impact`,
//! `outline`, `map`) on a small Rust + Python + TypeScript repository with
//! tests in each language: every command in human and JSON form
//! (snapshots), `impact --diff` with a diff on stdin, unknown names, bad
//! diffs and limits. The same answers over HTTP and MCP are in
//! `server_http.rs` and `server_mcp.rs`.

use std::path::Path;

use assert_cmd::Command;

mod support;

/// The fixture: a Rust crate (a unit test in a `#[cfg(test)]` module, an
/// integration test under `tests/`), a Python module with a `test_*.py`
/// file, a TypeScript module with a `*.test.ts` file.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    ),
    (
        "src/lib.rs",
        "pub mod shapes;\n\nuse shapes::{scale, square};\n\n/// A square's side, scaled.\npub fn report(side: f64) -> f64 {\n    scale(square(side).w)\n}\n",
    ),
    (
        "src/shapes.rs",
        "/// A rectangle.\npub struct Rect {\n    pub w: f64,\n    pub h: f64,\n}\n\nimpl Rect {\n    /// Its area.\n    pub fn area(&self) -> f64 {\n        scale(self.w * self.h)\n    }\n}\n\n/// Scales a value.\npub fn scale(x: f64) -> f64 {\n    x * 1.0\n}\n\n/// Builds a square.\npub fn square(side: f64) -> Rect {\n    Rect { w: side, h: side }\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn squares_scale() {\n        assert_eq!(scale(square(2.0).w), 2.0);\n    }\n}\n",
    ),
    (
        "tests/report.rs",
        "use fixture::report;\n\n#[test]\nfn reports() {\n    assert_eq!(report(2.0), 2.0);\n}\n",
    ),
    (
        "tools/stats.py",
        "def mean(values):\n    \"\"\"Average of values.\"\"\"\n    return total(values) / len(values)\n\n\ndef total(values):\n    return sum(values)\n",
    ),
    (
        "tools/test_stats.py",
        "from tools.stats import mean\n\n\ndef test_mean():\n    assert mean([1, 2]) == 1.5\n",
    ),
    (
        "web/format.ts",
        "/** Formats a price. */\nexport function formatPrice(cents: number): string {\n  return \"$\" + dollars(cents).toFixed(2);\n}\n\nexport function dollars(cents: number): number {\n  return cents / 100;\n}\n",
    ),
    (
        "web/format.test.ts",
        "import { formatPrice } from \"./format\";\n\ndescribe(\"formatPrice\", () => {\n  it(\"formats\", () => {\n    expect(formatPrice(150)).toBe(\"$1.50\");\n  });\n});\n",
    ),
];

fn kausal(repo: &Path) -> Command {
    let mut command = Command::cargo_bin("kausal").expect("binary");
    command
        .current_dir(repo)
        .env_remove("KAUSAL_DB")
        .env("KAUSAL_NO_SERVER", "1")
        .env("NO_COLOR", "1");
    command
}

fn ingested() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    for (path, text) in FILES {
        support::write(repo.path(), path, text);
    }
    kausal(repo.path()).arg("ingest").assert().success();
    repo
}

fn stdout(command: &mut Command) -> String {
    let output = command.output().expect("run");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn json(command: &mut Command) -> serde_json::Value {
    let output = command.arg("--json").output().expect("run");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

/// Changes `scale`'s body, removes `total`'s blank line before it, adds
/// a file the database does not have, and deletes one it has.
const DIFF: &str = "diff --git a/src/shapes.rs b/src/shapes.rs
index 1111111..2222222 100644
--- a/src/shapes.rs
+++ b/src/shapes.rs
@@ -14,5 +14,5 @@ impl Rect {
 /// Scales a value.
 pub fn scale(x: f64) -> f64 {
-    x * 1.0
+    x * 2.0
 }
 
diff --git a/tools/stats.py b/tools/stats.py
--- a/tools/stats.py
+++ b/tools/stats.py
@@ -5,3 +5,3 @@ def mean(values):
 
 def total(values):
-    return sum(values)
+    return sum(values) + 0
diff --git a/docs/notes.md b/docs/notes.md
new file mode 100644
--- /dev/null
+++ b/docs/notes.md
@@ -0,0 +1 @@
+notes
\\ No newline at end of file
diff --git a/web/format.test.ts b/web/format.test.ts
deleted file mode 100644
--- a/web/format.test.ts
+++ /dev/null
@@ -1,2 +0,0 @@
-import { formatPrice } from \"./format\";
-
";

#[test]
fn every_answer_in_human_form() {
    let repo = ingested();
    let dir = repo.path();
    insta::assert_snapshot!(
        "context_scale",
        stdout(kausal(dir).args(["context", "scale"]))
    );
    insta::assert_snapshot!(
        "context_area",
        stdout(kausal(dir).args(["context", "area"]))
    );
    insta::assert_snapshot!(
        "context_scale_small_budget",
        stdout(kausal(dir).args(["context", "scale", "--budget", "40"]))
    );
    insta::assert_snapshot!(
        "impact_scale",
        stdout(kausal(dir).args(["impact", "scale"]))
    );
    insta::assert_snapshot!(
        "impact_lines",
        stdout(kausal(dir).args(["impact", "tools/stats.py:6-7", "--depth", "2"]))
    );
    insta::assert_snapshot!(
        "impact_diff",
        stdout(kausal(dir).args(["impact", "--diff"]).write_stdin(DIFF))
    );
    insta::assert_snapshot!(
        "outline_shapes",
        stdout(kausal(dir).args(["outline", "src/shapes.rs"]))
    );
    insta::assert_snapshot!("map", stdout(kausal(dir).args(["map"])));
    insta::assert_snapshot!(
        "map_small",
        stdout(kausal(dir).args(["map", "--budget", "30"]))
    );
}

#[test]
fn every_answer_as_one_json_document() {
    let repo = ingested();
    let dir = repo.path();
    insta::assert_json_snapshot!(
        "context_scale_json",
        json(kausal(dir).args(["context", "scale"]))
    );
    insta::assert_json_snapshot!(
        "impact_scale_json",
        json(kausal(dir).args(["impact", "scale"]))
    );
    insta::assert_json_snapshot!(
        "impact_diff_json",
        json(kausal(dir).args(["impact", "--diff"]).write_stdin(DIFF))
    );
    insta::assert_json_snapshot!(
        "outline_format_json",
        json(kausal(dir).args(["outline", "web/format.ts"]))
    );
    insta::assert_json_snapshot!(
        "map_json",
        json(kausal(dir).args(["map", "--budget", "60"]))
    );
}

#[test]
fn impact_finds_the_tests_of_every_language() {
    let repo = ingested();
    let dir = repo.path();
    let rules = |target: &str| -> Vec<(String, String)> {
        let report = json(kausal(dir).args(["impact", target]));
        report["tests"]
            .as_array()
            .map(|tests| {
                tests
                    .iter()
                    .map(|test| {
                        let name = test["name"].as_str().unwrap_or_default().to_string();
                        let rule = test["test_rule"].as_str().unwrap_or_default().to_string();
                        (name, rule)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let scale = rules("scale");
    assert!(
        scale.contains(&("squares_scale".into(), "rust_test_attribute".into())),
        "{scale:?}"
    );
    assert!(
        scale.contains(&("report.rs".into(), "rust_tests_directory".into())),
        "{scale:?}"
    );
    assert!(
        scale.contains(&("reports".into(), "rust_test_attribute".into())),
        "{scale:?}"
    );
    let mean = rules("tools.stats.total");
    assert!(
        mean.contains(&("test_mean".into(), "python_test_function".into())),
        "{mean:?}"
    );
    let dollars = rules("dollars");
    assert!(
        dollars.iter().any(|(_, rule)| rule == "js_test_file"),
        "{dollars:?}"
    );
}

#[test]
fn the_budget_is_respected_and_checked() {
    let repo = ingested();
    let dir = repo.path();
    for budget in [1, 10, 40, 100, 4000] {
        let context =
            json(kausal(dir).args(["context", "report", "--budget", &budget.to_string()]));
        let used = context["used_tokens"].as_u64().unwrap_or(u64::MAX);
        assert!(used <= budget, "{budget}: {context}");
        let map = json(kausal(dir).args(["map", "--budget", &budget.to_string()]));
        assert!(
            map["used_tokens"].as_u64().unwrap_or(u64::MAX) <= budget,
            "{map}"
        );
    }
    for args in [
        vec!["context", "report", "--budget", "0"],
        vec!["context", "report", "--budget", "100001"],
        vec!["map", "--budget", "0"],
        vec!["impact", "scale", "--depth", "11"],
        vec!["impact", "src/lib.rs:9-3"],
        vec!["impact", "scale:3"],
        vec!["impact"],
    ] {
        let output = kausal(dir).args(&args).output().expect("run");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
}

#[test]
fn unknown_names_and_bad_diffs_are_clear_errors() {
    let repo = ingested();
    let dir = repo.path();
    for command in ["context", "impact", "outline"] {
        let output = kausal(dir).args([command, "scael"]).output().expect("run");
        assert_eq!(output.status.code(), Some(1), "{command}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("did you mean scale"), "{command}: {stderr}");
    }
    let output = kausal(dir)
        .args(["impact", "--diff", "--json"])
        .write_stdin("@@ -1 +1 @@\n-a\n+b\n")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).expect("JSON error");
    assert_eq!(error["error"]["code"], "usage");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("before any file header")),
        "{error}"
    );
    let huge = "+".repeat(kausal_service::diff::MAX_DIFF_BYTES + 1);
    let output = kausal(dir)
        .args(["impact", "--diff"])
        .write_stdin(huge)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("MAX_DIFF_BYTES"));
}

/// `value` without the `location` fields the server adds to every block.
fn without_locations(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("location");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

#[test]
fn http_answers_as_the_cli_does_and_takes_a_diff_body() {
    let repo = ingested();
    let dir = repo.path();
    let cli = |args: &[&str]| json(kausal(dir).args(args));
    let expected = [
        (
            "/v1/context?name=scale&budget=200",
            cli(&["context", "scale", "--budget", "200"]),
        ),
        (
            "/v1/impact?target=scale&depth=2",
            cli(&["impact", "scale", "--depth", "2"]),
        ),
        (
            "/v1/outline?path=src/shapes.rs",
            cli(&["outline", "src/shapes.rs"]),
        ),
        ("/v1/map?budget=50", cli(&["map", "--budget", "50"])),
    ];
    let from_diff = json(kausal(dir).args(["impact", "--diff"]).write_stdin(DIFF));
    let server = support::Server::start(dir, &[]);
    for (path, cli) in &expected {
        let (status, answer) = server.get(path);
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(&without_locations(answer), cli, "{path}");
    }
    let body = serde_json::json!({ "diff": DIFF }).to_string();
    let (status, answer) = server.post("/v1/impact", &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(without_locations(answer), from_diff);
    // The CLI sends its diff there when a server runs, and prints the same.
    let mut routed = Command::cargo_bin("kausal").expect("binary");
    routed
        .current_dir(dir)
        .env_remove("KAUSAL_DB")
        .env_remove("KAUSAL_NO_SERVER")
        .args(["impact", "--diff", "--json"])
        .write_stdin(DIFF);
    let output = routed.output().expect("run");
    assert!(output.status.success(), "{output:?}");
    let routed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(routed, from_diff);
    let (status, error) = server.post("/v1/impact", r#"{"diff": "@@ nonsense"}"#);
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "usage");
    let (status, error) = server.get("/v1/context?name=scael");
    assert_eq!(
        (status, &error["error"]["code"]),
        (404, &"not_found".into())
    );
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_tools_answer_as_the_cli_does() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let repo = ingested();
    let dir = repo.path();
    let cli = |args: &[&str]| json(kausal(dir).args(args));
    let calls = [
        (
            "context",
            serde_json::json!({"name": "square"}),
            cli(&["context", "square"]),
        ),
        (
            "impact",
            serde_json::json!({"target": "total"}),
            cli(&["impact", "total"]),
        ),
        (
            "impact",
            serde_json::json!({"diff": DIFF}),
            json(kausal(dir).args(["impact", "--diff"]).write_stdin(DIFF)),
        ),
        (
            "outline",
            serde_json::json!({"path": "web/format.ts"}),
            cli(&["outline", "web/format.ts"]),
        ),
        (
            "map",
            serde_json::json!({"budget": 80}),
            cli(&["map", "--budget", "80"]),
        ),
    ];
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(support::kausal_bin()).configure(|command| {
            command.current_dir(dir).env_remove("KAUSAL_DB").arg("mcp");
        }),
    )
    .expect("spawn kausal mcp");
    let client = ().serve(transport).await.expect("initialize");
    let tools = client.list_all_tools().await.expect("list tools");
    let impact = tools
        .iter()
        .find(|tool| tool.name == "impact")
        .expect("impact tool");
    let properties = &impact.input_schema["properties"];
    assert!(
        properties.get("diff").is_some() && properties.get("target").is_some(),
        "{properties}"
    );
    assert!(
        properties.get("diff_stdin").is_none(),
        "the CLI's flag is not an argument"
    );
    for (tool, arguments, expected) in calls {
        let serde_json::Value::Object(arguments) = arguments else {
            panic!("an object");
        };
        let result = client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
            .await
            .expect("a tool result");
        assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
        let answer = result.structured_content.expect("structured");
        assert_eq!(without_locations(answer), expected, "{tool}");
    }
    let result = client
        .call_tool(
            CallToolRequestParams::new("context").with_arguments(
                serde_json::json!({"name": "scael"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        )
        .await
        .expect("a tool result");
    assert_eq!(result.is_error, Some(true), "{result:?}");
    client.cancel().await.expect("close");
}
