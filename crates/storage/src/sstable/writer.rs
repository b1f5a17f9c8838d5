//! `TableWriter`: streams sorted blocks into a new table file, then writes
//! the index; its [`EdgeWriter`] streams both edge sections and writes the
//! bloom filter, the page table and the footer, and syncs.

use std::path::Path;
use std::sync::Arc;

use kausal_vfs::{Vfs, VfsFile};

use super::pages::append_page_table;
use super::{EdgeEntry, INDEX_ENTRY_BYTES, IndexEntry, RECORD_FIXED_BYTES, TableMeta, table_path};
use crate::codec::PutBytes;
use crate::{BlockId, BlockView, StorageResult};

mod edges;
#[cfg(test)]
mod legacy;

pub use edges::EdgeWriter;

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

    /// Ends the blocks: writes the index and returns the writer of the
    /// edge sections, which finishes the table.
    pub fn into_edges(mut self) -> StorageResult<EdgeWriter> {
        let data_len = self.position();
        let index = std::mem::take(&mut self.index);
        let index_offset = self.position();
        self.buffer.extend_from_slice(&index);
        let mut page_table = Vec::new();
        append_page_table(&index, INDEX_ENTRY_BYTES, &mut page_table);
        self.spill()?;
        Ok(EdgeWriter::new(
            self,
            [(0, data_len), (index_offset, index.len() as u64)],
            page_table,
        ))
    }

    /// Writes the remaining sections and the footer, syncs the file and
    /// returns the table's facts. `edges` holds one entry per triple.
    pub fn finish(self, edges: &mut [EdgeEntry]) -> StorageResult<TableMeta> {
        let mut writer = self.into_edges()?;
        edges.sort_unstable_by_key(EdgeEntry::out_key);
        for entry in edges.iter() {
            writer.add_out(entry)?;
        }
        writer.start_in();
        edges.sort_unstable_by_key(EdgeEntry::in_key);
        for entry in edges.iter() {
            writer.add_in(entry)?;
        }
        writer.finish()
    }
}
