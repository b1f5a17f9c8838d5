//! Seeded workload generator: a weighted mix of block and edge writes,
//! batches, reads, edge walks, flushes, compactions, background steps (some
//! with a failure or crash scheduled inside them), snapshots taken, checked
//! and dropped, syncs, crashes, reopens and disk-pressure phases, plus a
//! code-graph generator for the ingestion scenario.

use kausal_storage::{BlockId, EdgeType, GraphEdge};

use crate::model::{ModelBlock, Mutation};

/// One step of a simulated workload.
#[derive(Debug, Clone)]
pub enum Action {
    /// One write (single op or batch) as mutations; `batch` sends it as a
    /// `WriteBatch` even when it holds one mutation.
    Write {
        /// What the write changes, in order.
        mutations: Vec<Mutation>,
        /// Send as a `WriteBatch` (one WAL record) even for one mutation.
        batch: bool,
    },
    /// A put with invalid input that must be rejected.
    InvalidPut {
        /// The all-zero id (else an oversized field).
        zero_id: bool,
    },
    /// Looks one block up and compares it with the model.
    Find(BlockId),
    /// Walks the edges around one block and compares them with the model.
    Walk(BlockId),
    /// `Database::flush`.
    Flush,
    /// `Database::compact`.
    Compact,
    /// `Database::compact_all`.
    CompactAll,
    /// `Database::sync`: every acknowledged write becomes durable in the model.
    Sync,
    /// Power loss: the disk keeps what a real one might, the engine reopens.
    Crash,
    /// A clean close (drop) and reopen.
    Reopen,
    /// A phase in which the disk is nearly full.
    DiskPressure,
    /// One unit of background work (`Database::run_background_step`): a
    /// flush of the oldest frozen memtable, else one compaction merge.
    BackgroundStep {
        /// The `at`-th mutating file operation from the step's start fails
        /// (and the disk loses power with `crash`), if the step gets that far.
        fail_at: Option<ScheduledFailure>,
    },
    /// Takes a snapshot into slot `i` (replacing the one there).
    TakeSnapshot(usize),
    /// Compares everything the snapshot in slot `i` shows with the model
    /// state at the sequence it was taken.
    CheckSnapshot(usize),
    /// Drops the snapshot in slot `i`.
    DropSnapshot(usize),
}

/// A failure scheduled inside one call: the `at`-th mutating file operation
/// fails, and with `crash` the disk loses power at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledFailure {
    /// Which mutating file operation, counted from the call's start, fails.
    pub at: u64,
    /// Whether the disk also loses power at that moment.
    pub crash: bool,
}

/// Snapshot slots the runner holds open at most.
pub const SNAPSHOT_SLOTS: usize = 3;
/// Share (percent) of background steps with a failure scheduled inside.
const STEP_FAILURE_PERCENT: u32 = 12;
/// Mutating file operations a failure is scheduled within (a flush or merge
/// takes about 10 to 20: table writes and syncs, directory sync, manifest
/// write, sync, rename, directory sync, removals).
const STEP_FAILURE_SPAN: u64 = 24;

/// Relative weights of the actions.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    /// Single block puts.
    pub put: u32,
    /// Single block deletes.
    pub delete: u32,
    /// Single edge puts.
    pub put_edge: u32,
    /// Single edge deletes.
    pub delete_edge: u32,
    /// Write batches of several mutations.
    pub batch: u32,
    /// Puts that must be rejected.
    pub invalid: u32,
    /// Point lookups.
    pub find: u32,
    /// Edge walks.
    pub walk: u32,
    /// Explicit flushes.
    pub flush: u32,
    /// Explicit compactions.
    pub compact: u32,
    /// Full compactions.
    pub compact_all: u32,
    /// Explicit syncs.
    pub sync: u32,
    /// Power losses.
    pub crash: u32,
    /// Clean reopens.
    pub reopen: u32,
    /// Disk-pressure phases.
    pub disk_pressure: u32,
    /// Background steps.
    pub background_step: u32,
    /// Snapshots taken.
    pub take_snapshot: u32,
    /// Snapshot checks.
    pub check_snapshot: u32,
    /// Snapshots dropped.
    pub drop_snapshot: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            put: 30,
            delete: 6,
            put_edge: 20,
            delete_edge: 5,
            batch: 6,
            invalid: 1,
            find: 12,
            walk: 5,
            flush: 2,
            compact: 1,
            compact_all: 1,
            sync: 6,
            crash: 1,
            reopen: 1,
            disk_pressure: 1,
            background_step: 8,
            take_snapshot: 3,
            check_snapshot: 4,
            drop_snapshot: 1,
        }
    }
}

