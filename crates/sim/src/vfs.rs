//! `SimVfs`: an in-memory, deterministic, fault-injecting file system.
//!
//! Model (pessimistic, like a real disk after power loss):
//! * every file (inode) has its current bytes, which reads see, and its
//!   durable bytes, which survive a crash; `sync_data` makes the current
//!   bytes durable. Writes since the last sync are kept in order so that a
//!   crash can decide what of them reached the platters.
//! * at a crash, a file's unsynced writes reach the disk page by page in any
//!   order: each dirty 4 KiB page independently carries its latest content
//!   or its old durable content, and a page may be torn at a 512 B sector
//!   boundary; the file's size is its size after some prefix of the writes.
//!   (The older mode, "a prefix of the writes, the last one cut at a random
//!   byte", is still available.)
//! * directory entries (file creation, rename, removal, and directory
//!   creation, including the database directory and its parent) are durable
//!   only after `sync_dir` on the directory that holds them. At a crash each
//!   change not yet synced is independently kept or rolled back (a rename as
//!   one change: the destination names the old or the new file, never
//!   nothing); a directory whose own entry is lost takes its contents with it.
//! * a failed `sync_data` drops the pending writes from what can become
//!   durable while reads still see them, and a later successful sync does not
//!   bring them back (Linux marks the pages clean): the fsyncgate trap.
//! * while the power is off, one bit may flip at rest in a table, the
//!   manifest, or the synced part of a WAL segment.
//! * a power loss ends the process: from the moment a crash fires
//!   (scheduled by [`SimVfs::schedule_failure`] or called by the harness),
//!   every operation of the old process fails, by handle or by path, reads
//!   included, so none of its threads (a background worker, a WAL flusher,
//!   a `Drop`) can reach the disk the next process sees. The harness starts
//!   the next process with [`SimVfs::restart`], which hands out a new
//!   `SimVfs`; every clone and handle of an earlier process stays dead.
//!   `restart` without a crash is a killed process: the page cache (what
//!   reads see) survives, the process's handles and locks do not.
//!
//! Faults are drawn from one seeded PRNG, so a seed replays bit for bit.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use kausal_storage::files::{FileKind, classify_path};
use kausal_vfs::{FileLock, MappedFile, Vfs, VfsError, VfsFile, VfsResult};

/// Granularity at which the page cache writes dirty data back.
pub const PAGE_BYTES: usize = 4096;
/// Unit a disk writes atomically: a torn page keeps a prefix of these.
pub const SECTOR_BYTES: usize = 512;
const SECTORS_PER_PAGE: usize = PAGE_BYTES / SECTOR_BYTES;

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

#[derive(Debug, Clone)]
enum PendingWrite {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default, Clone)]
struct Inode {
    current: Vec<u8>,
    durable: Vec<u8>,
    /// Writes since the last sync that can still become durable.
    pending: Vec<PendingWrite>,
}

impl Inode {
    fn apply(bytes: &mut Vec<u8>, write: &PendingWrite) {
        match write {
            PendingWrite::Write { offset, data } => {
                let end = *offset as usize + data.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[*offset as usize..end].copy_from_slice(data);
            }
            PendingWrite::SetLen(len) => bytes.resize(*len as usize, 0),
        }
    }
}

/// A change to a directory's entries, durable once that directory is synced.
#[derive(Debug, Clone)]
enum DirOp {
    Create {
        path: PathBuf,
        inode: u64,
    },
    Remove {
        path: PathBuf,
    },
    /// Within one directory (the only kind modelled), so one atomic change.
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Mkdir {
        path: PathBuf,
    },
}

impl DirOp {
    /// The directory whose sync makes this change durable.
    fn dir(&self) -> &Path {
        let path = match self {
            DirOp::Create { path, .. } | DirOp::Remove { path } | DirOp::Mkdir { path } => path,
            DirOp::Rename { to, .. } => to,
        };
        path.parent().unwrap_or(Path::new(""))
    }

    fn describe(&self) -> String {
        match self {
            DirOp::Create { path, .. } => format!("create {}", path.display()),
            DirOp::Remove { path } => format!("remove {}", path.display()),
            DirOp::Rename { from, to } => format!("rename {} -> {}", from.display(), to.display()),
            DirOp::Mkdir { path } => format!("mkdir {}", path.display()),
        }
    }
}

/// True for the file system's root ("/", or "" for relative paths), which
/// always exists.
fn is_root(path: &Path) -> bool {
    path.parent().is_none() || path.as_os_str().is_empty()
}

/// The names of a file system: files (path to inode) and directories.
#[derive(Debug, Default, Clone)]
struct Namespace {
    files: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
}

impl Namespace {
    fn has_dir(&self, path: &Path) -> bool {
        is_root(path) || self.dirs.contains(path)
    }

    fn parent_exists(&self, path: &Path) -> bool {
        path.parent().is_none_or(|parent| self.has_dir(parent))
    }

    /// Applies a change; one whose source is missing (an earlier change it
    /// depended on was rolled back) changes nothing, as on a real disk.
    fn apply(&mut self, op: &DirOp) {
        match op {
            DirOp::Create { path, inode } => {
                self.files.insert(path.clone(), *inode);
            }
            DirOp::Remove { path } => {
                self.files.remove(path);
            }
            DirOp::Rename { from, to } => {
                if let Some(id) = self.files.remove(from) {
                    self.files.insert(to.clone(), id);
                }
            }
            DirOp::Mkdir { path } => {
                self.dirs.insert(path.clone());
            }
        }
    }

    /// Drops what hangs below a directory that does not exist: a directory
    /// whose own entry was lost takes its contents with it.
    fn prune(&mut self) {
        let mut reachable = BTreeSet::new();
        // Paths order parents before their children.
        for dir in &self.dirs {
            if dir
                .parent()
                .is_none_or(|parent| is_root(parent) || reachable.contains(parent))
            {
                reachable.insert(dir.clone());
            }
        }
        self.dirs = reachable;
        let dirs = &self.dirs;
        self.files.retain(|path, _| {
            path.parent()
                .is_none_or(|parent| is_root(parent) || dirs.contains(parent))
        });
    }
}

