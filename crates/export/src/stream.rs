//! The export itself: one pass over a snapshot's blocks in id order,
//! writing the three tables side by side. A code block becomes a
//! `blocks` row and its outgoing edges `edges` rows; a file's ingest
//! state block becomes its `files` row; other internal blocks (names
//! dictionary, call provenance, precise calls, counts, the walk record)
//! are not exported. Rows go to the writers every
//! [`BATCH_ROWS`](crate::limits::BATCH_ROWS), so memory holds one batch per
//! table, one row group per table being encoded, and one block's edges.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parquet::file::metadata::KeyValue;
use serde::{Deserialize, Serialize};

use kausal_ingest::meta::{STATE_KIND, has_kind, is_internal_block};
use kausal_ingest::provenance::PROVENANCE_VERSION;
use kausal_ingest::{BlockMeta, INGEST_STATE_VERSION};
use kausal_storage::{BlockView, EdgeType, GraphEdge, Snapshot};
use kausal_vfs::Vfs;

use crate::error::ExportError;
use crate::files::{IngestedFile, skipped_values, walk_record};
use crate::limits::BATCH_ROWS;
use crate::provenance::{SourceRules, needs_rules};
use crate::rows::{Rows, Value};
use crate::schema::{BLOCKS, EDGES, EXPORT_FORMAT_VERSION, FILES, Table, keys};
use crate::sink::TableSink;
use crate::time::rfc3339;

/// What to export under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The repository's name: the `repo` column and `kausal.repo`.
    pub repo: String,
    /// The ingested root's path (`kausal.root`), when known.
    pub root: Option<String>,
    /// The export's time (`kausal.exported_at`).
    pub exported_at: SystemTime,
}

/// One table file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    /// `blocks`, `edges` or `files`.
    pub table: String,
    /// The file written.
    pub path: String,
    /// Rows in it.
    pub rows: u64,
    /// Its row groups.
    pub row_groups: usize,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportReport {
    /// The export directory.
    pub dir: String,
    /// The repository name written into every row.
    pub repo: String,
    /// `kausal.exported_at`.
    pub exported_at: String,
    /// The snapshot's sequence number the export read.
    pub sequence: u64,
    /// The three tables, in the order written: blocks, edges, files.
    pub tables: Vec<TableReport>,
    /// Internal blocks read and not exported (ingest's bookkeeping).
    pub internal_blocks: u64,
    /// Seconds the export took.
    pub seconds: f64,
}

/// One table's rows and writer.
struct Output {
    rows: Rows,
    sink: TableSink,
}

