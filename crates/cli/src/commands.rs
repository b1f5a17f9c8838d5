//! The commands: each opens what it needs, runs, and returns a typed
//! report; printing is `print.rs`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_ingest::{IgnoredFiles, IngestOptions, Ingester, SkippedFile, WalkRecord};
use kausal_query::{Algorithm, Direction, EdgeTypeSet, QueryEngine, Traversal};
use kausal_storage::{BlockId, BlockView, Config, Database, EdgeType, StorageError};

use crate::reader::Reader;
use kausal_vfs::{OsVfs, Vfs};
use serde::{Deserialize, Serialize};

use crate::cli::{Command, TraceDirection, WalkArgs};
use crate::error::CliError;
use crate::location::{DB_DIR_NAME, find_db};
use crate::model::{BlockDetail, BlockInfo};
use crate::names::{self, MatchKind};

/// Deepest `callers`/`callees` tree.
pub const MAX_TREE_DEPTH: u32 = 32;
/// Most nodes a `callers`/`callees` tree shows before it is cut.
pub const MAX_TREE_NODES: usize = 2000;
/// Most results `find` returns.
pub const MAX_FIND_LIMIT: usize = 10_000;

/// Default `find` limit (the CLI's `--limit` default).
pub const DEFAULT_FIND_LIMIT: usize = 50;
/// Default `trace` limit (the CLI's `--limit` default).
pub const DEFAULT_TRACE_LIMIT: usize = 1000;

/// A read-only question about the graph, as the CLI, the HTTP server and
/// the MCP tools ask it; [`answer`] answers it on one consistent view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// Blocks matching a name (`find`).
    Find {
        /// The name, qualified-name suffix, path, id or prefix to look up.
        name: String,
        /// Only blocks of this kind (`function`, `struct`, ...); any kind when absent.
        #[serde(default)]
        kind: Option<String>,
        /// Only blocks whose path matches this glob (`*` within a segment, `**` across); any
        /// file when absent.
        #[serde(default)]
        path: Option<String>,
        /// Most blocks to return (default 50, at most [`MAX_FIND_LIMIT`]).
        #[serde(default = "default_find_limit")]
        limit: usize,
    },
    /// One block with its signature, doc, metadata and content (`show`).
    Show {
        /// The block's name; it must resolve to exactly one block.
        name: String,
    },
    /// The tree of blocks that call a block (`callers`).
    Callers {
        /// The block's name; it must resolve to exactly one block.
        name: String,
        /// Levels of callers to follow (1 to 32; default 1).
        #[serde(default = "default_tree_depth")]
        depth: u32,
    },
    /// The tree of blocks a block calls (`callees`).
    Callees {
        /// The block's name; it must resolve to exactly one block.
        name: String,
        /// Levels of callees to follow (1 to 32; default 1).
        #[serde(default = "default_tree_depth")]
        depth: u32,
    },
    /// Every block reachable from a block along chosen edges (`trace`).
    Trace {
        /// The starting block's name; it must resolve to exactly one block.
        name: String,
        /// Follow edges inward, outward or both ways (default outward).
        #[serde(default = "default_direction")]
        direction: TraceDirection,
        /// Most edges to follow from the start (default 3, at most 1,000).
        #[serde(default = "default_trace_depth")]
        depth: u32,
        /// Edge types to follow; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
        /// Most blocks to return (default 1,000, at most [`MAX_FIND_LIMIT`]).
        #[serde(default = "default_trace_limit")]
        limit: usize,
    },
    /// A shortest path between two blocks (`path`).
    Path {
        /// The block the path starts at.
        from: String,
        /// The block the path ends at.
        to: String,
        /// Edge types the path may use; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
    },
    /// Cycles in the graph (`cycles`).
    Cycles {
        /// Edge types to look for cycles along; all types when empty.
        #[serde(default)]
        edges: Vec<String>,
    },
    /// What a file or module imports and what imports it (`deps`).
    Deps {
        /// The file or module's name or path.
        target: String,
    },
    /// Counts of blocks, edges, tables and bytes in the database (`stats`).
    Stats,
}

fn default_find_limit() -> usize {
    DEFAULT_FIND_LIMIT
}
fn default_tree_depth() -> u32 {
    1
}
fn default_direction() -> TraceDirection {
    TraceDirection::Out
}
fn default_trace_depth() -> u32 {
    3
}
fn default_trace_limit() -> usize {
    DEFAULT_TRACE_LIMIT
}

