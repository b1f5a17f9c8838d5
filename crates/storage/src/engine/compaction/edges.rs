//! The edges of a compaction, merged straight from the source tables'
//! sorted edge sections: one k-way merge per section, holding one entry
//! per source table.
//!
//! Both passes keep the same edge set. Each source table holds at most one
//! entry per edge triple, in both of its sections; a pass meets every
//! version of a triple together (the versions share the pass's key) and
//! keeps the one with the highest sequence, whichever the section. Whether
//! that version is written depends only on the version itself (`live`) and
//! on the older tables (`has_edge`, which reads them by triple), which no
//! pass changes. So the out pass writes exactly the entries the in pass
//! writes, each in its own order; the writer checks the counts agree.

use std::sync::Arc;

use crate::StorageResult;
use crate::sstable::reader::Table;
use crate::sstable::{EdgeEntry, EdgeKey};

/// Calls `write` with the newest version of each edge triple of `sources`
/// (later tables are newer), in the order of their out (or, `incoming`,
/// in) sections, skipping a dead version that no `older` table may still
/// hold a version of: nothing remains for it to hide.
pub(super) fn merge_edges(
    sources: &[Arc<Table>],
    older: &[Arc<Table>],
    incoming: bool,
    mut write: impl FnMut(&EdgeEntry) -> StorageResult<()>,
) -> StorageResult<()> {
    let head = |source: usize, position: usize| -> StorageResult<Option<(EdgeKey, EdgeEntry)>> {
        let table = &sources[source];
        if position >= table.edge_count() {
            return Ok(None);
        }
        let entry = table.edge_entry(position, incoming)?;
        Ok(Some((entry.section_key(incoming), entry)))
    };
    let mut positions = vec![0usize; sources.len()];
    let mut heads = (0..sources.len())
        .map(|source| head(source, 0))
        .collect::<StorageResult<Vec<_>>>()?;
    loop {
        // The smallest key among the heads, and its newest version.
        let mut winner: Option<(EdgeKey, EdgeEntry)> = None;
        for (key, entry) in heads.iter().flatten() {
            winner = match winner {
                Some((best, version))
                    if best < *key || (best == *key && version.sequence > entry.sequence) =>
                {
                    winner
                }
                _ => Some((*key, *entry)),
            };
        }
        let Some((key, entry)) = winner else {
            return Ok(());
        };
        for (source, slot) in heads.iter_mut().enumerate() {
            if slot.is_some_and(|(head_key, _)| head_key == key) {
                positions[source] += 1;
                *slot = head(source, positions[source])?;
            }
        }
        if entry.live || any_table(older, |table| table.has_edge(&entry))? {
            write(&entry)?;
        }
    }
}

/// Whether `test` holds for any of `tables`; the first read error ends it.
pub(super) fn any_table(
    tables: &[Arc<Table>],
    mut test: impl FnMut(&Table) -> StorageResult<bool>,
) -> StorageResult<bool> {
    for table in tables {
        if test(table)? {
            return Ok(true);
        }
    }
    Ok(false)
}
