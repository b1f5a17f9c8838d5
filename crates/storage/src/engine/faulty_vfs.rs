//! `FaultyOsVfs`: the real file system (`OsVfs`) with switchable faults and
//! a log of directory operations, for engine tests on real files.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kausal_vfs::{FileLock, MappedFile, OsVfs, Vfs, VfsError, VfsFile, VfsResult};

/// Faults to inject; shared by the VFS and the files it opened.
#[derive(Debug, Default)]
pub struct Faults {
    /// Every file sync fails with EIO while set.
    pub fail_sync: Arc<AtomicBool>,
    /// Creating or writing a file whose name contains this fails with
    /// ENOSPC (a full disk).
    pub disk_full_for: Mutex<Option<String>>,
    /// `create_dir_all` and `sync_dir` calls, in order.
    pub dir_log: Mutex<Vec<String>>,
}

impl Faults {
    /// Sets (or clears, with `None`) the file-name fragment that hits a full disk.
    pub fn set_disk_full_for(&self, fragment: Option<&str>) {
        *self.disk_full_for.lock().unwrap() = fragment.map(str::to_string);
    }

    fn disk_full(&self, op: &'static str, path: &Path) -> VfsResult<()> {
        let name = path.file_name().unwrap().to_string_lossy();
        match &*self.disk_full_for.lock().unwrap() {
            Some(fragment) if name.contains(fragment.as_str()) => Err(VfsError::new(
                op,
                path,
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            )),
            _ => Ok(()),
        }
    }

    fn log(&self, op: &str, path: &Path) {
        self.dir_log
            .lock()
            .unwrap()
            .push(format!("{op} {}", path.display()));
    }
}

/// `OsVfs` plus [`Faults`].
#[derive(Debug, Default)]
pub struct FaultyOsVfs {
    inner: OsVfs,
    pub faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn VfsFile>,
    faults: Arc<Faults>,
}

impl VfsFile for FaultyFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()> {
        self.faults.disk_full("write_at", self.inner.path())?;
        self.inner.write_at(offset, data)
    }
    fn set_len(&mut self, len: u64) -> VfsResult<()> {
        self.inner.set_len(len)
    }
    fn sync_data(&mut self) -> VfsResult<()> {
        if self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(VfsError::new(
                "sync_data",
                self.inner.path(),
                std::io::Error::other("injected EIO"),
            ));
        }
        self.inner.sync_data()
    }
    fn len(&self) -> VfsResult<u64> {
        self.inner.len()
    }
}

impl FaultyOsVfs {
    fn wrap(&self, inner: Box<dyn VfsFile>) -> Box<dyn VfsFile> {
        Box::new(FaultyFile {
            inner,
            faults: Arc::clone(&self.faults),
        })
    }
}

impl Vfs for FaultyOsVfs {
    fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        self.faults.disk_full("create", path)?;
        Ok(self.wrap(self.inner.create_file(path)?))
    }
    fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        Ok(self.wrap(self.inner.open_file(path)?))
    }
    fn remove_file(&self, path: &Path) -> VfsResult<()> {
        self.inner.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
        self.inner.rename(from, to)
    }
    fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
        self.faults.log("create_dir_all", path);
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> VfsResult<bool> {
        self.inner.exists(path)
    }
    fn file_size(&self, path: &Path) -> VfsResult<u64> {
        self.inner.file_size(path)
    }
    fn sync_dir(&self, path: &Path) -> VfsResult<()> {
        self.faults.log("sync_dir", path);
        self.inner.sync_dir(path)
    }
    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
        self.inner.map_readonly(path)
    }
    fn lock_file(&self, path: &Path) -> VfsResult<FileLock> {
        self.inner.lock_file(path)
    }
}
