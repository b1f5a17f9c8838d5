//! `kausal mcp` end to end with rmcp's own client over a child process's
//! stdio: initialize, list the tools (each with an input schema and a
//! description), call every tool, page through a long answer, and bad
//! arguments as tool errors after which the server still answers.

mod mcp_client;
mod support;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

use support::{fixture, kausal, locations, write};

type Client = RunningService<RoleClient, ()>;

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)),
    )
    .await
    .expect("answered in time")
    .expect("a tool result, not a protocol error")
}

/// The structured answer of a successful call.
async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} {arguments}: {result:?}"
    );
    result.structured_content.expect("structured content")
}

/// The error of a call that must fail as a tool error.
async fn tool_error(client: &Client, tool: &str, arguments: Value) -> String {
    let result = call(client, tool, arguments.clone()).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} {arguments}: {result:?}"
    );
    format!("{result:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_answers_over_stdio() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(support::kausal_bin()).configure(|command| {
            command
                .current_dir(repo.path())
                .env_remove("KAUSAL_DB")
                .arg("mcp");
        }),
    )
    .expect("spawn kausal mcp");
    let client: Client = ().serve(transport).await.expect("initialize");
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|server| server.name.as_str()),
        Some("kausal")
    );
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or_default()
            .contains("find")
    );

    let tools = client.list_all_tools().await.expect("list tools");
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "callees", "callers", "context", "cycles", "deps", "find", "impact", "ingest", "map",
            "outline", "path", "show", "stats", "trace"
        ]
    );
    for tool in &tools {
        assert!(
            tool.description.as_deref().unwrap_or_default().len() > 30,
            "{} needs a description a model can choose by",
            tool.name
        );
        assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
    }
    let trace_tool = tools
        .iter()
        .find(|tool| tool.name == "trace")
        .expect("trace");
    let properties = &trace_tool.input_schema["properties"];
    for field in [
        "name",
        "direction",
        "depth",
        "edges",
        "limit",
        "cursor",
        "page_size",
    ] {
        assert!(
            properties.get(field).is_some(),
            "trace lacks {field}: {properties:?}"
        );
    }
    // Defaults come from kausal-service's argument structs, as on the CLI.
    assert_eq!(properties["depth"]["default"], 3, "{properties:?}");
    assert_eq!(properties["limit"]["default"], 1000, "{properties:?}");

    let find = ok(&client, "find", json!({"name": "lex"})).await;
    assert!(
        locations(&find).contains(&"src/lex.rs:2".to_string()),
        "{find}"
    );
    let show = ok(&client, "show", json!({"name": "parse"})).await;
    assert_eq!(show["location"], "src/parse.rs:4");
    assert!(
        show["content"]
            .as_str()
            .unwrap_or_default()
            .contains("helper(tokens)")
    );
    let callers = ok(&client, "callers", json!({"name": "lex"})).await;
    assert_eq!(callers["children"][0]["location"], "src/parse.rs:4");
    assert_eq!(callers["children"][0]["resolved_by"], "import", "{callers}");
    let callees = ok(&client, "callees", json!({"name": "run", "depth": 2})).await;
    assert_eq!(callees["children"][0]["name"], "parse");
    let trace = ok(
        &client,
        "trace",
        json!({"name": "run", "edges": ["calls"], "depth": 3}),
    )
    .await;
    assert!(
        locations(&trace).contains(&"src/lex.rs:2".to_string()),
        "{trace}"
    );
    let path = ok(&client, "path", json!({"from": "run", "to": "lex"})).await;
    assert_eq!(path["steps"].as_array().map(Vec::len), Some(3), "{path}");
    let cycles = ok(&client, "cycles", json!({})).await;
    assert_eq!(cycles["cycles"][0][0]["location"], "src/parse.rs:9");
    let deps = ok(&client, "deps", json!({"target": "src/parse.rs"})).await;
    assert_eq!(deps["target"]["location"], "src/parse.rs:1");
    let stats = ok(&client, "stats", json!({})).await;
    assert_eq!(stats["blocks_by_kind"]["file"], 4);
    assert_eq!(stats["calls_by_provenance"]["unrecorded"], 0, "{stats}");
    assert_eq!(stats["calls_by_provenance"]["path"], 1, "{stats}");

    // Paging: one result a page, every page carries the cursor of the next.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut arguments = json!({"name": "helper", "page_size": 1});
        if let Some(cursor) = &cursor {
            arguments["cursor"] = cursor.clone().into();
        }
        let page = ok(&client, "find", arguments).await;
        assert_eq!(page["total"], 2);
        assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
        seen.push(
            page["results"][0]["location"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["src/lex.rs:6", "src/parse.rs:9"]);
    // `limit` is the command line's: it caps the matches, pages cut them.
    let limited = ok(&client, "find", json!({"name": "helper", "limit": 1})).await;
    assert_eq!(limited["total"], 1, "{limited}");
    assert_eq!(limited["truncated"], true, "{limited}");

    // Bad arguments are tool errors, not crashes.
    let error = tool_error(&client, "callers", json!({"name": "nosuchthing"})).await;
    assert!(error.contains("not_found"), "{error}");
    let error = tool_error(&client, "trace", json!({"name": "run", "depth": 10000})).await;
    assert!(error.contains("limit"), "{error}");
    tool_error(&client, "trace", json!({"name": "run", "depth": "deep"})).await;
    let error = tool_error(&client, "find", json!({"name": "lex", "nmae": "typo"})).await;
    assert!(error.contains("unknown field `nmae`"), "{error}");
    tool_error(&client, "find", json!({"name": "lex", "cursor": "bogus"})).await;
    tool_error(&client, "find", json!({"name": "lex", "page_size": 100000})).await;
    tool_error(&client, "show", json!({"name": "helper"})).await; // ambiguous

    // Ingest picks up an edit; the server still answers after all of that.
    write(repo.path(), "src/extra.rs", "pub fn from_mcp() {}\n");
    let ingest = ok(&client, "ingest", json!({})).await;
    assert_eq!(ingest["files_parsed"], 1, "{ingest}");
    let found = ok(&client, "find", json!({"name": "from_mcp"})).await;
    assert_eq!(found["results"][0]["location"], "src/extra.rs:1");

    client.cancel().await.expect("close");
}

