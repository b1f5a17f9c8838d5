//! Writing tables: a memtable flushed to a new table, and the manifest
//! that names it. Used by the background flush and by recovery. Errors come
//! as `(error, manifest_unknown)`: when `manifest_unknown` is true the
//! manifest replace failed after its rename began and writes must be
//! poisoned; otherwise nothing durable changed.

use std::path::Path;
use std::sync::Arc;

use kausal_vfs::Vfs;

use crate::files::{FileKind, classify};
use crate::limits::MAX_LIVE_TABLES;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::sstable::reader::Table;
use crate::sstable::writer::TableWriter;
use crate::sstable::{EdgeEntry, TableMeta, table_path};
use crate::{StorageError, StorageResult};

/// A failure and whether the manifest's durable state is unknown.
pub(crate) type TableError = (StorageError, bool);

/// Where tables live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableDir<'a> {
    pub vfs: &'a Arc<dyn Vfs>,
    pub dir: &'a Path,
}

impl TableDir<'_> {
    /// Removes a file this engine wrote but will not use; a failure leaves a
    /// file that the next open removes as an orphan.
    pub fn remove_quietly(&self, path: &Path) {
        let _ = self.vfs.remove_file(path);
    }

    /// Writes `memtable` to a new table and stores a manifest naming it
    /// after `manifest`'s tables. Returns the new manifest and the opened
    /// table, or `None` when the memtable is empty.
    pub fn flush_memtable(
        &self,
        manifest: &Manifest,
        memtable: &Memtable,
    ) -> Result<Option<(Manifest, Arc<Table>)>, TableError> {
        let Some((_, max_sequence)) = memtable.sequence_range() else {
            return Ok(None);
        };
        if manifest.tables.len() >= MAX_LIVE_TABLES {
            return Err((
                StorageError::TooManyTables {
                    count: manifest.tables.len(),
                    max: MAX_LIVE_TABLES,
                },
                false,
            ));
        }
        let table_id = manifest.next_table_id;
        let path = table_path(self.dir, table_id);
        let meta = match self.write_table_file(memtable, table_id) {
            Ok(meta) => meta,
            Err(error) => {
                self.remove_quietly(&path);
                return Err((error, false));
            }
        };
        let mut next = manifest.clone();
        next.next_table_id = table_id + 1;
        next.flushed_sequence = max_sequence;
        next.tables.push(meta);
        let table = self.install(&next, &path, table_id)?;
        Ok(Some((next, table)))
    }

    pub(crate) fn write_table_file(
        &self,
        memtable: &Memtable,
        table_id: u64,
    ) -> StorageResult<TableMeta> {
        let mut writer = TableWriter::create(self.vfs, self.dir, table_id)?;
        for (id, entry) in memtable.sorted_blocks() {
            match memtable.view(id, &entry)? {
                Some(view) => writer.add_block(&view)?,
                None => writer.add_tombstone(id, entry.sequence),
            }
        }
        let mut edges: Vec<EdgeEntry> = memtable
            .edges()
            .map(|node| EdgeEntry {
                edge: node.edge,
                sequence: node.sequence,
                live: node.live,
            })
            .collect();
        let meta = writer.finish(&mut edges)?;
        // The table's directory entry must be durable before a manifest names it.
        self.vfs.sync_dir(self.dir)?;
        Ok(meta)
    }

    /// Replaces the durable manifest with `manifest`. Until the rename, the
    /// manifest on disk is the old one, intact: a failure there (a full
    /// disk, say) returns `manifest_unknown = false` and must not poison.
    pub fn store_manifest(&self, manifest: &Manifest) -> Result<(), TableError> {
        manifest
            .write_temp(self.vfs.as_ref(), self.dir)
            .map_err(|error| (error, false))?;
        Manifest::commit_temp(self.vfs.as_ref(), self.dir).map_err(|error| (error, true))
    }

    /// Stores `manifest` (which names the new table `table_id` at `path`)
    /// and opens that table.
    pub fn install(
        &self,
        manifest: &Manifest,
        path: &Path,
        table_id: u64,
    ) -> Result<Arc<Table>, TableError> {
        if let Err((error, manifest_unknown)) = self.store_manifest(manifest) {
            if !manifest_unknown {
                self.remove_quietly(path);
            }
            return Err((error, manifest_unknown));
        }
        let table =
            Table::open(self.vfs.as_ref(), path, table_id).map_err(|error| (error, true))?;
        Ok(Arc::new(table))
    }

    /// Removes table files that `manifest` does not name (left by a crash or
    /// failure during a flush or compaction).
    pub fn remove_orphan_tables(&self, manifest: &Manifest) -> Vec<std::path::PathBuf> {
        let mut removed = Vec::new();
        let Ok(names) = self.vfs.list_dir(self.dir) else {
            return removed;
        };
        for name in names {
            let Some(FileKind::Table { id }) = classify(&name) else {
                continue;
            };
            if manifest.tables.iter().any(|table| table.id == id) {
                continue;
            }
            let path = self.dir.join(&name);
            if self.vfs.remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
        removed
    }
}
