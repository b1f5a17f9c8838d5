//! `kausal serve` end to end over loopback: every query endpoint answers
//! like the CLI (with `location` on every block), the bearer token and
//! `server.json`, `POST /v1/ingest`, `--watch`, the CLI using a running
//! server, and a graceful SIGTERM shutdown that lets an in-flight ingest
//! finish, flushes it and releases the lock.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{
    IngestPause, Server, encode, fixture, kausal, kausal_output, locations, request, wait_until,
    write,
};

#[test]
fn every_query_endpoint_answers_with_locations() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);

    let (status, find) = server.get("/v1/find?name=lex");
    assert_eq!(status, 200, "{find}");
    assert_eq!(find["command"], "find");
    assert!(
        locations(&find).contains(&"src/lex.rs:2".to_string()),
        "{find}"
    );

    let (status, show) = server.get("/v1/show?name=parse");
    assert_eq!(status, 200, "{show}");
    assert!(
        show["content"]
            .as_str()
            .unwrap_or_default()
            .contains("lex(text)")
    );
    assert_eq!(show["location"], "src/parse.rs:4");

    let (status, callers) = server.get("/v1/callers?name=lex");
    assert_eq!(status, 200, "{callers}");
    assert_eq!(
        callers["children"][0]["qualified_name"],
        "crate::parse::parse"
    );
    assert_eq!(callers["children"][0]["location"], "src/parse.rs:4");

    let (status, callees) = server.get("/v1/callees?name=run&depth=2");
    assert_eq!(status, 200, "{callees}");
    assert_eq!(callees["children"][0]["name"], "parse");
    assert!(
        !callees["children"][0]["children"]
            .as_array()
            .expect("nested")
            .is_empty()
    );

    let (status, trace) = server.get("/v1/trace?name=run&depth=3&edges=calls");
    assert_eq!(status, 200, "{trace}");
    let reached: Vec<&str> = trace["reached"]
        .as_array()
        .expect("reached")
        .iter()
        .filter_map(|step| step["name"].as_str())
        .collect();
    assert!(reached.contains(&"lex"), "{trace}");

    let (status, path) = server.get("/v1/path?from=run&to=lex");
    assert_eq!(status, 200, "{path}");
    assert_eq!(path["steps"].as_array().expect("steps").len(), 3, "{path}");

    let (status, cycles) = server.get("/v1/cycles");
    assert_eq!(status, 200, "{cycles}");
    assert_eq!(cycles["cycles"][0][0]["location"], "src/parse.rs:9");

    let (status, deps) = server.get(&format!("/v1/deps?target={}", encode("src/parse.rs")));
    assert_eq!(status, 200, "{deps}");
    assert_eq!(deps["target"]["path"], "src/parse.rs");

    let (status, stats) = server.get("/v1/stats");
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["blocks_by_kind"]["file"], 4);

    // The JSON query the CLI sends gives the same answer as the GET.
    let (status, posted) = server.post("/v1/query", r#"{"command":"callers","name":"lex"}"#);
    assert_eq!(status, 200);
    assert_eq!(posted, callers);

    // Errors are JSON with the CLI's codes.
    let (status, missing) = server.get("/v1/callers?name=nosuchthing");
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "not_found");
    let (status, ambiguous) = server.get("/v1/show?name=helper");
    assert_eq!(status, 409);
    assert_eq!(ambiguous["error"]["code"], "ambiguous");
    assert_eq!(
        ambiguous["error"]["details"]["candidates"]
            .as_array()
            .expect("candidates")
            .len(),
        2
    );

    let (status, health) = server.get("/v1/health");
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    let (status, metrics) = server.get("/v1/metrics");
    assert_eq!(status, 200);
    assert!(metrics["http"]["requests"].as_u64().expect("requests") >= 14);
    assert_eq!(metrics["limits"]["max_connections"], 128);
    assert!(metrics["store"]["tables"].is_u64());
}