impl Output {
    fn push(&mut self, values: &[Value<'_>]) -> Result<(), ExportError> {
        let table = self.sink.table().name;
        self.rows
            .push(values)
            .map_err(|source| ExportError::Arrow { table, source })?;
        if self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        let table = self.sink.table().name;
        let batch = self
            .rows
            .take_batch()
            .map_err(|source| ExportError::Arrow { table, source })?;
        self.sink.write(&batch)
    }

    fn finish(mut self) -> Result<TableReport, ExportError> {
        self.flush()?;
        let table = self.sink.table().name;
        let written = self.sink.finish()?;
        Ok(TableReport {
            table: table.to_string(),
            path: written.path.display().to_string(),
            rows: written.rows,
            row_groups: written.row_groups,
            bytes: written.bytes,
        })
    }
}

/// Exports `snapshot` into `dir` (created if missing; the three tables
/// replace any earlier export there) through `vfs`.
pub fn export(
    vfs: Arc<dyn Vfs>,
    snapshot: &Snapshot,
    dir: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    prepare_dir(vfs.as_ref(), dir)?;
    let storage = |table: &'static str| move |source| ExportError::Storage { table, source };
    let walk = walk_record(snapshot).map_err(storage("files"))?;
    let exported_at = rfc3339(options.exported_at);
    let mut common = vec![
        (keys::EXPORT_VERSION, EXPORT_FORMAT_VERSION.to_string()),
        (keys::KAUSAL_VERSION, env!("CARGO_PKG_VERSION").to_string()),
        (keys::INGEST_VERSION, INGEST_STATE_VERSION.to_string()),
        (keys::PROVENANCE_VERSION, PROVENANCE_VERSION.to_string()),
        (keys::REPO, options.repo.clone()),
        (keys::EXPORTED_AT, exported_at.clone()),
        (keys::SEQUENCE, snapshot.sequence().to_string()),
    ];
    if let Some(root) = &options.root {
        common.push((keys::ROOT, root.clone()));
    }
    if let Some(walk) = &walk {
        let skipped: u64 = walk.skipped_by_cause.values().sum();
        common.push((keys::FILES_SEEN, walk.files_seen.to_string()));
        common.push((keys::FILES_SKIPPED, skipped.to_string()));
    }
    let open = |table: Table| -> Result<Output, ExportError> {
        let mut metadata = vec![KeyValue::new(
            keys::TABLE.to_string(),
            table.name.to_string(),
        )];
        metadata.extend(
            common
                .iter()
                .map(|(key, value)| KeyValue::new(key.to_string(), value.clone())),
        );
        Ok(Output {
            rows: Rows::new(table),
            sink: TableSink::create(vfs.clone(), dir, table, metadata)?,
        })
    };
    let mut blocks = open(BLOCKS)?;
    let mut edges = open(EDGES)?;
    let mut files = open(FILES)?;
    let repo = options.repo.as_str();
    let mut internal_blocks = 0;
    let mut out_edges = Vec::new();
    for block in snapshot.iterate_blocks().map_err(storage("blocks"))? {
        let view = block.map_err(storage("blocks"))?;
        if is_internal_block(view.metadata_json) {
            internal_blocks += 1;
            if has_kind(view.metadata_json, STATE_KIND)
                && let Some(file) = IngestedFile::read(snapshot, &view).map_err(storage("files"))?
            {
                files.push(&file.values(repo))?;
            }
            continue;
        }
        let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
        let id = view.id.to_string();
        blocks.push(&block_values(repo, &id, &view, &meta))?;
        snapshot
            .find_outgoing_edges_into(view.id, &mut out_edges)
            .map_err(storage("edges"))?;
        write_edges(snapshot, repo, &id, &view, &meta, &out_edges, &mut edges)?;
    }
    for file in walk.iter().flat_map(|walk| &walk.skipped) {
        files.push(&skipped_values(repo, file))?;
    }
    let tables = vec![blocks.finish()?, edges.finish()?, files.finish()?];
    vfs.sync_dir(dir)?;
    Ok(ExportReport {
        dir: dir.display().to_string(),
        repo: options.repo.clone(),
        exported_at,
        sequence: snapshot.sequence(),
        tables,
        internal_blocks,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Creates `dir` (and its parents) unless it is a directory already.
fn prepare_dir(vfs: &dyn Vfs, dir: &Path) -> Result<(), ExportError> {
    if let Err(error) = vfs.create_dir_all(dir) {
        return Err(if vfs.exists(dir).unwrap_or(false) {
            ExportError::NotADirectory {
                path: PathBuf::from(dir),
            }
        } else {
            ExportError::Vfs(error)
        });
    }
    Ok(())
}

/// The `blocks` row of a code block.
fn block_values<'a>(
    repo: &'a str,
    id: &'a str,
    view: &'a BlockView<'_>,
    meta: &'a BlockMeta<'_>,
) -> [Value<'a>; 12] {
    let path = if meta.path.is_empty() {
        view.source_uri
    } else {
        meta.path.as_ref()
    };
    [
        Value::Str(repo),
        Value::Str(id),
        Value::Str(&meta.kind),
        Value::Str(&meta.name),
        Value::Str(&meta.qualified_name),
        Value::Str(&meta.language),
        Value::Str(path),
        Value::U32(meta.start_line),
        Value::U32(meta.end_line),
        Value::Str(&meta.signature),
        Value::Str(&meta.doc),
        Value::U32(u32::try_from(view.content.len()).unwrap_or(u32::MAX)),
    ]
}

/// The `edges` rows of the edges leaving one block (`names` edges leave
/// name-index nodes, never blocks, and are skipped should one appear).
fn write_edges(
    snapshot: &Snapshot,
    repo: &str,
    source: &str,
    view: &BlockView<'_>,
    meta: &BlockMeta<'_>,
    out_edges: &[GraphEdge],
    edges: &mut Output,
) -> Result<(), ExportError> {
    let rules = if needs_rules(out_edges) {
        let path = if meta.path.is_empty() {
            view.source_uri
        } else {
            meta.path.as_ref()
        };
        SourceRules::read(snapshot, view.id, &meta.language, path).map_err(|source| {
            ExportError::Storage {
                table: "edges",
                source,
            }
        })?
    } else {
        SourceRules::default()
    };
    for edge in out_edges {
        if edge.edge_type == EdgeType::Names {
            continue;
        }
        let target = edge.target.to_string();
        edges.push(&[
            Value::Str(repo),
            Value::Str(source),
            Value::Str(&target),
            Value::Str(edge.edge_type.name()),
            rules.resolved_by(edge).map_or(Value::Null, Value::Str),
        ])?;
    }
    Ok(())
}
