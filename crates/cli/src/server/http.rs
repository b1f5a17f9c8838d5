//! `kausal serve`: the HTTP/JSON server. [`router`] builds the routes and
//! their limit layers (tested without a socket); [`serve`] runs the accept
//! loop on a bound listener: a connection cap (`429` past it), a header
//! read timeout and an idle timeout per connection, and graceful shutdown
//! (stop accepting, let in-flight requests finish within
//! `limits::SHUTDOWN_GRACE`, then close the store). [`run`] is the whole
//! command: open, bind 127.0.0.1, write `server.json`, watch, serve until
//! SIGINT/SIGTERM.
//!
//! Routes (all need `Authorization: Bearer TOKEN`, else `401`):
//! `GET /v1/health`, `GET /v1/metrics`, `POST /v1/ingest`,
//! `POST /v1/query` (a JSON `Query`, as the CLI sends it) and
//! `GET /v1/{find,show,callers,callees,trace,path,cycles,deps,stats,
//! context,impact,outline,map}?…` with the CLI's parameters (`edges`
//! comma separated), and `POST /v1/impact` (its arguments as JSON, with a
//! `diff` larger than other queries' bodies may be).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query as UrlQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::discovery::{self, DiscoveryError, ServerInfo};
use super::limits;
use super::store::{Store, StoreError};
use super::{ApiError, run_ingest, run_query};
use kausal_service::{ErrorCode, Query};

/// Starting or running the server failed.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The store failed: the database could not be opened, or shutting it down failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `server.json` could not be written or removed, or no token could be made.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The listening socket could not be bound or its address read.
    #[error("cannot {what} {address}: {source}")]
    Net {
        /// What was being done (`listen on`, `read the address of`), as the message's verb.
        what: &'static str,
        /// The address, such as `127.0.0.1:0`.
        address: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime could not be built; holds the OS's error.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// `--watch` could not start watching the root for changes.
    #[error("cannot watch {}: {reason}", root.display())]
    Watch {
        /// The repository root to watch.
        root: PathBuf,
        /// Why the watcher could not start.
        reason: String,
    },
}

/// Request and connection counters, at `/v1/metrics`.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// Requests received, authorized or not.
    pub requests: AtomicU64,
    /// Answers with a 2xx status.
    pub status_2xx: AtomicU64,
    /// Answers with a 4xx status.
    pub status_4xx: AtomicU64,
    /// Answers with a 5xx status.
    pub status_5xx: AtomicU64,
    /// Requests refused with 401: the bearer token was missing or wrong.
    pub unauthorized: AtomicU64,
    /// Requests refused with 429 `busy`: [`limits::MAX_IN_FLIGHT_REQUESTS`] were already in flight.
    pub refused_busy: AtomicU64,
    /// Requests being answered now.
    pub in_flight: AtomicUsize,
    /// Connections open now.
    pub connections_open: AtomicUsize,
    /// Connections accepted since the server started.
    pub connections_total: AtomicU64,
    /// Connections refused with 429 because [`limits::MAX_CONNECTIONS`] were open.
    pub connections_refused: AtomicU64,
    /// Connections closed after [`limits::IDLE_TIMEOUT`] without a byte.
    pub connections_idle_closed: AtomicU64,
    /// Sum of request latencies, microseconds.
    pub latency_micros_total: AtomicU64,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database the requests query and ingest into.
    pub store: Arc<Store>,
    /// The bearer token every request must send.
    pub token: Arc<str>,
    /// Counters the guard layer updates and `/v1/metrics` reports.
    pub metrics: Arc<HttpMetrics>,
    /// When the server started, for `uptime_seconds` in `/v1/health`.
    pub started: Instant,
}

impl AppState {
    /// State for a server of `store` that accepts `token`, with zeroed counters.
    pub fn new(store: Arc<Store>, token: String) -> Self {
        Self {
            store,
            token: token.into(),
            metrics: Arc::new(HttpMetrics::default()),
            started: Instant::now(),
        }
    }
}

