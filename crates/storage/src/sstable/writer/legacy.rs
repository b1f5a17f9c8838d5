//! The table writer's `finish` before the edge sections streamed (issue
//! 23), kept verbatim for tests that compare the bytes both write.

use super::super::bloom::{build_bloom, edge_filter_key};
use super::super::pages::append_page_table;
use super::super::{
    EDGE_ENTRY_BYTES, EdgeEntry, FOOTER_BYTES, INDEX_ENTRY_BYTES, TABLE_MAGIC, TABLE_VERSION,
    TableMeta,
};
use super::TableWriter;
use crate::codec::PutBytes;
use crate::{BlockId, StorageResult};

impl TableWriter {
    /// The buffered `finish` as it was before the edge sections streamed:
    /// whole sections encoded in memory, the edges sorted twice.
    pub(crate) fn finish_legacy(mut self, edges: &mut [EdgeEntry]) -> StorageResult<TableMeta> {
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
