//! kausal-query: lookups, filters and graph traversals over a
//! `kausal_storage::StorageEngine`, with per-query arenas.
//!
//! Not built yet: this crate is the subject of issue 5 and holds no code.
#![deny(clippy::unwrap_used)]
