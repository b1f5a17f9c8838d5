//! The fjall peer (an LSM tree like kausal's storage) as a comparison
//! [`Subject`]: same keys, values and durability as kausal.

use std::path::Path;

use fjall::config::CompressionPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use kausal_storage::{BlockId, GraphEdge};

use crate::compare::{Durability, Sizing, Subject, edge_key, peer_value};

/// Block cache: the whole read set (about 30 MB) fits, so the `tables`
/// rows read warm blocks as kausal reads a warm page cache.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;
/// Memtable size: the whole read set stays in the memtable until `settle`
/// (fjall's default is 64 MiB).
const MEMTABLE_BYTES: u64 = 256 * 1024 * 1024;

pub struct Fjall {
    memtable_bytes: u64,
    database: Database,
    blocks: Keyspace,
    edges: Keyspace,
    value: Vec<u8>,
    durability: Durability,
}

/// Opens fjall under `dir/fjall`.
pub fn open(dir: &Path, durability: Durability, sizing: Sizing) -> Box<dyn Subject> {
    let memtable_bytes = match sizing {
        Sizing::HoldsReadSet => MEMTABLE_BYTES,
        Sizing::Sustained { memtable_bytes } => memtable_bytes as u64,
    };
    let database = Database::builder(dir.join("fjall"))
        .cache_size(CACHE_BYTES)
        // Persisting is the benchmark's job (per write or never), not the
        // journal writer's.
        .manual_journal_persist(true)
        .open()
        .expect("open fjall");
    // kausal stores blocks uncompressed: compare without compression.
    let options = || {
        KeyspaceCreateOptions::default()
            .max_memtable_size(memtable_bytes)
            .data_block_compression_policy(CompressionPolicy::disabled())
            .index_block_compression_policy(CompressionPolicy::disabled())
    };
    let blocks = database.keyspace("blocks", options).expect("keyspace");
    let edges = database.keyspace("edges", options).expect("keyspace");
    Box::new(Fjall {
        memtable_bytes,
        database,
        blocks,
        edges,
        value: peer_value(),
        durability,
    })
}

impl Fjall {
    fn persist(&self) {
        if self.durability == Durability::Fsync {
            self.database
                .persist(PersistMode::SyncData)
                .expect("persist");
        }
    }
}

impl Subject for Fjall {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn put(&mut self, id: BlockId) {
        self.blocks
            .insert(id.as_bytes(), self.value.as_slice())
            .expect("insert");
        self.persist();
    }

    fn put_batch(&mut self, ids: &[BlockId]) {
        let mut batch = self.database.batch();
        for id in ids {
            batch.insert(&self.blocks, id.as_bytes(), self.value.as_slice());
        }
        batch.commit().expect("commit");
        self.persist();
    }

    fn put_edges(&mut self, edges: &[GraphEdge]) {
        for chunk in edges.chunks(1_000) {
            let mut batch = self.database.batch();
            for edge in chunk {
                batch.insert(&self.edges, edge_key(edge), []);
            }
            batch.commit().expect("commit");
        }
        self.database
            .persist(PersistMode::SyncData)
            .expect("persist");
    }

    fn begin_reads(&mut self) {}

    fn get(&mut self, id: BlockId) -> usize {
        self.blocks
            .get(id.as_bytes())
            .expect("get")
            .map_or(0, |value| value.len())
    }

    fn outgoing(&mut self, id: BlockId) -> usize {
        self.edges
            .prefix(id.as_bytes())
            .map(|guard| guard.key().expect("key").len())
            .filter(|&len| len == 34)
            .count()
    }

    fn settle(&mut self) {
        for keyspace in [&self.blocks, &self.edges] {
            keyspace.rotate_memtable_and_wait().expect("flush");
            keyspace.major_compact().expect("compact");
        }
    }

    fn only_memtable(&self) -> bool {
        self.blocks.table_count() == 0 && self.edges.table_count() == 0
    }

    fn settings(&self) -> String {
        format!(
            "fjall 3: block cache {} MiB (whole set fits), memtable {} MiB, \
             no compression (kausal does not compress), journal persisted by the \
             benchmark (SyncData per write or batch in fsync rows, never otherwise); \
             get returns the value as fjall's owned Slice",
            CACHE_BYTES >> 20,
            self.memtable_bytes >> 20
        )
    }
}
