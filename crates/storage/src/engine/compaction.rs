//! Size-tiered compaction: merges runs of age-adjacent tables of one size
//! tier into one table, keeping only the newest version of each block and
//! edge, and dropping a tombstone only when no older table can still hold
//! its key. Merging only adjacent tables keeps table sequence ranges
//! disjoint, which the read path relies on.

use std::ops::Range;
use std::sync::Arc;

use crate::StorageResult;
use crate::config::Config;
use crate::limits::MAX_TABLES_PER_COMPACTION;
use crate::sstable::reader::Table;
use crate::sstable::writer::TableWriter;
use crate::sstable::{IndexEntry, TableMeta};

use super::tables::TableDir;
use edges::{any_table, merge_edges};

mod edges;
#[cfg(test)]
mod tests;

/// Size tier of a table: 0 up to the base size, then one more per factor
/// of the tier ratio.
pub(crate) fn tier_of(config: &Config, size: u64) -> usize {
    let mut tier = 0;
    let mut limit = config.compaction_base_bytes;
    while size > limit {
        tier += 1;
        limit = limit.saturating_mul(config.compaction_tier_ratio);
    }
    tier
}

/// Live table count per tier.
pub(crate) fn tables_per_tier(config: &Config, tables: &[Arc<Table>]) -> Vec<usize> {
    let mut tiers = Vec::new();
    for table in tables {
        let tier = tier_of(config, table.meta().size);
        if tiers.len() <= tier {
            tiers.resize(tier + 1, 0);
        }
        tiers[tier] += 1;
    }
    tiers
}

/// The oldest run of adjacent same-tier tables long enough to merge.
pub(crate) fn pick_compaction(config: &Config, tables: &[Arc<Table>]) -> Option<Range<usize>> {
    let tiers: Vec<usize> = tables
        .iter()
        .map(|table| tier_of(config, table.meta().size))
        .collect();
    let mut start = 0;
    while start < tiers.len() {
        let mut end = start + 1;
        while end < tiers.len() && tiers[end] == tiers[start] {
            end += 1;
        }
        if end - start >= config.compaction_min_tables {
            return Some(start..end.min(start + MAX_TABLES_PER_COMPACTION));
        }
        start = end;
    }
    None
}

impl TableDir<'_> {
    /// Writes the merge of `tables[range]` to table `table_id` (synced, its
    /// directory entry too); the caller stores the manifest naming it.
    /// Blocks and edges stream from the sources' sorted sections: memory
    /// holds the writer's buffers, the block ids and the edge filter's keys,
    /// never the edges.
    pub(crate) fn write_merged_table(
        &self,
        tables: &[Arc<Table>],
        range: &Range<usize>,
        table_id: u64,
    ) -> StorageResult<TableMeta> {
        let sources = &tables[range.clone()];
        let older = &tables[..range.start];
        let mut writer = TableWriter::create(self.vfs, self.dir, table_id)?;
        merge_blocks(&mut writer, sources, older)?;
        let mut writer = writer.into_edges()?;
        merge_edges(sources, older, false, |entry| writer.add_out(entry))?;
        writer.start_in();
        merge_edges(sources, older, true, |entry| writer.add_in(entry))?;
        let meta = writer.finish()?;
        self.vfs.sync_dir(self.dir)?;
        Ok(meta)
    }
}

/// Adds the newest version of each block of `sources` to `writer`, in id
/// order: live ones, and tombstones that an `older` table may still need.
fn merge_blocks(
    writer: &mut TableWriter,
    sources: &[Arc<Table>],
    older: &[Arc<Table>],
) -> StorageResult<()> {
    let mut positions = vec![0usize; sources.len()];
    loop {
        // The smallest id among the heads, and its newest version.
        let mut winner: Option<(usize, IndexEntry)> = None;
        for (source, table) in sources.iter().enumerate() {
            if positions[source] >= table.block_count() {
                continue;
            }
            let entry = table.index_entry(positions[source])?;
            winner = match winner {
                Some((_, best))
                    if best.id < entry.id
                        || (best.id == entry.id && best.sequence > entry.sequence) =>
                {
                    winner
                }
                _ => Some((source, entry)),
            };
        }
        let Some((source, entry)) = winner else {
            return Ok(());
        };
        for (other, table) in sources.iter().enumerate() {
            if positions[other] < table.block_count()
                && table.index_entry(positions[other])?.id == entry.id
            {
                positions[other] += 1;
            }
        }
        if entry.live {
            let record = sources[source].record(&entry)?;
            writer.add_raw_block(&entry, record)?;
        } else if any_table(older, |table| Ok(table.find_entry(entry.id)?.is_some()))? {
            writer.add_tombstone(entry.id, entry.sequence);
        }
    }
}
