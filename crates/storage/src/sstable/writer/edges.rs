//! `EdgeWriter`: streams a table's out-edge section, then its in-edge
//! section, into the writer's buffer (spilled to the file as it fills),
//! building their page-table parts and the edge filter's keys as it goes;
//! then writes the bloom filter, the page table and the footer, and syncs.
//! Memory: the write buffer, the page table (20 bytes a page of 256
//! entries) and one filter key per distinct source and per distinct
//! target, never the edges themselves.

use super::super::bloom::{build_bloom, edge_filter_key};
use super::super::pages::PagePart;
use super::super::{
    EDGE_ENTRY_BYTES, EdgeEntry, EdgeKey, FOOTER_BYTES, TABLE_MAGIC, TABLE_VERSION, TableMeta,
};
use super::TableWriter;
use crate::codec::PutBytes;
use crate::{BlockId, StorageResult};

/// Writer of a table's two edge sections. Each section takes the same
/// entries, one per edge triple: the out section in strictly increasing
/// `out_key` order through [`EdgeWriter::add_out`], then, after
/// [`EdgeWriter::start_in`], the in section in strictly increasing `in_key`
/// order through [`EdgeWriter::add_in`].
pub struct EdgeWriter {
    table: TableWriter,
    /// (offset, length) of the data and index sections.
    blocks: [(u64, u64); 2],
    page_table: Vec<u8>,
    /// The page-table part of the section being written.
    part: PagePart,
    out_offset: u64,
    out_count: u64,
    /// Offset of the in section, once started.
    in_offset: Option<u64>,
    in_count: u64,
    /// Key of the section's last entry, for the order check.
    last_key: Option<EdgeKey>,
    /// Edge filter keys: each distinct out-edge source, then each distinct
    /// in-edge target (runs of the sections' orders).
    edge_keys: Vec<BlockId>,
}

impl EdgeWriter {
    pub(super) fn new(table: TableWriter, blocks: [(u64, u64); 2], page_table: Vec<u8>) -> Self {
        let out_offset = table.position();
        Self {
            table,
            blocks,
            page_table,
            part: PagePart::default(),
            out_offset,
            out_count: 0,
            in_offset: None,
            in_count: 0,
            last_key: None,
            edge_keys: Vec::new(),
        }
    }

    /// Checks the order, encodes `entry` into the buffer and its page.
    fn add(&mut self, entry: &EdgeEntry, incoming: bool) -> StorageResult<()> {
        let key = entry.section_key(incoming);
        assert!(
            self.last_key.is_none_or(|last| last < key),
            "table edges must be added in strictly increasing key order"
        );
        if self.last_key.is_none_or(|last| last.0 != key.0) {
            self.edge_keys.push(edge_filter_key(key.0, incoming));
        }
        self.last_key = Some(key);
        let start = self.table.buffer.len();
        entry.encode(incoming, &mut self.table.buffer);
        self.part
            .add(&self.table.buffer[start..], &mut self.page_table);
        self.table.spill()
    }

    /// Adds the next entry of the out section.
    pub fn add_out(&mut self, entry: &EdgeEntry) -> StorageResult<()> {
        assert!(self.in_offset.is_none(), "out edge after the in section");
        self.table.min_sequence = self.table.min_sequence.min(entry.sequence);
        self.table.max_sequence = self.table.max_sequence.max(entry.sequence);
        self.out_count += 1;
        self.add(entry, false)
    }

    /// Ends the out section and starts the in section.
    pub fn start_in(&mut self) {
        if self.in_offset.is_some() {
            return;
        }
        std::mem::take(&mut self.part).finish(&mut self.page_table);
        self.in_offset = Some(self.table.position());
        self.last_key = None;
    }

    /// Adds the next entry of the in section.
    pub fn add_in(&mut self, entry: &EdgeEntry) -> StorageResult<()> {
        assert!(self.in_offset.is_some(), "in edge before start_in");
        self.in_count += 1;
        self.add(entry, true)
    }

    /// Writes the bloom filter, the page table and the footer, syncs the
    /// file and returns the table's facts.
    pub fn finish(mut self) -> StorageResult<TableMeta> {
        self.start_in();
        std::mem::take(&mut self.part).finish(&mut self.page_table);
        assert_eq!(
            self.out_count, self.in_count,
            "both edge sections hold the same entries"
        );
        let in_offset = self.in_offset.unwrap_or(self.out_offset);
        let table = &mut self.table;
        // The bloom section holds two filters: block ids, then the edge
        // filter (every source of an out-edge and every target of an
        // in-edge).
        let mut bloom = build_bloom(&table.ids);
        bloom.extend_from_slice(&build_bloom(&self.edge_keys));
        let bloom_offset = table.position();
        let bloom_crc = crc32fast::hash(&bloom);
        table.buffer.extend_from_slice(&bloom);
        // The page table follows the bloom filter; its length follows from
        // the counts, its checksum takes the index's slot in the footer.
        let page_table_crc = crc32fast::hash(&self.page_table);
        table.buffer.extend_from_slice(&self.page_table);

        let (min_sequence, max_sequence) = if table.min_sequence == u64::MAX {
            (0, 0)
        } else {
            (table.min_sequence, table.max_sequence)
        };
        let edge_count = self.out_count;
        let edge_bytes = edge_count * EDGE_ENTRY_BYTES as u64;
        let mut footer = Vec::with_capacity(FOOTER_BYTES);
        footer.extend_from_slice(TABLE_MAGIC);
        footer.put_u32(TABLE_VERSION);
        footer.put_u32(0);
        footer.put_u64(table.id);
        footer.put_u64(table.ids.len() as u64);
        footer.put_u64(edge_count);
        footer.put_u64(min_sequence);
        footer.put_u64(max_sequence);
        let [data, index] = self.blocks;
        for (offset, len) in [
            data,
            index,
            (self.out_offset, edge_bytes),
            (in_offset, edge_bytes),
            (bloom_offset, bloom.len() as u64),
        ] {
            footer.put_u64(offset);
            footer.put_u64(len);
        }
        for crc in [page_table_crc, 0, 0, bloom_crc] {
            footer.put_u32(crc);
        }
        let footer_crc = crc32fast::hash(&footer);
        footer.put_u32(footer_crc);
        footer.put_u32(0);
        debug_assert_eq!(footer.len(), FOOTER_BYTES);
        table.buffer.extend_from_slice(&footer);
        table.write_buffer()?;
        table.file.sync_data()?;
        Ok(TableMeta {
            id: table.id,
            size: table.file_offset,
            block_count: table.ids.len() as u64,
            edge_count,
            min_sequence,
            max_sequence,
        })
    }
}
