//! The concurrent engine under real threads: writers, readers holding
//! snapshots, and the background worker flushing and compacting, all at
//! once; every snapshot is checked for consistency, and the final state
//! against a model built from the writers' acknowledged writes.
//!
//! Bounded by operation counts, not wall-clock time: each writer does a
//! fixed number of writes, readers run until the writers are done (plus a
//! minimum number of rounds), so a slow machine takes longer but does the
//! same checks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use kausal_storage::{
    BlockId, BlockView, Config, ContextBlock, Database, EdgeType, GraphEdge, Snapshot,
    StorageError, SyncMode, WriteBatch,
};
use kausal_tests::{open, scratch_dir};

const WRITERS: u128 = 3;
const READERS: usize = 2;
/// Writes (single puts, deletes or batches) per writer.
const WRITES_PER_WRITER: usize = 6_000;
/// Single blocks each writer owns (ids `base + 1 ..= base + BLOCKS`).
const BLOCKS: u128 = 120;
/// Groups each writer owns: a group's blocks are always rewritten together
/// in one `write_batch`, with a marker edge naming the group's version.
const GROUPS: u128 = 6;
const GROUP_SIZE: u128 = 4;
/// Rounds each reader runs at least, even if the writers finish first.
const MIN_READER_ROUNDS: usize = 40;

/// Writers' id ranges are far apart: a block delete also deletes the edges
/// entering it, so no id of one writer may be another writer's marker.
fn writer_base(writer: u128) -> u128 {
    (writer + 1) << 48
}

fn block_id(writer: u128, n: u128) -> BlockId {
    BlockId::from_u128(writer_base(writer) + 1 + n)
}

/// Member `m` of group `g` of `writer`.
fn group_id(writer: u128, g: u128, m: u128) -> BlockId {
    BlockId::from_u128(writer_base(writer) + (1 << 32) + (g << 8) + m)
}

/// The target of the marker edge of a group at `version`: a block that
/// never exists, its id naming the version.
fn marker_id(writer: u128, g: u128, version: u64) -> BlockId {
    BlockId::from_u128(writer_base(writer) + (2 << 32) + (g << 24) + u128::from(version))
}

