//! `kausal index [PATH]`: precise mode in one command. It finds the
//! repository's languages (`detect`), runs each one's SCIP indexer found
//! on `PATH` (`run`: rust-analyzer, scip-typescript, scip-python) into a
//! temporary directory, one after the other, then ingests with every
//! index they produced (`ingest --scip`'s merge). A missing indexer is
//! named with how to install it and a failing one is reported with its
//! exit status and the tail of its error output; neither stops the
//! others or the ingest (their files keep heuristic call edges).

pub mod detect;
pub mod run;

use std::path::{Path, PathBuf};

use kausal_ingest::precise::PreciseIndex;

use serde::{Deserialize, Serialize};

use crate::cli::WalkArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::ingest::{ingest_paths, ingest_precise, refuse_server_for_precise};
use crate::summary::IngestSummary;
pub use detect::{IndexLanguage, detect};
pub use run::{IndexerRun, IndexerStatus};

/// Prefix of the temporary directory the indexes are written into.
const SCRATCH_PREFIX: &str = "kausal-index-";

/// The report of `index`: the indexers, then the ingest.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexReport {
    /// Each language found and what became of its indexer, in the order
    /// they ran.
    pub indexers: Vec<IndexerRun>,
    /// The ingest that merged the indexes (the fields of `ingest`).
    #[serde(flatten)]
    pub ingest: IngestSummary,
}

/// `serve --watch --precise`'s indexer run (`server::reindex`): each
/// detected language's indexer on `root` (absolute) into `scratch`, each
/// outcome logged on stderr; the indexes produced, and a line per indexer
/// that failed.
pub fn run_indexers(root: &Path, scratch: &Path) -> (Vec<PreciseIndex>, Vec<String>) {
    let mut indexes = Vec::new();
    let mut failed = Vec::new();
    for detected in detect(root) {
        let (outcome, index) = run::run(&detected, root, scratch, false);
        match outcome.status {
            IndexerStatus::Indexed => eprintln!(
                "kausal: {} indexed {} files of {} in {:.1} s",
                outcome.indexer,
                outcome.documents,
                root.display(),
                outcome.seconds
            ),
            IndexerStatus::Missing | IndexerStatus::Failed => eprintln!(
                "kausal: {} ({}): {}{}",
                outcome.indexer,
                outcome.language.name(),
                outcome.message,
                outcome
                    .stderr_tail
                    .last()
                    .map(|line| format!(" ({line})"))
                    .unwrap_or_default()
            ),
        }
        if outcome.status == IndexerStatus::Failed {
            failed.push(format!("{}: {}", outcome.indexer, outcome.message));
        }
        indexes.extend(index);
    }
    (indexes, failed)
}

/// Runs `kausal index`.
pub fn index(
    context: &Context,
    path: Option<PathBuf>,
    walk: &WalkArgs,
) -> Result<IndexReport, CliError> {
    let (root, db) = ingest_paths(context, path)?;
    // Before the indexers run (minutes, on a large repository).
    refuse_server_for_precise(&db)?;
    // The indexers run in the root, and are given it, as an absolute path.
    let absolute = context.cwd.join(&root);
    let scratch = tempfile::Builder::new()
        .prefix(SCRATCH_PREFIX)
        .tempdir()
        .map_err(|source| CliError::Io {
            what: "cannot create a temporary directory for the indexes in",
            path: std::env::temp_dir(),
            source,
        })?;
    let mut indexers = Vec::new();
    let mut indexes = Vec::new();
    for detected in detect(&absolute) {
        let (run, index) = run::run(&detected, &absolute, scratch.path(), context.progress);
        indexers.push(run);
        indexes.extend(index);
    }
    let ingest = ingest_precise(context, &root, &db, walk, &indexes)?;
    Ok(IndexReport { indexers, ingest })
}
