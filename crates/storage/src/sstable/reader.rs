//! `Table`: an open, verified, memory-mapped SSTable answering point
//! lookups, edge lookups and ordered scans without copying.

use std::path::{Path, PathBuf};

use kausal_vfs::{MappedFile, Vfs};

use super::bloom::{bloom_len, bloom_may_contain, check_bloom, edge_filter_key};
use super::pages::{
    PAGE_ENTRIES, PageError, Paged, Pages, check_edge_types, page_count, page_table_len,
};
use super::{
    EDGE_ENTRY_BYTES, EdgeEntry, FOOTER_BYTES, INDEX_ENTRY_BYTES, IndexEntry, RECORD_FIXED_BYTES,
    TABLE_MAGIC, TABLE_VERSIONS_READ, TableMeta,
};
use crate::codec::{Reader, u32_at, u64_at};
use crate::{BlockId, BlockView, StorageError, StorageResult};

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

/// Section bytes at least this large (together) are verified on two
/// threads when a table of version 2 or 3 opens.
const PARALLEL_CHECK_MIN_BYTES: usize = 8 * 1024 * 1024;

/// Entries the index's page search steps from its interpolated guess
/// before it bisects instead (a guess is off by a few entries on evenly
/// spread ids).
const GUESS_STEPS: usize = 8;
/// Entries an edge section's page search compares at once around its
/// interpolated guess (a node's first edge is up to its run's length
/// away), and windows it tries before it bisects instead.
const EDGE_GUESS_WINDOW: usize = 16;
const GUESS_WINDOWS: usize = 3;

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
    /// The stored checksum of section `number`: 0 the index (version 4:
    /// the page table), 1 the out-edges, 2 the in-edges (version 4: 0),
    /// 3 the bloom filter.
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

/// Checks a table of version 2 or 3, whose index and edge sections are
/// checksummed as wholes: verifies them at open (and every edge type, so
/// lookups cannot fail later), the index first, then the out-edges.
fn verify_whole_sections(map: &[u8], path: &Path, footer: &Footer<'_>) -> StorageResult<Pages> {
    let corrupt =
        |offset: usize, reason: String| StorageError::corruption(path, offset as u64, reason);
    let (index, out_edges, in_edges) = (footer.index, footer.out_edges, footer.in_edges);
    let check = |section: Section, number: usize| -> Result<(), PageError> {
        let bytes = &map[section.range()];
        if crc32fast::hash(bytes) != footer.expected_crc(number) {
            return Err(PageError::Checksum);
        }
        if number > 0 {
            check_edge_types(bytes)?;
        }
        Ok(())
    };
    // The two edge sections dominate the bytes; on a large table they are
    // checked on two threads (a pure function of the bytes: results and
    // error order do not depend on timing).
    let (index_checked, out_checked, in_checked) =
        if out_edges.len + in_edges.len >= PARALLEL_CHECK_MIN_BYTES {
            std::thread::scope(|scope| {
                let incoming = scope.spawn(|| check(in_edges, 2));
                let outgoing = check(out_edges, 1);
                let index_checked = check(index, 0);
                let incoming = incoming.join().unwrap_or(Err(PageError::Checksum));
                (index_checked, outgoing, incoming)
            })
        } else {
            (check(index, 0), check(out_edges, 1), check(in_edges, 2))
        };
    for (paged, section, checked) in [
        (Paged::Index, index, index_checked),
        (Paged::OutEdges, out_edges, out_checked),
        (Paged::InEdges, in_edges, in_checked),
    ] {
        checked.map_err(|error| match error {
            PageError::UnknownEdgeType { at, value } => corrupt(
                section.offset + at,
                format!("unknown edge type {value} in a checksummed section"),
            ),
            _ => corrupt(
                section.offset,
                format!("{} checksum mismatch", paged.name()),
            ),
        })?;
    }
    Ok(Pages::from_verified_sections([
        &map[index.range()],
        &map[out_edges.range()],
        &map[in_edges.range()],
    ]))
}