/// Content of block `id` at `version`: derived from both, with a length
/// that varies, so a reader can verify any version it sees.
fn content(id: BlockId, version: u64) -> String {
    let unit = format!("fn block_{id}_v{version}() {{}}\n");
    let raw = id.as_bytes().iter().map(|&b| u64::from(b)).sum::<u64>();
    let len = 150 + ((raw * 31 + version * 17) % 500) as usize;
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

fn block_at(id: BlockId, version: u64) -> ContextBlock {
    ContextBlock::new(
        id,
        format!("stress/{id}.rs"),
        format!(r#"{{"version":{version}}}"#),
        content(id, version),
    )
}

/// The version a stored block claims, after checking that every field is
/// what `block_at(id, version)` wrote.
fn verified_version(view: &BlockView<'_>, snapshot_sequence: u64) -> u64 {
    let version: u64 = view
        .metadata_json
        .strip_prefix(r#"{"version":"#)
        .and_then(|rest| rest.strip_suffix('}'))
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("{}: unreadable metadata {:?}", view.id, view.metadata_json));
    let expected = block_at(view.id, version);
    assert_eq!(view.source_uri, expected.source_uri, "{}", view.id);
    assert!(
        view.content == expected.content,
        "{} v{version}: content differs",
        view.id
    );
    assert!(
        view.sequence <= snapshot_sequence,
        "{}: sequence {} is newer than the snapshot's {snapshot_sequence}",
        view.id,
        view.sequence
    );
    version
}

/// What one writer acknowledged: per block, its last version (None when
/// deleted); per group, its version.
#[derive(Debug, Default)]
struct WriterModel {
    blocks: BTreeMap<BlockId, Option<u64>>,
    groups: BTreeMap<u128, u64>,
}

fn stress_config() -> Config {
    Config::builder()
        .memtable_budget_bytes(128 * 1024)
        .wal_segment_bytes(256 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(true)
        .background_worker(true)
        .compaction_min_tables(4)
        .compaction_base_bytes(256 * 1024)
        .build()
}

/// One writer's fixed sequence of writes; returns what was acknowledged.
fn run_writer(db: &Database, writer: u128, start: &Barrier) -> WriterModel {
    let mut model = WriterModel::default();
    let mut rng = fastrand::Rng::with_seed(0x5eed + writer as u64);
    let mut versions = [0u64; BLOCKS as usize];
    start.wait();
    for _ in 0..WRITES_PER_WRITER {
        let roll = rng.u32(0..100);
        if roll < 15 {
            // A group rewritten atomically, its marker edge moved with it.
            let g = rng.u128(0..GROUPS);
            let old = model.groups.get(&g).copied();
            let version = old.map_or(1, |v| v + 1);
            let mut batch = WriteBatch::new();
            for m in 0..GROUP_SIZE {
                batch
                    .put_block(block_at(group_id(writer, g, m), version))
                    .expect("batch");
            }
            if let Some(old) = old {
                batch
                    .delete_edge(GraphEdge::new(
                        group_id(writer, g, 0),
                        marker_id(writer, g, old),
                        EdgeType::References,
                    ))
                    .expect("batch");
            }
            batch
                .put_edge(GraphEdge::new(
                    group_id(writer, g, 0),
                    marker_id(writer, g, version),
                    EdgeType::References,
                ))
                .expect("batch");
            db.write_batch(&batch).expect("write_batch");
            model.groups.insert(g, version);
        } else {
            let n = rng.u128(0..BLOCKS);
            let id = block_id(writer, n);
            versions[n as usize] += 1;
            let version = versions[n as usize];
            if roll < 22 {
                db.delete_block(id).expect("delete");
                model.blocks.insert(id, None);
            } else {
                db.put_block(&block_at(id, version)).expect("put");
                model.blocks.insert(id, Some(version));
            }
        }
    }
    model
}

/// Everything a snapshot answers about the stressed ids: per block its
/// version (None when absent), per group its version, all checked.
type Answers = BTreeMap<BlockId, Option<u64>>;

/// Reads every id the writers own through `snapshot`, verifying each block
/// and the atomicity of each group (all members and the marker edge at one
/// version, or none of them).
fn read_all(snapshot: &Snapshot, edges: &mut Vec<GraphEdge>) -> Answers {
    let sequence = snapshot.sequence();
    let mut answers = Answers::new();
    for writer in 0..WRITERS {
        for n in 0..BLOCKS {
            let id = block_id(writer, n);
            let version = snapshot
                .find_block(id)
                .expect("find")
                .map(|view| verified_version(&view, sequence));
            answers.insert(id, version);
        }
        for g in 0..GROUPS {
            let mut versions = Vec::new();
            for m in 0..GROUP_SIZE {
                let id = group_id(writer, g, m);
                let version = snapshot
                    .find_block(id)
                    .expect("find")
                    .map(|view| verified_version(&view, sequence));
                answers.insert(id, version);
                versions.push(version);
            }
            assert!(
                versions.iter().all(|v| *v == versions[0]),
                "group {writer}/{g} partly visible at sequence {sequence}: {versions:?}"
            );
            snapshot
                .find_outgoing_edges_into(group_id(writer, g, 0), edges)
                .expect("edges");
            let markers: Vec<BlockId> = edges.iter().map(|edge| edge.target).collect();
            let expected: Vec<BlockId> = versions[0]
                .map(|v| marker_id(writer, g, v))
                .into_iter()
                .collect();
            assert_eq!(
                markers, expected,
                "group {writer}/{g}: marker edges disagree with its blocks at sequence {sequence}"
            );
        }
    }
    answers
}

/// A full scan: (id, sequence, content length) per live block.
type Scan = Vec<(BlockId, u64, usize)>;

/// The full scan of a snapshot.
fn scan(snapshot: &Snapshot) -> Scan {
    snapshot
        .iterate_blocks()
        .expect("iterate")
        .map(|view| {
            let view = view.expect("scan");
            (view.id, view.sequence, view.content.len())
        })
        .collect()
}

/// One reader: snapshots in a loop; each is checked, some are held across
/// later rounds and re-read to show their answers did not change.
fn run_reader(db: &Database, reader: usize, writers_done: &AtomicBool, start: &Barrier) -> usize {
    let mut rng = fastrand::Rng::with_seed(0xbeef + reader as u64);
    let mut edges = Vec::new();
    let mut last_sequence = 0u64;
    // Highest version seen per block: versions only grow, so a later
    // snapshot never shows an older one.
    let mut highest: BTreeMap<BlockId, u64> = BTreeMap::new();
    let mut held: Vec<(Snapshot, Answers, Scan)> = Vec::new();
    let mut rounds = 0;
    start.wait();
    while rounds < MIN_READER_ROUNDS || !writers_done.load(Ordering::Acquire) {
        rounds += 1;
        let snapshot = db.snapshot();
        let sequence = snapshot.sequence();
        assert!(
            sequence >= last_sequence,
            "reader {reader}: sequence went back from {last_sequence} to {sequence}"
        );
        last_sequence = sequence;
        let answers = read_all(&snapshot, &mut edges);
        for (id, version) in &answers {
            if let Some(version) = version {
                let seen = highest.entry(*id).or_insert(0);
                assert!(
                    *version >= *seen,
                    "reader {reader}: {id} went back from v{seen} to v{version}"
                );
                *seen = *version;
            }
        }
        // The scan agrees with the point reads.
        let scanned = scan(&snapshot);
        let live: Vec<BlockId> = answers
            .iter()
            .filter(|(_, version)| version.is_some())
            .map(|(id, _)| *id)
            .collect();
        let scanned_ids: Vec<BlockId> = scanned.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(scanned_ids, live, "reader {reader}: scan and point reads");
        // Hold some snapshots while writers, flushes and compactions go on.
        if rng.u32(0..4) == 0 {
            held.push((snapshot, answers, scanned));
        }
        if held.len() > 3 || (!held.is_empty() && rng.u32(0..3) == 0) {
            let (snapshot, answers, scanned) = held.remove(rng.usize(0..held.len()));
            assert_eq!(
                read_all(&snapshot, &mut edges),
                answers,
                "reader {reader}: a held snapshot changed its answers"
            );
            assert_eq!(
                scan(&snapshot),
                scanned,
                "reader {reader}: held scan changed"
            );
        }
        std::thread::yield_now();
    }
    for (snapshot, answers, scanned) in held {
        assert_eq!(read_all(&snapshot, &mut edges), answers);
        assert_eq!(scan(&snapshot), scanned);
    }
    rounds
}

/// The final state: exactly the union of the writers' acknowledged writes.
fn check_model(snapshot: &Snapshot, models: &[WriterModel]) {
    let mut edges = Vec::new();
    let answers = read_all(snapshot, &mut edges);
    let mut expected = Answers::new();
    for (writer, model) in models.iter().enumerate() {
        let writer = writer as u128;
        for n in 0..BLOCKS {
            let id = block_id(writer, n);
            expected.insert(id, model.blocks.get(&id).copied().flatten());
        }
        for g in 0..GROUPS {
            for m in 0..GROUP_SIZE {
                expected.insert(group_id(writer, g, m), model.groups.get(&g).copied());
            }
        }
    }
    assert_eq!(answers, expected, "final state against the model");
    let live = expected.values().filter(|v| v.is_some()).count();
    assert_eq!(scan(snapshot).len(), live, "no block beyond the model");
}

#[test]
fn writers_readers_flushes_and_compactions_keep_snapshots_consistent() {
    let (_guard, dir) = scratch_dir();
    let db = open(&dir, stress_config());
    let writers_done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(WRITERS as usize + READERS));
    let finished_writers = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|reader| {
            let (db, done, start) = (db.clone(), Arc::clone(&writers_done), Arc::clone(&start));
            std::thread::spawn(move || run_reader(&db, reader, &done, &start))
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (db, done, start, finished) = (
                db.clone(),
                Arc::clone(&writers_done),
                Arc::clone(&start),
                Arc::clone(&finished_writers),
            );
            std::thread::spawn(move || {
                let model = run_writer(&db, writer, &start);
                if finished.fetch_add(1, Ordering::AcqRel) + 1 == WRITERS as usize {
                    done.store(true, Ordering::Release);
                }
                model
            })
        })
        .collect();
    let models: Vec<WriterModel> = writers
        .into_iter()
        .map(|writer| writer.join().expect("writer thread"))
        .collect();
    let rounds: Vec<usize> = readers
        .into_iter()
        .map(|reader| reader.join().expect("reader thread"))
        .collect();
    assert!(rounds.iter().all(|&r| r >= MIN_READER_ROUNDS));

    check_model(&db.snapshot(), &models);
    let metrics = db.metrics();
    assert!(
        metrics.flushes >= 40,
        "the test must cross many flushes: {} flushes",
        metrics.flushes
    );
    assert!(
        metrics.compactions >= 1,
        "the test must cross compactions: {} compactions",
        metrics.compactions
    );
    assert_eq!(metrics.background_errors, 0);

    // The same state after a flush, a full compaction and a reopen.
    db.flush().expect("flush");
    db.compact_all().expect("compact_all");
    check_model(&db.snapshot(), &models);
    db.shutdown().expect("shutdown");
    let db = open(&dir, stress_config());
    check_model(&db.snapshot(), &models);
}

#[test]
fn durable_writes_from_four_threads_share_fsyncs() {
    const THREADS: u128 = 4;
    const PUTS: u128 = 60;
    let (_guard, dir) = scratch_dir();
    let config = Config::builder()
        .memtable_budget_bytes(64 * 1024 * 1024)
        .sync_mode(SyncMode::EveryWrite)
        .auto_compact(false)
        .build();
    let db = open(&dir, config.clone());
    let before = db.metrics();
    // Whether any fsync is shared depends on timing; a few rounds of
    // fixed size make it all but certain without a wall-clock loop.
    let mut writes = 0u64;
    for round in 0..10u128 {
        let start = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (db, start) = (db.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    for n in 0..PUTS {
                        let id = BlockId::from_u128(1 + round * 10_000 + thread * 1_000 + n);
                        db.put_block(&block_at(id, 1)).expect("durable put");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer thread");
        }
        writes += (THREADS * PUTS) as u64;
        if db.metrics().group_commit_followers > before.group_commit_followers {
            break;
        }
    }
    let metrics = db.metrics();
    let syncs = metrics.wal_syncs - before.wal_syncs;
    assert!(
        metrics.group_commit_followers > 0,
        "no writer shared another's fsync in {writes} writes"
    );
    assert!(
        syncs < writes,
        "{syncs} fsyncs for {writes} durable writes: group commit shared none"
    );
    // Every acknowledged durable write survives a reopen.
    drop(db);
    let db = open(&dir, config);
    let snapshot = db.snapshot();
    let live = snapshot.iterate_blocks().expect("iterate").count() as u64;
    assert_eq!(live, writes);
}

#[test]
fn shutdown_closes_every_clone_and_keeps_acknowledged_writes() {
    let (_guard, dir) = scratch_dir();
    let config = stress_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024)
        .build();
    let db = open(&dir, config.clone());
    let shutdown_returned = Arc::new(AtomicBool::new(false));
    let acked_count = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (db, returned, acked_count) = (
            db.clone(),
            Arc::clone(&shutdown_returned),
            Arc::clone(&acked_count),
        );
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            for n in 1u128.. {
                let after_shutdown = returned.load(Ordering::Acquire);
                let id = BlockId::from_u128(n);
                match db.put_block(&block_at(id, 1)) {
                    Ok(_) => {
                        assert!(!after_shutdown, "a write after shutdown returned succeeded");
                        acked.push(id);
                        acked_count.store(acked.len(), Ordering::Release);
                    }
                    Err(StorageError::Closed { .. }) => break,
                    Err(error) => panic!("unexpected error: {error}"),
                }
            }
            // Every later call on this clone fails the same way.
            assert!(matches!(
                db.delete_block(BlockId::from_u128(1)),
                Err(StorageError::Closed { .. })
            ));
            assert!(matches!(db.flush(), Err(StorageError::Closed { .. })));
            acked
        })
    };
    let held = db.clone();
    // Let the writer get going (and cross a flush or two) first.
    while acked_count.load(Ordering::Acquire) < 500 {
        std::thread::yield_now();
    }
    let snapshot = db.snapshot();
    db.shutdown().expect("shutdown");
    shutdown_returned.store(true, Ordering::Release);
    let acked = writer.join().expect("writer thread");
    assert!(matches!(
        held.put_block(&block_at(BlockId::from_u128(1), 2)),
        Err(StorageError::Closed { .. })
    ));
    // A snapshot taken before still reads.
    assert!(snapshot.sequence() > 0);
    assert!(snapshot.iterate_blocks().expect("iterate").count() >= 500);
    drop((held, snapshot));
    // Every write acknowledged before the clones saw `Closed` is there.
    let db = open(&dir, config);
    let snapshot = db.snapshot();
    for id in &acked {
        let view = snapshot
            .find_block(*id)
            .expect("find")
            .expect("acked block");
        verified_version(&view, snapshot.sequence());
    }
    assert_eq!(
        snapshot.iterate_blocks().expect("iterate").count(),
        acked.len()
    );
}

