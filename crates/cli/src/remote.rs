//! The CLI's side of a running `kausal serve`: when `server.json` in the
//! database directory names a live server, read commands (and an `ingest`
//! of the server's own root) are sent to it as `POST /v1/query` and
//! `POST /v1/ingest`; otherwise the CLI opens the database itself. The user
//! never has to know which (`KAUSAL_NO_SERVER=1` forces the direct way).
//! A plain HTTP/1.1 exchange over a loopback `TcpStream`: one request per
//! connection, bounded in time and size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use kausal_service::{Answer, ErrorCode, Query};
use serde::de::DeserializeOwned;

use crate::error::CliError;
use crate::server::discovery::{self, ServerInfo};
use crate::server::limits;
use crate::summary::IngestSummary;

/// How long the CLI waits to connect before opening the database itself.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long it waits for an answer (the server's own timeout, and some).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(limits::REQUEST_TIMEOUT.as_secs() + 5);
/// Largest answer the CLI reads from a server.
pub const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;
/// An ingest may take long: how long the CLI waits for one.
pub const INGEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// The running server for `db`, unless `KAUSAL_NO_SERVER` is set.
pub fn server_for(db: &Path) -> Option<ServerInfo> {
    if std::env::var_os("KAUSAL_NO_SERVER").is_some_and(|value| !value.is_empty()) {
        return None;
    }
    discovery::read(db)
}

/// One POST; `None` when the server cannot be reached (the caller then
/// opens the database itself). `kausal mcp` forwards its tools with it too.
pub(crate) fn post(
    info: &ServerInfo,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Option<(u16, serde_json::Value)> {
    let address: SocketAddr = info.address.parse().ok()?;
    if !address.ip().is_loopback() {
        return None;
    }
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        info.token,
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.take(MAX_ANSWER_BYTES).read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let value = serde_json::from_slice(&raw[split + 4..]).ok()?;
    Some((status, value))
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
    let body = serde_json::to_string(query).ok()?;
    let (status, value) = post(&info, "/v1/query", &body, ANSWER_TIMEOUT)?;
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
