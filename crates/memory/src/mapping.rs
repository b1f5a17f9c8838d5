//! Read-only memory maps of whole files (memmap2).
//!
//! Mapping is `unsafe` because another process or thread may change the file
//! underneath the map. It lives here, beside the rest of the workspace's
//! `unsafe`, so the VFS crate stays `forbid(unsafe_code)`.

use std::io;

pub use memmap2::Mmap;
use memmap2::MmapAsRawDesc;

/// Maps `file` (an open file or its raw descriptor) read-only in full.
///
/// Contract for callers: the file is immutable while mapped. kausal maps only
/// SSTables, which are written once, synced, and never modified or truncated
/// afterwards; they are unlinked only by compaction, and an unlinked file's
/// pages stay valid on POSIX systems until the last map is dropped.
pub fn map_file_readonly<F: MmapAsRawDesc>(file: F) -> io::Result<Mmap> {
    // SAFETY: see the contract above: no writer modifies or truncates a file
    // while it is mapped, so the mapped bytes never change under `&[u8]`
    // borrows and no access can fault with SIGBUS.
    unsafe { Mmap::map(file) }
}
