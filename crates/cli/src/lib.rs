//! kausal-cli: the `kausal` command as a library (the binary in `main.rs`
//! parses, runs and prints with it). Parse (`cli`), run (`commands`:
//! dispatch, and the commands that write; queries are kausal-service's),
//! print (`print`; `print_agent` for context, impact, outline, map); `server/` holds the transports (HTTP, MCP, watch,
//! discovery); `precise` reads SCIP indexes and `index/` runs the
//! indexers (`kausal index`).

#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod export;
pub mod index;
pub mod ingest;
pub mod location;
pub mod precise;
pub mod print;
pub mod print_agent;
pub mod remote;
pub mod server;
pub mod style;
pub mod summary;
