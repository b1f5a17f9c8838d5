//! The names dictionary: every distinct block name of the graph, sorted,
//! in a few compact internal blocks, so that "did you mean" suggestions
//! and prefix search read the names (tens of megabytes on the Linux
//! kernel's two million blocks) instead of scanning and parsing every
//! block's metadata (24 s and 5.3 GB there).
//!
//! **Entries.** One line per (name, lookup key): the name alone when the
//! name is one of its block's name-index keys (`crate::name_index`), else
//! `name<TAB>key` with the block's qualified name as the key (an impl's
//! name `impl Display for Foo` is no key; its qualified name is). A
//! reader finds a name's blocks with one index lookup of the key. Names
//! and keys holding a control character (a tab, a newline) are left out:
//! no one types them, and without them a name's entries sort together.
//!
//! **Shards.** The sorted entries are cut into shards where an entry's
//! stable hash is 0 modulo [`SHARD_ENTRIES`] (content-defined, as rsync
//! and backup tools chunk files), so the cut points are a pure function
//! of the set of entries: an edit that adds or removes a name rewrites
//! the one shard holding it (two when the name is itself a cut point),
//! and an incremental ingest stores exactly what a fresh one does. The
//! first shard starts at `""`. Each shard is a block (id hashed from its
//! first entry, content its entries one per line, at most
//! [`MAX_SHARD_BYTES`]); the head block lists the shards' first entries,
//! one per line. All are of kind [`DICTIONARY_KIND`]: internal, never
//! shown or counted.
//!
//! A database written before the dictionary has no head block:
//! [`Dictionary::open`] answers `None` and readers fall back to a scan.

use kausal_storage::{BlockId, BlockView, ContextBlock, Snapshot, StorageError};
use serde::{Deserialize, Serialize};

use crate::hash::StableHasher;
pub use crate::meta::DICTIONARY_KIND;
use crate::meta::has_kind;
use crate::name_index::is_key_of;
use crate::naming::FileNames;
use crate::summary::Summary;

/// `source_uri` of every dictionary block (no file has it).
pub const DICTIONARY_URI: &str = "kausal:names";
/// Version of the dictionary's blocks; a reader refuses (and falls back
/// to a scan) any other.
pub const DICTIONARY_VERSION: u32 = 1;
/// An entry starts a shard when its hash is 0 modulo this: shards average
/// this many entries (about 64 KiB of names), so an edit rewrites a small
/// block and the Linux kernel's names fit in a few hundred.
pub const SHARD_ENTRIES: u64 = 4096;
/// Most content bytes of one shard. Reaching it takes thousands of names
/// of the 1 KiB maximum in one shard; entries past it are left out and
/// counted (`omitted`) rather than failing the ingest.
pub const MAX_SHARD_BYTES: usize = 4 * 1024 * 1024;

/// Separates a name from its lookup key in an entry.
const KEY_SEPARATOR: char = '\t';

/// The metadata of a dictionary block (head or shard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DictionaryMeta {
    /// Always [`DICTIONARY_KIND`] (first, so it is readable unparsed).
    pub kind: String,
    /// [`DICTIONARY_VERSION`].
    pub version: u32,
    /// `head` or `shard`.
    pub role: String,
    /// Entries held (head: in every shard).
    pub entries: u64,
    /// Entries left out past [`MAX_SHARD_BYTES`].
    pub omitted: u64,
}

const HEAD_ROLE: &str = "head";
const SHARD_ROLE: &str = "shard";

