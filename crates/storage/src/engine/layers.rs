//! `Layers`: the read path over one consistent state: memtables (newest
//! first: the active one, then frozen ones awaiting flush) and tables
//! (oldest first). Sequence ranges never overlap between layers, so the
//! first layer holding a key has its newest version.
//!
//! A [`Version`] is such a state, published by the writer and shared by
//! every snapshot taken from it; the writer reads its own current state
//! through the same code.

use std::cell::RefCell;
use std::sync::Arc;

use crate::memtable::{MemEdge, MemLookup, Memtable};
use crate::sstable::EdgeEntry;
use crate::sstable::reader::{Table, TableLookup};
use crate::{BlockId, BlockView, EdgeType, GraphEdge, StorageResult};

/// One published, immutable state of the database.
#[derive(Debug)]
pub(crate) struct Version {
    /// Highest sequence this state includes.
    pub sequence: u64,
    /// Memtables, newest first.
    pub memtables: Vec<Memtable>,
    /// Tables, oldest first.
    pub tables: Arc<[Arc<Table>]>,
}

impl Version {
    pub fn layers(&self) -> Layers<'_> {
        Layers {
            memtables: &self.memtables,
            tables: &self.tables,
        }
    }
}

/// Borrowed layers of one state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layers<'a> {
    pub memtables: &'a [Memtable],
    pub tables: &'a [Arc<Table>],
}

thread_local! {
    /// Reused buffer for merging edge versions from three or more layers
    /// (keeps lookups allocation-free on every thread after warm-up).
    static EDGE_SCRATCH: RefCell<Vec<EdgeEntry>> = const { RefCell::new(Vec::new()) };
}

fn other_end(edge: &GraphEdge, incoming: bool) -> (EdgeType, BlockId) {
    let other = if incoming { edge.source } else { edge.target };
    (edge.edge_type, other)
}

fn entry_of(node: &MemEdge) -> EdgeEntry {
    EdgeEntry {
        edge: node.edge,
        sequence: node.sequence,
        live: node.live,
    }
}

/// Where the edges of one node come from, at most two of them kept.
enum EdgeSource<'a> {
    Memtable(&'a [MemEdge]),
    Table(&'a Table),
}

impl EdgeSource<'_> {
    fn for_each(
        &self,
        id: BlockId,
        incoming: bool,
        mut visit: impl FnMut(EdgeEntry),
    ) -> StorageResult<()> {
        match self {
            EdgeSource::Memtable(list) => {
                list.iter().for_each(|node| visit(entry_of(node)));
                Ok(())
            }
            EdgeSource::Table(table) => table.for_each_edge(id, incoming, visit),
        }
    }
}

