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

use std::sync::Arc;
use std::sync::atomic::Ordering;

use support::{dump, fixture, kausal, request, write};

mod disk_full {
    //! An `OsVfs` whose writes under one directory fail with ENOSPC while
    //! a switch is on: the database's disk is full, the sources' is not.

    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use kausal_vfs::{FileLock, MappedFile, OsVfs, Vfs, VfsError, VfsFile, VfsResult};

    #[derive(Debug)]
    pub struct FullDisk {
        inner: OsVfs,
        dir: PathBuf,
        pub full: Arc<AtomicBool>,
    }

    impl FullDisk {
        pub fn new(dir: &Path) -> Self {
            Self {
                inner: OsVfs::new(),
                dir: dir.to_path_buf(),
                full: Arc::new(AtomicBool::new(false)),
            }
        }
    }

    fn check(full: &AtomicBool, dir: &Path, op: &'static str, path: &Path) -> VfsResult<()> {
        if full.load(Ordering::Relaxed) && path.starts_with(dir) {
            return Err(VfsError::new(
                op,
                path,
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        Ok(())
    }

    #[derive(Debug)]
    struct File {
        inner: Box<dyn VfsFile>,
        dir: PathBuf,
        full: Arc<AtomicBool>,
    }

    impl VfsFile for File {
        fn path(&self) -> &Path {
            self.inner.path()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
            self.inner.read_at(offset, buf)
        }
        fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()> {
            check(&self.full, &self.dir, "write", self.inner.path())?;
            self.inner.write_at(offset, data)
        }
        fn set_len(&mut self, len: u64) -> VfsResult<()> {
            if len > self.inner.len()? {
                check(&self.full, &self.dir, "set_len", self.inner.path())?;
            }
            self.inner.set_len(len)
        }
        fn sync_data(&mut self) -> VfsResult<()> {
            self.inner.sync_data()
        }
        fn len(&self) -> VfsResult<u64> {
            self.inner.len()
        }
    }

    impl FullDisk {
        fn wrap(&self, file: Box<dyn VfsFile>) -> Box<dyn VfsFile> {
            Box::new(File {
                inner: file,
                dir: self.dir.clone(),
                full: Arc::clone(&self.full),
            })
        }
    }

    impl Vfs for FullDisk {
        fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
            check(&self.full, &self.dir, "create", path)?;
            Ok(self.wrap(self.inner.create_file(path)?))
        }
        fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
            Ok(self.wrap(self.inner.open_file(path)?))
        }
        fn remove_file(&self, path: &Path) -> VfsResult<()> {
            self.inner.remove_file(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
            self.inner.rename(from, to)
        }
        fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
            self.inner.create_dir_all(path)
        }
        fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
            self.inner.list_dir(path)
        }
        fn exists(&self, path: &Path) -> VfsResult<bool> {
            self.inner.exists(path)
        }
        fn file_size(&self, path: &Path) -> VfsResult<u64> {
            self.inner.file_size(path)
        }
        fn sync_dir(&self, path: &Path) -> VfsResult<()> {
            self.inner.sync_dir(path)
        }
        fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
            self.inner.map_readonly(path)
        }
        fn read_file(&self, path: &Path, max_bytes: u64) -> VfsResult<Vec<u8>> {
            self.inner.read_file(path, max_bytes)
        }
        fn lock_file(&self, path: &Path) -> VfsResult<FileLock> {
            self.inner.lock_file(path)
        }
        fn lock_file_shared(&self, path: &Path) -> VfsResult<FileLock> {
            self.inner.lock_file_shared(path)
        }
    }
}

#[test]
fn a_full_disk_during_ingest_is_a_clear_error_and_queries_keep_working() {
    use kausal_cli::server::http::{AppState, router, serve};
    use kausal_cli::server::store::Store;

    let repo = fixture();
    let db = repo.path().join(".kausal");
    let disk = Arc::new(disk_full::FullDisk::new(&db));
    let full = Arc::clone(&disk.full);
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
