//! The simulator: runs the production `Database` on a `SimVfs` under a
//! seeded workload and fault schedule, checking it against the reference
//! model after every operation and every recovery.
//!
//! Checks: every durable write survives a crash; nothing deleted comes back;
//! a read returns the model's bytes or a clear error (never wrong bytes); a
//! call that fails without poisoning the engine changed nothing; a batch is
//! all there or all gone; `Corruption` is accepted only for a file that had
//! a bit flipped at rest (for a WAL segment, named at or before the flipped
//! byte), so after a flip in synced WAL data the engine either reports it
//! or opens with every synced record; a read-only open after a crash writes
//! nothing and shows what the writable open then shows; no panic, whatever
//! the fault.
//!
//! Background work (`Database::run_background_step`: flush the oldest frozen
//! memtable, else one compaction merge) runs only where the workload puts
//! it, sometimes with an I/O failure or a power loss scheduled inside it.
//! Up to [`SNAPSHOT_SLOTS`] snapshots stay open across writes, steps,
//! flushes and compactions; each must answer exactly the model state of
//! the moment it was taken (blocks, block existence, outgoing and incoming
//! edges), carry the sequence of the last acknowledged write, or, once a
//! failure poisoned the engine, refuse reads with `Poisoned`.
//!
//! Where it lives: `options` holds a run's settings, `report` what it
//! did and why it stopped; this module the [`Runner`] (its setup, one
//! action, and [`run_seed`], the run loop); `operations` the writes,
//! maintenance calls and background steps it sends to the engine; `check`
//! the comparisons of what the engine shows with the model; `snapshots` the
//! open snapshots and their checks; `recovery` crash, restart and reopen,
//! with the read-only open after a crash.

mod check;
mod operations;
mod options;
mod recovery;
mod report;
mod snapshots;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use kausal_storage::{BlockId, Config, Database, StorageError, SyncMode};
use kausal_vfs::Vfs;

use crate::model::{Model, Mutation};
use crate::vfs::{FaultConfig, FaultCounts, SimVfs};
use crate::workload::{Action, SNAPSHOT_SLOTS, Workload};

use check::judge_corruption;
pub use options::{DirSetup, FAULT_KINDS, SIM_DIR, SIM_PARENT_DIR, SimOptions};
pub use report::{RunReport, SimStats, Stop};
use snapshots::OpenSnapshot;

/// Drives one engine against the model.
pub struct Runner {
    /// The simulated disk.
    pub vfs: SimVfs,
    engine: Option<Database>,
    /// The reference model of acknowledged and durable writes.
    pub model: Model,
    config: Config,
    dir: PathBuf,
    id_space: u128,
    op: usize,
    /// Opens after a crash or reopen.
    pub recoveries: u64,
    /// Read-only opens whose view was checked.
    pub read_only_opens: u64,
    /// Ids outside `1..=id_space` that the checker must also compare.
    pub extra_ids: BTreeSet<BlockId>,
    /// Actions left before a disk-pressure phase ends.
    pressure_ops_left: Option<u32>,
    /// Open snapshots of the current engine instance, by slot.
    snapshots: Vec<Option<OpenSnapshot>>,
    /// Sequence of the newest write the engine acknowledged (or recovered).
    last_sequence: u64,
    /// Sequence of the newest snapshot taken from this engine instance.
    last_snapshot_sequence: u64,
    /// What background steps and snapshot checks did.
    pub stats: SimStats,
    /// Print each action (set `KAUSAL_SIM_TRACE=1`).
    trace: bool,
}

/// Length of a disk-pressure phase, in actions.
const DISK_PRESSURE_OPS: u32 = 25;

fn describe(action: &Action) -> String {
    match action {
        Action::Write { mutations, batch } => {
            let parts: Vec<String> = mutations
                .iter()
                .map(|mutation| match mutation {
                    Mutation::PutBlock(id, block) => {
                        format!("put {} ({} bytes)", id.as_u128(), block.content.len())
                    }
                    Mutation::DeleteBlock(id) => format!("delete {}", id.as_u128()),
                    Mutation::PutEdge(edge) => {
                        format!(
                            "edge {}-{}->{}",
                            edge.source.as_u128(),
                            edge.edge_type,
                            edge.target.as_u128()
                        )
                    }
                    Mutation::DeleteEdge(edge) => format!(
                        "delete edge {}-{}->{}",
                        edge.source.as_u128(),
                        edge.edge_type,
                        edge.target.as_u128()
                    ),
                })
                .collect();
            format!(
                "{}[{}]",
                if *batch { "batch " } else { "" },
                parts.join(", ")
            )
        }
        other => format!("{other:?}"),
    }
}

