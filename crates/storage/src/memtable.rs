//! The memtable: the newest writes, indexed for point lookups (blocks) and
//! adjacency walks (edges), with block bytes in a shared arena.
//!
//! Readers on other threads hold snapshots of a memtable while the writer
//! keeps changing it, and a lookup must cost one probe of a flat hash
//! table, so each index has two parts:
//!
//! * a *flat* part: open-addressing hash tables ([`flat::FlatTable`])
//!   behind one `Arc`, one probe (one cache miss) per lookup. Cloning a
//!   memtable shares it. The writer changes it in place while nothing
//!   else holds it (`Arc::get_mut`), which is the common case: the engine
//!   drops its stale published version at the first write after a
//!   snapshot, so the flat part is shared only while a reader still holds
//!   a snapshot.
//! * a *delta*: persistent hash maps (`imbl`'s HAMT) with the entries
//!   written while the flat part was shared, newer than the flat part's
//!   for the same key; cloning it is O(1) and a clone is a frozen view.
//!   Empty most of the time, and then skipped by reads. The first write
//!   that finds the flat part unshared again moves the delta into it; a
//!   delta that grows to a quarter of the flat part while it stays shared
//!   is folded into a copy of it (amortized: each copy is paid for by that
//!   many writes).
//!
//! Block bytes go to a [`SharedArena`] that only grows, so a view's handles
//! stay valid for as long as any clone holds the arena; a memtable is never
//! cleared, a flushed one is dropped and a new one started.
//!
//! Edges live twice, in an adjacency list per source and one per target,
//! each sorted by (edge type, block at the other end) so a lookup returns
//! them without sorting; lists are shared behind `Arc` and copied on the
//! first change while shared. A node's list in the delta is its whole list.

mod flat;

use std::sync::Arc;

use imbl::GenericHashMap;
use imbl::shared_ptr::DefaultSharedPtr;
use kausal_memory::{ArenaStats, SharedArena, StrTripleHandle};
use rustc_hash::FxBuildHasher;

use crate::{BlockId, BlockView, EdgeType, GraphEdge, StorageResult};
use flat::FlatTable;

type PersistentMap<K, V> = GenericHashMap<K, V, FxBuildHasher, DefaultSharedPtr>;
/// A node's list in the delta, shared with the snapshots that cloned it.
type EdgeList = Arc<Vec<MemEdge>>;

/// The memtable's newest entry for a block id.
#[derive(Debug, Clone, Copy)]
pub struct MemBlock {
    pub sequence: u64,
    /// The block's three fields in the arena; `None` for a tombstone.
    stored: Option<StrTripleHandle>,
}

impl MemBlock {
    /// True for a live block, false for a tombstone.
    pub fn is_live(&self) -> bool {
        self.stored.is_some()
    }
}

/// The memtable's newest entry for an edge triple.
#[derive(Debug, Clone, Copy)]
pub struct MemEdge {
    pub edge: GraphEdge,
    pub sequence: u64,
    /// False for a tombstone.
    pub live: bool,
}

/// Sort key of an adjacency list entry: (edge type, block at the other end).
fn list_key(edge: &GraphEdge, incoming: bool) -> (EdgeType, BlockId) {
    let other = if incoming { edge.source } else { edge.target };
    (edge.edge_type, other)
}

/// Result of a memtable lookup: the block or its tombstone.
#[derive(Debug, Clone, Copy)]
pub enum MemLookup<'a> {
    Live(BlockView<'a>),
    Deleted,
}

/// The flat part of the indexes: one probe per lookup.
#[derive(Debug, Clone, Default)]
struct Flat {
    blocks: FlatTable<MemBlock>,
    /// Lists inline in the slots (not behind an `Arc`): a lookup reads the
    /// slot, then the list, and no reference count between them.
    outgoing: FlatTable<Vec<MemEdge>>,
    incoming: FlatTable<Vec<MemEdge>>,
}

impl Flat {
    fn len(&self) -> usize {
        self.blocks.len() + self.outgoing.len() + self.incoming.len()
    }

