//! Every limit of `kausal serve` and `kausal mcp`, named in one place and
//! checked at the boundary (docs/CLI.md lists them). Over a limit, a client
//! gets a clear 4xx (HTTP) or a tool error (MCP), never unbounded memory.

use std::time::Duration;

/// Largest request body of a query (`POST /v1/query`), in bytes.
pub const MAX_QUERY_BODY_BYTES: usize = 64 * 1024;
/// Largest request body of `POST /v1/impact`, in bytes: a diff
/// (kausal-service's `MAX_DIFF_BYTES`, 1 MiB) and its arguments.
pub const MAX_IMPACT_BODY_BYTES: usize = kausal_service::diff::MAX_DIFF_BYTES + 64 * 1024;
/// Largest request body of `POST /v1/ingest`, in bytes (it names paths only).
pub const MAX_INGEST_BODY_BYTES: usize = 256 * 1024;
/// Connections served at once; one more is answered `429` and closed.
pub const MAX_CONNECTIONS: usize = 128;
/// Requests handled at once, over all connections; more are refused `429`.
pub const MAX_IN_FLIGHT_REQUESTS: usize = 256;
/// Longest a request may take, body upload included (`408` after).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a client may take to send a request's headers (then the
/// connection is closed): the slow-client (one byte a second) guard.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that moves no byte for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight requests before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Deepest `callers`/`callees` tree (the CLI's limit).
pub const MAX_TREE_DEPTH: u32 = kausal_service::MAX_TREE_DEPTH;
/// Deepest `trace` (the query engine's limit; deeper is a `400`).
pub const MAX_TRACE_DEPTH: u32 = kausal_query::limits::MAX_DEPTH_CAP;
/// Most blocks one `find` or `trace` may collect (the CLI's limits).
pub const MAX_RESULTS: usize = kausal_service::MAX_FIND_LIMIT;
/// Items on one page of an MCP answer (`page_size` caps at this).
pub const MAX_PAGE_ITEMS: usize = 200;
/// Items on one page of an MCP answer when `page_size` is not given.
pub const DEFAULT_PAGE_ITEMS: usize = 50;
/// Quiet time after the last file change before `--watch` re-ingests.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(150);
/// `serve --watch --precise`: quiet time after the last re-ingest (or the
/// start) before the SCIP indexers run again (`--precise-quiet` sets it).
pub const PRECISE_QUIET: Duration = Duration::from_secs(30);
/// Most paths one `POST /v1/ingest` may name.
pub const MAX_INGEST_PATHS: usize = 10_000;
