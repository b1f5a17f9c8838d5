//! The settings of a run: its seed, length, fault rates, action mix and
//! directory setup, and where the database lives on the simulated disk.

use crate::vfs::FaultConfig;
use crate::workload::Weights;

/// Settings of one simulated run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The seed every choice of the run derives from.
    pub seed: u64,
    /// Actions to run.
    pub ops: usize,
    /// Blocks ids are drawn from `1..=id_space`.
    pub id_space: u128,
    /// Fault probabilities of the simulated disk.
    pub faults: FaultConfig,
    /// How often each action is drawn.
    pub weights: Weights,
    /// Whether the database's parent directory exists before the run.
    pub dirs: DirSetup,
}

impl SimOptions {
    /// The standard mix: every fault kind at a low rate.
    pub fn standard(seed: u64, ops: usize) -> Self {
        Self {
            seed,
            ops,
            id_space: 64,
            faults: FaultConfig {
                read_error: 0.002,
                write_error: 0.002,
                short_write: 0.001,
                sync_error: 0.002,
                reordered_writeback: 0.7,
                torn_page: 0.05,
                torn_write: 0.5,
                dir_entry_persist: 0.5,
                bit_flip: 0.003,
                wal_bit_flip: 0.003,
                wal_flip_bits: 1,
                capacity_bytes: None,
            },
            weights: Weights::for_seed(seed),
            dirs: DirSetup::Seeded,
        }
    }

    /// Turns one fault kind off (see [`FAULT_KINDS`]).
    pub fn disable(&mut self, kind: &str) -> Result<(), String> {
        let faults = &mut self.faults;
        match kind {
            "read" => faults.read_error = 0.0,
            "write" => faults.write_error = 0.0,
            "short-write" => faults.short_write = 0.0,
            "sync" => faults.sync_error = 0.0,
            "torn-write" => faults.torn_write = 0.0,
            "reordered-writeback" => faults.reordered_writeback = 0.0,
            "torn-page" => faults.torn_page = 0.0,
            "dir-entry-rollback" => faults.dir_entry_persist = 0.0,
            "bit-flip" => faults.bit_flip = 0.0,
            "wal-bit-flip" => faults.wal_bit_flip = 0.0,
            "disk-full" => self.weights.disk_pressure = 0,
            other => {
                return Err(format!(
                    "unknown fault kind {other:?}; known: {}",
                    FAULT_KINDS.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Fault kinds [`SimOptions::disable`] accepts. `torn-write` is the older
/// in-order crash writeback (used when a crash does not reorder);
/// `dir-entry-rollback` off means every unsynced directory change is lost at
/// a crash (none survives).
pub const FAULT_KINDS: [&str; 11] = [
    "read",
    "write",
    "short-write",
    "sync",
    "torn-write",
    "reordered-writeback",
    "torn-page",
    "dir-entry-rollback",
    "bit-flip",
    "wal-bit-flip",
    "disk-full",
];

/// Which directories exist before the engine first opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirSetup {
    /// Half of the seeds start with [`SIM_PARENT_DIR`] durable, the others
    /// with nothing: the engine must make the directories it creates durable.
    #[default]
    Seeded,
    /// [`SIM_DIR`] exists durably (an operator made it): isolates the rest
    /// of the engine from how it makes new directories durable.
    DataDirExists,
}

/// The data directory inside the simulated disk.
pub const SIM_DIR: &str = "/sim/db";
/// The directory that holds [`SIM_DIR`]: for half of the seeds it exists
/// (durably) before the engine starts, for the others the engine creates it.
pub const SIM_PARENT_DIR: &str = "/sim";
