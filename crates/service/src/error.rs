//! `ServiceError`: every way a query fails. The transports map it to their
//! own codes (the CLI's exit status and JSON `code`, HTTP status, MCP
//! error) without losing the kind.

use std::path::PathBuf;

use kausal_query::QueryError;
use kausal_storage::StorageError;
use thiserror::Error;

use crate::code::ErrorCode;

/// A block that a name could mean.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    /// Where the block is, as `path:line`.
    pub location: String,
    /// The block's kind (`function`, `struct`, ...).
    pub kind: String,
    /// The block's fully qualified name, to retype instead of the ambiguous one.
    pub qualified_name: String,
    /// The block's id (32 hex digits), which always names it alone.
    pub id: String,
}

/// A failed query.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// A name matched no block.
    #[error("{name:?} matches no block{}", suggestion_text(suggestions))]
    NotFound {
        /// The name as the user typed it.
        name: String,
        /// Close names that do match blocks (at most 5), to suggest instead.
        suggestions: Vec<String>,
    },
    /// A name matched several blocks where the query needs one.
    #[error("{name:?} is ambiguous: {} blocks match; name one by qualified name or id:\n{}", candidates.len(), candidate_lines(candidates))]
    Ambiguous {
        /// The name as the user typed it.
        name: String,
        /// The blocks it could mean.
        candidates: Vec<Candidate>,
    },
    /// An argument out of its range (a depth over its cap, an empty name,
    /// an unknown edge type); the message says what was wrong.
    #[error("{0}")]
    Usage(String),
    /// The query ran and found nothing (no callers, no path).
    #[error("{0}")]
    NoResults(String),
    /// The storage engine failed while the query read.
    #[error("database {}: {source}", db.display())]
    Storage {
        /// The database directory.
        db: PathBuf,
        /// What the storage engine reported.
        #[source]
        source: StorageError,
    },
    /// The query engine failed while answering.
    #[error("database {}: {source}", db.display())]
    Query {
        /// The database directory.
        db: PathBuf,
        /// What the query engine reported.
        #[source]
        source: QueryError,
    },
}

impl ServiceError {
    /// Stable machine-readable code, as the CLI's JSON errors, HTTP and
    /// MCP report it.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::NotFound { .. } => ErrorCode::NotFound,
            ServiceError::Ambiguous { .. } => ErrorCode::Ambiguous,
            ServiceError::Usage(_) => ErrorCode::Usage,
            ServiceError::NoResults(_) => ErrorCode::NoResults,
            ServiceError::Storage { source, .. } => storage_code(source),
            ServiceError::Query { .. } => ErrorCode::Query,
        }
    }

    /// The HTTP status a server answers with: the code's, except for query
    /// errors, whose kind decides (a bad query is the client's fault).
    pub fn http_status(&self) -> u16 {
        match self {
            ServiceError::Query { source, .. } => match source {
                QueryError::InvalidQuery { .. } => 400,
                QueryError::BlockNotFound { .. } => 404,
                QueryError::SubgraphTooLarge { .. } | QueryError::Cycle { .. } => 422,
                _ => 500,
            },
            other => other.code().http_status(),
        }
    }

    /// Extra fields of a JSON error: `suggestions` for `not_found`,
    /// `candidates` for `ambiguous`; null otherwise.
    pub fn details(&self) -> serde_json::Value {
        match self {
            ServiceError::NotFound { suggestions, .. } => {
                serde_json::json!({ "suggestions": suggestions })
            }
            ServiceError::Ambiguous { candidates, .. } => {
                serde_json::json!({ "candidates": candidates })
            }
            _ => serde_json::Value::Null,
        }
    }
}

/// The code of a storage failure.
pub fn storage_code(error: &StorageError) -> ErrorCode {
    match error {
        StorageError::Locked { .. } => ErrorCode::Locked,
        StorageError::Corruption { .. } => ErrorCode::Corruption,
        StorageError::UnsupportedFormat { .. } => ErrorCode::UnsupportedFormat,
        StorageError::NotADatabase { .. } => ErrorCode::NoDatabase,
        _ => ErrorCode::Storage,
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
