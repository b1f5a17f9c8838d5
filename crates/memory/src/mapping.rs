//! Read-only memory maps of whole files (memmap2).
//!
//! Mapping is `unsafe` because another process or thread may change or
//! truncate the file underneath the map, and nothing here can check that:
//! so [`map_file_readonly`] is an `unsafe fn` whose caller states why the
//! file stays immutable.

use std::io;

pub use memmap2::Mmap;
use memmap2::MmapAsRawDesc;

/// Maps `file` (an open file or its raw descriptor) read-only in full.
///
/// # Safety
///
/// The file must not be modified or truncated, by this process or any
/// other, while the map (or any slice borrowed from it) lives. A change
/// breaks the immutability of the `&[u8]` the map derefs to; a truncation
/// makes reads past the new end fault with SIGBUS, which kills the process.
/// Nothing in this function can check either: the caller must know who
/// writes the file. (kausal maps only SSTables, written once and synced
/// before they are mapped, never modified afterwards, and unlinked only by
/// compaction; an unlinked file's pages stay valid until the last map is
/// dropped. The directory lock keeps other kausal processes out; a process
/// that ignores it and truncates a table is outside this contract.)
pub unsafe fn map_file_readonly<F: MmapAsRawDesc>(file: F) -> io::Result<Mmap> {
    // SAFETY: forwarded to the caller: see `# Safety` above.
    unsafe { Mmap::map(file) }
}