#[test]
fn snapshot_reads_after_compaction_removed_its_tables() {
    let (_guard, dir) = scratch_dir();
    let config = stress_config()
        .into_builder()
        .memtable_budget_bytes(64 * 1024 * 1024)
        .auto_compact(false)
        .build();
    let db = open(&dir, config);
    let mut expected = BTreeMap::new();
    for table in 0..5u128 {
        for n in 0..40u128 {
            // Later tables overwrite some blocks of earlier ones.
            let id = BlockId::from_u128(1 + (table * 25 + n) % 150);
            let version = table as u64 + 1;
            db.put_block(&block_at(id, version)).expect("put");
            expected.insert(id, version);
        }
        db.flush().expect("flush");
    }
    let table_files = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sst"))
            .collect();
        names.sort();
        names
    };
    let before = table_files(&dir);
    assert_eq!(before.len(), 5);
    let snapshot = db.snapshot();
    assert_eq!(snapshot.sizes().tables, 5);
    assert!(db.compact_all().expect("compact_all"));
    let after = table_files(&dir);
    assert_eq!(after.len(), 1);
    assert!(
        before.iter().all(|name| !after.contains(name)),
        "the merged tables' files are gone: {before:?} -> {after:?}"
    );
    // Written over by a newer version after the snapshot: not visible to it.
    db.put_block(&block_at(BlockId::from_u128(1), 99))
        .expect("put");
    for (id, version) in &expected {
        let view = snapshot.find_block(*id).expect("find").expect("block");
        assert_eq!(
            verified_version(&view, snapshot.sequence()),
            *version,
            "{id}"
        );
    }
    assert_eq!(scan(&snapshot).len(), expected.len());
    // A new snapshot reads the merged table (and the newer write).
    let fresh = db.snapshot();
    assert_eq!(fresh.sizes().tables, 1);
    let view = fresh
        .find_block(BlockId::from_u128(1))
        .expect("find")
        .expect("block");
    assert_eq!(verified_version(&view, fresh.sequence()), 99);
}
