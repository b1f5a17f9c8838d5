//! `FlatTable`: the memtable's flat index, an open-addressing hash table
//! keyed by block id with the entries inline in the slots.
//!
//! Why not `std::collections::HashMap`: its lookup reads a control byte
//! group and then the slot it points at, two dependent cache misses on a
//! table larger than the cache; here the hash names the slot and the key
//! and the value sit in it, so a hit costs one miss (plus, now and then,
//! the next line of a probe run). Linear probing, at most 3/4 full: a hit
//! reads about 1.5 slots on average, a miss about 2.5, both adjacent.
//! Keys are never removed (a memtable only gains entries), which keeps
//! probing this simple. Safe code only: a `Vec` of `Option` slots.

use crate::BlockId;

/// An insert-only hash map from block id to `V`, one probe per lookup.
#[derive(Debug, Clone)]
pub(super) struct FlatTable<V> {
    /// Empty, or a power of two long and at most 3/4 full.
    slots: Vec<Option<(BlockId, V)>>,
    len: usize,
    /// 64 minus log2 of the slot count: the hash's top bits pick a slot.
    shift: u32,
}

impl<V> Default for FlatTable<V> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            shift: 64,
        }
    }
}

/// Mixes an id's 128 bits into a slot choice. Fibonacci hashing of the
/// folded halves takes the product's top bits, which spreads sequential
/// ids (tests, benchmarks) as well as random ones (content hashes).
fn hash(id: &BlockId) -> u64 {
    let bits = id.as_u128();
    let folded = (bits as u64) ^ ((bits >> 64) as u64).rotate_left(29);
    folded.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl<V> FlatTable<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The slot holding `id`, or the empty slot where it would go.
    fn position(&self, id: &BlockId) -> usize {
        let mask = self.slots.len() - 1;
        let mut index = (hash(id) >> self.shift) as usize & mask;
        loop {
            match &self.slots[index] {
                Some((key, _)) if key != id => index = (index + 1) & mask,
                _ => return index,
            }
        }
    }

    pub fn get(&self, id: &BlockId) -> Option<&V> {
        if self.slots.is_empty() {
            return None;
        }
        let index = self.position(id);
        self.slots[index].as_ref().map(|(_, value)| value)
    }

    /// The value of `id`, inserted from `make` when absent.
    pub fn get_or_insert_with(&mut self, id: BlockId, make: impl FnOnce() -> V) -> &mut V {
        self.reserve_one();
        let index = self.position(&id);
        let slot = &mut self.slots[index];
        if slot.is_none() {
            self.len += 1;
        }
        &mut slot.get_or_insert_with(|| (id, make())).1
    }

    /// Stores `value` for `id`; returns the value it replaced.
    pub fn insert(&mut self, id: BlockId, value: V) -> Option<V> {
        self.reserve_one();
        let index = self.position(&id);
        let previous = self.slots[index].replace((id, value));
        if previous.is_none() {
            self.len += 1;
        }
        previous.map(|(_, value)| value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&BlockId, &V)> {
        self.slots.iter().flatten().map(|(id, value)| (id, value))
    }

    /// Room for one more entry within 3/4 of the slots, doubling them
    /// (and placing every entry again) when needed.
    fn reserve_one(&mut self) {
        if (self.len + 1) * 4 <= self.slots.len() * 3 {
            return;
        }
        let count = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, Vec::with_capacity(count));
        self.slots.resize_with(count, || None);
        self.shift = 64 - count.trailing_zeros();
        for (id, value) in old.into_iter().flatten() {
            let index = self.position(&id);
            self.slots[index] = Some((id, value));
        }
    }
}

impl<V> Extend<(BlockId, V)> for FlatTable<V> {
    fn extend<I: IntoIterator<Item = (BlockId, V)>>(&mut self, entries: I) {
        for (id, value) in entries {
            self.insert(id, value);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_replace_and_grow() {
        let mut table = FlatTable::default();
        assert_eq!(table.get(&BlockId::from_u128(1)), None);
        for n in 1..=10_000u128 {
            assert_eq!(table.insert(BlockId::from_u128(n * 7), n), None);
        }
        assert_eq!(table.len(), 10_000);
        assert!(table.slots.len() * 3 >= table.len() * 4);
        for n in 1..=10_000u128 {
            assert_eq!(table.get(&BlockId::from_u128(n * 7)), Some(&n));
            assert_eq!(table.get(&BlockId::from_u128(n * 7 + 1)), None);
        }
        assert_eq!(table.insert(BlockId::from_u128(7), 0), Some(1));
        *table.get_or_insert_with(BlockId::from_u128(7), || 99) += 5;
        assert_eq!(table.get(&BlockId::from_u128(7)), Some(&5));
        *table.get_or_insert_with(BlockId::from_u128(3), || 99) += 1;
        assert_eq!(table.get(&BlockId::from_u128(3)), Some(&100));
        assert_eq!(table.len(), 10_001);
        assert_eq!(table.iter().count(), 10_001);
        // Random-looking ids (content hashes) as well as sequential ones.
        let mut random = FlatTable::default();
        for n in 1..=1000u128 {
            random.insert(
                BlockId::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)),
                n,
            );
        }
        assert!((1..=1000u128).all(|n| random.get(&BlockId::from_u128(
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
        )) == Some(&n)));
    }
}
