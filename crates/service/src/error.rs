//! `ServiceError`: every way a query fails. The transports map it to their
//! own codes (the CLI's exit status and JSON `code`, HTTP status, MCP
//! error) without losing the kind.

use std::path::PathBuf;

use kausal_query::QueryError;
use kausal_storage::StorageError;
use thiserror::Error;

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
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Ambiguous { .. } => "ambiguous",
            ServiceError::Usage(_) => "usage",
            ServiceError::NoResults(_) => "no_results",
            ServiceError::Storage { source, .. } => match source {
                StorageError::Locked { .. } => "locked",
                StorageError::Corruption { .. } => "corruption",
                StorageError::UnsupportedFormat { .. } => "unsupported_format",
                StorageError::NotADatabase { .. } => "no_database",
                _ => "storage",
            },
            ServiceError::Query { .. } => "query",
        }
    }

    /// The HTTP status a server answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            ServiceError::NotFound { .. } | ServiceError::NoResults(_) => 404,
            ServiceError::Ambiguous { .. } => 409,
            ServiceError::Usage(_) => 400,
            ServiceError::Query { source, .. } => match source {
                QueryError::InvalidQuery { .. } => 400,
                QueryError::BlockNotFound { .. } => 404,
                QueryError::SubgraphTooLarge { .. } | QueryError::Cycle { .. } => 422,
                _ => 500,
            },
            ServiceError::Storage { .. } => 500,
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
