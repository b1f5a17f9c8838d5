//! `CliError`: every way a command fails, with its exit code and the stable
//! code printed in JSON errors.

use std::path::PathBuf;

use kausal_ingest::IngestError;
use kausal_query::QueryError;
use kausal_storage::StorageError;
use thiserror::Error;

/// A block that a name could mean.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    pub location: String,
    pub kind: String,
    pub qualified_name: String,
    pub id: String,
}

/// A failed command.
#[derive(Debug, Error)]
pub enum CliError {
    #[error("no kausal database found from {} upwards; run `kausal ingest` in your repository first, or pass --db DIR", from.display())]
    NoDatabase { from: PathBuf },
    #[error("{name:?} matches no block{}", suggestion_text(suggestions))]
    NotFound {
        name: String,
        suggestions: Vec<String>,
    },
    #[error("{name:?} is ambiguous: {} blocks match; name one by qualified name or id:\n{}", candidates.len(), candidate_lines(candidates))]
    Ambiguous {
        name: String,
        candidates: Vec<Candidate>,
    },
    #[error("{0}")]
    Usage(String),
    /// The query ran and found nothing (no callers, no path).
    #[error("{0}")]
    NoResults(String),
    #[error("database {}: {source}", db.display())]
    Storage {
        db: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("database {}: {source}", db.display())]
    Query {
        db: PathBuf,
        #[source]
        source: QueryError,
    },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Server(Box<crate::server::http::ServeError>),
    /// A running server answered the query with an error.
    #[error("{message}")]
    Remote {
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    /// 1: nothing found; 2: an error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NotFound { .. } | CliError::NoResults(_) => 1,
            CliError::Remote { code, .. } if matches!(*code, "not_found" | "no_results") => 1,
            _ => 2,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::NoDatabase { .. } => "no_database",
            CliError::NotFound { .. } => "not_found",
            CliError::Ambiguous { .. } => "ambiguous",
            CliError::Usage(_) => "usage",
            CliError::NoResults(_) => "no_results",
            CliError::Storage { source, .. } => match source {
                StorageError::Locked { .. } => "locked",
                StorageError::Corruption { .. } => "corruption",
                StorageError::UnsupportedFormat { .. } => "unsupported_format",
                StorageError::NotADatabase { .. } => "no_database",
                _ => "storage",
            },
            CliError::Query { .. } => "query",
            CliError::Ingest(_) => "ingest",
            CliError::Server(_) => "server",
            CliError::Remote { code, .. } => code,
            CliError::Io { .. } => "io",
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
