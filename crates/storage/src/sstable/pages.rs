//! Page checksums of a table's index and edge sections (format version 4),
//! and the record of which pages an open table has verified.
//!
//! A version 4 table checksums its index and both edge sections per page of
//! [`PAGE_ENTRIES`] entries, in a page table after the bloom filter, instead
//! of as wholes. Opening it verifies the footer, the bloom filter and the
//! page table (about 1/600 of the sections' bytes); each page is verified
//! the first time a read touches it and remembered. Before, opening a
//! million-block table hashed every index and edge byte (≈ 500 MB, 40 ms;
//! 1.8 GB of a kernel database mapped in) before answering one query.
//! Nothing unverified is ever used: lookups narrow to a page through the
//! page table's keys (checksummed at open), then verify the page before
//! reading any entry of it.
//!
//! Page table, for the index, the out-edges and the in-edges in that order:
//!
//! ```text
//! one 20-byte entry per page (the last may hold fewer entries):
//!     crc32 u32 of the page's bytes | key [16] of its first entry
//! then, when the section has entries, the key [16] of its last entry
//! ```
//!
//! A key is an index entry's id, or an edge entry's first id (source of an
//! out-edge, target of an in-edge). Tables of versions 2 and 3 have no page
//! table: they are verified whole at open as before, their page keys read
//! from the verified sections, and every page counts as verified.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{EDGE_ENTRY_BYTES, INDEX_ENTRY_BYTES};
use crate::codec::u32_at;
use crate::{BlockId, EdgeType};

/// Entries per page: a page of edges is 12 KiB, of index entries 10 KiB,
/// hashed in about a microsecond on first use.
pub const PAGE_ENTRIES: usize = 256;
/// Bytes of one page-table entry: crc32 and first key.
const PAGE_ENTRY_BYTES: usize = 4 + KEY_BYTES;
/// Bytes of a key.
const KEY_BYTES: usize = 16;

/// A section checked page by page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paged {
    Index,
    OutEdges,
    InEdges,
}

impl Paged {
    /// The three, in page-table order.
    pub const ALL: [Paged; 3] = [Paged::Index, Paged::OutEdges, Paged::InEdges];

    fn number(self) -> usize {
        match self {
            Paged::Index => 0,
            Paged::OutEdges => 1,
            Paged::InEdges => 2,
        }
    }

    /// Bytes of one entry of this section.
    pub fn entry_bytes(self) -> usize {
        match self {
            Paged::Index => INDEX_ENTRY_BYTES,
            Paged::OutEdges | Paged::InEdges => EDGE_ENTRY_BYTES,
        }
    }

    /// The section's name in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Paged::Index => "index",
            Paged::OutEdges => "out-edge section",
            Paged::InEdges => "in-edge section",
        }
    }
}

/// Pages of a section of `entries` entries.
pub fn page_count(entries: usize) -> usize {
    entries.div_ceil(PAGE_ENTRIES)
}

/// Bytes of one section's part of the page table.
fn part_len(entries: usize) -> usize {
    page_count(entries) * PAGE_ENTRY_BYTES + if entries > 0 { KEY_BYTES } else { 0 }
}

/// Bytes of the page table of sections holding `entries` (index, out, in).
pub fn page_table_len(entries: [usize; 3]) -> usize {
    entries.iter().map(|count| part_len(*count)).sum()
}

/// Appends the page-table part of one section (`bytes`: whole entries of
/// `entry_bytes`) to `out`.
pub fn append_page_table(bytes: &[u8], entry_bytes: usize, out: &mut Vec<u8>) {
    for page in bytes.chunks(entry_bytes * PAGE_ENTRIES) {
        out.extend_from_slice(&crc32fast::hash(page).to_le_bytes());
        out.extend_from_slice(&page[..KEY_BYTES]);
    }
    if bytes.len() >= entry_bytes {
        let last = bytes.len() - entry_bytes;
        out.extend_from_slice(&bytes[last..last + KEY_BYTES]);
    }
}

