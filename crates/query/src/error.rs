//! `QueryError`: what made a query fail.

use kausal_storage::{BlockId, StorageError};
use thiserror::Error;

/// Result of a query.
pub type QueryResult<T> = Result<T, QueryError>;

/// A failed query.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The query's parameters are out of range or inconsistent.
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// Which parameter and its allowed range.
        reason: String,
    },
    /// A start (or target) block does not exist.
    #[error("block {id} does not exist")]
    BlockNotFound {
        /// The missing block.
        id: BlockId,
    },
    /// A topological sort met a cycle; `blocks` are some blocks on it.
    #[error("the graph has a cycle through {}", blocks.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", "))]
    Cycle {
        /// Blocks on the cycle.
        blocks: Vec<BlockId>,
    },
    /// The working subgraph grew beyond its limit.
    #[error("query touched more than {limit} blocks")]
    SubgraphTooLarge {
        /// The limit (`MAX_SUBGRAPH_NODES`).
        limit: usize,
    },
    /// The storage engine failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl QueryError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidQuery {
            reason: reason.into(),
        }
    }
}