impl Query {
    /// The query a read-only command asks; `None` for commands that write
    /// or check the files themselves (ingest, verify, backup, compact).
    pub fn from_command(command: &Command) -> Option<Query> {
        Some(match command {
            Command::Find {
                name,
                kind,
                path,
                limit,
            } => Query::Find {
                name: name.clone(),
                kind: kind.clone(),
                path: path.clone(),
                limit: *limit,
            },
            Command::Show(target) => Query::Show {
                name: target.name.clone(),
            },
            Command::Callers { target, depth } => Query::Callers {
                name: target.name.clone(),
                depth: *depth,
            },
            Command::Callees { target, depth } => Query::Callees {
                name: target.name.clone(),
                depth: *depth,
            },
            Command::Trace {
                target,
                direction,
                depth,
                edges,
                limit,
            } => Query::Trace {
                name: target.name.clone(),
                direction: *direction,
                depth: *depth,
                edges: edges.clone(),
                limit: *limit,
            },
            Command::Path { from, to, edges } => Query::Path {
                from: from.clone(),
                to: to.clone(),
                edges: edges.clone(),
            },
            Command::Cycles { edges } => Query::Cycles {
                edges: edges.clone(),
            },
            Command::Deps { target } => Query::Deps {
                target: target.clone(),
            },
            Command::Stats => Query::Stats,
            Command::Ingest { .. }
            | Command::Verify
            | Command::Backup { .. }
            | Command::Compact
            | Command::Serve { .. }
            | Command::Mcp { .. } => return None,
        })
    }

    /// The names the query resolves (each must be non-empty).
    pub fn names(&self) -> Vec<&str> {
        match self {
            Query::Find { name, .. }
            | Query::Show { name }
            | Query::Callers { name, .. }
            | Query::Callees { name, .. }
            | Query::Trace { name, .. } => vec![name],
            Query::Path { from, to, .. } => vec![from, to],
            Query::Deps { target } => vec![target],
            Query::Cycles { .. } | Query::Stats => Vec::new(),
        }
    }
}

/// Answers `query` on `engine` (the database in `db`).
pub fn answer(engine: &Reader, db: &Path, query: &Query) -> Result<Report, CliError> {
    for name in query.names() {
        check_name(name)?;
    }
    match query {
        Query::Find {
            name,
            kind,
            path,
            limit,
        } => find(engine, name, kind.as_deref(), path.as_deref(), *limit),
        Query::Show { name } => {
            let view = resolve_one(engine, name)?;
            Ok(Report::Show(BlockDetail::from_view(&view)))
        }
        Query::Callers { name, depth } => tree(engine, name, *depth, true).map(Report::Callers),
        Query::Callees { name, depth } => tree(engine, name, *depth, false).map(Report::Callees),
        Query::Trace {
            name,
            direction,
            depth,
            edges,
            limit,
        } => trace(engine, db, name, *direction, *depth, edges, *limit),
        Query::Path { from, to, edges } => path(engine, db, from, to, edges),
        Query::Cycles { edges } => cycles(engine, db, edges),
        Query::Deps { target } => deps(engine, target),
        Query::Stats => stats(engine, db),
    }
}

/// What a command produced.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Report {
    /// `ingest`: what was parsed, written and skipped.
    Ingest(IngestSummary),
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
    /// `verify`: what was checked, repaired and found damaged.
    Verify(VerifyReport),
    /// `backup`: what was copied where.
    Backup(BackupSummary),
    /// `compact`: table counts before and after.
    Compact(CompactReport),
    /// `serve` or `mcp` shut down cleanly.
    Stopped(StoppedReport),
}

/// The report of a `serve` or `mcp` that shut down cleanly.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoppedReport {
    /// The database directory that was served.
    pub db: String,
}

