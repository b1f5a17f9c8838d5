//! `SharedArena`: an append-only arena that one writer fills while any
//! number of threads read what it already handed out, without a lock.
//!
//! Why: the storage engine's memtable is read by snapshots on many threads
//! while the writer keeps adding blocks. An [`ArenaCoordinator`] is neither
//! `Sync` nor safe to read during a `reset`, so this type wraps one behind a
//! mutex that only allocation takes, and never resets it: the arena lives,
//! unchanged where it was written, until the last `Arc` holding it drops.
//! Resolving a handle checks only values fixed at construction (the owner
//! id and generation 0), so readers never touch the mutex.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::{ArenaCoordinator, ArenaStats, MemoryError, StrTripleHandle};

/// An arena filled through `&self` by one thread at a time and read by any
/// number of threads; it is never reset (drop it and make a new one).
pub struct SharedArena {
    /// Owner id of the handles this arena makes (copied out of the
    /// coordinator so that resolving needs no lock).
    id: u64,
    allocator: Mutex<ArenaCoordinator>,
}

impl std::fmt::Debug for SharedArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedArena")
            .field("id", &self.id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl SharedArena {
    /// An arena that reserves `bytes` up front.
    pub fn with_capacity(bytes: usize) -> Self {
        let coordinator = ArenaCoordinator::with_capacity(bytes);
        Self {
            id: coordinator.id(),
            allocator: Mutex::new(coordinator),
        }
    }

    fn allocator(&self) -> MutexGuard<'_, ArenaCoordinator> {
        // The coordinator holds no invariant a panicking allocation could
        // break half way (bumpalo either hands out memory or panics before
        // touching its state), so a poisoned lock is still usable.
        self.allocator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores three strings back to back (see
    /// [`ArenaCoordinator::store_str_triple`]); the handle resolves on any
    /// thread for as long as this arena lives.
    pub fn store_str_triple(&self, parts: [&str; 3]) -> StrTripleHandle {
        self.allocator().store_str_triple(parts)
    }

    /// The three strings behind `handle`, without taking a lock. Errors when
    /// another arena made the handle.
    #[inline]
    pub fn resolve_str_triple(&self, handle: StrTripleHandle) -> Result<[&str; 3], MemoryError> {
        let bytes = handle.bytes;
        if bytes.owner != self.id {
            return Err(MemoryError::ForeignHandle {
                handle_owner: bytes.owner,
                owner: self.id,
            });
        }
        if bytes.generation != 0 {
            return Err(MemoryError::StaleHandle {
                handle_generation: bytes.generation,
                current_generation: 0,
            });
        }
        let first_end = handle.first_len as usize;
        let second_end = first_end + handle.second_len as usize;
        debug_assert!(second_end <= bytes.len);
        // SAFETY: the owner check proves this arena's coordinator made the
        // handle, and generation 0 is the only generation it ever has: it is
        // never reset (no method here resets it), so bumpalo has neither
        // moved nor freed the chunk holding these `len` bytes, and it cannot
        // before `self` drops, which the returned lifetime (tied to `&self`)
        // rules out. The bytes were fully written by `store_str_triple`
        // before it returned the handle, and are never written again (the
        // coordinator never hands out `&mut` to stored bytes). A handle
        // reaches another thread only through something that synchronises
        // (a mutex, an `Arc` publication), which orders those writes before
        // this read. Allocations made concurrently by the writer use other
        // bytes of the chunk, which no reference created here covers.
        let joined = unsafe { std::slice::from_raw_parts(bytes.addr as *const u8, bytes.len) };
        let (first, rest) = joined.split_at(first_end);
        let (second, third) = rest.split_at(second_end - first_end);
        // SAFETY: `store_str_triple` copied three `&str`s back to back and
        // recorded their lengths, so each range is one original string:
        // valid UTF-8, never modified since.
        Ok(unsafe {
            [
                std::str::from_utf8_unchecked(first),
                std::str::from_utf8_unchecked(second),
                std::str::from_utf8_unchecked(third),
            ]
        })
    }

    /// Bytes handed out so far.
    pub fn used_bytes(&self) -> usize {
        self.allocator().used_bytes()
    }

    /// Accounting figures.
    pub fn stats(&self) -> ArenaStats {
        self.allocator().stats()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn handles_resolve_on_other_threads_while_the_writer_appends() {
        let arena = Arc::new(SharedArena::with_capacity(1 << 12));
        let (sender, receiver) = std::sync::mpsc::channel();
        let reader = {
            let arena = Arc::clone(&arena);
            std::thread::spawn(move || {
                let mut checked = 0;
                for (index, handle) in receiver {
                    let [uri, meta, content] = arena.resolve_str_triple(handle).unwrap();
                    assert_eq!(uri, format!("src/{index}.rs"));
                    assert_eq!(meta, "{}");
                    assert_eq!(content, "x".repeat(index % 300));
                    checked += 1;
                }
                checked
            })
        };
        // Far more than the reserved capacity: new chunks must not move old bytes.
        for index in 0..2_000 {
            let content = "x".repeat(index % 300);
            let handle = arena.store_str_triple([&format!("src/{index}.rs"), "{}", &content]);
            sender.send((index, handle)).unwrap();
        }
        drop(sender);
        assert_eq!(reader.join().unwrap(), 2_000);
        assert!(arena.used_bytes() > 1 << 12);
    }

    #[test]
    fn foreign_handles_are_refused() {
        let one = SharedArena::with_capacity(64);
        let other = SharedArena::with_capacity(64);
        let handle = one.store_str_triple(["a", "b", "c"]);
        assert_eq!(one.resolve_str_triple(handle).unwrap(), ["a", "b", "c"]);
        assert!(matches!(
            other.resolve_str_triple(handle),
            Err(MemoryError::ForeignHandle { .. })
        ));
        let coordinator = ArenaCoordinator::new();
        let from_coordinator = coordinator.store_str_triple(["a", "b", "c"]);
        assert!(one.resolve_str_triple(from_coordinator).is_err());
    }

    #[test]
    fn shared_arena_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SharedArena>();
    }
}