/// One section's part of the page table, built entry by entry as the
/// section is written: the same bytes as [`append_page_table`] over the
/// whole section, holding one page's checksum state instead of the section.
#[derive(Default)]
pub struct PagePart {
    page: crc32fast::Hasher,
    /// Entries added to the current page.
    page_entries: usize,
    first_key: [u8; KEY_BYTES],
    last_key: Option<[u8; KEY_BYTES]>,
}

impl PagePart {
    /// Adds one entry's bytes; a completed page's entry goes to `out`.
    pub fn add(&mut self, entry: &[u8], out: &mut Vec<u8>) {
        let mut key = [0u8; KEY_BYTES];
        key.copy_from_slice(&entry[..KEY_BYTES]);
        if self.page_entries == 0 {
            self.first_key = key;
        }
        self.page.update(entry);
        self.page_entries += 1;
        self.last_key = Some(key);
        if self.page_entries == PAGE_ENTRIES {
            self.end_page(out);
        }
    }

    fn end_page(&mut self, out: &mut Vec<u8>) {
        let page = std::mem::take(&mut self.page);
        out.extend_from_slice(&page.finalize().to_le_bytes());
        out.extend_from_slice(&self.first_key);
        self.page_entries = 0;
    }

    /// Appends the last, partial page's entry and the section's last key.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.page_entries > 0 {
            self.end_page(out);
        }
        if let Some(last) = self.last_key {
            out.extend_from_slice(&last);
        }
    }
}

fn key_at(bytes: &[u8], at: usize) -> BlockId {
    let mut key = [0u8; KEY_BYTES];
    key.copy_from_slice(&bytes[at..at + KEY_BYTES]);
    BlockId::from_bytes(key)
}

/// Why a page failed its check; `at` is a byte offset into the page.
#[derive(Debug, PartialEq, Eq)]
pub enum PageError {
    Checksum,
    /// The page's first key is not the one the page table holds.
    FirstKey,
    UnknownEdgeType {
        at: usize,
        value: u16,
    },
}

impl PageError {
    /// Offset into the page and the reason, for a corruption error.
    pub fn describe(&self, section: Paged, page: usize) -> (usize, String) {
        match self {
            PageError::Checksum => (
                0,
                format!("{} page {page} checksum mismatch", section.name()),
            ),
            PageError::FirstKey => (
                0,
                format!(
                    "{} page {page} disagrees with the page table",
                    section.name()
                ),
            ),
            PageError::UnknownEdgeType { at, value } => (
                *at,
                format!("unknown edge type {value} in a checksummed section"),
            ),
        }
    }
}

/// Checks every edge type in `bytes` (whole edge entries); the first
/// unknown one is reported with its offset.
pub fn check_edge_types(bytes: &[u8]) -> Result<(), PageError> {
    for (position, entry) in bytes.chunks_exact(EDGE_ENTRY_BYTES).enumerate() {
        let value = u16::from_le_bytes([entry[32], entry[33]]);
        if EdgeType::from_u16(value).is_err() {
            return Err(PageError::UnknownEdgeType {
                at: position * EDGE_ENTRY_BYTES + 32,
                value,
            });
        }
    }
    Ok(())
}

/// What an open table knows about one section's pages.
#[derive(Debug, Default)]
struct SectionPages {
    /// Key of each page's first entry.
    first_keys: Vec<BlockId>,
    /// Key of the section's last entry.
    last_key: Option<BlockId>,
    /// Stored page checksums; empty for a table verified whole at open.
    crcs: Vec<u32>,
    /// Position of this section's first page among all the table's pages.
    first_bit: usize,
}

/// The pages of a table's three paged sections and which are verified.
#[derive(Debug)]
pub struct Pages {
    sections: [SectionPages; 3],
    /// One bit per page, set once the page has been verified. Bits only go
    /// from 0 to 1, and the bytes they vouch for never change while the
    /// table is open, so relaxed ordering suffices: two threads checking one
    /// page at once both reach the same verdict.
    verified: Box<[AtomicU64]>,
}

