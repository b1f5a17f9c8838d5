//! What the disk is told to inject ([`FaultConfig`]), what it injected
//! ([`FaultCounts`]), and what a crash did ([`CrashReport`], [`BitFlip`]).

use std::path::PathBuf;

/// Probabilities (per call) and limits of injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultConfig {
    /// A `read_at` fails.
    pub read_error: f64,
    /// A `write_at`/`set_len` fails before writing anything.
    pub write_error: f64,
    /// A `write_at` writes a prefix of its data, then fails.
    pub short_write: f64,
    /// A `sync_data`/`sync_dir` fails (and the pending writes are lost).
    pub sync_error: f64,
    /// At a crash, a file's unsynced writes reach the disk page by page in
    /// any order (some pages, not a prefix); checked before `torn_write`.
    pub reordered_writeback: f64,
    /// Each page written back by `reordered_writeback` is torn: only a
    /// prefix of its 512 B sectors is new.
    pub torn_page: f64,
    /// At a crash, a file's pending writes keep a torn prefix instead of
    /// vanishing (the older, in-order writeback mode).
    pub torn_write: f64,
    /// At a crash, each directory-entry change not yet made durable by
    /// `sync_dir` survives with this probability, else it is rolled back
    /// (0: every unsynced change is rolled back).
    pub dir_entry_persist: f64,
    /// At a crash, one bit of a table or manifest file flips at rest.
    pub bit_flip: f64,
    /// At a crash, one bit in the synced bytes of a WAL segment flips at rest.
    pub wal_bit_flip: f64,
    /// Bits one `wal_bit_flip` flips, all inside one 512 B sector of synced
    /// bytes (a bad sector rather than a single cosmic ray); 0 and 1 both
    /// mean one bit.
    pub wal_flip_bits: u32,
    /// Total bytes of file content the disk holds; writes past it fail.
    pub capacity_bytes: Option<u64>,
}

/// Faults injected so far, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    /// Reads (and maps) that returned an injected error.
    pub read_errors: u64,
    /// Writes that failed without writing anything.
    pub write_errors: u64,
    /// Writes that wrote a prefix and then failed.
    pub short_writes: u64,
    /// fsyncs (of files or directories) that failed.
    pub sync_errors: u64,
    /// Unsynced writes a crash kept only in part.
    pub torn_writes: u64,
    /// Files whose dirty pages a crash wrote back only in part.
    pub reordered_writebacks: u64,
    /// Pages a crash wrote back only in part (a prefix of sectors).
    pub torn_pages: u64,
    /// Unsynced directory-entry changes a crash rolled back while others
    /// could survive (counted only with `dir_entry_persist > 0`).
    pub dir_entry_rollbacks: u64,
    /// Bits flipped at rest in table or manifest bytes.
    pub bit_flips: u64,
    /// Bits flipped at rest in synced WAL bytes.
    pub wal_bit_flips: u64,
    /// Writes refused because the simulated disk was full.
    pub disk_full: u64,
    /// Simulated power losses.
    pub crashes: u64,
    /// Failures fired at a step scheduled by `schedule_failure`.
    pub scheduled_failures: u64,
}

impl FaultCounts {
    /// Sum of injected faults (crashes excluded).
    pub fn total(&self) -> u64 {
        self.read_errors
            + self.write_errors
            + self.short_writes
            + self.sync_errors
            + self.torn_writes
            + self.reordered_writebacks
            + self.torn_pages
            + self.dir_entry_rollbacks
            + self.bit_flips
            + self.wal_bit_flips
            + self.disk_full
    }

    /// Adds another run's counts.
    pub fn add(&mut self, other: &FaultCounts) {
        self.read_errors += other.read_errors;
        self.write_errors += other.write_errors;
        self.short_writes += other.short_writes;
        self.sync_errors += other.sync_errors;
        self.torn_writes += other.torn_writes;
        self.reordered_writebacks += other.reordered_writebacks;
        self.torn_pages += other.torn_pages;
        self.dir_entry_rollbacks += other.dir_entry_rollbacks;
        self.bit_flips += other.bit_flips;
        self.wal_bit_flips += other.wal_bit_flips;
        self.disk_full += other.disk_full;
        self.crashes += other.crashes;
        self.scheduled_failures += other.scheduled_failures;
    }
}

/// A bit flipped at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitFlip {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of the flipped bit.
    pub offset: u64,
    /// Which bit of that byte (0 = least significant).
    pub bit: u8,
}

/// What the last crash did to the disk, for failure messages and traces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Unsynced directory-entry changes that were rolled back.
    pub rolled_back: Vec<String>,
    /// Unsynced directory-entry changes that survived.
    pub kept: Vec<String>,
    /// Files whose unsynced writes reached the disk only in part:
    /// "path: pages written/dropped/torn" or "path: prefix".
    pub partial_files: Vec<String>,
    /// Bits flipped at rest (all in one file).
    pub bit_flips: Vec<BitFlip>,
}

impl CrashReport {
    /// One line for a failure message.
    pub fn summary(&self) -> String {
        let flip: String = self
            .bit_flips
            .iter()
            .map(|flip| {
                format!(
                    "; bit {} flipped at {}:{}",
                    flip.bit,
                    flip.path.display(),
                    flip.offset
                )
            })
            .collect();
        format!(
            "last crash: rolled back [{}], kept [{}], partial writeback [{}]{flip}",
            self.rolled_back.join(", "),
            self.kept.join(", "),
            self.partial_files.join(", ")
        )
    }
}
