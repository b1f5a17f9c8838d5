//! The ingest's side of the names by length (`crate::name_lengths`): the
//! lengths an ingest's changed names fall in, their shards rebuilt from
//! the catalog's entries (written only where a fingerprint changed), and
//! the head.

use std::collections::{BTreeMap, BTreeSet};

use super::{Catalog, Plan, invalid};
use crate::error::IngestError;
use crate::name_dictionary::split_entry;
use crate::name_lengths::{head_block, head_id, name_length, shard_block, shard_id, starts};

/// The first name of each stored shard, by length.
pub(super) type LengthStarts = BTreeMap<u32, BTreeSet<Box<str>>>;

/// Plans the index's writes after the entries that `flipped` (every
/// length when the stored shards are not known); returns the shards'
/// first names by length.
pub(super) fn plan(
    catalog: &Catalog,
    flipped: &BTreeSet<Box<str>>,
    plan: &mut Plan,
) -> Result<LengthStarts, IngestError> {
    let dirty: Option<BTreeSet<u32>> = catalog.length_starts.as_ref().map(|_| {
        flipped
            .iter()
            .map(|entry| name_length(split_entry(entry).0))
            .collect()
    });
    // The names of each length rebuilt, in order: the entries are sorted
    // by name, and a name's entries are adjacent.
    let mut groups: BTreeMap<u32, Vec<&str>> = dirty
        .iter()
        .flatten()
        .map(|length| (*length, Vec::new()))
        .collect();
    let mut names = 0u64;
    let mut last = None;
    for entry in catalog.entries.keys() {
        let (name, _) = split_entry(entry);
        if last == Some(name) {
            continue;
        }
        last = Some(name);
        names += 1;
        let length = name_length(name);
        match &dirty {
            None => groups.entry(length).or_default().push(name),
            Some(_) => {
                if let Some(group) = groups.get_mut(&length) {
                    group.push(name);
                }
            }
        }
    }
    let mut all_starts = catalog.length_starts.clone().unwrap_or_default();
    for (length, names) in &groups {
        let length = *length;
        let new_starts = if names.is_empty() {
            Vec::new()
        } else {
            starts(names)
        };
        if let Some(old) = all_starts.get(&length) {
            for start in old.iter().filter(|old| !new_starts.contains(&&***old)) {
                plan.deletes.push(shard_id(length, start));
            }
        }
        let mut rest = &names[..];
        for (at, start) in new_starts.iter().enumerate() {
            let end = match new_starts.get(at + 1) {
                Some(next) => rest.partition_point(|name| name < next),
                None => rest.len(),
            };
            let block = shard_block(length, start, rest[..end].iter().copied())
                .map_err(invalid(shard_id(length, start)))?;
            plan.put(catalog, block);
            rest = &rest[end..];
        }
        if new_starts.is_empty() {
            all_starts.remove(&length);
        } else {
            all_starts.insert(length, new_starts.into_iter().map(Box::from).collect());
        }
    }
    let shards = all_starts
        .iter()
        .flat_map(|(length, starts)| starts.iter().map(|start| (*length, &**start)));
    let head = head_block(shards, names).map_err(invalid(head_id()))?;
    plan.put(catalog, head);
    Ok(all_starts)
}