impl Pages {
    fn with_bits(mut sections: [SectionPages; 3], all_verified: bool) -> Self {
        let mut bits = 0;
        for section in sections.iter_mut() {
            section.first_bit = bits;
            bits += section.first_keys.len();
        }
        let fill = if all_verified { u64::MAX } else { 0 };
        let verified = (0..bits.div_ceil(64))
            .map(|_| AtomicU64::new(fill))
            .collect();
        Self { sections, verified }
    }

    /// Reads a page table whose checksum has been verified. `entries`
    /// holds the entry counts of index, out-edges and in-edges; the table
    /// must be `page_table_len(entries)` bytes.
    pub fn from_page_table(table: &[u8], entries: [usize; 3]) -> Self {
        debug_assert_eq!(table.len(), page_table_len(entries));
        let mut at = 0;
        let sections = entries.map(|count| {
            let pages = page_count(count);
            let mut section = SectionPages {
                first_keys: Vec::with_capacity(pages),
                crcs: Vec::with_capacity(pages),
                ..SectionPages::default()
            };
            for _ in 0..pages {
                section.crcs.push(u32_at(table, at));
                section.first_keys.push(key_at(table, at + 4));
                at += PAGE_ENTRY_BYTES;
            }
            if count > 0 {
                section.last_key = Some(key_at(table, at));
                at += KEY_BYTES;
            }
            section
        });
        Self::with_bits(sections, false)
    }

    /// Page keys of sections verified whole at open (versions 2 and 3):
    /// every page counts as verified.
    pub fn from_verified_sections(sections: [&[u8]; 3]) -> Self {
        let mut parts = [0, 1, 2].map(|_| SectionPages::default());
        for (part, (bytes, paged)) in parts.iter_mut().zip(sections.into_iter().zip(Paged::ALL)) {
            let entry_bytes = paged.entry_bytes();
            part.first_keys = (0..bytes.len())
                .step_by(entry_bytes * PAGE_ENTRIES)
                .map(|at| key_at(bytes, at))
                .collect();
            part.last_key =
                (bytes.len() >= entry_bytes).then(|| key_at(bytes, bytes.len() - entry_bytes));
        }
        Self::with_bits(parts, true)
    }

    fn section(&self, paged: Paged) -> &SectionPages {
        &self.sections[paged.number()]
    }

    /// Key of each page's first entry.
    pub fn first_keys(&self, paged: Paged) -> &[BlockId] {
        &self.section(paged).first_keys
    }

    /// Key of the section's first and last entries, if it has any.
    pub fn key_range(&self, paged: Paged) -> Option<(BlockId, BlockId)> {
        let section = self.section(paged);
        Some((*section.first_keys.first()?, section.last_key?))
    }

