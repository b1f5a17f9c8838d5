//! `ArenaCoordinator`: a bump arena behind a stable owner, with generation
//! tagged handles, O(1) reset and exact accounting.
//!
//! Why handles: a memtable must keep "block X lives at these arena bytes" for
//! longer than one call, but a struct that stores references into an arena it
//! also owns is self-referential. A [`BytesHandle`] is a plain value (owner id,
//! generation, address, length) that is only turned back into a slice by the
//! coordinator that made it, and only while that coordinator has not been
//! reset since. Moving the coordinator never moves the arena's chunks (they
//! are separate heap allocations), so a handle survives any move of its owner.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use bumpalo::Bump;

use crate::MemoryError;

/// Source of coordinator identities, so a handle cannot be resolved against
/// a coordinator that did not make it.
static NEXT_COORDINATOR_ID: AtomicU64 = AtomicU64::new(1);

/// A stable reference to bytes stored in an [`ArenaCoordinator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BytesHandle {
    pub(crate) owner: u64,
    pub(crate) generation: u64,
    pub(crate) addr: usize,
    pub(crate) len: usize,
}

impl BytesHandle {
    /// Length of the referenced bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the handle references zero bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A [`BytesHandle`] whose bytes are known to be UTF-8, because they were
/// copied from a `&str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrHandle(BytesHandle);

impl StrHandle {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// True when the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }
}

/// Three strings stored back to back behind one handle (a block's
/// source_uri, metadata and content), split where the coordinator itself
/// recorded the boundaries, so resolving them reads no byte of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrTripleHandle {
    pub(crate) bytes: BytesHandle,
    pub(crate) first_len: u32,
    pub(crate) second_len: u32,
}

impl StrTripleHandle {
    /// Total length in bytes of the three strings.
    pub fn len(&self) -> usize {
        self.bytes.len
    }

    /// True when all three strings are empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.len == 0
    }
}

/// Accounting figures of one coordinator. They feed the engine's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArenaStats {
    /// Bytes handed out since the last reset (requested sizes, no padding).
    pub used_bytes: usize,
    /// Bytes the arena holds from the system allocator (chunk capacity).
    pub reserved_bytes: usize,
    /// Highest `used_bytes` ever seen by this coordinator.
    pub high_water_bytes: usize,
    /// Number of `reset()` calls.
    pub resets: u64,
    /// Current generation; handles from other generations are stale.
    pub generation: u64,
}

/// Owner of one bump arena and the only way to reach its memory.
///
/// Allocation takes `&self`; `reset` takes `&mut self`, so the borrow checker
/// guarantees no borrowed slice survives a reset, and the generation check
/// guarantees no handle does.
pub struct ArenaCoordinator {
    pub(crate) arena: Bump,
    id: u64,
    generation: u64,
    used_bytes: Cell<usize>,
    high_water_bytes: Cell<usize>,
    resets: u64,
}

