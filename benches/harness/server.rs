//! `server` rows: `kausal serve` under load and `kausal mcp` for one
//! client, on a generated repository of 1,000 Rust files x 100 functions
//! (101,000 blocks after ingest; `--quick`: 100 files, 10,100 blocks).
//!
//! HTTP: the server runs in this process (the same `Store`, router and
//! accept loop as `kausal serve`) on 127.0.0.1; 32 client threads, each on
//! one keep-alive connection, alternate `GET /v1/callers` and
//! `GET /v1/trace` (depth 2) on random functions while a writer thread
//! edits files (adding and removing calls) and re-ingests, again and
//! again, for the whole measurement. Every answer must be a 200: errors
//! are counted and reported in the row's note. MCP: the release `kausal
//! mcp` binary as a child process, driven by rmcp's client, `callers` calls
//! one after another (p50).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kausal_cli::server::http::{AppState, router, serve};
use kausal_cli::server::store::Store;

use crate::report::{Row, Target};

/// Concurrent HTTP clients.
const CLIENTS: usize = 32;
/// Functions per generated file.
const FUNCTIONS_PER_FILE: usize = 100;
/// Files the writer edits before each re-ingest.
const FILES_PER_EDIT: usize = 10;

fn function(file: usize, index: usize) -> String {
    format!("f{file}_{index}")
}

/// `src/m{file}.rs`: each function calls the next one in its file and one
/// seven ahead; `extra` adds a call from every function to `f{file}_0`
/// (an edit that changes the file's structure, so resolution runs).
fn source(file: usize, extra: bool) -> String {
    let mut text = String::new();
    for index in 0..FUNCTIONS_PER_FILE {
        let next = function(file, (index + 1) % FUNCTIONS_PER_FILE);
        let skip = function(file, (index + 7) % FUNCTIONS_PER_FILE);
        let more = if extra {
            format!(" {}(x);", function(file, 0))
        } else {
            String::new()
        };
        text.push_str(&format!(
            "pub fn {}(x: usize) -> usize {{\n    if x == 0 {{ return 0; }}{more}\n    {next}(x - 1) + {skip}(x / 2)\n}}\n\n",
            function(file, index)
        ));
    }
    text
}

fn generate(root: &Path, files: usize) {
    std::fs::create_dir_all(root.join("src")).expect("mkdir src");
    let mut lib = String::new();
    for file in 0..files {
        lib.push_str(&format!("pub mod m{file};\n"));
        std::fs::write(root.join(format!("src/m{file}.rs")), source(file, false))
            .expect("write source");
    }
    std::fs::write(root.join("src/lib.rs"), lib).expect("write lib.rs");
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    token: String,
}

impl Connection {
    fn open(address: &str, token: &str) -> Connection {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Connection {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
            token: token.to_string(),
        }
    }

    /// GETs `path`; the status (0 when the exchange failed).
    fn get(&mut self, path: &str, body: &mut Vec<u8>) -> u16 {
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {}\r\n\r\n",
            self.token
        );
        if self.writer.write_all(request.as_bytes()).is_err() {
            return 0;
        }
        let mut line = String::new();
        if self.reader.read_line(&mut line).is_err() {
            return 0;
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).is_err() || line.is_empty() {
                return 0;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        if self.reader.read_exact(body).is_err() {
            return 0;
        }
        status
    }
}

