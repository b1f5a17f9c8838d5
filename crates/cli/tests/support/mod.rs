//! Shared by the server tests: a fixture repository, a `kausal serve`
//! child process found through its `server.json`, a raw HTTP/1.1 client
//! over loopback (raw, so the fault tests can misbehave), and
//! [`IngestPause`], which stops the server's ingests at a known point.
//!
//! No test asserts how long something took: tests wait for events (a file,
//! an answer, a counter that only grows), and [`SAFETY`] only bounds how
//! long a broken server can hang a test.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for something that must happen before it
/// declares it never will: generous, so a loaded machine is never mistaken
/// for a broken server.
pub const SAFETY: Duration = Duration::from_secs(60);

/// Polls `done` every few milliseconds until it holds; panics (with
/// `what`) after [`SAFETY`]. For conditions that stay true once true.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SAFETY;
    while !done() {
        assert!(Instant::now() < deadline, "waited {SAFETY:?} for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A small repository: a call chain, a name defined twice, recursion, an
/// import, and a Python module.
pub fn fixture() -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let files = [
        (
            "src/lib.rs",
            "pub mod parse;\npub mod lex;\n\n/// Entry point.\npub fn run(text: &str) -> usize {\n    parse::parse(text)\n}\n",
        ),
        (
            "src/parse.rs",
            "use crate::lex::lex;\n\n/// Parses text.\npub fn parse(text: &str) -> usize {\n    let tokens = lex(text);\n    helper(tokens)\n}\n\nfn helper(n: usize) -> usize {\n    if n > 10 { helper(n - 1) } else { n }\n}\n",
        ),
        (
            "src/lex.rs",
            "/// Splits text.\npub fn lex(text: &str) -> usize {\n    helper(text)\n}\n\nfn helper(text: &str) -> usize {\n    text.len()\n}\n",
        ),
        (
            "tools/report.py",
            "def summarize(rows):\n    return len(rows)\n\n\ndef main():\n    return summarize([])\n",
        ),
    ];
    for (path, text) in files {
        write(repo.path(), path, text);
    }
    repo
}

pub fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(full, text).expect("write");
}

pub fn kausal_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kausal")
}

/// `kausal ARGS` in `dir` (a running server is used if there is one).
pub fn kausal_output(dir: &Path, args: &[&str], no_server: bool) -> std::process::Output {
    let mut command = Command::new(kausal_bin());
    command.current_dir(dir).env_remove("KAUSAL_DB").args(args);
    if no_server {
        command.env("KAUSAL_NO_SERVER", "1");
    } else {
        command.env_remove("KAUSAL_NO_SERVER");
    }
    command.output().expect("run kausal")
}

/// `kausal ARGS` in `dir`; panics unless it exits 0.
pub fn kausal(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = kausal_output(dir, args, false);
    assert!(output.status.success(), "kausal {args:?}: {output:?}");
    output
}

/// What `server.json` says.
#[derive(Debug, Clone)]
pub struct Info {
    pub address: String,
    pub token: String,
    pub pid: u32,
}

pub fn read_info(db: &Path) -> Option<Info> {
    let text = std::fs::read_to_string(db.join("server.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Info {
        address: value["address"].as_str()?.to_string(),
        token: value["token"].as_str()?.to_string(),
        pid: u32::try_from(value["pid"].as_u64()?).ok()?,
    })
}

/// A running `kausal serve`; killed (SIGKILL) when dropped if still alive.
pub struct Server {
    pub child: Child,
    pub info: Info,
    pub db: PathBuf,
    pub root: PathBuf,
}

impl Server {
    /// Starts `kausal serve ARGS` in `root` and waits until it answers
    /// `/v1/health`.
    pub fn start(root: &Path, args: &[&str]) -> Server {
        Self::start_with(root, args, None, &[])
    }

    /// As [`Server::start`], with its ingests paused by `pause`.
    pub fn start_paused(root: &Path, args: &[&str], pause: &IngestPause) -> Server {
        Self::start_with(root, args, Some(pause), &[])
    }

