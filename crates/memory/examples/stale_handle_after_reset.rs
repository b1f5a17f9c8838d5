//! A handle that outlives a reset is an error, never a read of freed memory.
//!
//! `ArenaCoordinator::reset` frees everything in O(1) and starts a new
//! generation. Handles carry the generation (and the coordinator) they were
//! made in, so resolving an old handle, or one made by another coordinator,
//! returns `MemoryError` instead of bytes that may have been overwritten.
//!
//! Run: `cargo run -p kausal-memory --example stale_handle_after_reset`

use kausal_memory::{ArenaCoordinator, MemoryError};

fn main() {
    let mut arena = ArenaCoordinator::with_capacity(1024);
    let old = arena.store_str("fn parse() {}");
    let old_bytes = arena.store_bytes(&[0xca, 0xfe]);
    let old_text = arena.resolve_str(old).expect("a fresh handle resolves");
    let old_address = old_text.as_ptr() as usize;
    println!("generation 0: {old_text:?} at {old_address:#x}");
    assert!(arena.is_live(old_bytes));

    arena.reset();
    // The arena keeps its chunk and usually hands the same memory out again: a
    // reader still trusting `old` would see these bytes, not its own.
    let new = arena.store_str("fn other() {}");
    let new_text = arena.resolve_str(new).expect("a fresh handle resolves");
    let new_address = new_text.as_ptr() as usize;
    println!(
        "generation 1: {new_text:?} at {new_address:#x} (same memory: {})",
        new_address == old_address
    );

    match arena.resolve_str(old) {
        Err(error @ MemoryError::StaleHandle { .. }) => println!("old handle: {error}"),
        other => panic!("a stale handle must be refused, got {other:?}"),
    }
    // `is_live` asks the same question without the error.
    assert!(!arena.is_live(old_bytes));

    let elsewhere = ArenaCoordinator::new();
    match elsewhere.resolve_str(new) {
        Err(error @ MemoryError::ForeignHandle { .. }) => println!("foreign handle: {error}"),
        other => panic!("a handle of another coordinator must be refused, got {other:?}"),
    }
}