/// The report of an `ingest`: files read, blocks and edges written, files skipped.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestSummary {
    /// The database directory written to.
    pub db: String,
    /// The repository directory that was read.
    pub root: String,
    /// Files found under the root (ignored ones excluded).
    pub files_seen: u64,
    /// Files parsed because they were new or changed.
    pub files_parsed: u64,
    /// Files left alone because their content had not changed.
    pub files_unchanged: u64,
    /// Files in the database no longer under the root; their blocks were deleted.
    pub files_removed: u64,
    /// Lines in the parsed files.
    pub lines_parsed: u64,
    /// Blocks parsed, by kind (`function`, `struct`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Edges parsed, by type (`calls`, `imports`, ...).
    pub edges_by_type: BTreeMap<String, u64>,
    /// Call resolution counts: `total`, `resolved`, `ambiguous`, `external`, `unresolved`, ...
    pub calls: serde_json::Value,
    /// Blocks written (new or changed).
    pub blocks_written: u64,
    /// Blocks deleted (gone from their file or with their file).
    pub blocks_deleted: u64,
    /// Edges written.
    pub edges_written: u64,
    /// Edges deleted.
    pub edges_deleted: u64,
    /// Files not parsed at all, with why (too large, a symbolic link, unreadable, ...)
    /// and the cause's class (`too_large`, `over_limit`, `not_text`, ...).
    pub skipped: Vec<SkippedFile>,
    /// Files parsed only in part, with why (syntax error nodes, truncated parses).
    pub partial: Vec<SkippedFile>,
    /// Source files the ignore rules excluded, and the rule file that
    /// excluded the most.
    pub ignored: IgnoredFiles,
    /// False when a wanted file was left out (too large, over a storage
    /// limit, unreadable, not text, failed to parse): `ingest` then exits 3.
    pub complete: bool,
    /// Wall-clock time of the ingest, in seconds.
    pub seconds: f64,
    /// The human-readable report, as `ingest` prints it; not in the JSON.
    #[serde(skip)]
    pub text: String,
}

/// The report of `find`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FindReport {
    /// The name as the user typed it.
    pub query: String,
    /// `id`, `exact` (name, qualified-name suffix or path) or `prefix`.
    pub matched_by: String,
    /// Matching blocks; at most the limit.
    pub results: Vec<BlockInfo>,
    /// More blocks matched than the limit allowed.
    pub truncated: bool,
}

/// One block in a `callers`/`callees` tree.
#[derive(Debug, Serialize, Deserialize)]
pub struct TreeNode {
    /// The caller or callee.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// The edge type that leads here from the parent.
    pub edge: String,
    /// Already on the path from the root: a cycle, not expanded again.
    pub cycle: bool,
    /// Shown earlier in the tree: not expanded again.
    pub repeated: bool,
    /// Its own callers or callees, one level deeper; empty when `cycle`, `repeated` or at the depth
    /// limit.
    pub children: Vec<TreeNode>,
}

/// The report of `callers` or `callees`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TreeReport {
    /// The block whose callers or callees these are.
    pub root: BlockInfo,
    /// Levels followed.
    pub depth: u32,
    /// Direct callers or callees, each with its own subtree.
    pub children: Vec<TreeNode>,
    /// The tree was cut at [`MAX_TREE_NODES`] nodes.
    pub truncated: bool,
}

/// One block reached by `trace` or on a `path`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TraceStep {
    /// The block reached.
    #[serde(flatten)]
    pub block: BlockInfo,
    /// Edges from the start to this block (0 for the start itself).
    pub depth: u32,
    /// The edge type that reached it; `None` for the start.
    pub via: Option<String>,
    /// Id of the block it was reached from; `None` for the start.
    pub from: Option<String>,
}

/// The report of `trace`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TraceReport {
    /// The block the trace started from.
    pub start: BlockInfo,
    /// `in`, `out` or `both`.
    pub direction: String,
    /// Edge types followed; empty when all were.
    pub edges: Vec<String>,
    /// The depth limit asked for.
    pub depth: u32,
    /// Blocks reached, nearest first; at most the limit.
    pub reached: Vec<TraceStep>,
    /// More blocks were reachable than the limit allowed.
    pub truncated: bool,
}

/// The report of `path`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PathReport {
    /// The block the path starts at.
    pub from: BlockInfo,
    /// The block the path ends at.
    pub to: BlockInfo,
    /// The path, `from` first and `to` last.
    pub steps: Vec<TraceStep>,
}

/// The report of `cycles`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CyclesReport {
    /// Edge types followed; empty when all were.
    pub edges: Vec<String>,
    /// Each cycle as the blocks on it, largest cycle first.
    pub cycles: Vec<Vec<BlockInfo>>,
    /// More cycles existed than were listed.
    pub truncated: bool,
}

/// The report of `deps`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DepsReport {
    /// The file or module asked about.
    pub target: BlockInfo,
    /// Blocks (files or modules) it imports.
    pub imports: Vec<BlockInfo>,
    /// Blocks (files or modules) that import it.
    pub imported_by: Vec<BlockInfo>,
}

