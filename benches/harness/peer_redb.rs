//! The redb peer (a copy-on-write B-tree, a design unlike both LSMs) as a
//! comparison [`Subject`]: same keys, values and durability as kausal.

use std::path::Path;

use kausal_storage::{BlockId, GraphEdge};
use redb::{Database, ReadOnlyTable, ReadableDatabase, TableDefinition, WriteTransaction};

use crate::compare::{Durability, Sizing, Subject, edge_key, peer_value};

const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");
const EDGES: TableDefinition<&[u8], ()> = TableDefinition::new("edges");
/// Page cache: redb's default (1 GiB) holds the whole read set; said
/// explicitly so the note is true whatever the default becomes.
const CACHE_BYTES: usize = 1024 * 1024 * 1024;

/// The blocks and edges tables of one read transaction.
type ReadTables = (
    ReadOnlyTable<&'static [u8], &'static [u8]>,
    ReadOnlyTable<&'static [u8], ()>,
);

pub struct Redb {
    database: Database,
    reads: Option<ReadTables>,
    value: Vec<u8>,
    durability: Durability,
}

/// Opens redb at `dir/redb.db`.
/// redb has no memtable: `Sizing` changes nothing.
pub fn open(dir: &Path, durability: Durability, _sizing: Sizing) -> Box<dyn Subject> {
    std::fs::create_dir_all(dir).expect("create redb dir");
    let database = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(dir.join("redb.db"))
        .expect("open redb");
    let mut subject = Redb {
        database,
        reads: None,
        value: peer_value(),
        durability,
    };
    // Create both tables up front so reads never meet a missing table.
    let txn = subject.begin();
    txn.open_table(BLOCKS).expect("table");
    txn.open_table(EDGES).expect("table");
    txn.commit().expect("commit");
    Box::new(subject)
}

impl Redb {
    fn begin(&mut self) -> WriteTransaction {
        self.reads = None;
        let mut txn = self.database.begin_write().expect("begin write");
        txn.set_durability(match self.durability {
            Durability::Buffered => redb::Durability::None,
            Durability::Fsync => redb::Durability::Immediate,
        })
        .expect("durability");
        txn
    }
}

impl Subject for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn put(&mut self, id: BlockId) {
        let txn = self.begin();
        {
            let mut table = txn.open_table(BLOCKS).expect("table");
            table
                .insert(id.as_bytes().as_slice(), self.value.as_slice())
                .expect("insert");
        }
        txn.commit().expect("commit");
    }

    fn put_batch(&mut self, ids: &[BlockId]) {
        let txn = self.begin();
        {
            let mut table = txn.open_table(BLOCKS).expect("table");
            for id in ids {
                table
                    .insert(id.as_bytes().as_slice(), self.value.as_slice())
                    .expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    fn put_edges(&mut self, edges: &[GraphEdge]) {
        let mut txn = self.begin();
        txn.set_durability(redb::Durability::Immediate)
            .expect("durability");
        {
            let mut table = txn.open_table(EDGES).expect("table");
            for edge in edges {
                table.insert(edge_key(edge).as_slice(), ()).expect("insert");
            }
        }
        txn.commit().expect("commit");
    }

    fn begin_reads(&mut self) {
        let txn = self.database.begin_read().expect("begin read");
        self.reads = Some((
            txn.open_table(BLOCKS).expect("table"),
            txn.open_table(EDGES).expect("table"),
        ));
    }

    fn get(&mut self, id: BlockId) -> usize {
        let (blocks, _) = self.reads.as_ref().expect("begin_reads first");
        blocks
            .get(id.as_bytes().as_slice())
            .expect("get")
            .map_or(0, |value| value.value().len())
    }

    fn outgoing(&mut self, id: BlockId) -> usize {
        let (_, edges) = self.reads.as_ref().expect("begin_reads first");
        let mut end = [0xffu8; 34];
        end[..16].copy_from_slice(id.as_bytes());
        edges
            .range(id.as_bytes().as_slice()..=end.as_slice())
            .expect("range")
            .map(|entry| entry.expect("entry").0.value().len())
            .filter(|&len| len == 34)
            .count()
    }

    fn settle(&mut self) {
        // A B-tree has no memtable to flush; compaction gives back free
        // pages so the file is as tidy as the LSMs' compacted runs.
        self.reads = None;
        self.database.compact().expect("compact");
    }

    fn only_memtable(&self) -> bool {
        // No memtable: the committed B-tree is what reads see in every state.
        true
    }

    fn settings(&self) -> String {
        format!(
            "redb 4: page cache {} MiB (whole set fits); one read transaction \
             and table handle kept open across the read rows (its cheapest \
             read path); Durability::Immediate in fsync rows, None otherwise; \
             get returns a guard borrowing the page",
            CACHE_BYTES >> 20
        )
    }
}
