//! `OsVfs`: the real file system through `std::fs`, with positioned I/O
//! (`pread`/`pwrite`) and memory-mapped reads (memmap2 via kausal-memory).
//! This is the only production file allowed to use `std::fs`.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{FileLock, MappedFile, Vfs, VfsError, VfsFile, VfsResult};

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsVfs;

impl OsVfs {
    /// The real file system.
    pub fn new() -> Self {
        Self
    }
}

#[derive(Debug)]
struct OsFile {
    file: File,
    path: PathBuf,
}

impl VfsFile for OsFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        let mut done = 0;
        // pread may return short counts before end of file; loop until the
        // buffer is full or a read returns 0 (end of file).
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(read) => done += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(VfsError::new("read_at", &self.path, error).at_offset(offset));
                }
            }
        }
        Ok(done)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|error| VfsError::new("write_at", &self.path, error).at_offset(offset))
    }

    fn set_len(&mut self, len: u64) -> VfsResult<()> {
        self.file
            .set_len(len)
            .map_err(|error| VfsError::new("set_len", &self.path, error).at_offset(len))
    }

    fn sync_data(&mut self) -> VfsResult<()> {
        self.file
            .sync_data()
            .map_err(|error| VfsError::new("sync_data", &self.path, error))
    }

    fn len(&self) -> VfsResult<u64> {
        self.file
            .metadata()
            .map(|metadata| metadata.len())
            .map_err(|error| VfsError::new("metadata", &self.path, error))
    }
}

struct OsLock {
    _file: File,
}

