//! The memtable: the newest writes, indexed for point lookups (blocks) and
//! adjacency walks (edges), with block bytes in a coordinator arena.
//!
//! Blocks live in a hash map from id to (sequence, arena handle); edges in a
//! vector of nodes threaded into per-source and per-target linked lists, plus
//! a map from edge triple to node for overwrites. Every collection keeps its
//! capacity across `clear`, and the arena keeps its chunk across reset, so
//! after the first fill a put, a find and an edge walk allocate nothing.
//! Handles instead of references keep the struct free of self-references.

use kausal_memory::{ArenaCoordinator, ArenaStats, StrHandle};
use rustc_hash::FxHashMap;

use crate::{BlockId, BlockView, GraphEdge, StorageResult};

const NIL: u32 = u32::MAX;

/// Where a block's three fields sit in the arena: one string, split by lengths.
#[derive(Debug, Clone, Copy)]
struct StoredText {
    text: StrHandle,
    uri_len: u32,
    metadata_len: u32,
}

/// The memtable's newest entry for a block id.
#[derive(Debug, Clone, Copy)]
pub struct MemBlock {
    pub sequence: u64,
    stored: Option<StoredText>,
}

/// The memtable's newest entry for an edge triple.
#[derive(Debug, Clone, Copy)]
pub struct MemEdge {
    pub edge: GraphEdge,
    pub sequence: u64,
    /// False for a tombstone.
    pub live: bool,
    next_out: u32,
    next_in: u32,
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
    edges: Vec<MemEdge>,
    edge_slots: FxHashMap<GraphEdge, u32>,
    out_heads: FxHashMap<BlockId, u32>,
    in_heads: FxHashMap<BlockId, u32>,
    min_sequence: u64,
    max_sequence: u64,
}

impl Memtable {
    /// An empty memtable whose arena reserves `budget_bytes` up front.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            arena: ArenaCoordinator::with_capacity(budget_bytes),
            blocks: FxHashMap::default(),
            edges: Vec::new(),
            edge_slots: FxHashMap::default(),
            out_heads: FxHashMap::default(),
            in_heads: FxHashMap::default(),
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
        let text = self
            .arena
            .store_str_parts(&[source_uri, metadata_json, content]);
        let stored = StoredText {
            text,
            uri_len: source_uri.len() as u32,
            metadata_len: metadata_json.len() as u32,
        };
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
        let text = self.arena.resolve_str(stored.text)?;
        let uri_end = stored.uri_len as usize;
        let metadata_end = uri_end + stored.metadata_len as usize;
        Ok(Some(BlockView {
            id,
            sequence: entry.sequence,
            source_uri: &text[..uri_end],
            metadata_json: &text[uri_end..metadata_end],
            content: &text[metadata_end..],
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
        if let Some(&slot) = self.edge_slots.get(&edge) {
            let node = &mut self.edges[slot as usize];
            debug_assert!(node.sequence <= sequence, "sequences only grow");
            node.sequence = sequence;
            node.live = live;
            return;
        }
        let slot = self.edges.len() as u32;
        assert!(slot != NIL, "memtable edge count overflow");
        let next_out = self.out_heads.insert(edge.source, slot).unwrap_or(NIL);
        let next_in = self.in_heads.insert(edge.target, slot).unwrap_or(NIL);
        self.edges.push(MemEdge {
            edge,
            sequence,
            live,
            next_out,
            next_in,
        });
        self.edge_slots.insert(edge, slot);
    }

    /// Calls `visit` with every edge entry (live or tombstone) leaving `id`.
    pub fn for_each_outgoing(&self, id: BlockId, mut visit: impl FnMut(&MemEdge)) {
        let mut slot = self.out_heads.get(&id).copied().unwrap_or(NIL);
        while slot != NIL {
            let node = &self.edges[slot as usize];
            visit(node);
            slot = node.next_out;
        }
    }

    /// Calls `visit` with every edge entry (live or tombstone) entering `id`.
    pub fn for_each_incoming(&self, id: BlockId, mut visit: impl FnMut(&MemEdge)) {
        let mut slot = self.in_heads.get(&id).copied().unwrap_or(NIL);
        while slot != NIL {
            let node = &self.edges[slot as usize];
            visit(node);
            slot = node.next_in;
        }
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

    /// Every edge entry, in insertion order.
    pub fn edges(&self) -> &[MemEdge] {
        &self.edges
    }

    /// True when nothing has been written since the last clear.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.edges.is_empty()
    }

    /// Number of block entries (tombstones included).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Number of edge entries (tombstones included).
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Smallest and largest sequence held, or `None` when empty.
    pub fn sequence_range(&self) -> Option<(u64, u64)> {
        (!self.is_empty()).then_some((self.min_sequence, self.max_sequence))
    }

    /// Bytes the memtable accounts for: arena payload plus index entries.
    pub fn approximate_bytes(&self) -> usize {
        use std::mem::size_of;
        let block_entry = size_of::<(BlockId, MemBlock)>() + 1;
        let edge_entry = size_of::<MemEdge>() + size_of::<(GraphEdge, u32)>() + 1;
        let head_entry = size_of::<(BlockId, u32)>() + 1;
        self.arena.used_bytes()
            + self.blocks.len() * block_entry
            + self.edges.len() * edge_entry
            + (self.out_heads.len() + self.in_heads.len()) * head_entry
    }

    /// The arena's accounting figures.
    pub fn arena_stats(&self) -> ArenaStats {
        self.arena.stats()
    }

    /// Empties the memtable in O(1) for the arena; collections keep capacity.
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.edges.clear();
        self.edge_slots.clear();
        self.out_heads.clear();
        self.in_heads.clear();
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
        let mut out = Vec::new();
        memtable.for_each_outgoing(id(1), |node| {
            out.push((node.edge, node.live, node.sequence))
        });
        out.sort();
        assert_eq!(out, vec![(calls, false, 4), (imports, true, 2)]);
        let mut incoming = Vec::new();
        memtable.for_each_incoming(id(2), |node| incoming.push(node.edge));
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
        let mut count = 0;
        memtable.for_each_outgoing(id(1), |_| count += 1);
        assert_eq!(count, 0);
    }
}
