//! The memtable: the newest writes, indexed for point lookups (blocks) and
//! adjacency walks (edges), with block bytes in a shared arena.
//!
//! Readers on other threads hold snapshots of a memtable while the writer
//! keeps changing it, so its indexes are persistent hash maps (`imbl`'s
//! HAMT): cloning a `Memtable` is O(1) and yields a frozen view, and the
//! writer's next change copies only the few tree nodes on the changed path
//! that a view still shares (and nothing at all while no view exists).
//! Block bytes go to a [`SharedArena`] that only grows, so a view's handles
//! stay valid for as long as any clone holds the arena; a memtable is never
//! cleared, a flushed one is dropped and a new one started.
//!
//! Edges live twice, in an adjacency list per source and one per target,
//! each sorted by (edge type, block at the other end) so a lookup returns
//! them without sorting; lists are shared behind `Arc` and copied on the
//! first change after a snapshot.

use std::sync::Arc;

use imbl::GenericHashMap;
use imbl::shared_ptr::DefaultSharedPtr;
use kausal_memory::{ArenaStats, SharedArena, StrTripleHandle};
use rustc_hash::FxBuildHasher;

use crate::{BlockId, BlockView, EdgeType, GraphEdge, StorageResult};

type PersistentMap<K, V> = GenericHashMap<K, V, FxBuildHasher, DefaultSharedPtr>;

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

/// The in-memory write buffer; `clone` is an O(1) frozen view.
#[derive(Debug, Clone)]
pub struct Memtable {
    arena: Arc<SharedArena>,
    blocks: PersistentMap<BlockId, MemBlock>,
    outgoing: PersistentMap<BlockId, Arc<Vec<MemEdge>>>,
    incoming: PersistentMap<BlockId, Arc<Vec<MemEdge>>>,
    edge_count: usize,
    /// Bytes accounted: payload plus index entries.
    bytes: usize,
    min_sequence: u64,
    max_sequence: u64,
}

/// Accounted bytes of one block entry and of one edge (both lists).
const BLOCK_ENTRY_BYTES: usize = std::mem::size_of::<(BlockId, MemBlock)>() + 16;
const EDGE_ENTRY_BYTES: usize = 2 * std::mem::size_of::<MemEdge>();
const NODE_ENTRY_BYTES: usize = std::mem::size_of::<(BlockId, Arc<Vec<MemEdge>>)>() + 48;

impl Memtable {
    /// An empty memtable whose arena reserves `budget_bytes` up front.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            arena: Arc::new(SharedArena::with_capacity(budget_bytes)),
            blocks: PersistentMap::default(),
            outgoing: PersistentMap::default(),
            incoming: PersistentMap::default(),
            edge_count: 0,
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
        if let Some(previous) = self.blocks.insert(id, entry) {
            debug_assert!(previous.sequence <= entry.sequence, "sequences only grow");
        } else {
            self.bytes += BLOCK_ENTRY_BYTES;
        }
    }

    /// Turns a memtable entry into a view of its bytes; `None` for a tombstone.
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

    /// The newest entry (block or tombstone) for `id` held here.
    pub fn entry(&self, id: BlockId) -> Option<MemBlock> {
        self.blocks.get(&id).copied()
    }

    /// The newest version of `id` held here, if any.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<MemLookup<'_>>> {
        let Some(entry) = self.blocks.get(&id) else {
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
        let added = upsert_list(&mut self.outgoing, edge.source, entry, false);
        upsert_list(&mut self.incoming, edge.target, entry, true);
        if added {
            self.edge_count += 1;
            self.bytes += EDGE_ENTRY_BYTES;
        }
    }

    /// Every edge entry (live or tombstone) leaving `id`, sorted by (edge
    /// type, target).
    pub fn outgoing(&self, id: BlockId) -> &[MemEdge] {
        self.outgoing.get(&id).map_or(&[], |list| list.as_slice())
    }

    /// Every edge entry (live or tombstone) entering `id`, sorted by (edge
    /// type, source).
    pub fn incoming(&self, id: BlockId) -> &[MemEdge] {
        self.incoming.get(&id).map_or(&[], |list| list.as_slice())
    }

    /// Block entries sorted by id (for flushes and scans).
    pub fn sorted_blocks(&self) -> Vec<(BlockId, MemBlock)> {
        let mut entries: Vec<_> = self
            .blocks
            .iter()
            .map(|(id, entry)| (*id, *entry))
            .collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries
    }

    /// Every edge entry, grouped by source.
    pub fn edges(&self) -> impl Iterator<Item = &MemEdge> {
        self.outgoing.values().flat_map(|list| list.iter())
    }

    /// True when nothing has been written to this memtable.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.edge_count == 0
    }

    /// Number of block entries (tombstones included).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
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
        self.bytes + (self.outgoing.len() + self.incoming.len()) * NODE_ENTRY_BYTES
    }

    /// The arena's accounting figures.
    pub fn arena_stats(&self) -> ArenaStats {
        self.arena.stats()
    }
}

/// Inserts or replaces `entry` in `node`'s sorted list; true when the
/// triple is new. Appending in key order (the common case: a file's edges
/// are written in order) costs no search; otherwise a binary search and an
/// insert.
fn upsert_list(
    lists: &mut PersistentMap<BlockId, Arc<Vec<MemEdge>>>,
    node: BlockId,
    entry: MemEdge,
    incoming: bool,
) -> bool {
    let key = list_key(&entry.edge, incoming);
    let list = Arc::make_mut(lists.entry(node).or_default());
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
}
