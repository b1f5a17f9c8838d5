//! The block half of an ingest's plan: which blocks the target graph
//! has, built for the files that changed, and the puts and deletes that
//! get there (written here for a large rebuild, streamed in runs of
//! files, else later with each file's edges).

use std::collections::BTreeMap;
use std::sync::Arc;

use kausal_storage::{BlockId, ContextBlock, Database, StorageError};
use rustc_hash::{FxHashMap, FxHashSet};

use super::batch_writer::BatchWriter;
use super::{Entry, State};
use crate::error::IngestError;
use crate::record::{file_blocks, fingerprint};
use crate::report::IngestReport;
use crate::walk_record::walk_record_id;

/// Fingerprint and path of a stored block, by id.
pub(super) type BlockIndex = FxHashMap<BlockId, (u128, Arc<str>)>;

/// What the blocks of the graph should be, and the writes that get there.
pub(super) struct BlockPlan {
    /// Every block of the target graph: the picture's map, changed in
    /// place (an edit's blocks, where a copy of the Linux tree's 3 M
    /// entries took about a second).
    pub(super) target: BlockIndex,
    /// What `target` held before each change: the stored graph's blocks
    /// are `target` but for these.
    pub(super) replaced: FxHashMap<BlockId, Option<(u128, Arc<str>)>>,
    /// New or changed blocks still to write, by file (code blocks of a
    /// large rebuild are written while they are planned).
    pub(super) puts: BTreeMap<String, Vec<ContextBlock>>,
    /// Blocks to delete, by file, sorted.
    pub(super) deletes: BTreeMap<String, Vec<BlockId>>,
    /// Of those, the ones a large rebuild deleted already.
    pub(super) written_deletes: FxHashSet<BlockId>,
    /// Provenance blocks to write, by file (the file block's id): built
    /// again from their records when their file's batch is written, so a
    /// cold ingest does not hold the text of every file's provenance block
    /// (about 90 bytes per call edge) until then.
    pub(super) provenance_puts: BTreeMap<String, BlockId>,
}

/// Most files whose blocks are planned and written with their edges, one
/// batch per file. A larger rebuild (a cold ingest, a checkout) builds and
/// writes blocks a run of this many files at a time instead, so it never
/// holds every block of the tree (the Linux tree's blocks are several
/// times its 1.1 GB of text).
const BLOCK_RUN_FILES: usize = 512;

