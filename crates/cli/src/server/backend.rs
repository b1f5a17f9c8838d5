//! Where `kausal mcp` gets its answers. When a `kausal serve` serves the
//! database (`server.json` names a live process, found as the CLI's
//! `remote` finds it: [`client::running_server`]), every tool is forwarded to it over HTTP with its token and
//! this process never opens the database: both run at once, and the
//! server's ingests and watcher keep the answers fresh. Otherwise the
//! process opens the database itself. A server that stops answering is
//! replaced by the one that took its place, else by the database opened
//! here (read-only), and the call is answered by that.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kausal_ingest::IngestOptions;
use kausal_service::{ErrorCode, Query};
use serde_json::Value;

use super::client;
use super::discovery::ServerInfo;
use super::store::{Store, StoreError};
use super::{ApiError, run_ingest, run_query};

/// Where answers come from now.
#[derive(Clone)]
enum Source {
    /// The database, opened by this process.
    Local(Arc<Store>),
    /// A running `kausal serve` for the same database.
    Server(ServerInfo),
}

/// What a tool asks.
enum Request {
    Query(Query),
    Ingest,
}

/// The answers' source, and how to open the database when the server
/// it forwards to stops answering (then the database is opened here,
/// read-only, or a server that replaced it is used).
pub struct Backend {
    db: PathBuf,
    root: PathBuf,
    options: IngestOptions,
    source: Mutex<Source>,
}

impl Backend {
    /// The server that serves `db`, if one runs (`KAUSAL_NO_SERVER=1`
    /// opens the database regardless), else `db` opened here: read-only
    /// unless `writable` (`--watch`).
    pub fn open(
        db: &Path,
        root: &Path,
        writable: bool,
        options: IngestOptions,
    ) -> Result<Self, StoreError> {
        let options = IngestOptions {
            progress: false,
            ..options
        };
        let source = match client::running_server(db) {
            Some(info) => Source::Server(info),
            None => Source::Local(Arc::new(open_store(db, root, writable, &options)?)),
        };
        Ok(Self {
            db: db.to_path_buf(),
            root: root.to_path_buf(),
            options,
            source: Mutex::new(source),
        })
    }

    /// The store this process opened, if it opened one.
    pub fn store(&self) -> Option<Arc<Store>> {
        match self.source() {
            Source::Local(store) => Some(store),
            Source::Server(_) => None,
        }
    }

