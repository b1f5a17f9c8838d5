//! The MCP tools' output schemas: each tool declares, as `outputSchema`,
//! the JSON Schema (draft 2020-12, from schemars, for what `Serialize`
//! writes) of the report it answers with, and its structured content is
//! that report. The schema adds what the transports add to a report:
//! `command` (the tag of kausal-service's `Answer`), `location`
//! (`path:line`) on every block object ([`super::to_json`]), and for a
//! paged tool `total` and `next_cursor`. A failed call's structured
//! content is the error document (`{"error": ...}`) with `isError` set;
//! MCP clients check the schema only for results that are not errors.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde_json::{Value, json};

/// Whether a tool's answer is cut into pages (`total`, `next_cursor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// The whole answer in one result.
    Whole,
    /// A page of the answer's list at a time.
    Paged,
}

/// The output schema of a tool answering with `T` tagged `command`.
pub fn output<T: JsonSchema + 'static>(command: &str, paging: Paging) -> Arc<JsonObject> {
    let mut schema = rmcp::handler::server::tool::schema_for_output::<T>()
        .as_ref()
        .clone();
    let mut added = vec![(
        "command",
        json!({
            "type": "string",
            "const": command,
            "description": "The command that answered (the tool's name)."
        }),
    )];
    if paging == Paging::Paged {
        added.push((
            "total",
            json!({
                "type": "integer",
                "minimum": 0,
                "description": "Items in the whole list this page is cut from."
            }),
        ));
        added.push((
            "next_cursor",
            json!({
                "type": ["string", "null"],
                "description": "Pass back as `cursor` for the next page; null on the last page."
            }),
        ));
    }
    let mut root = Value::Object(std::mem::take(&mut schema));
    for (name, property) in added {
        add_property(&mut root, name, property);
    }
    add_locations(&mut root);
    match root {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Adds a required property to an object schema.
fn add_property(schema: &mut Value, name: &str, property: Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if let Value::Object(properties) = object.entry("properties").or_insert_with(|| json!({})) {
        properties.insert(name.to_string(), property);
    }
    if let Value::Array(required) = object.entry("required").or_insert_with(|| json!([]))
        && !required.iter().any(|field| field == name)
    {
        required.push(name.into());
    }
}

/// Every object schema describing a block (it has `path` and
/// `start_line`) gets the `location` the transports add.
fn add_locations(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            for child in object.values_mut() {
                add_locations(child);
            }
            let is_block = object
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|properties| {
                    properties.contains_key("path") && properties.contains_key("start_line")
                });
            if is_block {
                add_property(
                    schema,
                    "location",
                    json!({
                        "type": "string",
                        "description": "`path:line` of the block, what an editor or agent opens."
                    }),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_locations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_objects_get_a_location_and_paged_tools_their_page_fields() {
        let schema = output::<kausal_service::FindReport>("find", Paging::Paged);
        let required = schema["required"].as_array().expect("required");
        for field in ["command", "total", "next_cursor", "results", "query"] {
            assert!(required.iter().any(|name| name == field), "{field}");
        }
        assert_eq!(schema["properties"]["command"]["const"], "find");
        let text = Value::Object(schema.as_ref().clone()).to_string();
        assert!(text.contains("\"location\""), "{text}");
    }
}
