//! `SimVfs`: an in-memory, deterministic, fault-injecting file system.
//!
//! Model (pessimistic, like a real disk after power loss):
//! * every file (inode) has its current bytes, which reads see, and its
//!   durable bytes, which survive a crash; `sync_data` makes the current
//!   bytes durable. Writes since the last sync are kept in order so that a
//!   crash can keep a prefix of them (a torn write).
//! * directory entries (create, rename, remove) are durable only after
//!   `sync_dir` on their directory; a crash restores the durable entries.
//!   Directories themselves are always durable.
//! * a failed `sync_data` drops the pending writes from what can become
//!   durable while reads still see them, and a later successful sync does not
//!   bring them back (Linux marks the pages clean): the fsyncgate trap.
//! * file handles and locks from before a crash fail on every call.
//!
//! Faults are drawn from one seeded PRNG, so a seed replays bit for bit.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use kausal_vfs::{FileLock, MappedFile, Vfs, VfsError, VfsFile, VfsResult};

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
    /// At a crash, a file's pending writes keep a torn prefix instead of vanishing.
    pub torn_write: f64,
    /// At a crash, one bit of a table or manifest file flips at rest.
    pub bit_flip: f64,
    /// Total bytes of file content the disk holds; writes past it fail.
    pub capacity_bytes: Option<u64>,
}

