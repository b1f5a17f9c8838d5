//! The CLI's side of a running `kausal serve`: when `server.json` in the
//! database directory names a live server, read commands (and an `ingest`
//! of the server's own root) are sent to it as `POST /v1/query` and
//! `POST /v1/ingest`; otherwise the CLI opens the database itself. The user
//! never has to know which (`KAUSAL_NO_SERVER=1` forces the direct way).
//! The exchange itself (plain HTTP/1.1 over loopback, bounded in time and
//! size) is `crate::server::client`'s, which `kausal mcp` shares.

use std::path::Path;

use kausal_service::{Answer, ErrorCode, Query};
use serde::de::DeserializeOwned;

use crate::error::CliError;
use crate::server::discovery::ServerInfo;
use crate::summary::IngestSummary;

use crate::server::client::post;
pub use crate::server::client::{
    ANSWER_TIMEOUT, CONNECT_TIMEOUT, INGEST_TIMEOUT, MAX_ANSWER_BYTES,
};

/// The running server for `db`, unless `KAUSAL_NO_SERVER` is set.
pub fn server_for(db: &Path) -> Option<ServerInfo> {
    crate::server::client::running_server(db)
}

/// The server's answer as the report it carries, or the error.
fn to_report<T: DeserializeOwned>(
    info: &ServerInfo,
    status: u16,
    value: serde_json::Value,
) -> Result<T, CliError> {
    if status == 200 {
        return serde_json::from_value(value).map_err(|error| CliError::Remote {
            code: ErrorCode::Server,
            message: format!(
                "the server at {} gave an answer this kausal cannot read: {error}",
                info.url
            ),
            details: serde_json::Value::Null,
        });
    }
    let error = &value["error"];
    // The server's own request errors are, to the CLI's user, bad usage;
    // a code this kausal does not know is the server's failure.
    let code = match ErrorCode::from_name(error["code"].as_str().unwrap_or_default()) {
        Some(ErrorCode::Limit | ErrorCode::BadRequest) => ErrorCode::Usage,
        Some(ErrorCode::TooManyConnections) => ErrorCode::Busy,
        Some(
            code @ (ErrorCode::NotFound
            | ErrorCode::NoResults
            | ErrorCode::Ambiguous
            | ErrorCode::Usage
            | ErrorCode::Query
            | ErrorCode::DiskFull
            | ErrorCode::Busy
            | ErrorCode::Unauthorized),
        ) => code,
        _ => ErrorCode::Server,
    };
    Err(CliError::Remote {
        code,
        message: error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server at {} answered {status}", info.url)),
        details: error["details"].clone(),
    })
}

/// Answers `query` through the server for `db`, if one runs.
pub fn query(db: &Path, query: &Query) -> Option<Result<Answer, CliError>> {
    let info = server_for(db)?;
    // `impact` may carry a diff larger than other queries' bodies: it has
    // a route (and a body limit) of its own.
    let (path, body) = match query {
        Query::Impact(args) => ("/v1/impact", serde_json::to_string(args).ok()?),
        other => ("/v1/query", serde_json::to_string(other).ok()?),
    };
    let (status, value) = post(&info, path, &body, ANSWER_TIMEOUT)?;
    Some(to_report(&info, status, value))
}

/// Ingests through the server for `db`, if one runs and serves `root`.
pub fn ingest(db: &Path, root: &Path) -> Option<Result<IngestSummary, CliError>> {
    let info = server_for(db)?;
    let same_root = std::path::absolute(root)
        .ok()
        .zip(std::path::absolute(&info.root).ok())
        .is_some_and(|(a, b)| a == b);
    if !same_root {
        return None;
    }
    let (status, value) = post(&info, "/v1/ingest", "{}", INGEST_TIMEOUT)?;
    Some(
        to_report::<IngestSummary>(&info, status, value).map(|mut summary| {
            summary.text = format!(
                "ingested by the server at {}: {} files parsed, {} unchanged, {} removed in {:.3} s\n",
                info.url,
                summary.files_parsed,
                summary.files_unchanged,
                summary.files_removed,
                summary.seconds
            );
            summary
        }),
    )
}
