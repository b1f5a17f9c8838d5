//! `CliError`: every way a command fails, with its exit code and the stable
//! code printed in JSON errors.

use std::path::PathBuf;

use kausal_ingest::IngestError;
use kausal_query::QueryError;
use kausal_storage::StorageError;
use thiserror::Error;

pub use kausal_service::Candidate;
use kausal_service::error::storage_code;
use kausal_service::{ErrorCode, ServiceError};

/// A failed command.
#[derive(Debug, Error)]
pub enum CliError {
    /// No database was found by `--db`, `$KAUSAL_DB` or searching upwards for `.kausal/`
    /// (code `no_database`, exit 2).
    #[error("no kausal database found from {} upwards; run `kausal ingest` in your repository first, or pass --db DIR", from.display())]
    NoDatabase {
        /// The directory the search started from.
        from: PathBuf,
    },
    /// A name matched no block (code `not_found`, exit 1).
    #[error("{name:?} matches no block{}", suggestion_text(suggestions))]
    NotFound {
        /// The name as the user typed it.
        name: String,
        /// Close names that do match blocks (at most 5), to suggest instead.
        suggestions: Vec<String>,
    },
    /// A name matched several blocks where the command needs one (code `ambiguous`, exit 2).
    #[error("{name:?} is ambiguous: {} blocks match; name one by qualified name or id:\n{}", candidates.len(), candidate_lines(candidates))]
    Ambiguous {
        /// The name as the user typed it.
        name: String,
        /// The blocks it could mean.
        candidates: Vec<Candidate>,
    },
    /// Bad arguments the parser could not catch, such as a depth over its cap or an ingest path
    /// that is not a directory (code `usage`, exit 2); the message says what was wrong.
    #[error("{0}")]
    Usage(String),
    /// A SCIP index given to `ingest --scip` is missing, unreadable, over
    /// [`kausal_ingest::precise::MAX_SCIP_BYTES`], or not a usable SCIP
    /// index (code `bad_index`, exit 2); nothing was written.
    #[error("SCIP index {}: {reason}", path.display())]
    BadIndex {
        /// The file as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The query ran and found nothing (no callers, no path).
    #[error("{0}")]
    NoResults(String),
    /// The storage engine failed: locked by a writer, corrupt, of an unsupported format, or an I/O
    /// error (exit 2; the code names which).
    #[error("database {}: {source}", db.display())]
    Storage {
        /// The database directory.
        db: PathBuf,
        /// What the storage engine reported.
        #[source]
        source: StorageError,
    },
    /// The query engine failed while answering (code `query`, exit 2).
    #[error("database {}: {source}", db.display())]
    Query {
        /// The database directory.
        db: PathBuf,
        /// What the query engine reported.
        #[source]
        source: QueryError,
    },
    /// An ingest failed: the root could not be walked, blocks could not be written, or the
    /// stored graph could not be read (code `ingest`, exit 2).
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// `kausal serve` or `kausal mcp` could not start or stopped on an error (code `server`, exit
    /// 2).
    #[error(transparent)]
    Server(Box<crate::server::http::ServeError>),
    /// A running server answered the query with an error.
    #[error("{message}")]
    Remote {
        /// The server's error code (`not_found`, `ambiguous`, `locked`, ...), passed through as
        /// this error's code.
        code: ErrorCode,
        /// The server's message.
        message: String,
        /// The server's `details` (suggestions, candidates), or null.
        details: serde_json::Value,
    },
    /// A file or directory outside the database could not be read or written, such as a backup
    /// target (code `io`, exit 2).
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done, such as `creating backup directory`.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl From<ServiceError> for CliError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound { name, suggestions } => {
                CliError::NotFound { name, suggestions }
            }
            ServiceError::Ambiguous { name, candidates } => {
                CliError::Ambiguous { name, candidates }
            }
            ServiceError::Usage(message) => CliError::Usage(message),
            ServiceError::NoResults(message) => CliError::NoResults(message),
            ServiceError::Storage { db, source } => CliError::Storage { db, source },
            ServiceError::Query { db, source } => CliError::Query { db, source },
        }
    }
}

impl From<crate::server::http::ServeError> for CliError {
    fn from(error: crate::server::http::ServeError) -> Self {
        CliError::Server(Box::new(error))
    }
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

fn candidate_lines(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| format!("  {}  {}  {}", c.location, c.kind, c.qualified_name))
        .collect::<Vec<_>>()
        .join("\n")
}

impl CliError {
    /// 1: nothing found; 2: an error (the code's exit status).
    pub fn exit_code(&self) -> u8 {
        self.code().exit_code()
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CliError::NoDatabase { .. } => ErrorCode::NoDatabase,
            CliError::NotFound { .. } => ErrorCode::NotFound,
            CliError::Ambiguous { .. } => ErrorCode::Ambiguous,
            CliError::Usage(_) => ErrorCode::Usage,
            CliError::BadIndex { .. } => ErrorCode::BadIndex,
            CliError::NoResults(_) => ErrorCode::NoResults,
            CliError::Storage { source, .. } => storage_code(source),
            CliError::Query { .. } => ErrorCode::Query,
            CliError::Ingest(_) => ErrorCode::Ingest,
            CliError::Server(_) => ErrorCode::Server,
            CliError::Remote { code, .. } => *code,
            CliError::Io { .. } => ErrorCode::Io,
        }
    }

    /// Extra fields of the JSON error.
    pub fn details(&self) -> serde_json::Value {
        match self {
            CliError::NotFound { suggestions, .. } => {
                serde_json::json!({ "suggestions": suggestions })
            }
            CliError::Ambiguous { candidates, .. } => {
                serde_json::json!({ "candidates": candidates })
            }
            CliError::Remote { details, .. } => details.clone(),
            _ => serde_json::Value::Null,
        }
    }
}
