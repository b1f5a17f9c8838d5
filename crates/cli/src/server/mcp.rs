//! `kausal mcp`: the graph as Model Context Protocol tools over stdio
//! (`rmcp`). One read-only tool per read command (`find`, `show`,
//! `callers`, `callees`, `trace`, `path`, `cycles`, `deps`, `stats`) and
//! `ingest`. Inputs are JSON-schema'd (field docs state defaults and caps);
//! answers are structured JSON in which every block carries `location`
//! (`path:line`). Long lists come a page at a time with `next_cursor`.
//! A failing query ("no block named X", a depth over the cap) is a tool
//! result with `is_error`, never a protocol fault; nothing but the protocol
//! is written to stdout.

use std::sync::Arc;

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::store::Store;
use super::{ApiError, limits, run_ingest, run_query};
use kausal_service::{ErrorCode, Query, TraceDirection};

/// A tool's arguments, or why they did not parse. rmcp's own wrapper turns
/// a wrong type into a JSON-RPC error; this one lets the tool answer with
/// a tool error (`is_error`) that says which argument is wrong, which is
/// what a model can read and correct. The schema is `T`'s.
pub struct Parameters<T>(pub Result<T, String>);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Parameters(
            serde_json::from_value(serde_json::Value::Object(arguments))
                .map_err(|error| error.to_string()),
        ))
    }
}

/// The tool error for arguments that did not parse.
fn bad_arguments(tool: &str, reason: &str) -> CallToolResult {
    tool_result(Err(ApiError::new(
        ErrorCode::BadArguments,
        format!("bad arguments for {tool}: {reason}"),
    )))
}

/// Unwraps parsed arguments, or returns the tool error from the tool.
macro_rules! arguments {
    ($tool:literal, $parameters:expr) => {
        match $parameters.0 {
            Ok(arguments) => arguments,
            Err(reason) => return Ok(bad_arguments($tool, &reason)),
        }
    };
}

/// The MCP server: the store and the tool table.
#[derive(Clone)]
pub struct KausalMcp {
    store: Arc<Store>,
    tool_router: ToolRouter<Self>,
}

/// Which page of a long answer to return.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct Page {
    /// Opaque cursor from a previous answer's `next_cursor`; omit for the
    /// first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 200).
    #[serde(default)]
    pub page_size: Option<usize>,
}

/// Arguments of the `find` tool.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindArgs {
    /// A name (`parse`), a qualified-name suffix (`TableReader::find`), a
    /// repo-relative file path, or a name prefix.
    pub name: String,
    /// Only this kind: fn, method, struct, enum, trait, impl, module, file, ...
    #[serde(default)]
    pub kind: Option<String>,
    /// Only paths matching this glob (`*` within a segment, `**` across).
    #[serde(default)]
    pub path: Option<String>,
    /// Which page of the matches to return.
    #[serde(flatten)]
    pub page: Page,
}

/// Arguments of the `show` tool: the one block to show.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NameArgs {
    /// A name, a qualified-name suffix, a file path, or a 32-hex-digit block
    /// id. An ambiguous name is an error listing the candidates.
    pub name: String,
}

/// Arguments of the `callers` and `callees` tools.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TreeArgs {
    /// A name, a qualified-name suffix, a file path, or a block id.
    pub name: String,
    /// Levels to follow (default 1, at most 32).
    #[serde(default)]
    pub depth: Option<u32>,
    /// Which page of the direct callers or callees to return.
    #[serde(flatten)]
    pub page: Page,
}

/// Which way `trace` follows edges.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Follow edges into the block (who reaches it).
    In,
    /// Follow edges out of the block (what it reaches).
    Out,
    /// Follow edges both ways.
    Both,
}

/// Arguments of the `trace` tool.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TraceArgs {
    /// A name, a qualified-name suffix, a file path, or a block id.
    pub name: String,
    /// `out` (default), `in` or `both`.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Hops to follow (default 3, at most 1000).
    #[serde(default)]
    pub depth: Option<u32>,
    /// Edge types (calls, calls_method, calls_function, imports,
    /// defined_in, ...); default every type but `names`.
    #[serde(default)]
    pub edges: Vec<String>,
    /// Which page of the blocks reached to return.
    #[serde(flatten)]
    pub page: Page,
}

/// Arguments of the `path` tool: the two ends of a shortest path.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathArgs {
    /// Where the path starts (a name, suffix, file path or id).
    pub from: String,
    /// Where it ends.
    pub to: String,
    /// Edge types to walk (default calls and calls_method).
    #[serde(default)]
    pub edges: Vec<String>,
}

