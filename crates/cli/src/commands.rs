//! The commands: each opens what it needs, runs, and returns a typed
//! report; printing is `print.rs`'s job. Queries are kausal-service's
//! ([`answer`]); `ingest` and `index` are in `ingest.rs` and `index/`;
//! this file keeps dispatch and the commands that check or copy the
//! database files (verify, backup, compact, serve).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_storage::{Config, Database, StorageError};
use kausal_vfs::OsVfs;
use serde::{Deserialize, Serialize};

pub use kausal_service::{
    Answer, BlockDetail, BlockInfo, CyclesReport, DEFAULT_FIND_LIMIT, DEFAULT_TRACE_LIMIT,
    DepsReport, FindReport, MAX_FIND_LIMIT, MAX_TREE_DEPTH, MAX_TREE_NODES, PathReport, Query,
    Reader, StatsReport, TraceReport, TraceStep, TreeNode, TreeReport, check_name,
};

use crate::cli::Command;
pub use crate::context::Context;
use crate::error::CliError;
use crate::ingest::{ingest_options, open_writable, storage_error};
use crate::location::{DB_DIR_NAME, find_db};
pub use crate::summary::{IngestSummary, ingest_summary};

/// Answers `query` on `engine` (the database in `db`), as the command's report.
pub fn answer(engine: &Reader, db: &Path, query: &Query) -> Result<Report, CliError> {
    Ok(kausal_service::answer(engine, db, query)?.into())
}

/// The query a read-only command asks; `None` for commands that write
/// or check the files themselves (ingest, verify, backup, compact).
pub fn query_of(command: &Command) -> Option<Query> {
    Some(match command {
        Command::Find(args) => Query::Find(args.clone()),
        Command::Show(args) => Query::Show(args.clone()),
        Command::Callers(args) => Query::Callers(args.clone()),
        Command::Callees(args) => Query::Callees(args.clone()),
        Command::Trace(args) => Query::Trace(args.clone()),
        Command::Path(args) => Query::Path(args.clone()),
        Command::Cycles(args) => Query::Cycles(args.clone()),
        Command::Deps(args) => Query::Deps(args.clone()),
        Command::Stats => Query::Stats,
        Command::Context(args) => Query::Context(args.clone()),
        Command::Impact(args) => Query::Impact(args.clone()),
        Command::Outline(args) => Query::Outline(args.clone()),
        Command::Map(args) => Query::Map(args.clone()),
        Command::Ingest { .. }
        | Command::Index { .. }
        | Command::Verify
        | Command::Backup { .. }
        | Command::Compact
        | Command::Export(_)
        | Command::Serve { .. }
        | Command::Mcp { .. } => return None,
    })
}

/// What a command produced.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Report {
    /// `ingest`: what was parsed, written and skipped.
    Ingest(IngestSummary),
    /// `index`: the indexers run, then the ingest with their indexes.
    Index(crate::index::IndexReport),
    /// `find`: the matching blocks.
    Find(FindReport),
    /// `show`: one block in full.
    Show(BlockDetail),
    /// `callers`: the tree of callers.
    Callers(TreeReport),
    /// `callees`: the tree of callees.
    Callees(TreeReport),
    /// `trace`: the blocks reached.
    Trace(TraceReport),
    /// `path`: the steps of a shortest path.
    Path(PathReport),
    /// `cycles`: the cycles found.
    Cycles(CyclesReport),
    /// `deps`: imports in both directions.
    Deps(DepsReport),
    /// `stats`: counts and sizes.
    Stats(StatsReport),
    /// `context`: a symbol and what surrounds it, in a token budget.
    Context(kausal_service::ContextReport),
    /// `impact`: what reaches the changed symbols, and its tests.
    Impact(kausal_service::ImpactReport),
    /// `outline`: a file's items, nested.
    Outline(kausal_service::OutlineReport),
    /// `map`: the most important files and items, in a token budget.
    Map(kausal_service::MapReport),
    /// `verify`: what was checked, repaired and found damaged.
    Verify(VerifyReport),
    /// `backup`: what was copied where.
    Backup(BackupSummary),
    /// `compact`: table counts before and after.
    Compact(CompactReport),
    /// `export`: the Parquet tables written.
    Export(crate::export::ExportSummary),
    /// `serve` or `mcp` shut down cleanly.
    Stopped(StoppedReport),
}

impl From<Answer> for Report {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Find(report) => Report::Find(report),
            Answer::Show(report) => Report::Show(report),
            Answer::Callers(report) => Report::Callers(report),
            Answer::Callees(report) => Report::Callees(report),
            Answer::Trace(report) => Report::Trace(report),
            Answer::Path(report) => Report::Path(report),
            Answer::Cycles(report) => Report::Cycles(report),
            Answer::Deps(report) => Report::Deps(report),
            Answer::Stats(report) => Report::Stats(report),
            Answer::Context(report) => Report::Context(report),
            Answer::Impact(report) => Report::Impact(report),
            Answer::Outline(report) => Report::Outline(report),
            Answer::Map(report) => Report::Map(report),
        }
    }
}