/// The report of `stats`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatsReport {
    /// The database directory.
    pub db: String,
    /// Blocks stored.
    pub blocks: u64,
    /// Blocks by kind (`function`, `struct`, ...).
    pub blocks_by_kind: BTreeMap<String, u64>,
    /// Blocks by language (`rust`, `python`, ...).
    pub blocks_by_language: BTreeMap<String, u64>,
    /// Edges by type (`calls`, `imports`, ...).
    pub edges_by_type: BTreeMap<String, u64>,
    /// Sorted tables on disk.
    pub tables: usize,
    /// Bytes of the sorted tables.
    pub table_bytes: u64,
    /// Bytes of the database's files (WAL segments count at their
    /// preallocated size).
    pub file_bytes: u64,
    /// Bytes of writes held in memory, not yet in a table.
    pub memtable_bytes: usize,
    /// Blocks held in memory, not yet in a table.
    pub memtable_blocks: usize,
    /// Edges held in memory, not yet in a table.
    pub memtable_edges: usize,
    /// What the last ingest's walk left out (skipped files by cause, files
    /// excluded by ignore rules); absent before the first ingest.
    pub last_walk: Option<WalkRecord>,
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

/// Global settings a command needs.
pub struct Context {
    /// The database directory given by `--db`; else `$KAUSAL_DB` or the nearest `.kausal/` is used.
    pub db: Option<PathBuf>,
    /// The directory the command runs in; where the database search starts and `ingest`'s default
    /// root.
    pub cwd: PathBuf,
    /// Show ingest progress on stderr.
    pub progress: bool,
}

impl Context {
    fn db_for_queries(&self) -> Result<PathBuf, CliError> {
        find_db(self.db.as_deref(), &self.cwd).ok_or_else(|| CliError::NoDatabase {
            from: self.cwd.clone(),
        })
    }
}

fn storage_error(db: &Path) -> impl Fn(StorageError) -> CliError + '_ {
    move |source| CliError::Storage {
        db: db.to_path_buf(),
        source,
    }
}

fn query_error(db: &Path) -> impl Fn(kausal_query::QueryError) -> CliError + '_ {
    move |source| CliError::Query {
        db: db.to_path_buf(),
        source,
    }
}

fn open_read_only(db: &Path) -> Result<Database, CliError> {
    Database::open_read_only_with(Arc::new(OsVfs::new()), db, Config::default())
        .map_err(storage_error(db))
}

fn open_writable(db: &Path) -> Result<Database, CliError> {
    Database::open_with(Arc::new(OsVfs::new()), db, Config::default()).map_err(storage_error(db))
}

/// Rejects an empty NAME (which would match every block as a prefix).
fn check_name(name: &str) -> Result<(), CliError> {
    if name.trim().is_empty() {
        return Err(CliError::Usage("a NAME must not be empty".into()));
    }
    Ok(())
}

/// The names a command resolves.
fn names_of(command: &Command) -> Vec<&str> {
    match command {
        Command::Find { name, .. } => vec![name],
        Command::Show(target)
        | Command::Callers { target, .. }
        | Command::Callees { target, .. }
        | Command::Trace { target, .. } => vec![&target.name],
        Command::Path { from, to, .. } => vec![from, to],
        Command::Deps { target } => vec![target],
        _ => Vec::new(),
    }
}