/// Reads the page table of a version 4 table, which follows the bloom
/// filter up to the footer, and verifies its checksum.
fn read_page_table(map: &[u8], path: &Path, footer: &Footer<'_>) -> StorageResult<Pages> {
    let entries = [
        footer.block_count as usize,
        footer.edge_count as usize,
        footer.edge_count as usize,
    ];
    let start = footer.bloom.offset + footer.bloom.len;
    let end = map.len() - FOOTER_BYTES;
    if end.checked_sub(start) != Some(page_table_len(entries)) {
        return Err(StorageError::corruption(
            path,
            start as u64,
            format!(
                "page table of {} bytes, expected {} for the counts",
                end.saturating_sub(start),
                page_table_len(entries)
            ),
        ));
    }
    let table = &map[start..end];
    if crc32fast::hash(table) != footer.expected_crc(0) {
        return Err(StorageError::corruption(
            path,
            start as u64,
            "page table checksum mismatch",
        ));
    }
    Ok(Pages::from_page_table(table, entries))
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
    /// The edge filter (version 3 tables on), after the block filter.
    edge_filter: Option<Section>,
    /// Page keys of index and edge sections, and which pages are verified.
    pages: Pages,
}

impl Table {
    /// Maps and checks table `id` at `path`: footer, section bounds, bloom
    /// filter and page table (version 4; index and edge pages are verified
    /// as reads first touch them), or the checksums of index and edge
    /// sections as wholes (versions 2 and 3).
    pub fn open(vfs: &dyn Vfs, path: &Path, id: u64) -> StorageResult<Self> {
        let map = vfs.map_readonly(path)?;
        let footer = read_footer(&map, path, id)?;
        let (block_filter, edge_filter) = read_filters(&map, path, &footer)?;
        let pages = if footer.version >= 4 {
            read_page_table(&map, path, &footer)?
        } else {
            verify_whole_sections(&map, path, &footer)?
        };
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
            pages,
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

    fn section(&self, paged: Paged) -> Section {
        match paged {
            Paged::Index => self.index,
            Paged::OutEdges => self.out_edges,
            Paged::InEdges => self.in_edges,
        }
    }

    fn entries(&self, paged: Paged) -> usize {
        match paged {
            Paged::Index => self.block_count(),
            Paged::OutEdges | Paged::InEdges => self.edge_count(),
        }
    }

    /// Verifies page `page` of `paged` unless done before: nothing of a page
    /// is read before this.
    fn check_page(&self, paged: Paged, page: usize) -> StorageResult<()> {
        if self.pages.is_verified(paged, page) {
            return Ok(());
        }
        let section = self.section(paged);
        let entry_bytes = paged.entry_bytes();
        let first = page * PAGE_ENTRIES;
        let end = (first + PAGE_ENTRIES).min(self.entries(paged));
        let start = section.offset + first * entry_bytes;
        let bytes = &self.map[start..section.offset + end * entry_bytes];
        self.pages.verify(paged, page, bytes).map_err(|error| {
            let (at, reason) = error.describe(paged, page);
            StorageError::corruption(&self.path, (start + at) as u64, reason)
        })
    }

    /// Verifies every page of index and edge sections (versions 2 and 3
    /// were verified whole at open), for `kausal verify` and backups.
    pub fn verify_all(&self) -> StorageResult<()> {
        for paged in Paged::ALL {
            for page in 0..page_count(self.entries(paged)) {
                self.check_page(paged, page)?;
            }
        }
        Ok(())
    }

    /// The key of entry `position` of a section whose page is verified.
    fn key_at(&self, paged: Paged, position: usize) -> &[u8] {
        let at = self.section(paged).offset + position * paged.entry_bytes();
        &self.map[at..at + 16]
    }

    /// Index entry `position` (in id order), its page verified first.
    pub fn index_entry(&self, position: usize) -> StorageResult<IndexEntry> {
        self.check_page(Paged::Index, position / PAGE_ENTRIES)?;
        let at = self.index.offset + position * INDEX_ENTRY_BYTES;
        Ok(IndexEntry::decode(&self.map[at..at + INDEX_ENTRY_BYTES]))
    }

    /// The entry for `id`, if this table has one: the bloom filter, then the
    /// page whose key range holds `id` (page keys were verified at open).
    pub fn find_entry(&self, id: BlockId) -> StorageResult<Option<IndexEntry>> {
        if !bloom_may_contain(&self.map[self.bloom.range()], id) {
            return Ok(None);
        }
        let pages_at_or_below = self
            .pages
            .first_keys(Paged::Index)
            .partition_point(|first| *first <= id);
        let Some(page) = pages_at_or_below.checked_sub(1) else {
            return Ok(None);
        };
        self.check_page(Paged::Index, page)?;
        let position = self.lower_bound_in_page(Paged::Index, page, id);
        let end = ((page + 1) * PAGE_ENTRIES).min(self.block_count());
        if position == end || self.key_at(Paged::Index, position) != id.as_bytes() {
            return Ok(None);
        }
        // The page was verified above.
        let at = self.index.offset + position * INDEX_ENTRY_BYTES;
        Ok(Some(IndexEntry::decode(
            &self.map[at..at + INDEX_ENTRY_BYTES],
        )))
    }

    /// The first position of page `page` of `paged` (verified by the
    /// caller) whose key is `id` or above; the page's end when none is.
    ///
    /// Ids are hashes, spread evenly, so the position is first guessed by
    /// interpolating between the page's first key and the next page's (both
    /// in memory), then found near the guess: a cache line or two, where
    /// bisecting the page's 10-12 KiB touched six or seven (perf: most of
    /// an edge lookup's time). The index steps from the guess, an edge
    /// section counts in windows around it (see each); a guess still far
    /// off (unevenly spread ids) bisects what is left.
    fn lower_bound_in_page(&self, paged: Paged, page: usize, id: BlockId) -> usize {
        let mut start = page * PAGE_ENTRIES;
        let mut end = (start + PAGE_ENTRIES).min(self.entries(paged));
        let key = id.as_u128();
        let first_keys = self.pages.first_keys(paged);
        let first = first_keys.get(page).map_or(0, |first| first.as_u128());
        let upper = match first_keys.get(page + 1) {
            Some(next) => next.as_u128(),
            None => self
                .pages
                .key_range(paged)
                .map_or(first, |(_, last)| last.as_u128()),
        };
        let guess = if key <= first {
            start
        } else if key >= upper {
            end - 1
        } else {
            let fraction = (key - first) as f64 / (upper - first) as f64;
            (start + (fraction * (end - start) as f64) as usize).min(end - 1)
        };
        // The answer stays within [start, end] throughout.
        let found = match paged {
            Paged::Index => self.step_from_guess(paged, guess, key, &mut start, &mut end),
            Paged::OutEdges | Paged::InEdges => {
                self.count_in_windows(paged, guess, key, &mut start, &mut end)
            }
        };
        if let Some(position) = found {
            return position;
        }
        while start < end {
            let middle = start + (end - start) / 2;
            if self.key_u128(paged, middle) < key {
                start = middle + 1;
            } else {
                end = middle;
            }
        }
        start
    }

    /// The index's search from its guess: ids are unique there, so the
    /// guess is off by an entry or two, and stepping reads a line or two.
    /// A window of 4 or 16 keys (as the edge sections use) cost a
    /// `find_block` in a small, cached table 5-30 ns more (issue 26:
    /// there the compares are the lookup's time, not a cache miss).
    /// `None` when [`GUESS_STEPS`] steps did not reach it; `[start, end]`
    /// then still holds the answer.
    fn step_from_guess(
        &self,
        paged: Paged,
        guess: usize,
        key: u128,
        start: &mut usize,
        end: &mut usize,
    ) -> Option<usize> {
        if self.key_u128(paged, guess) < key {
            *start = guess + 1;
            for _ in 0..GUESS_STEPS {
                if *start == *end || self.key_u128(paged, *start) >= key {
                    return Some(*start);
                }
                *start += 1;
            }
        } else {
            *end = guess;
            for _ in 0..GUESS_STEPS {
                if *end == *start || self.key_u128(paged, *end - 1) < key {
                    return Some(*end);
                }
                *end -= 1;
            }
        }
        None
    }

    /// An edge section's search from its guess: a node's first edge is up
    /// to its run's length from the guess, so the keys below `key` are
    /// counted in windows of [`EDGE_GUESS_WINDOW`] entries without a
    /// branch on any of them: the window's loads go out together, and the
    /// count is the answer whenever the window holds the boundary.
    /// Stepping entry by entry took a mispredicted branch after a load per
    /// step. `None` when [`GUESS_WINDOWS`] windows did not hold it;
    /// `[start, end]` then still holds the answer.
    fn count_in_windows(
        &self,
        paged: Paged,
        guess: usize,
        key: u128,
        start: &mut usize,
        end: &mut usize,
    ) -> Option<usize> {
        let window = EDGE_GUESS_WINDOW;
        let mut low = guess.saturating_sub(window / 2).max(*start);
        for _ in 0..GUESS_WINDOWS {
            let high = (low + window).min(*end);
            low = high.saturating_sub(window).max(*start);
            let below: usize = (low..high)
                .map(|position| usize::from(self.key_u128(paged, position) < key))
                .sum();
            // Keys are sorted: the window's first `below` are under `key`.
            if below == 0 && low > *start {
                *end = low;
                low = low.saturating_sub(window).max(*start);
            } else if below == high - low && high < *end {
                *start = high;
                low = high;
            } else {
                return Some(low + below);
            }
        }
        None
    }

    /// The key of entry `position` of a verified page, as a number.
    fn key_u128(&self, paged: Paged, position: usize) -> u128 {
        let bytes = self.key_at(paged, position);
        u128::from_be_bytes(bytes.try_into().unwrap_or([0; 16]))
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
        let Some(entry) = self.find_entry(id)? else {
            return Ok(None);
        };
        if !entry.live {
            return Ok(Some(TableLookup::Deleted));
        }
        Ok(Some(TableLookup::Live(self.read_block(&entry)?)))
    }

    fn edge_part(incoming: bool) -> Paged {
        if incoming {
            Paged::InEdges
        } else {
            Paged::OutEdges
        }
    }

    /// Edge entry `position` of the out (or in) section, its page verified
    /// first (which checks every edge type in it).
    pub fn edge_entry(&self, position: usize, incoming: bool) -> StorageResult<EdgeEntry> {
        let paged = Self::edge_part(incoming);
        self.check_page(paged, position / PAGE_ENTRIES)?;
        self.decode_edge(paged, position, incoming)
    }

    /// Edge entry `position` of `paged`, whose page the caller verified.
    fn decode_edge(
        &self,
        paged: Paged,
        position: usize,
        incoming: bool,
    ) -> StorageResult<EdgeEntry> {
        let at = self.section(paged).offset + position * EDGE_ENTRY_BYTES;
        EdgeEntry::decode(&self.map[at..at + EDGE_ENTRY_BYTES], incoming)
    }

    /// Number of edge entries.
    pub fn edge_count(&self) -> usize {
        self.meta.edge_count as usize
    }

    /// False when the table certainly holds no edge leaving (or entering)
    /// `id`: the edge filter rules it out, or the id lies outside the
    /// section's key range. Reads no page.
    pub fn may_have_edges(&self, id: BlockId, incoming: bool) -> bool {
        let Some((first, last)) = self.pages.key_range(Self::edge_part(incoming)) else {
            return false;
        };
        if let Some(filter) = self.edge_filter
            && !bloom_may_contain(&self.map[filter.range()], edge_filter_key(id, incoming))
        {
            return false;
        }
        first <= id && id <= last
    }

    /// Calls `visit` with each edge entry leaving (or, `incoming`, entering)
    /// `id`, in section order: by (edge type, block at the other end).
    pub fn for_each_edge(
        &self,
        id: BlockId,
        incoming: bool,
        mut visit: impl FnMut(EdgeEntry),
    ) -> StorageResult<()> {
        let paged = Self::edge_part(incoming);
        let count = self.edge_count();
        if count == 0 {
            return Ok(());
        }
        let key = id.as_bytes().as_slice();
        // The first page starting at or after `id`; `id`'s first entry is
        // on the page before it or (when that page ends below `id`) there.
        let pages_below = self
            .pages
            .first_keys(paged)
            .partition_point(|first| *first < id);
        let page = pages_below.saturating_sub(1);
        self.check_page(paged, page)?;
        let mut position = self.lower_bound_in_page(paged, page, id);
        while position < count {
            if position.is_multiple_of(PAGE_ENTRIES) {
                self.check_page(paged, position / PAGE_ENTRIES)?;
            }
            if self.key_at(paged, position) != key {
                break;
            }
            // The page was verified above, on entering it.
            visit(self.decode_edge(paged, position, incoming)?);
            position += 1;
        }
        Ok(())
    }

    /// True when this table holds any version of the edge triple.
    pub fn has_edge(&self, entry: &EdgeEntry) -> StorageResult<bool> {
        let mut found = false;
        self.for_each_edge(entry.edge.source, false, |candidate| {
            found |= candidate.edge == entry.edge;
        })?;
        Ok(found)
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
        table.verify_all().unwrap();
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod page_search_tests {
    use std::sync::Arc;

    use kausal_vfs::{OsVfs, Vfs};

    use super::*;
    use crate::sstable::writer::TableWriter;
    use crate::{EdgeType, GraphEdge};

    /// Ids spread evenly, clustered, and wildly uneven (a few huge gaps),
    /// so the interpolated guess is right, a little off, and far off.
    fn id_sets() -> Vec<Vec<u128>> {
        let even: Vec<u128> = (1..=3000u128)
            .map(|n| n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) | 1)
            .collect();
        let clustered: Vec<u128> = (1..=3000u128).map(|n| (n / 100) << 100 | n).collect();
        let uneven: Vec<u128> = (1..=3000u128)
            .map(|n| {
                if n % 500 == 0 {
                    u128::MAX - n
                } else {
                    n * n * n
                }
            })
            .collect();
        vec![even, clustered, uneven]
    }

    #[test]
    fn lookups_find_every_key_whatever_the_spread() {
        for (number, mut ids) in id_sets().into_iter().enumerate() {
            ids.sort_unstable();
            ids.dedup();
            let dir = tempfile::tempdir().unwrap();
            let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
            let mut writer = TableWriter::create(&vfs, dir.path(), 1).unwrap();
            for (sequence, &n) in ids.iter().enumerate() {
                writer.add_tombstone(BlockId::from_u128(n), sequence as u64 + 1);
            }
            // Degrees 1 to 7 from every fourth id, to the next ids, and
            // runs longer than the search's window (and than several) from
            // every hundredth.
            let degree = |index: usize| match index {
                _ if index.is_multiple_of(100) => 40 + index % 3,
                _ if index.is_multiple_of(4) => index % 7 + 1,
                _ => 0,
            };
            let mut edges = Vec::new();
            for (index, &n) in ids.iter().enumerate().step_by(4) {
                for step in 1..=degree(index) {
                    let target = ids[(index + step) % ids.len()];
                    edges.push(EdgeEntry {
                        edge: GraphEdge::new(
                            BlockId::from_u128(n),
                            BlockId::from_u128(target),
                            EdgeType::Calls,
                        ),
                        sequence: 1,
                        live: true,
                    });
                }
            }
            let expected = edges.len();
            writer.finish(&mut edges).unwrap();
            let path = crate::sstable::table_path(dir.path(), 1);
            let table = Table::open(vfs.as_ref(), &path, 1).unwrap();
            for &n in &ids {
                let entry = table.find_entry(BlockId::from_u128(n)).unwrap();
                assert_eq!(
                    entry.map(|e| e.id),
                    Some(BlockId::from_u128(n)),
                    "set {number}"
                );
                // Neighbours that are not keys are not found.
                for absent in [n.wrapping_add(2), n.wrapping_sub(2)] {
                    if absent != 0 && ids.binary_search(&absent).is_err() {
                        assert!(
                            table
                                .find_entry(BlockId::from_u128(absent))
                                .unwrap()
                                .is_none()
                        );
                    }
                }
            }
            let mut found = 0;
            for (index, &n) in ids.iter().enumerate() {
                let mut out = Vec::new();
                table
                    .for_each_edge(BlockId::from_u128(n), false, |entry| out.push(entry.edge))
                    .unwrap();
                assert_eq!(out.len(), degree(index), "set {number}, id {n:x}");
                assert!(out.iter().all(|edge| edge.source == BlockId::from_u128(n)));
                found += out.len();
            }
            assert_eq!(found, expected);
        }
    }
}