/// The report of a `serve` or `mcp` that shut down cleanly.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoppedReport {
    /// The database directory that was served.
    pub db: String,
}

/// A damaged or repaired spot that `verify` found.
#[derive(Debug, Serialize, Deserialize)]
pub struct Damage {
    /// The damaged file; empty when the error named no file.
    pub file: String,
    /// Byte offset in the file, when known.
    pub offset: Option<u64>,
    /// What was wrong.
    pub reason: String,
}

/// The report of `verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    /// The database directory checked.
    pub db: String,
    /// Sorted tables opened (their footer, index, edges and bloom filter checked).
    pub tables: usize,
    /// WAL segments replayed.
    pub wal_segments: usize,
    /// WAL records replayed.
    pub wal_records: u64,
    /// Blocks read, each record's checksum checked.
    pub blocks_read: u64,
    /// WAL records with one flipped bit that opening repaired and replayed (file, offset,
    /// which bit); nothing was lost.
    pub repaired: Vec<Damage>,
    /// Damage that remains; when not empty, `verify` exits 1.
    pub damaged: Vec<Damage>,
}

/// The report of `backup`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackupSummary {
    /// The database directory copied.
    pub db: String,
    /// The directory the copy was written to.
    pub backup: String,
    /// Files copied (manifest, tables, WAL segments).
    pub files: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Blocks read back from the copy to check it.
    pub blocks: u64,
    /// Times the copy was taken again because a writer changed the database under it (at most 20).
    pub retries: usize,
}

/// The report of `compact`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompactReport {
    /// The database directory compacted.
    pub db: String,
    /// Sorted tables before compaction.
    pub tables_before: usize,
    /// Sorted tables after compaction.
    pub tables_after: usize,
}

fn open_read_only(db: &Path) -> Result<Database, CliError> {
    Database::open_read_only_with(Arc::new(OsVfs::new()), db, Config::default())
        .map_err(storage_error(db))
}

/// Runs `command`.
pub fn run(mut command: Command, context: &Context) -> Result<Report, CliError> {
    if let Command::Impact(args) = &mut command
        && args.diff_stdin
    {
        args.diff = Some(read_diff(&mut std::io::stdin().lock())?);
    }
    if let Some(query) = query_of(&command) {
        for name in query.names() {
            check_name(name)?;
        }
        // A running `kausal serve` holds the database: ask it.
        let db = context.db_for_queries()?;
        if let Some(answered) = crate::remote::query(&db, &query) {
            return answered.map(Report::from);
        }
        return with_reader(context, |engine, db| answer(engine, db, &query));
    }
    match command {
        Command::Ingest { path, scip, walk } => {
            crate::ingest::ingest(context, path, &scip, &walk).map(Report::Ingest)
        }
        Command::Index { path, walk } => {
            crate::index::index(context, path, &walk).map(Report::Index)
        }
        Command::Verify => verify(&context.db_for_queries()?),
        Command::Backup { dir } => {
            let db = context.db_for_queries()?;
            // A backup inside the database directory would become a file
            // the database does not know (and copy itself).
            if context.cwd.join(&dir).starts_with(context.cwd.join(&db)) {
                return Err(CliError::Usage(format!(
                    "the backup directory {} is inside the database {}",
                    dir.display(),
                    db.display()
                )));
            }
            let report = kausal_storage::backup::backup(Arc::new(OsVfs::new()), &db, &dir)
                .map_err(storage_error(&db))?;
            Ok(Report::Backup(BackupSummary {
                db: db.display().to_string(),
                backup: dir.display().to_string(),
                files: report.files.len(),
                bytes: report.bytes,
                blocks: report.blocks,
                retries: report.retries,
            }))
        }
        Command::Export(args) => crate::export::export(context, &args).map(Report::Export),
        Command::Compact => {
            let db = context.db_for_queries()?;
            let engine = open_writable(&db)?;
            let tables_before = engine.metrics().sstable_count;
            engine.flush().map_err(storage_error(&db))?;
            engine.compact_all().map_err(storage_error(&db))?;
            let tables_after = engine.metrics().sstable_count;
            engine.shutdown().map_err(storage_error(&db))?;
            Ok(Report::Compact(CompactReport {
                db: db.display().to_string(),
                tables_before,
                tables_after,
            }))
        }
        Command::Find(_)
        | Command::Show(_)
        | Command::Callers(_)
        | Command::Callees(_)
        | Command::Trace(_)
        | Command::Path(_)
        | Command::Cycles(_)
        | Command::Deps(_)
        | Command::Stats
        | Command::Context(_)
        | Command::Impact(_)
        | Command::Outline(_)
        | Command::Map(_) => Err(CliError::Usage(
            "internal error: a query command reached the maintenance commands".into(),
        )),
        Command::Serve {
            watch,
            port,
            precise,
            precise_quiet,
            root,
            walk,
        } => {
            let (db, root) = server_paths(context, root)?;
            crate::server::http::run(crate::server::http::ServeConfig {
                db: db.clone(),
                root,
                port,
                watch,
                precise: precise.then(|| crate::server::reindex::PreciseWatch {
                    quiet: precise_quiet.map_or(
                        crate::server::limits::PRECISE_QUIET,
                        std::time::Duration::from_secs,
                    ),
                    index: crate::index::run_indexers,
                }),
                ingest: ingest_options(context, &walk, false),
            })?;
            Ok(Report::Stopped(StoppedReport {
                db: db.display().to_string(),
            }))
        }
        Command::Mcp { watch, root, walk } => {
            let (db, root) = server_paths(context, root)?;
            crate::server::mcp::run(&db, &root, watch, ingest_options(context, &walk, false))?;
            Ok(Report::Stopped(StoppedReport {
                db: db.display().to_string(),
            }))
        }
    }
}

