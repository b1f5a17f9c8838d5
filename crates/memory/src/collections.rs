//! Growable collections (vectors, hash maps) whose memory comes from an
//! `ArenaCoordinator`, for per-query working sets: a traversal's visited
//! map and queue live in the query arena and vanish with its O(1) reset.
//!
//! `ArenaAllocator` adapts the coordinator to the `allocator-api2` trait
//! that hashbrown and allocator-api2's `Vec` accept, and counts what the
//! collections request in the coordinator's `used_bytes`.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use crate::ArenaCoordinator;

/// An allocator handle borrowing a coordinator's arena.
#[derive(Clone, Copy)]
pub struct ArenaAllocator<'a> {
    coordinator: &'a ArenaCoordinator,
}

impl std::fmt::Debug for ArenaAllocator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArenaAllocator")
    }
}

/// A vector in an arena.
pub type ArenaVec<'a, T> = allocator_api2::vec::Vec<T, ArenaAllocator<'a>>;
/// A hash map (Fx hashing) in an arena.
pub type ArenaMap<'a, K, V> =
    hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher, ArenaAllocator<'a>>;

// SAFETY: every method forwards to `&Bump`'s own `Allocator` implementation
// (bumpalo's, which upholds the trait's contract) without changing the
// pointers or layouts; the only addition is accounting in a `Cell`. Memory
// stays valid while the coordinator is borrowed, and `reset` needs `&mut`,
// so no collection built on this allocator can outlive a reset.
unsafe impl Allocator for ArenaAllocator<'_> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let memory = (&self.coordinator.arena).allocate(layout)?;
        self.coordinator.account(layout.size());
        Ok(memory)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with
        // `layout`; it came from the same bump arena.
        unsafe { (&self.coordinator.arena).deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded with the caller's guarantees unchanged.
        let memory = unsafe { (&self.coordinator.arena).grow(ptr, old_layout, new_layout)? };
        self.coordinator
            .account(new_layout.size().saturating_sub(old_layout.size()));
        Ok(memory)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded with the caller's guarantees unchanged.
        unsafe { (&self.coordinator.arena).shrink(ptr, old_layout, new_layout) }
    }
}

impl ArenaCoordinator {
    /// An allocator for collections that live until the next reset.
    pub fn allocator(&self) -> ArenaAllocator<'_> {
        ArenaAllocator { coordinator: self }
    }

    /// An empty vector in the arena.
    pub fn new_vec<T>(&self) -> ArenaVec<'_, T> {
        allocator_api2::vec::Vec::new_in(self.allocator())
    }

    /// An empty hash map in the arena.
    pub fn new_map<K, V>(&self) -> ArenaMap<'_, K, V> {
        hashbrown::HashMap::with_hasher_in(rustc_hash::FxBuildHasher, self.allocator())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::ArenaCoordinator;

    #[test]
    fn collections_live_in_the_arena_and_are_counted() {
        let mut arena = ArenaCoordinator::with_capacity(1 << 20);
        let reserved = arena.stats().reserved_bytes;
        {
            let mut queue = arena.new_vec::<u64>();
            let mut visited = arena.new_map::<u64, u32>();
            for i in 0..10_000u64 {
                queue.push(i);
                visited.insert(i, i as u32);
            }
            assert_eq!(queue.len(), 10_000);
            assert_eq!(visited.get(&777), Some(&777));
            assert!(queue.iter().rev().take(3).eq([9_999, 9_998, 9_997].iter()));
        }
        assert!(arena.used_bytes() >= 10_000 * 8, "{}", arena.used_bytes());
        assert_eq!(
            arena.stats().reserved_bytes,
            reserved,
            "no chunk beyond the reserved one"
        );
        arena.reset();
        assert_eq!(arena.used_bytes(), 0);
        let mut again = arena.new_vec::<u8>();
        again.extend_from_slice(b"after reset");
        assert_eq!(&again[..], b"after reset");
    }
}