    fn lists_mut(&mut self, incoming: bool) -> &mut FlatTable<Vec<MemEdge>> {
        if incoming {
            &mut self.incoming
        } else {
            &mut self.outgoing
        }
    }

    fn lists(&self, incoming: bool) -> &FlatTable<Vec<MemEdge>> {
        if incoming {
            &self.incoming
        } else {
            &self.outgoing
        }
    }
}

/// Entries written while the flat part was shared: newer than the flat
/// part's for the same key. A list here is the node's whole list.
#[derive(Debug, Clone, Default)]
struct Delta {
    blocks: PersistentMap<BlockId, MemBlock>,
    outgoing: PersistentMap<BlockId, EdgeList>,
    incoming: PersistentMap<BlockId, EdgeList>,
}

impl Delta {
    fn len(&self) -> usize {
        self.blocks.len() + self.outgoing.len() + self.incoming.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lists(&self, incoming: bool) -> &PersistentMap<BlockId, EdgeList> {
        if incoming {
            &self.incoming
        } else {
            &self.outgoing
        }
    }

    // The delta's probes stay out of line: inlined into a read path, the
    // compiler computed their hash ahead of the emptiness check on every
    // read, delta or not (issue 26: a table lookup behind an empty
    // memtable paid it).
    #[inline(never)]
    fn block(&self, id: BlockId) -> Option<&MemBlock> {
        self.blocks.get(&id)
    }

    #[inline(never)]
    fn list(&self, id: BlockId, incoming: bool) -> Option<&[MemEdge]> {
        self.lists(incoming).get(&id).map(|list| list.as_slice())
    }

    /// Moves every entry into `flat`, replacing the older ones there.
    fn drain_into(self, flat: &mut Flat) {
        flat.blocks.extend(self.blocks);
        let unshared = |(id, list)| (id, Arc::unwrap_or_clone(list));
        flat.outgoing
            .extend(self.outgoing.into_iter().map(unshared));
        flat.incoming
            .extend(self.incoming.into_iter().map(unshared));
    }
}

/// A delta is folded into a copy of a shared flat part once it holds this
/// many entries, or a quarter of the flat part's if more: lookups in it
/// stay cheap, and each copy is paid for by that many writes.
/// (Eight under test, so that the property test below folds often.)
const FOLD_MIN_ENTRIES: usize = if cfg!(test) { 8 } else { 4096 };
const FOLD_FLAT_DIVISOR: usize = 4;

/// The in-memory write buffer; `clone` is an O(1) frozen view.
#[derive(Debug, Clone)]
pub struct Memtable {
    arena: Arc<SharedArena>,
    flat: Arc<Flat>,
    delta: Delta,
    block_count: usize,
    edge_count: usize,
    /// Nodes with an outgoing list plus nodes with an incoming one.
    list_count: usize,
    /// Bytes accounted: payload plus index entries.
    bytes: usize,
    min_sequence: u64,
    max_sequence: u64,
}

/// Accounted bytes of one block entry and of one edge (both lists).
const BLOCK_ENTRY_BYTES: usize = std::mem::size_of::<(BlockId, MemBlock)>() + 16;
const EDGE_ENTRY_BYTES: usize = 2 * std::mem::size_of::<MemEdge>();
const NODE_ENTRY_BYTES: usize = std::mem::size_of::<(BlockId, Vec<MemEdge>)>() + 48;

impl Memtable {
    /// An empty memtable whose arena reserves `budget_bytes` up front.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            arena: Arc::new(SharedArena::with_capacity(budget_bytes)),
            flat: Arc::default(),
            delta: Delta::default(),
            block_count: 0,
            edge_count: 0,
            list_count: 0,
            bytes: 0,
            min_sequence: u64::MAX,
            max_sequence: 0,
        }
    }

    fn note_sequence(&mut self, sequence: u64) {
        debug_assert!(sequence > 0, "sequence 0 is never assigned");
        self.min_sequence = self.min_sequence.min(sequence);
        self.max_sequence = self.max_sequence.max(sequence);
    }

    /// The flat part, writable in place when no clone shares it, with the
    /// delta moved into it first (its entries are the newer ones).
    fn flat_in_place(&mut self) -> Option<&mut Flat> {
        let flat = Arc::get_mut(&mut self.flat)?;
        if !self.delta.is_empty() {
            std::mem::take(&mut self.delta).drain_into(flat);
        }
        Some(flat)
    }

    /// Folds a delta grown large into a copy of the shared flat part.
    fn fold_if_due(&mut self) {
        let due = FOLD_MIN_ENTRIES.max(self.flat.len() / FOLD_FLAT_DIVISOR);
        if self.delta.len() >= due {
            let mut flat = Flat::clone(&self.flat);
            std::mem::take(&mut self.delta).drain_into(&mut flat);
            self.flat = Arc::new(flat);
        }
    }

    /// Stores a block version (a newer sequence replaces an older one).
    pub fn put_block(
        &mut self,
        sequence: u64,
        id: BlockId,
        source_uri: &str,
        metadata_json: &str,
        content: &str,
    ) {
        let stored = self
            .arena
            .store_str_triple([source_uri, metadata_json, content]);
        self.bytes += stored.len();
        self.upsert_block(
            id,
            MemBlock {
                sequence,
                stored: Some(stored),
            },
        );
    }

    /// Stores a tombstone for `id`.
    pub fn delete_block(&mut self, sequence: u64, id: BlockId) {
        self.upsert_block(
            id,
            MemBlock {
                sequence,
                stored: None,
            },
        );
    }

    fn upsert_block(&mut self, id: BlockId, entry: MemBlock) {
        self.note_sequence(entry.sequence);
        let previous = match self.flat_in_place() {
            Some(flat) => flat.blocks.insert(id, entry),
            None => {
                let previous = self.delta.blocks.insert(id, entry);
                previous.or_else(|| self.flat.blocks.get(&id).copied())
            }
        };
        match previous {
            Some(previous) => {
                debug_assert!(previous.sequence <= entry.sequence, "sequences only grow");
            }
            None => {
                self.block_count += 1;
                self.bytes += BLOCK_ENTRY_BYTES;
            }
        }
        self.fold_if_due();
    }

    /// Makes room for `blocks` block entries in all (see
    /// [`FlatTable::reserve`]), keeping the block index's slots within
    /// `max_bytes`. Does nothing while a snapshot shares the flat part.
    pub fn reserve_blocks(&mut self, blocks: usize, max_bytes: usize) {
        let fit = max_bytes / FlatTable::<MemBlock>::SLOT_BYTES.max(1);
        if fit == 0 {
            return;
        }
        // The largest power of two of slots within `max_bytes`, at 3/4.
        let max_slots = 1usize << (usize::BITS - 1 - fit.leading_zeros());
        let blocks = blocks.min(max_slots / 4 * 3);
        if let Some(flat) = self.flat_in_place() {
            flat.blocks.reserve(blocks);
        }
    }

    /// Turns a memtable entry into a view of its bytes; `None` for a tombstone.
    #[inline]
    pub fn view(&self, id: BlockId, entry: &MemBlock) -> StorageResult<Option<BlockView<'_>>> {
        let Some(stored) = entry.stored else {
            return Ok(None);
        };
        // Splitting by recorded lengths reads no byte of the block itself,
        // so a lookup touches only the index entry.
        let [source_uri, metadata_json, content] = self.arena.resolve_str_triple(stored)?;
        Ok(Some(BlockView {
            id,
            sequence: entry.sequence,
            source_uri,
            metadata_json,
            content,
        }))
    }

    #[inline]
    fn block_entry(&self, id: BlockId) -> Option<&MemBlock> {
        // An empty delta (the common case) costs no probe.
        if !self.delta.blocks.is_empty()
            && let Some(entry) = self.delta.block(id)
        {
            return Some(entry);
        }
        self.flat.blocks.get(&id)
    }

    /// The newest entry (block or tombstone) for `id` held here.
    #[inline]
    pub fn entry(&self, id: BlockId) -> Option<MemBlock> {
        self.block_entry(id).copied()
    }

    /// The newest version of `id` held here, if any.
    #[inline]
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<MemLookup<'_>>> {
        let Some(entry) = self.block_entry(id) else {
            return Ok(None);
        };
        Ok(Some(match self.view(id, entry)? {
            Some(view) => MemLookup::Live(view),
            None => MemLookup::Deleted,
        }))
    }

    /// Stores an edge version: `live` false for a tombstone.
    pub fn put_edge(&mut self, sequence: u64, edge: GraphEdge, live: bool) {
        self.note_sequence(sequence);
        let entry = MemEdge {
            edge,
            sequence,
            live,
        };
        let added = self.upsert_edge(edge.source, entry, false);
        self.upsert_edge(edge.target, entry, true);
        if added {
            self.edge_count += 1;
            self.bytes += EDGE_ENTRY_BYTES;
        }
        self.fold_if_due();
    }

    /// Inserts or replaces `entry` in `node`'s list in one direction; true
    /// when the triple is new.
    fn upsert_edge(&mut self, node: BlockId, entry: MemEdge, incoming: bool) -> bool {
        let list = match self.flat_in_place() {
            Some(flat) => flat.lists_mut(incoming).get_or_insert_with(node, Vec::new),
            None => {
                let shared = self.flat.lists(incoming).get(&node);
                let lists = if incoming {
                    &mut self.delta.incoming
                } else {
                    &mut self.delta.outgoing
                };
                let list = lists
                    .entry(node)
                    .or_insert_with(|| Arc::new(shared.cloned().unwrap_or_default()));
                Arc::make_mut(list)
            }
        };
        // A list is never empty once it exists (tombstones stay in it).
        let new_node = list.is_empty();
        let added = upsert_list(list, entry, incoming);
        if new_node {
            self.list_count += 1;
        }
        added
    }

    #[inline]
    fn list(&self, id: BlockId, incoming: bool) -> &[MemEdge] {
        if !self.delta.lists(incoming).is_empty()
            && let Some(list) = self.delta.list(id, incoming)
        {
            return list;
        }
        self.flat
            .lists(incoming)
            .get(&id)
            .map_or(&[], |list| list.as_slice())
    }

    /// Every edge entry (live or tombstone) leaving `id`, sorted by (edge
    /// type, target).
    #[inline]
    pub fn outgoing(&self, id: BlockId) -> &[MemEdge] {
        self.list(id, false)
    }

    /// Every edge entry (live or tombstone) entering `id`, sorted by (edge
    /// type, source).
    #[inline]
    pub fn incoming(&self, id: BlockId) -> &[MemEdge] {
        self.list(id, true)
    }

    /// Block entries sorted by id (for flushes and scans).
    pub fn sorted_blocks(&self) -> Vec<(BlockId, MemBlock)> {
        let delta = &self.delta.blocks;
        let mut entries: Vec<_> = self
            .flat
            .blocks
            .iter()
            .filter(|(id, _)| delta.is_empty() || !delta.contains_key(*id))
            .chain(delta.iter())
            .map(|(id, entry)| (*id, *entry))
            .collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries
    }

    /// Every edge entry, grouped by source.
    pub fn edges(&self) -> impl Iterator<Item = &MemEdge> {
        let delta = &self.delta.outgoing;
        self.flat
            .outgoing
            .iter()
            .filter(|(id, _)| delta.is_empty() || !delta.contains_key(*id))
            .map(|(_, list)| list.as_slice())
            .chain(delta.values().map(|list| list.as_slice()))
            .flatten()
    }

    /// True when nothing has been written to this memtable.
    pub fn is_empty(&self) -> bool {
        self.block_count == 0 && self.edge_count == 0
    }

    /// Number of block entries (tombstones included).
    pub fn block_count(&self) -> usize {
        self.block_count
    }

    /// Number of edge entries (tombstones included).
    pub fn edge_count(&self) -> usize {
        self.edge_count
    }

    /// Smallest and largest sequence held, or `None` when empty.
    pub fn sequence_range(&self) -> Option<(u64, u64)> {
        (!self.is_empty()).then_some((self.min_sequence, self.max_sequence))
    }

    /// Bytes the memtable accounts for: payload plus index entries.
    pub fn approximate_bytes(&self) -> usize {
        self.bytes + self.list_count * NODE_ENTRY_BYTES
    }

    /// The arena's accounting figures.
    pub fn arena_stats(&self) -> ArenaStats {
        self.arena.stats()
    }
}

