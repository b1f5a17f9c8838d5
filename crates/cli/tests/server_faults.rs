//! server_faults: `kausal serve` under bad clients, overload and crashes
//! (a full disk is in `server_disk_full.rs`). Loopback only; every test is
//! bounded in count and time.
//!
//! Malformed JSON and wrong types; oversized bodies; a slow client sending
//! one byte a second (headers: cut off; body: 408); clients that disconnect mid-request and
//! mid-response; more connections than the limit; missing and wrong
//! tokens; path traversal in every parameter that names a file; 10,000-deep
//! traces; a query storm during ingests (every answer from one snapshot);
//! SIGKILL during a watch-triggered ingest, then a restart whose graph
//! equals a fresh ingest.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kausal_cli::server::limits;
use support::{
    IngestPause, SAFETY, Server, connect, dump, encode, fixture, kausal, parse_response, request,
    wait_until, write,
};

fn started() -> (tempfile::TempDir, Server) {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    (repo, server)
}

fn healthy(server: &Server) {
    let (status, body) = server.get("/v1/callers?name=lex");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["children"][0]["location"], "src/parse.rs:4");
}

/// Reads until the server closes the connection (end of stream, or a reset
/// when it closed with bytes of ours unread); panics if it stays open
/// longer than the slowest server timeout plus [`SAFETY`].
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(limits::IDLE_TIMEOUT + SAFETY))
        .expect("timeout");
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server did not close the connection: {error}"),
    }
    bytes
}