#[derive(Debug, Default)]
struct State {
    rng: Option<fastrand::Rng>,
    faults: FaultConfig,
    faults_enabled: bool,
    counts: FaultCounts,
    /// The process that may use the disk; `None` from a power loss until
    /// the harness calls `restart`.
    running: Option<u64>,
    /// The last process id handed out (the first process is 1).
    last_process: u64,
    next_inode: u64,
    inodes: BTreeMap<u64, Inode>,
    /// What lookups see.
    current: Namespace,
    /// What a crash keeps for sure.
    durable: Namespace,
    /// Changes to `current` not yet synced, in order.
    dir_ops: Vec<DirOp>,
    locks: BTreeSet<PathBuf>,
    flipped_files: BTreeSet<PathBuf>,
    /// Every bit flipped at rest so far, in order.
    flips: Vec<BitFlip>,
    last_crash: CrashReport,
    mutating_ops: u64,
    /// (operation number, crash too) of the next scheduled failure.
    scheduled: Option<(u64, bool)>,
}

/// How a crash treats one file's unsynced writes.
enum Writeback {
    Nothing,
    Pages,
    Prefix,
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// True for a WAL segment's name, as storage names them.
pub(crate) fn is_wal_segment(path: &Path) -> bool {
    classify_path(path).is_some_and(FileKind::is_wal_segment)
}

impl State {
    fn chance(&mut self, probability: f64) -> bool {
        if !self.faults_enabled || probability <= 0.0 {
            return false;
        }
        self.rng.as_mut().is_some_and(|rng| rng.f64() < probability)
    }

    /// Draws the fault whose probability `pick` selects.
    fn roll(&mut self, pick: impl Fn(&FaultConfig) -> f64) -> bool {
        let probability = pick(&self.faults);
        self.chance(probability)
    }

    fn below(&mut self, bound: usize) -> usize {
        match self.rng.as_mut() {
            Some(rng) if bound > 0 => rng.usize(..bound),
            _ => 0,
        }
    }

    fn unit(&mut self) -> f64 {
        self.rng.as_mut().map_or(0.0, fastrand::Rng::f64)
    }

    fn used_bytes(&self) -> u64 {
        self.inodes
            .values()
            .map(|inode| inode.current.len().max(inode.durable.len()) as u64)
            .sum()
    }

    /// Records a directory change: visible now, durable after `sync_dir`.
    fn dir_change(&mut self, op: DirOp) {
        self.current.apply(&op);
        self.dir_ops.push(op);
    }

    /// Power loss; see [`SimVfs::crash`]. A no-op while the power is
    /// already off: nothing has been written since the last one.
    fn crash(&mut self) {
        if self.running.take().is_none() {
            return;
        }
        self.counts.crashes += 1;
        self.locks.clear();
        let mut report = CrashReport::default();
        self.crash_directories(&mut report);
        self.drop_unreferenced_inodes();
        // Chosen before writeback: the flip lands in bytes that were synced.
        let wal_flip = self.pick_wal_flip();
        let ids: Vec<u64> = self.inodes.keys().copied().collect();
        for id in ids {
            self.crash_file(id, &mut report);
        }
        if !wal_flip.is_empty() {
            for flip in wal_flip {
                if self.flip(&flip) {
                    report.bit_flips.push(flip);
                }
            }
            if !report.bit_flips.is_empty() {
                self.counts.wal_bit_flips += 1;
            }
        } else if let Some(flip) = self.pick_table_flip()
            && self.flip(&flip)
        {
            self.counts.bit_flips += 1;
            report.bit_flips.push(flip);
        }
        self.last_crash = report;
    }

    /// Keeps or rolls back each unsynced directory change, in order.
    fn crash_directories(&mut self, report: &mut CrashReport) {
        let mut names = self.durable.clone();
        let persist = self.faults.dir_entry_persist;
        let counted = self.faults_enabled && persist > 0.0;
        for op in std::mem::take(&mut self.dir_ops) {
            if self.chance(persist) {
                names.apply(&op);
                report.kept.push(op.describe());
            } else {
                if counted {
                    self.counts.dir_entry_rollbacks += 1;
                }
                report.rolled_back.push(op.describe());
            }
        }
        names.prune();
        self.current = names.clone();
        self.durable = names;
    }

    /// Decides what of one file's unsynced writes reached the disk.
    fn crash_file(&mut self, id: u64, report: &mut CrashReport) {
        let Some(inode) = self.inodes.get(&id).cloned() else {
            return;
        };
        let mode = if inode.pending.is_empty() {
            Writeback::Nothing
        } else if self.roll(|faults| faults.reordered_writeback) {
            Writeback::Pages
        } else if self.roll(|faults| faults.torn_write) {
            Writeback::Prefix
        } else {
            Writeback::Nothing
        };
        let name = || {
            self.current
                .files
                .iter()
                .find(|(_, inode)| **inode == id)
                .map_or_else(|| format!("inode {id}"), |(path, _)| file_name(path))
        };
        let bytes = match mode {
            Writeback::Nothing => inode.durable.clone(),
            Writeback::Prefix => {
                let label = name();
                self.counts.torn_writes += 1;
                report.partial_files.push(format!("{label}: prefix"));
                self.prefix_writeback(&inode)
            }
            Writeback::Pages => {
                let label = name();
                let (bytes, written, dropped, torn) = self.page_writeback(&inode);
                if written > 0 && dropped > 0 {
                    self.counts.reordered_writebacks += 1;
                }
                self.counts.torn_pages += torn;
                if dropped > 0 || torn > 0 {
                    report.partial_files.push(format!(
                        "{label}: pages written {written}, dropped {dropped}, torn {torn}"
                    ));
                }
                bytes
            }
        };
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.current = bytes.clone();
            inode.durable = bytes;
            inode.pending.clear();
        }
    }

    /// Whole writes up to a point survive, then part of the next.
    fn prefix_writeback(&mut self, inode: &Inode) -> Vec<u8> {
        let mut bytes = inode.durable.clone();
        let keep = self.below(inode.pending.len() + 1);
        for write in &inode.pending[..keep] {
            Inode::apply(&mut bytes, write);
        }
        if let Some(PendingWrite::Write { offset, data }) = inode.pending.get(keep) {
            let part = self.below(data.len());
            Inode::apply(
                &mut bytes,
                &PendingWrite::Write {
                    offset: *offset,
                    data: data[..part].to_vec(),
                },
            );
        }
        bytes
    }