/// The HTTP row and the MCP row.
pub fn rows(quick: bool, work: &Path, progress: &dyn Fn(&str)) -> Vec<Row> {
    let files = if quick { 100 } else { 1000 };
    let load = if quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(12)
    };
    let root = work.join("server-repo");
    let db = root.join(".kausal");
    generate(&root, files);
    let options = kausal_ingest::IngestOptions {
        progress: false,
        ..kausal_ingest::IngestOptions::default()
    };
    let store = Arc::new(
        Store::open(Arc::new(kausal_vfs::OsVfs::new()), &db, &root, options).expect("open store"),
    );
    let started = Instant::now();
    let summary = store.ingest().expect("cold ingest");
    let blocks: u64 = summary.blocks_by_kind.values().sum();
    progress(&format!(
        "server: {files} files, {blocks} blocks ingested in {:.1}s",
        started.elapsed().as_secs_f64()
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let token = "b".repeat(64);
    let state = AppState::new(Arc::clone(&store), token.clone());
    let metrics = Arc::clone(&state.metrics);
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(serve(listener, router(state), metrics, async {
        let _ = stopped.await;
    }));

    // The same load without ingests: what the server itself costs.
    let (quiet, quiet_errors, quiet_seconds) = load_phase(&address, &token, files, load / 2);

    // The writer: edit files and re-ingest until the load ends.
    let stop = Arc::new(AtomicBool::new(false));
    let ingests = Arc::new(AtomicU64::new(0));
    let ingest_micros = Arc::new(Mutex::new(Vec::<u64>::new()));
    let writer = {
        let (stop, ingests, ingest_micros) = (
            Arc::clone(&stop),
            Arc::clone(&ingests),
            Arc::clone(&ingest_micros),
        );
        let (store, root) = (Arc::clone(&store), root.clone());
        std::thread::spawn(move || {
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                for offset in 0..FILES_PER_EDIT {
                    let file = (round * FILES_PER_EDIT + offset) % files;
                    let extra = (round / (files / FILES_PER_EDIT).max(1)).is_multiple_of(2);
                    std::fs::write(root.join(format!("src/m{file}.rs")), source(file, extra))
                        .expect("edit");
                }
                let began = Instant::now();
                store.ingest().expect("re-ingest");
                let micros = began.elapsed().as_micros() as u64;
                if let Ok(mut all) = ingest_micros.lock() {
                    all.push(micros);
                }
                ingests.fetch_add(1, Ordering::Relaxed);
                round += 1;
            }
        })
    };

    let (histogram, errors, seconds) = load_phase(&address, &token, files, load);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    let _ = stop_server.send(());
    let _ = runtime.block_on(served);
    drop(runtime);
    store.shutdown().expect("shutdown");
    drop(store);

    let ingests = ingests.load(Ordering::Relaxed);
    let mut ingest_times = ingest_micros
        .lock()
        .map(|all| all.clone())
        .unwrap_or_default();
    ingest_times.sort_unstable();
    let median_ingest_ms = ingest_times
        .get(ingest_times.len() / 2)
        .map_or(0.0, |micros| *micros as f64 / 1000.0);
    let ops = histogram.len();
    let label = if quick { "10k" } else { "100k" };
    progress(&format!(
        "server: {ops} HTTP requests in {seconds:.1}s ({:.0}/s), {errors} errors, {ingests} re-ingests (median {median_ingest_ms:.0} ms)",
        ops as f64 / seconds
    ));
    let mut rows = vec![
        Row::from_histogram(
            &format!("server HTTP callers/trace, {CLIENTS} clients, {label} blocks, no ingest"),
            quiet.len(),
            quiet_seconds,
            &quiet,
            (0, 0),
        )
        .note(format!(
            "{quiet_errors} errors; the server's own cost (auth, limits, routing, query, JSON) with every client on a keep-alive loopback connection"
        ))
        .target(Target::P99AtMostNs(2_000_000.0)),
        Row::from_histogram(
            &format!("server HTTP callers/trace, {CLIENTS} clients, {label} blocks, during re-ingests"),
            ops,
            seconds,
            &histogram,
            (0, 0),
        )
        .note(format!(
                "{errors} errors; {ingests} re-ingests of {FILES_PER_EDIT} edited files (median {median_ingest_ms:.0} ms) overlapped the load; loopback keep-alive connections; queries answer from snapshots and never wait for an ingest"
        ))
        .target(Target::P99AtMostNs(2_000_000.0)),
    ];
    match mcp_row(quick, &root, &db, files) {
        Ok(row) => rows.push(row),
        Err(reason) => progress(&format!("server: no MCP row: {reason}")),
    }
    rows
}

