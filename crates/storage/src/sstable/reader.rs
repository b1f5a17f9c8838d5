//! `Table`: an open, verified, memory-mapped SSTable answering point
//! lookups, edge lookups and ordered scans without copying.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use kausal_vfs::{MappedFile, Vfs};

use super::bloom::{bloom_may_contain, check_bloom};
use super::{
    EDGE_ENTRY_BYTES, EdgeEntry, FOOTER_BYTES, INDEX_ENTRY_BYTES, IndexEntry, RECORD_FIXED_BYTES,
    TABLE_MAGIC, TABLE_VERSION, TableMeta,
};
use crate::codec::{Reader, u32_at, u64_at};
use crate::{BlockId, BlockView, EdgeType, StorageError, StorageResult};

#[derive(Debug, Clone, Copy)]
struct Section {
    offset: usize,
    len: usize,
}

impl Section {
    fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// Result of a table lookup.
#[derive(Debug, Clone, Copy)]
pub enum TableLookup<'a> {
    Live(BlockView<'a>),
    Deleted,
}

/// Edge entries between two fence keys; the fences (built at open, kept
/// in memory) narrow an edge lookup to one small, contiguous window of the
/// mapped section, so it touches one or two cache lines instead of a
/// binary search's worth.
const FENCE_STRIDE: usize = 32;

/// An open SSTable.
#[derive(Debug)]
pub struct Table {
    meta: TableMeta,
    path: PathBuf,
    map: MappedFile,
    index: Section,
    out_edges: Section,
    in_edges: Section,
    bloom: Section,
    /// First key (id) of every `FENCE_STRIDE`-th out-edge / in-edge entry.
    out_fence: Vec<BlockId>,
    in_fence: Vec<BlockId>,
}

impl Table {
    /// Maps and verifies table `id` at `path`: footer, section bounds and
    /// the checksums of index, edges and bloom filter.
    pub fn open(vfs: &dyn Vfs, path: &Path, id: u64) -> StorageResult<Self> {
        let map = vfs.map_readonly(path)?;
        let corrupt =
            |offset: usize, reason: String| StorageError::corruption(path, offset as u64, reason);
        let file_len = map.len();
        if file_len < FOOTER_BYTES {
            return Err(corrupt(
                0,
                format!("{file_len} bytes is too short for a table footer"),
            ));
        }
        let footer_offset = file_len - FOOTER_BYTES;
        let footer = &map[footer_offset..];
        if &footer[..8] != TABLE_MAGIC {
            return Err(corrupt(
                footer_offset,
                "not a kausal table (bad footer magic)".into(),
            ));
        }
        let footer_crc = u32_at(footer, FOOTER_BYTES - 8);
        if crc32fast::hash(&footer[..FOOTER_BYTES - 8]) != footer_crc {
            return Err(corrupt(footer_offset, "footer checksum mismatch".into()));
        }
        let version = u32_at(footer, 8);
        if version != TABLE_VERSION {
            // The footer checksum (verified above) covers the version.
            return Err(StorageError::UnsupportedFormat {
                file: path.to_path_buf(),
                what: "table",
                found: version,
                supported: TABLE_VERSION,
            });
        }
        let mut reader = Reader::new(&footer[16..]);
        let mut next = || reader.u64("footer field").unwrap_or(u64::MAX);
        let footer_id = next();
        let block_count = next();
        let edge_count = next();
        let min_sequence = next();
        let max_sequence = next();
        let mut sections = [Section { offset: 0, len: 0 }; 5];
        for section in sections.iter_mut() {
            let offset = next();
            let len = next();
            let end = offset.saturating_add(len);
            if end > footer_offset as u64 {
                return Err(corrupt(
                    footer_offset,
                    format!("section {offset}+{len} extends past the footer"),
                ));
            }
            *section = Section {
                offset: offset as usize,
                len: len as usize,
            };
        }
        if footer_id != id {
            return Err(corrupt(
                footer_offset,
                format!("footer names table {footer_id}, expected {id}"),
            ));
        }
        let [_data, index, out_edges, in_edges, bloom] = sections;
        if index.len as u64 != block_count * INDEX_ENTRY_BYTES as u64
            || out_edges.len as u64 != edge_count * EDGE_ENTRY_BYTES as u64
            || in_edges.len != out_edges.len
        {
            return Err(corrupt(
                footer_offset,
                "section lengths disagree with the counts".into(),
            ));
        }
        let crcs_at = 16 + 5 * 8 + 10 * 8;
        for (number, (name, section)) in [
            ("index", index),
            ("out-edge section", out_edges),
            ("in-edge section", in_edges),
            ("bloom filter", bloom),
        ]
        .into_iter()
        .enumerate()
        {
            let expected = u32_at(footer, crcs_at + number * 4);
            if crc32fast::hash(&map[section.range()]) != expected {
                return Err(corrupt(section.offset, format!("{name} checksum mismatch")));
            }
        }
        check_bloom(&map[bloom.range()]).map_err(|reason| corrupt(bloom.offset, reason))?;
        let mut table = Self {
            meta: TableMeta {
                id,
                size: file_len as u64,
                block_count,
                edge_count,
                min_sequence,
                max_sequence,
            },
            path: path.to_path_buf(),
            map,
            index,
            out_edges,
            in_edges,
            bloom,
            out_fence: Vec::new(),
            in_fence: Vec::new(),
        };
        table.out_fence = table.fence(false);
        table.in_fence = table.fence(true);
        // Edge types are checked once here so lookups cannot fail later.
        for i in 0..edge_count as usize {
            for incoming in [false, true] {
                let section = if incoming { in_edges } else { out_edges };
                let at = section.offset + i * EDGE_ENTRY_BYTES + 32;
                let value = u16::from_le_bytes([table.map[at], table.map[at + 1]]);
                EdgeType::from_u16(value).map_err(|_| {
                    corrupt(
                        at,
                        format!("unknown edge type {value} in a checksummed section"),
                    )
                })?;
            }
        }
        Ok(table)
    }