    /// Each dirty page independently reaches the disk with its latest
    /// content (maybe torn at a sector boundary) or keeps its durable
    /// content; the size is the size after some prefix of the writes.
    /// Returns the bytes and the pages written, dropped and torn.
    fn page_writeback(&mut self, inode: &Inode) -> (Vec<u8>, u64, u64, u64) {
        let mut latest = inode.durable.clone();
        let mut sizes = vec![latest.len()];
        let mut dirty = BTreeSet::new();
        for write in &inode.pending {
            let before = latest.len();
            let (start, end) = match write {
                PendingWrite::Write { offset, data } => {
                    (*offset as usize, *offset as usize + data.len())
                }
                PendingWrite::SetLen(len) => {
                    let len = *len as usize;
                    (before.min(len), before.max(len))
                }
            };
            if end > start {
                dirty.extend(start / PAGE_BYTES..=(end - 1) / PAGE_BYTES);
            }
            Inode::apply(&mut latest, write);
            sizes.push(latest.len());
        }
        let size = sizes[self.below(sizes.len())];
        // How much the kernel managed to write back before the power went:
        // anything from nothing to everything, in any order.
        let share = self.unit();
        let mut bytes = inode.durable.clone();
        bytes.resize(bytes.len().max(latest.len()), 0);
        let (mut written, mut dropped, mut torn) = (0, 0, 0);
        for page in dirty {
            let start = page * PAGE_BYTES;
            if start >= bytes.len() {
                continue;
            }
            if !self.chance(share) {
                dropped += 1;
                continue;
            }
            written += 1;
            let mut end = (start + PAGE_BYTES).min(bytes.len());
            if self.roll(|faults| faults.torn_page) {
                torn += 1;
                let sectors = 1 + self.below(SECTORS_PER_PAGE - 1);
                end = end.min(start + sectors * SECTOR_BYTES);
            }
            for (offset, byte) in bytes.iter_mut().enumerate().take(end).skip(start) {
                // Past the latest size the page was truncated away: zeros.
                *byte = latest.get(offset).copied().unwrap_or(0);
            }
        }
        bytes.resize(size, 0);
        (bytes, written, dropped, torn)
    }

    /// The bits in the synced bytes of a WAL segment this crash flips (none,
    /// or `wal_flip_bits` distinct bits within one sector).
    fn pick_wal_flip(&mut self) -> Vec<BitFlip> {
        if !self.roll(|faults| faults.wal_bit_flip) {
            return Vec::new();
        }
        // Synced data ends at the last non-zero durable byte: segments are
        // preallocated with zeros and written front to back.
        let candidates: Vec<(PathBuf, usize)> = self
            .current
            .files
            .iter()
            .filter(|(path, _)| is_wal_segment(path))
            .filter_map(|(path, id)| {
                let inode = self.inodes.get(id)?;
                let synced = inode.durable.iter().rposition(|byte| *byte != 0)? + 1;
                Some((path.clone(), synced))
            })
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        let (path, synced) = candidates[self.below(candidates.len())].clone();
        let first = self.below(synced);
        let mut bits = BTreeSet::from([(first, self.below(8) as u8)]);
        let wanted = (self.faults.wal_flip_bits.max(1) as usize).min(SECTOR_BYTES * 8);
        let sector_end = (first / SECTOR_BYTES + 1) * SECTOR_BYTES;
        let sector = first / SECTOR_BYTES * SECTOR_BYTES..sector_end.min(synced);
        while bits.len() < wanted.min(sector.len() * 8) {
            let offset = sector.start + self.below(sector.len());
            bits.insert((offset, self.below(8) as u8));
        }
        bits.into_iter()
            .map(|(offset, bit)| BitFlip {
                path: path.clone(),
                offset: offset as u64,
                bit,
            })
            .collect()
    }