    /// Whether page `page` of `paged` has been verified.
    pub fn is_verified(&self, paged: Paged, page: usize) -> bool {
        let bit = self.section(paged).first_bit + page;
        self.verified[bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0
    }

    /// Verifies page `page` of `paged`, whose bytes are `bytes`, against the
    /// page table (and, for edges, every edge type), and remembers it.
    pub fn verify(&self, paged: Paged, page: usize, bytes: &[u8]) -> Result<(), PageError> {
        let section = self.section(paged);
        let stored = section.crcs.get(page).copied();
        if stored != Some(crc32fast::hash(bytes)) {
            return Err(PageError::Checksum);
        }
        if bytes.len() < KEY_BYTES || Some(&key_at(bytes, 0)) != section.first_keys.get(page) {
            return Err(PageError::FirstKey);
        }
        if paged != Paged::Index {
            check_edge_types(bytes)?;
        }
        let bit = section.first_bit + page;
        self.verified[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `count` edge entries with first keys 1..=count and a valid type.
    fn edges(count: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; count * EDGE_ENTRY_BYTES];
        for (position, entry) in bytes.chunks_exact_mut(EDGE_ENTRY_BYTES).enumerate() {
            entry[..16].copy_from_slice(BlockId::from_u128(position as u128 + 1).as_bytes());
            entry[32..34].copy_from_slice(&EdgeType::Calls.as_u16().to_le_bytes());
        }
        bytes
    }

    fn page(bytes: &[u8], page: usize) -> &[u8] {
        let size = EDGE_ENTRY_BYTES * PAGE_ENTRIES;
        &bytes[page * size..((page + 1) * size).min(bytes.len())]
    }

    #[test]
    fn a_written_page_table_reads_back_and_verifies_each_page_once() {
        let count = PAGE_ENTRIES * 2 + 7;
        let out = edges(count);
        let mut table = Vec::new();
        append_page_table(&[], INDEX_ENTRY_BYTES, &mut table);
        append_page_table(&out, EDGE_ENTRY_BYTES, &mut table);
        append_page_table(&out, EDGE_ENTRY_BYTES, &mut table);
        let entries = [0, count, count];
        assert_eq!(table.len(), page_table_len(entries));
        let pages = Pages::from_page_table(&table, entries);
        let id = |n: usize| BlockId::from_u128(n as u128);
        assert_eq!(
            pages.first_keys(Paged::OutEdges),
            &[id(1), id(PAGE_ENTRIES + 1), id(2 * PAGE_ENTRIES + 1)]
        );
        assert_eq!(pages.key_range(Paged::InEdges), Some((id(1), id(count))));
        assert_eq!(pages.key_range(Paged::Index), None);
        for number in 0..3 {
            assert!(!pages.is_verified(Paged::InEdges, number));
            pages
                .verify(Paged::InEdges, number, page(&out, number))
                .unwrap();
            assert!(pages.is_verified(Paged::InEdges, number));
            assert!(!pages.is_verified(Paged::OutEdges, number));
        }
    }

    #[test]
    fn a_page_part_built_entry_by_entry_matches_the_whole_section() {
        for count in [
            0,
            1,
            PAGE_ENTRIES - 1,
            PAGE_ENTRIES,
            PAGE_ENTRIES + 1,
            3 * PAGE_ENTRIES + 5,
        ] {
            let bytes = edges(count);
            let mut whole = Vec::new();
            append_page_table(&bytes, EDGE_ENTRY_BYTES, &mut whole);
            let mut built = Vec::new();
            let mut part = PagePart::default();
            for entry in bytes.chunks_exact(EDGE_ENTRY_BYTES) {
                part.add(entry, &mut built);
            }
            part.finish(&mut built);
            assert_eq!(built, whole, "{count} entries");
        }
    }

    #[test]
    fn a_damaged_page_fails_with_what_is_wrong_and_stays_unverified() {
        let count = PAGE_ENTRIES + 3;
        let mut out = edges(count);
        let mut table = Vec::new();
        append_page_table(&[], INDEX_ENTRY_BYTES, &mut table);
        append_page_table(&out, EDGE_ENTRY_BYTES, &mut table);
        append_page_table(&[], EDGE_ENTRY_BYTES, &mut table);
        let pages = Pages::from_page_table(&table, [0, count, 0]);
        out[EDGE_ENTRY_BYTES * PAGE_ENTRIES + 5] ^= 1;
        assert_eq!(
            pages.verify(Paged::OutEdges, 1, page(&out, 1)),
            Err(PageError::Checksum)
        );
        assert!(!pages.is_verified(Paged::OutEdges, 1));
        pages.verify(Paged::OutEdges, 0, page(&out, 0)).unwrap();
    }

    #[test]
    fn an_unknown_edge_type_is_reported_where_it_is() {
        let mut bytes = edges(10);
        let at = 3 * EDGE_ENTRY_BYTES + 32;
        bytes[at..at + 2].copy_from_slice(&999u16.to_le_bytes());
        assert_eq!(
            check_edge_types(&bytes),
            Err(PageError::UnknownEdgeType { at, value: 999 })
        );
    }

    #[test]
    fn sections_verified_whole_count_every_page_as_verified() {
        let count = PAGE_ENTRIES + 1;
        let out = edges(count);
        let pages = Pages::from_verified_sections([&[], &out, &out]);
        let id = |n: usize| BlockId::from_u128(n as u128);
        assert_eq!(
            pages.first_keys(Paged::OutEdges),
            &[id(1), id(PAGE_ENTRIES + 1)]
        );
        assert_eq!(pages.key_range(Paged::OutEdges), Some((id(1), id(count))));
        assert!(pages.is_verified(Paged::InEdges, 1));
    }
}
