//! kausal-sim: deterministic simulation of the production engine against a
//! fault-injecting in-memory file system.
//!
//! * [`SimVfs`]: files with separate current and durable bytes, unsynced
//!   pages written back in any order at a crash, directory entries (files
//!   and directories) durable only after a directory sync, seeded faults
//!   (read, write, short write, sync, reordered writeback, torn page, torn
//!   write, directory-entry rollback, bit flip at rest in tables, manifest
//!   and WAL, disk full) and crashes.
//! * [`workload`]: seeded action mixes and a code-graph generator.
//! * [`model`]: the `BTreeMap` reference model with durability tracking.
//! * [`simulator`]: runs a seed and checks the engine after every action.
//!
//! The same seed gives the same run: one PRNG per concern, no clock, no threads.
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

pub mod model;
pub mod simulator;
pub mod vfs;
pub mod workload;

pub use simulator::{
    DirSetup, FAULT_KINDS, RunReport, Runner, SimOptions, SimStats, Stop, run_seed,
};
pub use vfs::{BitFlip, CrashReport, FaultConfig, FaultCounts, SimVfs};
