//! `TypedPool<T>`: a typed arena (typed-arena) for values that need `Drop`,
//! with the same reset-as-a-whole discipline as the coordinator.

use typed_arena::Arena;

/// Arena of `T` values, freed together by [`TypedPool::reset`].
///
/// Unlike the bump coordinator, values here may own heap memory: reset runs
/// each destructor, so it costs O(values) for types with `Drop` and O(chunks)
/// otherwise.
pub struct TypedPool<T> {
    arena: Arena<T>,
    resets: u64,
}

impl<T> Default for TypedPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TypedPool<T> {
    /// An empty pool.
    pub fn new() -> Self {
        Self {
            arena: Arena::new(),
            resets: 0,
        }
    }

    /// Moves `value` into the pool; it lives until the next reset.
    pub fn alloc(&self, value: T) -> &mut T {
        self.arena.alloc(value)
    }

    /// Number of values in the pool.
    pub fn len(&self) -> usize {
        self.arena.len()
    }

    /// True when the pool holds no value.
    pub fn is_empty(&self) -> bool {
        self.arena.len() == 0
    }

    /// Drops every value, keeping room for as many as the pool held.
    pub fn reset(&mut self) {
        let capacity = self.arena.len();
        self.arena = Arena::with_capacity(capacity);
        self.resets += 1;
    }

    /// Number of `reset()` calls.
    pub fn resets(&self) -> u64 {
        self.resets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn reset_runs_destructors() {
        let tracker = Rc::new(());
        let mut pool = TypedPool::new();
        for _ in 0..10 {
            pool.alloc(Rc::clone(&tracker));
        }
        assert_eq!(pool.len(), 10);
        assert_eq!(Rc::strong_count(&tracker), 11);
        pool.reset();
        assert!(pool.is_empty());
        assert_eq!(Rc::strong_count(&tracker), 1);
        assert_eq!(pool.resets(), 1);
        let value = pool.alloc(Rc::clone(&tracker));
        assert_eq!(Rc::strong_count(value), 2);
    }
}