/// Faults injected so far, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    pub read_errors: u64,
    pub write_errors: u64,
    pub short_writes: u64,
    pub sync_errors: u64,
    pub torn_writes: u64,
    pub bit_flips: u64,
    pub disk_full: u64,
    pub crashes: u64,
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
            + self.bit_flips
            + self.disk_full
    }

    /// Adds another run's counts.
    pub fn add(&mut self, other: &FaultCounts) {
        self.read_errors += other.read_errors;
        self.write_errors += other.write_errors;
        self.short_writes += other.short_writes;
        self.sync_errors += other.sync_errors;
        self.torn_writes += other.torn_writes;
        self.bit_flips += other.bit_flips;
        self.disk_full += other.disk_full;
        self.crashes += other.crashes;
        self.scheduled_failures += other.scheduled_failures;
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

#[derive(Debug, Default)]
struct State {
    rng: Option<fastrand::Rng>,
    faults: FaultConfig,
    faults_enabled: bool,
    counts: FaultCounts,
    generation: u64,
    next_inode: u64,
    inodes: BTreeMap<u64, Inode>,
    entries: BTreeMap<PathBuf, u64>,
    durable_entries: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    flipped_files: BTreeSet<PathBuf>,
    mutating_ops: u64,
    /// (operation number, crash too) of the next scheduled failure.
    scheduled: Option<(u64, bool)>,
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

    fn used_bytes(&self) -> u64 {
        self.inodes
            .values()
            .map(|inode| inode.current.len().max(inode.durable.len()) as u64)
            .sum()
    }

    /// Power loss; see [`SimVfs::crash`].
    fn crash(&mut self) {
        self.counts.crashes += 1;
        self.generation += 1;
        self.locks.clear();
        self.entries = self.durable_entries.clone();
        self.drop_unreferenced_inodes();
        let ids: Vec<u64> = self.inodes.keys().copied().collect();
        for id in ids {
            let torn = {
                let probability = self.faults.torn_write;
                let has_pending = self
                    .inodes
                    .get(&id)
                    .is_some_and(|inode| !inode.pending.is_empty());
                has_pending && self.chance(probability)
            };
            let Some(inode) = self.inodes.get(&id).cloned() else {
                continue;
            };
            let mut bytes = inode.durable.clone();
            if torn {
                // Keep whole writes up to a point, then part of the next.
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
                self.counts.torn_writes += 1;
            }
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.current = bytes.clone();
                inode.durable = bytes;
                inode.pending.clear();
            }
        }
        let flip = self.faults.bit_flip;
        if self.chance(flip) {
            let candidates: Vec<(PathBuf, u64)> = self
                .entries
                .iter()
                .filter(|(path, _)| {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    name.ends_with(".sst") || name == "MANIFEST"
                })
                .map(|(path, id)| (path.clone(), *id))
                .collect();
            if !candidates.is_empty() {
                let (path, id) = candidates[self.below(candidates.len())].clone();
                let len = self.inodes.get(&id).map_or(0, |inode| inode.current.len());
                if len > 0 {
                    let byte = self.below(len);
                    let bit = self.below(8);
                    if let Some(inode) = self.inodes.get_mut(&id) {
                        inode.current[byte] ^= 1 << bit;
                        inode.durable[byte] ^= 1 << bit;
                    }
                    self.counts.bit_flips += 1;
                    self.flipped_files.insert(path);
                }
            }
        }
    }

    /// Forgets files that no current or durable directory entry names.
    fn drop_unreferenced_inodes(&mut self) {
        let referenced: BTreeSet<u64> = self
            .entries
            .values()
            .chain(self.durable_entries.values())
            .copied()
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

    fn check_generation(&self, generation: u64, op: &'static str, path: &Path) -> VfsResult<()> {
        if generation != self.generation {
            return Err(error(
                op,
                path,
                io::ErrorKind::BrokenPipe,
                "handle from before a crash",
            ));
        }
        Ok(())
    }
}

fn error(op: &'static str, path: &Path, kind: io::ErrorKind, message: &str) -> VfsError {
    VfsError::new(op, path, io::Error::new(kind, message.to_string()))
}

fn injected(op: &'static str, path: &Path) -> VfsError {
    error(op, path, io::ErrorKind::Other, "injected I/O error")
}

/// The simulated file system; clones share one disk.
#[derive(Debug, Clone)]
pub struct SimVfs {
    state: Arc<Mutex<State>>,
}

impl SimVfs {
    /// An empty disk whose faults are drawn from `seed`. Faults start enabled.
    pub fn new(seed: u64, faults: FaultConfig) -> Self {
        let state = State {
            rng: Some(fastrand::Rng::with_seed(seed)),
            faults,
            faults_enabled: true,
            next_inode: 1,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
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

    /// Power loss: everything not durable is dropped (pending writes may
    /// leave a torn prefix), directory entries return to their durable
    /// state, open handles and locks die, and a bit may flip at rest in a
    /// table or manifest file.
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// Makes the `at`-th mutating operation from now (create, write,
    /// set_len, sync, rename, remove, directory sync) fail; with `crash` the
    /// disk also loses power at that moment.
    pub fn schedule_failure(&self, at: u64, crash: bool) {
        let mut state = self.lock();
        let due = state.mutating_ops + at;
        state.scheduled = Some((due, crash));
    }

    /// True while a scheduled failure has not fired yet.
    pub fn failure_pending(&self) -> bool {
        self.lock().scheduled.is_some()
    }

    /// Mutating operations performed so far.
    pub fn mutating_ops(&self) -> u64 {
        self.lock().mutating_ops
    }

    fn parent_exists(state: &State, path: &Path) -> bool {
        path.parent()
            .is_none_or(|parent| parent.as_os_str().is_empty() || state.dirs.contains(parent))
    }

    fn open_handle(&self, path: &Path, create: bool) -> VfsResult<Box<dyn VfsFile>> {
        let mut state = self.lock();
        let op = if create { "create" } else { "open" };
        if !Self::parent_exists(&state, path) {
            return Err(error(
                op,
                path,
                io::ErrorKind::NotFound,
                "parent directory does not exist",
            ));
        }
        let inode = match (state.entries.get(path).copied(), create) {
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
                        state.entries.insert(path.to_path_buf(), id);
                        id
                    }
                }
            }
        };
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            path: path.to_path_buf(),
            inode,
            generation: state.generation,
        }))
    }
}

#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    inode: u64,
    generation: u64,
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
        state.check_generation(self.generation, "read_at", &self.path)?;
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
        state.check_generation(self.generation, "write_at", &self.path)?;
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
        state.check_generation(self.generation, "set_len", &self.path)?;
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
        state.check_generation(self.generation, "sync_data", &self.path)?;
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
        state.check_generation(self.generation, "len", &self.path)?;
        Ok(state
            .inodes
            .get(&self.inode)
            .map_or(0, |inode| inode.current.len() as u64))
    }
}