    /// A bit anywhere in a table or the manifest, if this crash flips one.
    fn pick_table_flip(&mut self) -> Option<BitFlip> {
        if !self.roll(|faults| faults.bit_flip) {
            return None;
        }
        let candidates: Vec<(PathBuf, usize)> = self
            .current
            .files
            .iter()
            .filter(|(path, _)| {
                classify_path(path)
                    .is_some_and(|kind| kind.is_table() || kind == FileKind::Manifest)
            })
            .filter_map(|(path, id)| {
                let len = self.inodes.get(id)?.current.len();
                (len > 0).then(|| (path.clone(), len))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (path, len) = candidates[self.below(candidates.len())].clone();
        let offset = self.below(len) as u64;
        let bit = self.below(8) as u8;
        Some(BitFlip { path, offset, bit })
    }

    /// Flips the bit at rest; false when the byte is no longer there.
    fn flip(&mut self, flip: &BitFlip) -> bool {
        let Some(id) = self.current.files.get(&flip.path).copied() else {
            return false;
        };
        let Some(inode) = self.inodes.get_mut(&id) else {
            return false;
        };
        let at = flip.offset as usize;
        if at >= inode.durable.len() {
            return false;
        }
        inode.durable[at] ^= 1 << flip.bit;
        inode.current = inode.durable.clone();
        self.flipped_files.insert(flip.path.clone());
        self.flips.push(flip.clone());
        true
    }

    /// Forgets files that no name (current, durable, or in a change that a
    /// crash could still keep) refers to.
    fn drop_unreferenced_inodes(&mut self) {
        let pending = self.dir_ops.iter().filter_map(|op| match op {
            DirOp::Create { inode, .. } => Some(*inode),
            _ => None,
        });
        let referenced: BTreeSet<u64> = self
            .current
            .files
            .values()
            .chain(self.durable.files.values())
            .copied()
            .chain(pending)
            .collect();
        self.inodes.retain(|id, _| referenced.contains(id));
    }

    /// Counts a mutating operation and fires a scheduled failure.
    fn tick(&mut self, op: &'static str, path: &Path) -> VfsResult<()> {
        self.mutating_ops += 1;
        match self.scheduled {
            Some((due, crash)) if due == self.mutating_ops => {
                self.scheduled = None;
                self.counts.scheduled_failures += 1;
                if crash {
                    self.crash();
                }
                Err(injected(op, path))
            }
            _ => Ok(()),
        }
    }

    /// Fails every operation of a process that is no longer running.
    fn check_process(&self, process: u64, op: &'static str, path: &Path) -> VfsResult<()> {
        match self.running {
            Some(running) if running == process => Ok(()),
            Some(_) => Err(error(
                op,
                path,
                io::ErrorKind::BrokenPipe,
                "process ended: the disk belongs to a newer process",
            )),
            None => Err(error(
                op,
                path,
                io::ErrorKind::BrokenPipe,
                "process ended by a simulated power loss",
            )),
        }
    }
}

fn error(op: &'static str, path: &Path, kind: io::ErrorKind, message: &str) -> VfsError {
    VfsError::new(op, path, io::Error::new(kind, message.to_string()))
}

fn injected(op: &'static str, path: &Path) -> VfsError {
    error(op, path, io::ErrorKind::Other, "injected I/O error")
}

/// The simulated file system as one process sees it; clones share one
/// disk and one process. See the module docs for the process model.
#[derive(Debug, Clone)]
pub struct SimVfs {
    state: Arc<Mutex<State>>,
    /// The process this handle belongs to.
    process: u64,
}

impl SimVfs {
    /// An empty disk whose faults are drawn from `seed`. Faults start enabled.
    pub fn new(seed: u64, faults: FaultConfig) -> Self {
        let state = State {
            rng: Some(fastrand::Rng::with_seed(seed)),
            faults,
            faults_enabled: true,
            running: Some(1),
            last_process: 1,
            next_inode: 1,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            process: 1,
        }
    }

    /// Locks the state for an operation of this handle's process: fails
    /// when that process has ended (a power loss or a restart since).
    fn lock_running(&self, op: &'static str, path: &Path) -> VfsResult<MutexGuard<'_, State>> {
        let state = self.lock();
        state.check_process(self.process, op, path)?;
        Ok(state)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is already a failed run; keep going
        // with the state as it is so the simulator can report it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Turns fault injection on or off (off while the checker reads).
    pub fn set_faults_enabled(&self, enabled: bool) {
        self.lock().faults_enabled = enabled;
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.lock().faults = faults;
    }

    /// The current fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.lock().faults
    }

    /// Faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    /// Bytes of file content on the disk.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes()
    }

    /// Files that had a bit flipped at rest.
    pub fn flipped_files(&self) -> BTreeSet<PathBuf> {
        self.lock().flipped_files.clone()
    }

    /// Every bit flipped at rest so far, in order.
    pub fn flips(&self) -> Vec<BitFlip> {
        self.lock().flips.clone()
    }

    /// What the last crash did (empty before the first one).
    pub fn last_crash(&self) -> CrashReport {
        self.lock().last_crash.clone()
    }

    /// Power loss: each file's unsynced pages reach the disk or not (see
    /// the module docs), each unsynced directory change is kept or rolled
    /// back, and a bit may flip at rest in a table, the manifest or the
    /// synced part of a WAL segment. The running process ends: every
    /// operation of it fails until [`SimVfs::restart`] starts the next one.
    /// A no-op while the power is already off (a scheduled crash fired).
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// Starts the next process and returns its view of the disk. Every
    /// clone and file handle of earlier processes fails from now on, and
    /// their locks are released. Without a crash before it, this is a
    /// killed process: what reads saw stays (the page cache survives).
    #[must_use = "the returned SimVfs is the new process's only way to the disk"]
    pub fn restart(&self) -> SimVfs {
        let mut state = self.lock();
        state.last_process += 1;
        let process = state.last_process;
        state.running = Some(process);
        state.locks.clear();
        SimVfs {
            state: Arc::clone(&self.state),
            process,
        }
    }

    /// True while this handle's process runs (no power loss or restart
    /// since it started).
    pub fn is_running(&self) -> bool {
        self.lock().running == Some(self.process)
    }

    /// Makes the `at`-th mutating operation from now (create, write,
    /// set_len, sync, rename, remove, directory sync) fail; with `crash` the
    /// disk also loses power at that moment.
    pub fn schedule_failure(&self, at: u64, crash: bool) {
        let mut state = self.lock();
        let due = state.mutating_ops + at;
        state.scheduled = Some((due, crash));
    }

    /// Cancels a scheduled failure that has not fired; true if one was pending.
    pub fn cancel_scheduled_failure(&self) -> bool {
        self.lock().scheduled.take().is_some()
    }

    /// True while a scheduled failure has not fired yet.
    pub fn failure_pending(&self) -> bool {
        self.lock().scheduled.is_some()
    }

    /// Mutating operations performed so far.
    pub fn mutating_ops(&self) -> u64 {
        self.lock().mutating_ops
    }

    fn open_handle(&self, path: &Path, create: bool) -> VfsResult<Box<dyn VfsFile>> {
        let op = if create { "create" } else { "open" };
        let mut state = self.lock_running(op, path)?;
        if !state.current.parent_exists(path) {
            return Err(error(
                op,
                path,
                io::ErrorKind::NotFound,
                "parent directory does not exist",
            ));
        }
        let inode = match (state.current.files.get(path).copied(), create) {
            (Some(id), false) => id,
            (None, false) => return Err(error(op, path, io::ErrorKind::NotFound, "no such file")),
            (existing, true) => {
                state.tick("create", path)?;
                if existing.is_some() && state.roll(|faults| faults.write_error) {
                    state.counts.write_errors += 1;
                    return Err(injected(op, path));
                }
                match existing {
                    Some(id) => {
                        // Truncation is a pending change like any other write.
                        if let Some(inode) = state.inodes.get_mut(&id) {
                            inode.current.clear();
                            inode.pending.push(PendingWrite::SetLen(0));
                        }
                        id
                    }
                    None => {
                        let id = state.next_inode;
                        state.next_inode += 1;
                        state.inodes.insert(id, Inode::default());
                        state.dir_change(DirOp::Create {
                            path: path.to_path_buf(),
                            inode: id,
                        });
                        id
                    }
                }
            }
        };
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            process: self.process,
        }))
    }
}

#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: u64,
    process: u64,
}