    /// The table's facts.
    pub fn meta(&self) -> &TableMeta {
        &self.meta
    }

    /// The table's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of index entries.
    pub fn block_count(&self) -> usize {
        self.meta.block_count as usize
    }

    /// Index entry `position` (in id order).
    pub fn index_entry(&self, position: usize) -> IndexEntry {
        let at = self.index.offset + position * INDEX_ENTRY_BYTES;
        IndexEntry::decode(&self.map[at..at + INDEX_ENTRY_BYTES])
    }

    fn index_id(&self, position: usize) -> &[u8] {
        let at = self.index.offset + position * INDEX_ENTRY_BYTES;
        &self.map[at..at + 16]
    }

    /// The entry for `id`, if this table has one (bloom filter first).
    pub fn find_entry(&self, id: BlockId) -> Option<IndexEntry> {
        if !bloom_may_contain(&self.map[self.bloom.range()], id) {
            return None;
        }
        let target = id.as_bytes().as_slice();
        let (mut low, mut high) = (0, self.block_count());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.index_id(middle).cmp(target) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return Some(self.index_entry(middle)),
            }
        }
        None
    }

    /// The verified data record of a live entry.
    pub fn record(&self, entry: &IndexEntry) -> StorageResult<&[u8]> {
        let start = entry.offset as usize;
        let len = entry.len as usize;
        let corrupt = |reason: &str| {
            StorageError::corruption(
                &self.path,
                entry.offset,
                format!("block {}: {reason}", entry.id),
            )
        };
        if !entry.live || len < RECORD_FIXED_BYTES || start + len > self.index.offset {
            return Err(corrupt("index entry points outside the data section"));
        }
        let record = &self.map[start..start + len];
        if crc32fast::hash(&record[4..]) != u32_at(record, 0) {
            return Err(corrupt("data record checksum mismatch"));
        }
        if u32_at(record, 4) as usize != len - 8
            || u64_at(record, 8) != entry.sequence
            || &record[16..32] != entry.id.as_bytes()
        {
            return Err(corrupt("data record disagrees with its index entry"));
        }
        Ok(record)
    }

    /// Decodes a verified live record into a view.
    pub fn read_block(&self, entry: &IndexEntry) -> StorageResult<BlockView<'_>> {
        let record = self.record(entry)?;
        let mut reader = Reader::new(&record[32..]);
        let mut decode = || -> Result<BlockView<'_>, crate::codec::DecodeError> {
            let uri_len = reader.u32("uri length")? as usize;
            let metadata_len = reader.u32("metadata length")? as usize;
            let content_len = reader.u32("content length")? as usize;
            let view = BlockView {
                id: entry.id,
                sequence: entry.sequence,
                source_uri: reader.str(uri_len, "source_uri")?,
                metadata_json: reader.str(metadata_len, "metadata_json")?,
                content: reader.str(content_len, "content")?,
            };
            if reader.remaining() != 0 {
                return Err(crate::codec::DecodeError {
                    at: reader.position(),
                    what: "record length",
                });
            }
            Ok(view)
        };
        decode().map_err(|error| {
            StorageError::corruption(
                &self.path,
                entry.offset + 32 + error.at as u64,
                format!("block {}: bad {}", entry.id, error.what),
            )
        })
    }

    /// The newest version of `id` in this table.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<TableLookup<'_>>> {
        let Some(entry) = self.find_entry(id) else {
            return Ok(None);
        };
        if !entry.live {
            return Ok(Some(TableLookup::Deleted));
        }
        Ok(Some(TableLookup::Live(self.read_block(&entry)?)))
    }

    fn edge_section(&self, incoming: bool) -> Section {
        if incoming {
            self.in_edges
        } else {
            self.out_edges
        }
    }

    /// Edge entry `position` of the out (or in) section.
    pub fn edge_entry(&self, position: usize, incoming: bool) -> EdgeEntry {
        let at = self.edge_section(incoming).offset + position * EDGE_ENTRY_BYTES;
        // Edge types were verified in `open`, so decoding cannot fail.
        EdgeEntry::decode(&self.map[at..at + EDGE_ENTRY_BYTES], incoming)
            .unwrap_or_else(|_| unreachable!("edge types verified at open"))
    }

    /// Number of edge entries.
    pub fn edge_count(&self) -> usize {
        self.meta.edge_count as usize
    }

    fn fence(&self, incoming: bool) -> Vec<BlockId> {
        let section = self.edge_section(incoming);
        (0..self.edge_count())
            .step_by(FENCE_STRIDE)
            .map(|position| {
                let at = section.offset + position * EDGE_ENTRY_BYTES;
                let mut id = [0u8; 16];
                id.copy_from_slice(&self.map[at..at + 16]);
                BlockId::from_bytes(id)
            })
            .collect()
    }

    /// False when the table certainly holds no edge leaving (or entering)
    /// `id`: the id lies outside the section's key range.
    pub fn may_have_edges(&self, id: BlockId, incoming: bool) -> bool {
        let count = self.edge_count();
        if count == 0 {
            return false;
        }
        let section = self.edge_section(incoming);
        let key = id.as_bytes().as_slice();
        let first = &self.map[section.offset..section.offset + 16];
        let last_at = section.offset + (count - 1) * EDGE_ENTRY_BYTES;
        let last = &self.map[last_at..last_at + 16];
        first <= key && key <= last
    }

    /// Calls `visit` with each edge entry leaving (or, `incoming`, entering)
    /// `id`, in section order: by (edge type, block at the other end).
    pub fn for_each_edge(&self, id: BlockId, incoming: bool, mut visit: impl FnMut(EdgeEntry)) {
        let section = self.edge_section(incoming);
        let map: &[u8] = &self.map;
        let key = id.as_bytes().as_slice();
        let first_at = |position: usize| {
            let at = section.offset + position * EDGE_ENTRY_BYTES;
            &map[at..at + 16]
        };
        // Fences below `id` put its first entry in one window of the section.
        let fence = if incoming {
            &self.in_fence
        } else {
            &self.out_fence
        };
        let below = fence.partition_point(|first| *first < id);
        let low_bound = below.saturating_sub(1) * FENCE_STRIDE;
        let high_bound = (below * FENCE_STRIDE).min(self.edge_count());
        let (mut low, mut high) = (low_bound, high_bound.max(low_bound));
        while low < high {
            let middle = low + (high - low) / 2;
            if first_at(middle) < key {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let mut position = low;
        while position < self.edge_count() && first_at(position) == key {
            visit(self.edge_entry(position, incoming));
            position += 1;
        }
    }

    /// True when this table holds any version of the edge triple.
    pub fn has_edge(&self, entry: &EdgeEntry) -> bool {
        let mut found = false;
        self.for_each_edge(entry.edge.source, false, |candidate| {
            found |= candidate.edge == entry.edge;
        });
        found
    }
}
