//! kausal-storage: the crash-safe LSM engine for context blocks and edges.
#![deny(clippy::unwrap_used)]
