//! The read half of an ingest's memory: the ingester's picture of the
//! stored graph, rebuilt from the graph itself after a restart.

use std::sync::Arc;

use kausal_storage::{BlockId, Database, EdgeType};
use rustc_hash::FxHashMap;

use super::{Entry, ProvenanceEntry, State};
use crate::error::IngestError;
use crate::naming::name_file;
use crate::precise::defs::is_created_block;
use crate::precise::stored::{is_precise_block, read_precise};
use crate::provenance::is_provenance_block;
use crate::record::{FileRecord, fingerprint, is_file_block, is_state_block, record_from_block};
use crate::walk_record::WalkRecord;

/// Rebuilds the ingester's picture from the stored graph: every block's
/// fingerprint and path, every edge, and the file records carried by file
/// blocks, and when the last successful walk began. Unverified unless the
/// walk record is the graph's newest write: a crash may have left it
/// half-written.
pub(super) fn load_state(engine: &Database) -> Result<State, IngestError> {
    let snapshot = engine.snapshot();
    // A graph the last ingest finished (see below) needs no file's text:
    // only changed files' blocks are built again, from the text read
    // then. The texts of the Linux tree are 1.3 GB.
    let whole = finished(&snapshot)?;
    let released: Arc<str> = Arc::from("");
    let mut state = State::default();
    let mut ids = Vec::new();
    let mut paths: FxHashMap<String, Arc<str>> = FxHashMap::default();
    // File block contents by id, and state blocks (id, uri, metadata,
    // summary), joined after the scan.
    let mut contents: FxHashMap<BlockId, Arc<str>> = FxHashMap::default();
    let mut states: Vec<(BlockId, String, String, String)> = Vec::new();
    let views = snapshot
        .iterate_blocks()
        .map_err(|source| IngestError::ReadGraph {
            block: "(scan)".into(),
            source,
        })?;
    for view in views {
        let view = view.map_err(|source| IngestError::ReadGraph {
            block: "(scan)".into(),
            source,
        })?;
        // One shared path per file; looked up before any allocation (a
        // file has dozens of blocks).
        let path = match paths.get(view.source_uri) {
            Some(path) => path.clone(),
            None => {
                let path: Arc<str> = Arc::from(view.source_uri);
                paths.insert(view.source_uri.to_string(), path.clone());
                path
            }
        };
        let fp = fingerprint(view.source_uri, view.metadata_json, view.content);
        // The names dictionary and counts are the catalog's, not a file's.
        if state.catalog.note_loaded(&view, fp) {
            continue;
        }
        if is_provenance_block(view.metadata_json) {
            // Planned apart from the file's other blocks (`difference`).
            let entry = ProvenanceEntry {
                path,
                fingerprint: fp,
                records: None,
            };
            state.provenance.insert(view.id, entry);
            continue;
        }
        if let Some((file, precise)) = read_precise(&view) {
            // Planned apart from the file's other blocks (`precise`).
            state.precise_stored.insert(view.id, (fp, path));
            state.precise.insert(file, precise);
            continue;
        }
        if is_precise_block(view.metadata_json) || is_created_block(view.metadata_json) {
            // Unreadable, or a block created for a definition: planned as
            // stored with the precise calls, so the next plan deletes it
            // or keeps it (`precise`).
            state.precise_stored.insert(view.id, (fp, path));
            continue;
        }
        if let Some(record) = WalkRecord::from_block(&view) {
            // Written after the last successful ingest's difference was
            // synced: every stored state block was read no earlier.
            state.last_walk_ns = record.walk_started_ns;
            state.recorded_walk_ns = record.walk_started_ns;
            // The last write of a successful ingest: when nothing was
            // written after it, no ingest stopped half-way since, and the
            // graph is whole (the record's own write is one op).
            state.verified = view.sequence == snapshot.sequence();
        }
        state.blocks.insert(view.id, (fp, path));
        ids.push(view.id);
        if is_file_block(&view) {
            // Released (`precise::release_contents`) when not needed.
            let content = match whole {
                true => released.clone(),
                false => Arc::from(view.content),
            };
            contents.insert(view.id, content);
        } else if is_state_block(&view) {
            states.push((
                view.id,
                view.source_uri.to_string(),
                view.metadata_json.to_string(),
                view.content.to_string(),
            ));
        }
    }
    add_files(&mut state, &states, &contents);
    let edges = edges_of(&snapshot, &ids)?;
    // Each edge between two of the ingester's blocks was read from both ends.
    state.edges = super::edge_set::EdgeSet::from_unsorted(edges);
    Ok(state)
}

/// The file records of the state blocks `states` (id, uri, metadata,
/// summary), each with its file block's content from `contents`, into
/// `state`. A state that does not parse, or whose file block is missing,
/// is not trusted: its file is re-parsed (and the stale blocks replaced),
/// the ingest goes on.
fn add_files(
    state: &mut State,
    states: &[(BlockId, String, String, String)],
    contents: &FxHashMap<BlockId, Arc<str>>,
) {
    for (id, uri, metadata_json, content) in states {
        let view = kausal_storage::BlockView {
            id: *id,
            sequence: 0,
            source_uri: uri,
            metadata_json,
            content,
        };
        let Ok(Some(record)) = record_from_block(&view, Arc::from("")) else {
            continue;
        };
        let file_id = crate::record::file_block_id(record.language, &record.path);
        let Some(file_content) = contents.get(&file_id) else {
            continue;
        };
        let record = FileRecord {
            content: file_content.clone(),
            ..record
        };
        let names = name_file(record.language, &record.path, &record.summary);
        state
            .files
            .insert(record.path.clone(), Entry::new(record, names));
    }
}

/// True when the graph's newest write is the walk record: the last
/// ingest finished (see `State::verified`).
fn finished(snapshot: &kausal_storage::Snapshot) -> Result<bool, IngestError> {
    let record = snapshot
        .find_block(crate::walk_record::walk_record_id())
        .map_err(|source| IngestError::ReadGraph {
            block: "(walk record)".into(),
            source,
        })?;
    Ok(record.is_some_and(|view| {
        WalkRecord::from_block(&view).is_some() && view.sequence == snapshot.sequence()
    }))
}

/// Every edge leaving or entering one of `ids` that ingest writes (edge
/// types ingest never writes are not its to delete), unsorted, each edge
/// between two of them twice.
fn edges_of(
    snapshot: &kausal_storage::Snapshot,
    ids: &[kausal_storage::BlockId],
) -> Result<Vec<kausal_storage::GraphEdge>, IngestError> {
    let mut scratch = Vec::new();
    let mut edges = Vec::new();
    let read_edges = |id: kausal_storage::BlockId| {
        move |source| IngestError::ReadGraph {
            block: id.to_string(),
            source,
        }
    };
    for &id in ids {
        scratch.clear();
        snapshot
            .find_outgoing_edges_into(id, &mut scratch)
            .map_err(read_edges(id))?;
        edges.extend(scratch.iter().copied());
        scratch.clear();
        snapshot
            .find_incoming_edges_into(id, &mut scratch)
            .map_err(read_edges(id))?;
        edges.extend(scratch.iter().copied());
    }
    edges.retain(|edge| {
        !matches!(
            edge.edge_type,
            EdgeType::References | EdgeType::DependsOn | EdgeType::CallsFunction
        )
    });
    Ok(edges)
}
