//! `Context`: the global settings every command runs with (`--db`, the
//! current directory, whether to draw progress).

use std::path::PathBuf;

use crate::error::CliError;
use crate::location::find_db;

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
    /// The database a query (or verify, backup, compact) opens: `--db`,
    /// `$KAUSAL_DB` or the nearest `.kausal/`.
    pub(crate) fn db_for_queries(&self) -> Result<PathBuf, CliError> {
        find_db(self.db.as_deref(), &self.cwd).ok_or_else(|| CliError::NoDatabase {
            from: self.cwd.clone(),
        })
    }
}
