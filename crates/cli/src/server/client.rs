//! The client side of a running `kausal serve`, shared by the CLI
//! (`crate::remote`) and `kausal mcp` beside a server (`backend`): finding
//! the server of a database and one plain HTTP/1.1 POST to it over a
//! loopback `TcpStream` (one request per connection, bounded in time and
//! size).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use super::discovery::{self, ServerInfo};
use super::limits;

/// How long the CLI waits to connect before opening the database itself.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long it waits for an answer (the server's own timeout, and some).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(limits::REQUEST_TIMEOUT.as_secs() + 5);
/// Largest answer the CLI reads from a server.
pub const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;
/// An ingest may take long: how long the CLI waits for one.
pub const INGEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// The running server for `db`, unless `KAUSAL_NO_SERVER` is set.
pub fn running_server(db: &Path) -> Option<ServerInfo> {
    if std::env::var_os("KAUSAL_NO_SERVER").is_some_and(|value| !value.is_empty()) {
        return None;
    }
    discovery::read(db)
}

/// One POST; `None` when the server cannot be reached (the caller then
/// opens the database itself). `kausal mcp` forwards its tools with it too.
pub fn post(
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
