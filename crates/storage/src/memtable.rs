//! The memtable: the newest writes, indexed for point lookups (blocks) and
//! adjacency walks (edges), with block bytes in a coordinator arena.
//!
//! Blocks live in a hash map from id to (sequence, arena handle). Edges live
//! twice, in a contiguous adjacency list per source and one per target, so a
//! lookup reads one hash entry and one run of memory; a map from edge triple
//! to its two list positions turns a repeated put into an in-place update.
//! Every collection (the adjacency lists included) keeps its capacity across
//! `clear`, and the arena keeps its chunk across reset, so after the first
//! fill a put, a find and an edge lookup allocate nothing. Handles instead
//! of references keep the struct free of self-references.

use kausal_memory::{ArenaCoordinator, ArenaStats, StrTripleHandle};
use rustc_hash::FxHashMap;

use crate::{BlockId, BlockView, GraphEdge, StorageResult};

/// The memtable's newest entry for a block id.
#[derive(Debug, Clone, Copy)]
pub struct MemBlock {
    pub sequence: u64,
    /// The block's three fields in the arena; `None` for a tombstone.
    stored: Option<StrTripleHandle>,
}

/// The memtable's newest entry for an edge triple.
#[derive(Debug, Clone, Copy)]
pub struct MemEdge {
    pub edge: GraphEdge,
    pub sequence: u64,
    /// False for a tombstone.
    pub live: bool,
}

/// Adjacency lists keyed by block id, each list inside its hash entry so a
/// lookup costs one probe. Lists of nodes gone after a `clear` are kept,
/// emptied, in a pool and handed to new nodes, so their capacity is reused.
#[derive(Debug, Default)]
struct Adjacency {
    lists: FxHashMap<BlockId, Vec<MemEdge>>,
    pool: Vec<Vec<MemEdge>>,
}

impl Adjacency {
    fn list_mut(&mut self, id: BlockId) -> &mut Vec<MemEdge> {
        let pool = &mut self.pool;
        self.lists
            .entry(id)
            .or_insert_with(|| pool.pop().unwrap_or_default())
    }

    fn list(&self, id: BlockId) -> &[MemEdge] {
        self.lists.get(&id).map_or(&[], Vec::as_slice)
    }

    fn node_count(&self) -> usize {
        self.lists.len()
    }

    fn all(&self) -> impl Iterator<Item = &MemEdge> {
        self.lists.values().flatten()
    }

    fn clear(&mut self) {
        for (_, mut list) in self.lists.drain() {
            list.clear();
            self.pool.push(list);
        }
    }
}

/// Result of a memtable lookup: the block or its tombstone.
#[derive(Debug, Clone, Copy)]
pub enum MemLookup<'a> {
    Live(BlockView<'a>),
    Deleted,
}

/// The in-memory write buffer.
#[derive(Debug)]
pub struct Memtable {
    arena: ArenaCoordinator,
    blocks: FxHashMap<BlockId, MemBlock>,
    outgoing: Adjacency,
    incoming: Adjacency,
    /// Position of each triple in its source's and its target's list.
    edge_slots: FxHashMap<GraphEdge, (u32, u32)>,
    min_sequence: u64,
    max_sequence: u64,
}