/// Runs `command`.
pub fn run(command: Command, context: &Context) -> Result<Report, CliError> {
    for name in names_of(&command) {
        check_name(name)?;
    }
    if let Some(query) = Query::from_command(&command) {
        // A running `kausal serve` holds the database: ask it.
        let db = context.db_for_queries()?;
        if let Some(answered) = crate::server::client::query(&db, &query) {
            return answered;
        }
        return with_reader(context, |engine, db| answer(engine, db, &query));
    }
    match command {
        Command::Ingest { path, walk } => ingest(context, path, &walk),
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
        Command::Find { .. }
        | Command::Show(_)
        | Command::Callers { .. }
        | Command::Callees { .. }
        | Command::Trace { .. }
        | Command::Path { .. }
        | Command::Cycles { .. }
        | Command::Deps { .. }
        | Command::Stats => Err(CliError::Usage(
            "internal error: a query command reached the maintenance commands".into(),
        )),
        Command::Serve {
            watch,
            port,
            root,
            walk,
        } => {
            let (db, root) = server_paths(context, root)?;
            crate::server::http::run(crate::server::http::ServeConfig {
                db: db.clone(),
                root,
                port,
                watch,
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

/// The ingest options `walk` asks for; rule files relative to the current
/// directory, as typed.
fn ingest_options(context: &Context, walk: &WalkArgs, progress: bool) -> IngestOptions {
    let defaults = IngestOptions::default();
    IngestOptions {
        progress,
        no_ignore: walk.no_ignore,
        ignore_files: walk
            .ignore_file
            .iter()
            .map(|file| context.cwd.join(file))
            .collect(),
        max_file_bytes: walk.max_filesize.unwrap_or(defaults.max_file_bytes),
        ..defaults
    }
}

fn ingest(context: &Context, path: Option<PathBuf>, walk: &WalkArgs) -> Result<Report, CliError> {
    let root = path.unwrap_or_else(|| context.cwd.clone());
    if !root.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a directory to ingest",
            root.display()
        )));
    }
    let db = find_db(context.db.as_deref(), &root).unwrap_or_else(|| root.join(DB_DIR_NAME));
    if *walk != WalkArgs::default() {
        // A running server ingests with the walk options it was started
        // with; asking it would silently drop these.
        if crate::server::client::server_for(&db).is_some() {
            return Err(CliError::Usage(format!(
                "a kausal server is serving {}; its ingests use the walk options it was started \
                 with: stop it, or restart it with these options (`kausal serve --no-ignore ...`)",
                db.display()
            )));
        }
    } else if let Some(answered) = crate::server::client::ingest(&db, &root) {
        return answered;
    }
    let engine = open_writable(&db)?;
    let options = ingest_options(context, walk, context.progress);
    let vfs = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, &root, options)?;
    let report = ingester.ingest(&engine)?;
    engine.shutdown().map_err(storage_error(&db))?;
    Ok(Report::Ingest(ingest_summary(&db, &root, &report)))
}

/// The report of an ingest of `root` into `db`.
pub fn ingest_summary(
    db: &Path,
    root: &Path,
    report: &kausal_ingest::IngestReport,
) -> IngestSummary {
    IngestSummary {
        db: db.display().to_string(),
        root: root.display().to_string(),
        files_seen: report.files_seen,
        files_parsed: report.files_parsed,
        files_unchanged: report.files_unchanged,
        files_removed: report.files_removed,
        lines_parsed: report.lines_parsed,
        blocks_by_kind: report.blocks_by_kind.clone(),
        edges_by_type: report.edges_by_type.clone(),
        calls: serde_json::to_value(&report.calls).unwrap_or_default(),
        blocks_written: report.blocks_written,
        blocks_deleted: report.blocks_deleted,
        edges_written: report.edges_written,
        edges_deleted: report.edges_deleted,
        skipped: report.skipped.clone(),
        partial: report.partial.clone(),
        ignored: report.ignored.clone(),
        complete: report.is_complete(),
        seconds: report.elapsed.as_secs_f64(),
        text: report.to_string(),
    }
}

/// Kind names users type, mapped to the stored kind.
fn normalize_kind(kind: &str) -> &str {
    match kind {
        "fn" | "func" => "function",
        "mod" => "module",
        "const" | "constant" => "const",
        "type" => "type_alias",
        other => other,
    }
}

fn find(
    engine: &Reader,
    query: &str,
    kind: Option<&str>,
    glob: Option<&str>,
    limit: usize,
) -> Result<Report, CliError> {
    let db = engine.dir();
    if limit == 0 || limit > MAX_FIND_LIMIT {
        return Err(CliError::Usage(format!(
            "--limit must be between 1 and {MAX_FIND_LIMIT}"
        )));
    }
    let matches = names::matches(engine, query).map_err(storage_error(db))?;
    let kind = kind.map(normalize_kind);
    let mut results: Vec<BlockInfo> = matches
        .blocks
        .iter()
        .map(BlockInfo::from_view)
        .filter(|info| kind.is_none_or(|kind| info.kind == kind))
        .filter(|info| glob.is_none_or(|glob| names::glob_matches(glob, &info.path)))
        .collect();
    if results.is_empty() {
        let suggestions = names::suggestions(engine, query).map_err(storage_error(db))?;
        return Err(CliError::NotFound {
            name: query.to_string(),
            suggestions,
        });
    }
    results.sort_by(|a, b| {
        (&a.path, a.start_line, &a.qualified_name).cmp(&(&b.path, b.start_line, &b.qualified_name))
    });
    let truncated = results.len() > limit;
    results.truncate(limit);
    Ok(Report::Find(FindReport {
        query: query.to_string(),
        matched_by: match matches.kind {
            MatchKind::Id => "id",
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix",
        }
        .to_string(),
        results,
        truncated,
    }))
}