impl<'a> Layers<'a> {
    /// The newest live version of `id`, or `None` when absent or deleted.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<BlockView<'a>>> {
        id.validate()?;
        for memtable in self.memtables {
            if let Some(found) = memtable.find_block(id)? {
                return Ok(match found {
                    MemLookup::Live(view) => Some(view),
                    MemLookup::Deleted => None,
                });
            }
        }
        for table in self.tables.iter().rev() {
            if let Some(found) = table.find_block(id)? {
                return Ok(match found {
                    TableLookup::Live(view) => Some(view),
                    TableLookup::Deleted => None,
                });
            }
        }
        Ok(None)
    }

    /// True when `id` has a live version: read from the memtable entry or
    /// the table index's live flag, never from the block's bytes.
    pub fn block_exists(&self, id: BlockId) -> StorageResult<bool> {
        id.validate()?;
        for memtable in self.memtables {
            if let Some(entry) = memtable.entry(id) {
                return Ok(entry.is_live());
            }
        }
        for table in self.tables.iter().rev() {
            if let Some(entry) = table.find_entry(id)? {
                return Ok(entry.live);
            }
        }
        Ok(false)
    }

    /// Replaces `out` with the live edges leaving (or entering) `id`, sorted
    /// by (edge type, block at the other end). Allocation-free once `out`
    /// (and, for three or more layers, this thread's scratch buffer) has
    /// grown to the node's degree. Fails only when a table page it reads
    /// is damaged.
    pub fn collect_edges(
        &self,
        id: BlockId,
        incoming: bool,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        out.clear();
        let mut first: Option<EdgeSource<'a>> = None;
        let mut second: Option<EdgeSource<'a>> = None;
        let mut sources = 0;
        for memtable in self.memtables {
            let list = if incoming {
                memtable.incoming(id)
            } else {
                memtable.outgoing(id)
            };
            if list.is_empty() {
                continue;
            }
            // The list's lines are loaded now, while the other layers are
            // searched, rather than after them (perf, issue 26: with one
            // table besides, the list's miss waited for the table's).
            kausal_memory::prefetch(list);
            sources += 1;
            match sources {
                1 => first = Some(EdgeSource::Memtable(list)),
                2 => second = Some(EdgeSource::Memtable(list)),
                _ => {}
            }
        }
        for table in self.tables.iter().rev() {
            if !table.may_have_edges(id, incoming) {
                continue;
            }
            sources += 1;
            match sources {
                1 => first = Some(EdgeSource::Table(table)),
                2 => second = Some(EdgeSource::Table(table)),
                _ => {}
            }
        }
        match (first, second, sources) {
            (None, _, _) => Ok(()),
            // One source holds each triple once, in order already.
            (Some(only), None, _) => only.for_each(id, incoming, |entry| {
                if entry.live {
                    out.push(entry.edge);
                }
            }),
            (Some(EdgeSource::Memtable(newer)), Some(older), 2) => {
                merge_two(newer, &older, id, incoming, out)
            }
            _ => self.merge_all(id, incoming, out),
        }
    }

    /// Every layer's entries, sorted with the newest version of each triple
    /// first, and only that version kept.
    fn merge_all(
        &self,
        id: BlockId,
        incoming: bool,
        out: &mut Vec<GraphEdge>,
    ) -> StorageResult<()> {
        EDGE_SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            for memtable in self.memtables {
                let list = if incoming {
                    memtable.incoming(id)
                } else {
                    memtable.outgoing(id)
                };
                scratch.extend(list.iter().map(entry_of));
            }
            for table in self.tables {
                table.for_each_edge(id, incoming, |entry| scratch.push(entry))?;
            }
            scratch.sort_unstable_by_key(|entry| {
                let (edge_type, other) = other_end(&entry.edge, incoming);
                (edge_type, other, std::cmp::Reverse(entry.sequence))
            });
            let mut previous: Option<GraphEdge> = None;
            for entry in scratch.iter() {
                if previous == Some(entry.edge) {
                    continue;
                }
                previous = Some(entry.edge);
                if entry.live {
                    out.push(entry.edge);
                }
            }
            Ok(())
        })
    }
}

/// Merges a memtable's sorted list with an older layer's sorted run; the
/// newer version of a triple wins.
fn merge_two(
    newer: &[MemEdge],
    older: &EdgeSource<'_>,
    id: BlockId,
    incoming: bool,
    out: &mut Vec<GraphEdge>,
) -> StorageResult<()> {
    let key = |edge: &GraphEdge| other_end(edge, incoming);
    let mut next = 0;
    older.for_each(id, incoming, |entry| {
        let entry_key = key(&entry.edge);
        while next < newer.len() && key(&newer[next].edge) < entry_key {
            if newer[next].live {
                out.push(newer[next].edge);
            }
            next += 1;
        }
        if next < newer.len() && newer[next].edge == entry.edge {
            if newer[next].live {
                out.push(newer[next].edge);
            }
            next += 1;
        } else if entry.live {
            out.push(entry.edge);
        }
    })?;
    out.extend(
        newer[next..]
            .iter()
            .filter(|node| node.live)
            .map(|node| node.edge),
    );
    Ok(())
}