/// `callers` through `kausal mcp` (release binary, stdio), one client.
fn mcp_row(quick: bool, root: &Path, db: &Path, files: usize) -> Result<Row, String> {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = exe
        .parent()
        .map(|dir| dir.join("kausal"))
        .filter(|path| path.is_file())
        .ok_or("no release `kausal` binary beside the harness")?;
    let calls = if quick { 300 } else { 2000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let transport = TokioChildProcess::new(tokio::process::Command::new(&binary).configure(
            |command| {
                command
                    .arg("--db")
                    .arg(db)
                    .arg("mcp")
                    .arg("--root")
                    .arg(root);
            },
        ))
        .map_err(|e| e.to_string())?;
        let client = ().serve(transport).await.map_err(|e| e.to_string())?;
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
        let mut rng = fastrand::Rng::with_seed(99);
        let mut errors = 0;
        let began = Instant::now();
        for _ in 0..calls {
            let name = function(rng.usize(0..files), rng.usize(0..FUNCTIONS_PER_FILE));
            let mut arguments = serde_json::Map::new();
            arguments.insert("name".into(), name.into());
            let asked = Instant::now();
            let result = client
                .call_tool(CallToolRequestParams::new("callers").with_arguments(arguments))
                .await;
            histogram.saturating_record((asked.elapsed().as_nanos() as u64).max(1));
            if !matches!(result, Ok(ref answer) if answer.is_error != Some(true)) {
                errors += 1;
            }
        }
        let seconds = began.elapsed().as_secs_f64();
        let _ = client.cancel().await;
        let label = if quick { "10k" } else { "100k" };
        Ok(Row::from_histogram(
            &format!("server MCP callers, 1 client over stdio, {label} blocks"),
            calls as u64,
            seconds,
            &histogram,
            (0, 0),
        )
        .note(format!(
            "{errors} errors; rmcp client -> `kausal mcp` child process (release), JSON-RPC over pipes, structured result with locations"
        )))
    })
}

/// `CLIENTS` threads, each on one keep-alive connection, alternating
/// `callers` and `trace` on random functions for `duration`; the merged
/// latencies, the count of non-200 answers, and the seconds taken.
fn load_phase(
    address: &str,
    token: &str,
    files: usize,
    duration: Duration,
) -> (Histogram<u64>, u64, f64) {
    let load = duration;
    let errors = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (address, token, errors) =
                (address.to_string(), token.to_string(), Arc::clone(&errors));
            std::thread::spawn(move || {
                let mut histogram =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
                let mut rng = fastrand::Rng::with_seed(client as u64 + 1);
                let mut connection = Connection::open(&address, &token);
                let mut body = Vec::new();
                let began = Instant::now();
                let mut n = 0usize;
                while began.elapsed() < load {
                    let name = function(rng.usize(0..files), rng.usize(0..FUNCTIONS_PER_FILE));
                    let path = if n.is_multiple_of(2) {
                        format!("/v1/callers?name={name}")
                    } else {
                        format!("/v1/trace?name={name}&depth=2&edges=calls&limit=100")
                    };
                    let asked = Instant::now();
                    let status = connection.get(&path, &mut body);
                    histogram.saturating_record((asked.elapsed().as_nanos() as u64).max(1));
                    if status != 200 {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if status == 0 {
                            connection = Connection::open(&address, &token);
                        }
                    }
                    n += 1;
                }
                histogram
            })
        })
        .collect();
    let load_started = Instant::now();
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds");
    for client in clients {
        let part = client.join().expect("client");
        histogram.add(&part).expect("merge histograms");
    }
    let seconds = load_started.elapsed().as_secs_f64();
    (histogram, errors.load(Ordering::Relaxed), seconds)
}