/// Inserts or replaces `entry` in a sorted list; true when the triple is
/// new. Appending in key order (the common case: a file's edges are
/// written in order) costs no search; otherwise a binary search and an
/// insert.
fn upsert_list(list: &mut Vec<MemEdge>, entry: MemEdge, incoming: bool) -> bool {
    let key = list_key(&entry.edge, incoming);
    match list.last() {
        Some(last) if list_key(&last.edge, incoming) < key => {
            list.push(entry);
            return true;
        }
        None => {
            list.push(entry);
            return true;
        }
        _ => {}
    }
    match list.binary_search_by_key(&key, |existing| list_key(&existing.edge, incoming)) {
        Ok(position) => {
            debug_assert!(
                list[position].sequence <= entry.sequence,
                "sequences only grow"
            );
            list[position] = entry;
            false
        }
        Err(position) => {
            list.insert(position, entry);
            true
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::EdgeType;

    fn id(n: u128) -> BlockId {
        BlockId::from_u128(n)
    }

    #[test]
    fn flat_slots_hold_no_more_than_the_entry() {
        // A slot's `Option` uses a niche: no tag word added per entry.
        assert_eq!(
            std::mem::size_of::<Option<(BlockId, MemBlock)>>(),
            std::mem::size_of::<(BlockId, MemBlock)>()
        );
        assert_eq!(
            std::mem::size_of::<Option<(BlockId, Vec<MemEdge>)>>(),
            std::mem::size_of::<(BlockId, Vec<MemEdge>)>()
        );
    }

    /// Recovery sizes the block index from an estimate: never beyond the
    /// memory it is given, and never losing an entry.
    #[test]
    fn reserve_blocks_stays_within_its_bytes() {
        let slot = FlatTable::<MemBlock>::SLOT_BYTES;
        let mut memtable = Memtable::new(1 << 20);
        for n in 1..=100u128 {
            memtable.put_block(n as u64, id(n), "a.rs", "{}", "x");
        }
        memtable.reserve_blocks(1_000_000, 1 << 20);
        let slots = memtable.flat.blocks.slot_count();
        assert!(slots * slot <= 1 << 20, "{slots} slots");
        assert!(
            slots * slot * 2 > 1 << 20,
            "the largest power of two within"
        );
        memtable.reserve_blocks(usize::MAX, 0);
        memtable.reserve_blocks(usize::MAX, 1 << 20);
        memtable.reserve_blocks(10, usize::MAX);
        assert_eq!(memtable.flat.blocks.slot_count(), slots);
        assert_eq!(memtable.block_count(), 100);
        assert!((1..=100u128).all(|n| memtable.find_block(id(n)).unwrap().is_some()));
    }

    #[test]
    fn blocks_newest_version_and_tombstones() {
        let mut memtable = Memtable::new(1 << 16);
        memtable.put_block(1, id(1), "a.rs", "{}", "one");
        memtable.put_block(2, id(1), "a.rs", r#"{"v":2}"#, "two");
        memtable.put_block(3, id(2), "b.rs", "{}", "");
        match memtable.find_block(id(1)).unwrap().unwrap() {
            MemLookup::Live(view) => {
                assert_eq!(view.sequence, 2);
                assert_eq!(view.source_uri, "a.rs");
                assert_eq!(view.metadata_json, r#"{"v":2}"#);
                assert_eq!(view.content, "two");
            }
            MemLookup::Deleted => panic!("block 1 is live"),
        }
        memtable.delete_block(4, id(2));
        assert!(matches!(
            memtable.find_block(id(2)).unwrap(),
            Some(MemLookup::Deleted)
        ));
        assert!(memtable.find_block(id(3)).unwrap().is_none());
        assert_eq!(memtable.sequence_range(), Some((1, 4)));
        let sorted: Vec<_> = memtable.sorted_blocks().iter().map(|(id, _)| *id).collect();
        assert_eq!(sorted, vec![id(1), id(2)]);
    }

    #[test]
    fn edges_adjacency_and_overwrite() {
        let mut memtable = Memtable::new(1 << 16);
        let calls = GraphEdge::new(id(1), id(2), EdgeType::Calls);
        let imports = GraphEdge::new(id(1), id(3), EdgeType::Imports);
        let back = GraphEdge::new(id(3), id(2), EdgeType::References);
        memtable.put_edge(1, calls, true);
        memtable.put_edge(2, imports, true);
        memtable.put_edge(3, back, true);
        memtable.put_edge(4, calls, false);
        // Lists come sorted by (edge type, other end): no sort here.
        let out: Vec<_> = memtable
            .outgoing(id(1))
            .iter()
            .map(|node| (node.edge, node.live, node.sequence))
            .collect();
        assert_eq!(out, vec![(imports, true, 2), (calls, false, 4)]);
        let incoming: Vec<_> = memtable
            .incoming(id(2))
            .iter()
            .map(|node| node.edge)
            .collect();
        assert_eq!(incoming, vec![back, calls]);
        assert_eq!(memtable.edge_count(), 3);
    }

    #[test]
    fn a_clone_is_a_frozen_view() {
        let mut memtable = Memtable::new(1 << 16);
        memtable.put_block(1, id(1), "a.rs", "{}", "one");
        memtable.put_edge(2, GraphEdge::new(id(1), id(2), EdgeType::Calls), true);
        let view = memtable.clone();
        memtable.put_block(3, id(1), "a.rs", "{}", "two");
        memtable.delete_block(4, id(3));
        memtable.put_edge(5, GraphEdge::new(id(1), id(2), EdgeType::Calls), false);
        memtable.put_edge(6, GraphEdge::new(id(1), id(0), EdgeType::Calls), true);
        match view.find_block(id(1)).unwrap().unwrap() {
            MemLookup::Live(block) => assert_eq!(block.content, "one"),
            MemLookup::Deleted => panic!("live in the view"),
        }
        assert!(view.find_block(id(3)).unwrap().is_none());
        assert_eq!(view.outgoing(id(1)).len(), 1);
        assert!(view.outgoing(id(1))[0].live);
        assert_eq!(view.sequence_range(), Some((1, 2)));
        match memtable.find_block(id(1)).unwrap().unwrap() {
            MemLookup::Live(block) => assert_eq!(block.content, "two"),
            MemLookup::Deleted => panic!("live"),
        }
        let now: Vec<_> = memtable
            .outgoing(id(1))
            .iter()
            .map(|e| (e.edge.target, e.live))
            .collect();
        assert_eq!(now, vec![(id(0), true), (id(2), false)]);
    }

    #[test]
    fn out_of_order_edges_keep_lists_sorted() {
        let mut memtable = Memtable::new(1 << 16);
        for (sequence, target) in [5u128, 1, 9, 3, 7, 1].into_iter().enumerate() {
            let edge = GraphEdge::new(id(100), id(target), EdgeType::Calls);
            memtable.put_edge(sequence as u64 + 1, edge, true);
        }
        let targets: Vec<_> = memtable
            .outgoing(id(100))
            .iter()
            .map(|e| e.edge.target)
            .collect();
        assert_eq!(targets, vec![id(1), id(3), id(5), id(7), id(9)]);
        assert_eq!(memtable.edge_count(), 5);
    }

    #[test]
    fn accounting_counts_payload_and_entries() {
        let mut memtable = Memtable::new(1 << 16);
        assert_eq!(memtable.approximate_bytes(), 0);
        assert!(memtable.is_empty());
        memtable.put_block(1, id(1), "u", "{}", &"x".repeat(1000));
        assert!(memtable.approximate_bytes() >= 1003);
        memtable.put_edge(2, GraphEdge::new(id(1), id(2), EdgeType::Calls), true);
        assert!(!memtable.is_empty());
        assert_eq!(memtable.edges().count(), 1);
        assert_eq!(memtable.arena_stats().used_bytes, 1003);
    }

    /// What a memtable (or a frozen clone of it) must answer: blocks by id
    /// and each node's lists, compared in full.
    #[derive(Clone, Default)]
    struct Model {
        blocks: std::collections::BTreeMap<u128, (u64, Option<String>)>,
        edges: std::collections::BTreeMap<(u128, u128, u16), (u64, bool)>,
    }

    fn check(memtable: &Memtable, model: &Model, ids: u128) {
        for n in 1..=ids {
            let found = match memtable.find_block(id(n)).unwrap() {
                None => None,
                Some(MemLookup::Deleted) => Some(None),
                Some(MemLookup::Live(view)) => Some(Some(view.content.to_owned())),
            };
            let expected = model.blocks.get(&n).map(|(_, content)| content.clone());
            assert_eq!(found, expected, "block {n}");
            for incoming in [false, true] {
                let list: Vec<_> = memtable
                    .list(id(n), incoming)
                    .iter()
                    .map(|e| (e.edge, e.sequence, e.live))
                    .collect();
                let mut expected: Vec<_> = model
                    .edges
                    .iter()
                    .filter(|((source, target, _), _)| {
                        (if incoming { *target } else { *source }) == n
                    })
                    .map(|(&(source, target, kind), &(sequence, live))| {
                        let edge_type = EdgeType::from_u16(kind).unwrap();
                        (
                            GraphEdge::new(id(source), id(target), edge_type),
                            sequence,
                            live,
                        )
                    })
                    .collect();
                expected.sort_by_key(|(edge, _, _)| list_key(edge, incoming));
                assert_eq!(list, expected, "node {n}, incoming {incoming}");
            }
        }
        assert_eq!(memtable.block_count(), model.blocks.len());
        assert_eq!(memtable.edge_count(), model.edges.len());
        let mut sorted: Vec<_> = memtable
            .sorted_blocks()
            .iter()
            .map(|(id, e)| (*id, e.sequence))
            .collect();
        let expected: Vec<_> = model
            .blocks
            .iter()
            .map(|(n, (seq, _))| (id(*n), *seq))
            .collect();
        assert_eq!(sorted, expected);
        sorted.clear();
        assert_eq!(memtable.edges().count(), model.edges.len());
    }

    proptest::proptest! {
        /// Clones taken at any point (snapshots) keep answering as of
        /// their point while the writer goes on, through the delta, its
        /// moves into the flat maps and its folds into copies of them.
        #[test]
        fn clones_answer_as_of_their_point(
            ops in proptest::collection::vec((0u8..8, 1u128..=12, 1u128..=12, 1u16..=3), 1..300),
        ) {
            let ids = 12;
            let mut memtable = Memtable::new(1 << 16);
            let mut model = Model::default();
            let mut views: Vec<(Memtable, Model)> = Vec::new();
            for (sequence, (kind, a, b, edge_kind)) in ops.into_iter().enumerate() {
                let sequence = sequence as u64 + 1;
                let edge_type = EdgeType::from_u16(edge_kind).unwrap();
                match kind {
                    0 | 1 => {
                        let content = format!("{a}@{sequence}");
                        memtable.put_block(sequence, id(a), "u", "{}", &content);
                        model.blocks.insert(a, (sequence, Some(content)));
                    }
                    2 => {
                        memtable.delete_block(sequence, id(a));
                        model.blocks.insert(a, (sequence, None));
                    }
                    3 | 4 => {
                        memtable.put_edge(sequence, GraphEdge::new(id(a), id(b), edge_type), kind == 3);
                        model.edges.insert((a, b, edge_kind), (sequence, kind == 3));
                    }
                    // A snapshot taken, kept, or one dropped (the writer's
                    // maps become unshared again).
                    5 | 6 => views.push((memtable.clone(), model.clone())),
                    _ => {
                        views.pop();
                    }
                }
            }
            check(&memtable, &model, ids);
            for (view, model) in &views {
                check(view, model, ids);
            }
        }
    }
}
