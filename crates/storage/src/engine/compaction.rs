//! Size-tiered compaction: merges runs of age-adjacent tables of one size
//! tier into one table, keeping only the newest version of each block and
//! edge, and dropping a tombstone only when no older table can still hold
//! its key. Merging only adjacent tables keeps table sequence ranges
//! disjoint, which the read path relies on.

use std::ops::Range;

use crate::limits::MAX_TABLES_PER_COMPACTION;
use crate::sstable::reader::Table;
use crate::sstable::writer::TableWriter;
use crate::sstable::{EdgeEntry, IndexEntry, TableMeta, parse_table_file_name, table_path};
use crate::{StorageError, StorageResult};

use super::core::Core;

impl Core {
    /// Size tier of a table: 0 up to the base size, then one more per
    /// factor of the tier ratio.
    pub fn tier_of(&self, size: u64) -> usize {
        let mut tier = 0;
        let mut limit = self.config.compaction_base_bytes;
        while size > limit {
            tier += 1;
            limit = limit.saturating_mul(self.config.compaction_tier_ratio);
        }
        tier
    }

    /// Live table count per tier.
    pub fn tables_per_tier(&self) -> Vec<usize> {
        let mut tiers = Vec::new();
        for table in &self.tables {
            let tier = self.tier_of(table.meta().size);
            if tiers.len() <= tier {
                tiers.resize(tier + 1, 0);
            }
            tiers[tier] += 1;
        }
        tiers
    }

    /// The oldest run of adjacent same-tier tables long enough to merge.
    pub fn pick_compaction(&self) -> Option<Range<usize>> {
        let tiers: Vec<usize> = self
            .tables
            .iter()
            .map(|table| self.tier_of(table.meta().size))
            .collect();
        let mut start = 0;
        while start < tiers.len() {
            let mut end = start + 1;
            while end < tiers.len() && tiers[end] == tiers[start] {
                end += 1;
            }
            if end - start >= self.config.compaction_min_tables {
                return Some(start..end.min(start + MAX_TABLES_PER_COMPACTION));
            }
            start = end;
        }
        None
    }

    /// True when a table older than `range` may hold a version of `entry`'s block.
    fn older_block_exists(&self, range: &Range<usize>, entry: &IndexEntry) -> bool {
        self.tables[..range.start]
            .iter()
            .any(|table| table.find_entry(entry.id).is_some())
    }

    /// Merges `tables[range]` into one table and installs it.
    /// `Err((error, true))` means the manifest's state is unknown.
    pub fn merge_tables(&mut self, range: Range<usize>) -> Result<(), (StorageError, bool)> {
        debug_assert!(!range.is_empty() && range.end <= self.tables.len());
        let table_id = self.manifest.next_table_id;
        let path = table_path(&self.dir, table_id);
        let meta = match self.write_merged_table(&range, table_id) {
            Ok(meta) => meta,
            Err(error) => {
                self.remove_quietly(&path);
                return Err((error, false));
            }
        };
        let empty = meta.block_count == 0 && meta.edge_count == 0;
        let mut manifest = self.manifest.clone();
        manifest.next_table_id = table_id + 1;
        let replacement: Vec<TableMeta> = if empty { Vec::new() } else { vec![meta] };
        manifest.tables.splice(range.clone(), replacement);
        if let Err((error, manifest_unknown)) = self.store_manifest(&manifest) {
            if !manifest_unknown {
                self.remove_quietly(&path);
            }
            return Err((error, manifest_unknown));
        }
        let new_tables: Vec<Table> = if empty {
            self.remove_quietly(&path);
            Vec::new()
        } else {
            vec![Table::open(self.vfs.as_ref(), &path, table_id).map_err(|error| (error, true))?]
        };
        self.manifest = manifest;
        let old: Vec<Table> = self.tables.splice(range, new_tables).collect();
        let old_paths: Vec<_> = old.iter().map(|table| table.path().to_path_buf()).collect();
        drop(old);
        for old_path in old_paths {
            self.remove_quietly(&old_path);
        }
        self.remove_orphan_tables();
        let _ = self.vfs.sync_dir(&self.dir);
        self.counters.compactions += 1;
        Ok(())
    }

    fn write_merged_table(&self, range: &Range<usize>, table_id: u64) -> StorageResult<TableMeta> {
        let sources = &self.tables[range.clone()];
        let mut writer = TableWriter::create(&self.vfs, &self.dir, table_id)?;
        let mut positions = vec![0usize; sources.len()];
        loop {
            // The smallest id among the heads, and its newest version.
            let mut winner: Option<(usize, IndexEntry)> = None;
            for (source, table) in sources.iter().enumerate() {
                if positions[source] >= table.block_count() {
                    continue;
                }
                let entry = table.index_entry(positions[source]);
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
                break;
            };
            for (other, table) in sources.iter().enumerate() {
                if positions[other] < table.block_count()
                    && table.index_entry(positions[other]).id == entry.id
                {
                    positions[other] += 1;
                }
            }
            if entry.live {
                let record = sources[source].record(&entry)?;
                writer.add_raw_block(&entry, record)?;
            } else if self.older_block_exists(range, &entry) {
                writer.add_tombstone(entry.id, entry.sequence);
            }
        }
        let mut edges: Vec<EdgeEntry> = Vec::new();
        for table in sources {
            edges.extend((0..table.edge_count()).map(|position| table.edge_entry(position, false)));
        }
        edges.sort_unstable_by_key(|entry| (entry.out_key(), std::cmp::Reverse(entry.sequence)));
        edges.dedup_by_key(|entry| entry.edge);
        let older = &self.tables[..range.start];
        edges.retain(|entry| entry.live || older.iter().any(|table| table.has_edge(entry)));
        let meta = writer.finish(&mut edges)?;
        self.vfs.sync_dir(&self.dir)?;
        Ok(meta)
    }

    /// Removes table files that no manifest entry names (left by a crash or
    /// failure during a flush or compaction).
    pub fn remove_orphan_tables(&self) -> Vec<std::path::PathBuf> {
        let mut removed = Vec::new();
        let Ok(names) = self.vfs.list_dir(&self.dir) else {
            return removed;
        };
        for name in names {
            let Some(id) = parse_table_file_name(&name) else {
                continue;
            };
            if self.manifest.tables.iter().any(|table| table.id == id) {
                continue;
            }
            let path = self.dir.join(&name);
            if self.vfs.remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
        removed
    }
}