/// The one block `query` names; lists candidates when it names several.
fn resolve_one<'e>(engine: &'e Reader, query: &str) -> Result<BlockView<'e>, CliError> {
    let db = engine.dir();
    let matches = names::matches(engine, query).map_err(storage_error(db))?;
    let mut blocks = matches.blocks;
    if blocks.len() > 1 {
        // `parse` means the function, not the file `parse.rs` whose module
        // path ends in `parse`; a path or a full module name still names
        // the file.
        let items: Vec<BlockView<'e>> = blocks
            .iter()
            .filter(|view| BlockInfo::from_view(view).kind != "file")
            .copied()
            .collect();
        if !items.is_empty() && items.len() < blocks.len() {
            let names_file = blocks.iter().any(|view| {
                let info = BlockInfo::from_view(view);
                info.kind == "file" && (info.path == query || info.qualified_name == query)
            });
            if !names_file {
                blocks = items;
            }
        }
    }
    if blocks.len() > 1 {
        // A full qualified name (or path) that one block has exactly wins.
        let exact: Vec<BlockView<'e>> = blocks
            .iter()
            .filter(|view| {
                let info = BlockInfo::from_view(view);
                info.qualified_name == query || info.path == query
            })
            .copied()
            .collect();
        if exact.len() == 1 {
            blocks = exact;
        }
    }
    match blocks.len() {
        1 => Ok(blocks[0]),
        0 => Err(CliError::NotFound {
            name: query.to_string(),
            suggestions: names::suggestions(engine, query).map_err(storage_error(db))?,
        }),
        _ => {
            blocks.sort_by_cached_key(|view| {
                let info = BlockInfo::from_view(view);
                (info.path, info.start_line)
            });
            let candidates: Vec<_> = blocks.iter().map(names::candidate).collect();
            Err(CliError::Ambiguous {
                name: query.to_string(),
                candidates,
            })
        }
    }
}

fn call_edge(edge_type: EdgeType) -> bool {
    matches!(
        edge_type,
        EdgeType::Calls | EdgeType::CallsMethod | EdgeType::CallsFunction
    )
}

struct TreeBuilder<'e> {
    engine: &'e Reader,
    incoming: bool,
    nodes: usize,
    truncated: bool,
    seen: std::collections::HashSet<BlockId>,
}

impl TreeBuilder<'_> {
    fn children(
        &mut self,
        id: BlockId,
        depth_left: u32,
        path: &mut Vec<BlockId>,
    ) -> Result<Vec<TreeNode>, StorageError> {
        let edges = if self.incoming {
            self.engine.snapshot().find_incoming_edges(id)?
        } else {
            self.engine.snapshot().find_outgoing_edges(id)?
        };
        let mut children = Vec::new();
        for edge in edges.into_iter().filter(|edge| call_edge(edge.edge_type)) {
            let other = if self.incoming {
                edge.source
            } else {
                edge.target
            };
            let Some(view) = self.engine.snapshot().find_block(other)? else {
                continue;
            };
            if self.nodes >= MAX_TREE_NODES {
                self.truncated = true;
                break;
            }
            self.nodes += 1;
            let cycle = path.contains(&other);
            let repeated = !cycle && !self.seen.insert(other);
            let mut node = TreeNode {
                block: BlockInfo::from_view(&view),
                edge: edge.edge_type.name().to_string(),
                cycle,
                repeated,
                children: Vec::new(),
            };
            if !cycle && !repeated && depth_left > 1 {
                path.push(other);
                node.children = self.children(other, depth_left - 1, path)?;
                path.pop();
            }
            children.push(node);
        }
        children.sort_by(|a, b| {
            (&a.block.path, a.block.start_line).cmp(&(&b.block.path, b.block.start_line))
        });
        Ok(children)
    }
}

