//! Errors of the memory crate: what went wrong with which handle.

use thiserror::Error;

/// A handle could not be resolved against a coordinator.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MemoryError {
    /// The handle was made before the coordinator's last reset.
    #[error(
        "stale arena handle: made in generation {handle_generation}, coordinator is at generation {current_generation}"
    )]
    StaleHandle {
        /// Generation the coordinator was at when the handle was made.
        handle_generation: u64,
        /// Generation the coordinator is at now (one more per `reset()`).
        current_generation: u64,
    },
    /// The handle was made by a different coordinator.
    #[error("arena handle belongs to coordinator {handle_owner}, not to coordinator {owner}")]
    ForeignHandle {
        /// Identity of the coordinator that made the handle.
        handle_owner: u64,
        /// Identity of the coordinator asked to resolve it.
        owner: u64,
    },
}
