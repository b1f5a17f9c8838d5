//! kausal-vfs: the `Vfs` trait through which every byte of kausal's I/O goes.
//!
//! Production code never calls `std::fs` outside [`OsVfs`]; the simulator
//! (`kausal-sim`) implements the same trait in memory with fault injection,
//! so the exact production code runs under simulated crashes and I/O errors.
//!
//! Contract (what an implementation must provide, and what callers rely on):
//! * `write_at`/`append` make bytes visible to later reads at once, but
//!   durable only after `sync_data` on that file returns `Ok`.
//! * creating, renaming or removing a directory entry is durable only after
//!   `sync_dir` on the parent directory returns `Ok`.
//! * `rename` atomically replaces the destination.
//! * a failed `sync_data` leaves the file's durable content unknown: callers
//!   must not retry and assume success (fsyncgate).
//! * `map_readonly` maps a whole file that nobody modifies while mapped.
//!
//! Every error is a [`VfsError`] naming the operation, the path and, for
//! positioned reads and writes, the offset.
//!
//! # Example
//!
//! Writing a file durably: the data with `sync_data`, the new directory
//! entry with `sync_dir` on its parent. Code written against `&dyn Vfs`
//! runs unchanged over `OsVfs` and over the simulator's `SimVfs`.
//!
//! ```
//! use std::path::Path;
//! use kausal_vfs::{OsVfs, Vfs, VfsResult};
//!
//! fn write_durably(vfs: &dyn Vfs, dir: &Path, name: &str, data: &[u8]) -> VfsResult<()> {
//!     let mut file = vfs.create_file(&dir.join(name))?;
//!     file.write_at(0, data)?;
//!     file.sync_data()?; // the bytes survive a power loss from here on
//!     vfs.sync_dir(dir) // and so does the file's name
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let vfs = OsVfs::new();
//! write_durably(&vfs, dir.path(), "MANIFEST", b"v2")?;
//! assert_eq!(vfs.read_file(&dir.path().join("MANIFEST"), 1024)?, b"v2");
//!
//! let missing = vfs.open_file(&dir.path().join("nope")).unwrap_err();
//! assert!(missing.is_not_found());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Neighbours
//!
//! * [`kausal-memory`](https://github.com/kausal-db/kausal/tree/main/crates/memory)
//!   (below) provides the memory maps behind [`MappedFile`];
//! * [`kausal-storage`](https://github.com/kausal-db/kausal/tree/main/crates/storage)
//!   does every WAL, table and manifest write through [`Vfs`];
//! * [`kausal-sim`](https://github.com/kausal-db/kausal/tree/main/crates/sim)
//!   implements [`Vfs`] in memory, losing unsynced data at simulated crashes;
//! * [`kausal-ingest`](https://github.com/kausal-db/kausal/tree/main/crates/ingest)
//!   reads source files with [`Vfs::read_file`].

// One `unsafe` call, in `OsVfs::map_readonly` (mapping a table file whose
// immutability only the storage engine can promise); nothing else.
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]
#![warn(missing_docs)]

mod error;
mod os;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt::Debug;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

pub use error::{VfsError, VfsResult};
pub use os::OsVfs;

/// A file system, real or simulated.
pub trait Vfs: Send + Sync + Debug {
    /// Creates `path` empty (truncating an existing file), open for reads and writes.
    fn create_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>>;
    /// Opens an existing file for reads and writes.
    fn open_file(&self, path: &Path) -> VfsResult<Box<dyn VfsFile>>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> VfsResult<()>;
    /// Renames `from` to `to`, atomically replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> VfsResult<()>;
    /// Creates a directory and its missing parents.
    fn create_dir_all(&self, path: &Path) -> VfsResult<()>;
    /// Names (not paths) of the entries of a directory, sorted.
    fn list_dir(&self, path: &Path) -> VfsResult<Vec<String>>;
    /// True when `path` exists.
    fn exists(&self, path: &Path) -> VfsResult<bool>;
    /// Size of a file in bytes; an error (`is_not_found`) when it does not exist.
    fn file_size(&self, path: &Path) -> VfsResult<u64>;
    /// Makes the directory's entries (creates, renames, removes) durable.
    fn sync_dir(&self, path: &Path) -> VfsResult<()>;
    /// Maps a whole file read-only.
    ///
    /// Only for files that nobody modifies or truncates while the map
    /// lives: `OsVfs` maps with mmap, so another process truncating the
    /// file makes reads fault (SIGBUS). The storage engine maps only
    /// finished SSTables, under its directory lock.
    fn map_readonly(&self, path: &Path) -> VfsResult<MappedFile>;