fn tree(engine: &Reader, name: &str, depth: u32, incoming: bool) -> Result<TreeReport, CliError> {
    if depth == 0 || depth > MAX_TREE_DEPTH {
        return Err(CliError::Usage(format!(
            "--depth must be between 1 and {MAX_TREE_DEPTH}"
        )));
    }
    let root = resolve_one(engine, name)?;
    let mut builder = TreeBuilder {
        engine,
        incoming,
        nodes: 0,
        truncated: false,
        seen: std::collections::HashSet::from([root.id]),
    };
    let children = builder
        .children(root.id, depth, &mut vec![root.id])
        .map_err(storage_error(engine.dir()))?;
    if children.is_empty() {
        return Err(CliError::NoResults(format!(
            "no {} of {} found (calls the ingest could not resolve are not in the graph)",
            if incoming { "callers" } else { "callees" },
            BlockInfo::from_view(&root).title()
        )));
    }
    Ok(TreeReport {
        root: BlockInfo::from_view(&root),
        depth,
        children,
        truncated: builder.truncated,
    })
}

/// Edge types from `--edges`, else `default`.
fn edge_set(
    names: &[String],
    default: &[EdgeType],
) -> Result<(EdgeTypeSet, Vec<String>), CliError> {
    let types: Vec<EdgeType> = if names.is_empty() {
        default.to_vec()
    } else {
        names
            .iter()
            .map(|name| {
                EdgeType::from_name(name.trim()).map_err(|_| {
                    CliError::Usage(format!(
                        "unknown edge type {name:?}; known: {}",
                        EdgeType::ALL
                            .iter()
                            .map(|t| t.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let labels = types.iter().map(|t| t.name().to_string()).collect();
    Ok((EdgeTypeSet::of(&types), labels))
}

fn all_but_names() -> Vec<EdgeType> {
    EdgeType::ALL
        .iter()
        .copied()
        .filter(|t| *t != EdgeType::Names)
        .collect()
}

const CALL_TYPES: &[EdgeType] = &[
    EdgeType::Calls,
    EdgeType::CallsMethod,
    EdgeType::CallsFunction,
];

fn steps(result: &kausal_query::TraversalResult<'_>) -> Vec<TraceStep> {
    result
        .nodes
        .iter()
        .map(|node| TraceStep {
            block: BlockInfo::from_view(&node.block),
            depth: node.depth,
            via: node.via.map(|edge| edge.edge_type.name().to_string()),
            from: node
                .parent
                .and_then(|parent| result.nodes.get(parent))
                .map(|parent| parent.block.id.to_string()),
        })
        .collect()
}

fn trace(
    engine: &Reader,
    db: &Path,
    name: &str,
    direction: TraceDirection,
    depth: u32,
    edges: &[String],
    limit: usize,
) -> Result<Report, CliError> {
    let start = resolve_one(engine, name)?;
    let (types, labels) = edge_set(edges, &all_but_names())?;
    let (direction, label) = match direction {
        TraceDirection::In => (Direction::Incoming, "in"),
        TraceDirection::Out => (Direction::Outgoing, "out"),
        TraceDirection::Both => (Direction::Both, "both"),
    };
    let traversal = Traversal::new(vec![start.id])
        .direction(direction)
        .edge_types(types)
        .max_depth(depth)
        .max_results(limit);
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    Ok(Report::Trace(TraceReport {
        start: BlockInfo::from_view(&start),
        direction: label.to_string(),
        edges: labels,
        depth,
        reached: steps(&result),
        truncated: result.truncated,
    }))
}

fn path(
    engine: &Reader,
    db: &Path,
    from: &str,
    to: &str,
    edges: &[String],
) -> Result<Report, CliError> {
    let source = resolve_one(engine, from)?;
    let target = resolve_one(engine, to)?;
    let (types, _) = edge_set(edges, CALL_TYPES)?;
    let traversal = Traversal::new(vec![source.id])
        .edge_types(types)
        .algorithm(Algorithm::ShortestPath { target: target.id });
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    if result.nodes.is_empty() {
        return Err(CliError::NoResults(format!("no path from {from} to {to}")));
    }
    Ok(Report::Path(PathReport {
        from: BlockInfo::from_view(&source),
        to: BlockInfo::from_view(&target),
        steps: steps(&result),
    }))
}

fn cycles(engine: &Reader, db: &Path, edges: &[String]) -> Result<Report, CliError> {
    let (types, labels) = edge_set(edges, CALL_TYPES)?;
    let traversal = Traversal::new(Vec::new())
        .edge_types(types)
        .max_results(kausal_query::limits::MAX_RESULTS_CAP)
        .algorithm(Algorithm::StronglyConnectedComponents);
    let query = QueryEngine::new(engine.snapshot());
    let result = query.traverse(&traversal).map_err(query_error(db))?;
    let mut cycles: Vec<Vec<BlockInfo>> = result
        .components
        .iter()
        .map(|component| {
            let mut blocks: Vec<BlockInfo> = component
                .iter()
                .map(|index| BlockInfo::from_view(&result.nodes[*index].block))
                .collect();
            blocks.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
            blocks
        })
        .collect();
    cycles.sort_by(|a, b| {
        b.len()
            .cmp(&a.len())
            .then_with(|| a[0].path.cmp(&b[0].path))
    });
    Ok(Report::Cycles(CyclesReport {
        edges: labels,
        cycles,
        truncated: result.truncated,
    }))
}

fn deps(engine: &Reader, target: &str) -> Result<Report, CliError> {
    let db = engine.dir();
    let view = resolve_one(engine, target)?;
    let neighbours = |incoming: bool| -> Result<Vec<BlockInfo>, CliError> {
        let edges = if incoming {
            engine.snapshot().find_incoming_edges(view.id)
        } else {
            engine.snapshot().find_outgoing_edges(view.id)
        }
        .map_err(storage_error(db))?;
        let mut blocks = Vec::new();
        for edge in edges
            .into_iter()
            .filter(|e| e.edge_type == EdgeType::Imports)
        {
            let other = if incoming { edge.source } else { edge.target };
            if let Some(found) = engine
                .snapshot()
                .find_block(other)
                .map_err(storage_error(db))?
            {
                blocks.push(BlockInfo::from_view(&found));
            }
        }
        blocks.sort_by(|a, b| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)));
        Ok(blocks)
    };
    Ok(Report::Deps(DepsReport {
        target: BlockInfo::from_view(&view),
        imports: neighbours(false)?,
        imported_by: neighbours(true)?,
    }))
}

fn dir_bytes(dir: &Path) -> u64 {
    let vfs = OsVfs::new();
    vfs.list_dir(dir)
        .map(|names| {
            names
                .iter()
                .filter_map(|name| vfs.file_size(&dir.join(name)).ok())
                .sum()
        })
        .unwrap_or(0)
}

fn stats(engine: &Reader, db: &Path) -> Result<Report, CliError> {
    let mut report = StatsReport {
        db: db.display().to_string(),
        blocks: 0,
        blocks_by_kind: BTreeMap::new(),
        blocks_by_language: BTreeMap::new(),
        edges_by_type: BTreeMap::new(),
        tables: 0,
        table_bytes: 0,
        file_bytes: dir_bytes(db),
        memtable_bytes: 0,
        memtable_blocks: 0,
        memtable_edges: 0,
        last_walk: None,
    };
    let mut edges = Vec::new();
    for view in engine
        .snapshot()
        .iterate_blocks()
        .map_err(storage_error(db))?
    {
        let view = view.map_err(storage_error(db))?;
        // The walk record is ingest's note about the tree, not a block of it.
        if let Some(record) = WalkRecord::from_block(&view) {
            report.last_walk = Some(record);
            continue;
        }
        let info = BlockInfo::from_view(&view);
        report.blocks += 1;
        *report.blocks_by_kind.entry(info.kind).or_default() += 1;
        *report.blocks_by_language.entry(info.language).or_default() += 1;
        engine
            .snapshot()
            .find_outgoing_edges_into(view.id, &mut edges)
            .map_err(storage_error(db))?;
        for edge in &edges {
            *report
                .edges_by_type
                .entry(edge.edge_type.name().to_string())
                .or_default() += 1;
        }
        // Name-index edges start at key nodes, which are not blocks.
        engine
            .snapshot()
            .find_incoming_edges_into(view.id, &mut edges)
            .map_err(storage_error(db))?;
        for edge in edges.iter().filter(|e| e.edge_type == EdgeType::Names) {
            *report
                .edges_by_type
                .entry(edge.edge_type.name().to_string())
                .or_default() += 1;
        }
    }
    let sizes = engine.snapshot().sizes();
    report.tables = sizes.tables;
    report.table_bytes = sizes.table_bytes;
    report.memtable_bytes = sizes.memtable_bytes;
    report.memtable_blocks = sizes.memtable_blocks;
    report.memtable_edges = sizes.memtable_edges;
    Ok(Report::Stats(report))
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
    // Tables were checked (footer, index, edges, bloom) when they opened;
    // reading every block checks each data record's checksum.
    for block in engine
        .snapshot()
        .iterate_blocks()
        .map_err(storage_error(db))?
    {
        match block {
            Ok(_) => report.blocks_read += 1,
            Err(error) => report.damaged.push(damage(&error)),
        }
    }
    Ok(Report::Verify(report))
}
