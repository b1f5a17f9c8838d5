//! The streamed compaction writes, byte for byte, the table the buffered
//! one (every edge in memory, sorted, deduplicated, then
//! `finish_legacy`) wrote; its two edge passes keep the same edge set.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use kausal_vfs::{OsVfs, Vfs};
use proptest::prelude::*;

use super::edges::{any_table, merge_edges};
use super::merge_blocks;
use crate::engine::tables::TableDir;
use crate::sstable::reader::Table;
use crate::sstable::writer::TableWriter;
use crate::sstable::{EdgeEntry, TableMeta, table_path};
use crate::{BlockId, BlockView, EdgeType, GraphEdge, StorageResult};

/// The compaction as it was before its edges streamed (issue 23).
fn write_merged_table_legacy(
    dir: TableDir<'_>,
    tables: &[Arc<Table>],
    range: &Range<usize>,
    table_id: u64,
) -> StorageResult<TableMeta> {
    let sources = &tables[range.clone()];
    let older = &tables[..range.start];
    let mut writer = TableWriter::create(dir.vfs, dir.dir, table_id)?;
    merge_blocks(&mut writer, sources, older)?;
    let mut edges: Vec<EdgeEntry> = Vec::new();
    for table in sources {
        for position in 0..table.edge_count() {
            edges.push(table.edge_entry(position, false)?);
        }
    }
    edges.sort_unstable_by_key(|entry| (entry.out_key(), std::cmp::Reverse(entry.sequence)));
    edges.dedup_by_key(|entry| entry.edge);
    let mut kept = Vec::with_capacity(edges.len());
    for entry in edges {
        if entry.live || any_table(older, |table| table.has_edge(&entry))? {
            kept.push(entry);
        }
    }
    let mut edges = kept;
    let meta = writer.finish_legacy(&mut edges)?;
    dir.vfs.sync_dir(dir.dir)?;
    Ok(meta)
}

/// One source table: block ids (live or tombstone) and edge triples
/// (source, target, type, live), each at most once.
#[derive(Debug, Clone)]
struct Spec {
    blocks: BTreeMap<u8, bool>,
    edges: BTreeMap<(u8, u8, u8), bool>,
}

fn spec(ids: u8, types: u8, max_edges: usize) -> impl Strategy<Value = Spec> {
    (
        prop::collection::btree_map(0..ids, any::<bool>(), 0..8),
        prop::collection::btree_map((0..ids, 0..ids, 0..types), any::<bool>(), 0..max_edges),
    )
        .prop_map(|(blocks, edges)| Spec { blocks, edges })
}

/// Writes the blocks of `spec` (sequences from `base`) to `writer`.
fn add_blocks(writer: &mut TableWriter, spec: &Spec, base: u64) {
    for (n, (id, live)) in spec.blocks.iter().enumerate() {
        let sequence = base + n as u64;
        let id = BlockId::from_u128(*id as u128 + 1);
        if *live {
            let content = format!("block {id:?} at {sequence}");
            writer
                .add_block(&BlockView {
                    id,
                    sequence,
                    source_uri: "src/lib.rs",
                    metadata_json: "{}",
                    content: &content,
                })
                .unwrap();
        } else {
            writer.add_tombstone(id, sequence);
        }
    }
}

/// The edges of `spec`, sequences from `base`, in no particular order.
fn edge_entries(spec: &Spec, base: u64) -> Vec<EdgeEntry> {
    let mut edges: Vec<EdgeEntry> = spec
        .edges
        .iter()
        .enumerate()
        .map(|(n, ((source, target, kind), live))| EdgeEntry {
            edge: GraphEdge::new(
                BlockId::from_u128(*source as u128 + 1),
                BlockId::from_u128(*target as u128 + 1),
                EdgeType::ALL[*kind as usize],
            ),
            sequence: base + 1000 + n as u64,
            live: *live,
        })
        .collect();
    edges.reverse();
    edges
}

