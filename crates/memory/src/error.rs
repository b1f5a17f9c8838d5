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
        handle_generation: u64,
        current_generation: u64,
    },
    /// The handle was made by a different coordinator.
    #[error("arena handle belongs to coordinator {handle_owner}, not to coordinator {owner}")]
    ForeignHandle { handle_owner: u64, owner: u64 },
}
