//! `Table`: an open, verified, memory-mapped SSTable answering point
//! lookups, edge lookups and ordered scans without copying.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use kausal_vfs::{MappedFile, Vfs};

use super::bloom::{bloom_len, bloom_may_contain, check_bloom, edge_filter_key};
use super::{
    EDGE_ENTRY_BYTES, EdgeEntry, FOOTER_BYTES, INDEX_ENTRY_BYTES, IndexEntry, RECORD_FIXED_BYTES,
    TABLE_MAGIC, TABLE_VERSIONS_READ, TableMeta,
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
/// Edge sections at least this large (together) are verified on two threads.
const PARALLEL_CHECK_MIN_BYTES: usize = 8 * 1024 * 1024;

/// Why an edge section failed its check at open.
enum EdgeSectionError {
    Checksum,
    /// An edge type this build does not know, at `at` bytes into the section.
    UnknownEdgeType {
        at: usize,
        value: u16,
    },
}

/// Entries an edge section is checked in at a time: hashing a chunk and
/// then reading its edge types while it is still in cache reads the
/// section from memory once instead of twice. A multiple of `FENCE_STRIDE`.
const CHECK_CHUNK_ENTRIES: usize = 1024;

/// Verifies an edge section (its checksum, and every edge type, so lookups
/// cannot fail later) and returns its fences: the first key of every
/// `FENCE_STRIDE`-th entry. A checksum mismatch wins over a bad edge type.
fn check_edge_section(bytes: &[u8], expected_crc: u32) -> Result<Vec<BlockId>, EdgeSectionError> {
    let mut hasher = crc32fast::Hasher::new();
    let mut unknown: Option<EdgeSectionError> = None;
    let mut fences = Vec::with_capacity(bytes.len() / EDGE_ENTRY_BYTES / FENCE_STRIDE + 1);
    for (chunk_index, chunk) in bytes
        .chunks(EDGE_ENTRY_BYTES * CHECK_CHUNK_ENTRIES)
        .enumerate()
    {
        hasher.update(chunk);
        for (offset, entry) in chunk.chunks_exact(EDGE_ENTRY_BYTES).enumerate() {
            let value = u16::from_le_bytes([entry[32], entry[33]]);
            if unknown.is_none() && EdgeType::from_u16(value).is_err() {
                let position = chunk_index * CHECK_CHUNK_ENTRIES + offset;
                unknown = Some(EdgeSectionError::UnknownEdgeType {
                    at: position * EDGE_ENTRY_BYTES + 32,
                    value,
                });
            }
            if offset % FENCE_STRIDE == 0 {
                let mut id = [0u8; 16];
                id.copy_from_slice(&entry[..16]);
                fences.push(BlockId::from_bytes(id));
            }
        }
    }
    if hasher.finalize() != expected_crc {
        return Err(EdgeSectionError::Checksum);
    }
    match unknown {
        Some(error) => Err(error),
        None => Ok(fences),
    }
}

/// A table's footer, read and checked: its facts and section bounds.
struct Footer<'a> {
    /// The footer's bytes; the section checksums are read from them.
    bytes: &'a [u8],
    version: u32,
    block_count: u64,
    edge_count: u64,
    min_sequence: u64,
    max_sequence: u64,
    index: Section,
    out_edges: Section,
    in_edges: Section,
    bloom: Section,
}

impl Footer<'_> {
    /// The stored checksum of section `number`: 0 the index, 1 the
    /// out-edges, 2 the in-edges, 3 the bloom filter.
    fn expected_crc(&self, number: usize) -> u32 {
        let crcs_at = 16 + 5 * 8 + 10 * 8;
        u32_at(self.bytes, crcs_at + number * 4)
    }
}