#[test]
fn the_token_is_required_and_private() {
    use std::os::unix::fs::PermissionsExt;
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    let mode = std::fs::metadata(server.db.join("server.json"))
        .expect("server.json")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(server.info.token.len(), 64);
    for token in [None, Some("wrong"), Some(&server.info.token[..63])] {
        let (status, body) = request(&server.info.address, "GET", "/v1/stats", token, None);
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_eq!(server.get("/v1/stats").0, 200);
}

#[test]
fn ingest_and_sigterm_shut_down_cleanly() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let server = Server::start(repo.path(), &[]);
    write(
        repo.path(),
        "src/extra.rs",
        "pub fn brand_new() -> usize {\n    crate::lex::lex(\"x\")\n}\n",
    );
    assert_eq!(server.get("/v1/find?name=brand_new").0, 404);
    let (status, ingest) = server.post("/v1/ingest", "");
    assert_eq!(status, 200, "{ingest}");
    assert_eq!(ingest["files_parsed"], 1);
    let (status, find) = server.get("/v1/find?name=brand_new");
    assert_eq!(status, 200, "{find}");
    assert_eq!(find["results"][0]["location"], "src/extra.rs:1");

    let db = server.db.clone();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(!db.join("server.json").exists());
    // The lock is released and the ingest was flushed: a read-only CLI
    // query sees it.
    let output = kausal(repo.path(), &["find", "brand_new", "--json"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("src/extra.rs"));
}

#[test]
fn watch_reflects_every_edit() {
    let repo = fixture();
    let server = Server::start(repo.path(), &["--watch"]);
    // The first ingest runs at start.
    server.wait_ingests_ok(1);
    let mut worst = Duration::ZERO;
    for round in 0..3 {
        let name = format!("edited_{round}");
        write(
            repo.path(),
            "src/lex.rs",
            &format!(
                "/// Splits text.\npub fn lex(text: &str) -> usize {{\n    helper(text)\n}}\n\nfn helper(text: &str) -> usize {{\n    text.len()\n}}\n\npub fn {name}() {{}}\n"
            ),
        );
        let written = Instant::now();
        wait_until(&format!("edit {round} to show"), || {
            server.get(&format!("/v1/find?name={name}")).0 == 200
        });
        worst = worst.max(written.elapsed());
    }
    // How fast is the benchmark's business, not an assertion's.
    eprintln!("watch: an edit showed in at most {worst:?}");
    // The ingest that showed the last name read the file without the
    // earlier ones.
    assert_eq!(server.get("/v1/find?name=edited_0").0, 404);
    assert_eq!(server.get("/v1/find?name=edited_1").0, 404);
}

#[test]
fn the_cli_uses_a_running_server_and_answers_the_same() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let queries: &[&[&str]] = &[
        &["callers", "lex", "--json"],
        &["callees", "run", "--depth", "2", "--json"],
        &["find", "helper", "--json"],
        &["trace", "run", "--json"],
        &["path", "run", "lex", "--json"],
        &["cycles", "--json"],
        &["deps", "src/parse.rs", "--json"],
        &["show", "parse", "--json"],
        &["callers", "run"],
    ];
    let direct: Vec<std::process::Output> = queries
        .iter()
        .map(|args| kausal_output(repo.path(), args, true))
        .collect();
    let server = Server::start(repo.path(), &[]);
    // The server holds the writer lock: a direct open is refused...
    let locked = kausal_output(repo.path(), &["callers", "lex"], true);
    assert_eq!(locked.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("locked")
            || String::from_utf8_lossy(&locked.stderr).contains("writ")
    );
    // ...so the CLI asks the server, and prints exactly what it would have.
    for (args, direct) in queries.iter().zip(&direct) {
        let routed = kausal_output(repo.path(), args, false);
        assert_eq!(routed.status.code(), direct.status.code(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&routed.stdout),
            String::from_utf8_lossy(&direct.stdout),
            "{args:?}"
        );
    }
    // Errors keep their exit codes and JSON codes.
    let missing = kausal_output(repo.path(), &["callers", "nosuchthing", "--json"], false);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not_found"));
    let ambiguous = kausal_output(repo.path(), &["show", "helper"], false);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("ambiguous"));
    // `kausal ingest` goes through the server too.
    write(repo.path(), "src/extra.rs", "pub fn via_cli() {}\n");
    let ingest = kausal(repo.path(), &["ingest"]);
    assert!(String::from_utf8_lossy(&ingest.stdout).contains("ingested by the server"));
    assert_eq!(server.get("/v1/find?name=via_cli").0, 200);
    assert!(server.terminate().success());
}

#[test]
fn sigterm_lets_an_in_flight_ingest_finish_and_flushes_it() {
    let repo = fixture();
    kausal(repo.path(), &["ingest"]);
    let pause = IngestPause::new();
    let server = Server::start_paused(repo.path(), &[], &pause);
    write(
        repo.path(),
        "src/late.rs",
        "pub fn written_late() -> usize {\n    crate::lex::lex(\"x\")\n}\n",
    );
    let (address, token) = (server.info.address.clone(), server.info.token.clone());
    let ingest = std::thread::spawn(move || {
        request(&address, "POST", "/v1/ingest", Some(&token), Some("{}"))
    });
    // SIGTERM while the ingest runs: it is held at its start until the
    // server has stopped accepting connections.
    pause.wait_paused(1);
    assert_eq!(server.store_metrics()["ingesting"], true);
    support::signal(server.child.id(), "TERM");
    let address = server.info.address.clone();
    wait_until("the server to stop accepting", || {
        TcpStream::connect(&address).is_err()
    });
    pause.resume(1);
    let (status, answer) = ingest.join().expect("ingest client");
    assert_eq!(status, 200, "the in-flight ingest was cut: {answer}");
    assert_eq!(answer["files_parsed"], 1, "{answer}");
    let db = server.db.clone();
    assert!(server.wait_exit().success());
    assert!(!db.join("server.json").exists());
    // Flushed, and the lock released: a read-only CLI query sees it.
    let output = kausal(repo.path(), &["find", "written_late", "--json"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("src/late.rs"));
}
