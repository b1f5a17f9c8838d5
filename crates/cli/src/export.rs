//! `kausal export --format parquet DIR [--repo NAME]`: its arguments, the
//! run (open the database read-only, or export from a consistent copy
//! when a writer such as `kausal serve` holds it, then kausal-export's
//! [`kausal_export::export`]), and its human output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use kausal_export::{ExportError, ExportOptions, ExportReport};
use kausal_storage::{Config, Database, StorageError};
use kausal_vfs::OsVfs;

use crate::context::Context;
use crate::error::CliError;
use crate::location::DB_DIR_NAME;

/// Longest `--repo` name, in bytes.
pub const MAX_REPO_NAME_BYTES: usize = 256;

/// Prefix of the temporary copy taken inside DIR when a writer holds the
/// database (removed when the export ends).
const COPY_PREFIX: &str = ".kausal-export-copy-";

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet: blocks.parquet, edges.parquet, files.parquet.
    Parquet,
}

/// `kausal export`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ExportArgs {
    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Directory to write the tables into (created if missing; an earlier
    /// export's tables there are replaced).
    pub dir: PathBuf,
    /// The repository's name in every row and in the files' metadata
    /// (default: the name of the directory holding `.kausal/`).
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
}

/// The report of `export`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportSummary {
    /// The database directory exported.
    pub db: String,
    /// The format written (`parquet`).
    pub format: String,
    /// True when a writer held the database and the export read a
    /// consistent copy of it (as `kausal backup` takes) instead.
    pub from_copy: bool,
    /// What was written.
    #[serde(flatten)]
    pub export: ExportReport,
}

/// Runs `kausal export`.
pub fn export(context: &Context, args: &ExportArgs) -> Result<ExportSummary, CliError> {
    let db = context.cwd.join(context.db_for_queries()?);
    let dir = context.cwd.join(&args.dir);
    if dir.starts_with(&db) {
        return Err(CliError::Usage(format!(
            "the export directory {} is inside the database {}",
            dir.display(),
            db.display()
        )));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "the export directory {} exists and is not a directory",
            dir.display()
        )));
    }
    let (repo, root) = repo_and_root(&db, args.repo.as_deref())?;
    let options = ExportOptions {
        repo,
        root,
        exported_at: SystemTime::now(),
    };
    let (report, from_copy) = match open_read_only(&db) {
        Ok(engine) => (run(&engine, &db, &dir, &options)?, false),
        Err(StorageError::Locked { .. }) => (export_from_copy(&db, &dir, &options)?, true),
        Err(error) => return Err(storage_error(&db)(error)),
    };
    Ok(ExportSummary {
        db: db.display().to_string(),
        format: "parquet".into(),
        from_copy,
        export: report,
    })
}

/// The database error of `db` (as `ingest.rs`'s, which this module does
/// not import: `cli` names this module's arguments).
fn storage_error(db: &Path) -> impl Fn(StorageError) -> CliError + '_ {
    move |source| CliError::Storage {
        db: db.to_path_buf(),
        source,
    }
}

fn open_read_only(db: &Path) -> Result<Database, StorageError> {
    Database::open_read_only_with(Arc::new(OsVfs::new()), db, Config::default())
}

fn run(
    engine: &Database,
    db: &Path,
    dir: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, CliError> {
    kausal_export::export(Arc::new(OsVfs::new()), &engine.snapshot(), dir, options)
        .map_err(|error| export_error(db, dir, error))
}

/// A writer holds the database: copy it consistently (as `kausal backup`
/// does, without the lock) into a temporary directory inside `dir`, on
/// the file system the export goes to, and export the copy.
fn export_from_copy(
    db: &Path,
    dir: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, CliError> {
    use kausal_vfs::Vfs as _;
    OsVfs::new()
        .create_dir_all(dir)
        .map_err(|error| CliError::Io {
            what: "cannot create the export directory",
            path: dir.to_path_buf(),
            source: error.source,
        })?;
    let copy = tempfile::Builder::new()
        .prefix(COPY_PREFIX)
        .tempdir_in(dir)
        .map_err(|source| CliError::Io {
            what: "cannot create a temporary copy of the database in",
            path: dir.to_path_buf(),
            source,
        })?;
    kausal_storage::backup::backup(Arc::new(OsVfs::new()), db, copy.path())
        .map_err(storage_error(db))?;
    let engine = open_read_only(copy.path()).map_err(storage_error(db))?;
    run(&engine, db, dir, options)
}

/// `--repo` (checked), else the name of the directory holding `.kausal/`
/// (or of the database directory itself when it is named otherwise); and
/// the ingested root when the database is a root's `.kausal/`.
fn repo_and_root(db: &Path, repo: Option<&str>) -> Result<(String, Option<String>), CliError> {
    let root = db
        .file_name()
        .filter(|name| *name == DB_DIR_NAME)
        .and_then(|_| db.parent())
        .map(|root| root.canonicalize().unwrap_or_else(|_| root.to_path_buf()));
    let repo = match repo {
        Some(name) => {
            if name.trim().is_empty()
                || name.len() > MAX_REPO_NAME_BYTES
                || name.chars().any(char::is_control)
            {
                return Err(CliError::Usage(format!(
                    "--repo {name:?}: a repository name is 1 to {MAX_REPO_NAME_BYTES} bytes \
                     without control characters"
                )));
            }
            name.to_string()
        }
        None => root
            .as_deref()
            .unwrap_or(db)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repository".to_string()),
    };
    Ok((repo, root.map(|root| root.display().to_string())))
}

fn export_error(db: &Path, dir: &Path, error: ExportError) -> CliError {
    let io = |what, path: PathBuf, message: String| CliError::Io {
        what,
        path,
        source: std::io::Error::other(message),
    };
    match error {
        ExportError::NotADirectory { path } => CliError::Usage(format!(
            "the export directory {} exists and is not a directory",
            path.display()
        )),
        ExportError::Storage { source, .. } => storage_error(db)(source),
        ExportError::Vfs(error) => CliError::Io {
            what: "cannot write the export:",
            path: error.path.clone(),
            source: std::io::Error::new(
                error.source.kind(),
                format!("{}: {}", error.op, error.source),
            ),
        },
        ExportError::Parquet { path, source } => {
            io("cannot write the Parquet file", path, source.to_string())
        }
        error @ ExportError::Arrow { .. } => {
            io("cannot export into", dir.to_path_buf(), error.to_string())
        }
    }
}

/// The human lines of an export.
pub fn text(out: &mut String, summary: &ExportSummary) {
    let report = &summary.export;
    let rows = |table: &str| {
        report
            .tables
            .iter()
            .find(|written| written.table == table)
            .map_or(0, |written| written.rows)
    };
    let _ = writeln!(
        out,
        "exported {} as repo {:?} to {}: {} blocks, {} edges, {} files in {:.2} s{}",
        summary.db,
        report.repo,
        report.dir,
        rows("blocks"),
        rows("edges"),
        rows("files"),
        report.seconds,
        if summary.from_copy {
            " (from a copy: a writer holds the database)"
        } else {
            ""
        }
    );
    for written in &report.tables {
        let _ = writeln!(
            out,
            "  {:<16} {:>10} rows {:>4} row groups {:>12} bytes",
            Path::new(&written.path).file_name().map_or_else(
                || written.path.clone(),
                |name| name.to_string_lossy().into_owned()
            ),
            written.rows,
            written.row_groups,
            written.bytes
        );
    }
}
