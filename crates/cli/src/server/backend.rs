//! Where `kausal mcp` gets its answers. When a `kausal serve` serves the
//! database (`server.json` names a live process, found as the CLI's
//! `remote` finds it: [`client::running_server`]), every tool is forwarded to it over HTTP with its token and
//! this process never opens the database: both run at once, and the
//! server's ingests and watcher keep the answers fresh. Otherwise the
//! process opens the database itself ([`Backend::Local`]).

use std::sync::Arc;
use std::time::Duration;

use kausal_service::{ErrorCode, Query};
use serde_json::Value;

use super::client;
use super::discovery::ServerInfo;
use super::store::Store;
use super::{ApiError, run_ingest, run_query};

/// The answers' source.
pub enum Backend {
    /// The database, opened by this process.
    Local(Arc<Store>),
    /// A running `kausal serve` for the same database.
    Server(ServerInfo),
}

impl Backend {
    /// Answers `query` (as JSON, `location` on every block).
    pub async fn query(&self, query: Query) -> Result<Value, ApiError> {
        match self {
            Backend::Local(store) => run_query(store, query).await,
            Backend::Server(info) => {
                let body = serde_json::to_string(&query).map_err(|error| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("cannot encode the query: {error}"),
                    )
                })?;
                forward(info, "/v1/query", body, client::ANSWER_TIMEOUT).await
            }
        }
    }

    /// Runs an incremental ingest (the server's, of its own root, when
    /// forwarding).
    pub async fn ingest(&self) -> Result<Value, ApiError> {
        match self {
            Backend::Local(store) => run_ingest(store).await,
            Backend::Server(info) => {
                forward(info, "/v1/ingest", "{}".into(), client::INGEST_TIMEOUT).await
            }
        }
    }

    /// One sentence saying where answers come from, for the `initialize`
    /// instructions and the log line on stderr.
    pub fn describe(&self) -> String {
        match self {
            Backend::Local(store) => format!(
                "This process opened the database {} itself ({}).",
                store.db().display(),
                if store.is_read_only() {
                    "read-only; the ingest tool reopens it for writing"
                } else {
                    "for writing"
                }
            ),
            Backend::Server(info) => format!(
                "Answers come from the kausal server at {} (pid {}) that serves the database {}; \
                 `ingest` re-ingests through it.",
                info.url, info.pid, info.db
            ),
        }
    }
}

/// One POST to the server, on a blocking thread; the server's error
/// document becomes the tool's error as it is.
async fn forward(
    info: &ServerInfo,
    path: &'static str,
    body: String,
    timeout: Duration,
) -> Result<Value, ApiError> {
    let server = info.clone();
    let answered = tokio::task::spawn_blocking(move || client::post(&server, path, &body, timeout))
        .await
        .map_err(|error| {
            ApiError::new(
                ErrorCode::Internal,
                format!("forwarding task failed: {error}"),
            )
        })?;
    let Some((status, value)) = answered else {
        return Err(ApiError::new(
            ErrorCode::Server,
            format!(
                "the kausal server at {} (pid {}) did not answer {path}; restart `kausal mcp` \
                 to open the database itself once the server has stopped",
                info.url, info.pid
            ),
        ));
    };
    if status == 200 {
        return Ok(value);
    }
    let error = &value["error"];
    Err(ApiError {
        status,
        code: ErrorCode::from_name(error["code"].as_str().unwrap_or_default())
            .unwrap_or(ErrorCode::Server),
        message: error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server at {} answered {status}", info.url)),
        details: error["details"].clone(),
    })
}