fn engine_config(seed: u64) -> Config {
    let mut rng = fastrand::Rng::with_seed(seed.rotate_left(17));
    Config::builder()
        .memtable_budget_bytes(64 * 1024)
        .wal_segment_bytes([8 * 1024, 32 * 1024, 256 * 1024][rng.usize(0..3)])
        .wal_buffer_bytes([0, 2048, 256 * 1024][rng.usize(0..3)])
        .sync_mode(
            [
                SyncMode::EveryWrite,
                SyncMode::Manual,
                SyncMode::EveryBytes(16 * 1024),
            ][rng.usize(0..3)],
        )
        .auto_compact(rng.bool())
        .compaction_min_tables(3)
        .compaction_base_bytes(16 * 1024)
        .compaction_tier_ratio(4)
        .wal_salvage(false)
        // Background work runs where the simulator schedules it.
        .background_worker(false)
        .build()
}

impl Runner {
    /// Opens a fresh engine on a fresh simulated disk.
    /// For half of the seeds the parent of the data directory already
    /// exists; the engine creates the rest.
    pub fn new(seed: u64, id_space: u128, faults: FaultConfig) -> Result<Self, Stop> {
        Self::with_dirs(seed, id_space, faults, DirSetup::Seeded)
    }

    /// Like [`Runner::new`], with the given directory setup.
    pub fn with_dirs(
        seed: u64,
        id_space: u128,
        faults: FaultConfig,
        dirs: DirSetup,
    ) -> Result<Self, Stop> {
        let vfs = SimVfs::new(seed, faults);
        let premade = match dirs {
            DirSetup::Seeded => fastrand::Rng::with_seed(seed.rotate_left(29))
                .bool()
                .then_some(SIM_PARENT_DIR),
            DirSetup::DataDirExists => Some(SIM_DIR),
        };
        if let Some(premade) = premade {
            // Operator-made directories, long since durable.
            vfs.set_faults_enabled(false);
            let made = vfs.create_dir_all(Path::new(premade)).and_then(|()| {
                Path::new(premade)
                    .ancestors()
                    .skip(1)
                    .try_for_each(|parent| vfs.sync_dir(parent))
            });
            vfs.set_faults_enabled(true);
            if let Err(error) = made {
                return Err(Stop::Failure {
                    op: 0,
                    message: format!("setting up {premade}: {error}"),
                });
            }
        }
        let mut runner = Self {
            vfs,
            engine: None,
            model: Model::default(),
            config: engine_config(seed),
            dir: PathBuf::from(SIM_DIR),
            id_space,
            op: 0,
            recoveries: 0,
            read_only_opens: 0,
            extra_ids: BTreeSet::new(),
            pressure_ops_left: None,
            snapshots: (0..SNAPSHOT_SLOTS).map(|_| None).collect(),
            last_sequence: 0,
            last_snapshot_sequence: 0,
            stats: SimStats::default(),
            trace: std::env::var_os("KAUSAL_SIM_TRACE").is_some(),
        };
        runner.open_engine()?;
        Ok(runner)
    }

    /// The engine's sync mode for this run.
    pub fn sync_mode(&self) -> SyncMode {
        self.config.sync_mode()
    }

    fn fail(&self, message: impl Into<String>) -> Stop {
        Stop::Failure {
            op: self.op,
            message: message.into(),
        }
    }

    /// Classifies an error met while reading: corruption in a file that had
    /// a bit flipped is detection (ends the run), anything else a failure.
    fn read_error(&self, error: &StorageError, context: &str) -> Stop {
        if let StorageError::Corruption { file, offset, .. } = error {
            match judge_corruption(file, *offset, &self.vfs.flips()) {
                Ok(flips) => {
                    return Stop::CorruptionDetected {
                        op: self.op,
                        message: format!("{context}: {error} (flipped: {flips})"),
                    };
                }
                Err(why) => {
                    return self.fail(format!("{context}: {error}: {why}{}", self.crash_context()));
                }
            }
        }
        self.fail(format!(
            "{context}: unexpected error {error}{}",
            self.crash_context()
        ))
    }