    /// As [`Server::start`], with these environment variables set.
    pub fn start_env(root: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Server {
        Self::start_with(root, args, None, env)
    }

    fn start_with(
        root: &Path,
        args: &[&str],
        pause: Option<&IngestPause>,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Server {
        let db = root.join(".kausal");
        let _ = std::fs::remove_file(db.join("server.json"));
        let mut command = Command::new(kausal_bin());
        command.env_remove(INGEST_PAUSE_ENV);
        if let Some(pause) = pause {
            command.env(INGEST_PAUSE_ENV, &pause.path);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .current_dir(root)
            .env_remove("KAUSAL_DB")
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kausal serve");
        let started = Instant::now();
        let info = loop {
            if let Some(info) = read_info(&db)
                && info.pid == child.id()
            {
                break info;
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > SAFETY {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kausal serve did not come up ({exited:?})");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let server = Server {
            child,
            info,
            db,
            root: root.to_path_buf(),
        };
        while server.get("/v1/health").0 != 200 {
            assert!(started.elapsed() < SAFETY, "kausal serve does not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        request(
            &self.info.address,
            "GET",
            path,
            Some(&self.info.token),
            None,
        )
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        request(
            &self.info.address,
            "POST",
            path,
            Some(&self.info.token),
            Some(body),
        )
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        signal(self.child.id(), "TERM");
        self.wait_exit()
    }

    /// Waits for the exit status.
    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        let mut status = None;
        wait_until("the server to exit", || {
            status = self.child.try_wait().expect("wait");
            status.is_some()
        });
        status.expect("exited")
    }

    /// `/v1/metrics`' `store` figures.
    pub fn store_metrics(&self) -> serde_json::Value {
        let (status, metrics) = self.get("/v1/metrics");
        assert_eq!(status, 200, "{metrics}");
        metrics["store"].clone()
    }

    /// Waits until `n` ingests have succeeded since the server started.
    pub fn wait_ingests_ok(&self, n: u64) {
        wait_until(&format!("{n} successful ingests"), || {
            self.store_metrics()["ingests_ok"].as_u64() >= Some(n)
        });
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Connects with read and write timeouts of [`SAFETY`] (a safety net
/// only: every answer comes long before).
pub fn connect(address: &str) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    stream.set_write_timeout(Some(SAFETY)).expect("timeout");
    stream
}

pub use kausal_cli::server::store::INGEST_PAUSE_ENV;

/// The test side of the server's ingest pause hook
/// ([`INGEST_PAUSE_ENV`]): ingest `n` of a server started with it stops
/// once it has begun, creates `PATH.paused-n`, and goes on when
/// `PATH.resume-n` exists. The files live in a directory of their own, so
/// a watching server never sees them.
pub struct IngestPause {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Default for IngestPause {
    fn default() -> Self {
        Self::new()
    }
}

impl IngestPause {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ingest");
        Self { _dir: dir, path }
    }

    fn marker(&self, what: &str, n: u64) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{what}-{n}"));
        PathBuf::from(name)
    }

    /// Waits until ingest `n` (from 1) is paused.
    pub fn wait_paused(&self, n: u64) {
        let paused = self.marker("paused", n);
        wait_until(&format!("ingest {n} to pause"), || paused.exists());
    }

    /// Lets ingest `n` go on.
    pub fn resume(&self, n: u64) {
        std::fs::write(self.marker("resume", n), b"").expect("resume file");
    }
}

/// One request on a fresh connection; the status and the JSON body
/// (`Null` when the body is not JSON).
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut stream = connect(address);
    let mut text = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    if let Some(token) = token {
        text.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    if let Some(body) = body {
        text.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        text.push_str("\r\n");
    }
    stream.write_all(text.as_bytes()).expect("send");
    read_response(&mut stream)
}

/// Reads a whole `connection: close` response.
pub fn read_response(stream: &mut TcpStream) -> (u16, serde_json::Value) {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// `url`-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Locations (`path:line`) of every object in `value` that has one.
pub fn locations(value: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(location) = map.get("location").and_then(|l| l.as_str()) {
                    found.push(location.to_string());
                }
                map.values().for_each(|child| walk(child, found));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|child| walk(child, found)),
            _ => {}
        }
    }
    walk(value, &mut found);
    found
}

/// A block as `dump` lists it: id, source uri, metadata, content.
pub type BlockRow = (String, String, String, String);

/// Every block and edge of a database, for "equal to a fresh ingest"
/// checks; opens it read-only.
pub fn dump(db: &Path) -> (Vec<BlockRow>, Vec<String>) {
    use std::sync::Arc;
    let database = kausal_storage::Database::open_read_only_with(
        Arc::new(kausal_vfs::OsVfs::new()),
        db,
        kausal_storage::Config::default(),
    )
    .expect("open read-only");
    let engine = database.snapshot();
    let mut blocks = Vec::new();
    let mut edges = Vec::new();
    let mut ids = Vec::new();
    for view in engine.iterate_blocks().expect("iterate") {
        let view = view.expect("block");
        ids.push(view.id);
        // The walk record's walk time is the one field a re-ingest of an
        // unchanged tree rewrites.
        let metadata = match kausal_ingest::WalkRecord::from_block(&view) {
            Some(mut record) => {
                record.walk_started_ns = 0;
                record.to_block().expect("walk record").metadata_json
            }
            None => view.metadata_json.to_string(),
        };
        blocks.push((
            view.id.to_string(),
            view.source_uri.to_string(),
            metadata,
            view.content.to_string(),
        ));
    }
    for id in ids {
        for edge in engine.find_outgoing_edges(id).expect("edges") {
            edges.push(format!(
                "{} {} {}",
                edge.source,
                edge.edge_type.name(),
                edge.target
            ));
        }
        for edge in engine.find_incoming_edges(id).expect("edges") {
            edges.push(format!(
                "{} {} {}",
                edge.source,
                edge.edge_type.name(),
                edge.target
            ));
        }
    }
    blocks.sort();
    edges.sort();
    edges.dedup();
    (blocks, edges)
}

/// Copies the source files (not `.kausal/`) of `from` into a new directory.
pub fn copy_sources(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("tempdir");
    fn copy(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name();
            if name == ".kausal" {
                continue;
            }
            let target = to.join(&name);
            if entry.file_type().expect("type").is_dir() {
                std::fs::create_dir_all(&target).expect("mkdir");
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }
    copy(from, to.path());
    to
}
