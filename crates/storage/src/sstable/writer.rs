//! `TableWriter`: streams sorted blocks into a new table file, then writes
//! the index, both edge sections, the bloom filter, the page table and the
//! footer, and syncs.

use std::path::Path;
use std::sync::Arc;

use kausal_vfs::{Vfs, VfsFile};

use super::bloom::{build_bloom, edge_filter_key};
use super::pages::append_page_table;
use super::{
    EDGE_ENTRY_BYTES, EdgeEntry, FOOTER_BYTES, INDEX_ENTRY_BYTES, IndexEntry, RECORD_FIXED_BYTES,
    TABLE_MAGIC, TABLE_VERSION, TableMeta, table_path,
};
use crate::codec::PutBytes;
use crate::{BlockId, BlockView, StorageResult};

/// Bytes buffered before a write to the file.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Builder of one table file. Blocks must be added in strictly increasing id
/// order. Dropping a writer without `finish` leaves a partial file that no
/// manifest names; the next open removes it.
pub struct TableWriter {
    id: u64,
    file: Box<dyn VfsFile>,
    buffer: Vec<u8>,
    file_offset: u64,
    index: Vec<u8>,
    ids: Vec<BlockId>,
    min_sequence: u64,
    max_sequence: u64,
}

impl TableWriter {
    /// Creates table file `id` in `dir`.
    pub fn create(vfs: &Arc<dyn Vfs>, dir: &Path, id: u64) -> StorageResult<Self> {
        let path = table_path(dir, id);
        let file = vfs.create_file(&path)?;
        Ok(Self {
            id,
            file,
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES + 64 * 1024),
            file_offset: 0,
            index: Vec::new(),
            ids: Vec::new(),
            min_sequence: u64::MAX,
            max_sequence: 0,
        })
    }

    fn note(&mut self, id: BlockId, sequence: u64) {
        assert!(
            self.ids.last().is_none_or(|last| *last < id),
            "table blocks must be added in increasing id order"
        );
        self.ids.push(id);
        self.min_sequence = self.min_sequence.min(sequence);
        self.max_sequence = self.max_sequence.max(sequence);
    }

    fn position(&self) -> u64 {
        self.file_offset + self.buffer.len() as u64
    }

    fn spill(&mut self) -> StorageResult<()> {
        if self.buffer.len() >= WRITE_BUFFER_BYTES {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> StorageResult<()> {
        if !self.buffer.is_empty() {
            self.file.write_at(self.file_offset, &self.buffer)?;
            self.file_offset += self.buffer.len() as u64;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Adds a live block.
    pub fn add_block(&mut self, block: &BlockView<'_>) -> StorageResult<()> {
        self.note(block.id, block.sequence);
        let offset = self.position();
        let len = RECORD_FIXED_BYTES
            + block.source_uri.len()
            + block.metadata_json.len()
            + block.content.len();
        let start = self.buffer.len();
        self.buffer.put_u32(0);
        self.buffer.put_u32((len - 8) as u32);
        self.buffer.put_u64(block.sequence);
        self.buffer.put_id(block.id);
        self.buffer.put_u32(block.source_uri.len() as u32);
        self.buffer.put_u32(block.metadata_json.len() as u32);
        self.buffer.put_u32(block.content.len() as u32);
        self.buffer.extend_from_slice(block.source_uri.as_bytes());
        self.buffer
            .extend_from_slice(block.metadata_json.as_bytes());
        self.buffer.extend_from_slice(block.content.as_bytes());
        let crc = crc32fast::hash(&self.buffer[start + 4..]);
        self.buffer[start..start + 4].copy_from_slice(&crc.to_le_bytes());
        IndexEntry {
            id: block.id,
            sequence: block.sequence,
            offset,
            len: len as u32,
            live: true,
        }
        .encode(&mut self.index);
        self.spill()
    }

    /// Adds a verified data record copied from another table (compaction).
    pub fn add_raw_block(&mut self, entry: &IndexEntry, record: &[u8]) -> StorageResult<()> {
        debug_assert_eq!(record.len(), entry.len as usize);
        self.note(entry.id, entry.sequence);
        let offset = self.position();
        self.buffer.extend_from_slice(record);
        IndexEntry { offset, ..*entry }.encode(&mut self.index);
        self.spill()
    }

    /// Adds a tombstone.
    pub fn add_tombstone(&mut self, id: BlockId, sequence: u64) {
        self.note(id, sequence);
        IndexEntry {
            id,
            sequence,
            offset: 0,
            len: 0,
            live: false,
        }
        .encode(&mut self.index);
    }

    /// Writes the remaining sections and the footer, syncs the file and
    /// returns the table's facts. `edges` holds one entry per triple.
    pub fn finish(mut self, edges: &mut [EdgeEntry]) -> StorageResult<TableMeta> {
        for entry in edges.iter() {
            self.min_sequence = self.min_sequence.min(entry.sequence);
            self.max_sequence = self.max_sequence.max(entry.sequence);
        }
        let data_len = self.position();
        let index = std::mem::take(&mut self.index);
        let index_offset = self.position();
        self.buffer.extend_from_slice(&index);
        let mut page_table = Vec::new();
        append_page_table(&index, INDEX_ENTRY_BYTES, &mut page_table);
        self.spill()?;

        let mut section = Vec::with_capacity(edges.len() * EDGE_ENTRY_BYTES);
        edges.sort_unstable_by_key(EdgeEntry::out_key);
        debug_assert!(edges.windows(2).all(|w| w[0].out_key() != w[1].out_key()));
        for entry in edges.iter() {
            entry.encode(false, &mut section);
        }
        let out_offset = self.position();
        append_page_table(&section, EDGE_ENTRY_BYTES, &mut page_table);
        self.buffer.extend_from_slice(&section);
        self.spill()?;

        section.clear();
        edges.sort_unstable_by_key(EdgeEntry::in_key);
        for entry in edges.iter() {
            entry.encode(true, &mut section);
        }
        let in_offset = self.position();
        append_page_table(&section, EDGE_ENTRY_BYTES, &mut page_table);
        self.buffer.extend_from_slice(&section);
        self.spill()?;

        // The bloom section holds two filters: block ids, then the edge
        // filter (every source of an out-edge and every target of an
        // in-edge; `edges` is sorted by target here, so distinct targets
        // are runs).
        let mut bloom = build_bloom(&self.ids);
        let mut edge_keys: Vec<BlockId> = Vec::new();
        for entry in edges.iter() {
            let key = edge_filter_key(entry.edge.target, true);
            if edge_keys.last() != Some(&key) {
                edge_keys.push(key);
            }
        }
        let mut sources: Vec<BlockId> = edges.iter().map(|entry| entry.edge.source).collect();
        sources.sort_unstable();
        sources.dedup();
        edge_keys.extend(sources.iter().map(|id| edge_filter_key(*id, false)));
        bloom.extend_from_slice(&build_bloom(&edge_keys));
        let bloom_offset = self.position();
        let bloom_crc = crc32fast::hash(&bloom);
        self.buffer.extend_from_slice(&bloom);
        // The page table follows the bloom filter; its length follows from
        // the counts, its checksum takes the index's slot in the footer.
        let page_table_crc = crc32fast::hash(&page_table);
        self.buffer.extend_from_slice(&page_table);

        let (min_sequence, max_sequence) = if self.min_sequence == u64::MAX {
            (0, 0)
        } else {
            (self.min_sequence, self.max_sequence)
        };
        let edge_bytes = (edges.len() * EDGE_ENTRY_BYTES) as u64;
        let mut footer = Vec::with_capacity(FOOTER_BYTES);
        footer.extend_from_slice(TABLE_MAGIC);
        footer.put_u32(TABLE_VERSION);
        footer.put_u32(0);
        footer.put_u64(self.id);
        footer.put_u64(self.ids.len() as u64);
        footer.put_u64(edges.len() as u64);
        footer.put_u64(min_sequence);
        footer.put_u64(max_sequence);
        for (offset, len) in [
            (0, data_len),
            (index_offset, (self.ids.len() * INDEX_ENTRY_BYTES) as u64),
            (out_offset, edge_bytes),
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
        self.buffer.extend_from_slice(&footer);
        self.write_buffer()?;
        self.file.sync_data()?;
        Ok(TableMeta {
            id: self.id,
            size: self.file_offset,
            block_count: self.ids.len() as u64,
            edge_count: edges.len() as u64,
            min_sequence,
            max_sequence,
        })
    }
}