/// Id of the head block (one per database).
pub fn head_id() -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name dictionary head v1")
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// Id of the shard whose first entry is `start`.
pub fn shard_id(start: &str) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name dictionary shard v1")
        .field(start.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// True when `entry` starts a shard (see the module docs).
pub fn is_cut(entry: &str) -> bool {
    let hash = StableHasher::new()
        .field(b"kausal-ingest name dictionary cut v1")
        .field(entry.as_bytes())
        .finish();
    hash.is_multiple_of(u128::from(SHARD_ENTRIES))
}

/// True when a stored block is a dictionary block.
pub fn is_dictionary_block(metadata_json: &str) -> bool {
    has_kind(metadata_json, DICTIONARY_KIND)
}

/// The entry of a block named `name` whose index keys are those of
/// `qualified` (see the module docs); `None` for a name no one can type.
fn entry(name: &str, qualified: &str) -> Option<String> {
    let typeable = |text: &str| !text.is_empty() && !text.contains(char::is_control);
    if !typeable(name) {
        return None;
    }
    if is_key_of(name, qualified) {
        return Some(name.to_string());
    }
    typeable(qualified).then(|| format!("{name}{KEY_SEPARATOR}{qualified}"))
}

/// The dictionary entries of one file's blocks (the file's name and each
/// item's), sorted and without repeats.
pub fn file_entries(path: &str, names: &FileNames, summary: &Summary) -> Vec<Box<str>> {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let mut entries: Vec<Box<str>> = Vec::with_capacity(summary.items.len() + 1);
    // A file's name is always one of its keys.
    entries.extend(entry(file_name, file_name).map(String::into_boxed_str));
    for (item, qualified) in summary.items.iter().zip(&names.qualified) {
        entries.extend(entry(&item.name, qualified).map(String::into_boxed_str));
    }
    entries.sort_unstable();
    entries.dedup();
    entries
}

/// The name part and lookup key of a stored entry.
pub fn split_entry(entry: &str) -> (&str, &str) {
    entry.split_once(KEY_SEPARATOR).unwrap_or((entry, entry))
}

/// The shard block starting at `start` holding `entries` (sorted), cut at
/// [`MAX_SHARD_BYTES`].
pub fn shard_block<'a>(
    start: &str,
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<ContextBlock, String> {
    lines_block(shard_id(start), SHARD_ROLE, entries)
}

/// A dictionary block `id` of `role` holding `lines`, one per line, cut at
/// [`MAX_SHARD_BYTES`] (lines past it are left out and counted).
pub(crate) fn lines_block<'a>(
    id: BlockId,
    role: &str,
    lines: impl IntoIterator<Item = &'a str>,
) -> Result<ContextBlock, String> {
    let mut content = String::new();
    let (mut held, mut omitted) = (0u64, 0u64);
    for line in lines {
        if content.len() + line.len() + 1 > MAX_SHARD_BYTES {
            omitted += 1;
            continue;
        }
        if held > 0 {
            content.push('\n');
        }
        content.push_str(line);
        held += 1;
    }
    dictionary_block(id, role, held, omitted, content)
}

/// The head block listing the shards' first entries (sorted, `""` first).
pub fn head_block<'a>(
    starts: impl IntoIterator<Item = &'a str>,
    entries: u64,
    omitted: u64,
) -> Result<ContextBlock, String> {
    let content = starts.into_iter().collect::<Vec<_>>().join("\n");
    dictionary_block(head_id(), HEAD_ROLE, entries, omitted, content)
}

pub(crate) fn dictionary_block(
    id: BlockId,
    role: &str,
    entries: u64,
    omitted: u64,
    content: String,
) -> Result<ContextBlock, String> {
    let meta = DictionaryMeta {
        kind: DICTIONARY_KIND.to_string(),
        version: DICTIONARY_VERSION,
        role: role.to_string(),
        entries,
        omitted,
    };
    let json = serde_json::to_string(&meta).map_err(|error| error.to_string())?;
    Ok(ContextBlock::new(
        id,
        DICTIONARY_URI.to_string(),
        json,
        content,
    ))
}

pub(crate) fn read_meta(view: &BlockView<'_>, role: &str) -> Option<DictionaryMeta> {
    if !is_dictionary_block(view.metadata_json) {
        return None;
    }
    let meta: DictionaryMeta = serde_json::from_str(view.metadata_json).ok()?;
    (meta.version == DICTIONARY_VERSION && meta.role == role).then_some(meta)
}

/// The stored dictionary of a snapshot, for reading.
pub struct Dictionary<'s> {
    snapshot: &'s Snapshot,
    /// First entry of each shard, sorted (`""` first).
    starts: Vec<&'s str>,
    /// Entries in all shards.
    entries: u64,
}

