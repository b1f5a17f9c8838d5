//! Criterion bench of the coordinator's hot operations: storing and
//! resolving 1 KiB payloads and resetting a full arena.

use criterion::{Criterion, criterion_group, criterion_main};
use kausal_memory::ArenaCoordinator;
use std::hint::black_box;

fn store_and_resolve(c: &mut Criterion) {
    let payload = vec![7u8; 1024];
    let mut arena = ArenaCoordinator::with_capacity(64 * 1024 * 1024);
    c.bench_function("store_bytes_1KiB", |b| {
        b.iter(|| {
            if arena.used_bytes() > 60 * 1024 * 1024 {
                arena.reset();
            }
            black_box(arena.store_bytes(black_box(&payload)));
        })
    });
    let arena = ArenaCoordinator::new();
    let handle = arena.store_bytes(&payload);
    c.bench_function("resolve_bytes", |b| {
        b.iter(|| black_box(arena.resolve_bytes(black_box(handle)).map(|s| s.len())))
    });
    let mut arena = ArenaCoordinator::with_capacity(16 * 1024 * 1024);
    c.bench_function("reset_after_10k_allocations", |b| {
        b.iter(|| {
            for _ in 0..10_000 {
                black_box(arena.store_bytes(&payload[..100]));
            }
            arena.reset();
        })
    });
}

criterion_group!(benches, store_and_resolve);
criterion_main!(benches);