/// Arguments of the `cycles` tool.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CyclesArgs {
    /// Edge types (default calls and calls_method; `imports` finds import
    /// cycles).
    #[serde(default)]
    pub edges: Vec<String>,
    /// Which page of the cycles to return.
    #[serde(flatten)]
    pub page: Page,
}

/// Arguments of the `deps` tool: the file or module whose imports to list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DepsArgs {
    /// A file path (`src/lib.rs`) or a module name.
    pub target: String,
}

/// Arguments of a tool that takes none (`stats`, `ingest`); any field is an error.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// The list a report pages over, by command.
fn paged_field(command: &str) -> Option<&'static str> {
    match command {
        "find" => Some("results"),
        "trace" => Some("reached"),
        "cycles" => Some("cycles"),
        "callers" | "callees" => Some("children"),
        _ => None,
    }
}

/// Cuts the report's list to one page; adds `total`, `next_cursor`.
fn paginate(mut value: serde_json::Value, page: &Page) -> Result<serde_json::Value, ApiError> {
    let Some(field) = value["command"].as_str().and_then(paged_field) else {
        return Ok(value);
    };
    let size = page.page_size.unwrap_or(limits::DEFAULT_PAGE_ITEMS);
    if size == 0 || size > limits::MAX_PAGE_ITEMS {
        return Err(ApiError::new(
            ErrorCode::Limit,
            format!(
                "page_size must be between 1 and {} (limits::MAX_PAGE_ITEMS)",
                limits::MAX_PAGE_ITEMS
            ),
        ));
    }
    let start = match &page.cursor {
        None => 0,
        Some(cursor) => cursor.parse::<usize>().map_err(|_| {
            ApiError::new(
                ErrorCode::BadCursor,
                format!("cursor {cursor:?} is not one this server gave"),
            )
        })?,
    };
    let Some(items) = value[field].as_array_mut() else {
        return Ok(value);
    };
    let total = items.len();
    if start > total {
        return Err(ApiError::new(
            ErrorCode::BadCursor,
            format!("cursor {start} is past the end ({total} items)"),
        ));
    }
    let end = (start + size).min(total);
    let kept: Vec<serde_json::Value> = items.drain(start..end).collect();
    *items = kept;
    value["total"] = total.into();
    value["next_cursor"] = if end < total {
        end.to_string().into()
    } else {
        serde_json::Value::Null
    };
    Ok(value)
}

fn tool_result(result: Result<serde_json::Value, ApiError>) -> CallToolResult {
    match result {
        Ok(value) => CallToolResult::structured(value),
        Err(error) => CallToolResult::structured_error(error.to_json()),
    }
}

/// Guidance for a model choosing among the tools.
const INSTRUCTIONS: &str = "kausal answers questions about this repository's code graph \
(functions, methods, types, files and the calls/imports between them) in milliseconds. \
Start with `find` to locate a symbol; use `callers`/`callees` for who calls what, `trace` \
for everything reachable over chosen edges, `path` for how one symbol reaches another, \
`deps` for a file's imports, `cycles` for recursion, `show` to read one block's source. \
Every block has `location` (path:line) to open. Long lists are paged: pass `next_cursor` \
back as `cursor`. Call `ingest` after editing files if the server is not watching.";

