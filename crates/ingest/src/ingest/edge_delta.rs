//! The target edge set of an edit from the stored one, without sorting
//! the whole tree's edges again.
//!
//! Every edge has an owner, a block of one file: its source, or for a
//! `names` edge (whose source is an index key) its target. The edges a
//! file owns come from its own summary (structure, the name index) and
//! its own resolution (calls, `#include`s). After an edit, only these
//! files can own different edges: the edited ones, the C files resolved
//! again (`CCache::resolved_again`), every file of the other languages
//! (resolved whole on every resolution), and the external stubs (their
//! `names` edges follow the tree's stubs). Every other file's C results
//! came from the cache and its summary is the one last written, so its
//! edges stand. The new set is the stored one with the dirty owners'
//! edges replaced by their fresh ones: one merge walk
//! (`EdgeSet::replace_dirty`) where a full sort of the Linux tree's
//! 17 M edges took over a second.
//!
//! Used only when the picture is verified (it equals the stored graph)
//! and no precise calls are merged (they replace call edges by file, see
//! `precise::substitute`); otherwise, and when over half of the files
//! are dirty, the caller sorts the whole resolution.

use kausal_storage::{BlockId, EdgeType, GraphEdge};
use rustc_hash::{FxHashMap, FxHashSet};

use super::State;
use super::block_plan::BlockPlan;
use super::edge_set::{EdgeSet, Replaced};
use crate::language::Language;
use crate::resolve::Resolution;

/// The block an edge belongs to (see the module comment).
pub(super) fn owner(edge: &GraphEdge) -> BlockId {
    if edge.edge_type == EdgeType::Names {
        edge.target
    } else {
        edge.source
    }
}

/// The blocks whose edges an edit may have changed (stored or planned
/// blocks of the dirty files, the stubs, and every block deleted), or
/// `None` when the whole resolution must be sorted instead.
pub(super) fn dirty_owners(
    state: &State,
    blocks: &BlockPlan,
    deleted: impl Iterator<Item = BlockId>,
    precise_blocks: usize,
    edited: &FxHashSet<String>,
) -> Option<FxHashSet<BlockId>> {
    if !state.verified || !state.precise.is_empty() || precise_blocks > 0 {
        return None;
    }
    let again = state.call_cache.c.resolved_again()?;
    let mut dirty: FxHashSet<&str> = edited.iter().chain(again).map(String::as_str).collect();
    for (path, entry) in &state.files {
        if entry.record.language != Language::C {
            dirty.insert(path);
        }
    }
    if dirty.len() * 2 > state.files.len() {
        return None;
    }
    // A file's blocks share one path allocation: each is checked once.
    let mut checked: FxHashMap<*const u8, bool> = FxHashMap::default();
    let mut owners = FxHashSet::default();
    for (id, path) in blocks.stored_or_target() {
        let is_dirty = *checked
            .entry(path.as_ptr())
            .or_insert_with(|| dirty.contains(&**path) || crate::stubs::is_stub_uri(path));
        if is_dirty {
            owners.insert(*id);
        }
    }
    owners.extend(deleted);
    Some(owners)
}

/// The stored edge set with the edges of `owners` replaced by the ones
/// `resolution` (whose edges it takes) and the dirty files' name index
/// give them, and the difference.
pub(super) fn replace(
    state: &State,
    resolution: &mut Resolution,
    owners: &FxHashSet<BlockId>,
) -> Replaced {
    let is_dirty = |edge: &GraphEdge| owners.contains(&owner(edge));
    let mut fresh: Vec<GraphEdge> = std::mem::take(&mut resolution.edges)
        .into_iter()
        .filter(is_dirty)
        .collect();
    for entry in state.files.values() {
        if owners.contains(&entry.names.file_id) {
            fresh.extend_from_slice(entry.name_edges());
        }
    }
    let fresh = EdgeSet::from_unsorted(fresh);
    state.edges.replace_dirty(is_dirty, &fresh)
}