impl SimFile {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl VfsFile for SimFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        let mut state = self.lock();
        state.check_process(self.process, "read_at", &self.path)?;
        if state.roll(|faults| faults.read_error) {
            state.counts.read_errors += 1;
            return Err(injected("read_at", &self.path).at_offset(offset));
        }
        let Some(inode) = state.inodes.get(&self.inode) else {
            return Err(error(
                "read_at",
                &self.path,
                io::ErrorKind::NotFound,
                "file vanished",
            ));
        };
        let start = (offset as usize).min(inode.current.len());
        let len = buf.len().min(inode.current.len() - start);
        buf[..len].copy_from_slice(&inode.current[start..start + len]);
        Ok(len)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()> {
        let mut state = self.lock();
        state.check_process(self.process, "write_at", &self.path)?;
        state.tick("write_at", &self.path)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("write_at", &self.path).at_offset(offset));
        }
        let current_len = state
            .inodes
            .get(&self.inode)
            .map_or(0, |inode| inode.current.len() as u64);
        let growth = (offset + data.len() as u64).saturating_sub(current_len);
        if let Some(capacity) = state.faults.capacity_bytes
            && state.faults_enabled
            && state.used_bytes() + growth > capacity
        {
            state.counts.disk_full += 1;
            return Err(error(
                "write_at",
                &self.path,
                io::ErrorKind::StorageFull,
                "disk full",
            )
            .at_offset(offset));
        }
        let short = !data.is_empty() && state.roll(|faults| faults.short_write);
        let written = if short {
            state.below(data.len())
        } else {
            data.len()
        };
        let write = PendingWrite::Write {
            offset,
            data: data[..written].to_vec(),
        };
        if let Some(inode) = state.inodes.get_mut(&self.inode) {
            Inode::apply(&mut inode.current, &write);
            inode.pending.push(write);
        }
        if short {
            state.counts.short_writes += 1;
            return Err(
                injected("write_at (short write)", &self.path).at_offset(offset + written as u64)
            );
        }
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> VfsResult<()> {
        let mut state = self.lock();
        state.check_process(self.process, "set_len", &self.path)?;
        state.tick("set_len", &self.path)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("set_len", &self.path));
        }
        let current_len = state
            .inodes
            .get(&self.inode)
            .map_or(0, |inode| inode.current.len() as u64);
        if let Some(capacity) = state.faults.capacity_bytes
            && state.faults_enabled
            && state.used_bytes() + len.saturating_sub(current_len) > capacity
        {
            state.counts.disk_full += 1;
            return Err(error(
                "set_len",
                &self.path,
                io::ErrorKind::StorageFull,
                "disk full",
            ));
        }
        if let Some(inode) = state.inodes.get_mut(&self.inode) {
            let write = PendingWrite::SetLen(len);
            Inode::apply(&mut inode.current, &write);
            inode.pending.push(write);
        }
        Ok(())
    }

    fn sync_data(&mut self) -> VfsResult<()> {
        let mut state = self.lock();
        state.check_process(self.process, "sync_data", &self.path)?;
        state.tick("sync_data", &self.path)?;
        let failed = state.roll(|faults| faults.sync_error);
        if failed {
            state.counts.sync_errors += 1;
        }
        if let Some(inode) = state.inodes.get_mut(&self.inode) {
            if failed {
                // The kernel dropped the dirty pages: they will never be
                // durable, though reads still see them.
                inode.pending.clear();
            } else {
                // Only the writes still pending reach the disk; bytes whose
                // sync failed earlier stay lost even though reads see them.
                for write in std::mem::take(&mut inode.pending) {
                    Inode::apply(&mut inode.durable, &write);
                }
            }
        }
        if failed {
            return Err(injected("sync_data", &self.path));
        }
        Ok(())
    }

    fn len(&self) -> VfsResult<u64> {
        let state = self.lock();
        state.check_process(self.process, "len", &self.path)?;
        Ok(state
            .inodes
            .get(&self.inode)
            .map_or(0, |inode| inode.current.len() as u64))
    }
}

struct SimLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    process: u64,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A lock dies with its process; a stale guard must not release the
        // next process's lock.
        if state.running == Some(self.process) {
            state.locks.remove(&self.path);
        }
    }
}