struct SimLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    generation: u64,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.generation == self.generation {
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
        let mut state = self.lock();
        state.tick("remove", path)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("remove", path));
        }
        if state.entries.remove(path).is_none() {
            return Err(error(
                "remove",
                path,
                io::ErrorKind::NotFound,
                "no such file",
            ));
        }
        state.drop_unreferenced_inodes();
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
        let mut state = self.lock();
        state.tick("rename", from)?;
        if state.roll(|faults| faults.write_error) {
            state.counts.write_errors += 1;
            return Err(injected("rename", from));
        }
        let Some(id) = state.entries.remove(from) else {
            return Err(error(
                "rename",
                from,
                io::ErrorKind::NotFound,
                "no such file",
            ));
        };
        state.entries.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
        let mut state = self.lock();
        for ancestor in path.ancestors() {
            if !ancestor.as_os_str().is_empty() {
                state.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
        let state = self.lock();
        if !state.dirs.contains(path) {
            return Err(error(
                "list_dir",
                path,
                io::ErrorKind::NotFound,
                "no such directory",
            ));
        }
        Ok(state
            .entries
            .keys()
            .filter(|entry| entry.parent() == Some(path))
            .filter_map(|entry| {
                entry
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .collect())
    }

    fn exists(&self, path: &Path) -> VfsResult<bool> {
        let state = self.lock();
        Ok(state.entries.contains_key(path) || state.dirs.contains(path))
    }

    fn file_size(&self, path: &Path) -> VfsResult<u64> {
        let state = self.lock();
        let id = state
            .entries
            .get(path)
            .ok_or_else(|| error("metadata", path, io::ErrorKind::NotFound, "no such file"))?;
        Ok(state
            .inodes
            .get(id)
            .map_or(0, |inode| inode.current.len() as u64))
    }

    fn sync_dir(&self, path: &Path) -> VfsResult<()> {
        let mut state = self.lock();
        state.tick("sync_dir", path)?;
        if state.roll(|faults| faults.sync_error) {
            state.counts.sync_errors += 1;
            return Err(injected("sync_dir", path));
        }
        let in_dir = |entry: &PathBuf| entry.parent() == Some(path);
        let current: Vec<(PathBuf, u64)> = state
            .entries
            .iter()
            .filter(|(entry, _)| in_dir(entry))
            .map(|(entry, id)| (entry.clone(), *id))
            .collect();
        state.durable_entries.retain(|entry, _| !in_dir(entry));
        state.durable_entries.extend(current);
        state.drop_unreferenced_inodes();
        Ok(())
    }

    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
        let mut state = self.lock();
        if state.roll(|faults| faults.read_error) {
            state.counts.read_errors += 1;
            return Err(injected("mmap", path));
        }
        let id = state
            .entries
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
        let mut state = self.lock();
        if !state.entries.contains_key(path) {
            let id = state.next_inode;
            state.next_inode += 1;
            state.inodes.insert(id, Inode::default());
            state.entries.insert(path.to_path_buf(), id);
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
            generation: state.generation,
        })))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn no_faults() -> SimVfs {
        let vfs = SimVfs::new(1, FaultConfig::default());
        vfs.create_dir_all(Path::new("/d")).unwrap();
        vfs
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
        assert_eq!(read_all(&vfs, old), b"v1", "rename not yet durable");
        let mut temp = vfs.create_file(new).unwrap();
        temp.write_at(0, b"v2").unwrap();
        temp.sync_data().unwrap();
        vfs.rename(new, old).unwrap();
        vfs.sync_dir(dir).unwrap();
        vfs.crash();
        assert_eq!(read_all(&vfs, old), b"v2");
        vfs.remove_file(old).unwrap();
        vfs.crash();
        assert!(vfs.exists(old).unwrap(), "removal not yet durable");
        vfs.remove_file(old).unwrap();
        vfs.sync_dir(dir).unwrap();
        vfs.crash();
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
        assert_eq!(read_all(&vfs, path), b"\0\0\0\0\0\0!");
    }

    #[test]
    fn torn_write_keeps_a_prefix_of_pending_writes() {
        let vfs = SimVfs::new(
            7,
            FaultConfig {
                torn_write: 1.0,
                ..FaultConfig::default()
            },
        );
        vfs.create_dir_all(Path::new("/d")).unwrap();
        let path = Path::new("/d/f");
        let mut file = vfs.create_file(path).unwrap();
        file.sync_data().unwrap();
        vfs.sync_dir(Path::new("/d")).unwrap();
        file.write_at(0, &[1u8; 100]).unwrap();
        file.write_at(100, &[2u8; 100]).unwrap();
        vfs.crash();
        let after = read_all(&vfs, path);
        let intended: Vec<u8> = [[1u8; 100], [2u8; 100]].concat();
        assert!(after.len() <= 200);
        assert_eq!(after, intended[..after.len()], "only a prefix survives");
        assert_eq!(vfs.counts().torn_writes, 1);
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
        let second = vfs.lock_file(path).unwrap();
        drop(lock); // a stale guard must not release the new holder's lock
        assert!(vfs.lock_file(path).is_err());
        drop(second);
        vfs.lock_file(path).unwrap();
    }
}