impl<'s> Dictionary<'s> {
    /// The dictionary stored in `snapshot`; `None` when there is none (a
    /// database ingested before it existed, or by an older build since).
    pub fn open(snapshot: &'s Snapshot) -> Result<Option<Self>, StorageError> {
        let Some(head) = snapshot.find_block(head_id())? else {
            return Ok(None);
        };
        let Some(meta) = read_meta(&head, HEAD_ROLE) else {
            return Ok(None);
        };
        Ok(Some(Self {
            snapshot,
            starts: head.content.split('\n').collect(),
            entries: meta.entries,
        }))
    }

    /// Entries in the dictionary (a name with several lookup keys counts
    /// once per key).
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// True when the dictionary holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The entries of shard `index` (none when the shard is missing: a
    /// reader between an ingest's batches).
    fn shard(&self, index: usize) -> Result<Option<&'s str>, StorageError> {
        let Some(start) = self.starts.get(index) else {
            return Ok(None);
        };
        let Some(view) = self.snapshot.find_block(shard_id(start))? else {
            return Ok(Some(""));
        };
        Ok(Some(match read_meta(&view, SHARD_ROLE) {
            Some(_) => view.content,
            None => "",
        }))
    }

    /// Calls `visit(name, key)` for each entry whose name starts with
    /// `prefix`, in order, until it returns false.
    pub fn with_prefix(
        &self,
        prefix: &str,
        mut visit: impl FnMut(&'s str, &'s str) -> bool,
    ) -> Result<(), StorageError> {
        // The shard that holds `prefix`'s place: the last starting at or before it.
        let first = self
            .starts
            .partition_point(|start| *start <= prefix)
            .saturating_sub(1);
        let mut index = first;
        while let Some(shard) = self.shard(index)? {
            for entry in shard.split('\n').filter(|entry| !entry.is_empty()) {
                if entry < prefix {
                    continue;
                }
                if !entry.starts_with(prefix) {
                    return Ok(());
                }
                let (name, key) = split_entry(entry);
                if !visit(name, key) {
                    return Ok(());
                }
            }
            index += 1;
        }
        Ok(())
    }

    /// Calls `visit(name)` for each distinct name, in order, until it
    /// returns false.
    pub fn names(&self, mut visit: impl FnMut(&'s str) -> bool) -> Result<(), StorageError> {
        let mut last = None;
        for index in 0..self.starts.len() {
            let Some(shard) = self.shard(index)? else {
                break;
            };
            for entry in shard.split('\n').filter(|entry| !entry.is_empty()) {
                let (name, _) = split_entry(entry);
                if last == Some(name) {
                    continue;
                }
                last = Some(name);
                if !visit(name) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_say_how_to_look_a_name_up() {
        assert_eq!(entry("find", "crate::a::T::find").as_deref(), Some("find"));
        assert_eq!(
            entry("impl Display for Foo", "crate::a::<impl Display for Foo>").as_deref(),
            Some("impl Display for Foo\tcrate::a::<impl Display for Foo>")
        );
        assert_eq!(entry("", "x"), None);
        assert_eq!(entry("a\tb", "x::a\tb"), None);
        assert_eq!(
            split_entry("impl X\tcrate::<impl X>"),
            ("impl X", "crate::<impl X>")
        );
        assert_eq!(split_entry("find"), ("find", "find"));
    }

    #[test]
    fn a_shard_past_its_byte_cap_leaves_entries_out_and_counts_them() {
        let long = "x".repeat(1024);
        let entries: Vec<String> = (0..MAX_SHARD_BYTES / 1024 + 3)
            .map(|n| format!("{n:08}{long}"))
            .collect();
        let block = shard_block("", entries.iter().map(String::as_str)).expect("block");
        assert!(block.content.len() <= MAX_SHARD_BYTES);
        let meta: DictionaryMeta = serde_json::from_str(&block.metadata_json).expect("meta");
        assert!(meta.omitted >= 3, "{meta:?}");
        assert_eq!(meta.entries + meta.omitted, entries.len() as u64);
    }

    #[test]
    fn cuts_average_the_shard_size() {
        let cuts = (0..200_000)
            .filter(|n| is_cut(&format!("name_{n}")))
            .count();
        let expected = 200_000 / SHARD_ENTRIES as usize;
        assert!(
            cuts > expected / 2 && cuts < expected * 2,
            "{cuts} cuts, expected about {expected}"
        );
    }
}