/// `impact --diff`: the diff on stdin, at most
/// [`kausal_service::diff::MAX_DIFF_BYTES`] (read one byte past it to
/// tell a diff that is too large).
pub fn read_diff(input: &mut impl std::io::Read) -> Result<String, CliError> {
    use std::io::Read as _;
    let limit = kausal_service::diff::MAX_DIFF_BYTES;
    let mut bytes = Vec::new();
    input
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CliError::Io {
            what: "cannot read the diff from",
            path: "stdin".into(),
            source,
        })?;
    if bytes.len() > limit {
        return Err(CliError::Usage(format!(
            "--diff: the diff on stdin is over the limit of {limit} bytes (MAX_DIFF_BYTES)"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| CliError::Usage("--diff: the diff on stdin is not UTF-8 text".into()))
}

/// The database and repository root a server serves: `--root`, else the
/// directory holding the database's `.kausal/`, else the current one; the
/// database as `ingest` finds or creates it for that root.
fn server_paths(context: &Context, root: Option<PathBuf>) -> Result<(PathBuf, PathBuf), CliError> {
    let root = match root {
        Some(root) => context.cwd.join(root),
        None => match find_db(context.db.as_deref(), &context.cwd) {
            Some(db) if db.file_name().is_some_and(|name| name == DB_DIR_NAME) => db
                .parent()
                .map(|parent| context.cwd.join(parent))
                .unwrap_or_else(|| context.cwd.clone()),
            _ => context.cwd.clone(),
        },
    };
    if !root.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a directory to serve",
            root.display()
        )));
    }
    let db = find_db(context.db.as_deref(), &root).unwrap_or_else(|| root.join(DB_DIR_NAME));
    Ok((context.cwd.join(db), root))
}

fn with_reader(
    context: &Context,
    query: impl FnOnce(&Reader, &Path) -> Result<Report, CliError>,
) -> Result<Report, CliError> {
    let db = context.db_for_queries()?;
    let engine = Reader::new(&open_read_only(&db)?);
    query(&engine, &db)
}

fn damage(error: &StorageError) -> Damage {
    match error {
        StorageError::Corruption {
            file,
            offset,
            reason,
        } => Damage {
            file: file.display().to_string(),
            offset: Some(*offset),
            reason: reason.clone(),
        },
        other => Damage {
            file: String::new(),
            offset: None,
            reason: other.to_string(),
        },
    }
}

fn verify(db: &Path) -> Result<Report, CliError> {
    let mut report = VerifyReport {
        db: db.display().to_string(),
        tables: 0,
        wal_segments: 0,
        wal_records: 0,
        blocks_read: 0,
        repaired: Vec::new(),
        damaged: Vec::new(),
    };
    let engine = match Database::open_read_only_with(Arc::new(OsVfs::new()), db, Config::default())
    {
        Ok(engine) => engine,
        Err(error @ StorageError::Corruption { .. }) => {
            report.damaged.push(damage(&error));
            return Ok(Report::Verify(report));
        }
        Err(error) => return Err(storage_error(db)(error)),
    };
    let recovery = engine.recovery_report();
    report.wal_segments = recovery.wal.segments.len();
    report.wal_records = recovery.wal.records;
    report.repaired = recovery
        .wal
        .repaired
        .iter()
        .map(|(file, offset, what)| Damage {
            file: file.display().to_string(),
            offset: Some(*offset),
            reason: what.clone(),
        })
        .collect();
    report.tables = engine.metrics().sstable_count;
    // Tables checked footer, bloom filter and page table when they opened;
    // every index and edge page is checked here, and reading every block
    // checks each data record's checksum.
    let snapshot = engine.snapshot();
    let damaged_tables = snapshot.verify_tables().map_err(storage_error(db))?;
    report.damaged.extend(damaged_tables.iter().map(damage));
    for block in snapshot.iterate_blocks().map_err(storage_error(db))? {
        match block {
            Ok(_) => report.blocks_read += 1,
            Err(error) => report.damaged.push(damage(&error)),
        }
    }
    Ok(Report::Verify(report))
}
