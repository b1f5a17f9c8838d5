//! `Core`: the engine's state without its WAL: memtable, live tables and
//! manifest. It owns the read path, applying ops, and writing the memtable
//! to a table; recovery uses it before a WAL writer exists.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use kausal_vfs::Vfs;

use crate::config::Config;
use crate::limits::MAX_LIVE_TABLES;
use crate::manifest::Manifest;
use crate::memtable::{MemLookup, Memtable};
use crate::metrics::Counters;
use crate::op::Op;
use crate::sstable::reader::{Table, TableLookup};
use crate::sstable::writer::TableWriter;
use crate::sstable::{EdgeEntry, table_path};
use crate::{BlockId, BlockView, GraphEdge, StorageError, StorageResult};

/// Engine state shared by recovery and normal operation.
#[derive(Debug)]
pub(crate) struct Core {
    pub vfs: Arc<dyn Vfs>,
    pub dir: PathBuf,
    pub config: Config,
    pub memtable: Memtable,
    /// Live tables, oldest first; sequence ranges do not overlap, so a newer
    /// table's entry always shadows an older table's.
    pub tables: Vec<Table>,
    pub manifest: Manifest,
    pub next_sequence: u64,
    pub counters: Counters,
    /// Reused buffer for merging edge versions (keeps lookups allocation-free).
    pub edge_scratch: RefCell<Vec<EdgeEntry>>,
}

