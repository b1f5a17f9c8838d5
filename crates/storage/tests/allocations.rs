//! Proves the hot paths allocate nothing in steady state, with a counting
//! global allocator (counts are per thread, so parallel tests do not mix).
//! Steady state means: between memtable flushes and WAL segment rotations,
//! after the memtable's maps and the edge scratch buffer have grown once,
//! and with no snapshot held across the writes (while one is, writes go to
//! the memtable's persistent delta and copy the paths they change there:
//! allocations proportional to snapshots taken, not to writes; the first
//! write after it is dropped moves the delta back into the flat tables). A
//! flush starts a new memtable, whose tables grow again. Reads allocate
//! nothing once a snapshot is taken.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use kausal_storage::{BlockId, Config, ContextBlock, Database, EdgeType, GraphEdge, SyncMode};
use kausal_vfs::OsVfs;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; only adds a thread-local counter
// whose `const` initialiser never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(work: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

fn id(n: u128) -> BlockId {
    BlockId::from_u128(n)
}

fn engine(dir: &std::path::Path) -> Database {
    let config = Config::builder()
        .memtable_budget_bytes(16 * 1024 * 1024)
        .wal_segment_bytes(64 * 1024 * 1024)
        .sync_mode(SyncMode::Manual)
        .auto_compact(false)
        .build();
    Database::open_with(Arc::new(OsVfs::new()), dir, config).unwrap()
}

#[test]
fn put_block_allocates_nothing_in_steady_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let mut block = ContextBlock::new(
        id(1),
        "src/lib.rs",
        r#"{"name":"f","kind":"function"}"#,
        "x".repeat(1024),
    );
    for n in 1..=2000u128 {
        block.id = id(n);
        engine.put_block(&block).unwrap();
    }
    let count = allocations_during(|| {
        for n in 1..=2000u128 {
            block.id = id(n);
            engine.put_block(&block).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 2000 steady-state put_block calls");
}

/// Once a snapshot is dropped, puts are back to allocating nothing: the
/// engine no longer keeps its stale published version (which shared the
/// memtable's maps, so that every later put copied a path of them).
#[test]
fn put_block_allocates_nothing_after_a_snapshot_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let mut block = ContextBlock::new(id(1), "src/lib.rs", "{}", "x".repeat(1024));
    for n in 1..=2000u128 {
        block.id = id(n);
        engine.put_block(&block).unwrap();
    }
    let snapshot = engine.snapshot();
    for n in 1..=100u128 {
        block.id = id(n);
        engine.put_block(&block).unwrap();
    }
    assert_eq!(snapshot.find_block(id(1)).unwrap().unwrap().sequence, 1);
    drop(snapshot);
    engine.put_block(&block).unwrap();
    let count = allocations_during(|| {
        for n in 1..=2000u128 {
            block.id = id(n);
            engine.put_block(&block).unwrap();
        }
    });
    assert_eq!(
        count, 0,
        "allocations in 2000 put_block calls after a snapshot"
    );
}

#[test]
fn find_block_allocates_nothing_in_memtable_table_or_miss() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    for n in 1..=500u128 {
        let block = ContextBlock::new(id(n), "src/a.rs", "{}", "y".repeat(1024));
        engine.put_block(&block).unwrap();
    }
    engine.flush().unwrap();
    for n in 501..=1000u128 {
        let block = ContextBlock::new(id(n), "src/b.rs", "{}", "z".repeat(1024));
        engine.put_block(&block).unwrap();
    }
    let mut total = 0usize;
    let snapshot = engine.snapshot();
    let count = allocations_during(|| {
        for n in 1..=1000u128 {
            total += snapshot.find_block(id(n)).unwrap().unwrap().content.len();
        }
        for n in 5000..6000u128 {
            assert!(snapshot.find_block(id(n)).unwrap().is_none());
        }
    });
    assert_eq!(total, 1000 * 1024);
    assert_eq!(count, 0, "allocations in 2000 find_block calls");
}

#[test]
fn edge_lookup_allocates_nothing_in_steady_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    for target in 2..=6u128 {
        engine
            .put_edge(GraphEdge::new(id(1), id(target), EdgeType::Calls))
            .unwrap();
    }
    engine.flush().unwrap();
    for target in 7..=11u128 {
        engine
            .put_edge(GraphEdge::new(id(1), id(target), EdgeType::Calls))
            .unwrap();
        engine
            .put_edge(GraphEdge::new(id(target), id(1), EdgeType::Imports))
            .unwrap();
    }
    let mut out = Vec::new();
    let snapshot = engine.snapshot();
    snapshot
        .find_outgoing_edges_into(id(1), &mut out)
        .expect("read");
    snapshot
        .find_incoming_edges_into(id(1), &mut out)
        .expect("read");
    let count = allocations_during(|| {
        for _ in 0..1000 {
            snapshot
                .find_outgoing_edges_into(id(1), &mut out)
                .expect("read");
            assert_eq!(out.len(), 10);
            snapshot
                .find_incoming_edges_into(id(1), &mut out)
                .expect("read");
            assert_eq!(out.len(), 5);
        }
    });
    assert_eq!(count, 0, "allocations in 2000 edge lookups");
}

#[test]
fn the_counter_sees_allocations() {
    let count = allocations_during(|| {
        std::hint::black_box(Box::new([0u8; 64]));
        std::hint::black_box(vec![1u32; 10]);
    });
    assert_eq!(count, 2);
}

#[test]
fn put_edge_allocates_nothing_once_adjacency_lists_are_warm() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let edges: Vec<GraphEdge> = (0..5_000u128)
        .map(|i| GraphEdge::new(id(i % 500 + 1), id((i * 7) % 500 + 1), EdgeType::Calls))
        .collect();
    for edge in &edges {
        engine.put_edge(*edge).unwrap();
    }
    // The memtable's lists and maps now hold every triple: re-putting them
    // updates entries in place.
    let count = allocations_during(|| {
        for edge in &edges {
            engine.put_edge(*edge).unwrap();
        }
    });
    assert_eq!(count, 0, "allocations in 5000 put_edge calls after warm-up");
}
