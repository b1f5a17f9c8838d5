//! `kausal mcp`: the graph as Model Context Protocol tools over stdio
//! (`rmcp`). One read-only tool per read command (`find`, `show`,
//! `callers`, `callees`, `trace`, `path`, `cycles`, `deps`, `stats`,
//! `context`, `impact`, `outline`, `map`) and `ingest`. A tool's input is kausal-service's argument struct for the
//! command (the CLI's and HTTP's, with its schema, defaults and caps), plus
//! page fields for long lists; answers are structured JSON in which every block carries `location`
//! (`path:line`). Long lists come a page at a time with `next_cursor`.
//! A failing query ("no block named X", a depth over the cap) is a tool
//! result with `is_error`, never a protocol fault; nothing but the protocol
//! is written to stdout. Every tool declares an output schema (`schema`):
//! its structured content is the report, also given as text.
//!
//! When a `kausal serve` serves the same database, the tools are answered
//! through it (`backend`); otherwise this process opens the database,
//! read-only unless `--watch` needs it for writing.

use std::sync::Arc;

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::backend::Backend;
use super::schema::{Paging, output};
use super::{ApiError, limits};
use crate::summary::IngestSummary;
use kausal_service::{
    BlockDetail, ContextArgs, ContextReport, CyclesArgs, CyclesReport, DepsArgs, DepsReport,
    ErrorCode, FindArgs, FindReport, ImpactArgs, ImpactReport, MapArgs, MapReport, OutlineArgs,
    OutlineReport, PathArgs, PathReport, Query, ShowArgs, StatsReport, TraceArgs, TraceReport,
    TreeArgs, TreeReport,
};

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
        Ok(Parameters(parse_arguments(arguments)))
    }
}

fn parse_arguments<T: DeserializeOwned>(
    arguments: serde_json::Map<String, serde_json::Value>,
) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(arguments)).map_err(|error| error.to_string())
}

/// A paged tool's arguments: the query's own (kausal-service's argument
/// struct, which refuses unknown fields) and the [`Page`] fields beside
/// them. The schema is `T`'s with `cursor` and `page_size` added. (Tools
/// take it as `Parameters<Paged<T>>`: rmcp finds a tool's input schema by
/// the `Parameters` name.)
pub struct Paged<T> {
    /// The query's arguments.
    pub query: T,
    /// Which page of the answer to return.
    pub page: Page,
}

/// The argument names [`Page`] owns.
const PAGE_FIELDS: [&str; 2] = ["cursor", "page_size"];

