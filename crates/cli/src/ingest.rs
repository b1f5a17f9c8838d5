//! `kausal ingest [--scip FILE]...` and the steps `kausal index` shares
//! with it: where the root and database are, whether a running server
//! takes the ingest, the SCIP indexes read and checked before the
//! database is opened for writing, and the ingest itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_ingest::precise::PreciseIndex;
use kausal_ingest::{IngestOptions, Ingester};
use kausal_storage::{Config, Database, StorageError};
use kausal_vfs::OsVfs;

use crate::cli::WalkArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::location::{DB_DIR_NAME, find_db};
use crate::summary::{IngestSummary, ingest_summary};

/// The error of a storage failure in the database `db`.
pub(crate) fn storage_error(db: &Path) -> impl Fn(StorageError) -> CliError + '_ {
    move |source| CliError::Storage {
        db: db.to_path_buf(),
        source,
    }
}

/// Opens the database in `db` for writing (created when missing).
pub(crate) fn open_writable(db: &Path) -> Result<Database, CliError> {
    Database::open_with(Arc::new(OsVfs::new()), db, Config::default()).map_err(storage_error(db))
}

/// The ingest options `walk` asks for; rule files relative to the current
/// directory, as typed.
pub(crate) fn ingest_options(context: &Context, walk: &WalkArgs, progress: bool) -> IngestOptions {
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

/// The repository root `path` names (default: the current directory) and
/// the database an ingest of it writes (found, or `.kausal/` in it).
pub(crate) fn ingest_paths(
    context: &Context,
    path: Option<PathBuf>,
) -> Result<(PathBuf, PathBuf), CliError> {
    let root = path.unwrap_or_else(|| context.cwd.clone());
    if !root.is_dir() {
        return Err(CliError::Usage(format!(
            "{} is not a directory to ingest",
            root.display()
        )));
    }
    let db = find_db(context.db.as_deref(), &root).unwrap_or_else(|| root.join(DB_DIR_NAME));
    Ok((root, db))
}

/// A usage error when a running server holds `db`: precise indexes are
/// merged only by a `kausal` that opens the database itself.
pub(crate) fn refuse_server_for_precise(db: &Path) -> Result<(), CliError> {
    if crate::remote::server_for(db).is_some() {
        return Err(CliError::Usage(format!(
            "a kausal server is serving {}; SCIP indexes are merged only by an ingest that \
             opens the database itself: stop the server, run this, and start it again",
            db.display()
        )));
    }
    Ok(())
}

/// Runs `kausal ingest`: sent to a running server when it can take it,
/// else with the indexes of `scip` (all read and checked first).
pub(crate) fn ingest(
    context: &Context,
    path: Option<PathBuf>,
    scip: &[PathBuf],
    walk: &WalkArgs,
) -> Result<IngestSummary, CliError> {
    let (root, db) = ingest_paths(context, path)?;
    if !scip.is_empty() {
        refuse_server_for_precise(&db)?;
    } else if *walk != WalkArgs::default() {
        // A running server ingests with the walk options it was started
        // with; asking it would silently drop these.
        if crate::remote::server_for(&db).is_some() {
            return Err(CliError::Usage(format!(
                "a kausal server is serving {}; its ingests use the walk options it was started \
                 with: stop it, or restart it with these options (`kausal serve --no-ignore ...`)",
                db.display()
            )));
        }
    } else if let Some(answered) = crate::remote::ingest(&db, &root) {
        return answered;
    }
    // Every index is read and checked before the database is opened.
    let indexes = crate::precise::load_indexes(&context.cwd, scip)?;
    ingest_precise(context, &root, &db, walk, &indexes)
}

/// Ingests `root` into `db` (opened for writing here), merging `indexes`.
pub(crate) fn ingest_precise(
    context: &Context,
    root: &Path,
    db: &Path,
    walk: &WalkArgs,
    indexes: &[PreciseIndex],
) -> Result<IngestSummary, CliError> {
    let engine = open_writable(db)?;
    let options = IngestOptions {
        // The process ends with this ingest.
        keep_for_next: false,
        ..ingest_options(context, walk, context.progress)
    };
    let vfs = Arc::new(OsVfs::new());
    let mut ingester = Ingester::new(vfs, root, options)?;
    let report = ingester.ingest_precise(&engine, indexes)?;
    engine.shutdown().map_err(storage_error(db))?;
    Ok(ingest_summary(db, root, &report))
}
