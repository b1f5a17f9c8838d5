//! kausal-cli: the `kausal` command as a library (the binary in `main.rs`
//! parses, runs and prints with it; the benchmark harness measures name
//! resolution through it). Parse (`cli`), run (`commands`, typed reports),
//! print (`print`).

#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod location;
pub mod model;
pub mod names;
pub mod print;
pub mod reader;
pub mod server;
