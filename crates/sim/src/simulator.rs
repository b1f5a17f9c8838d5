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

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_storage::{
    BlockId, Config, ContextBlock, Database, Snapshot, StorageError, SyncMode, WriteBatch,
};
use kausal_vfs::Vfs;

use crate::model::{Model, ModelBlock, ModelState, Mutation};
use crate::vfs::{BitFlip, FaultConfig, FaultCounts, SimVfs, is_wal_segment};
use crate::workload::{Action, SNAPSHOT_SLOTS, ScheduledFailure, Weights, Workload};

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

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A check failed: the engine lost, invented or corrupted data, or panicked.
    Failure {
        /// The action at which the check failed.
        op: usize,
        /// What differed.
        message: String,
    },
    /// A bit flipped at rest was detected and reported naming the file; the
    /// database needs an operator, so the run ends here (a success).
    CorruptionDetected {
        /// The action at which it was detected.
        op: usize,
        /// The engine's report.
        message: String,
    },
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The run's seed.
    pub seed: u64,
    /// Actions run before the end (or the stop).
    pub ops_run: usize,
    /// Opens after a crash or reopen.
    pub recoveries: u64,
    /// Read-only opens whose view was checked.
    pub read_only_opens: u64,
    /// Faults the simulated disk injected.
    pub faults: FaultCounts,
    /// What background steps and snapshot checks did.
    pub stats: SimStats,
    /// Why the run ended early, if it did.
    pub stop: Option<Stop>,
}

/// What the background steps and snapshot checks of a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStats {
    /// Background steps that flushed a frozen memtable.
    pub step_flushes: u64,
    /// Background steps that ran a compaction merge.
    pub step_merges: u64,
    /// Background steps that found nothing to do.
    pub idle_steps: u64,
    /// Background steps that failed (injected fault, scheduled failure).
    pub failed_steps: u64,
    /// Scheduled failures that fired inside a background step.
    pub step_failures_fired: u64,
    /// Of those, power losses inside a background step.
    pub step_crashes: u64,
    /// Flushes run by writes that stalled behind two frozen memtables (or a
    /// compaction backlog) and ran a step themselves.
    pub stall_flushes: u64,
    /// Writes that stalled.
    pub write_stalls: u64,
    /// Snapshots taken.
    pub snapshots_taken: u64,
    /// Snapshots compared in full with the model state of their sequence.
    pub snapshot_checks: u64,
    /// Of those, checks of a snapshot taken before a flush or compaction
    /// that completed while it stayed open.
    pub snapshot_checks_across_changes: u64,
    /// Snapshot checks answered with `Poisoned` by a poisoned engine.
    pub snapshot_reads_refused: u64,
}

impl SimStats {
    /// Adds another run's counts.
    pub fn add(&mut self, other: &SimStats) {
        self.step_flushes += other.step_flushes;
        self.step_merges += other.step_merges;
        self.idle_steps += other.idle_steps;
        self.failed_steps += other.failed_steps;
        self.step_failures_fired += other.step_failures_fired;
        self.step_crashes += other.step_crashes;
        self.stall_flushes += other.stall_flushes;
        self.write_stalls += other.write_stalls;
        self.snapshots_taken += other.snapshots_taken;
        self.snapshot_checks += other.snapshot_checks;
        self.snapshot_checks_across_changes += other.snapshot_checks_across_changes;
        self.snapshot_reads_refused += other.snapshot_reads_refused;
    }
}

/// An open snapshot and what it must show.
struct OpenSnapshot {
    snapshot: Snapshot,
    /// The model state when it was taken.
    expected: ModelState,
    /// Flushes plus compactions the engine had completed when it was taken.
    background_work: u64,
}

/// What a snapshot check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SnapshotCheck {
    /// Every read answered the expected state.
    Matched,
    /// Reads were refused with `Poisoned` (the engine is poisoned).
    Refused,
}

impl RunReport {
    /// The failure message, if the run failed.
    pub fn failure(&self) -> Option<&str> {
        match &self.stop {
            Some(Stop::Failure { message, .. }) => Some(message),
            _ => None,
        }
    }
}