impl Weights {
    /// The mix for one seed: half of the seeds run the default mix (a crash,
    /// reopen or flush every ~30 actions, so memtables seldom fill); a
    /// quarter restart and flush rarely, so memtables fill and freeze and
    /// background steps flush them (`steady`); a quarter do the same with
    /// rare steps, so writes stall behind frozen memtables and run the
    /// steps themselves (`backlog`).
    pub fn for_seed(seed: u64) -> Self {
        match fastrand::Rng::with_seed(seed.rotate_left(41) ^ 0x6a7e_5eed).u32(0..4) {
            0 => Self::steady(),
            1 => Self::backlog(),
            _ => Self::default(),
        }
    }

    /// Every weight times `factor`.
    pub fn scaled(self, factor: u32) -> Self {
        let w = self;
        Self {
            put: w.put * factor,
            delete: w.delete * factor,
            put_edge: w.put_edge * factor,
            delete_edge: w.delete_edge * factor,
            batch: w.batch * factor,
            invalid: w.invalid * factor,
            find: w.find * factor,
            walk: w.walk * factor,
            flush: w.flush * factor,
            compact: w.compact * factor,
            compact_all: w.compact_all * factor,
            sync: w.sync * factor,
            crash: w.crash * factor,
            reopen: w.reopen * factor,
            disk_pressure: w.disk_pressure * factor,
            background_step: w.background_step * factor,
            take_snapshot: w.take_snapshot * factor,
            check_snapshot: w.check_snapshot * factor,
            drop_snapshot: w.drop_snapshot * factor,
        }
    }

    /// Crashes, reopens, flushes and full compactions four times rarer than
    /// the default (about one in 400 actions each): memtables reach their
    /// budget and freeze several times between restarts, and background
    /// steps (one in ~13 actions) flush and compact them.
    pub fn steady() -> Self {
        Self {
            crash: 1,
            reopen: 1,
            flush: 1,
            compact_all: 1,
            ..Self::default().scaled(4)
        }
    }

    /// Like [`Weights::steady`] with background steps rare (one in ~400
    /// actions): frozen memtables pile up and writes stall, each stalled
    /// write running the step itself.
    pub fn backlog() -> Self {
        Self {
            background_step: 1,
            ..Self::steady()
        }
    }
}

/// Share (percent) of generated blocks whose content is mostly NUL bytes
/// with about one single-bit character per page: legal content for which a
/// page lost at a crash differs from what was written by one bit.
const SPARSE_CONTENT_PERCENT: u32 = 3;
/// Largest sparse content, in bytes (several pages).
const SPARSE_CONTENT_MAX_BYTES: usize = 40_000;
/// Characters with exactly one bit set.
const SINGLE_BIT_CHARS: [u8; 7] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40];

/// Generates actions from a seed.
pub struct Workload {
    rng: fastrand::Rng,
    id_space: u128,
    weights: Weights,
}

