//! `prefetch`: asks the CPU to start loading memory a caller will read
//! soon, so that a cache miss overlaps other work instead of following it.
//!
//! Why: a read that needs two independent cache misses (an edge lookup's
//! memtable list and a table page) pays them one after the other when the
//! first load of the second comes too late in the instruction stream for
//! the core to issue it early. A prefetch is a hint: it reads nothing the
//! program sees, never faults, and is dropped by the CPU when it is busy.

/// Most cache lines [`prefetch`] asks for: the start of a slice is what a
/// reader needs first, and the hardware prefetcher follows a sequential
/// read from there.
pub const PREFETCH_MAX_LINES: usize = 8;

/// Cache line size assumed (x86-64 and most ARM cores).
const LINE_BYTES: usize = 64;

/// Starts loading the first [`PREFETCH_MAX_LINES`] cache lines of `items`
/// into the cache. Does nothing on targets without a stable prefetch
/// instruction, or for an empty slice.
#[inline]
pub fn prefetch<T>(items: &[T]) {
    let bytes = std::mem::size_of_val(items);
    let start = items.as_ptr().cast::<i8>();
    let mut offset = 0;
    while offset < bytes && offset < PREFETCH_MAX_LINES * LINE_BYTES {
        prefetch_line(start.wrapping_add(offset));
        offset += LINE_BYTES;
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch_line(address: *const i8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `_mm_prefetch` is `unsafe` only for its `sse` target
    // feature, which every x86-64 CPU has (it is in the target's baseline).
    // The instruction reads no memory the program observes and never
    // faults, whatever the address: `address` lies within (or one line
    // past the start of) a slice the caller borrows, but even a dangling
    // one would be harmless.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(address) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn prefetch_line(_address: *const i8) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_any_slice_changes_nothing() {
        let values: Vec<u64> = (0..1000).collect();
        prefetch(&values);
        prefetch(&values[999..]);
        prefetch::<u64>(&[]);
        prefetch(&[(); 4]);
        assert_eq!(values.iter().sum::<u64>(), 999 * 1000 / 2);
    }
}