fn json_response(status: u16, value: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(error: &ApiError) -> Response {
    let mut response = json_response(error.status, &error.to_json());
    if error.status == 401 {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn respond(result: Result<serde_json::Value, ApiError>) -> Response {
    match result {
        Ok(value) => json_response(200, &value),
        Err(error) => error_response(&error),
    }
}

/// Equal in time whatever the first differing byte.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Decrements the in-flight count when a request ends, however it ends
/// (a client that disconnects drops the future).
struct InFlight(Arc<HttpMetrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Outermost layer: the bearer token, the in-flight cap, the counters.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    metrics.requests.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|given| same_token(given, state.token.as_bytes()));
    let response = if !authorized {
        metrics.unauthorized.fetch_add(1, Ordering::Relaxed);
        error_response(&ApiError::new(
            ErrorCode::Unauthorized,
            "missing or wrong bearer token; it is in server.json in the database directory",
        ))
    } else if metrics.in_flight.fetch_add(1, Ordering::Relaxed) >= limits::MAX_IN_FLIGHT_REQUESTS {
        metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        metrics.refused_busy.fetch_add(1, Ordering::Relaxed);
        error_response(&ApiError::new(
            ErrorCode::Busy,
            format!(
                "more than {} requests in flight (limits::MAX_IN_FLIGHT_REQUESTS); retry",
                limits::MAX_IN_FLIGHT_REQUESTS
            ),
        ))
    } else {
        let _in_flight = InFlight(Arc::clone(metrics));
        next.run(request).await
    };
    let counter = match response.status().as_u16() {
        200..=299 => &metrics.status_2xx,
        400..=499 => &metrics.status_4xx,
        _ => &metrics.status_5xx,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    metrics
        .latency_micros_total
        .fetch_add(micros, Ordering::Relaxed);
    response
}

/// Builds the routes with their limit layers.
pub fn router(state: AppState) -> Router {
    let queries = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/metrics", get(metrics))
        .route("/v1/query", post(query_post))
        .route("/v1/ingest", post(ingest))
        .route("/v1/{command}", get(query_get))
        .layer(RequestBodyLimitLayer::new(limits::MAX_QUERY_BODY_BYTES));
    // A diff is larger than any other query: `impact` has a route, and a
    // body limit, of its own.
    let impact = Router::new()
        .route("/v1/impact", get(impact_get).post(impact_post))
        .layer(RequestBodyLimitLayer::new(limits::MAX_IMPACT_BODY_BYTES));
    queries
        .merge(impact)
        .fallback(not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits::REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn not_found() -> Response {
    error_response(&ApiError::new(
        ErrorCode::NoRoute,
        "no such endpoint; see docs/CLI.md (kausal serve)",
    ))
}

async fn health(State(state): State<AppState>) -> Response {
    json_response(
        200,
        &serde_json::json!({
            "status": "ok",
            "pid": std::process::id(),
            "db": state.store.db().display().to_string(),
            "root": state.store.root().display().to_string(),
            "uptime_seconds": state.started.elapsed().as_secs_f64(),
        }),
    )
}

async fn metrics(State(state): State<AppState>) -> Response {
    let http = &state.metrics;
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let store = {
        let store = Arc::clone(&state.store);
        tokio::task::spawn_blocking(move || store.metrics()).await
    };
    let store = match store {
        Ok(store) => serde_json::to_value(store).unwrap_or_default(),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    };
    let requests = load(&http.requests);
    json_response(
        200,
        &serde_json::json!({
            "http": {
                "requests": requests,
                "status_2xx": load(&http.status_2xx),
                "status_4xx": load(&http.status_4xx),
                "status_5xx": load(&http.status_5xx),
                "unauthorized": load(&http.unauthorized),
                "refused_busy": load(&http.refused_busy),
                "in_flight": http.in_flight.load(Ordering::Relaxed),
                "connections_open": http.connections_open.load(Ordering::Relaxed),
                "connections_total": load(&http.connections_total),
                "connections_refused": load(&http.connections_refused),
                "connections_idle_closed": load(&http.connections_idle_closed),
                "mean_latency_micros": load(&http.latency_micros_total).checked_div(requests).unwrap_or(0),
            },
            "store": store,
            "limits": limits_json(),
        }),
    )
}

/// The limits, named as in `limits.rs`.
pub fn limits_json() -> serde_json::Value {
    serde_json::json!({
        "max_query_body_bytes": limits::MAX_QUERY_BODY_BYTES,
        "max_impact_body_bytes": limits::MAX_IMPACT_BODY_BYTES,
        "max_connections": limits::MAX_CONNECTIONS,
        "max_in_flight_requests": limits::MAX_IN_FLIGHT_REQUESTS,
        "request_timeout_seconds": limits::REQUEST_TIMEOUT.as_secs_f64(),
        "header_read_timeout_seconds": limits::HEADER_READ_TIMEOUT.as_secs_f64(),
        "idle_timeout_seconds": limits::IDLE_TIMEOUT.as_secs_f64(),
        "max_tree_depth": limits::MAX_TREE_DEPTH,
        "max_trace_depth": limits::MAX_TRACE_DEPTH,
        "max_results": limits::MAX_RESULTS,
    })
}

/// Parameters whose values are numbers.
const NUMERIC_PARAMS: &[&str] = &["depth", "limit", "budget"];
/// Parameters whose values are `true` / `false`.
const BOOLEAN_PARAMS: &[&str] = &["candidates"];

/// `GET /v1/trace?name=x&depth=3&edges=calls,imports` as a `Query`.
fn query_from_params(command: &str, params: Vec<(String, String)>) -> Result<Query, ApiError> {
    let mut object = serde_json::Map::new();
    object.insert("command".into(), command.into());
    for (key, value) in params {
        if key == "command" || object.contains_key(&key) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("parameter {key:?} is given twice"),
            ));
        }
        let value = if NUMERIC_PARAMS.contains(&key.as_str()) {
            match value.parse::<u64>() {
                Ok(number) => number.into(),
                Err(_) => value.into(),
            }
        } else if BOOLEAN_PARAMS.contains(&key.as_str()) {
            match value.as_str() {
                "true" | "1" => true.into(),
                "false" | "0" => false.into(),
                _ => value.into(),
            }
        } else if key == "edges" {
            value
                .split(',')
                .filter(|edge| !edge.is_empty())
                .map(|edge| serde_json::Value::from(edge.to_string()))
                .collect()
        } else {
            value.into()
        };
        object.insert(key, value);
    }
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|error| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("bad parameters for /v1/{command}: {error}"),
        )
    })
}