    /// Reads a whole file into memory, stopping after `max_bytes + 1` bytes
    /// (so a caller can tell a file that grew past its limit). Unlike
    /// `open_file` it needs only read permission, and unlike `map_readonly`
    /// a file truncated meanwhile cannot fault the process; source trees
    /// (kausal-ingest) are read this way.
    fn read_file(&self, path: &Path, max_bytes: u64) -> VfsResult<Vec<u8>> {
        let file = self.open_file(path)?;
        let len = file.len()?.min(max_bytes.saturating_add(1));
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        let read = file.read_at(0, &mut buf)?;
        buf.truncate(read);
        Ok(buf)
    }
    /// Takes an exclusive lock on `path` (created if missing), held until the
    /// returned guard drops. Fails with `WouldBlock` when already held.
    fn lock_file(&self, path: &Path) -> VfsResult<FileLock>;
    /// Takes a shared lock on `path` (created if missing): any number of
    /// shared holders, but none while an exclusive lock is held (and no
    /// exclusive lock while one is). Fails with `WouldBlock` when an
    /// exclusive lock is held. A file system without shared locks may take
    /// an exclusive one instead (readers then exclude each other).
    fn lock_file_shared(&self, path: &Path) -> VfsResult<FileLock> {
        self.lock_file(path)
    }
}

/// An open file.
pub trait VfsFile: Send + Debug {
    /// Path the file was opened at.
    fn path(&self) -> &Path;
    /// Reads up to `buf.len()` bytes at `offset`; fewer only at end of file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize>;
    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> VfsResult<()>;
    /// Sets the file's length, zero-filling when it grows.
    fn set_len(&mut self, len: u64) -> VfsResult<()>;
    /// Makes the file's data durable.
    fn sync_data(&mut self) -> VfsResult<()>;
    /// Current length in bytes.
    fn len(&self) -> VfsResult<u64>;

    /// True when the file is empty.
    fn is_empty(&self) -> VfsResult<bool> {
        Ok(self.len()? == 0)
    }

    /// Appends `data` at the end of the file and returns the offset it was
    /// written at.
    fn append(&mut self, data: &[u8]) -> VfsResult<u64> {
        let offset = self.len()?;
        self.write_at(offset, data)?;
        Ok(offset)
    }

    /// Fills `buf` from `offset`, failing with `UnexpectedEof` (naming the
    /// file and offset) when the file ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<()> {
        let mut done = 0;
        while done < buf.len() {
            let read = self.read_at(offset + done as u64, &mut buf[done..])?;
            if read == 0 {
                return Err(VfsError::new(
                    "read_exact_at",
                    self.path(),
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!(
                            "file ends after {} of {} bytes",
                            offset + done as u64,
                            offset + buf.len() as u64
                        ),
                    ),
                )
                .at_offset(offset));
            }
            done += read;
        }
        Ok(())
    }
}

/// What backs a `MappedFile`: an enum rather than a trait object, so that
/// dereferencing (on every table read) is an inlined branch, not a call.
enum Backing {
    Map(kausal_memory::Mmap),
    Bytes(Vec<u8>),
}

/// Bytes of a whole file mapped (or, in a simulator, copied) read-only.
/// Cheap to clone; the mapping lives until the last clone drops.
#[derive(Clone)]
pub struct MappedFile {
    backing: Arc<Backing>,
}

impl MappedFile {
    /// A memory map.
    pub fn from_map(map: kausal_memory::Mmap) -> Self {
        Self {
            backing: Arc::new(Backing::Map(map)),
        }
    }

    /// Bytes held in memory (empty files, simulated files).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            backing: Arc::new(Backing::Bytes(bytes)),
        }
    }
}

impl Deref for MappedFile {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &*self.backing {
            Backing::Map(map) => map,
            Backing::Bytes(bytes) => bytes,
        }
    }
}

impl Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedFile({} bytes)", self.len())
    }
}

/// An exclusive lock held until dropped.
pub struct FileLock {
    _guard: Box<dyn Send + Sync>,
}

impl FileLock {
    /// Wraps whatever releases the lock when dropped.
    pub fn new(guard: Box<dyn Send + Sync>) -> Self {
        Self { _guard: guard }
    }
}

impl Debug for FileLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileLock")
    }
}

// The crate README's example runs as a doc test, so it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
