//! Open files and directory locks of one process: every operation checks
//! that the process still runs, counts toward a scheduled failure and
//! draws its faults.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use kausal_vfs::{VfsFile, VfsResult};

use super::disk::{Inode, PendingWrite, State};
use super::{error, injected};

#[derive(Debug)]
pub(super) struct SimFile {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) path: PathBuf,
    pub(super) inode: u64,
    pub(super) process: u64,
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

pub(super) struct SimLock {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) path: PathBuf,
    pub(super) process: u64,
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