#[tool_router]
impl KausalMcp {
    /// The MCP server over `store`, with every tool registered.
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            tool_router: Self::tool_router(),
        }
    }

    async fn query(&self, query: Query, page: Option<&Page>) -> CallToolResult {
        let result = run_query(&self.store, query).await;
        tool_result(match page {
            Some(page) => result.and_then(|value| paginate(value, page)),
            None => result,
        })
    }

    #[tool(
        description = "Find symbols (functions, methods, types, modules, files) by name, qualified-name suffix like `Reader::find`, file path, or name prefix. Returns each match with kind, qualified name and location (path:line). Use first to see what a name refers to.",
        annotations(read_only_hint = true)
    )]
    async fn find(&self, parameters: Parameters<FindArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("find", parameters);
        let query = Query::Find {
            name: args.name,
            kind: args.kind,
            path: args.path,
            limit: limits::MAX_RESULTS,
        };
        Ok(self.query(query, Some(&args.page)).await)
    }

    #[tool(
        description = "Show one symbol: its location, signature, doc comment, metadata and full source text. Use after `find` to read the code.",
        annotations(read_only_hint = true)
    )]
    async fn show(&self, parameters: Parameters<NameArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("show", parameters);
        Ok(self.query(Query::Show { name: args.name }, None).await)
    }

    #[tool(
        description = "Who calls this function or method: a tree of callers (depth levels up), each with location. Answers 'what breaks if I change this?'.",
        annotations(read_only_hint = true)
    )]
    async fn callers(&self, parameters: Parameters<TreeArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("callers", parameters);
        let query = Query::Callers {
            name: args.name,
            depth: args.depth.unwrap_or(1),
        };
        Ok(self.query(query, Some(&args.page)).await)
    }

    #[tool(
        description = "What this function or method calls: a tree of callees (depth levels down), each with location. Answers 'what does this depend on?'.",
        annotations(read_only_hint = true)
    )]
    async fn callees(&self, parameters: Parameters<TreeArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("callees", parameters);
        let query = Query::Callees {
            name: args.name,
            depth: args.depth.unwrap_or(1),
        };
        Ok(self.query(query, Some(&args.page)).await)
    }

    #[tool(
        description = "Everything reachable from a symbol over chosen edge types (calls, imports, defined_in, ...), in or out, up to a depth: a breadth-first list with each block's depth and the block it was reached from. Use for impact analysis beyond direct callers.",
        annotations(read_only_hint = true)
    )]
    async fn trace(&self, parameters: Parameters<TraceArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("trace", parameters);
        let query = Query::Trace {
            name: args.name,
            direction: match args.direction {
                Some(Direction::In) => TraceDirection::In,
                Some(Direction::Both) => TraceDirection::Both,
                Some(Direction::Out) | None => TraceDirection::Out,
            },
            depth: args.depth.unwrap_or(3),
            edges: args.edges,
            limit: limits::MAX_RESULTS,
        };
        Ok(self.query(query, Some(&args.page)).await)
    }

    #[tool(
        description = "The shortest call path from one symbol to another (each step with location), or an error when none exists. Answers 'how does A end up calling B?'.",
        annotations(read_only_hint = true)
    )]
    async fn path(&self, parameters: Parameters<PathArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("path", parameters);
        let query = Query::Path {
            from: args.from,
            to: args.to,
            edges: args.edges,
        };
        Ok(self.query(query, None).await)
    }

    #[tool(
        description = "Groups of symbols that reach each other (recursion over calls, or import cycles with edges=[\"imports\"]), largest first.",
        annotations(read_only_hint = true)
    )]
    async fn cycles(
        &self,
        parameters: Parameters<CyclesArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("cycles", parameters);
        Ok(self
            .query(Query::Cycles { edges: args.edges }, Some(&args.page))
            .await)
    }

    #[tool(
        description = "What a file or module imports and what imports it.",
        annotations(read_only_hint = true)
    )]
    async fn deps(&self, parameters: Parameters<DepsArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("deps", parameters);
        Ok(self
            .query(
                Query::Deps {
                    target: args.target,
                },
                None,
            )
            .await)
    }

    #[tool(
        description = "Size of the graph: blocks by kind and language, edges by type, tables and bytes on disk.",
        annotations(read_only_hint = true)
    )]
    async fn stats(&self, parameters: Parameters<NoArgs>) -> Result<CallToolResult, ErrorData> {
        let NoArgs {} = arguments!("stats", parameters);
        Ok(self.query(Query::Stats, None).await)
    }

    #[tool(
        description = "Re-ingest the repository incrementally (only changed files are parsed) so answers reflect edits on disk. Returns files parsed, removed and unchanged.",
        annotations(read_only_hint = false, idempotent_hint = true)
    )]
    async fn ingest(&self, parameters: Parameters<NoArgs>) -> Result<CallToolResult, ErrorData> {
        let NoArgs {} = arguments!("ingest", parameters);
        Ok(tool_result(run_ingest(&self.store).await))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KausalMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kausal", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

/// `kausal mcp`: serves the tools on stdin/stdout until the client closes
/// the stream or SIGINT/SIGTERM, then closes the store (flush, unlock).
pub fn run(
    db: &std::path::Path,
    root: &std::path::Path,
    watch: bool,
    options: kausal_ingest::IngestOptions,
) -> Result<(), super::http::ServeError> {
    use super::http::ServeError;
    let (runtime, store) = super::http::runtime_and_store(db, root, options)?;
    let watcher = if watch {
        Some(
            super::watch::Watcher::start(Arc::clone(&store)).map_err(|reason| {
                ServeError::Watch {
                    root: root.to_path_buf(),
                    reason,
                }
            })?,
        )
    } else {
        None
    };
    let served: Result<(), ServeError> = runtime.block_on(async {
        let service = KausalMcp::new(Arc::clone(&store))
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|error| ServeError::Net {
                what: "start MCP on",
                address: "stdio".into(),
                source: std::io::Error::other(error.to_string()),
            })?;
        tokio::select! {
            _ = service.waiting() => {}
            () = super::http::shutdown_signal() => {}
        }
        Ok(())
    });
    drop(watcher);
    let closed = store.shutdown();
    runtime.shutdown_timeout(limits::SHUTDOWN_GRACE);
    served?;
    closed?;
    Ok(())
}