/// Sends raw bytes on a fresh connection and reads the response.
fn raw(address: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let mut stream = connect(address);
    let _ = stream.write_all(bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    parse_response(&response)
}

#[test]
fn malformed_json_and_wrong_types_are_client_errors() {
    let (_repo, server) = started();
    let cases: &[(&str, u16)] = &[
        (r#"{"command":"#, 400),
        ("not json at all", 400),
        (r#"{"command":"callers","name":5}"#, 422),
        (r#"{"command":"callers","name":"lex","depth":"deep"}"#, 422),
        (r#"{"command":"callers","name":"lex","depth":-1}"#, 422),
        (r#"{"command":"explode"}"#, 422),
        (r#"{"command":"callers","name":"lex","extra":1}"#, 422),
        (r#"[1,2,3]"#, 422),
    ];
    for (body, status) in cases {
        let (got, answer) = server.post("/v1/query", body);
        assert_eq!(got, *status, "{body}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{body}: {answer}");
    }
    for path in [
        "/v1/callers?name=lex&depth=deep",
        "/v1/callers?name=lex&depth=-1",
        "/v1/callers?name=lex&depth=99999999999999999999",
        "/v1/callers?name=lex&name=parse",
        "/v1/callers",
        "/v1/explode?name=lex",
        "/v1/trace?name=run&direction=sideways",
        "/v1/trace?name=run&edges=calls,telepathy",
    ] {
        let (status, answer) = server.get(path);
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{path}: {answer}");
    }
    // Without a JSON content type.
    let (status, _) = raw(
        &server.info.address,
        format!(
            "POST /v1/query HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}",
            server.info.token
        )
        .as_bytes(),
    );
    assert_eq!(status, 415);
    // Not HTTP at all.
    let (status, _) = raw(&server.info.address, b"\x16\x03\x01\x02\x00garbage\r\n\r\n");
    assert!(status == 400 || status == 0, "{status}");
    healthy(&server);
}

#[test]
fn oversized_bodies_are_refused_without_reading_them() {
    let (_repo, server) = started();
    let too_big = limits::MAX_QUERY_BODY_BYTES + 1;
    // Declared too big: refused at once, the body is never sent.
    let (status, answer) = raw(
        &server.info.address,
        format!(
            "POST /v1/query HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            server.info.token,
            1 << 30
        )
        .as_bytes(),
    );
    assert_eq!(status, 413, "{answer}");
    // Chunked, growing past the limit: cut off at the limit.
    let mut stream = connect(&server.info.address);
    let head = format!(
        "POST /v1/query HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        server.info.token
    );
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![b' '; 16 * 1024];
    let mut sent = 0;
    while sent <= too_big + chunk.len() {
        let frame = format!("{:x}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let (status, answer) = parse_response(&response);
    assert_eq!(status, 413, "{answer}");
    healthy(&server);
}

#[test]
fn a_slow_client_is_cut_off_while_others_are_served() {
    let (_repo, server) = started();
    // Before the connection exists, so before the server's timer starts.
    let opened = Instant::now();
    let mut slow = connect(&server.info.address);
    let mut reader = slow.try_clone().expect("clone");
    let stop = Arc::new(AtomicBool::new(false));
    let writer_stop = Arc::clone(&stop);
    let writer = std::thread::spawn(move || {
        let request = b"GET /v1/health HTTP/1.1\r\nhost: localhost\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        for byte in request {
            if writer_stop.load(Ordering::Relaxed) || slow.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // Others are served normally meanwhile.
    for _ in 0..5 {
        healthy(&server);
    }
    // The slow connection is closed by the server (it never sends the
    // whole request), and not before the header read timeout.
    let rest = read_until_closed(&mut reader);
    let closed_after = opened.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    assert!(
        closed_after >= limits::HEADER_READ_TIMEOUT,
        "closed after {closed_after:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(!text.contains("\"status\":\"ok\""), "{text}");
    healthy(&server);
}

#[test]
fn a_body_sent_one_byte_a_second_times_out_with_408() {
    let (_repo, server) = started();
    // Before the request exists, so before the server's timer starts.
    let sent = Instant::now();
    let mut slow = connect(&server.info.address);
    let mut reader = slow.try_clone().expect("clone");
    let head = format!(
        "POST /v1/query HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n",
        server.info.token
    );
    slow.write_all(head.as_bytes()).expect("headers");
    let stop = Arc::new(AtomicBool::new(false));
    let writer_stop = Arc::clone(&stop);
    let writer = std::thread::spawn(move || {
        for _ in 0..100 {
            if writer_stop.load(Ordering::Relaxed) || slow.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let response = read_until_closed(&mut reader);
    let waited = sent.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let (status, _) = parse_response(&response);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&response));
    assert!(
        waited >= limits::REQUEST_TIMEOUT,
        "answered after {waited:?}"
    );
    healthy(&server);
}

#[test]
fn clients_that_disconnect_mid_request_and_mid_response() {
    let repo = fixture();
    // Enough blocks that `find` answers with hundreds of kilobytes.
    let mut big = String::new();
    for index in 0..1500 {
        big.push_str(&format!("pub fn many_{index}() -> usize {{ {index} }}\n"));
    }
    write(repo.path(), "src/many.rs", &big);
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    let token = &server.info.token;
    for _ in 0..20 {
        // Mid-request: a body promised and cut short.
        let mut stream = connect(&server.info.address);
        let _ = stream.write_all(
            format!(
                "POST /v1/query HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"command\""
            )
            .as_bytes(),
        );
        drop(stream);
        // Mid-headers.
        let mut stream = connect(&server.info.address);
        let _ = stream.write_all(b"GET /v1/stats HTTP/1.1\r\nhost: x\r\nauthori");
        drop(stream);
        // Mid-response: read a little of a large answer, then hang up.
        let mut stream = connect(&server.info.address);
        let _ = stream.write_all(
            format!(
                "GET /v1/find?name=many_&limit=10000 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n"
            )
            .as_bytes(),
        );
        let mut some = [0u8; 256];
        let _ = stream.read(&mut some);
        drop(stream);
    }
    // Whole answers still come, and nothing is left in flight.
    let (status, find) = server.get("/v1/find?name=many_&limit=10000");
    assert_eq!(status, 200);
    // A prefix search stops at names::MAX_PREFIX_MATCHES.
    assert_eq!(
        find["results"].as_array().map(Vec::len),
        Some(kausal_service::names::MAX_PREFIX_MATCHES)
    );
    // The metrics request itself is in flight.
    wait_until("abandoned requests to end", || {
        server.get("/v1/metrics").1["http"]["in_flight"] == 1
    });
    healthy(&server);
}

#[test]
fn more_connections_than_the_limit_are_refused_with_429() {
    let (_repo, server) = started();
    // The server accepts connections in the order they were made and
    // counts each against the limit as it accepts it, so a request made
    // after MAX_CONNECTIONS held ones finds them all counted. (A held
    // connection that sends nothing is closed after HEADER_READ_TIMEOUT; on
    // a machine so slow that this happened before the request, the whole
    // set is made again.)
    let deadline = Instant::now() + SAFETY;
    let answer = loop {
        let held: Vec<TcpStream> = (0..limits::MAX_CONNECTIONS)
            .map(|_| connect(&server.info.address))
            .collect();
        let (status, answer) = request(
            &server.info.address,
            "GET",
            "/v1/health",
            Some(&server.info.token),
            None,
        );
        drop(held);
        if status == 429 {
            break answer;
        }
        assert_eq!(status, 200, "{answer}");
        assert!(Instant::now() < deadline, "never refused: {answer}");
    };
    assert_eq!(answer["error"]["code"], "too_many_connections");
    wait_until("the server to recover", || {
        server.get("/v1/health").0 == 200
    });
    let (_, metrics) = server.get("/v1/metrics");
    assert!(metrics["http"]["connections_refused"].as_u64() >= Some(1));
    healthy(&server);
}

#[test]
fn requests_without_or_with_a_wrong_token_get_401() {
    let (_repo, server) = started();
    let address = &server.info.address;
    let token = &server.info.token;
    for header in [
        String::new(),
        "authorization: Bearer\r\n".to_string(),
        "authorization: Bearer \r\n".to_string(),
        format!("authorization: Basic {token}\r\n"),
        format!("authorization: bearer{token}\r\n"),
        format!("authorization: Bearer {token}x\r\n"),
        format!("authorization: Bearer {}\r\n", token.to_uppercase()),
    ] {
        for path in ["/v1/health", "/v1/stats", "/v1/metrics", "/nowhere"] {
            let (status, answer) = raw(
                address,
                format!("GET {path} HTTP/1.1\r\nhost: x\r\n{header}connection: close\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(status, 401, "{path} {header:?}: {answer}");
            assert_eq!(answer["error"]["code"], "unauthorized");
        }
        let (status, _) = raw(
            address,
            format!("POST /v1/ingest HTTP/1.1\r\nhost: x\r\n{header}content-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 401);
    }
    // The token in the query string is not a token.
    let (status, _) = request(
        address,
        "GET",
        &format!("/v1/stats?token={token}"),
        None,
        None,
    );
    assert_eq!(status, 401);
    let (_, metrics) = server.get("/v1/metrics");
    assert!(metrics["http"]["unauthorized"].as_u64() >= Some(36));
}

#[test]
fn path_traversal_in_file_parameters_reads_nothing() {
    let (repo, server) = started();
    let secret_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        secret_dir.path().join("secret.rs"),
        "pub fn stolen_secret() {}\n",
    )
    .expect("write");
    let secret = secret_dir.path().join("secret.rs");
    let relative = format!(
        "{}{}",
        "../".repeat(repo.path().components().count()),
        secret.display()
    );
    let attempts = [
        relative.clone(),
        secret.display().to_string(),
        "../../../../../../etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "src/../../../../etc/passwd".to_string(),
        "..".to_string(),
        "~/.ssh/id_rsa".to_string(),
        "src/lex.rs\0/etc/passwd".to_string(),
    ];
    for attempt in &attempts {
        let value = encode(attempt);
        for path in [
            format!("/v1/deps?target={value}"),
            format!("/v1/show?name={value}"),
            format!("/v1/find?name={value}"),
            format!("/v1/find?name=lex&path={value}"),
            format!("/v1/callers?name={value}"),
            format!("/v1/trace?name={value}"),
            format!("/v1/path?from={value}&to=lex"),
        ] {
            let (status, answer) = server.get(&path);
            let text = answer.to_string();
            assert!(status == 404 || status == 400, "{path}: {status} {answer}");
            assert!(!text.contains("root:x:0:0"), "{path}: {text}");
            assert!(!text.contains("stolen_secret"), "{path}: {text}");
        }
    }
    // Ingest cannot be pointed elsewhere.
    for body in [
        format!(r#"{{"root":"{}"}}"#, secret_dir.path().display()),
        r#"{"root":"/etc"}"#.to_string(),
        r#"{"paths":["../../etc/passwd"]}"#.to_string(),
    ] {
        let (status, answer) = server.post("/v1/ingest", &body);
        assert_eq!(status, 400, "{body}: {answer}");
    }
    // URL-level traversal reaches no route.
    for path in [
        "/v1/../../etc/passwd",
        "/v1/%2e%2e/%2e%2e/etc/passwd",
        "/../etc/passwd",
    ] {
        let (status, answer) = server.get(path);
        assert!(status == 404 || status == 400, "{path}: {status} {answer}");
    }
    let (status, find) = server.get("/v1/find?name=stolen_secret");
    assert_eq!(status, 404, "{find}");
    // The legitimate form still works.
    let (status, deps) = server.get("/v1/deps?target=src%2Fparse.rs");
    assert_eq!(status, 200, "{deps}");
}

#[test]
fn ten_thousand_deep_traces_are_refused_and_the_cap_is_served() {
    let repo = tempfile::tempdir().expect("tempdir");
    // A call chain of 1,200 functions.
    let length = 1200;
    let mut text = String::new();
    for index in 0..length {
        if index + 1 < length {
            text.push_str(&format!(
                "pub fn link_{index}() {{ link_{}(); }}\n",
                index + 1
            ));
        } else {
            text.push_str(&format!("pub fn link_{index}() {{}}\n"));
        }
    }
    write(repo.path(), "src/chain.rs", &text);
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    for path in [
        "/v1/trace?name=link_0&depth=10000",
        "/v1/trace?name=link_0&depth=4294967295",
        "/v1/callers?name=link_1199&depth=10000",
        "/v1/callees?name=link_0&depth=10000",
        "/v1/trace?name=link_0&depth=3&limit=100000000",
    ] {
        let (status, answer) = server.get(path);
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "limit", "{path}: {answer}");
    }
    let (status, answer) = server.post(
        "/v1/query",
        r#"{"command":"trace","name":"link_0","depth":10000}"#,
    );
    assert_eq!(status, 400, "{answer}");
    // The deepest allowed trace is answered (within the server's own
    // REQUEST_TIMEOUT, else it would be a 408).
    let (status, answer) = server.get(&format!(
        "/v1/trace?name=link_0&depth={}&edges=calls&limit=2000",
        limits::MAX_TRACE_DEPTH
    ));
    assert_eq!(status, 200, "{answer}");
    let reached = answer["reached"].as_array().expect("reached");
    assert_eq!(reached.len(), limits::MAX_TRACE_DEPTH as usize + 1);
    assert_eq!(
        reached.last().expect("last")["depth"],
        limits::MAX_TRACE_DEPTH
    );
    let (status, answer) = server.get("/v1/callers?name=link_1199&depth=32");
    assert_eq!(status, 200, "{answer}");
}

/// `src/gen.rs` with `count` callers of `target`.
fn generation(count: usize) -> String {
    let mut text = String::from("pub fn target() {}\n");
    for index in 0..count {
        text.push_str(&format!("pub fn caller_{index}() {{ target(); }}\n"));
    }
    text
}

/// The callers of `target` one answer counts: `/v1/callers` for even
/// clients, `/v1/trace` (whose `reached` holds the start block too) for
/// odd ones.
fn count_callers(address: &str, token: &str, client: usize) -> usize {
    let path = if client.is_multiple_of(2) {
        "/v1/callers?name=target"
    } else {
        "/v1/trace?name=target&direction=in&edges=calls&depth=1"
    };
    let (status, answer) = request(address, "GET", path, Some(token), None);
    assert_eq!(status, 200, "{answer}");
    if client.is_multiple_of(2) {
        answer["children"].as_array().map_or(0, Vec::len)
    } else {
        answer["reached"].as_array().map_or(0, Vec::len) - 1
    }
}

#[test]
fn a_query_storm_during_ingests_sees_one_snapshot_each() {
    const CLIENTS: usize = 4;
    let repo = fixture();
    write(repo.path(), "src/gen.rs", &generation(50));
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    let stop = Arc::new(AtomicBool::new(false));
    // What each client saw last, for the main thread to wait on.
    let last: Arc<Vec<AtomicUsize>> = Arc::new((0..CLIENTS).map(|_| AtomicUsize::new(0)).collect());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client: usize| {
            let (stop, last) = (Arc::clone(&stop), Arc::clone(&last));
            let address = server.info.address.clone();
            let token = server.info.token.clone();
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeMap::<usize, usize>::new();
                while !stop.load(Ordering::Relaxed) {
                    let count = count_callers(&address, &token, client);
                    // The invariant: every answer is one whole graph state.
                    assert!(
                        count == 50 || count == 100,
                        "{count} callers: not one snapshot"
                    );
                    *seen.entry(count).or_default() += 1;
                    last[client].store(count, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();
    // Ingests alternate the two states while the clients query. After
    // each, a query sees exactly the new state (read after write), and the
    // next ingest waits until every client has seen it too: whatever the
    // timing, every client sees every state, with ingests in between.
    for round in 0usize..6 {
        let count = if round.is_multiple_of(2) { 100 } else { 50 };
        write(repo.path(), "src/gen.rs", &generation(count));
        let (status, answer) = server.post("/v1/ingest", "{}");
        assert_eq!(status, 200, "{answer}");
        for client in 0..2 {
            assert_eq!(
                count_callers(&server.info.address, &server.info.token, client),
                count,
                "after ingest {round}"
            );
        }
        wait_until(&format!("every client to see {count} callers"), || {
            // A client that failed its assertion has stopped: report it.
            clients.iter().any(std::thread::JoinHandle::is_finished)
                || last
                    .iter()
                    .all(|seen| seen.load(Ordering::Relaxed) == count)
        });
        if clients.iter().any(std::thread::JoinHandle::is_finished) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let seen = client.join().expect("client");
        assert!(
            seen.contains_key(&50) && seen.contains_key(&100),
            "a client saw only {seen:?}"
        );
    }
}

/// Sources of a repository big enough that an ingest takes a while: `files`
/// modules whose functions call into the next module; `tag` renames them.
fn big_repo(root: &Path, files: usize, tag: &str) {
    for file in 0..files {
        let next = (file + 1) % files;
        let mut text = format!("use crate::m{next};\n");
        for index in 0..20 {
            text.push_str(&format!(
                "pub fn f_{tag}_{index}(x: usize) -> usize {{\n    if x > {index} {{ m{next}::f_{tag}_{index}(x - 1) }} else {{ x }}\n}}\n"
            ));
        }
        write(root, &format!("src/m{file}.rs"), &text);
    }
}

#[test]
fn sigkill_during_a_watch_ingest_then_restart_equals_a_fresh_ingest() {
    let repo = tempfile::tempdir().expect("tempdir");
    big_repo(repo.path(), 150, "a");
    let pause = IngestPause::new();
    let server = Server::start_paused(repo.path(), &["--watch"], &pause);
    // The first ingest runs at start.
    pause.wait_paused(1);
    pause.resume(1);
    server.wait_ingests_ok(1);
    assert_eq!(server.get("/v1/find?name=f_a_3").0, 200);
    // Change every file; kill the server while the watch ingest that
    // follows runs (it is held where it begins, so the kill cannot miss).
    big_repo(repo.path(), 150, "b");
    pause.wait_paused(2);
    let store = server.store_metrics();
    assert_eq!(store["ingesting"], true, "{store}");
    assert_eq!(store["ingests_ok"], 1, "{store}");
    server.kill();
    // Restarted, it catches up (the first watch ingest runs at start).
    let server = Server::start(repo.path(), &["--watch"]);
    server.wait_ingests_ok(1);
    assert_eq!(server.get("/v1/find?name=f_b_3").0, 200);
    assert_eq!(server.get("/v1/find?name=f_a_3").0, 404);
    let db = server.db.clone();
    assert!(server.terminate().success());
    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_db = fresh.path().join("db");
    kausal(
        repo.path(),
        &["--db", fresh_db.to_str().expect("utf-8"), "ingest", "."],
    );
    let (blocks, edges) = dump(&db);
    let (fresh_blocks, fresh_edges) = dump(&fresh_db);
    assert_eq!(blocks.len(), fresh_blocks.len());
    assert!(blocks == fresh_blocks, "blocks differ from a fresh ingest");
    assert_eq!(edges.len(), fresh_edges.len());
    assert!(edges == fresh_edges, "edges differ from a fresh ingest");
}