impl<'de, T: DeserializeOwned> Deserialize<'de> for Paged<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut arguments =
            serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut page = serde_json::Map::new();
        for field in PAGE_FIELDS {
            if let Some(value) = arguments.remove(field) {
                page.insert(field.to_string(), value);
            }
        }
        Ok(Paged {
            query: parse_arguments(arguments).map_err(D::Error::custom)?,
            page: parse_arguments(page).map_err(D::Error::custom)?,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Paged<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Paged{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = T::json_schema(generator);
        let page = Page::json_schema(generator);
        if let (Some(properties), Some(page_properties)) = (
            schema.get_mut("properties").and_then(|p| p.as_object_mut()),
            page.get("properties").and_then(|p| p.as_object()),
        ) {
            for (name, property) in page_properties {
                properties.insert(name.clone(), property.clone());
            }
        }
        schema
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

/// The MCP server: where answers come from and the tool table.
#[derive(Clone)]
pub struct KausalMcp {
    backend: Arc<Backend>,
    /// [`INSTRUCTIONS`] and where answers come from.
    instructions: Arc<str>,
    tool_router: ToolRouter<Self>,
}

/// Which page of a long answer to return.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Opaque cursor from a previous answer's `next_cursor`; omit for the
    /// first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 200).
    #[serde(default)]
    pub page_size: Option<usize>,
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
Before editing a symbol, `context` gives its source, callers, callees, types and file outline \
in a token budget; `impact` (a name, path:line, or a unified `diff`) lists what can break and \
the tests to run; `outline` lists a file's items; `map` ranks the repository's most important \
files and items in a budget. \
Every block has `location` (path:line) to open. Long lists are paged: pass `next_cursor` \
back as `cursor`. Call `ingest` after editing files if the server is not watching.";

#[tool_router]
impl KausalMcp {
    /// The MCP server answering from `backend`, with every tool registered.
    pub fn new(backend: Arc<Backend>) -> Self {
        let instructions = format!("{INSTRUCTIONS} {}", backend.describe());
        Self {
            backend,
            instructions: instructions.into(),
            tool_router: Self::tool_router(),
        }
    }

    async fn query(&self, query: Query, page: Option<&Page>) -> CallToolResult {
        let result = self.backend.query(query).await;
        tool_result(match page {
            Some(page) => result.and_then(|value| paginate(value, page)),
            None => result,
        })
    }

    #[tool(
        description = "Find symbols (functions, methods, types, modules, files) by name, qualified-name suffix like `Reader::find`, file path, or name prefix. Returns each match with kind, qualified name and location (path:line). Use first to see what a name refers to.",
        annotations(read_only_hint = true),
        output_schema = output::<FindReport>("find", Paging::Paged)
    )]
    async fn find(
        &self,
        parameters: Parameters<Paged<FindArgs>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Paged { query: args, page } = arguments!("find", parameters);
        Ok(self.query(Query::Find(args), Some(&page)).await)
    }

    #[tool(
        description = "Show one symbol: its location, signature, doc comment, metadata and full source text. Use after `find` to read the code.",
        annotations(read_only_hint = true),
        output_schema = output::<BlockDetail>("show", Paging::Whole)
    )]
    async fn show(&self, parameters: Parameters<ShowArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("show", parameters);
        Ok(self.query(Query::Show(args), None).await)
    }

    #[tool(
        description = "Who calls this function or method: a tree of callers (depth levels up), each with location. Answers 'what breaks if I change this?'.",
        annotations(read_only_hint = true),
        output_schema = output::<TreeReport>("callers", Paging::Paged)
    )]
    async fn callers(
        &self,
        parameters: Parameters<Paged<TreeArgs>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Paged { query: args, page } = arguments!("callers", parameters);
        Ok(self.query(Query::Callers(args), Some(&page)).await)
    }

    #[tool(
        description = "What this function or method calls: a tree of callees (depth levels down), each with location. Answers 'what does this depend on?'.",
        annotations(read_only_hint = true),
        output_schema = output::<TreeReport>("callees", Paging::Paged)
    )]
    async fn callees(
        &self,
        parameters: Parameters<Paged<TreeArgs>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Paged { query: args, page } = arguments!("callees", parameters);
        Ok(self.query(Query::Callees(args), Some(&page)).await)
    }

    #[tool(
        description = "Everything reachable from a symbol over chosen edge types (calls, imports, defined_in, ...), in or out, up to a depth: a breadth-first list with each block's depth and the block it was reached from. Use for impact analysis beyond direct callers.",
        annotations(read_only_hint = true),
        output_schema = output::<TraceReport>("trace", Paging::Paged)
    )]
    async fn trace(
        &self,
        parameters: Parameters<Paged<TraceArgs>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Paged { query: args, page } = arguments!("trace", parameters);
        Ok(self.query(Query::Trace(args), Some(&page)).await)
    }

    #[tool(
        description = "The shortest call path from one symbol to another (each step with location), or an error when none exists. Answers 'how does A end up calling B?'.",
        annotations(read_only_hint = true),
        output_schema = output::<PathReport>("path", Paging::Whole)
    )]
    async fn path(&self, parameters: Parameters<PathArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("path", parameters);
        Ok(self.query(Query::Path(args), None).await)
    }

    #[tool(
        description = "Groups of symbols that reach each other (recursion over calls, or import cycles with edges=[\"imports\"]), largest first.",
        annotations(read_only_hint = true),
        output_schema = output::<CyclesReport>("cycles", Paging::Paged)
    )]
    async fn cycles(
        &self,
        parameters: Parameters<Paged<CyclesArgs>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Paged { query: args, page } = arguments!("cycles", parameters);
        Ok(self.query(Query::Cycles(args), Some(&page)).await)
    }

    #[tool(
        description = "What a file or module imports and what imports it.",
        annotations(read_only_hint = true),
        output_schema = output::<DepsReport>("deps", Paging::Whole)
    )]
    async fn deps(&self, parameters: Parameters<DepsArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("deps", parameters);
        Ok(self.query(Query::Deps(args), None).await)
    }

    #[tool(
        description = "Size of the graph: blocks by kind and language, edges by type, tables and bytes on disk.",
        annotations(read_only_hint = true),
        output_schema = output::<StatsReport>("stats", Paging::Whole)
    )]
    async fn stats(&self, parameters: Parameters<NoArgs>) -> Result<CallToolResult, ErrorData> {
        let NoArgs {} = arguments!("stats", parameters);
        Ok(self.query(Query::Stats, None).await)
    }

    #[tool(
        description = "Everything an agent needs to work on one symbol, packed into a token budget (default 4000, a token = 4 bytes): its source, the signatures and doc lines of its callers and callees (depth 1, then 2), the types it uses, and its file's outline; says what did not fit.",
        annotations(read_only_hint = true),
        output_schema = output::<ContextReport>("context", Paging::Whole)
    )]
    async fn context(
        &self,
        parameters: Parameters<ContextArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("context", parameters);
        Ok(self.query(Query::Context(args), None).await)
    }

    #[tool(
        description = "What a change can break: everything that reaches a symbol, a file's items, the items of path:START-END, or the symbols a unified diff (`diff`, git diff output) touches, over calls and imports, grouped by distance, with the tests among them listed apart (the tests to run).",
        annotations(read_only_hint = true),
        output_schema = output::<ImpactReport>("impact", Paging::Whole)
    )]
    async fn impact(
        &self,
        parameters: Parameters<ImpactArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("impact", parameters);
        Ok(self.query(Query::Impact(args), None).await)
    }

    #[tool(
        description = "A file's items, nested (impls, classes and their methods): kind, name, signature, first doc line and line range. Cheaper than reading the file.",
        annotations(read_only_hint = true),
        output_schema = output::<OutlineReport>("outline", Paging::Whole)
    )]
    async fn outline(
        &self,
        parameters: Parameters<OutlineArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("outline", parameters);
        Ok(self.query(Query::Outline(args), None).await)
    }

    #[tool(
        description = "A map of the repository in a token budget (default 4000): files and their most important items' signatures, ranked by PageRank over calls and imports. Use first in an unfamiliar repository.",
        annotations(read_only_hint = true),
        output_schema = output::<MapReport>("map", Paging::Whole)
    )]
    async fn map(&self, parameters: Parameters<MapArgs>) -> Result<CallToolResult, ErrorData> {
        let args = arguments!("map", parameters);
        Ok(self.query(Query::Map(args), None).await)
    }

    #[tool(
        description = "Re-ingest the repository incrementally (only changed files are parsed) so answers reflect edits on disk. Returns files parsed, removed and unchanged.",
        annotations(read_only_hint = false, idempotent_hint = true),
        output_schema = output::<IngestSummary>("ingest", Paging::Whole)
    )]
    async fn ingest(&self, parameters: Parameters<NoArgs>) -> Result<CallToolResult, ErrorData> {
        let NoArgs {} = arguments!("ingest", parameters);
        Ok(tool_result(self.backend.ingest().await))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KausalMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kausal", env!("CARGO_PKG_VERSION")))
            .with_instructions(self.instructions.to_string())
    }
}

