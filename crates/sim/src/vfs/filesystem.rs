//! The [`Vfs`] implementation: opening and creating files, directory
//! entries (create, rename, remove, mkdir, list, sync), maps and locks.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kausal_vfs::{FileLock, MappedFile, Vfs, VfsFile, VfsResult};

use super::disk::{DirOp, Inode, PendingWrite, file_name};
use super::handle::{SimFile, SimLock};
use super::{SimVfs, error, injected};

impl SimVfs {
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