impl Workload {
    /// A generator over ids `1..=id_space`.
    pub fn new(seed: u64, id_space: u128, weights: Weights) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed ^ 0x0005_eed0_fa11_7e57),
            id_space,
            weights,
        }
    }

    fn id(&mut self) -> BlockId {
        BlockId::from_u128(self.rng.u128(1..=self.id_space))
    }

    fn content_len(&mut self) -> usize {
        match self.rng.u32(0..100) {
            0..70 => self.rng.usize(0..512),
            70..96 => self.rng.usize(512..4096),
            _ => self.rng.usize(4096..40_000),
        }
    }

    /// Mostly NUL bytes, with about one single-bit character per 4 KiB.
    fn sparse_content(&mut self) -> String {
        let len = self.rng.usize(4096..SPARSE_CONTENT_MAX_BYTES);
        let mut bytes = vec![0u8; len];
        for _ in 0..len / 4096 + 1 {
            let at = self.rng.usize(..len);
            bytes[at] = SINGLE_BIT_CHARS[self.rng.usize(..SINGLE_BIT_CHARS.len())];
        }
        bytes.into_iter().map(char::from).collect()
    }

    /// A block with deterministic, varied bytes (including non-ASCII text,
    /// and now and then mostly NUL bytes).
    pub fn block(&mut self) -> ModelBlock {
        if self.rng.u32(0..100) < SPARSE_CONTENT_PERCENT {
            let stamp = self.rng.u64(..);
            return ModelBlock {
                source_uri: format!("bin/blob{}.dat", stamp % 100),
                metadata_json: format!(r#"{{"name":"blob_{stamp:x}","kind":"data"}}"#),
                content: self.sparse_content(),
            };
        }
        let len = self.content_len();
        let stamp = self.rng.u64(..);
        let unit = format!("fn f_{stamp:016x}() {{ λ }}\n");
        let mut content = unit.repeat(len / unit.len() + 1);
        let mut cut = len.min(content.len());
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        content.truncate(cut);
        ModelBlock {
            source_uri: format!("src/m{}/f{}.rs", stamp % 13, stamp % 1000),
            metadata_json: format!(
                r#"{{"name":"f_{stamp:x}","kind":"function","line":{}}}"#,
                stamp % 5000
            ),
            content,
        }
    }

    fn edge(&mut self) -> GraphEdge {
        let edge_type = EdgeType::ALL[self.rng.usize(0..EdgeType::ALL.len())];
        GraphEdge::new(self.id(), self.id(), edge_type)
    }

    fn mutation(&mut self) -> Mutation {
        match self.rng.u32(0..10) {
            0..4 => {
                let id = self.id();
                Mutation::PutBlock(id, self.block())
            }
            4 => Mutation::DeleteBlock(self.id()),
            5..9 => Mutation::PutEdge(self.edge()),
            _ => Mutation::DeleteEdge(self.edge()),
        }
    }

    /// The next action.
    pub fn next_action(&mut self) -> Action {
        let w = self.weights;
        let table = [
            w.put,
            w.delete,
            w.put_edge,
            w.delete_edge,
            w.batch,
            w.invalid,
            w.find,
            w.walk,
            w.flush,
            w.compact,
            w.compact_all,
            w.sync,
            w.crash,
            w.reopen,
            w.disk_pressure,
            w.background_step,
            w.take_snapshot,
            w.check_snapshot,
            w.drop_snapshot,
        ];
        let total: u32 = table.iter().sum();
        let mut pick = self.rng.u32(0..total.max(1));
        let mut choice = 0;
        for (index, weight) in table.iter().enumerate() {
            if pick < *weight {
                choice = index;
                break;
            }
            pick -= weight;
        }
        let single = |mutation| Action::Write {
            mutations: vec![mutation],
            batch: false,
        };
        match choice {
            0 => {
                let id = self.id();
                single(Mutation::PutBlock(id, self.block()))
            }
            1 => single(Mutation::DeleteBlock(self.id())),
            2 => single(Mutation::PutEdge(self.edge())),
            3 => single(Mutation::DeleteEdge(self.edge())),
            4 => {
                let count = self.rng.usize(1..12);
                Action::Write {
                    mutations: (0..count).map(|_| self.mutation()).collect(),
                    batch: true,
                }
            }
            5 => Action::InvalidPut {
                zero_id: self.rng.bool(),
            },
            6 => Action::Find(self.id()),
            7 => Action::Walk(self.id()),
            8 => Action::Flush,
            9 => Action::Compact,
            10 => Action::CompactAll,
            11 => Action::Sync,
            12 => Action::Crash,
            13 => Action::Reopen,
            14 => Action::DiskPressure,
            15 => {
                let fail_at =
                    (self.rng.u32(0..100) < STEP_FAILURE_PERCENT).then(|| ScheduledFailure {
                        at: self.rng.u64(1..=STEP_FAILURE_SPAN),
                        crash: self.rng.bool(),
                    });
                Action::BackgroundStep { fail_at }
            }
            16 => Action::TakeSnapshot(self.rng.usize(0..SNAPSHOT_SLOTS)),
            17 => Action::CheckSnapshot(self.rng.usize(0..SNAPSHOT_SLOTS)),
            _ => Action::DropSnapshot(self.rng.usize(0..SNAPSHOT_SLOTS)),
        }
    }

    /// Random number in `range` from the workload's stream.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.rng.u64(0..bound.max(1))
    }
}

/// A generated code graph: files containing functions, functions calling
/// functions. Each file is one write batch (its blocks and edges).
pub fn code_graph_batches(
    seed: u64,
    files: usize,
    functions_per_file: usize,
) -> Vec<Vec<Mutation>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let total_functions = files * functions_per_file;
    let file_id = |file: usize| BlockId::from_u128(1_000_000 + file as u128);
    let function_id = |function: usize| BlockId::from_u128(1 + function as u128);
    let mut batches = Vec::with_capacity(files);
    for file in 0..files {
        let mut batch = vec![Mutation::PutBlock(
            file_id(file),
            ModelBlock {
                source_uri: format!("src/file_{file}.rs"),
                metadata_json: format!(r#"{{"name":"file_{file}","kind":"file"}}"#),
                content: format!("// file {file}\n"),
            },
        )];
        for local in 0..functions_per_file {
            let function = file * functions_per_file + local;
            batch.push(Mutation::PutBlock(
                function_id(function),
                ModelBlock {
                    source_uri: format!("src/file_{file}.rs"),
                    metadata_json: format!(r#"{{"name":"func_{function}","kind":"function"}}"#),
                    content: format!(
                        "fn func_{function}() {{ {} }}\n",
                        "x".repeat(rng.usize(10..400))
                    ),
                },
            ));
            batch.push(Mutation::PutEdge(GraphEdge::new(
                function_id(function),
                file_id(file),
                EdgeType::DefinedIn,
            )));
            batch.push(Mutation::PutEdge(GraphEdge::new(
                file_id(file),
                function_id(function),
                EdgeType::Contains,
            )));
            for _ in 0..rng.usize(0..4) {
                let callee = rng.usize(0..total_functions);
                batch.push(Mutation::PutEdge(GraphEdge::new(
                    function_id(function),
                    function_id(callee),
                    EdgeType::Calls,
                )));
            }
        }
        batches.push(batch);
    }
    batches
}