/// Writes and opens table `id` holding `spec`; table `id` is newer than
/// every table with a smaller id (its sequences are higher).
fn source_table(vfs: &Arc<dyn Vfs>, dir: &Path, id: u64, spec: &Spec) -> Arc<Table> {
    let base = id * 10_000;
    let mut writer = TableWriter::create(vfs, dir, id).unwrap();
    add_blocks(&mut writer, spec, base);
    writer.finish(&mut edge_entries(spec, base)).unwrap();
    Arc::new(Table::open(vfs.as_ref(), &table_path(dir, id), id).unwrap())
}

/// Merges `specs[start..]` (older ones: `specs[..start]`) both ways and
/// compares the files and the two passes' edge sets.
fn check_merge(specs: &[Spec], start: usize) {
    let root = tempfile::tempdir().unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
    let [sources_dir, new_dir, old_dir] =
        ["sources", "new", "old"].map(|name| root.path().join(name));
    for dir in [&sources_dir, &new_dir, &old_dir] {
        std::fs::create_dir(dir).unwrap();
    }
    let tables: Vec<Arc<Table>> = specs
        .iter()
        .enumerate()
        .map(|(n, spec)| source_table(&vfs, &sources_dir, n as u64 + 1, spec))
        .collect();
    let range = start.min(tables.len() - 1)..tables.len();
    let id = 99;
    let new = TableDir {
        vfs: &vfs,
        dir: &new_dir,
    }
    .write_merged_table(&tables, &range, id)
    .unwrap();
    let old = write_merged_table_legacy(
        TableDir {
            vfs: &vfs,
            dir: &old_dir,
        },
        &tables,
        &range,
        id,
    )
    .unwrap();
    assert_eq!(new, old);
    let new_bytes = std::fs::read(table_path(&new_dir, id)).unwrap();
    let old_bytes = std::fs::read(table_path(&old_dir, id)).unwrap();
    assert!(new_bytes == old_bytes, "merged tables differ");
    Table::open(vfs.as_ref(), &table_path(&new_dir, id), id)
        .unwrap()
        .verify_all()
        .unwrap();

    let (sources, older) = (&tables[range.clone()], &tables[..range.start]);
    let pass = |incoming: bool| {
        let mut kept = Vec::new();
        merge_edges(sources, older, incoming, |entry| {
            kept.push(*entry);
            Ok(())
        })
        .unwrap();
        kept.sort_unstable_by_key(EdgeEntry::out_key);
        kept
    };
    assert_eq!(pass(false), pass(true));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Few ids: the same triples in several tables with different
    /// sequences, live and dead, with and without an older table holding
    /// them; tombstones and blocks likewise.
    #[test]
    fn a_streamed_merge_writes_the_buffered_merges_bytes(
        specs in prop::collection::vec(spec(5, 2, 30), 1..7),
        start in 0usize..4,
    ) {
        check_merge(&specs, start);
    }

    /// Sections of several pages, so pages and filter keys span tables.
    #[test]
    fn a_streamed_merge_of_many_pages_matches_too(
        specs in prop::collection::vec(spec(40, 3, 900), 2..5),
        start in 0usize..3,
    ) {
        check_merge(&specs, start);
    }

    /// `finish` (the memtable flush) streams the sections too, to the same
    /// bytes as before.
    #[test]
    fn finish_writes_the_buffered_finishs_bytes(spec in spec(30, 3, 700)) {
        let root = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
        let mut written = Vec::new();
        for (name, legacy) in [("new", false), ("old", true)] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let mut writer = TableWriter::create(&vfs, &dir, 7).unwrap();
            add_blocks(&mut writer, &spec, 70_000);
            let mut edges = edge_entries(&spec, 70_000);
            let meta = if legacy {
                writer.finish_legacy(&mut edges)
            } else {
                writer.finish(&mut edges)
            };
            written.push((meta.unwrap(), std::fs::read(table_path(&dir, 7)).unwrap()));
        }
        prop_assert_eq!(written[0].0, written[1].0);
        prop_assert!(written[0].1 == written[1].1, "tables differ");
    }
}