/// The data directory inside the simulated disk.
pub const SIM_DIR: &str = "/sim/db";
/// The directory that holds [`SIM_DIR`]: for half of the seeds it exists
/// (durably) before the engine starts, for the others the engine creates it.
pub const SIM_PARENT_DIR: &str = "/sim";

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

/// Every crash at an action number divisible by this also opens the
/// crashed disk read-only first: it must write nothing and show what the
/// writable open then shows.
const READ_ONLY_CHECK_EVERY: usize = 3;

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

fn to_block(id: BlockId, block: &ModelBlock) -> ContextBlock {
    ContextBlock::new(id, &block.source_uri, &block.metadata_json, &block.content)
}

fn model_block(view: &kausal_storage::BlockView<'_>) -> ModelBlock {
    ModelBlock {
        source_uri: view.source_uri.to_string(),
        metadata_json: view.metadata_json.to_string(),
        content: view.content.to_string(),
    }
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

    fn open_engine(&mut self) -> Result<(), Stop> {
        for attempt in 0..12 {
            if attempt >= 8 {
                // Keep injecting until late: recovery must cope with faults,
                // but a run should not stall on an unlucky streak.
                self.vfs.set_faults_enabled(false);
            }
            let result =
                Database::open_with(Arc::new(self.vfs.clone()), &self.dir, self.config.clone());
            self.vfs.set_faults_enabled(true);
            match result {
                Ok(engine) => {
                    let sequence = engine.snapshot().sequence();
                    self.last_sequence = sequence;
                    self.last_snapshot_sequence = sequence;
                    self.engine = Some(engine);
                    return Ok(());
                }
                Err(StorageError::Io(_)) => continue,
                Err(error @ StorageError::Corruption { .. }) => {
                    return Err(self.read_error(&error, "open"));
                }
                Err(error) => {
                    return Err(self.fail(format!("open failed: {error}{}", self.crash_context())));
                }
            }
        }
        Err(self.fail("open kept failing with faults disabled"))
    }

    /// Everything the engine shows, read with faults disabled.
    pub fn observe(&mut self) -> Result<ModelState, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.observe_inner();
        self.vfs.set_faults_enabled(true);
        result
    }

    fn observe_inner(&mut self) -> Result<ModelState, Stop> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| self.fail("no open engine"))?;
        self.observe_engine(engine)
    }

    /// Everything `engine` shows: every block and the outgoing edges of
    /// every id the workload uses.
    fn observe_engine(&self, engine: &Database) -> Result<ModelState, Stop> {
        let mut state = ModelState::default();
        let snapshot = engine.snapshot();
        let views = snapshot
            .iterate_blocks()
            .map_err(|error| self.read_error(&error, "iterate_blocks"))?;
        for view in views {
            let view = view.map_err(|error| self.read_error(&error, "iterate_blocks"))?;
            state.blocks.insert(view.id, model_block(&view));
        }
        let ids = (1..=self.id_space)
            .map(BlockId::from_u128)
            .chain(self.extra_ids.iter().copied());
        for id in ids {
            let edges = engine
                .snapshot()
                .find_outgoing_edges(id)
                .map_err(|error| self.read_error(&error, &format!("edges of {id}")))?;
            state.edges.extend(edges);
        }
        Ok(state)
    }

    /// Compares what the engine shows for `id` with the model's current state.
    pub fn check_id(&mut self, id: BlockId) -> Result<(), Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.check_id_inner(id);
        self.vfs.set_faults_enabled(true);
        result
    }

    fn check_id_inner(&self, id: BlockId) -> Result<(), Stop> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| self.fail("no open engine"))?;
        let expected = self.model.current();
        let found = engine
            .snapshot()
            .find_block(id)
            .map_err(|error| self.read_error(&error, &format!("find_block {id}")))?
            .map(|view| model_block(&view));
        if found.as_ref() != expected.blocks.get(&id) {
            return Err(self.fail(format!(
                "block {id}: engine has {:?}, model has {:?}",
                found.as_ref().map(|b| (b.content.len(), &b.source_uri)),
                expected
                    .blocks
                    .get(&id)
                    .map(|b| (b.content.len(), &b.source_uri))
            )));
        }
        let outgoing = engine
            .snapshot()
            .find_outgoing_edges(id)
            .map_err(|error| self.read_error(&error, &format!("edges from {id}")))?;
        if outgoing != expected.outgoing(id) {
            return Err(self.fail(format!(
                "outgoing edges of {id}: engine {outgoing:?}, model {:?}",
                expected.outgoing(id)
            )));
        }
        let incoming = engine
            .snapshot()
            .find_incoming_edges(id)
            .map_err(|error| self.read_error(&error, &format!("edges to {id}")))?;
        if incoming != expected.incoming(id) {
            return Err(self.fail(format!(
                "incoming edges of {id}: engine {incoming:?}, model {:?}",
                expected.incoming(id)
            )));
        }
        Ok(())
    }

    fn touched(mutations: &[Mutation]) -> BTreeSet<BlockId> {
        let mut ids = BTreeSet::new();
        for mutation in mutations {
            match mutation {
                Mutation::PutBlock(id, _) | Mutation::DeleteBlock(id) => {
                    ids.insert(*id);
                }
                Mutation::PutEdge(edge) | Mutation::DeleteEdge(edge) => {
                    ids.insert(edge.source);
                    ids.insert(edge.target);
                }
            }
        }
        ids
    }

    /// Sends one write to the engine (as one action of the run) and updates
    /// the model by its outcome.
    pub fn write(&mut self, mutations: Vec<Mutation>, as_batch: bool) -> Result<(), Stop> {
        self.op += 1;
        self.advance_pressure();
        self.write_inner(mutations, as_batch)
    }

    fn write_inner(&mut self, mutations: Vec<Mutation>, as_batch: bool) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let before = engine.metrics();
        let result = if as_batch || mutations.len() != 1 {
            let mut batch = WriteBatch::new();
            for mutation in &mutations {
                let added = match mutation {
                    Mutation::PutBlock(id, block) => batch.put_block(to_block(*id, block)),
                    Mutation::DeleteBlock(id) => batch.delete_block(*id),
                    Mutation::PutEdge(edge) => batch.put_edge(*edge),
                    Mutation::DeleteEdge(edge) => batch.delete_edge(*edge),
                };
                if let Err(error) = added {
                    return Err(Stop::Failure {
                        op: 0,
                        message: format!("valid batch op rejected: {error}"),
                    });
                }
            }
            engine.write_batch(&batch)
        } else {
            match &mutations[0] {
                Mutation::PutBlock(id, block) => engine.put_block_fields(
                    *id,
                    &block.source_uri,
                    &block.metadata_json,
                    &block.content,
                ),
                Mutation::DeleteBlock(id) => engine.delete_block(*id),
                Mutation::PutEdge(edge) => engine.put_edge(*edge),
                Mutation::DeleteEdge(edge) => engine.delete_edge(*edge),
            }
        };
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!("    -> {result:?} poisoned={poisoned}");
        }
        // A new WAL segment (a freeze of the full memtable, or a full
        // segment) is started only after the old one is synced: every write
        // acknowledged before this one is durable.
        if engine.metrics().wal_active_segment != before.wal_active_segment {
            self.model.mark_durable();
        }
        let touched = Self::touched(&mutations);
        match result {
            Ok(sequence) => {
                // One sequence per op, consecutive, right after the last
                // acknowledged write.
                let expected = self.last_sequence + mutations.len() as u64;
                if sequence != expected {
                    return Err(self.fail(format!(
                        "write of {} ops acknowledged with sequence {sequence}, expected {expected}",
                        mutations.len()
                    )));
                }
                self.last_sequence = sequence;
                self.model.acknowledge(mutations);
                if self.config.sync_mode() == SyncMode::EveryWrite {
                    self.model.mark_durable();
                }
            }
            Err(error) => {
                self.expect_fault_error(&error)?;
                if poisoned {
                    self.model.record_maybe(mutations);
                    self.check_poisoned_engine(&engine)?;
                    // This handle must go too: the directory lock is released
                    // when the last one drops.
                    drop(engine);
                    return self.restart(self.op.is_multiple_of(2));
                }
                let next = engine.metrics().next_sequence;
                if next != self.last_sequence + 1 {
                    return Err(self.fail(format!(
                        "a failed write that did not poison the engine moved its next sequence \
                         to {next} (last acknowledged {})",
                        self.last_sequence
                    )));
                }
            }
        }
        self.stats.stall_flushes += engine.metrics().flushes - before.flushes;
        for id in touched {
            self.check_id(id)?;
        }
        Ok(())
    }

    /// Accepts the errors a fault can cause; anything else is a failure.
    fn expect_fault_error(&self, error: &StorageError) -> Result<(), Stop> {
        match error {
            // WriteStalled: flushes keep failing (a full disk); the write
            // was refused before anything was logged.
            StorageError::Io(_)
            | StorageError::Poisoned { .. }
            | StorageError::WriteStalled { .. } => Ok(()),
            StorageError::Corruption { .. } => Err(self.read_error(error, "write")),
            other => Err(self.fail(format!("write failed with a non-fault error: {other}"))),
        }
    }

    /// Runs a maintenance call; a poisoning failure forces a restart.
    fn maintenance(
        &mut self,
        call: impl FnOnce(&Database) -> Result<(), StorageError>,
        durable_on_success: bool,
    ) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let result = call(&engine);
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!("    -> {result:?} poisoned={poisoned}");
        }
        match result {
            Ok(()) => {
                if durable_on_success {
                    self.model.mark_durable();
                }
                Ok(())
            }
            Err(error) => self.maintenance_failed(engine, &error, poisoned),
        }
    }

    /// After a failed flush, compaction, sync or background step: a
    /// poisoning failure restarts the engine (after checking what the
    /// poisoned engine still serves); any other must have changed nothing
    /// a reader sees, through a new snapshot or an open one.
    fn maintenance_failed(
        &mut self,
        engine: Database,
        error: &StorageError,
        poisoned: bool,
    ) -> Result<(), Stop> {
        self.expect_fault_error(error)?;
        if poisoned {
            self.check_poisoned_engine(&engine)?;
            // The directory lock goes with the last handle.
            drop(engine);
            return self.restart(!self.op.is_multiple_of(2));
        }
        self.check_all()?;
        self.check_open_snapshots()
    }

    /// Runs one background step, with a failure (or power loss) scheduled
    /// inside it when `fail_at` says so, and checks its outcome like any
    /// maintenance call; after a power loss the engine is recovered.
    fn background_step(&mut self, fail_at: Option<ScheduledFailure>) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let before = engine.metrics();
        let crashes_before = self.vfs.counts().crashes;
        if let Some(failure) = fail_at {
            self.vfs.schedule_failure(failure.at, failure.crash);
        }
        let result = engine.run_background_step();
        let fired = fail_at.is_some() && !self.vfs.cancel_scheduled_failure();
        let crashed = self.vfs.counts().crashes > crashes_before;
        let poisoned = engine.is_poisoned();
        if self.trace {
            eprintln!(
                "    -> {result:?} poisoned={poisoned} scheduled failure fired={fired} crashed={crashed} \
                 (frozen memtables before: {})",
                before.frozen_memtables
            );
        }
        if fired {
            self.stats.step_failures_fired += 1;
        }
        match &result {
            Ok(true) if before.frozen_memtables > 0 => self.stats.step_flushes += 1,
            Ok(true) => self.stats.step_merges += 1,
            Ok(false) => self.stats.idle_steps += 1,
            Err(_) => self.stats.failed_steps += 1,
        }
        if let Err(error) = &result {
            self.expect_fault_error(error)?;
        }
        if crashed {
            // The power went out inside the step: what the engine still
            // holds in memory must stay consistent until it is dropped.
            self.stats.step_crashes += 1;
            if poisoned {
                self.check_poisoned_engine(&engine)?;
            } else {
                self.check_open_snapshots()?;
            }
            drop(engine);
            return self.reopen_after(true);
        }
        match result {
            Ok(did_work) => {
                let after = engine.metrics();
                if did_work && before.frozen_memtables > 0 {
                    if after.frozen_memtables + 1 != before.frozen_memtables {
                        return Err(self.fail(format!(
                            "a flush step left {} frozen memtables of {}",
                            after.frozen_memtables, before.frozen_memtables
                        )));
                    }
                } else if did_work && after.compactions != before.compactions + 1 {
                    return Err(self.fail("a compaction step merged nothing"));
                }
                Ok(())
            }
            Err(error) => self.maintenance_failed(engine, &error, poisoned),
        }
    }

    /// Takes a snapshot into `slot`; its sequence must be the last
    /// acknowledged write's, and never below an earlier snapshot's.
    fn take_snapshot(&mut self, slot: usize) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let snapshot = engine.snapshot();
        let sequence = snapshot.sequence();
        if sequence != self.last_sequence || sequence < self.last_snapshot_sequence {
            return Err(self.fail(format!(
                "snapshot taken at sequence {sequence}: last acknowledged write {}, last snapshot {}",
                self.last_sequence, self.last_snapshot_sequence
            )));
        }
        self.last_snapshot_sequence = sequence;
        let metrics = engine.metrics();
        self.snapshots[slot % SNAPSHOT_SLOTS] = Some(OpenSnapshot {
            snapshot,
            expected: self.model.current().clone(),
            background_work: metrics.flushes + metrics.compactions,
        });
        self.stats.snapshots_taken += 1;
        Ok(())
    }

    /// Checks the snapshot in `slot`, if one is open there.
    fn check_snapshot_slot(&mut self, slot: usize) -> Result<(), Stop> {
        let engine = self.engine()?.clone();
        let Some(open) = &self.snapshots[slot % SNAPSHOT_SLOTS] else {
            return Ok(());
        };
        let outcome = self.check_snapshot(&engine, &open.snapshot, &open.expected, slot)?;
        if outcome == SnapshotCheck::Matched {
            let metrics = engine.metrics();
            if metrics.flushes + metrics.compactions > open.background_work {
                self.stats.snapshot_checks_across_changes += 1;
            }
        }
        self.count_check(outcome);
        Ok(())
    }

    fn count_check(&mut self, outcome: SnapshotCheck) {
        match outcome {
            SnapshotCheck::Matched => self.stats.snapshot_checks += 1,
            SnapshotCheck::Refused => self.stats.snapshot_reads_refused += 1,
        }
    }

    /// Checks every open snapshot.
    fn check_open_snapshots(&mut self) -> Result<(), Stop> {
        for slot in 0..SNAPSHOT_SLOTS {
            self.check_snapshot_slot(slot)?;
        }
        Ok(())
    }

    /// A poisoned engine either refuses reads with `Poisoned` or serves
    /// exactly the acknowledged state (a failed manifest replace poisons
    /// writes only): checked on every open snapshot and on a new one, which
    /// must not show the failed write that poisoned it.
    fn check_poisoned_engine(&mut self, engine: &Database) -> Result<(), Stop> {
        self.check_open_snapshots()?;
        let fresh = engine.snapshot();
        let expected = self.model.current().clone();
        let outcome = self.check_snapshot(engine, &fresh, &expected, SNAPSHOT_SLOTS)?;
        self.count_check(outcome);
        Ok(())
    }

    /// Compares everything `snapshot` shows with `expected`, faults off.
    fn check_snapshot(
        &self,
        engine: &Database,
        snapshot: &Snapshot,
        expected: &ModelState,
        slot: usize,
    ) -> Result<SnapshotCheck, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.check_snapshot_inner(engine, snapshot, expected, slot);
        self.vfs.set_faults_enabled(true);
        result
    }

    fn check_snapshot_inner(
        &self,
        engine: &Database,
        snapshot: &Snapshot,
        expected: &ModelState,
        slot: usize,
    ) -> Result<SnapshotCheck, Stop> {
        let name = format!("snapshot {slot} at sequence {}", snapshot.sequence());
        // `Err(None)`: reads refused on a poisoned engine, as they must be.
        let refused = |error: StorageError, what: &str| -> Result<SnapshotCheck, Stop> {
            if matches!(error, StorageError::Poisoned { .. }) && engine.is_poisoned() {
                return Ok(SnapshotCheck::Refused);
            }
            Err(self.read_error(&error, &format!("{name}: {what}")))
        };
        let mut blocks = std::collections::BTreeMap::new();
        match snapshot.iterate_blocks() {
            Ok(views) => {
                for view in views {
                    match view {
                        Ok(view) => {
                            blocks.insert(view.id, model_block(&view));
                        }
                        Err(error) => return refused(error, "iterate_blocks"),
                    }
                }
            }
            Err(error) => return refused(error, "iterate_blocks"),
        }
        if blocks != expected.blocks {
            let differing: Vec<u128> = blocks
                .keys()
                .chain(expected.blocks.keys())
                .filter(|id| blocks.get(id) != expected.blocks.get(id))
                .map(|id| id.as_u128())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .take(5)
                .collect();
            return Err(self.fail(format!(
                "{name}: iterate_blocks shows {} blocks, the model at its sequence {} \
                 (differing ids {differing:?})",
                blocks.len(),
                expected.blocks.len()
            )));
        }
        let ids = (1..=self.id_space)
            .map(BlockId::from_u128)
            .chain(self.extra_ids.iter().copied());
        for id in ids {
            let want = expected.blocks.get(&id);
            let found = match snapshot.find_block(id) {
                Ok(found) => found.map(|view| model_block(&view)),
                Err(error) => return refused(error, &format!("find_block {id}")),
            };
            if found.as_ref() != want {
                return Err(self.fail(format!(
                    "{name}: block {id}: snapshot has {:?}, model has {:?}",
                    found.as_ref().map(|b| (b.content.len(), &b.source_uri)),
                    want.map(|b| (b.content.len(), &b.source_uri))
                )));
            }
            match snapshot.block_exists(id) {
                Ok(exists) if exists == want.is_some() => {}
                Ok(exists) => {
                    return Err(self.fail(format!(
                        "{name}: block_exists({id}) is {exists}, find_block agrees with the model"
                    )));
                }
                Err(error) => return refused(error, &format!("block_exists {id}")),
            }
            let outgoing = match snapshot.find_outgoing_edges(id) {
                Ok(edges) => edges,
                Err(error) => return refused(error, &format!("edges from {id}")),
            };
            if outgoing != expected.outgoing(id) {
                return Err(self.fail(format!(
                    "{name}: outgoing edges of {id}: snapshot {outgoing:?}, model {:?}",
                    expected.outgoing(id)
                )));
            }
            let incoming = match snapshot.find_incoming_edges(id) {
                Ok(edges) => edges,
                Err(error) => return refused(error, &format!("edges to {id}")),
            };
            if incoming != expected.incoming(id) {
                return Err(self.fail(format!(
                    "{name}: incoming edges of {id}: snapshot {incoming:?}, model {:?}",
                    expected.incoming(id)
                )));
            }
        }
        Ok(SnapshotCheck::Matched)
    }

    /// Drops the engine (after a simulated power loss when `crash`), reopens
    /// it, and checks the recovered state against the model.
    pub fn restart(&mut self, crash: bool) -> Result<(), Stop> {
        if crash {
            self.vfs.crash();
        }
        self.reopen_after(crash)
    }

    /// Drops the engine and its snapshots (after a power loss that already
    /// happened when `crash`), reopens it, and checks the recovered state.
    fn reopen_after(&mut self, crash: bool) -> Result<(), Stop> {
        self.retire_engine();
        // A new process: whatever the old one still holds (a clone of the
        // engine, a handle, a lock) can no longer reach the disk.
        self.vfs = self.vfs.restart();
        let read_only = if crash && self.op.is_multiple_of(READ_ONLY_CHECK_EVERY) {
            self.read_only_view()?
        } else {
            None
        };
        self.open_engine()?;
        self.recoveries += 1;
        if self.trace {
            let report = self
                .engine
                .as_ref()
                .map(|engine| engine.recovery_report().clone());
            if crash {
                eprintln!("    {}", self.vfs.last_crash().summary());
            }
            eprintln!("    restart (crash: {crash}): {report:?}");
        }
        let observed = self.observe()?;
        if let Some(seen) = read_only
            && seen != observed
        {
            return Err(self.fail(format!(
                "a read-only open showed {} blocks / {} edges, the writable open after it {} / {}{}",
                seen.blocks.len(),
                seen.edges.len(),
                observed.blocks.len(),
                observed.edges.len(),
                self.crash_context()
            )));
        }
        self.model.recover(&observed).map_err(|message| {
            self.fail(format!(
                "after {}: {message}{}",
                if crash { "crash" } else { "reopen" },
                if crash {
                    self.crash_context()
                } else {
                    String::new()
                }
            ))
        })?;
        Ok(())
    }

    /// Drops the snapshots and the engine, keeping its stall count.
    fn retire_engine(&mut self) {
        self.snapshots.iter_mut().for_each(|slot| *slot = None);
        if let Some(engine) = self.engine.take() {
            self.stats.write_stalls += engine.metrics().write_stalls;
        }
    }

    /// Opens the crashed disk read-only (faults off, so the run's fault
    /// stream is untouched) and returns what it shows; checks that it wrote
    /// nothing. `None` when there is no database to open yet.
    fn read_only_view(&mut self) -> Result<Option<ModelState>, Stop> {
        self.vfs.set_faults_enabled(false);
        let result = self.read_only_view_inner();
        self.vfs.set_faults_enabled(true);
        result
    }

    fn read_only_view_inner(&mut self) -> Result<Option<ModelState>, Stop> {
        let writes_before = self.vfs.mutating_ops();
        let opened = Database::open_read_only_with(
            Arc::new(self.vfs.clone()),
            &self.dir,
            self.config.clone(),
        );
        let engine = match opened {
            Ok(engine) => engine,
            // The crash took the database's first files (nothing durable
            // yet): the writable open and the model check judge that.
            Err(StorageError::NotADatabase { .. }) => return Ok(None),
            Err(error @ StorageError::Corruption { .. }) => {
                return Err(self.read_error(&error, "read-only open"));
            }
            Err(error) => {
                return Err(self.fail(format!(
                    "read-only open failed: {error}{}",
                    self.crash_context()
                )));
            }
        };
        let seen = self.observe_engine(&engine)?;
        drop(engine);
        let writes = self.vfs.mutating_ops() - writes_before;
        if writes > 0 {
            return Err(self.fail(format!(
                "a read-only open and close made {writes} mutating file operations"
            )));
        }
        self.read_only_opens += 1;
        Ok(Some(seen))
    }

    /// Compares the whole engine with the model's current state.
    pub fn check_all(&mut self) -> Result<(), Stop> {
        let observed = self.observe()?;
        if observed != *self.model.current() {
            return Err(self.fail(format!(
                "engine state differs from the model: {} blocks / {} edges vs {} / {}",
                observed.blocks.len(),
                observed.edges.len(),
                self.model.current().blocks.len(),
                self.model.current().edges.len()
            )));
        }
        Ok(())
    }

    fn walk(&mut self, start: BlockId) -> Result<(), Stop> {
        let mut frontier = vec![start];
        for _depth in 0..3 {
            let mut next = Vec::new();
            for id in frontier {
                self.check_id(id)?;
                let engine = self
                    .engine
                    .as_ref()
                    .ok_or_else(|| self.fail("no open engine"))?;
                let edges = engine
                    .snapshot()
                    .find_outgoing_edges(id)
                    .map_err(|error| self.read_error(&error, &format!("edges from {id}")))?;
                next.extend(edges.into_iter().map(|edge| edge.target).take(4));
            }
            frontier = next;
        }
        Ok(())
    }

    fn invalid_put(&mut self, zero_id: bool) -> Result<(), Stop> {
        let (id, metadata) = if zero_id {
            (BlockId::default(), "{}")
        } else {
            (BlockId::from_u128(1), "[\"not an object\"]")
        };
        let engine = self.engine()?;
        let result = engine.put_block_fields(id, "u", metadata, "c");
        match result {
            Err(StorageError::ZeroBlockId) if zero_id => {}
            Err(StorageError::InvalidMetadata { .. }) if !zero_id => {}
            other => return Err(self.fail(format!("invalid put gave {other:?}"))),
        }
        self.check_id(BlockId::from_u128(1))
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

/// Whether a `Corruption { file, offset }` error is an honest report of a bit
/// flipped at rest: `file` must have had a bit flipped. For a WAL segment
/// the error must also name where the damage starts: recovery reads front
/// to back, so the record it blames starts at or before the flipped byte.
/// Returns the flips of `file` as text, or why the report is wrong.
fn judge_corruption(file: &Path, offset: u64, flips: &[BitFlip]) -> Result<String, String> {
    let here: Vec<&BitFlip> = flips.iter().filter(|flip| flip.path == file).collect();
    let listed = here
        .iter()
        .map(|flip| format!("offset {} bit {}", flip.offset, flip.bit))
        .collect::<Vec<_>>()
        .join(", ");
    if here.is_empty() {
        return Err("unexpected error: no bit was flipped in this file".into());
    }
    if is_wal_segment(file) && !here.iter().any(|flip| flip.offset >= offset) {
        return Err(format!(
            "the WAL corruption is reported past every flipped bit ({listed})"
        ));
    }
    Ok(listed)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn flip(path: &str, offset: u64) -> BitFlip {
        BitFlip {
            path: PathBuf::from(path),
            offset,
            bit: 3,
        }
    }

    #[test]
    fn runs_check_read_only_opens_after_crashes() {
        let opens: u64 = (0..4)
            .map(|seed| run_seed(&SimOptions::standard(seed, 400)))
            .inspect(|report| assert!(report.failure().is_none(), "{report:?}"))
            .map(|report| report.read_only_opens)
            .sum();
        assert!(opens > 0, "no read-only open was checked");
    }

    #[test]
    fn runs_flush_by_steps_and_check_snapshots_across_background_work() {
        let mut stats = SimStats::default();
        for seed in 0..8 {
            let report = run_seed(&SimOptions::standard(seed, 500));
            assert!(report.failure().is_none(), "{report:?}");
            stats.add(&report.stats);
        }
        assert!(stats.step_flushes > 0, "{stats:?}");
        assert!(stats.step_flushes > stats.stall_flushes, "{stats:?}");
        assert!(stats.step_failures_fired > 0, "{stats:?}");
        assert!(stats.snapshot_checks_across_changes > 0, "{stats:?}");
    }

    #[test]
    fn corruption_counts_as_detected_only_in_a_flipped_file_and_for_wal_at_or_before_the_flip() {
        let wal = "/db/wal-00000000000000000007.log";
        let flips = [flip(wal, 500), flip("/db/t-00000000000000000001.sst", 90)];
        // The record holding the flipped byte, or an earlier one, is named.
        assert!(judge_corruption(Path::new(wal), 480, &flips).is_ok());
        assert!(judge_corruption(Path::new(wal), 500, &flips).is_ok());
        // A report after the damage blames intact synced data.
        assert!(judge_corruption(Path::new(wal), 501, &flips).is_err());
        // Another segment, with no flip, must open.
        assert!(
            judge_corruption(Path::new("/db/wal-00000000000000000008.log"), 24, &flips).is_err()
        );
        // Tables report section offsets; any offset in a flipped table counts.
        assert!(
            judge_corruption(Path::new("/db/t-00000000000000000001.sst"), 4000, &flips).is_ok()
        );
        assert!(judge_corruption(Path::new("/db/MANIFEST"), 20, &flips).is_err());
    }
}