impl Core {
    /// The newest live version of `id`, or `None` when absent or deleted.
    pub fn find_block(&self, id: BlockId) -> StorageResult<Option<BlockView<'_>>> {
        id.validate()?;
        if let Some(found) = self.memtable.find_block(id)? {
            return Ok(match found {
                MemLookup::Live(view) => Some(view),
                MemLookup::Deleted => None,
            });
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

    /// Replaces `out` with the live edges leaving (or entering) `id`, sorted
    /// by (edge type, block at the other end). Allocation-free once `out`
    /// and the scratch buffer have grown to the node's degree.
    pub fn collect_edges(&self, id: BlockId, incoming: bool, out: &mut Vec<GraphEdge>) {
        out.clear();
        let other_end = |edge: &GraphEdge| {
            let other = if incoming { edge.source } else { edge.target };
            (edge.edge_type, other)
        };
        let in_memtable = if incoming {
            self.memtable.incoming(id)
        } else {
            self.memtable.outgoing(id)
        };
        let mut contributing = self
            .tables
            .iter()
            .filter(|table| table.may_have_edges(id, incoming));
        let first_table = contributing.next();
        let more_tables = contributing.next().is_some();
        // One source only needs no merge: the memtable holds each triple
        // once (sorted here), a table section holds each triple once, in
        // order already.
        if first_table.is_none() {
            out.extend(
                in_memtable
                    .iter()
                    .filter(|node| node.live)
                    .map(|node| node.edge),
            );
            // Lists keep insertion order, which is often already sorted or
            // reversed (edges added in id order): check before sorting.
            if !out.is_sorted_by_key(other_end) {
                out.reverse();
                if !out.is_sorted_by_key(other_end) {
                    out.sort_unstable_by_key(other_end);
                }
            }
            return;
        }
        if in_memtable.is_empty() && !more_tables {
            if let Some(table) = first_table {
                table.for_each_edge(id, incoming, |entry| {
                    if entry.live {
                        out.push(entry.edge);
                    }
                });
            }
            return;
        }
        let mut scratch = self.edge_scratch.borrow_mut();
        scratch.clear();
        scratch.extend(in_memtable.iter().map(|node| EdgeEntry {
            edge: node.edge,
            sequence: node.sequence,
            live: node.live,
        }));
        if let (Some(table), false) = (first_table, more_tables) {
            // Memtable and one table: merge two sorted runs. The memtable is
            // newer than every table, so its version of a triple wins.
            let key = |entry: &EdgeEntry| other_end(&entry.edge);
            if !scratch.is_sorted_by_key(key) {
                scratch.sort_unstable_by_key(key);
            }
            let mut next = 0;
            table.for_each_edge(id, incoming, |entry| {
                let entry_key = key(&entry);
                while next < scratch.len() && key(&scratch[next]) < entry_key {
                    if scratch[next].live {
                        out.push(scratch[next].edge);
                    }
                    next += 1;
                }
                if next < scratch.len() && scratch[next].edge == entry.edge {
                    if scratch[next].live {
                        out.push(scratch[next].edge);
                    }
                    next += 1;
                } else if entry.live {
                    out.push(entry.edge);
                }
            });
            out.extend(
                scratch[next..]
                    .iter()
                    .filter(|entry| entry.live)
                    .map(|entry| entry.edge),
            );
            return;
        }
        for table in &self.tables {
            table.for_each_edge(id, incoming, |entry| scratch.push(entry));
        }
        // Newest version of each triple first, then keep only that one.
        scratch.sort_unstable_by_key(|entry| {
            let (edge_type, other) = other_end(&entry.edge);
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
    }

    /// Applies one validated op with its sequence to the memtable. A block
    /// delete also deletes the block's current edges with the same sequence;
    /// replay derives the same edges because it sees the same prior state.
    pub fn apply(&mut self, sequence: u64, op: Op<'_>) {
        match op {
            Op::PutBlock {
                id,
                source_uri,
                metadata_json,
                content,
            } => {
                self.memtable
                    .put_block(sequence, id, source_uri, metadata_json, content);
                self.counters.blocks_written += 1;
                self.counters.payload_bytes_written +=
                    (source_uri.len() + metadata_json.len() + content.len()) as u64;
            }
            Op::DeleteBlock(id) => {
                let mut edges = Vec::new();
                self.collect_edges(id, false, &mut edges);
                let mut incoming = Vec::new();
                self.collect_edges(id, true, &mut incoming);
                for edge in edges.into_iter().chain(incoming) {
                    self.memtable.put_edge(sequence, edge, false);
                }
                self.memtable.delete_block(sequence, id);
                self.counters.blocks_deleted += 1;
            }
            Op::PutEdge(edge) => {
                self.memtable.put_edge(sequence, edge, true);
                self.counters.edges_written += 1;
            }
            Op::DeleteEdge(edge) => {
                self.memtable.put_edge(sequence, edge, false);
                self.counters.edges_deleted += 1;
            }
        }
        self.next_sequence = self.next_sequence.max(sequence + 1);
    }

    /// Removes a file this engine wrote but will not use; a failure leaves a
    /// file that the next open removes as an orphan.
    pub fn remove_quietly(&self, path: &std::path::Path) {
        let _ = self.vfs.remove_file(path);
    }

    /// Writes the memtable to a new table and makes it live in a durably
    /// stored manifest. Returns `Err((error, manifest_unknown))`: when
    /// `manifest_unknown` is true the manifest write failed part way and the
    /// caller must poison the engine.
    pub fn write_memtable_table(&mut self) -> Result<(), (StorageError, bool)> {
        let Some((_, max_sequence)) = self.memtable.sequence_range() else {
            return Ok(());
        };
        if self.tables.len() >= MAX_LIVE_TABLES {
            return Err((
                StorageError::TooManyTables {
                    count: self.tables.len(),
                    max: MAX_LIVE_TABLES,
                },
                false,
            ));
        }
        let table_id = self.manifest.next_table_id;
        let path = table_path(&self.dir, table_id);
        let written = self.write_table_file(table_id);
        let meta = match written {
            Ok(meta) => meta,
            Err(error) => {
                self.remove_quietly(&path);
                return Err((error, false));
            }
        };
        let mut manifest = self.manifest.clone();
        manifest.next_table_id = table_id + 1;
        manifest.flushed_sequence = max_sequence;
        manifest.tables.push(meta);
        self.install_manifest(manifest, &path, table_id)?;
        self.memtable.clear();
        self.counters.flushes += 1;
        Ok(())
    }

    fn write_table_file(&self, table_id: u64) -> StorageResult<crate::sstable::TableMeta> {
        let mut writer = TableWriter::create(&self.vfs, &self.dir, table_id)?;
        for (id, entry) in self.memtable.sorted_blocks() {
            match self.memtable.view(id, &entry)? {
                Some(view) => writer.add_block(&view)?,
                None => writer.add_tombstone(id, entry.sequence),
            }
        }
        let mut edges: Vec<EdgeEntry> = self
            .memtable
            .edges()
            .map(|node| EdgeEntry {
                edge: node.edge,
                sequence: node.sequence,
                live: node.live,
            })
            .collect();
        let meta = writer.finish(&mut edges)?;
        // The table's directory entry must be durable before a manifest names it.
        self.vfs.sync_dir(&self.dir)?;
        Ok(meta)
    }

    /// Replaces the durable manifest with `manifest`. Until the rename, the
    /// manifest on disk is the old one, intact: a failure there (a full
    /// disk, say) returns `manifest_unknown = false` and must not poison.
    pub fn store_manifest(&self, manifest: &Manifest) -> Result<(), (StorageError, bool)> {
        manifest
            .write_temp(self.vfs.as_ref(), &self.dir)
            .map_err(|error| (error, false))?;
        Manifest::commit_temp(self.vfs.as_ref(), &self.dir).map_err(|error| (error, true))
    }

    /// Stores `manifest` (which names the new table `table_id` at `path`),
    /// opens that table and makes both current. Errors after the manifest
    /// rename began are reported as "manifest unknown".
    pub fn install_manifest(
        &mut self,
        manifest: Manifest,
        path: &std::path::Path,
        table_id: u64,
    ) -> Result<(), (StorageError, bool)> {
        if let Err((error, manifest_unknown)) = self.store_manifest(&manifest) {
            if !manifest_unknown {
                self.remove_quietly(path);
            }
            return Err((error, manifest_unknown));
        }
        let table =
            Table::open(self.vfs.as_ref(), path, table_id).map_err(|error| (error, true))?;
        self.tables.push(table);
        self.manifest = manifest;
        Ok(())
    }
}