impl Vfs for OsVfs {
    fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|error| VfsError::new("create", path, error))?;
        Ok(Box::new(OsFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|error| VfsError::new("open", path, error))?;
        Ok(Box::new(OsFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn remove_file(&self, path: &Path) -> VfsResult<()> {
        fs::remove_file(path).map_err(|error| VfsError::new("remove", path, error))
    }

    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()> {
        fs::rename(from, to).map_err(|error| {
            VfsError::new(
                "rename",
                from,
                std::io::Error::new(error.kind(), format!("to {}: {error}", to.display())),
            )
        })
    }

    fn create_dir_all(&self, path: &Path) -> VfsResult<()> {
        fs::create_dir_all(path).map_err(|error| VfsError::new("create_dir_all", path, error))
    }

    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>> {
        let entries = fs::read_dir(path).map_err(|error| VfsError::new("list_dir", path, error))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| VfsError::new("list_dir", path, error))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> VfsResult<bool> {
        path.try_exists()
            .map_err(|error| VfsError::new("exists", path, error))
    }

    fn file_size(&self, path: &Path) -> VfsResult<u64> {
        fs::metadata(path)
            .map(|metadata| metadata.len())
            .map_err(|error| VfsError::new("metadata", path, error))
    }

    fn sync_dir(&self, path: &Path) -> VfsResult<()> {
        File::open(path)
            .and_then(|dir| dir.sync_all())
            .map_err(|error| VfsError::new("sync_dir", path, error))
    }

    fn read_file(&self, path: &Path, max_bytes: u64) -> VfsResult<Vec<u8>> {
        use std::io::Read;
        let file = File::open(path).map_err(|error| VfsError::new("open", path, error))?;
        let mut buf = Vec::new();
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|error| VfsError::new("read", path, error))?;
        Ok(buf)
    }

    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile> {
        let file = File::open(path).map_err(|error| VfsError::new("open", path, error))?;
        let len = file
            .metadata()
            .map_err(|error| VfsError::new("metadata", path, error))?
            .len();
        if len == 0 {
            // Zero-length maps are not portable; an empty file maps to no bytes.
            return Ok(MappedFile::from_bytes(Vec::new()));
        }
        // SAFETY: `Vfs::map_readonly` callers map only files that nobody
        // modifies or truncates while mapped (see its documentation; the
        // storage engine maps only finished SSTables, under its directory
        // lock).
        #[allow(unsafe_code)]
        let map = unsafe { kausal_memory::map_file_readonly(&file) }
            .map_err(|error| VfsError::new("mmap", path, error))?;
        Ok(MappedFile::from_map(map))
    }

    fn lock_file(&self, path: &Path) -> VfsResult<FileLock> {
        lock(path, false)
    }

    fn lock_file_shared(&self, path: &Path) -> VfsResult<FileLock> {
        lock(path, true)
    }
}

/// Opens (creating) `path` and takes an advisory lock on it, shared or
/// exclusive, without waiting.
fn lock(path: &Path, shared: bool) -> VfsResult<FileLock> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| VfsError::new("open", path, error))?;
    let locked = if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match locked {
        Ok(()) => Ok(FileLock::new(Box::new(OsLock { _file: file }))),
        Err(fs::TryLockError::WouldBlock) => Err(VfsError::new(
            "lock",
            path,
            std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "already locked by another engine",
            ),
        )),
        Err(fs::TryLockError::Error(error)) => Err(VfsError::new("lock", path, error)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    fn setup() -> (tempfile::TempDir, OsVfs) {
        (tempfile::tempdir().unwrap(), OsVfs::new())
    }

    #[test]
    fn create_write_read_and_sizes() {
        let (dir, vfs) = setup();
        let path = dir.path().join("a.dat");
        let mut file = vfs.create_file(&path).unwrap();
        assert!(file.is_empty().unwrap());
        file.write_at(0, b"hello").unwrap();
        assert_eq!(file.append(b" world").unwrap(), 5);
        file.write_at(20, b"!").unwrap();
        file.sync_data().unwrap();
        assert_eq!(file.len().unwrap(), 21);
        assert_eq!(vfs.file_size(&path).unwrap(), 21);
        let mut buf = [0u8; 11];
        file.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"hello world");
        let mut gap = [9u8; 9];
        file.read_exact_at(11, &mut gap).unwrap();
        assert_eq!(gap, [0u8; 9], "holes read as zeros");
        assert_eq!(file.path(), path);
        drop(file);

        let reopened = vfs.open_file(&path).unwrap();
        let mut buf = [0u8; 5];
        assert_eq!(reopened.read_at(0, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        // create_file truncates an existing file.
        let truncated = vfs.create_file(&path).unwrap();
        assert_eq!(truncated.len().unwrap(), 0);
    }

    #[test]
    fn reading_past_the_end() {
        let (dir, vfs) = setup();
        let path = dir.path().join("short");
        let mut file = vfs.create_file(&path).unwrap();
        file.write_at(0, b"abc").unwrap();
        let mut buf = [0u8; 10];
        assert_eq!(file.read_at(1, &mut buf).unwrap(), 2);
        assert_eq!(file.read_at(100, &mut buf).unwrap(), 0);
        let error = file.read_exact_at(1, &mut buf).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(error.offset, Some(1));
        assert!(error.to_string().contains("short"), "{error}");
    }

    #[test]
    fn set_len_truncates_and_extends() {
        let (dir, vfs) = setup();
        let mut file = vfs.create_file(&dir.path().join("f")).unwrap();
        file.write_at(0, b"0123456789").unwrap();
        file.set_len(4).unwrap();
        assert_eq!(file.len().unwrap(), 4);
        file.set_len(8).unwrap();
        let mut buf = [1u8; 8];
        file.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"0123\0\0\0\0");
    }

    #[test]
    fn opening_a_missing_file_names_it() {
        let (dir, vfs) = setup();
        let path = dir.path().join("missing.sst");
        let error = vfs.open_file(&path).unwrap_err();
        assert!(error.is_not_found());
        assert_eq!(error.op, "open");
        assert!(error.to_string().contains("missing.sst"), "{error}");
        assert!(vfs.file_size(&path).unwrap_err().is_not_found());
        assert!(vfs.map_readonly(&path).unwrap_err().is_not_found());
        assert!(vfs.remove_file(&path).unwrap_err().is_not_found());
    }

    #[test]
    fn rename_replaces_atomically() {
        let (dir, vfs) = setup();
        let target = dir.path().join("MANIFEST");
        let temp = dir.path().join("MANIFEST.tmp");
        vfs.create_file(&target)
            .unwrap()
            .write_at(0, b"old")
            .unwrap();
        let mut new = vfs.create_file(&temp).unwrap();
        new.write_at(0, b"new contents").unwrap();
        new.sync_data().unwrap();
        // A reader holding the old file keeps seeing the old bytes.
        let old_reader = vfs.open_file(&target).unwrap();
        vfs.rename(&temp, &target).unwrap();
        vfs.sync_dir(dir.path()).unwrap();
        assert!(!vfs.exists(&temp).unwrap());
        let mut buf = [0u8; 12];
        vfs.open_file(&target)
            .unwrap()
            .read_exact_at(0, &mut buf)
            .unwrap();
        assert_eq!(&buf, b"new contents");
        let mut old = [0u8; 3];
        old_reader.read_exact_at(0, &mut old).unwrap();
        assert_eq!(&old, b"old");
        let error = vfs.rename(&temp, &target).unwrap_err();
        assert!(error.is_not_found());
    }

    #[test]
    fn directories_listing_existence_and_removal() {
        let (dir, vfs) = setup();
        let nested = dir.path().join("a/b/c");
        vfs.create_dir_all(&nested).unwrap();
        vfs.create_dir_all(&nested).unwrap();
        assert!(vfs.exists(&nested).unwrap());
        for name in ["z", "a", "m"] {
            vfs.create_file(&nested.join(name)).unwrap();
        }
        assert_eq!(vfs.list_dir(&nested).unwrap(), vec!["a", "m", "z"]);
        vfs.remove_file(&nested.join("m")).unwrap();
        vfs.sync_dir(&nested).unwrap();
        assert_eq!(vfs.list_dir(&nested).unwrap(), vec!["a", "z"]);
        assert!(!vfs.exists(&nested.join("m")).unwrap());
        assert!(
            vfs.list_dir(&dir.path().join("nope"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn mapping_whole_and_empty_files() {
        let (dir, vfs) = setup();
        let empty = dir.path().join("empty");
        vfs.create_file(&empty).unwrap();
        let map = vfs.map_readonly(&empty).unwrap();
        assert!(map.is_empty());
        let full = dir.path().join("full");
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut file = vfs.create_file(&full).unwrap();
        file.write_at(0, &data).unwrap();
        file.sync_data().unwrap();
        let map = vfs.map_readonly(&full).unwrap();
        assert_eq!(&map[..], &data[..]);
        let clone = map.clone();
        drop(map);
        // Unlinking a mapped file leaves the mapping readable.
        vfs.remove_file(&full).unwrap();
        assert_eq!(clone[9_999], data[9_999]);
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let (dir, vfs) = setup();
        let path = dir.path().join("LOCK");
        let lock = vfs.lock_file(&path).unwrap();
        let error = vfs.lock_file(&path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WouldBlock);
        drop(lock);
        vfs.lock_file(&path).unwrap();
    }

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() {
        let (dir, vfs) = setup();
        let path = dir.path().join("LOCK");
        let first = vfs.lock_file_shared(&path).unwrap();
        let second = vfs.lock_file_shared(&path).unwrap();
        assert_eq!(
            vfs.lock_file(&path).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        drop((first, second));
        let exclusive = vfs.lock_file(&path).unwrap();
        assert_eq!(
            vfs.lock_file_shared(&path).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        drop(exclusive);
    }
}