impl Vfs for SimVfs {
    fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        self.open_handle(path, true)
    }

    fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        self.open_handle(path, false)
    }

    fn remove_file(&self, path: &Path) -> VfsResult<()> {
        let mut state = self.lock_running("remove", path)?;
        state.tick("remove", path)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("remove", path));
        }
        if !state.current.files.contains_key(path) {
            return Err(error(
                "remove",
                path,
                io::ErrorKind::NotFound,
                "no such file",
            ));
        }
        state.dir_change(DirOp::Remove {
            path: path.to_path_buf(),
        });
        state.drop_unreferenced_inodes();
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
        let mut state = self.lock_running("rename", from)?;
        if from.parent() != to.parent() {
            // Only renames inside one directory are modelled (one change,
            // made durable by one directory sync); the engine needs no other.
            return Err(error(
                "rename",
                from,
                io::ErrorKind::Unsupported,
                "rename across directories is not simulated",
            ));
        }
        state.tick("rename", from)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("rename", from));
        }
        if !state.current.files.contains_key(from) {
            return Err(error(
                "rename",
                from,
                io::ErrorKind::NotFound,
                "no such file",
            ));
        }
        state.dir_change(DirOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
        let mut state = self.lock_running("create_dir_all", path)?;
        let mut missing: Vec<PathBuf> = path
            .ancestors()
            .filter(|ancestor| !state.current.has_dir(ancestor))
            .map(Path::to_path_buf)
            .collect();
        if let Some(file) = missing
            .iter()
            .find(|dir| state.current.files.contains_key(*dir))
        {
            return Err(error(
                "create_dir_all",
                file,
                io::ErrorKind::AlreadyExists,
                "a file has this name",
            ));
        }
        // Outermost first: each new directory is an entry of its parent.
        missing.reverse();
        for dir in missing {
            state.dir_change(DirOp::Mkdir { path: dir });
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
        let state = self.lock_running("list_dir", path)?;
        if !state.current.has_dir(path) {
            return Err(error(
                "list_dir",
                path,
                io::ErrorKind::NotFound,
                "no such directory",
            ));
        }
        // The engine lists its own directory, which holds files only.
        Ok(state
            .current
            .files
            .keys()
            .filter(|entry| entry.parent() == Some(path))
            .map(|entry| file_name(entry))
            .collect())
    }

    fn exists(&self, path: &Path) -> VfsResult<bool> {
        let state = self.lock_running("exists", path)?;
        Ok(state.current.files.contains_key(path) || state.current.has_dir(path))
    }

    fn file_size(&self, path: &Path) -> VfsResult<u64> {
        let state = self.lock_running("metadata", path)?;
        let id = state
            .current
            .files
            .get(path)
            .ok_or_else(|| error("metadata", path, io::ErrorKind::NotFound, "no such file"))?;
        Ok(state
            .inodes
            .get(id)
            .map_or(0, |inode| inode.current.len() as u64))
    }

    fn sync_dir(&self, path: &Path) -> VfsResult<()> {
        let mut state = self.lock_running("sync_dir", path)?;
        if !state.current.has_dir(path) {
            return Err(error(
                "sync_dir",
                path,
                io::ErrorKind::NotFound,
                "no such directory",
            ));
        }
        state.tick("sync_dir", path)?;
        if state.roll(|faults| faults.sync_error) {
            state.counts.sync_errors += 1;
            return Err(injected("sync_dir", path));
        }
        // This directory's changes become durable, in order; the others stay
        // pending (they touch other names, so the order between them and
        // these does not matter).
        let (mine, others): (Vec<DirOp>, Vec<DirOp>) = std::mem::take(&mut state.dir_ops)
            .into_iter()
            .partition(|op| op.dir() == path);
        for op in &mine {
            state.durable.apply(op);
        }
        state.dir_ops = others;
        state.drop_unreferenced_inodes();
        Ok(())
    }

    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
        let mut state = self.lock_running("mmap", path)?;
        if state.roll(|faults| faults.read_error) {
            state.counts.read_errors += 1;
            return Err(injected("mmap", path));
        }
        let id = state
            .current
            .files
            .get(path)
            .ok_or_else(|| error("open", path, io::ErrorKind::NotFound, "no such file"))?;
        let bytes = state
            .inodes
            .get(id)
            .map(|inode| inode.current.clone())
            .unwrap_or_default();
        Ok(MappedFile::from_bytes(bytes))
    }

    fn lock_file(&self, path: &Path) -> VfsResult<FileLock> {
        let mut state = self.lock_running("lock", path)?;
        if !state.current.parent_exists(path) {
            return Err(error(
                "lock",
                path,
                io::ErrorKind::NotFound,
                "parent directory does not exist",
            ));
        }
        if !state.current.files.contains_key(path) {
            let id = state.next_inode;
            state.next_inode += 1;
            state.inodes.insert(id, Inode::default());
            state.dir_change(DirOp::Create {
                path: path.to_path_buf(),
                inode: id,
            });
        }
        if !state.locks.insert(path.to_path_buf()) {
            return Err(error(
                "lock",
                path,
                io::ErrorKind::WouldBlock,
                "already locked by another engine",
            ));
        }
        Ok(FileLock::new(Box::new(SimLock {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            process: self.process,
        })))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Creates `/d` and makes its entry durable, as an operator's directory.
    /// A disk with `faults` whose directory `/d` is already durable.
    fn disk_with(seed: u64, faults: FaultConfig) -> SimVfs {
        let vfs = SimVfs::new(seed, faults);
        vfs.create_dir_all(Path::new("/d")).unwrap();
        vfs.sync_dir(Path::new("/")).unwrap();
        vfs
    }

    fn no_faults() -> SimVfs {
        disk_with(1, FaultConfig::default())
    }

    fn read_all(vfs: &SimVfs, path: &Path) -> Vec<u8> {
        vfs.map_readonly(path).unwrap().to_vec()
    }

    #[test]
    fn files_read_back_and_map() {
        let vfs = no_faults();
        let path = Path::new("/d/a");
        let mut file = vfs.create_file(path).unwrap();
        file.write_at(0, b"hello").unwrap();
        file.append(b" world").unwrap();
        let mut buf = [0u8; 20];
        assert_eq!(file.read_at(0, &mut buf).unwrap(), 11);
        assert_eq!(&buf[..11], b"hello world");
        assert_eq!(file.read_at(50, &mut buf).unwrap(), 0);
        assert_eq!(read_all(&vfs, path), b"hello world");
        assert_eq!(vfs.file_size(path).unwrap(), 11);
        assert_eq!(vfs.list_dir(Path::new("/d")).unwrap(), vec!["a"]);
        assert!(
            vfs.open_file(Path::new("/d/missing"))
                .unwrap_err()
                .is_not_found()
        );
        assert!(
            vfs.map_readonly(Path::new("/d/missing"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn crash_keeps_only_synced_data_and_synced_entries() {
        let vfs = no_faults();
        let synced = Path::new("/d/synced");
        let unsynced_entry = Path::new("/d/entry-not-synced");
        let mut file = vfs.create_file(synced).unwrap();
        file.write_at(0, b"durable").unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        file.write_at(7, b" and lost").unwrap();
        let mut other = vfs.create_file(unsynced_entry).unwrap();
        other.write_at(0, b"x").unwrap();
        other.sync_data().unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        assert_eq!(read_all(&vfs, synced), b"durable");
        assert!(
            !vfs.exists(unsynced_entry).unwrap(),
            "entry needs a directory sync"
        );
        // Handles from before the crash are dead.
        assert!(file.write_at(0, b"zombie").is_err());
        assert!(file.sync_data().is_err());
    }

    #[test]
    fn rename_and_remove_are_durable_only_after_directory_sync() {
        let vfs = no_faults();
        let dir = Path::new("/d");
        let (old, new) = (Path::new("/d/MANIFEST"), Path::new("/d/MANIFEST.tmp"));
        let mut file = vfs.create_file(old).unwrap();
        file.write_at(0, b"v1").unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(dir).unwrap();
        let mut temp = vfs.create_file(new).unwrap();
        temp.write_at(0, b"v2").unwrap();
        temp.sync_data().unwrap();
        vfs.rename(new, old).unwrap();
        assert_eq!(read_all(&vfs, old), b"v2");
        vfs.crash();
        let vfs = vfs.restart();
        assert_eq!(read_all(&vfs, old), b"v1", "rename not yet durable");
        let mut temp = vfs.create_file(new).unwrap();
        temp.write_at(0, b"v2").unwrap();
        temp.sync_data().unwrap();
        vfs.rename(new, old).unwrap();
        vfs.sync_dir(dir).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        assert_eq!(read_all(&vfs, old), b"v2");
        vfs.remove_file(old).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        assert!(vfs.exists(old).unwrap(), "removal not yet durable");
        vfs.remove_file(old).unwrap();
        vfs.sync_dir(dir).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        assert!(!vfs.exists(old).unwrap());
    }

    #[test]
    fn failed_sync_loses_the_pending_writes_forever() {
        let vfs = SimVfs::new(
            3,
            FaultConfig {
                sync_error: 1.0,
                ..FaultConfig::default()
            },
        );
        vfs.set_faults_enabled(false);
        vfs.create_dir_all(Path::new("/d")).unwrap();
        vfs.sync_dir(Path::new("/")).unwrap();
        let path = Path::new("/d/wal");
        let mut file = vfs.create_file(path).unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        file.write_at(0, b"record").unwrap();
        vfs.set_faults_enabled(true);
        assert!(file.sync_data().is_err());
        vfs.set_faults_enabled(false);
        // Reads still see the bytes, and a later sync "succeeds"...
        assert_eq!(read_all(&vfs, path), b"record");
        file.write_at(6, b"!").unwrap();
        file.sync_data().unwrap();
        assert_eq!(vfs.counts().sync_errors, 1);
        // ...yet after a crash only the write made after the failure survives.
        vfs.crash();
        let vfs = vfs.restart();
        assert_eq!(read_all(&vfs, path), b"\0\0\0\0\0\0!");
    }

    #[test]
    fn torn_write_keeps_a_prefix_of_pending_writes() {
        let vfs = disk_with(
            7,
            FaultConfig {
                torn_write: 1.0,
                ..FaultConfig::default()
            },
        );
        let path = Path::new("/d/f");
        let mut file = vfs.create_file(path).unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        file.write_at(0, &[1u8; 100]).unwrap();
        file.write_at(100, &[2u8; 100]).unwrap();
        vfs.crash();
        let vfs = vfs.restart();
        let after = read_all(&vfs, path);
        let intended: Vec<u8> = [[1u8; 100], [2u8; 100]].concat();
        assert!(after.len() <= 200);
        assert_eq!(after, intended[..after.len()], "only a prefix survives");
        assert_eq!(vfs.counts().torn_writes, 1);
    }

    /// A synced, dir-synced file of `pages` zero pages in `/d`.
    fn synced_zero_file(vfs: &SimVfs, path: &Path, pages: usize) -> Box<dyn VfsFile> {
        let mut file = vfs.create_file(path).unwrap();
        file.set_len((pages * PAGE_BYTES) as u64).unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        file
    }

    #[test]
    fn reordered_writeback_writes_whole_pages_in_any_order() {
        const PAGES: usize = 4;
        let mut later_page_without_earlier = 0;
        for seed in 0..64 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    reordered_writeback: 1.0,
                    ..FaultConfig::default()
                },
            );
            let path = Path::new("/d/wal");
            let mut file = synced_zero_file(&vfs, path, PAGES);
            for page in 0..PAGES {
                file.write_at((page * PAGE_BYTES) as u64, &[page as u8 + 1; PAGE_BYTES])
                    .unwrap();
            }
            vfs.crash();
            let vfs = vfs.restart();
            let after = read_all(&vfs, path);
            assert_eq!(after.len(), PAGES * PAGE_BYTES, "seed {seed}");
            let written: Vec<bool> = after
                .chunks(PAGE_BYTES)
                .enumerate()
                .map(|(page, bytes)| {
                    let new = bytes.iter().all(|byte| *byte == page as u8 + 1);
                    let old = bytes.iter().all(|byte| *byte == 0);
                    assert!(new || old, "seed {seed}: page {page} is old or new, whole");
                    new
                })
                .collect();
            let partial = written.contains(&true) && written.contains(&false);
            assert_eq!(vfs.counts().reordered_writebacks, u64::from(partial));
            if written.windows(2).any(|pair| !pair[0] && pair[1]) {
                later_page_without_earlier += 1;
            }
        }
        assert!(
            later_page_without_earlier > 5,
            "some pages, not a prefix: {later_page_without_earlier}"
        );
    }

    #[test]
    fn torn_page_keeps_a_prefix_of_its_sectors() {
        let mut torn = 0;
        for seed in 0..32 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    reordered_writeback: 1.0,
                    torn_page: 1.0,
                    ..FaultConfig::default()
                },
            );
            let path = Path::new("/d/f");
            let mut file = synced_zero_file(&vfs, path, 1);
            file.write_at(0, &[0xAA; PAGE_BYTES]).unwrap();
            vfs.crash();
            let vfs = vfs.restart();
            let after = read_all(&vfs, path);
            let new = after.iter().take_while(|byte| **byte == 0xAA).count();
            assert!(after[new..].iter().all(|byte| *byte == 0), "seed {seed}");
            assert_eq!(new % SECTOR_BYTES, 0, "seed {seed}: torn at a sector");
            assert!(new < PAGE_BYTES, "seed {seed}: a written page is torn");
            if new > 0 {
                torn += 1;
                assert_eq!(vfs.counts().torn_pages, 1);
            }
        }
        assert!(torn > 3, "{torn}");
    }

    #[test]
    fn size_after_a_crash_is_the_size_after_some_prefix_of_the_writes() {
        let mut sizes = BTreeSet::new();
        for seed in 0..32 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    reordered_writeback: 1.0,
                    ..FaultConfig::default()
                },
            );
            let path = Path::new("/d/f");
            let mut file = synced_zero_file(&vfs, path, 0);
            file.write_at(0, &[1; 100]).unwrap();
            file.write_at(100, &[2; 100]).unwrap();
            vfs.crash();
            let vfs = vfs.restart();
            let after = read_all(&vfs, path);
            assert!([0, 100, 200].contains(&after.len()), "seed {seed}");
            sizes.insert(after.len());
        }
        assert_eq!(sizes.len(), 3, "{sizes:?}");
    }

    #[test]
    fn a_new_directory_is_durable_only_after_its_parent_is_synced() {
        let vfs = SimVfs::new(1, FaultConfig::default());
        let (outer, inner) = (Path::new("/a"), Path::new("/a/db"));
        let path = Path::new("/a/db/f");
        // Each round ends in a power loss and returns the next process.
        let make = |vfs: SimVfs, sync_parents: &[&str]| -> SimVfs {
            vfs.create_dir_all(inner).unwrap();
            let mut file = vfs.create_file(path).unwrap();
            file.write_at(0, b"data").unwrap();
            file.sync_data().unwrap();
            vfs.sync_dir(inner).unwrap();
            for parent in sync_parents {
                vfs.sync_dir(Path::new(parent)).unwrap();
            }
            vfs.crash();
            vfs.restart()
        };
        let vfs = make(vfs, &[]);
        assert!(!vfs.exists(inner).unwrap(), "mkdir needs its parent synced");
        assert!(
            !vfs.exists(path).unwrap(),
            "the file goes with its directory"
        );
        let vfs = make(vfs, &["/a"]);
        assert!(
            !vfs.exists(outer).unwrap(),
            "/a itself was never synced in /"
        );
        assert!(!vfs.exists(path).unwrap());
        let vfs = make(vfs, &["/a", "/"]);
        assert_eq!(read_all(&vfs, path), b"data");
        assert!(
            vfs.sync_dir(Path::new("/missing"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn unsynced_entry_changes_are_each_kept_or_rolled_back() {
        const FILES: usize = 8;
        let mut mixed = 0;
        for seed in 0..16 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    dir_entry_persist: 0.5,
                    ..FaultConfig::default()
                },
            );
            for n in 0..FILES {
                let mut file = vfs
                    .create_file(&Path::new("/d").join(n.to_string()))
                    .unwrap();
                file.write_at(0, b"x").unwrap();
                file.sync_data().unwrap();
            }
            vfs.crash();
            let vfs = vfs.restart();
            let kept = vfs.list_dir(Path::new("/d")).unwrap().len();
            assert_eq!(vfs.counts().dir_entry_rollbacks, (FILES - kept) as u64);
            assert_eq!(vfs.last_crash().kept.len(), kept);
            if kept > 0 && kept < FILES {
                mixed += 1;
            }
        }
        assert!(mixed > 10, "{mixed}");
    }

    #[test]
    fn an_unsynced_rename_leaves_the_old_file_or_the_new_one_never_none() {
        let mut outcomes = BTreeSet::new();
        for seed in 0..32 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    dir_entry_persist: 0.5,
                    ..FaultConfig::default()
                },
            );
            let (manifest, temp) = (Path::new("/d/MANIFEST"), Path::new("/d/MANIFEST.tmp"));
            let mut file = vfs.create_file(manifest).unwrap();
            file.write_at(0, b"v1").unwrap();
            file.sync_data().unwrap();
            vfs.sync_dir(Path::new("/d")).unwrap();
            let mut file = vfs.create_file(temp).unwrap();
            file.write_at(0, b"v2").unwrap();
            file.sync_data().unwrap();
            vfs.rename(temp, manifest).unwrap();
            vfs.crash();
            let vfs = vfs.restart();
            let content = read_all(&vfs, manifest);
            assert!(content == b"v1" || content == b"v2", "seed {seed}");
            outcomes.insert(content);
        }
        assert_eq!(outcomes.len(), 2, "both outcomes happen");
    }

    #[test]
    fn wal_bit_flip_lands_in_synced_bytes() {
        for seed in 0..16 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    wal_bit_flip: 1.0,
                    ..FaultConfig::default()
                },
            );
            let path = Path::new("/d/wal-00000000000000000001.log");
            let mut file = synced_zero_file(&vfs, path, 2);
            let synced: Vec<u8> = (1..=100).collect();
            file.write_at(0, &synced).unwrap();
            file.sync_data().unwrap();
            file.write_at(100, &[7; 100]).unwrap();
            vfs.crash();
            let vfs = vfs.restart();
            let after = read_all(&vfs, path);
            let differing: Vec<usize> = (0..after.len())
                .filter(|&at| after[at] != synced.get(at).copied().unwrap_or(0))
                .collect();
            assert_eq!(differing.len(), 1, "seed {seed}: one byte differs");
            let at = differing[0];
            assert!(at < synced.len(), "seed {seed}: in the synced bytes");
            assert_eq!((after[at] ^ synced[at]).count_ones(), 1);
            assert_eq!(vfs.counts().wal_bit_flips, 1);
            assert!(vfs.flipped_files().contains(path));
            let flips = vfs.last_crash().bit_flips;
            assert_eq!(flips.len(), 1);
            assert_eq!(flips[0].offset, at as u64);
        }
    }

    #[test]
    fn a_multi_bit_wal_flip_damages_one_sector_of_synced_bytes() {
        for seed in 0..16 {
            let vfs = disk_with(
                seed,
                FaultConfig {
                    wal_bit_flip: 1.0,
                    wal_flip_bits: 3,
                    ..FaultConfig::default()
                },
            );
            let path = Path::new("/d/wal-00000000000000000001.log");
            let mut file = synced_zero_file(&vfs, path, 2);
            let synced = vec![0x5A; 3000];
            file.write_at(0, &synced).unwrap();
            file.sync_data().unwrap();
            vfs.crash();
            let vfs = vfs.restart();
            let after = read_all(&vfs, path);
            let flipped: u32 = after
                .iter()
                .zip(synced.iter().chain(std::iter::repeat(&0)))
                .map(|(now, was)| (now ^ was).count_ones())
                .sum();
            assert_eq!(flipped, 3, "seed {seed}");
            let flips = vfs.last_crash().bit_flips;
            assert_eq!(flips.len(), 3);
            let sectors: BTreeSet<u64> = flips
                .iter()
                .map(|flip| flip.offset / SECTOR_BYTES as u64)
                .collect();
            assert_eq!(sectors.len(), 1, "seed {seed}: one sector");
            assert!(flips.iter().all(|flip| flip.offset < 3000));
            assert_eq!(vfs.counts().wal_bit_flips, 1);
        }
    }

    #[test]
    fn disk_full_rejects_growth() {
        let vfs = SimVfs::new(
            1,
            FaultConfig {
                capacity_bytes: Some(100),
                ..FaultConfig::default()
            },
        );
        vfs.create_dir_all(Path::new("/d")).unwrap();
        let mut file = vfs.create_file(Path::new("/d/f")).unwrap();
        file.write_at(0, &[0u8; 100]).unwrap();
        let error = file.write_at(100, &[0u8; 1]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        file.write_at(0, &[9u8; 100]).unwrap();
        assert_eq!(vfs.counts().disk_full, 1);
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let vfs = SimVfs::new(
                seed,
                FaultConfig {
                    write_error: 0.3,
                    short_write: 0.2,
                    ..FaultConfig::default()
                },
            );
            vfs.create_dir_all(Path::new("/d")).unwrap();
            let mut file = vfs.create_file(Path::new("/d/f")).unwrap();
            let outcomes: Vec<bool> = (0..200)
                .map(|i| file.write_at(i * 10, &[1u8; 10]).is_ok())
                .collect();
            (outcomes, read_all(&vfs, Path::new("/d/f")))
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42).0, run(43).0);
    }

    #[test]
    fn locks_are_exclusive_and_die_with_a_crash() {
        let vfs = no_faults();
        let path = Path::new("/d/LOCK");
        let lock = vfs.lock_file(path).unwrap();
        assert_eq!(
            vfs.lock_file(path).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        vfs.crash();
        let vfs = vfs.restart();
        let second = vfs.lock_file(path).unwrap();
        drop(lock); // a stale guard must not release the new holder's lock
        assert!(vfs.lock_file(path).is_err());
        drop(second);
        vfs.lock_file(path).unwrap();
    }
}
