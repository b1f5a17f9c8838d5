//! The disk's state: inodes with their current and durable bytes and the
//! writes still pending between them, the current and durable directory
//! entries with the changes between them, the fault PRNG, and the process
//! that may use the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use kausal_vfs::VfsResult;

use super::faults::{BitFlip, CrashReport, FaultConfig, FaultCounts};
use super::{error, injected};

#[derive(Debug, Clone)]
pub(super) enum PendingWrite {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default, Clone)]
pub(super) struct Inode {
    pub(super) current: Vec<u8>,
    pub(super) durable: Vec<u8>,
    /// Writes since the last sync that can still become durable.
    pub(super) pending: Vec<PendingWrite>,
}

impl Inode {
    pub(super) fn apply(bytes: &mut Vec<u8>, write: &PendingWrite) {
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
pub(super) enum DirOp {
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
    pub(super) fn dir(&self) -> &Path {
        let path = match self {
            DirOp::Create { path, .. } | DirOp::Remove { path } | DirOp::Mkdir { path } => path,
            DirOp::Rename { to, .. } => to,
        };
        path.parent().unwrap_or(Path::new(""))
    }

    pub(super) fn describe(&self) -> String {
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
pub(super) struct Namespace {
    pub(super) files: BTreeMap<PathBuf, u64>,
    pub(super) dirs: BTreeSet<PathBuf>,
}

impl Namespace {
    pub(super) fn has_dir(&self, path: &Path) -> bool {
        is_root(path) || self.dirs.contains(path)
    }

    pub(super) fn parent_exists(&self, path: &Path) -> bool {
        path.parent().is_none_or(|parent| self.has_dir(parent))
    }

    /// Applies a change; one whose source is missing (an earlier change it
    /// depended on was rolled back) changes nothing, as on a real disk.
    pub(super) fn apply(&mut self, op: &DirOp) {
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
    pub(super) fn prune(&mut self) {
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
pub(super) struct State {
    pub(super) rng: Option<fastrand::Rng>,
    pub(super) faults: FaultConfig,
    pub(super) faults_enabled: bool,
    pub(super) counts: FaultCounts,
    /// The process that may use the disk; `None` from a power loss until
    /// the harness calls `restart`.
    pub(super) running: Option<u64>,
    /// The last process id handed out (the first process is 1).
    pub(super) last_process: u64,
    pub(super) next_inode: u64,
    pub(super) inodes: BTreeMap<u64, Inode>,
    /// What lookups see.
    pub(super) current: Namespace,
    /// What a crash keeps for sure.
    pub(super) durable: Namespace,
    /// Changes to `current` not yet synced, in order.
    pub(super) dir_ops: Vec<DirOp>,
    pub(super) locks: BTreeSet<PathBuf>,
    pub(super) flipped_files: BTreeSet<PathBuf>,
    /// Every bit flipped at rest so far, in order.
    pub(super) flips: Vec<BitFlip>,
    pub(super) last_crash: CrashReport,
    pub(super) mutating_ops: u64,
    /// (operation number, crash too) of the next scheduled failure.
    pub(super) scheduled: Option<(u64, bool)>,
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl State {
    pub(super) fn chance(&mut self, probability: f64) -> bool {
        if !self.faults_enabled || probability <= 0.0 {
            return false;
        }
        self.rng.as_mut().is_some_and(|rng| rng.f64() < probability)
    }

    /// Draws the fault whose probability `pick` selects.
    pub(super) fn roll(&mut self, pick: impl Fn(&FaultConfig) -> f64) -> bool {
        let probability = pick(&self.faults);
        self.chance(probability)
    }

    pub(super) fn below(&mut self, bound: usize) -> usize {
        match self.rng.as_mut() {
            Some(rng) if bound > 0 => rng.usize(..bound),
            _ => 0,
        }
    }

    pub(super) fn unit(&mut self) -> f64 {
        self.rng.as_mut().map_or(0.0, fastrand::Rng::f64)
    }

    pub(super) fn used_bytes(&self) -> u64 {
        self.inodes
            .values()
            .map(|inode| inode.current.len().max(inode.durable.len()) as u64)
            .sum()
    }

    /// Records a directory change: visible now, durable after `sync_dir`.
    pub(super) fn dir_change(&mut self, op: DirOp) {
        self.current.apply(&op);
        self.dir_ops.push(op);
    }

    /// Forgets files that no name (current, durable, or in a change that a
    /// crash could still keep) refers to.
    pub(super) fn drop_unreferenced_inodes(&mut self) {
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
    pub(super) fn tick(&mut self, op: &'static str, path: &Path) -> VfsResult<()> {
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
    pub(super) fn check_process(
        &self,
        process: u64,
        op: &'static str,
        path: &Path,
    ) -> VfsResult<()> {
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
