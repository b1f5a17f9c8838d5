//! Names by length: the distinct names of the names dictionary
//! (`crate::name_dictionary`) again, grouped by their length in
//! characters, so that "did you mean" reads only the names whose length
//! could be near the query's. An edit changes a name's length by at
//! least one per edit, so a name `d` characters longer or shorter than
//! the query is at least `d` edits away: a search reads the query's own
//! length first, then one longer and one shorter, and so on outward, and
//! stops once the names it keeps are closer than the next lengths could
//! be (on the Linux kernel's 2.25 million names a ten-letter query reads
//! about a sixth of them).
//!
//! **Shards.** Within a length the names are sorted and cut into shards
//! where a name's stable hash is 0 modulo [`SHARD_ENTRIES`], as the
//! dictionary is: the cuts are a pure function of the set of names, so an
//! incremental ingest stores exactly what a fresh one does, and an edit
//! rewrites the shard holding each name it added or removed. Each length's
//! first shard starts at `""`. A shard is a block (id hashed from its
//! length and first name, content its names one per line, at most
//! [`MAX_SHARD_BYTES`]); the head block lists every shard as
//! `length<TAB>first name`, one per line, by length then name. All are of
//! kind [`DICTIONARY_KIND`] (internal, never shown or counted).
//!
//! A database written before this index has no head:
//! [`NameLengths::open`] answers `None` and readers scan the dictionary.

use kausal_storage::{BlockId, ContextBlock, Snapshot, StorageError};

use crate::hash::StableHasher;
pub use crate::meta::DICTIONARY_KIND;
pub use crate::name_dictionary::{MAX_SHARD_BYTES, SHARD_ENTRIES};
use crate::name_dictionary::{dictionary_block, lines_block, read_meta};

const HEAD_ROLE: &str = "lengths-head";
const SHARD_ROLE: &str = "lengths-shard";

/// Separates a shard's length from its first name in the head.
const LENGTH_SEPARATOR: char = '\t';

/// The length a name is grouped under: its characters (what the edit
/// distance counts).
pub fn name_length(name: &str) -> u32 {
    if name.is_ascii() {
        name.len() as u32
    } else {
        name.chars().count() as u32
    }
}

/// Id of the head block (one per database).
pub fn head_id() -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name lengths head v1")
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Id of the shard of names of `length` whose first name is `start`.
pub fn shard_id(length: u32, start: &str) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name lengths shard v1")
        .field(&length.to_le_bytes())
        .field(start.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// True when `name` starts a shard of its length (see the module docs).
pub fn is_cut(name: &str) -> bool {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name lengths cut v1")
        .field(name.as_bytes())
        .finish();
    hash.is_multiple_of(u128::from(SHARD_ENTRIES))
}

/// The first names of the shards of one length's `names` (sorted, without
/// repeats): `""`, then every cut.
pub fn starts<'a>(names: &[&'a str]) -> Vec<&'a str> {
    std::iter::once("")
        .chain(names.iter().copied().filter(|name| is_cut(name)))
        .collect()
}

/// The shard of names of `length` starting at `start`, holding `names`
/// (sorted).
pub fn shard_block<'a>(
    length: u32,
    start: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<ContextBlock, String> {
    lines_block(shard_id(length, start), SHARD_ROLE, names)
}

/// The head block listing every shard as (length, first name), in order.
pub fn head_block<'a>(
    shards: impl IntoIterator<Item = (u32, &'a str)>,
    names: u64,
) -> Result<ContextBlock, String> {
    let mut content = String::new();
    for (length, start) in shards {
        if !content.is_empty() {
            content.push('\n');
        }
        content.push_str(&format!("{length}{LENGTH_SEPARATOR}{start}"));
    }
    dictionary_block(head_id(), HEAD_ROLE, names, 0, content)
}

/// The stored names-by-length index of a snapshot, for reading.
pub struct NameLengths<'s> {
    snapshot: &'s Snapshot,
    /// Every shard as (length, first name), by length then name.
    shards: Vec<(u32, &'s str)>,
}

impl<'s> NameLengths<'s> {
    /// The index stored in `snapshot`; `None` when there is none (a
    /// database ingested before it existed).
    pub fn open(snapshot: &'s Snapshot) -> Result<Option<Self>, StorageError> {
        let Some(head) = snapshot.find_block(head_id())? else {
            return Ok(None);
        };
        if read_meta(&head, HEAD_ROLE).is_none() {
            return Ok(None);
        }
        let mut shards = Vec::new();
        for line in head.content.split('\n').filter(|line| !line.is_empty()) {
            // A line that does not parse is no shard this build wrote.
            let Some((length, start)) = line.split_once(LENGTH_SEPARATOR) else {
                continue;
            };
            if let Ok(length) = length.parse::<u32>() {
                shards.push((length, start));
            }
        }
        Ok(Some(Self { snapshot, shards }))
    }

    /// Calls `visit(name)` for each name of `length` characters, in order,
    /// until it returns false; false when it did.
    pub fn names_of_length(
        &self,
        length: u32,
        mut visit: impl FnMut(&'s str) -> bool,
    ) -> Result<bool, StorageError> {
        let first = self.shards.partition_point(|(l, _)| *l < length);
        for (_, start) in self.shards[first..]
            .iter()
            .take_while(|(l, _)| *l == length)
        {
            // A shard missing (a reader between an ingest's batches) or of
            // another role is read as empty.
            let Some(view) = self.snapshot.find_block(shard_id(length, start))? else {
                continue;
            };
            if read_meta(&view, SHARD_ROLE).is_none() {
                continue;
            }
            let mut at = 0;
            for end in memchr::memchr_iter(b'\n', view.content.as_bytes())
                .chain(std::iter::once(view.content.len()))
            {
                // Both ends follow or are a newline, or are the content's
                // ends: character boundaries.
                let name = view.content.get(at..end).unwrap_or_default();
                at = end + 1;
                if !name.is_empty() && !visit(name) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert_eq!(name_length("kmalloc"), 7);
        assert_eq!(name_length("páse"), 4);
        assert_eq!(name_length(""), 0);
    }

    #[test]
    fn shard_ids_differ_by_length_and_start() {
        assert_ne!(shard_id(3, ""), shard_id(4, ""));
        assert_ne!(shard_id(3, ""), shard_id(3, "abc"));
        assert_ne!(shard_id(3, ""), head_id());
    }

    #[test]
    fn the_first_shard_starts_at_the_empty_name_and_every_cut_starts_one() {
        let names: Vec<String> = (0..20_000).map(|n| format!("n{n:06}")).collect();
        let borrowed: Vec<&str> = names.iter().map(String::as_str).collect();
        let starts = starts(&borrowed);
        assert_eq!(starts[0], "");
        assert!(starts[1..].iter().all(|start| is_cut(start)));
        let cuts = borrowed.iter().filter(|name| is_cut(name)).count();
        assert_eq!(starts.len(), cuts + 1);
        assert!(cuts > 0, "20,000 names should hold a cut");
    }
}
