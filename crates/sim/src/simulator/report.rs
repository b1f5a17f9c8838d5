//! What a run did: its counts, and why it stopped early when it did.

use crate::vfs::FaultCounts;

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

impl RunReport {
    /// The failure message, if the run failed.
    pub fn failure(&self) -> Option<&str> {
        match &self.stop {
            Some(Stop::Failure { message, .. }) => Some(message),
            _ => None,
        }
    }
}