    fn source(&self) -> Source {
        match self.source.lock() {
            Ok(source) => source.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Answers `query` (as JSON, `location` on every block).
    pub async fn query(&self, query: Query) -> Result<Value, ApiError> {
        self.answer(Request::Query(query)).await
    }

    /// Runs an incremental ingest (the server's, of its own root, when
    /// forwarding).
    pub async fn ingest(&self) -> Result<Value, ApiError> {
        self.answer(Request::Ingest).await
    }

    async fn answer(&self, request: Request) -> Result<Value, ApiError> {
        let mut request = Some(request);
        // The server, then (if it stopped answering) what replaced it.
        for _ in 0..2 {
            let info = match self.source() {
                Source::Local(store) => {
                    return match request.take().unwrap_or(Request::Ingest) {
                        Request::Query(query) => run_query(&store, query).await,
                        Request::Ingest => run_ingest(&store).await,
                    };
                }
                Source::Server(info) => info,
            };
            let (path, body, timeout) = match request.as_ref().unwrap_or(&Request::Ingest) {
                // `impact` may carry a diff larger than other queries'
                // bodies: it has a route (and a body limit) of its own.
                Request::Query(Query::Impact(args)) => (
                    "/v1/impact",
                    serde_json::to_string(args).map_err(|error| {
                        ApiError::new(
                            ErrorCode::Internal,
                            format!("cannot encode the query: {error}"),
                        )
                    })?,
                    client::ANSWER_TIMEOUT,
                ),
                Request::Query(query) => (
                    "/v1/query",
                    serde_json::to_string(query).map_err(|error| {
                        ApiError::new(
                            ErrorCode::Internal,
                            format!("cannot encode the query: {error}"),
                        )
                    })?,
                    client::ANSWER_TIMEOUT,
                ),
                Request::Ingest => ("/v1/ingest", "{}".to_string(), client::INGEST_TIMEOUT),
            };
            match forward(&info, path, body, timeout).await {
                Some(answered) => return answered,
                None => self
                    .replace(&info)
                    .await
                    .map_err(|error| gone(&info, path, &error))?,
            }
        }
        Err(ApiError::new(
            ErrorCode::Server,
            "no kausal server answered and the database could not be opened",
        ))
    }

    /// The server `gone` stopped answering: use the one that replaced it,
    /// else open the database here (read-only).
    async fn replace(&self, gone: &ServerInfo) -> Result<(), String> {
        let (db, root, options) = (self.db.clone(), self.root.clone(), self.options.clone());
        let stopped = gone.clone();
        let replacement = tokio::task::spawn_blocking(move || match client::running_server(&db) {
            Some(info) if info != stopped => Ok(Source::Server(info)),
            _ => open_store(&db, &root, false, &options)
                .map(|store| Source::Local(Arc::new(store)))
                .map_err(|error| error.to_string()),
        });
        let replacement = replacement
            .await
            .map_err(|error| format!("reopening task failed: {error}"))??;
        let mut source = self
            .source
            .lock()
            .map_err(|_| "a thread panicked".to_string())?;
        *source = replacement;
        eprintln!(
            "kausal mcp: the server at {} stopped answering. {}",
            gone.url,
            describe(&source)
        );
        Ok(())
    }

    /// One sentence saying where answers come from, for the `initialize`
    /// instructions and the log line on stderr.
    pub fn describe(&self) -> String {
        describe(&self.source())
    }
}

/// The tool error when the server stopped answering and nothing could
/// replace it.
fn gone(info: &ServerInfo, path: &str, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Server,
        format!(
            "the kausal server at {} (pid {}) did not answer {path}, and the database could not \
             be opened instead: {why}",
            info.url, info.pid
        ),
    )
}

fn open_store(
    db: &Path,
    root: &Path,
    writable: bool,
    options: &IngestOptions,
) -> Result<Store, StoreError> {
    let vfs: Arc<dyn kausal_vfs::Vfs> = Arc::new(kausal_vfs::OsVfs::new());
    if writable {
        Store::open(vfs, db, root, options.clone())
    } else {
        Store::open_read_only(vfs, db, root, options.clone())
    }
}

fn describe(source: &Source) -> String {
    match source {
        Source::Local(store) => format!(
            "This process opened the database {} itself ({}).",
            store.db().display(),
            if store.is_read_only() {
                "read-only; the ingest tool reopens it for writing"
            } else {
                "for writing"
            }
        ),
        Source::Server(info) => format!(
            "Answers come from the kausal server at {} (pid {}) that serves the database {}; \
             `ingest` re-ingests through it.",
            info.url, info.pid, info.db
        ),
    }
}

/// One POST to the server, on a blocking thread: `None` when it did not
/// answer; the server's error document becomes the tool's error as it is.
async fn forward(
    info: &ServerInfo,
    path: &'static str,
    body: String,
    timeout: Duration,
) -> Option<Result<Value, ApiError>> {
    let server = info.clone();
    let answered =
        tokio::task::spawn_blocking(move || client::post(&server, path, &body, timeout)).await;
    let (status, value) = match answered {
        Ok(answered) => answered?,
        Err(error) => {
            return Some(Err(ApiError::new(
                ErrorCode::Internal,
                format!("forwarding task failed: {error}"),
            )));
        }
    };
    if status == 200 {
        return Some(Ok(value));
    }
    let error = &value["error"];
    Some(Err(ApiError {
        status,
        code: ErrorCode::from_name(error["code"].as_str().unwrap_or_default())
            .unwrap_or(ErrorCode::Server),
        message: error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server at {} answered {status}", info.url)),
        details: error["details"].clone(),
    }))
}