impl std::fmt::Debug for ArenaCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArenaCoordinator")
            .field("id", &self.id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for ArenaCoordinator {
    fn default() -> Self {
        Self::new()
    }
}

impl ArenaCoordinator {
    /// A coordinator whose arena grows on demand.
    pub fn new() -> Self {
        Self::from_bump(Bump::new())
    }

    /// A coordinator that reserves `bytes` up front, so filling it up to that
    /// size (and again after every reset) needs no system allocation.
    pub fn with_capacity(bytes: usize) -> Self {
        Self::from_bump(Bump::with_capacity(bytes))
    }

    fn from_bump(arena: Bump) -> Self {
        Self {
            arena,
            id: NEXT_COORDINATOR_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
            used_bytes: Cell::new(0),
            high_water_bytes: Cell::new(0),
            resets: 0,
        }
    }

    pub(crate) fn account(&self, bytes: usize) {
        let used = self.used_bytes.get() + bytes;
        self.used_bytes.set(used);
        if used > self.high_water_bytes.get() {
            self.high_water_bytes.set(used);
        }
    }

    /// Copies `data` into the arena; the copy lives until the next reset.
    pub fn duplicate_slice(&self, data: &[u8]) -> &[u8] {
        self.account(data.len());
        self.arena.alloc_slice_copy(data)
    }

    /// Copies `text` into the arena; the copy lives until the next reset.
    pub fn alloc_str(&self, text: &str) -> &str {
        self.account(text.len());
        self.arena.alloc_str(text)
    }

    /// Moves `value` into the arena. Restricted to `Copy` types because a
    /// bump arena never runs destructors; use [`crate::TypedPool`] for types
    /// that need `Drop`.
    pub fn alloc<T: Copy>(&self, value: T) -> &mut T {
        self.account(std::mem::size_of::<T>());
        self.arena.alloc(value)
    }

    /// Copies `data` into the arena and returns a handle that outlives this
    /// borrow of the coordinator.
    pub fn store_bytes(&self, data: &[u8]) -> BytesHandle {
        let stored = self.duplicate_slice(data);
        BytesHandle {
            owner: self.id,
            generation: self.generation,
            addr: stored.as_ptr() as usize,
            len: stored.len(),
        }
    }

    /// Copies `text` into the arena and returns a handle to it.
    pub fn store_str(&self, text: &str) -> StrHandle {
        StrHandle(self.store_bytes(text.as_bytes()))
    }

    /// This coordinator's identity (what its handles carry as owner).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    fn check(&self, handle: &BytesHandle) -> Result<(), MemoryError> {
        if handle.owner != self.id {
            return Err(MemoryError::ForeignHandle {
                handle_owner: handle.owner,
                owner: self.id,
            });
        }
        if handle.generation != self.generation {
            return Err(MemoryError::StaleHandle {
                handle_generation: handle.generation,
                current_generation: self.generation,
            });
        }
        Ok(())
    }

    /// The bytes behind `handle`, or an error when the handle is stale or
    /// was made by another coordinator.
    pub fn resolve_bytes(&self, handle: BytesHandle) -> Result<&[u8], MemoryError> {
        self.check(&handle)?;
        // SAFETY: `check` proved that this coordinator made the handle in its
        // current generation. The bytes were allocated by `self.arena` and
        // bumpalo neither moves nor frees a chunk before `reset` or drop;
        // `reset` bumps the generation (so this branch is unreachable for
        // older handles) and drop cannot happen while `&self` is borrowed.
        // The allocation was `len` initialised bytes, never written again
        // (nothing hands out `&mut` to it), and the returned lifetime is tied
        // to `&self`, so it cannot outlive a later reset.
        let bytes = unsafe { std::slice::from_raw_parts(handle.addr as *const u8, handle.len) };
        Ok(bytes)
    }

    /// The text behind `handle`; same rules as [`Self::resolve_bytes`].
    pub fn resolve_str(&self, handle: StrHandle) -> Result<&str, MemoryError> {
        let bytes = self.resolve_bytes(handle.0)?;
        // SAFETY: a `StrHandle` is only made by `store_str`, which copied
        // the bytes of a `&str`; they are valid UTF-8 and never modified.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// Stores three strings back to back in one allocation and returns one
    /// handle to all three.
    ///
    /// # Panics
    ///
    /// When the first or second string is 4 GiB or longer (their lengths
    /// are kept as `u32`).
    pub fn store_str_triple(&self, parts: [&str; 3]) -> StrTripleHandle {
        assert!(
            parts[0].len() <= u32::MAX as usize && parts[1].len() <= u32::MAX as usize,
            "string too long for a triple handle"
        );
        let joined = self.store_str_parts(&parts);
        StrTripleHandle {
            bytes: joined.0,
            first_len: parts[0].len() as u32,
            second_len: parts[1].len() as u32,
        }
    }

    /// The three strings behind `handle`; same rules as [`Self::resolve_bytes`].
    pub fn resolve_str_triple(&self, handle: StrTripleHandle) -> Result<[&str; 3], MemoryError> {
        let bytes = self.resolve_bytes(handle.bytes)?;
        let first_end = handle.first_len as usize;
        let second_end = first_end + handle.second_len as usize;
        debug_assert!(second_end <= bytes.len());
        let (first, rest) = bytes.split_at(first_end);
        let (second, third) = rest.split_at(second_end - first_end);
        // SAFETY: `store_str_triple` copied three `&str`s back to back and
        // recorded their lengths, so each of these byte ranges is exactly one
        // of the original strings: valid UTF-8, never modified since.
        Ok(unsafe {
            [
                std::str::from_utf8_unchecked(first),
                std::str::from_utf8_unchecked(second),
                std::str::from_utf8_unchecked(third),
            ]
        })
    }

    /// Stores the concatenation of `parts` as one string, copied straight
    /// into the arena, and returns a handle to it. Lets a caller keep several
    /// fields behind one handle.
    pub fn store_str_parts(&self, parts: &[&str]) -> StrHandle {
        let total: usize = parts.iter().map(|part| part.len()).sum();
        let mut joined = bumpalo::collections::String::with_capacity_in(total, &self.arena);
        for part in parts {
            joined.push_str(part);
        }
        let stored = joined.into_bump_str();
        self.account(total);
        StrHandle(BytesHandle {
            owner: self.id,
            generation: self.generation,
            addr: stored.as_ptr() as usize,
            len: stored.len(),
        })
    }

    /// True when `handle` can be resolved against this coordinator now.
    pub fn is_live(&self, handle: BytesHandle) -> bool {
        self.check(&handle).is_ok()
    }

    /// Frees every allocation in O(1): keeps the arena's largest chunk for
    /// reuse and makes every earlier handle stale.
    pub fn reset(&mut self) {
        self.arena.reset();
        self.generation += 1;
        self.resets += 1;
        self.used_bytes.set(0);
    }

    /// Current accounting figures.
    pub fn stats(&self) -> ArenaStats {
        ArenaStats {
            used_bytes: self.used_bytes.get(),
            reserved_bytes: self.arena.allocated_bytes(),
            high_water_bytes: self.high_water_bytes.get(),
            resets: self.resets,
            generation: self.generation,
        }
    }

    /// Bytes handed out since the last reset.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes.get()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allocation_methods_return_copies() {
        let arena = ArenaCoordinator::new();
        let source = vec![1u8, 2, 3];
        let copy = arena.duplicate_slice(&source);
        drop(source);
        assert_eq!(copy, &[1, 2, 3]);
        assert_eq!(arena.alloc_str("kausal"), "kausal");
        let number = arena.alloc(41u64);
        *number += 1;
        assert_eq!(*number, 42);
        assert_eq!(arena.duplicate_slice(&[]), &[] as &[u8]);
    }

    #[test]
    fn handles_resolve_to_stored_bytes() {
        let arena = ArenaCoordinator::new();
        let bytes = arena.store_bytes(b"content");
        let text = arena.store_str("fn main() {}");
        let empty = arena.store_bytes(b"");
        assert_eq!(arena.resolve_bytes(bytes).unwrap(), b"content");
        assert_eq!(arena.resolve_str(text).unwrap(), "fn main() {}");
        assert_eq!(arena.resolve_bytes(empty).unwrap(), b"");
        assert_eq!(bytes.len(), 7);
        assert!(empty.is_empty());
        let triple = arena.store_str_triple(["src/é.rs", "", "fn a() {}"]);
        assert_eq!(
            arena.resolve_str_triple(triple).unwrap(),
            ["src/é.rs", "", "fn a() {}"]
        );
        assert_eq!(triple.len(), 18);
        let joined = arena.store_str_parts(&["src/a.rs", "{}", "fn a() {}"]);
        assert_eq!(arena.resolve_str(joined).unwrap(), "src/a.rs{}fn a() {}");
        assert_eq!(arena.used_bytes(), 7 + 12 + 18 + 19);
    }

    #[test]
    fn accounting_is_exact() {
        let mut arena = ArenaCoordinator::new();
        arena.duplicate_slice(&[0u8; 10]);
        arena.alloc_str("hello");
        arena.alloc(7u32);
        arena.store_bytes(&[1u8; 100]);
        let stats = arena.stats();
        assert_eq!(stats.used_bytes, 10 + 5 + 4 + 100);
        assert_eq!(stats.high_water_bytes, 119);
        assert!(stats.reserved_bytes >= 119);
        assert_eq!(stats.resets, 0);
        arena.reset();
        arena.alloc_str("abc");
        let stats = arena.stats();
        assert_eq!(stats.used_bytes, 3);
        assert_eq!(stats.high_water_bytes, 119);
        assert_eq!(stats.resets, 1);
        assert_eq!(stats.generation, 1);
    }

    #[test]
    fn reset_keeps_capacity_and_invalidates_handles() {
        let mut arena = ArenaCoordinator::with_capacity(64 * 1024);
        let reserved_before = arena.stats().reserved_bytes;
        assert!(reserved_before >= 64 * 1024);
        let handle = arena.store_bytes(&[9u8; 1000]);
        let text = arena.store_str("stale soon");
        arena.reset();
        assert_eq!(arena.stats().reserved_bytes, reserved_before);
        assert_eq!(
            arena.resolve_bytes(handle),
            Err(MemoryError::StaleHandle {
                handle_generation: 0,
                current_generation: 1
            })
        );
        assert!(arena.resolve_str(text).is_err());
        assert!(!arena.is_live(handle));
        let fresh = arena.store_bytes(&[1u8; 1000]);
        assert_eq!(arena.resolve_bytes(fresh).unwrap(), &[1u8; 1000][..]);
        // Refilling the arena after a reset reuses the kept chunk.
        assert_eq!(arena.stats().reserved_bytes, reserved_before);
    }

    #[test]
    fn foreign_handles_are_rejected() {
        let first = ArenaCoordinator::new();
        let second = ArenaCoordinator::new();
        let handle = first.store_bytes(b"x");
        assert!(matches!(
            second.resolve_bytes(handle),
            Err(MemoryError::ForeignHandle { .. })
        ));
    }

    struct Owner {
        arena: ArenaCoordinator,
        handles: Vec<BytesHandle>,
    }

    fn build_owner() -> Owner {
        let arena = ArenaCoordinator::new();
        let handles = (0..100u8).map(|i| arena.store_bytes(&[i; 33])).collect();
        Owner { arena, handles }
    }

    fn check_owner(owner: &Owner) {
        for (i, handle) in owner.handles.iter().enumerate() {
            assert_eq!(owner.arena.resolve_bytes(*handle).unwrap(), &[i as u8; 33]);
        }
    }

    #[test]
    fn owner_moved_by_value_keeps_working() {
        // Returned from a constructor.
        let owner = build_owner();
        check_owner(&owner);
        // Pushed into a Vec that then reallocates.
        let mut owners = Vec::new();
        owners.push(owner);
        for _ in 0..20 {
            owners.push(build_owner());
        }
        for owner in &owners {
            check_owner(owner);
        }
        // Boxed, then moved out again.
        let boxed = Box::new(owners.swap_remove(0));
        check_owner(&boxed);
        let unboxed = *boxed;
        check_owner(&unboxed);
        // Allocations after the moves land in the same arena.
        let extra = unboxed.arena.store_bytes(b"after move");
        assert_eq!(unboxed.arena.resolve_bytes(extra).unwrap(), b"after move");
    }

    #[test]
    fn coordinator_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<ArenaCoordinator>();
        assert_send::<BytesHandle>();
    }
}