/// One call of every tool, with arguments that find something.
fn every_tool_call() -> Vec<(&'static str, Value)> {
    vec![
        ("find", json!({"name": "helper"})),
        ("show", json!({"name": "parse"})),
        ("callers", json!({"name": "lex", "depth": 2})),
        ("callees", json!({"name": "run", "depth": 2})),
        ("trace", json!({"name": "run", "edges": ["calls"]})),
        ("path", json!({"from": "run", "to": "lex"})),
        ("cycles", json!({})),
        ("deps", json!({"target": "src/parse.rs"})),
        ("stats", json!({})),
        ("context", json!({"name": "parse", "budget": 200})),
        ("impact", json!({"target": "lex"})),
        (
            "impact",
            json!({"diff": "--- a/src/lex.rs\n+++ b/src/lex.rs\n@@ -3 +3 @@\n-    helper(text)\n+    helper(text) + 0\n"}),
        ),
        ("outline", json!({"path": "src/parse.rs"})),
        ("map", json!({"budget": 100})),
        ("ingest", json!({})),
    ]
}

/// Every tool declares an output schema (an object schema, as MCP asks),
/// and what each call returns is valid against it.
async fn check_output_schemas(client: &mcp_client::Client) {
    let tools = client.list_all_tools().await.expect("list tools");
    let mut called: Vec<&str> = every_tool_call().iter().map(|(tool, _)| *tool).collect();
    called.dedup();
    assert_eq!(tools.len(), called.len());
    for tool in &tools {
        let schema = mcp_client::output_schema(&tools, &tool.name);
        assert_eq!(schema["type"], "object", "{}: {schema}", tool.name);
        assert_eq!(
            schema["properties"]["command"]["const"],
            tool.name.as_ref(),
            "{}",
            tool.name
        );
    }
    for (tool, arguments) in every_tool_call() {
        let answer = mcp_client::ok(client, tool, arguments).await;
        mcp_client::assert_valid(&answer, &mcp_client::output_schema(&tools, tool));
    }
    // The checker is not a rubber stamp: a block without its location, a
    // count of the wrong type, a missing field are caught.
    let callers_schema = mcp_client::output_schema(&tools, "callers");
    let mut answer = mcp_client::ok(client, "callers", json!({"name": "lex"})).await;
    assert_eq!(answer["children"][0]["resolved_by"], "import", "{answer}");
    mcp_client::assert_valid(&answer, &callers_schema);
    for broken in [
        "/children/0/location",
        "/root/start_line",
        "/depth",
        "/next_cursor",
    ] {
        let mut copy = answer.clone();
        let (parent, field) = broken.rsplit_once('/').expect("a pointer");
        let holder = if parent.is_empty() {
            &mut copy
        } else {
            copy.pointer_mut(parent).expect("present")
        };
        holder.as_object_mut().expect("an object").remove(field);
        let rejected = std::panic::catch_unwind(|| {
            mcp_client::assert_valid(&copy, &callers_schema);
        });
        assert!(rejected.is_err(), "{broken} removed and still valid");
    }
    answer["depth"] = json!("one");
    assert!(
        std::panic::catch_unwind(|| mcp_client::assert_valid(&answer, &callers_schema)).is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_has_an_output_schema_its_answers_match() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let client = mcp_client::start(support::kausal_bin(), repo.path(), &[], &[]).await;
    let instructions = client
        .peer_info()
        .and_then(|info| info.instructions.clone())
        .unwrap_or_default();
    assert!(
        instructions.contains("opened the database") && instructions.contains("read-only"),
        "{instructions}"
    );
    check_output_schemas(&client).await;
    client.cancel().await.expect("close");
}

/// With `kausal serve` running on the database, `kausal mcp` answers
/// through it (the server holds the database's lock: opening it would
/// fail) and both answer at once; its ingests are the server's. When the
/// server stops, `kausal mcp` opens the database itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_answers_through_a_running_server() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let server = support::Server::start(repo.path(), &[]);
    let client = mcp_client::start(support::kausal_bin(), repo.path(), &[], &[]).await;
    let instructions = client
        .peer_info()
        .and_then(|info| info.instructions.clone())
        .unwrap_or_default();
    assert!(
        instructions.contains(&server.info.address),
        "the instructions name the server: {instructions}"
    );
    check_output_schemas(&client).await;
    // The server answers its own clients meanwhile.
    let (status, callers) = server.get("/v1/callers?name=lex");
    assert_eq!(status, 200, "{callers}");
    assert_eq!(callers["children"][0]["location"], "src/parse.rs:4");
    // Errors come back as the server's, as tool errors.
    let error = mcp_client::tool_error(&client, "callers", json!({"name": "nosuchthing"})).await;
    assert_eq!(error["error"]["code"], "not_found", "{error}");
    let error =
        mcp_client::tool_error(&client, "trace", json!({"name": "run", "depth": 10000})).await;
    assert_eq!(error["error"]["code"], "limit", "{error}");
    // An ingest through MCP is the server's: it sees the edit.
    write(repo.path(), "src/extra.rs", "pub fn from_mcp() {}\n");
    let ingest = mcp_client::ok(&client, "ingest", json!({})).await;
    assert_eq!(ingest["files_parsed"], 1, "{ingest}");
    let (_, found) = server.get("/v1/find?name=from_mcp");
    assert_eq!(found["results"][0]["location"], "src/extra.rs:1", "{found}");
    let metrics = server.store_metrics();
    assert!(metrics["ingests_ok"].as_u64() >= Some(1), "{metrics}");
    // The server stops: the next call opens the database here instead
    // and answers from what the server wrote.
    assert!(server.terminate().success());
    let found = mcp_client::ok(&client, "find", json!({"name": "from_mcp"})).await;
    assert_eq!(found["results"][0]["location"], "src/extra.rs:1", "{found}");
    let callers = mcp_client::ok(&client, "callers", json!({"name": "lex"})).await;
    assert_eq!(callers["children"][0]["resolved_by"], "import", "{callers}");
    client.cancel().await.expect("close");
}
