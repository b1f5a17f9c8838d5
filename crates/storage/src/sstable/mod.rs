//! SSTables: immutable sorted files of blocks and edges, read through a
//! read-only map.
//!
//! File `t-<id:020>.sst` (see [`crate::files`]):
//!
//! ```text
//! data      live block records, in id order:
//!           crc32 u32 | length u32 (bytes after this field) | sequence u64 | id [16]
//!           | uri_len u32 | metadata_len u32 | content_len u32 | uri | metadata | content
//!           (crc covers everything after the crc field)
//! index     one 40-byte entry per block id, sorted by id:
//!           id [16] | sequence u64 | data offset u64 | record length u32 | live u8 | 0 [3]
//!           (a tombstone is an entry with live = 0 and no data record)
//! out edges one 48-byte entry per edge triple, sorted by (source, type, target):
//!           source [16] | target [16] | type u16 | live u8 | 0 [5] | sequence u64
//! in edges  the same entries with the ends swapped, sorted by (target, type, source)
//! bloom     bloom filter over the index's ids (see bloom.rs), then (version 3)
//!           the edge filter: a bloom filter over every out-edge source and
//!           every in-edge target (salted, see `edge_filter_key`)
//! pages     (version 4) checksum and first key of every page of index,
//!           out edges and in edges (see pages.rs)
//! footer    160 bytes, see `Footer` in reader.rs
//! ```
//!
//! The footer and bloom filter are checksummed as wholes and verified when a
//! table opens. Version 4 checksums index and edge sections per page: the
//! page table is verified at open, each page the first time a read touches
//! it (the footer's index checksum slot holds the page table's checksum, and
//! the two edge slots are 0). Versions 2 and 3 checksum index and edge
//! sections as wholes, verified at open. Data records are verified on each
//! read.

pub mod bloom;
pub mod pages;
pub mod reader;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::codec::{PutBytes, u32_at, u64_at};
use crate::files::table_file_name;
use crate::{BlockId, EdgeType, GraphEdge, StorageResult};

/// Magic at the start of the footer.
pub const TABLE_MAGIC: &[u8; 8] = b"KAUSSST1";
/// On-disk format version written. Version 2 added edge type 12 (`names`);
/// version 3 appended the edge filter to the bloom section; version 4
/// checksums index and edge sections per page (the page table).
pub const TABLE_VERSION: u32 = 4;
/// Versions this build reads: a version 2 table has no edge filter, so its
/// edge lookups fall back to the key-range check; versions 2 and 3 are
/// verified whole at open. Version 1 is refused (`UnsupportedFormat`),
/// since no released database predates version 2.
pub const TABLE_VERSIONS_READ: &[u32] = &[2, 3, 4];
/// Bytes of one index entry.
pub const INDEX_ENTRY_BYTES: usize = 40;
/// Bytes of one edge entry.
pub const EDGE_ENTRY_BYTES: usize = 48;
/// Bytes of the footer.
pub const FOOTER_BYTES: usize = 160;
/// Bytes of a data record before its strings.
pub const RECORD_FIXED_BYTES: usize = 4 + 4 + 8 + 16 + 12;

/// Path of table `id` in `dir`.
pub fn table_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(table_file_name(id))
}

/// One block's index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub id: BlockId,
    pub sequence: u64,
    pub offset: u64,
    pub len: u32,
    pub live: bool,
}

impl IndexEntry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_id(self.id);
        out.put_u64(self.sequence);
        out.put_u64(self.offset);
        out.put_u32(self.len);
        out.put_u8(self.live as u8);
        out.extend_from_slice(&[0u8; 3]);
    }

    /// Decodes an entry from exactly `INDEX_ENTRY_BYTES` checksummed bytes.
    pub fn decode(bytes: &[u8]) -> Self {
        debug_assert_eq!(bytes.len(), INDEX_ENTRY_BYTES);
        Self {
            id: id_at(bytes, 0),
            sequence: u64_at(bytes, 16),
            offset: u64_at(bytes, 24),
            len: u32_at(bytes, 32),
            live: bytes[36] == 1,
        }
    }
}

fn id_at(bytes: &[u8], offset: usize) -> BlockId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[offset..offset + 16]);
    BlockId::from_bytes(id)
}

/// One edge version as stored in a table or merged by compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeEntry {
    pub edge: GraphEdge,
    pub sequence: u64,
    pub live: bool,
}

/// Sort key of an edge section: (node, type, other node).
pub type EdgeKey = (BlockId, EdgeType, BlockId);

impl EdgeEntry {
    /// Sort key of the in-edge section when `incoming`, else of the
    /// out-edge section.
    pub fn section_key(&self, incoming: bool) -> EdgeKey {
        if incoming {
            self.in_key()
        } else {
            self.out_key()
        }
    }

    /// Sort key of the out-edge section.
    pub fn out_key(&self) -> (BlockId, EdgeType, BlockId) {
        (self.edge.source, self.edge.edge_type, self.edge.target)
    }

    /// Sort key of the in-edge section.
    pub fn in_key(&self) -> (BlockId, EdgeType, BlockId) {
        (self.edge.target, self.edge.edge_type, self.edge.source)
    }

    /// Encodes with `first` as the section's key end.
    pub fn encode(&self, incoming: bool, out: &mut Vec<u8>) {
        let (first, second) = if incoming {
            (self.edge.target, self.edge.source)
        } else {
            (self.edge.source, self.edge.target)
        };
        out.put_id(first);
        out.put_id(second);
        out.put_u16(self.edge.edge_type.as_u16());
        out.put_u8(self.live as u8);
        out.extend_from_slice(&[0u8; 5]);
        out.put_u64(self.sequence);
    }

    /// Decodes an entry of a section whose checksum was verified at open.
    pub fn decode(bytes: &[u8], incoming: bool) -> StorageResult<Self> {
        debug_assert_eq!(bytes.len(), EDGE_ENTRY_BYTES);
        let first = id_at(bytes, 0);
        let second = id_at(bytes, 16);
        let edge_type = EdgeType::from_u16(u16::from_le_bytes([bytes[32], bytes[33]]))?;
        let (source, target) = if incoming {
            (second, first)
        } else {
            (first, second)
        };
        Ok(Self {
            edge: GraphEdge::new(source, target, edge_type),
            sequence: u64_at(bytes, 40),
            live: bytes[34] == 1,
        })
    }
}

/// Facts about a table that the manifest and compaction need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableMeta {
    pub id: u64,
    pub size: u64,
    pub block_count: u64,
    pub edge_count: u64,
    pub min_sequence: u64,
    pub max_sequence: u64,
}
