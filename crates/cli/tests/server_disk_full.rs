//! server_disk_full: the database's disk fills up during a `kausal serve`
//! ingest (an in-process server on a file system whose writes under the
//! database fail with ENOSPC): a clear 507, queries keep answering from
//! what was acknowledged, and the next ingest once space is freed brings
//! the graph in line with a fresh ingest.
//!
//! A test binary of its own: after the failed ingest the store drops its
//! handle and reopens the directory, which needs the directory's lock to
//! be free. A child process that another test thread of the same binary
//! is starting holds a copy of every open descriptor, the lock's included,
//! until it execs, so the reopen could find the lock held. Here no other
//! thread starts processes.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kausal_vfs::testing::{HookVfs, OpKind};
use kausal_vfs::{OsVfs, VfsError};
use support::{dump, fixture, kausal, request, write};

/// An `OsVfs` whose writes under `dir` fail with ENOSPC while the returned
/// switch is on: the database's disk is full, the sources' is not. Creating
/// a file, writing and growing one fail; reading, syncing, renaming,
/// removing and shrinking (which frees space) do not.
fn full_disk(dir: &Path) -> (Arc<HookVfs>, Arc<AtomicBool>) {
    let full = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&full);
    let dir = dir.to_path_buf();
    let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
        let needs_space = match op.kind {
            OpKind::Create | OpKind::Write => true,
            OpKind::SetLen => match (op.len, op.file_len) {
                (Some(len), Some(before)) => len > before,
                _ => true,
            },
            _ => false,
        };
        if needs_space && full.load(Ordering::Relaxed) && op.path.starts_with(&dir) {
            return Err(VfsError::new(
                op.kind.name(),
                op.path,
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        Ok(())
    });
    (Arc::new(vfs), switch)
}

#[test]
fn a_full_disk_during_ingest_is_a_clear_error_and_queries_keep_working() {
    use kausal_cli::server::http::{AppState, router, serve};
    use kausal_cli::server::store::Store;

    let repo = fixture();
    let db = repo.path().join(".kausal");
    let (disk, full) = full_disk(&db);
    let options = kausal_ingest::IngestOptions {
        progress: false,
        ..kausal_ingest::IngestOptions::default()
    };
    let store = Arc::new(Store::open(disk, &db, repo.path(), options).expect("open"));
    store.ingest().expect("first ingest");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let token = "t".repeat(64);
    let state = AppState::new(Arc::clone(&store), token.clone());
    let metrics = Arc::clone(&state.metrics);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(serve(listener, router(state), metrics, async {
        let _ = stop_rx.await;
    }));
    let get = |path: &str| request(&address, "GET", path, Some(&token), None);
    let post = |path: &str| request(&address, "POST", path, Some(&token), Some("{}"));

    let (status, before) = get("/v1/callers?name=lex");
    assert_eq!(status, 200, "{before}");

    full.store(true, Ordering::Relaxed);
    write(repo.path(), "src/extra.rs", "pub fn after_full() {}\n");
    write(
        repo.path(),
        "src/lex.rs",
        "/// Splits text.\npub fn lex(text: &str) -> usize {\n    text.len()\n}\n",
    );
    let (status, answer) = post("/v1/ingest");
    assert_eq!(status, 507, "{answer}");
    assert_eq!(answer["error"]["code"], "disk_full", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(".kausal"),
        "the error names where: {message}"
    );
    // Queries keep working, on what was acknowledged before.
    let (status, during) = get("/v1/callers?name=lex");
    assert_eq!(status, 200, "{during}");
    assert_eq!(during, before);
    assert_eq!(get("/v1/find?name=after_full").0, 404);
    // Still full: still a clear error, still answering.
    let (status, again) = post("/v1/ingest");
    assert_eq!(status, 507, "{again}");
    assert_eq!(get("/v1/callers?name=lex").0, 200);

    // Space is freed: the next ingest succeeds and the graph is current.
    full.store(false, Ordering::Relaxed);
    let (status, answer) = post("/v1/ingest");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(get("/v1/find?name=after_full").0, 200);
    assert_eq!(get("/v1/callees?name=lex").0, 404); // helper() no longer called

    let _ = stop_tx.send(());
    runtime.block_on(served).expect("served");
    store.shutdown().expect("shutdown");
    drop(store);
    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_db = fresh.path().join("db");
    kausal(
        repo.path(),
        &["--db", fresh_db.to_str().expect("utf-8"), "ingest", "."],
    );
    assert!(
        dump(&db) == dump(&fresh_db),
        "graph differs from a fresh ingest"
    );
}
