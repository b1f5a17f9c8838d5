//! `BlockIter`: every live block of a snapshot in id order, merging its
//! memtables and tables and letting the newest version of each id win.

use crate::memtable::MemBlock;
use crate::sstable::IndexEntry;
use crate::{BlockId, BlockView, StorageResult};

use super::layers::Layers;

/// Iterator over live blocks in id order; yields an error for a block whose
/// bytes fail verification and then continues with the next id. A damaged
/// index page loses the order of what follows it, so that error is the
/// iterator's last item.
pub struct BlockIter<'s> {
    layers: Layers<'s>,
    /// Set once an index page failed: the iterator is done.
    failed: bool,
    /// Each memtable's entries sorted by id, newest memtable first.
    memtables: Vec<Vec<(BlockId, MemBlock)>>,
    memtable_positions: Vec<usize>,
    table_positions: Vec<usize>,
}

impl std::fmt::Debug for BlockIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockIter")
            .field("memtables", &self.memtables.len())
            .field("tables", &self.table_positions.len())
            .finish()
    }
}

enum Winner {
    Memtable(usize, BlockId, MemBlock),
    Table(usize, IndexEntry),
}

impl<'s> BlockIter<'s> {
    pub(crate) fn new(layers: Layers<'s>) -> Self {
        Self {
            layers,
            failed: false,
            memtables: layers
                .memtables
                .iter()
                .map(|memtable| memtable.sorted_blocks())
                .collect(),
            memtable_positions: vec![0; layers.memtables.len()],
            table_positions: vec![0; layers.tables.len()],
        }
    }

    /// The smallest id among the heads and its newest version; advances
    /// every source past that id.
    fn next_winner(&mut self) -> StorageResult<Option<Winner>> {
        let mut winner: Option<(BlockId, u64, Winner)> = None;
        let better =
            |winner: &Option<(BlockId, u64, Winner)>, id: BlockId, sequence: u64| match winner {
                None => true,
                Some((best, best_sequence, _)) => {
                    id < *best || (id == *best && sequence > *best_sequence)
                }
            };
        for (index, entries) in self.memtables.iter().enumerate() {
            if let Some((id, entry)) = entries.get(self.memtable_positions[index])
                && better(&winner, *id, entry.sequence)
            {
                winner = Some((*id, entry.sequence, Winner::Memtable(index, *id, *entry)));
            }
        }
        for (index, table) in self.layers.tables.iter().enumerate() {
            let position = self.table_positions[index];
            if position >= table.block_count() {
                continue;
            }
            let entry = table.index_entry(position)?;
            if better(&winner, entry.id, entry.sequence) {
                winner = Some((entry.id, entry.sequence, Winner::Table(index, entry)));
            }
        }
        let Some((id, _, winner)) = winner else {
            return Ok(None);
        };
        for (index, entries) in self.memtables.iter().enumerate() {
            if entries
                .get(self.memtable_positions[index])
                .is_some_and(|(head, _)| *head == id)
            {
                self.memtable_positions[index] += 1;
            }
        }
        for (index, table) in self.layers.tables.iter().enumerate() {
            let position = self.table_positions[index];
            if position < table.block_count() && table.index_entry(position)?.id == id {
                self.table_positions[index] += 1;
            }
        }
        Ok(Some(winner))
    }
}

impl<'s> Iterator for BlockIter<'s> {
    type Item = StorageResult<BlockView<'s>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            let winner = match self.next_winner() {
                Ok(winner) => winner?,
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            };
            let view = match winner {
                Winner::Memtable(index, id, entry) => {
                    self.layers.memtables[index].view(id, &entry).transpose()
                }
                Winner::Table(index, entry) => {
                    let table = &self.layers.tables[index];
                    entry.live.then(|| table.read_block(&entry))
                }
            };
            if let Some(view) = view {
                return Some(view);
            }
        }
    }
}