/// Reads and checks the footer of table `id` in `map`: its magic, checksum
/// and version, sections that end before it, the id it names, and section
/// lengths that agree with its counts.
fn read_footer<'a>(map: &'a [u8], path: &Path, id: u64) -> StorageResult<Footer<'a>> {
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
    if !TABLE_VERSIONS_READ.contains(&version) {
        // The footer checksum (verified above) covers the version.
        return Err(StorageError::UnsupportedFormat {
            file: path.to_path_buf(),
            what: "table",
            found: version,
            supported: TABLE_VERSIONS_READ,
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
    Ok(Footer {
        bytes: footer,
        version,
        block_count,
        edge_count,
        min_sequence,
        max_sequence,
        index,
        out_edges,
        in_edges,
        bloom,
    })
}

/// Verifies the index and both edge sections against the footer's
/// checksums (and every edge type) and returns the out-edge and in-edge
/// fences. The index is reported first, then the out-edges.
fn verify_sections(
    map: &[u8],
    path: &Path,
    footer: &Footer<'_>,
) -> StorageResult<[Vec<BlockId>; 2]> {
    let corrupt =
        |offset: usize, reason: String| StorageError::corruption(path, offset as u64, reason);
    let (index, out_edges, in_edges) = (footer.index, footer.out_edges, footer.in_edges);
    let expected = |number: usize| footer.expected_crc(number);
    let section_bytes = |section: Section| &map[section.range()];
    // The two edge sections dominate the bytes an open verifies; on a
    // large table they are checked on two threads (a pure function of
    // the bytes: results and error order do not depend on timing).
    let check_out = || check_edge_section(section_bytes(out_edges), expected(1));
    let check_in = || check_edge_section(section_bytes(in_edges), expected(2));
    let check_index = || crc32fast::hash(section_bytes(index)) == expected(0);
    let (out_checked, in_checked, index_ok) =
        if out_edges.len + in_edges.len >= PARALLEL_CHECK_MIN_BYTES {
            std::thread::scope(|scope| {
                let incoming = scope.spawn(check_in);
                let outgoing = check_out();
                let index_ok = check_index();
                let incoming = incoming.join().unwrap_or(Err(EdgeSectionError::Checksum));
                (outgoing, incoming, index_ok)
            })
        } else {
            (check_out(), check_in(), check_index())
        };
    if !index_ok {
        return Err(corrupt(index.offset, "index checksum mismatch".into()));
    }
    let mut fences = [Vec::new(), Vec::new()];
    for (fence, (name, section, checked)) in fences.iter_mut().zip([
        ("out-edge section", out_edges, out_checked),
        ("in-edge section", in_edges, in_checked),
    ]) {
        *fence = checked.map_err(|error| match error {
            EdgeSectionError::Checksum => {
                corrupt(section.offset, format!("{name} checksum mismatch"))
            }
            EdgeSectionError::UnknownEdgeType { at, value } => corrupt(
                section.offset + at,
                format!("unknown edge type {value} in a checksummed section"),
            ),
        })?;
    }
    Ok(fences)
}

/// Verifies the bloom section against the footer's checksum and splits it
/// into the block filter and (version 3 on) the edge filter after it, each
/// checked.
fn read_filters(
    map: &[u8],
    path: &Path,
    footer: &Footer<'_>,
) -> StorageResult<(Section, Option<Section>)> {
    let corrupt =
        |offset: usize, reason: String| StorageError::corruption(path, offset as u64, reason);
    let bloom = footer.bloom;
    if crc32fast::hash(&map[bloom.range()]) != footer.expected_crc(3) {
        return Err(corrupt(
            bloom.offset,
            "bloom filter checksum mismatch".into(),
        ));
    }
    let bloom_bytes = &map[bloom.range()];
    let block_filter_len = bloom_len(bloom_bytes)
        .filter(|len| *len <= bloom.len)
        .ok_or_else(|| corrupt(bloom.offset, "bloom filter shorter than its header".into()))?;
    let (block_filter, edge_filter) = if footer.version >= 3 {
        let edge_filter = Section {
            offset: bloom.offset + block_filter_len,
            len: bloom.len - block_filter_len,
        };
        check_bloom(&map[edge_filter.range()])
            .map_err(|reason| corrupt(edge_filter.offset, format!("edge filter: {reason}")))?;
        (
            Section {
                offset: bloom.offset,
                len: block_filter_len,
            },
            Some(edge_filter),
        )
    } else {
        (bloom, None)
    };
    check_bloom(&map[block_filter.range()]).map_err(|reason| corrupt(bloom.offset, reason))?;
    Ok((block_filter, edge_filter))
}

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
    /// The edge filter (version 3 tables), after the block filter.
    edge_filter: Option<Section>,
    /// First key (id) of every `FENCE_STRIDE`-th out-edge / in-edge entry.
    out_fence: Vec<BlockId>,
    in_fence: Vec<BlockId>,
}

impl Table {
    /// Maps and verifies table `id` at `path`: footer, section bounds and
    /// the checksums of index, edges and bloom filter.
    pub fn open(vfs: &dyn Vfs, path: &Path, id: u64) -> StorageResult<Self> {
        let map = vfs.map_readonly(path)?;
        let footer = read_footer(&map, path, id)?;
        let [out_fence, in_fence] = verify_sections(&map, path, &footer)?;
        let (block_filter, edge_filter) = read_filters(&map, path, &footer)?;
        let meta = TableMeta {
            id,
            size: map.len() as u64,
            block_count: footer.block_count,
            edge_count: footer.edge_count,
            min_sequence: footer.min_sequence,
            max_sequence: footer.max_sequence,
        };
        let (index, out_edges, in_edges) = (footer.index, footer.out_edges, footer.in_edges);
        Ok(Self {
            meta,
            path: path.to_path_buf(),
            map,
            index,
            out_edges,
            in_edges,
            bloom: block_filter,
            edge_filter,
            out_fence,
            in_fence,
        })
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

    /// False when the table certainly holds no edge leaving (or entering)
    /// `id`: the edge filter rules it out, or the id lies outside the
    /// section's key range.
    pub fn may_have_edges(&self, id: BlockId, incoming: bool) -> bool {
        let count = self.edge_count();
        if count == 0 {
            return false;
        }
        if let Some(filter) = self.edge_filter
            && !bloom_may_contain(&self.map[filter.range()], edge_filter_key(id, incoming))
        {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `count` edge entries with source ids 1..=count and a valid type.
    fn section(count: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; count * EDGE_ENTRY_BYTES];
        for (position, entry) in bytes.chunks_exact_mut(EDGE_ENTRY_BYTES).enumerate() {
            entry[..16].copy_from_slice(BlockId::from_u128(position as u128 + 1).as_bytes());
            entry[32..34].copy_from_slice(&EdgeType::Calls.as_u16().to_le_bytes());
        }
        bytes
    }

    #[test]
    fn edge_sections_yield_fences_across_chunks() {
        let count = CHECK_CHUNK_ENTRIES * 2 + 77;
        let bytes = section(count);
        let fences = check_edge_section(&bytes, crc32fast::hash(&bytes))
            .ok()
            .unwrap();
        let expected: Vec<BlockId> = (0..count)
            .step_by(FENCE_STRIDE)
            .map(|position| BlockId::from_u128(position as u128 + 1))
            .collect();
        assert_eq!(fences, expected);
    }

    #[test]
    fn a_bad_edge_type_is_reported_where_it_is_and_a_bad_checksum_wins() {
        let mut bytes = section(CHECK_CHUNK_ENTRIES + 10);
        let at = (CHECK_CHUNK_ENTRIES + 3) * EDGE_ENTRY_BYTES + 32;
        bytes[at..at + 2].copy_from_slice(&999u16.to_le_bytes());
        let crc = crc32fast::hash(&bytes);
        match check_edge_section(&bytes, crc) {
            Err(EdgeSectionError::UnknownEdgeType { at: found, value }) => {
                assert_eq!((found, value), (at, 999));
            }
            _ => panic!("expected an unknown edge type"),
        }
        assert!(matches!(
            check_edge_section(&bytes, crc ^ 1),
            Err(EdgeSectionError::Checksum)
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod edge_filter_tests {
    use std::sync::Arc;

    use kausal_vfs::{OsVfs, Vfs};

    use super::*;
    use crate::sstable::writer::TableWriter;
    use crate::{EdgeType, GraphEdge};

    #[test]
    fn the_edge_filter_rules_out_ids_inside_the_key_range() {
        let dir = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
        let writer = TableWriter::create(&vfs, dir.path(), 1).unwrap();
        let id = BlockId::from_u128;
        // Sources 1, 3, 5, ..., 199 and targets 2, 4, ..., 200.
        let mut edges: Vec<EdgeEntry> = (0..100u128)
            .map(|n| EdgeEntry {
                edge: GraphEdge::new(id(2 * n + 1), id(2 * n + 2), EdgeType::Calls),
                sequence: n as u64 + 1,
                live: true,
            })
            .collect();
        writer.finish(&mut edges).unwrap();
        let table =
            Table::open(vfs.as_ref(), &crate::sstable::table_path(dir.path(), 1), 1).unwrap();
        for n in 0..100u128 {
            assert!(table.may_have_edges(id(2 * n + 1), false));
            assert!(table.may_have_edges(id(2 * n + 2), true));
        }
        // Even ids have no out-edges, odd ones no in-edges: all inside the
        // sections' key ranges, so only the filter can rule them out.
        let ruled_out = (1..99u128)
            .filter(|n| !table.may_have_edges(id(2 * n), false))
            .count()
            + (1..99u128)
                .filter(|n| !table.may_have_edges(id(2 * n + 1), true))
                .count();
        assert!(ruled_out >= 190, "only {ruled_out} of 196 ruled out");
    }
}