/// Target blocks of the files that changed (all files when the stored
/// graph is not verified); blocks of unchanged files stay as they are.
/// The picture's block map becomes the plan's target, changed in place
/// (an error drops the picture: the next ingest reloads it).
///
/// Up to [`BLOCK_RUN_FILES`] files, the plan holds the puts and deletes,
/// written later with each file's edges in one batch per file (a reader
/// sees a file's edit whole). Past it, each file's new blocks and the
/// deletes of its blocks that are gone are written here, in one batch per
/// run of files (a reader never sees two versions of a file's items); its
/// edges follow later. After a crash in between, the next ingest reloads
/// its picture from the graph and recomputes every difference, so the
/// order of batches does not matter for convergence.
pub(super) fn plan_and_write_blocks(
    engine: &Database,
    state: &mut State,
    changed: &[String],
    threads: usize,
    report: &mut IngestReport,
) -> Result<BlockPlan, IngestError> {
    let mut plan = BlockPlan {
        target: std::mem::take(&mut state.blocks),
        replaced: FxHashMap::default(),
        puts: BTreeMap::new(),
        deletes: BTreeMap::new(),
        written_deletes: FxHashSet::default(),
        provenance_puts: BTreeMap::new(),
    };
    let files = &state.files;
    let rebuild: Vec<&str> = if state.verified {
        changed.iter().map(String::as_str).collect()
    } else {
        files.keys().map(String::as_str).collect()
    };
    let rebuild_set: FxHashSet<&str> = rebuild.iter().copied().collect();
    let stream = rebuild.len() > BLOCK_RUN_FILES;
    // The stored blocks of each file rebuilt, when streaming.
    let mut stored_by_path: FxHashMap<Arc<str>, Vec<BlockId>> = FxHashMap::default();
    if stream {
        for (id, (_, path)) in &plan.target {
            if rebuild_set.contains(&**path) && *id != walk_record_id() {
                stored_by_path.entry(path.clone()).or_default().push(*id);
            }
        }
    }
    // The blocks the rebuilt files have now.
    let mut built: FxHashSet<BlockId> = FxHashSet::default();
    let mut writer = BatchWriter::new(engine);
    let size_of = |path: &str| files.get(path).map_or(0, |entry| entry.record.size);
    for run in block_runs(&rebuild, size_of) {
        for file in build_file_blocks(files, run, threads) {
            let (path, blocks) = file?;
            let path_arc: Arc<str> = Arc::from(path);
            writer.path = path.to_string();
            for (block, fp) in blocks {
                built.insert(block.id);
                if plan.target.get(&block.id).map(|(old, _)| *old) == Some(fp) {
                    continue;
                }
                plan.set(block.id, Some((fp, path_arc.clone())));
                if stream {
                    writer.push(|b| b.put_block(block.clone()))?;
                    report.blocks_written += 1;
                } else {
                    plan.puts.entry(path.to_string()).or_default().push(block);
                }
            }
            let gone = stored_by_path.get(path).into_iter().flatten();
            for id in gone.filter(|id| !built.contains(id)) {
                writer.push(|b| b.delete_block(*id))?;
                report.blocks_deleted += 1;
                plan.written_deletes.insert(*id);
            }
        }
        writer.commit()?;
    }
    report.batches += writer.batches;
    // Blocks of rebuilt files that are gone, and of files no longer in
    // the tree (stubs stay until a resolution says otherwise, see
    // `plan_stubs`). A file's blocks share one path allocation: each is
    // looked up once.
    let mut kept: FxHashMap<*const u8, bool> = FxHashMap::default();
    let mut gone: Vec<BlockId> = Vec::new();
    for (id, (_, path)) in &plan.target {
        let file_kept = *kept.entry(path.as_ptr()).or_insert_with(|| {
            !rebuild_set.contains(&**path)
                && (files.contains_key(&**path) || crate::stubs::is_stub_uri(path))
        });
        if !file_kept && !built.contains(id) && *id != walk_record_id() {
            gone.push(*id);
        }
    }
    for id in gone {
        if let Some((_, path)) = plan.set(id, None) {
            plan.deletes.entry(path.to_string()).or_default().push(id);
        }
    }
    for ids in plan.deletes.values_mut() {
        ids.sort();
    }
    Ok(plan)
}

impl BlockPlan {
    /// Sets `target`'s entry of `id` (`None`: removes it), noting what it
    /// held first; returns that.
    pub(super) fn set(
        &mut self,
        id: BlockId,
        value: Option<(u128, Arc<str>)>,
    ) -> Option<(u128, Arc<str>)> {
        let before = match value {
            Some(value) => self.target.insert(id, value),
            None => self.target.remove(&id),
        };
        self.replaced.entry(id).or_insert_with(|| before.clone());
        before
    }

    /// The stored graph's entry of `id` (before this plan's changes).
    pub(super) fn stored(&self, id: &BlockId) -> Option<&(u128, Arc<str>)> {
        match self.replaced.get(id) {
            Some(before) => before.as_ref(),
            None => self.target.get(id),
        }
    }

    /// Every block id of the stored graph or of the target, with its
    /// path (a block in both may come twice).
    pub(super) fn stored_or_target(&self) -> impl Iterator<Item = (&BlockId, &Arc<str>)> {
        let stored = self
            .replaced
            .iter()
            .filter_map(|(id, before)| before.as_ref().map(|(_, path)| (id, path)));
        self.target
            .iter()
            .map(|(id, (_, path))| (id, path))
            .chain(stored)
    }
}