async fn query_get(
    State(state): State<AppState>,
    UrlPath(command): UrlPath<String>,
    params: Result<UrlQuery<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    answer_params(&state, &command, params).await
}

async fn answer_params(
    state: &AppState,
    command: &str,
    params: Result<UrlQuery<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let params = match params {
        Ok(UrlQuery(params)) => params,
        Err(rejection) => {
            return error_response(&ApiError::new(ErrorCode::BadRequest, rejection.body_text()));
        }
    };
    match query_from_params(command, params) {
        Ok(query) => respond(run_query(&state.store, query).await),
        Err(error) => error_response(&error),
    }
}

/// `GET /v1/impact?target=...`: as every other command's GET.
async fn impact_get(
    State(state): State<AppState>,
    params: Result<UrlQuery<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    answer_params(&state, "impact", params).await
}

/// `POST /v1/impact`: `impact`'s arguments as JSON, `diff` included (up
/// to `limits::MAX_IMPACT_BODY_BYTES`).
async fn impact_post(
    State(state): State<AppState>,
    args: Result<axum::Json<kausal_service::ImpactArgs>, JsonRejection>,
) -> Response {
    match args {
        Ok(axum::Json(args)) => respond(run_query(&state.store, Query::Impact(args)).await),
        Err(rejection) => error_response(&json_rejection(&rejection)),
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status().as_u16();
    let code = match status {
        413 => ErrorCode::TooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        _ => ErrorCode::BadRequest,
    };
    ApiError::with_status(status, code, rejection.body_text())
}

async fn query_post(
    State(state): State<AppState>,
    query: Result<axum::Json<Query>, JsonRejection>,
) -> Response {
    match query {
        Ok(axum::Json(query)) => respond(run_query(&state.store, query).await),
        Err(rejection) => error_response(&json_rejection(&rejection)),
    }
}

/// `POST /v1/ingest` takes no parameters: it re-ingests the root the
/// server was started for (a client cannot name another directory).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct IngestRequest {}

async fn ingest(State(state): State<AppState>, body: Bytes) -> Response {
    if !body.iter().all(u8::is_ascii_whitespace)
        && let Err(error) = serde_json::from_slice::<IngestRequest>(&body)
    {
        return error_response(&ApiError::new(
            ErrorCode::BadRequest,
            format!("POST /v1/ingest takes no parameters (`{{}}` or nothing): {error}"),
        ));
    }
    respond(run_ingest(&state.store).await)
}

/// A stream that records when a byte last moved, for the idle timeout.
struct IdleStream<S> {
    inner: S,
    started: Instant,
    last_active_ms: Arc<AtomicU64>,
}

impl<S> IdleStream<S> {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active_ms.store(ms, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The answer to a connection over `limits::MAX_CONNECTIONS`.
fn busy_response() -> String {
    let body = ApiError::new(
        ErrorCode::TooManyConnections,
        format!(
            "more than {} connections (limits::MAX_CONNECTIONS); retry",
            limits::MAX_CONNECTIONS
        ),
    )
    .to_json()
    .to_string();
    format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting and waits (at most `limits::SHUTDOWN_GRACE`) for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    metrics: Arc<HttpMetrics>,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(limits::MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        metrics.connections_total.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    stream.write_all(busy_response().as_bytes()),
                )
                .await;
                let _ = stream.shutdown().await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let metrics = Arc::clone(&metrics);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            metrics.connections_open.fetch_add(1, Ordering::Relaxed);
            let last_active_ms = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let stream = IdleStream {
                inner: stream,
                started,
                last_active_ms: Arc::clone(&last_active_ms),
            };
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits::HEADER_READ_TIMEOUT)
                .keep_alive(true);
            let service = TowerToHyperService::new(app);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let mut stopping = false;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    changed = stop.changed(), if !stopping => {
                        stopping = true;
                        if changed.is_ok() {
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                    _ = tick.tick() => {
                        let now = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        let idle = now.saturating_sub(last_active_ms.load(Ordering::Relaxed));
                        if idle > u64::try_from(limits::IDLE_TIMEOUT.as_millis()).unwrap_or(u64::MAX) {
                            metrics.connections_idle_closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
            metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection task holds a permit: having them all back means
    // every connection has finished.
    let all = u32::try_from(limits::MAX_CONNECTIONS).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits::SHUTDOWN_GRACE, connections.acquire_many(all)).await;
}

/// What `kausal serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The database directory to serve.
    pub db: PathBuf,
    /// The repository root that ingests read.
    pub root: PathBuf,
    /// 0: any free port.
    pub port: u16,
    /// Re-ingest when files under the root change (`--watch`).
    pub watch: bool,
    /// `--precise`: run the SCIP indexers once the tree has been quiet
    /// this long after a re-ingest (`None`: never).
    pub precise: Option<super::reindex::PreciseWatch>,
    /// How the server's ingests walk the root (`--no-ignore`, ...).
    pub ingest: kausal_ingest::IngestOptions,
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// What `kausal serve` and `kausal mcp` both start with: a multi-threaded
/// tokio runtime and the store of `db` (no progress output: the terminal
/// belongs to the protocol or the log).
pub(super) fn runtime_and_store(
    db: &std::path::Path,
    root: &std::path::Path,
    options: kausal_ingest::IngestOptions,
) -> Result<(tokio::runtime::Runtime, Arc<Store>), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let vfs: Arc<dyn kausal_vfs::Vfs> = Arc::new(kausal_vfs::OsVfs::new());
    let options = kausal_ingest::IngestOptions {
        progress: false,
        ..options
    };
    let store = Arc::new(Store::open(vfs, db, root, options)?);
    Ok((runtime, store))
}

/// `kausal serve`: runs until SIGINT/SIGTERM, then shuts down gracefully
/// (the store is flushed and its lock released, `server.json` removed).
pub fn run(config: ServeConfig) -> Result<(), ServeError> {
    let (runtime, store) = runtime_and_store(&config.db, &config.root, config.ingest.clone())?;
    let result: Result<(), ServeError> = runtime.block_on(async {
        let address = SocketAddr::from(([127, 0, 0, 1], config.port));
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Net {
                what: "listen on",
                address: address.to_string(),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Net {
            what: "read the address of",
            address: address.to_string(),
            source,
        })?;
        let token = discovery::new_token()?;
        discovery::write(
            &config.db,
            &ServerInfo {
                address: bound.to_string(),
                url: format!("http://{bound}"),
                token: token.clone(),
                pid: std::process::id(),
                db: config.db.display().to_string(),
                root: config.root.display().to_string(),
            },
        )?;
        let _watcher = if config.watch {
            Some(
                super::watch::Watcher::start(Arc::clone(&store), config.precise).map_err(
                    |reason| ServeError::Watch {
                        root: config.root.clone(),
                        reason,
                    },
                )?,
            )
        } else {
            None
        };
        eprintln!(
            "kausal: serving {} on http://{bound}{}{} (token in {})",
            config.db.display(),
            if config.watch { ", watching" } else { "" },
            match config.precise {
                Some(precise) => format!(
                    ", indexing after {} s of quiet",
                    precise.quiet.as_secs_f64()
                ),
                None => String::new(),
            },
            discovery::server_file(&config.db).display()
        );
        let state = AppState::new(Arc::clone(&store), token);
        let metrics = Arc::clone(&state.metrics);
        serve(listener, router(state), metrics, shutdown_signal()).await;
        Ok(())
    });
    discovery::remove(&config.db);
    // Waits for a running ingest, flushes, releases the lock.
    let closed = store.shutdown();
    drop(runtime);
    result?;
    closed?;
    Ok(())
}
