//! Shared by the MCP tests: `kausal mcp` as a child process with rmcp's
//! own client over its stdio, calls that must succeed or fail as tool
//! errors, and a small JSON Schema checker (the keywords schemars writes:
//! `$ref`/`$defs`, `type`, `properties`, `required`, `items`,
//! `additionalProperties`, `anyOf`/`oneOf`/`allOf`, `const`, `enum`,
//! `minimum`) to check structured content against a tool's output schema.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::Value;

/// An rmcp client connected to a `kausal mcp` child.
pub type Client = RunningService<RoleClient, ()>;

/// How long one tool call may take before the test gives up on it.
pub const CALL_SAFETY: Duration = Duration::from_secs(60);

/// Starts `kausal mcp ARGS` in `dir` (with `env` set) and initializes a
/// client over its stdio.
pub async fn start(kausal: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Client {
    let transport =
        TokioChildProcess::new(tokio::process::Command::new(kausal).configure(|command| {
            command
                .current_dir(dir)
                .env_remove("KAUSAL_DB")
                .env_remove("KAUSAL_NO_SERVER")
                .arg("mcp")
                .args(args);
            for (key, value) in env {
                command.env(key, value);
            }
        }))
        .expect("spawn kausal mcp");
    ().serve(transport).await.expect("initialize")
}

/// Calls `tool`; panics on a protocol error or no answer in time.
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    tokio::time::timeout(
        CALL_SAFETY,
        client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)),
    )
    .await
    .expect("answered in time")
    .expect("a tool result, not a protocol error")
}

/// The structured answer of a call that must succeed; it must also come
/// as text (the same JSON), as the MCP specification advises.
pub async fn ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} {arguments}: {result:?}"
    );
    let structured = result
        .structured_content
        .clone()
        .expect("structured content");
    let text = result
        .content
        .first()
        .and_then(|content| content.as_text())
        .map(|text| text.text.clone())
        .expect("a text form");
    assert_eq!(
        serde_json::from_str::<Value>(&text).ok().as_ref(),
        Some(&structured),
        "{tool}: the text form is the structured content"
    );
    structured
}

/// The error document of a call that must fail as a tool error.
pub async fn tool_error(client: &Client, tool: &str, arguments: Value) -> Value {
    let result = call(client, tool, arguments.clone()).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} {arguments}: {result:?}"
    );
    result.structured_content.unwrap_or(Value::Null)
}

/// The output schema `tool` declares (panics if it has none).
pub fn output_schema(tools: &[Tool], tool: &str) -> Value {
    let tool = tools
        .iter()
        .find(|candidate| candidate.name == tool)
        .unwrap_or_else(|| panic!("no tool {tool}"));
    Value::Object(
        tool.output_schema
            .as_deref()
            .cloned()
            .unwrap_or_else(|| panic!("{} declares no output schema", tool.name)),
    )
}

/// Panics unless `value` is valid against `schema` (errors list where).
pub fn assert_valid(value: &Value, schema: &Value) {
    let mut errors = Vec::new();
    check(value, schema, schema, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "not valid against its output schema:\n{}\nvalue: {value}",
        errors.join("\n")
    );
}

fn type_matches(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("only local references: {reference}"));
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling reference {reference}"))
}

fn valid(value: &Value, schema: &Value, root: &Value) -> bool {
    let mut errors = Vec::new();
    check(value, schema, root, "$", &mut errors);
    errors.is_empty()
}

fn check(value: &Value, schema: &Value, root: &Value, at: &str, errors: &mut Vec<String>) {
    let Value::Object(schema) = schema else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{at}: no value is allowed"));
        }
        return;
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        check(value, resolve(root, reference), root, at, errors);
    }
    match schema.get("type") {
        Some(Value::String(name)) if !type_matches(value, name) => {
            errors.push(format!("{at}: expected {name}, got {value}"));
            return;
        }
        Some(Value::Array(names))
            if !names
                .iter()
                .any(|name| type_matches(value, name.as_str().unwrap_or_default())) =>
        {
            errors.push(format!("{at}: expected one of {names:?}, got {value}"));
            return;
        }
        _ => {}
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        errors.push(format!("{at}: expected {constant}, got {value}"));
    }
    if let Some(Value::Array(choices)) = schema.get("enum")
        && !choices.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && number < minimum
    {
        errors.push(format!("{at}: {number} is below {minimum}"));
    }
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for part in all {
            check(value, part, root, at, errors);
        }
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(Value::Array(options)) = schema.get(keyword) {
            let matching = options
                .iter()
                .filter(|option| valid(value, option, root))
                .count();
            if matching == 0 || (exactly_one && matching > 1) {
                errors.push(format!(
                    "{at}: {matching} of the {keyword} options match {value}"
                ));
            }
        }
    }
    if let Value::Object(object) = value {
        check_object(object, schema, root, at, errors);
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            check(item, item_schema, root, &format!("{at}[{index}]"), errors);
        }
    }
}

fn check_object(
    object: &serde_json::Map<String, Value>,
    schema: &serde_json::Map<String, Value>,
    root: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    if let Some(Value::Array(required)) = schema.get("required") {
        for field in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(field) {
                errors.push(format!("{at}: required field {field} is missing"));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    for (field, child) in object {
        match properties.and_then(|properties| properties.get(field)) {
            Some(property) => check(child, property, root, &format!("{at}.{field}"), errors),
            None => {
                if let Some(additional) = schema.get("additionalProperties") {
                    check(child, additional, root, &format!("{at}.{field}"), errors);
                }
            }
        }
    }
}
