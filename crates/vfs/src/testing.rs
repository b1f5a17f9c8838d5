//! `HookVfs`: any [`Vfs`] with a hook called before every operation, for
//! tests (behind the `testing` feature).
//!
//! The hook sees what is about to happen ([`VfsOp`]) and either lets it run
//! (`Ok(())`) or makes it fail with the error it returns. It may also block:
//! a test pauses an ingest at an exact file operation (the Nth sync, the
//! first write of a table) and waits on an event there instead of racing the
//! clock, or injects a fault at a chosen point.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use kausal_vfs::testing::{HookVfs, OpKind};
//! use kausal_vfs::{OsVfs, Vfs, VfsError};
//!
//! let syncs = Arc::new(AtomicU64::new(0));
//! let counted = Arc::clone(&syncs);
//! let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
//!     if op.kind == OpKind::SyncData {
//!         counted.fetch_add(1, Ordering::SeqCst);
//!     }
//!     if op.kind == OpKind::Rename {
//!         return Err(VfsError::new(op.kind.name(), op.path, std::io::Error::other("refused")));
//!     }
//!     Ok(())
//! });
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("f");
//! let mut file = vfs.create_file(&path)?;
//! file.write_at(0, b"x")?;
//! file.sync_data()?;
//! assert_eq!(syncs.load(Ordering::SeqCst), 1);
//! assert!(vfs.rename(&path, &dir.path().join("g")).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::{FileLock, MappedFile, Vfs, VfsFile, VfsResult};

/// Which operation a [`VfsOp`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// [`Vfs::create_file`].
    Create,
    /// [`Vfs::open_file`].
    Open,
    /// [`Vfs::remove_file`].
    Remove,
    /// [`Vfs::rename`] (the hook sees the source path).
    Rename,
    /// [`Vfs::create_dir_all`].
    CreateDirAll,
    /// [`Vfs::list_dir`].
    ListDir,
    /// [`Vfs::exists`].
    Exists,
    /// [`Vfs::file_size`].
    FileSize,
    /// [`Vfs::sync_dir`].
    SyncDir,
    /// [`Vfs::map_readonly`].
    Map,
    /// [`Vfs::read_file`] (passed to the wrapped Vfs whole, so its own
    /// read-only path runs: no `Open`, `Len` or `Read` of its own).
    ReadFile,
    /// [`Vfs::lock_file`].
    Lock,
    /// [`Vfs::lock_file_shared`].
    LockShared,
    /// [`VfsFile::read_at`].
    Read,
    /// [`VfsFile::write_at`].
    Write,
    /// [`VfsFile::set_len`].
    SetLen,
    /// [`VfsFile::sync_data`].
    SyncData,
    /// [`VfsFile::len`].
    Len,
}

impl OpKind {
    /// The operation's name as errors spell it.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Open => "open",
            OpKind::Remove => "remove",
            OpKind::Rename => "rename",
            OpKind::CreateDirAll => "create_dir_all",
            OpKind::ListDir => "list_dir",
            OpKind::Exists => "exists",
            OpKind::FileSize => "metadata",
            OpKind::SyncDir => "sync_dir",
            OpKind::Map => "mmap",
            OpKind::ReadFile => "read",
            OpKind::Lock => "lock",
            OpKind::LockShared => "lock_shared",
            OpKind::Read => "read_at",
            OpKind::Write => "write_at",
            OpKind::SetLen => "set_len",
            OpKind::SyncData => "sync_data",
            OpKind::Len => "len",
        }
    }

    /// True for operations that change what is on the disk (or make it
    /// durable).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            OpKind::Create
                | OpKind::Remove
                | OpKind::Rename
                | OpKind::CreateDirAll
                | OpKind::SyncDir
                | OpKind::Write
                | OpKind::SetLen
                | OpKind::SyncData
        )
    }
}

/// One operation about to run.
#[derive(Debug, Clone, Copy)]
pub struct VfsOp<'a> {
    /// What it is.
    pub kind: OpKind,
    /// The file or directory (a rename's source).
    pub path: &'a Path,
    /// Where a positioned read or write starts.
    pub offset: Option<u64>,
    /// Bytes a read or write covers, or a `set_len`'s new length.
    pub len: Option<u64>,
    /// The file's length before a `set_len` (so a hook can tell growing
    /// from shrinking); `None` for other operations, or when the wrapped
    /// file could not tell.
    pub file_len: Option<u64>,
}

impl<'a> VfsOp<'a> {
    fn on(kind: OpKind, path: &'a Path) -> Self {
        Self {
            kind,
            path,
            offset: None,
            len: None,
            file_len: None,
        }
    }
}