/// Peak memory and time of one compaction of large tables, streamed or
/// buffered (the code before issue 23). Ignored by default; run in release,
/// one merge per process:
///
/// ```text
/// KAUSAL_MEASURE_EDGES=4000000 KAUSAL_MEASURE_PATH=new \
///   cargo test --release -p kausal-storage --lib compaction_memory -- --ignored --nocapture
/// ```
///
/// Memory is the peak of the process's anonymous resident set (`RssAnon`,
/// sampled every millisecond) over the merge, minus its value before: the
/// heap the merge adds, without the source tables' mapped pages.
mod measure {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    use kausal_vfs::{OsVfs, Vfs};

    use super::write_merged_table_legacy;
    use crate::engine::tables::TableDir;
    use crate::sstable::reader::Table;
    use crate::sstable::writer::TableWriter;
    use crate::sstable::{EdgeEntry, table_path};
    use crate::{BlockId, EdgeType, GraphEdge};

    const TABLES: u64 = 4;

    fn rss_anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("RssAnon:"))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// xorshift64*: a fixed pseudo-random graph.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Table `id` of `edges` edges among a million nodes; one in 20 is dead.
    fn write_source(vfs: &Arc<dyn Vfs>, dir: &std::path::Path, id: u64, edges: u64) -> Arc<Table> {
        let mut state = 0x9e37_79b9_7f4a_7c15 ^ id;
        let mut entries: Vec<EdgeEntry> = (0..edges)
            .map(|n| {
                let source = next(&mut state) % 1_000_000;
                let target = next(&mut state) % 1_000_000;
                let kind = EdgeType::ALL[(next(&mut state) % 4) as usize];
                EdgeEntry {
                    edge: GraphEdge::new(
                        BlockId::from_u128(source as u128 + 1),
                        BlockId::from_u128(target as u128 + 1),
                        kind,
                    ),
                    sequence: id * 100_000_000 + n,
                    live: !next(&mut state).is_multiple_of(20),
                }
            })
            .collect();
        entries.sort_unstable_by_key(EdgeEntry::out_key);
        entries.dedup_by_key(|entry| entry.edge);
        TableWriter::create(vfs, dir, id)
            .unwrap()
            .finish(&mut entries)
            .unwrap();
        Arc::new(Table::open(vfs.as_ref(), &table_path(dir, id), id).unwrap())
    }

    #[test]
    #[ignore = "a measurement: run in release, see the module's documentation"]
    fn compaction_memory() {
        let edges: u64 =
            std::env::var("KAUSAL_MEASURE_EDGES").map_or(4_000_000, |value| value.parse().unwrap());
        let legacy = std::env::var("KAUSAL_MEASURE_PATH").is_ok_and(|path| path == "old");
        let root = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
        // The first table is older than the merge, so dead edges are looked up.
        let tables: Vec<Arc<Table>> = (1..=TABLES + 1)
            .map(|id| write_source(&vfs, root.path(), id, edges / TABLES))
            .collect();
        let range = 1..tables.len();
        let dir = TableDir {
            vfs: &vfs,
            dir: root.path(),
        };
        let before = rss_anon_kib();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(rss_anon_kib());
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                peak.max(rss_anon_kib())
            })
        };
        let started = Instant::now();
        let meta = if legacy {
            write_merged_table_legacy(dir, &tables, &range, 1000).unwrap()
        } else {
            dir.write_merged_table(&tables, &range, 1000).unwrap()
        };
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        println!(
            "path={} source_edges={} merged_edges={} size_mb={:.0} time_ms={} rss_anon_before_mb={:.1} merge_peak_added_mb={:.1}",
            if legacy { "old" } else { "new" },
            edges,
            meta.edge_count,
            meta.size as f64 / 1e6,
            elapsed.as_millis(),
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0,
        );
    }
}
