//! `kausal serve` (HTTP/JSON, `http`) and `kausal mcp` (Model Context
//! Protocol over stdio, `mcp`): one core for both. Every query goes through
//! [`run_query`], which answers a [`Query`] with the CLI's own query code
//! on one consistent view of the graph ([`store::Store`], the seam where
//! the concurrent engine plugs in) and maps failures to [`ApiError`].
//! Limits are in `limits`; `discovery` writes and finds `server.json`;
//! `watch` re-ingests on file changes. (The CLI's side, asking a running
//! server, is `crate::remote`.)

pub mod backend;
pub mod client;
pub mod discovery;
pub mod http;
pub mod limits;
pub mod mcp;
pub mod reindex;
pub mod schema;
pub mod store;
pub mod watch;

use std::sync::Arc;

use serde::Serialize;

use kausal_service::{ErrorCode, Query, ServiceError};
use store::{Store, StoreError};

use crate::summary::IngestAnswer;

/// A failed request, as HTTP and MCP report it: a stable `code`, a
/// message that says what and where, and extra `details` (suggestions,
/// candidates).
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    /// HTTP status (MCP reports it as a tool error either way).
    #[serde(skip)]
    pub status: u16,
    /// Stable machine-readable code (`not_found`, `ambiguous`, `limit`, `busy`, ...).
    pub code: ErrorCode,
    /// What failed and where, for people.
    pub message: String,
    /// Extra fields: `suggestions` for `not_found`, `candidates` for `ambiguous`; null otherwise.
    pub details: serde_json::Value,
}

impl ApiError {
    /// An error with this code (and the code's HTTP status) and message,
    /// and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.http_status(),
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// An error with this code and message answered with `status` instead
    /// of the code's own (axum's rejections know the precise status: 422
    /// for a body of the wrong shape, 400 for one that is not JSON).
    pub fn with_status(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            ..Self::new(code, message)
        }
    }

    /// `{"error": {...}}`, the shape of the CLI's JSON errors.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self })
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        Self {
            status: error.http_status(),
            code: error.code(),
            message: error.to_string(),
            details: error.details(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let code = match &error {
            _ if error.is_disk_full() => ErrorCode::DiskFull,
            StoreError::Closed { .. } => ErrorCode::ShuttingDown,
            StoreError::ReadOnly { .. } => ErrorCode::ReadOnly,
            StoreError::Ingest { .. } => ErrorCode::Ingest,
            StoreError::Storage { .. } | StoreError::LockPoisoned { .. } => ErrorCode::Storage,
        };
        Self::new(code, error.to_string())
    }
}

/// Checks what the CLI's query code does not: the server's own caps.
fn check_limits(query: &Query) -> Result<(), ApiError> {
    let too_deep = |depth: u32, cap: u32| {
        ApiError::new(
            ErrorCode::Limit,
            format!("depth {depth} is over the limit of {cap} (limits::MAX_*_DEPTH)"),
        )
    };
    match query {
        Query::Trace(kausal_service::TraceArgs { depth, limit, .. }) => {
            if *depth > limits::MAX_TRACE_DEPTH {
                return Err(too_deep(*depth, limits::MAX_TRACE_DEPTH));
            }
            if *limit > limits::MAX_RESULTS {
                return Err(ApiError::new(
                    ErrorCode::Limit,
                    format!(
                        "limit {limit} is over the limit of {} (limits::MAX_RESULTS)",
                        limits::MAX_RESULTS
                    ),
                ));
            }
        }
        Query::Callers(kausal_service::TreeArgs { depth, .. })
        | Query::Callees(kausal_service::TreeArgs { depth, .. })
            if *depth > limits::MAX_TREE_DEPTH =>
        {
            return Err(too_deep(*depth, limits::MAX_TREE_DEPTH));
        }
        Query::Find(kausal_service::FindArgs { limit, .. }) if *limit > limits::MAX_RESULTS => {
            return Err(ApiError::new(
                ErrorCode::Limit,
                format!(
                    "limit {limit} is over the limit of {} (limits::MAX_RESULTS)",
                    limits::MAX_RESULTS
                ),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Answers `query` on a blocking thread (queries read files and may take
/// milliseconds); the report is serialised there too.
pub async fn run_query(store: &Arc<Store>, query: Query) -> Result<serde_json::Value, ApiError> {
    check_limits(&query)?;
    let store = Arc::clone(store);
    // The report owns its data: it is turned into JSON after the view is
    // released, so the store is held only for the query itself.
    let answered = tokio::task::spawn_blocking(move || {
        store
            .read(|graph, db| kausal_service::answer(graph, db, &query))
            .map(|report| report.map(|report| to_json(&report)))
    })
    .await
    .map_err(|error| ApiError::new(ErrorCode::Internal, format!("query task failed: {error}")))?;
    Ok(answered??)
}

/// Runs an incremental ingest on a blocking thread.
pub async fn run_ingest(store: &Arc<Store>) -> Result<serde_json::Value, ApiError> {
    let store = Arc::clone(store);
    let summary = tokio::task::spawn_blocking(move || store.ingest())
        .await
        .map_err(|error| {
            ApiError::new(ErrorCode::Internal, format!("ingest task failed: {error}"))
        })??;
    Ok(to_json(&IngestAnswer::Ingest(&summary)))
}

/// A report as JSON, with a `location` (`path:line`, what an editor or an
/// agent opens) added to every block object.
pub fn to_json(report: &impl Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    add_locations(&mut value);
    value
}

fn add_locations(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            // The stored metadata of `show` is the ingest's, left as is.
            for (key, child) in map.iter_mut() {
                if key != "metadata" {
                    add_locations(child);
                }
            }
            if let (Some(path), Some(line)) = (
                map.get("path").and_then(|p| p.as_str()),
                map.get("start_line").and_then(|l| l.as_u64()),
            ) {
                let location = format!("{path}:{}", line.max(1));
                map.insert("location".into(), location.into());
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_locations),
        _ => {}
    }
}