/// What a [`HookVfs`] calls before each operation.
pub type Hook = dyn Fn(&VfsOp<'_>) -> VfsResult<()> + Send + Sync;

/// A [`Vfs`] that calls a hook before every operation of the one it wraps,
/// including the operations of the files it opens.
#[derive(Clone)]
pub struct HookVfs {
    inner: Arc<dyn Vfs>,
    hook: Arc<Hook>,
}

impl HookVfs {
    /// Wraps `inner`; `hook` runs before each operation and fails it by
    /// returning an error.
    pub fn new(
        inner: Arc<dyn Vfs>,
        hook: impl Fn(&VfsOp<'_>) -> VfsResult<()> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            hook: Arc::new(hook),
        }
    }

    fn before(&self, kind: OpKind, path: &Path) -> VfsResult<()> {
        (self.hook)(&VfsOp::on(kind, path))
    }
}

impl fmt::Debug for HookVfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookVfs")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Vfs for HookVfs {
    fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        self.before(OpKind::Create, path)?;
        let inner = self.inner.create_file(path)?;
        Ok(Box::new(HookFile {
            inner,
            hook: Arc::clone(&self.hook),
        }))
    }

    fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        self.before(OpKind::Open, path)?;
        let inner = self.inner.open_file(path)?;
        Ok(Box::new(HookFile {
            inner,
            hook: Arc::clone(&self.hook),
        }))
    }

    fn remove_file(&self, path: &Path) -> VfsResult<()> {
        self.before(OpKind::Remove, path)?;
        self.inner.remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
        self.before(OpKind::Rename, from)?;
        self.inner.rename(from, to)
    }

    fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
        self.before(OpKind::CreateDirAll, path)?;
        self.inner.create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
        self.before(OpKind::ListDir, path)?;
        self.inner.list_dir(path)
    }

    fn exists(&self, path: &Path) -> VfsResult<bool> {
        self.before(OpKind::Exists, path)?;
        self.inner.exists(path)
    }

    fn file_size(&self, path: &Path) -> VfsResult<u64> {
        self.before(OpKind::FileSize, path)?;
        self.inner.file_size(path)
    }

    fn sync_dir(&self, path: &Path) -> VfsResult<()> {
        self.before(OpKind::SyncDir, path)?;
        self.inner.sync_dir(path)
    }

    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
        self.before(OpKind::Map, path)?;
        self.inner.map_readonly(path)
    }

    fn read_file(&self, path: &Path, max_bytes: u64) -> VfsResult<Vec<u8>> {
        self.before(OpKind::ReadFile, path)?;
        self.inner.read_file(path, max_bytes)
    }

    fn lock_file(&self, path: &Path) -> VfsResult<FileLock> {
        self.before(OpKind::Lock, path)?;
        self.inner.lock_file(path)
    }

    fn lock_file_shared(&self, path: &Path) -> VfsResult<FileLock> {
        self.before(OpKind::LockShared, path)?;
        self.inner.lock_file_shared(path)
    }
}

/// A file opened through a [`HookVfs`].
struct HookFile {
    inner: Box<dyn VfsFile>,
    hook: Arc<Hook>,
}

impl HookFile {
    fn before(&self, kind: OpKind, offset: Option<u64>, len: Option<u64>) -> VfsResult<()> {
        (self.hook)(&VfsOp {
            kind,
            path: self.inner.path(),
            offset,
            len,
            file_len: None,
        })
    }
}

impl fmt::Debug for HookFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookFile")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl VfsFile for HookFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        self.before(OpKind::Read, Some(offset), Some(buf.len() as u64))?;
        self.inner.read_at(offset, buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()> {
        self.before(OpKind::Write, Some(offset), Some(data.len() as u64))?;
        self.inner.write_at(offset, data)
    }

    fn set_len(&mut self, len: u64) -> VfsResult<()> {
        (self.hook)(&VfsOp {
            kind: OpKind::SetLen,
            path: self.inner.path(),
            offset: None,
            len: Some(len),
            file_len: self.inner.len().ok(),
        })?;
        self.inner.set_len(len)
    }

    fn sync_data(&mut self) -> VfsResult<()> {
        self.before(OpKind::SyncData, None, None)?;
        self.inner.sync_data()
    }

    fn len(&self) -> VfsResult<u64> {
        self.before(OpKind::Len, None, None)?;
        self.inner.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use super::*;
    use crate::{OsVfs, VfsError};

    /// What the hook saw: each operation's kind, path, `len` and `file_len`.
    type Seen = Arc<Mutex<Vec<(OpKind, PathBuf, Option<u64>, Option<u64>)>>>;

    /// A HookVfs over OsVfs that records every operation's kind, path and
    /// lengths, and fails a `read_file` of `refused`.
    fn recording(refused: PathBuf) -> (HookVfs, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let vfs = HookVfs::new(Arc::new(OsVfs::new()), move |op| {
            log.lock()
                .unwrap()
                .push((op.kind, op.path.to_path_buf(), op.len, op.file_len));
            if op.kind == OpKind::ReadFile && op.path == refused {
                return Err(VfsError::new(
                    op.kind.name(),
                    op.path,
                    std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                ));
            }
            Ok(())
        });
        (vfs, seen)
    }

    #[test]
    fn read_file_is_one_operation_the_hook_can_fail() {
        let dir = tempfile::tempdir().unwrap();
        let (readable, refused) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&readable, b"bytes").unwrap();
        std::fs::write(&refused, b"secret").unwrap();
        let (vfs, seen) = recording(refused.clone());
        assert_eq!(vfs.read_file(&readable, 1024).unwrap(), b"bytes");
        let error = vfs.read_file(&refused, 1024).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(error.to_string().contains("read"), "{error}");
        // The wrapped Vfs's own `read_file` ran: no open, len or read_at.
        let kinds: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(kind, path, ..)| (*kind, path.clone()))
            .collect();
        assert_eq!(
            kinds,
            [(OpKind::ReadFile, readable), (OpKind::ReadFile, refused)]
        );
    }

    #[test]
    fn set_len_shows_the_length_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let (vfs, seen) = recording(PathBuf::new());
        let mut file = vfs.create_file(&path).unwrap();
        file.write_at(0, &[1; 10]).unwrap();
        file.set_len(100).unwrap();
        file.set_len(4).unwrap();
        assert_eq!(file.len().unwrap(), 4);
        let set_lens: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(kind, ..)| *kind == OpKind::SetLen)
            .map(|(_, _, len, before)| (*len, *before))
            .collect();
        assert_eq!(set_lens, [(Some(100), Some(10)), (Some(4), Some(100))]);
        // Other operations carry no `file_len`.
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|(kind, _, _, before)| *kind == OpKind::SetLen || before.is_none())
        );
    }
}