/// `kausal mcp`: serves the tools on stdin/stdout until the client closes
/// the stream or SIGINT/SIGTERM, then closes the store (flush, unlock) if
/// it opened one. Says on stderr where answers come from.
pub fn run(
    db: &std::path::Path,
    root: &std::path::Path,
    watch: bool,
    options: kausal_ingest::IngestOptions,
) -> Result<(), super::http::ServeError> {
    use super::http::ServeError;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let backend = Arc::new(Backend::open(db, root, watch, options)?);
    let store = backend.store();
    eprintln!("kausal mcp: {}", backend.describe());
    let watcher = match &store {
        Some(store) if watch => Some(
            super::watch::Watcher::start(Arc::clone(store), None).map_err(|reason| {
                ServeError::Watch {
                    root: root.to_path_buf(),
                    reason,
                }
            })?,
        ),
        None if watch => {
            eprintln!(
                "kausal mcp: --watch is left to the server (start `kausal serve --watch` for it)"
            );
            None
        }
        _ => None,
    };
    let served: Result<(), ServeError> = runtime.block_on(async {
        let service = KausalMcp::new(Arc::clone(&backend))
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
    // The store opened at start, or the one opened when the server stopped.
    let closed = backend.store().map_or(Ok(()), |store| store.shutdown());
    runtime.shutdown_timeout(limits::SHUTDOWN_GRACE);
    served?;
    closed?;
    Ok(())
}
