//! kausal-sim: deterministic simulation of the production engine against a
//! fault-injecting in-memory file system.
//!
//! * [`SimVfs`]: files with separate current and durable bytes, directory
//!   entries durable only after a directory sync, seeded faults (read,
//!   write, short write, sync, torn write at crash, bit flip at rest, disk
//!   full) and crashes.
//! * [`workload`]: seeded action mixes and a code-graph generator.
//! * [`model`]: the `BTreeMap` reference model with durability tracking.
//! * [`simulator`]: runs a seed and checks the engine after every action.
//!
//! The same seed gives the same run: one PRNG per concern, no clock, no threads.
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

pub mod model;
pub mod simulator;
pub mod vfs;
pub mod workload;

pub use simulator::{RunReport, Runner, SimOptions, Stop, run_seed};
pub use vfs::{FaultConfig, FaultCounts, SimVfs};
