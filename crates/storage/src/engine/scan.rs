//! `BlockIter`: every live block in id order, merging the memtable and all
//! tables and letting the newest version of each id win.

use crate::memtable::MemBlock;
use crate::sstable::IndexEntry;
use crate::{BlockId, BlockView, StorageResult};

use super::core::Core;

/// Iterator over live blocks in id order; yields an error for a block whose
/// bytes fail verification and then continues with the next id.
pub struct BlockIter<'e> {
    core: &'e Core,
    memtable: Vec<(BlockId, MemBlock)>,
    memtable_position: usize,
    table_positions: Vec<usize>,
}

enum Winner {
    Memtable(BlockId, MemBlock),
    Table(usize, IndexEntry),
}

impl<'e> BlockIter<'e> {
    pub(crate) fn new(core: &'e Core) -> Self {
        Self {
            core,
            memtable: core.memtable.sorted_blocks(),
            memtable_position: 0,
            table_positions: vec![0; core.tables.len()],
        }
    }

    /// The smallest id among the heads and its newest version; advances
    /// every source past that id.
    fn next_winner(&mut self) -> Option<Winner> {
        let mut winner: Option<(BlockId, u64, Winner)> = None;
        if let Some((id, entry)) = self.memtable.get(self.memtable_position) {
            winner = Some((*id, entry.sequence, Winner::Memtable(*id, *entry)));
        }
        for (index, table) in self.core.tables.iter().enumerate() {
            let position = self.table_positions[index];
            if position >= table.block_count() {
                continue;
            }
            let entry = table.index_entry(position);
            let better = match &winner {
                None => true,
                Some((id, sequence, _)) => {
                    entry.id < *id || (entry.id == *id && entry.sequence > *sequence)
                }
            };
            if better {
                winner = Some((entry.id, entry.sequence, Winner::Table(index, entry)));
            }
        }
        let (id, _, winner) = winner?;
        if self
            .memtable
            .get(self.memtable_position)
            .is_some_and(|(head, _)| *head == id)
        {
            self.memtable_position += 1;
        }
        for (index, table) in self.core.tables.iter().enumerate() {
            let position = self.table_positions[index];
            if position < table.block_count() && table.index_entry(position).id == id {
                self.table_positions[index] += 1;
            }
        }
        Some(winner)
    }
}

impl<'e> Iterator for BlockIter<'e> {
    type Item = StorageResult<BlockView<'e>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let view = match self.next_winner()? {
                Winner::Memtable(id, entry) => self.core.memtable.view(id, &entry).transpose(),
                Winner::Table(index, entry) => {
                    let table = &self.core.tables[index];
                    entry.live.then(|| table.read_block(&entry))
                }
            };
            if let Some(view) = view {
                return Some(view);
            }
        }
    }
}