    /// What the last crash did to the disk, for failure messages.
    fn crash_context(&self) -> String {
        if self.vfs.counts().crashes == 0 {
            return String::new();
        }
        format!(" ({})", self.vfs.last_crash().summary())
    }

    fn engine(&mut self) -> Result<&Database, Stop> {
        let op = self.op;
        self.engine.as_ref().ok_or(Stop::Failure {
            op,
            message: "no open engine".into(),
        })
    }

    /// Counts one action against a disk-pressure phase; lifts it at the end.
    fn advance_pressure(&mut self) {
        if let Some(remaining) = self.pressure_ops_left.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.pressure_ops_left = None;
                let mut faults = self.vfs.faults();
                faults.capacity_bytes = None;
                self.vfs.set_faults(faults);
            }
        }
    }

    /// Makes the disk nearly full for the next `DISK_PRESSURE_OPS` actions.
    fn disk_pressure(&mut self, workload: &mut Workload) {
        let mut faults = self.vfs.faults();
        faults.capacity_bytes = Some(self.vfs.used_bytes() + workload.below(256 * 1024));
        self.vfs.set_faults(faults);
        self.pressure_ops_left = Some(DISK_PRESSURE_OPS);
    }

    /// Runs one workload action.
    pub fn step(&mut self, action: Action, workload: &mut Workload) -> Result<(), Stop> {
        self.op += 1;
        if self.trace {
            eprintln!("op {}: {}", self.op, describe(&action));
        }
        self.advance_pressure();
        match action {
            Action::Write { mutations, batch } => self.write_inner(mutations, batch),
            Action::InvalidPut { zero_id } => self.invalid_put(zero_id),
            Action::Find(id) => self.check_id(id),
            Action::Walk(id) => self.walk(id),
            Action::Flush => self.maintenance(Database::flush, true),
            Action::Compact => self.maintenance(|engine| engine.compact().map(|_| ()), false),
            Action::CompactAll => {
                self.maintenance(|engine| engine.compact_all().map(|_| ()), false)
            }
            Action::Sync => self.maintenance(Database::sync, true),
            Action::Crash => self.restart(true),
            Action::Reopen => self.restart(false),
            Action::DiskPressure => {
                self.disk_pressure(workload);
                Ok(())
            }
            Action::BackgroundStep { fail_at } => self.background_step(fail_at),
            Action::TakeSnapshot(slot) => self.take_snapshot(slot),
            Action::CheckSnapshot(slot) => self.check_snapshot_slot(slot),
            Action::DropSnapshot(slot) => {
                self.snapshots[slot % SNAPSHOT_SLOTS] = None;
                Ok(())
            }
        }
    }

    /// The open engine, if any.
    pub fn engine_ref(&self) -> Option<&Database> {
        self.engine.as_ref()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Runs one seed: the workload, a final full check, a last crash and check.
pub fn run_seed(options: &SimOptions) -> RunReport {
    let mut ops_run = 0;
    let mut recoveries = 0;
    let mut read_only_opens = 0;
    let mut vfs_counts = FaultCounts::default();
    let mut stats = SimStats::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), Stop> {
        let mut runner =
            Runner::with_dirs(options.seed, options.id_space, options.faults, options.dirs)?;
        let mut workload = Workload::new(options.seed, options.id_space, options.weights);
        let result = (|| {
            for _ in 0..options.ops {
                let action = workload.next_action();
                runner.step(action, &mut workload)?;
                ops_run += 1;
            }
            runner.check_all()?;
            runner.check_open_snapshots()?;
            runner.restart(true)
        })();
        recoveries = runner.recoveries;
        stats = runner.stats;
        read_only_opens = runner.read_only_opens;
        vfs_counts = runner.vfs.counts();
        result
    }));
    let stop = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(stop)) => Some(stop),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            Some(Stop::Failure {
                op: ops_run + 1,
                message: format!("panic: {message}"),
            })
        }
    };
    RunReport {
        seed: options.seed,
        ops_run,
        recoveries,
        read_only_opens,
        faults: vfs_counts,
        stats,
        stop,
    }
}