/// Most source bytes in one run of files whose blocks are built and
/// written together when streaming. A file's blocks hold its text about
/// twice (the file block and its items) plus metadata, so a run of 512 of
/// the Linux tree's generated register headers (up to 1 MiB each) made
/// batches of the 64 MiB limit and hundreds of megabytes of blocks at once.
const BLOCK_RUN_BYTES: u64 = 8 * 1024 * 1024;

/// `paths` cut into runs of at most [`BLOCK_RUN_FILES`] files and, past
/// the first file of a run, at most [`BLOCK_RUN_BYTES`] of source.
fn block_runs<'p, 'a>(paths: &'p [&'a str], size_of: impl Fn(&str) -> u64) -> Vec<&'p [&'a str]> {
    let mut runs = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (index, path) in paths.iter().enumerate() {
        let size = size_of(path);
        let full = index - start >= BLOCK_RUN_FILES || bytes + size > BLOCK_RUN_BYTES;
        if index > start && full {
            runs.push(&paths[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < paths.len() {
        runs.push(&paths[start..]);
    }
    runs
}

/// Fewest files per thread worth a thread of its own when building blocks
/// (a file takes about 0.3 ms, a thread tens of microseconds to start).
const MIN_FILES_PER_BLOCK_THREAD: usize = 16;

/// One file's blocks with their fingerprints.
type BuiltFile<'a> = Result<(&'a str, Vec<(ContextBlock, u128)>), IngestError>;

/// The blocks and fingerprints of the files of `paths`, in their order,
/// built on up to `threads` threads (a run of files each).
fn build_file_blocks<'a>(
    files: &BTreeMap<String, Entry>,
    paths: &[&'a str],
    threads: usize,
) -> Vec<BuiltFile<'a>> {
    let build = |path: &'a str| -> Option<BuiltFile<'a>> {
        let entry = files.get(path)?;
        let blocks = match file_blocks(&entry.record, &entry.names) {
            Ok(blocks) => blocks,
            Err(reason) => {
                return Some(Err(IngestError::Write {
                    path: path.to_string(),
                    source: StorageError::InvalidMetadata {
                        id: entry.names.file_id,
                        reason,
                    },
                }));
            }
        };
        let blocks = blocks
            .into_iter()
            .map(|block| {
                let fp = fingerprint(&block.source_uri, &block.metadata_json, &block.content);
                (block, fp)
            })
            .collect();
        Some(Ok((path, blocks)))
    };
    let threads = threads.min(paths.len() / MIN_FILES_PER_BLOCK_THREAD).max(1);
    if threads == 1 {
        return paths.iter().filter_map(|path| build(path)).collect();
    }
    let run = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(run)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|path| build(path))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(built) => built,
                Err(_) => vec![Err(IngestError::Worker {
                    reason: "a block-building thread panicked".into(),
                })],
            })
            .collect()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn block_runs_are_bounded_by_files_and_bytes() {
        let names: Vec<String> = (0..1500).map(|n| format!("f{n}")).collect();
        let paths: Vec<&str> = names.iter().map(String::as_str).collect();
        // Small files: runs of BLOCK_RUN_FILES.
        let runs = block_runs(&paths, |_| 100);
        assert_eq!(
            runs.iter().map(|run| run.len()).collect::<Vec<_>>(),
            [512, 512, 476]
        );
        // Large files: cut by bytes, every file in exactly one run, in order.
        let size = BLOCK_RUN_BYTES / 4 + 1;
        let runs = block_runs(&paths, |_| size);
        assert!(
            runs.iter()
                .all(|run| run.len() == 3 || run.len() == 1500 % 3)
        );
        assert_eq!(runs.concat(), paths);
        // A file larger than the budget is a run of its own.
        let runs = block_runs(&paths[..3], |path| {
            if path == "f1" { BLOCK_RUN_BYTES * 2 } else { 1 }
        });
        assert_eq!(runs, [&paths[0..1], &paths[1..2], &paths[2..3]]);
        assert!(block_runs(&[], |_| 1).is_empty());
    }
}
