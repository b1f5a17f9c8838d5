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
//!
//! Growth is spread over inserts, so that no insert does work in
//! proportion to the table (issue 26: doubling in one insert made the
//! slowest put of a large memtable tens of milliseconds). Three steps:
//!
//! 1. **Prepare.** Once the slots are 11/16 full, the next array (twice
//!    as long) is allocated with its capacity only, and each insert of a
//!    new key initializes [`PREPARE_STEP`] more of its slots. Allocating
//!    is cheap (fresh pages are mapped lazily); writing a large array's
//!    every slot in one insert is what cost milliseconds (page faults).
//!    The array is whole before the slots reach 3/4: that takes 2n / 128
//!    inserts of the n / 16 that add the entries between 11/16 and 3/4.
//! 2. **Switch.** The insert that would pass 3/4 makes the prepared array
//!    the table and keeps the old one as `old`. New keys go to the new
//!    table only; a key still in `old` is updated there, in place.
//! 3. **Migrate.** Each write moves the last [`MIGRATE_STEP`] slots of
//!    `old` into the new table and truncates `old` by as many, returning
//!    its memory to the allocator every [`SHRINK_STEP`] slots (freeing a
//!    large array at once costs milliseconds too). `old` (n slots) is
//!    empty after n / 32 writes, when the new table (2n) is under 2/5
//!    full, far from the next growth.
//!
//! The steps' sizes trade the median for the tail: about one write in
//! twelve does a step (an n-slot table lives for 3n / 8 new keys; n / 64
//! writes migrate its predecessor into it, n / 64 prepare its successor),
//! each a few microseconds (a page or two of fresh memory to fault in, 32
//! entries placed in a cold array); smaller steps slow more writes,
//! larger ones slow each more.
//!
//! [`FlatTable::reserve`] is the one exception to spreading: it sizes the
//! table for a known bulk at once (recovery, which no reader waits on).
//!
//! Each key lives in exactly one place: new keys enter `old` only before
//! the switch, a key moves from `old` to the table only by migration, and
//! an update in `old` keeps it where it is. Without a growth in progress a
//! lookup costs one probe, as before. While `old` is not empty it probes
//! both, the likelier first (`old` for an id whose home slot there has not
//! moved yet); a miss then costs two probes. `old_position` argues
//! why the probe of the truncated `old` is exact.

use crate::BlockId;

/// Slots of the next array initialized per insert while it is prepared.
const PREPARE_STEP: usize = 128;
/// Slots of the old array moved per insert while a growth migrates.
const MIGRATE_STEP: usize = 32;
/// Unused slots' worth of memory the old array may keep before it is
/// shrunk (its memory handed back in steps of about 100 KB).
const SHRINK_STEP: usize = 2048;
/// Slots of a table's first array.
const FIRST_SLOTS: usize = 16;

type Slot<V> = Option<(BlockId, V)>;

/// Where a write finds its key: a slot of `old` or of the table, or the
/// empty slot of the table where it goes.
enum Place {
    Old(usize),
    Table(usize),
    Vacant(usize),
}

/// An insert-only hash map from block id to `V`, one probe per lookup.
#[derive(Debug)]
pub(super) struct FlatTable<V> {
    /// Empty, or a power of two long and at most 3/4 full.
    slots: Vec<Slot<V>>,
    /// Entries in `slots` and `old` together.
    len: usize,
    /// 64 minus log2 of the slot count: the hash's top bits pick a slot.
    shift: u32,
    /// The next slot array while it is prepared: capacity for twice the
    /// slots, `None`s written so far. Empty (unallocated) otherwise.
    next: Vec<Slot<V>>,
    /// While a growth migrates: the previous slot array without its
    /// migrated tail. Empty otherwise.
    old: Vec<Slot<V>>,
    /// `shift` of the previous slot array.
    old_shift: u32,
    /// Slots initialized, moved or placed again by growth in the last
    /// insert (tests bound it).
    #[cfg(test)]
    growth_work: usize,
}

impl<V> Default for FlatTable<V> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            shift: 64,
            next: Vec::new(),
            old: Vec::new(),
            old_shift: 64,
            #[cfg(test)]
            growth_work: 0,
        }
    }
}

