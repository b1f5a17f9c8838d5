//! kausal-sim: deterministic simulation of the production engine against a
//! fault-injecting in-memory file system.
//!
//! Not built yet: this crate is the subject of issue 4 and holds no code.
#![deny(clippy::unwrap_used)]