impl Memtable {
    /// An empty memtable whose arena reserves `budget_bytes` up front.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            arena: ArenaCoordinator::with_capacity(budget_bytes),
            blocks: FxHashMap::default(),
            outgoing: Adjacency::default(),
            incoming: Adjacency::default(),
            edge_slots: FxHashMap::default(),
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
        let slot = self.blocks.entry(id).or_insert(entry);
        debug_assert!(slot.sequence <= entry.sequence, "sequences only grow");
        *slot = entry;
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
        if let Some(&(out_position, in_position)) = self.edge_slots.get(&edge) {
            let out_list = self.outgoing.list_mut(edge.source);
            debug_assert!(
                out_list[out_position as usize].sequence <= sequence,
                "sequences only grow"
            );
            out_list[out_position as usize] = entry;
            self.incoming.list_mut(edge.target)[in_position as usize] = entry;
            return;
        }
        let out_list = self.outgoing.list_mut(edge.source);
        let out_position = out_list.len() as u32;
        out_list.push(entry);
        let in_list = self.incoming.list_mut(edge.target);
        let in_position = in_list.len() as u32;
        in_list.push(entry);
        self.edge_slots.insert(edge, (out_position, in_position));
    }

    /// Every edge entry (live or tombstone) leaving `id`, in insertion order.
    pub fn outgoing(&self, id: BlockId) -> &[MemEdge] {
        self.outgoing.list(id)
    }

    /// Every edge entry (live or tombstone) entering `id`, in insertion order.
    pub fn incoming(&self, id: BlockId) -> &[MemEdge] {
        self.incoming.list(id)
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
        self.outgoing.all()
    }

    /// True when nothing has been written since the last clear.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.edge_slots.is_empty()
    }

    /// Number of block entries (tombstones included).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Number of edge entries (tombstones included).
    pub fn edge_count(&self) -> usize {
        self.edge_slots.len()
    }

    /// Smallest and largest sequence held, or `None` when empty.
    pub fn sequence_range(&self) -> Option<(u64, u64)> {
        (!self.is_empty()).then_some((self.min_sequence, self.max_sequence))
    }

    /// Bytes the memtable accounts for: arena payload plus index entries.
    pub fn approximate_bytes(&self) -> usize {
        use std::mem::size_of;
        let block_entry = size_of::<(BlockId, MemBlock)>() + 1;
        let edge_entry = 2 * size_of::<MemEdge>() + size_of::<(GraphEdge, (u32, u32))>() + 1;
        let node_entry = size_of::<(BlockId, Vec<MemEdge>)>() + 1;
        self.arena.used_bytes()
            + self.blocks.len() * block_entry
            + self.edge_slots.len() * edge_entry
            + (self.outgoing.node_count() + self.incoming.node_count()) * node_entry
    }

    /// The arena's accounting figures.
    pub fn arena_stats(&self) -> ArenaStats {
        self.arena.stats()
    }

    /// Empties the memtable in O(1) for the arena; collections keep capacity.
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.outgoing.clear();
        self.incoming.clear();
        self.edge_slots.clear();
        self.min_sequence = u64::MAX;
        self.max_sequence = 0;
        self.arena.reset();
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
        let mut out: Vec<_> = memtable
            .outgoing(id(1))
            .iter()
            .map(|node| (node.edge, node.live, node.sequence))
            .collect();
        out.sort();
        assert_eq!(out, vec![(calls, false, 4), (imports, true, 2)]);
        let mut incoming: Vec<_> = memtable
            .incoming(id(2))
            .iter()
            .map(|node| node.edge)
            .collect();
        incoming.sort();
        assert_eq!(incoming, vec![calls, back]);
        assert_eq!(memtable.edge_count(), 3);
    }

    #[test]
    fn clear_resets_and_accounts() {
        let mut memtable = Memtable::new(1 << 16);
        assert_eq!(memtable.approximate_bytes(), 0);
        memtable.put_block(1, id(1), "u", "{}", &"x".repeat(1000));
        assert!(memtable.approximate_bytes() >= 1003);
        memtable.put_edge(2, GraphEdge::new(id(1), id(2), EdgeType::Calls), true);
        memtable.clear();
        assert!(memtable.is_empty());
        assert_eq!(memtable.approximate_bytes(), 0);
        assert_eq!(memtable.arena_stats().resets, 1);
        assert!(memtable.find_block(id(1)).unwrap().is_none());
        assert!(memtable.outgoing(id(1)).is_empty());
        memtable.put_edge(3, GraphEdge::new(id(5), id(6), EdgeType::Calls), true);
        assert_eq!(memtable.outgoing(id(5)).len(), 1);
        assert_eq!(memtable.edges().count(), 1);
    }
}