impl<V: Clone> Clone for FlatTable<V> {
    /// A copy with the same growth state; the copy of `next` gets its
    /// full capacity, so that preparing it never reallocates.
    fn clone(&self) -> Self {
        let mut next = Vec::with_capacity(self.next.capacity());
        next.resize_with(self.next.len(), || None);
        Self {
            slots: self.slots.clone(),
            len: self.len,
            shift: self.shift,
            next,
            old: self.old.clone(),
            old_shift: self.old_shift,
            #[cfg(test)]
            growth_work: 0,
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

    /// The slot of `slots` holding `id`, or the empty slot where it would
    /// go. `slots` must not be empty.
    #[inline]
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

    /// The slot of `old` holding `id`, if `old` holds it.
    ///
    /// `old` is a linear-probing table whose slots from `old.len()` on
    /// have moved to `slots`. Since the switch no key entered it and no
    /// slot of it was emptied (an update replaces the value in place), so
    /// an entry at `p` with home slot `h` still has every slot from `h` to
    /// `p` (cyclically) full or moved. The probe therefore starts at `h`,
    /// or at 0 when `h` has moved, skips the moved tail by wrapping to 0,
    /// and stops at an empty slot or after visiting every slot left once:
    /// it passes only full slots before reaching the entry, so it finds
    /// every entry `old` holds. Stopping later than the whole array's
    /// probe would have (past a slot that was empty and has moved) only
    /// costs steps: a key is found only where it is.
    fn old_position(&self, id: &BlockId) -> Option<usize> {
        let end = self.old.len();
        if end == 0 {
            return None;
        }
        let home = (hash(id) >> self.old_shift) as usize;
        let mut index = if home < end { home } else { 0 };
        for _ in 0..end {
            match &self.old[index] {
                None => return None,
                Some((key, _)) if key == id => return Some(index),
                Some(_) => {}
            }
            index += 1;
            if index == end {
                index = 0;
            }
        }
        None
    }

    #[inline]
    pub fn get(&self, id: &BlockId) -> Option<&V> {
        if !self.old.is_empty() {
            return self.get_while_migrating(id);
        }
        if self.slots.is_empty() {
            return None;
        }
        self.slots[self.position(id)]
            .as_ref()
            .map(|(_, value)| value)
    }

    /// `get` while a growth migrates: `old` first for an id whose home
    /// slot there has not moved yet (most such keys are still there),
    /// the table first otherwise, so that a hit mostly costs one probe.
    #[inline(never)]
    fn get_while_migrating(&self, id: &BlockId) -> Option<&V> {
        let in_table = || self.slots[self.position(id)].as_ref();
        let in_old = || {
            self.old_position(id)
                .and_then(|index| self.old[index].as_ref())
        };
        let found = if ((hash(id) >> self.old_shift) as usize) < self.old.len() {
            in_old().or_else(in_table)
        } else {
            in_table().or_else(in_old)
        };
        found.map(|(_, value)| value)
    }

    /// The value of `id`, inserted from `make` when absent.
    pub fn get_or_insert_with(&mut self, id: BlockId, make: impl FnOnce() -> V) -> &mut V {
        match self.place(&id) {
            // Full slots: `make` is not called.
            Place::Old(index) => &mut self.old[index].get_or_insert_with(|| (id, make())).1,
            Place::Table(index) => &mut self.slots[index].get_or_insert_with(|| (id, make())).1,
            Place::Vacant(index) => {
                self.len += 1;
                &mut self.slots[index].insert((id, make())).1
            }
        }
    }

    /// Stores `value` for `id`; returns the value it replaced.
    pub fn insert(&mut self, id: BlockId, value: V) -> Option<V> {
        let slot = match self.place(&id) {
            Place::Old(index) => &mut self.old[index],
            Place::Table(index) => &mut self.slots[index],
            Place::Vacant(index) => {
                self.len += 1;
                &mut self.slots[index]
            }
        };
        slot.replace((id, value)).map(|(_, value)| value)
    }

    /// Where `id` is, or the slot where it goes, after the one step of a
    /// growth this write takes: a migration step for any write while one
    /// runs; preparing or switching for a write of a new key only, so that
    /// rewriting existing keys never allocates.
    fn place(&mut self, id: &BlockId) -> Place {
        #[cfg(test)]
        {
            self.growth_work = 0;
        }
        if !self.old.is_empty() {
            self.migrate(MIGRATE_STEP);
            if let Some(index) = self.old_position(id) {
                return Place::Old(index);
            }
        }
        if self.slots.is_empty() {
            self.slots.resize_with(FIRST_SLOTS, || None);
            self.shift = 64 - FIRST_SLOTS.trailing_zeros();
        } else {
            let index = self.position(id);
            if self.slots[index].is_some() {
                return Place::Table(index);
            }
            if !self.grow_for_one() {
                return Place::Vacant(index);
            }
        }
        Place::Vacant(self.position(id))
    }

    /// Every entry once: those of `slots`, then those `old` still holds.
    pub fn iter(&self) -> impl Iterator<Item = (&BlockId, &V)> {
        self.slots
            .iter()
            .chain(&self.old)
            .flatten()
            .map(|(id, value)| (id, value))
    }

    /// Room for one more entry within 3/4 of the slots: a step of
    /// preparing the next array once the slots are 11/16 full, and the
    /// switch to it at 3/4 (see the module's comment). True when the
    /// slots changed.
    fn grow_for_one(&mut self) -> bool {
        let count = self.slots.len();
        if self.len * 16 >= count * 11 {
            self.prepare(PREPARE_STEP);
        }
        if (self.len + 1) * 4 <= count * 3 {
            return false;
        }
        self.switch();
        true
    }

    /// Initializes up to `step` more slots of the next array, allocating
    /// it (capacity only) first.
    fn prepare(&mut self, step: usize) {
        let next_count = self.slots.len() * 2;
        if self.next.capacity() < next_count {
            self.next = Vec::with_capacity(next_count);
        }
        let prepared = (self.next.len() + step).min(next_count);
        #[cfg(test)]
        {
            self.growth_work += prepared - self.next.len();
        }
        self.next.resize_with(prepared, || None);
    }

    /// Makes the prepared array the table and the current one `old`.
    fn switch(&mut self) {
        // Neither loop runs: the array is prepared by 3/4 (2n / 128
        // inserts of the n / 16 new keys from 11/16 on), and a migration
        // ends with the new table under 2/5 full. They keep the table
        // right should the steps ever change.
        while !self.old.is_empty() {
            self.migrate(MIGRATE_STEP);
        }
        while self.next.len() < self.slots.len() * 2 {
            self.prepare(PREPARE_STEP);
        }
        let next = std::mem::take(&mut self.next);
        self.old = std::mem::replace(&mut self.slots, next);
        self.old_shift = self.shift;
        self.shift -= 1;
    }

    /// Moves up to `step` slots from the end of `old` into the table.
    fn migrate(&mut self, step: usize) {
        for _ in 0..step {
            let Some(slot) = self.old.pop() else {
                break;
            };
            #[cfg(test)]
            {
                self.growth_work += 1;
            }
            if let Some((id, value)) = slot {
                let index = self.position(&id);
                debug_assert!(self.slots[index].is_none(), "a key lives in one place");
                self.slots[index] = Some((id, value));
            }
        }
        if self.old.is_empty() {
            self.old = Vec::new();
        } else if self.old.capacity() - self.old.len() >= SHRINK_STEP {
            self.old.shrink_to_fit();
        }
    }
}

impl<V> FlatTable<V> {
    /// Slots in the table (tests bound reservations with it).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Slots of one entry's worth, for callers that bound a reservation
    /// by memory.
    pub const SLOT_BYTES: usize = std::mem::size_of::<Slot<V>>();

    /// Makes room for `entries` entries in all without growing again: the
    /// slots become the smallest power of two that holds them within 3/4
    /// (a no-op when they already do). Ends a growth in progress and
    /// places every entry again, all in this call: for a writer that
    /// knows a bulk of inserts is coming (recovery), where one allocation
    /// of the final size replaces the doublings (each a fresh array whose
    /// pages are faulted in, and its entries placed again).
    pub fn reserve(&mut self, entries: usize) {
        let Some(wanted) = (entries.max(self.len).saturating_mul(4))
            .div_ceil(3)
            .max(FIRST_SLOTS)
            .checked_next_power_of_two()
        else {
            return;
        };
        if wanted <= self.slots.len() {
            return;
        }
        while !self.old.is_empty() {
            self.migrate(MIGRATE_STEP);
        }
        self.next = Vec::new();
        let mut slots = Vec::with_capacity(wanted);
        slots.resize_with(wanted, || None);
        let old = std::mem::replace(&mut self.slots, slots);
        self.shift = 64 - wanted.trailing_zeros();
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
    use std::collections::HashMap;

    use super::*;

    fn id(n: u128) -> BlockId {
        BlockId::from_u128(n)
    }

    /// Random-looking ids (content hashes).
    fn scattered(n: u128) -> BlockId {
        id(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))
    }

    #[test]
    fn insert_get_replace_and_grow() {
        let mut table = FlatTable::default();
        assert_eq!(table.get(&id(1)), None);
        for n in 1..=10_000u128 {
            assert_eq!(table.insert(id(n * 7), n), None);
        }
        assert_eq!(table.len(), 10_000);
        assert!(table.slots.len() * 3 >= table.len() * 4);
        for n in 1..=10_000u128 {
            assert_eq!(table.get(&id(n * 7)), Some(&n));
            assert_eq!(table.get(&id(n * 7 + 1)), None);
        }
        assert_eq!(table.insert(id(7), 0), Some(1));
        *table.get_or_insert_with(id(7), || 99) += 5;
        assert_eq!(table.get(&id(7)), Some(&5));
        *table.get_or_insert_with(id(3), || 99) += 1;
        assert_eq!(table.get(&id(3)), Some(&100));
        assert_eq!(table.len(), 10_001);
        assert_eq!(table.iter().count(), 10_001);
        let mut random = FlatTable::default();
        for n in 1..=1000u128 {
            random.insert(scattered(n), n);
        }
        assert!((1..=1000u128).all(|n| random.get(&scattered(n)) == Some(&n)));
    }

    #[test]
    fn reserve_sizes_once_and_keeps_every_entry() {
        let mut table = FlatTable::default();
        for n in 1..=1000u128 {
            table.insert(id(n), n);
        }
        // In the middle of a growth too: reserving ends it.
        let mut growing = FlatTable::default();
        let mut n = 0u128;
        while growing.old.is_empty() {
            n += 1;
            growing.insert(id(n), n);
        }
        for (table, count) in [(&mut table, 1000u128), (&mut growing, n)] {
            table.reserve(100_000);
            let slots = table.slots.len();
            assert_eq!(slots, (100_000usize * 4).div_ceil(3).next_power_of_two());
            assert!(table.old.is_empty() && table.next.is_empty());
            assert_eq!(table.len(), count as usize);
            assert!((1..=count).all(|n| table.get(&id(n)) == Some(&n)));
            for n in count + 1..=100_000 {
                table.insert(id(n), n);
            }
            assert_eq!(table.slots.len(), slots, "no growth up to the reservation");
            assert!((1..=100_000u128).all(|n| table.get(&id(n)) == Some(&n)));
            assert_eq!(table.iter().count(), 100_000);
            // Smaller reservations change nothing; growth goes on past it.
            table.reserve(10);
            assert_eq!(table.slots.len(), slots);
            for n in 100_001..=200_000u128 {
                table.insert(id(n), n);
            }
            assert!(table.slots.len() > slots);
            assert!((1..=200_000u128).all(|n| table.get(&id(n)) == Some(&n)));
        }
    }

    /// The regression of issue 26: growth did O(n) work in one insert
    /// (every slot of the doubled array initialized and every entry
    /// placed again). Now each insert does at most one step of each kind.
    #[test]
    fn no_insert_does_more_than_a_step_of_growth() {
        let bound = PREPARE_STEP + MIGRATE_STEP;
        let mut table = FlatTable::default();
        let mut most = 0;
        let mut total = 0;
        let mut growths = 0;
        for n in 1..=300_000u128 {
            let before = table.slots.len();
            if n.is_multiple_of(3) {
                *table.get_or_insert_with(scattered(n / 2), || 0) += 1;
            } else {
                table.insert(scattered(n), 1);
            }
            growths += usize::from(table.slots.len() != before);
            most = most.max(table.growth_work);
            total += table.growth_work;
        }
        assert!(growths >= 14, "{growths} growths");
        assert!(most <= bound, "an insert did {most} slots of growth work");
        // Each slot of each array initialized once and moved at most
        // once: amortized, as before, a few slots per entry.
        assert!(
            total <= 4 * table.slots.len(),
            "{total} slots of work in all"
        );
    }

    /// Every read while a migration is under way, at each of its steps,
    /// including ids whose probe runs wrap around the old array's end.
    #[test]
    fn lookups_and_updates_during_a_migration() {
        let mut table = FlatTable::default();
        let mut model = HashMap::new();
        let mut n = 0u128;
        let mut checked_steps = 0;
        while checked_steps < 200 {
            n += 1;
            if n.is_multiple_of(4) {
                // An update of an older key, wherever it lives now.
                let key = scattered(n / 4);
                let value = n;
                assert_eq!(table.insert(key, value), model.insert(key, value));
            } else {
                table.insert(scattered(n), n);
                model.insert(scattered(n), n);
            }
            if !table.old.is_empty() {
                checked_steps += 1;
                for (key, value) in &model {
                    assert_eq!(table.get(key), Some(value));
                }
                assert_eq!(table.iter().count(), model.len());
                assert_eq!(table.get(&id(u128::MAX)), None);
            }
        }
    }

    #[test]
    fn a_clone_during_a_growth_is_independent_and_completes() {
        let mut table = FlatTable::default();
        let mut n = 0u128;
        while table.old.is_empty() || table.old.len() > table.old_slot_count() / 2 {
            n += 1;
            table.insert(scattered(n), n);
        }
        let frozen = n;
        let mut copy = table.clone();
        for m in frozen + 1..=frozen + 5000 {
            copy.insert(scattered(m), m);
        }
        assert!(copy.old.is_empty());
        assert_eq!(table.len() as u128, frozen);
        assert_eq!(copy.len() as u128, frozen + 5000);
        assert_eq!(table.get(&scattered(frozen + 1)), None);
        for m in 1..=frozen + 5000 {
            assert_eq!(copy.get(&scattered(m)), Some(&m));
        }
        // A copy taken while the next array is prepared keeps its capacity.
        let mut preparing = FlatTable::default();
        let mut m = 0u128;
        while preparing.next.is_empty() {
            m += 1;
            preparing.insert(id(m), ());
        }
        let copy = preparing.clone();
        assert!(copy.next.capacity() >= preparing.slots.len() * 2);
        assert_eq!(copy.next.len(), preparing.next.len());
    }

    impl<V> FlatTable<V> {
        fn old_slot_count(&self) -> usize {
            1 << (64 - self.old_shift)
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        GetOrInsert(u16, u32),
        Get(u16),
        Iter,
        Clone,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            60 => (any::<u16>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            30 => (any::<u16>(), any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
            30 => any::<u16>().prop_map(Op::Get),
            1 => Just(Op::Iter),
            1 => Just(Op::Clone),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The table against `HashMap` over random operations, through
        /// many growths (up to 6,000 keys: nine doublings), with every
        /// step's growth work bounded and every key read back during
        /// migrations.
        #[test]
        fn behaves_like_a_hash_map(
            ops in proptest::collection::vec(op(), 1..6000),
            spread in 1u128..=u128::MAX,
            key_bits in 4u32..=14,
        ) {
            let key = |k: u16| {
                let k = u128::from(k) & ((1 << key_bits) - 1);
                id(k.wrapping_mul(spread | 1))
            };
            let mut table: FlatTable<u32> = FlatTable::default();
            let mut model: HashMap<BlockId, u32> = HashMap::new();
            let mut migrating = 0usize;
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        proptest::prop_assert_eq!(table.insert(key(k), v), model.insert(key(k), v));
                        proptest::prop_assert!(table.growth_work <= PREPARE_STEP + MIGRATE_STEP);
                    }
                    Op::GetOrInsert(k, v) => {
                        let got = table.get_or_insert_with(key(k), || v);
                        let expected = model.entry(key(k)).or_insert(v);
                        proptest::prop_assert_eq!(*got, *expected);
                        *got = got.wrapping_add(1);
                        *expected = expected.wrapping_add(1);
                        proptest::prop_assert!(table.growth_work <= PREPARE_STEP + MIGRATE_STEP);
                    }
                    Op::Get(k) => {
                        proptest::prop_assert_eq!(table.get(&key(k)), model.get(&key(k)));
                    }
                    Op::Iter => {
                        let mut seen: Vec<_> = table.iter().map(|(k, v)| (*k, *v)).collect();
                        let mut expected: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                        seen.sort_unstable();
                        expected.sort_unstable();
                        proptest::prop_assert_eq!(seen, expected);
                    }
                    Op::Clone => table = table.clone(),
                }
                proptest::prop_assert_eq!(table.len(), model.len());
                // Every key, now and then while a migration runs.
                if !table.old.is_empty() {
                    migrating += 1;
                    if migrating % 16 == 1 {
                        for (k, v) in &model {
                            proptest::prop_assert_eq!(table.get(k), Some(v));
                        }
                    }
                }
            }
            for (k, v) in &model {
                proptest::prop_assert_eq!(table.get(k), Some(v));
            }
            proptest::prop_assert_eq!(table.iter().count(), model.len());
        }
    }
}
