//! The nearest names to a query by edit distance, over a stream of names
//! (the names dictionary's, or a scan's in an older database): what "did
//! you mean" offers. The work per name is bounded and allocation-free:
//! names whose length alone rules them out cost a length check; then the
//! characters the two share rule out most of the rest: first as sets (a
//! 64-bit signature of the name's ASCII bytes, one pass with no memory
//! writes: each character of one missing from the other takes an edit),
//! then as multisets (each edit changes at most one character, so the
//! unshared ones bound the distance from below); the remainder pay one
//! Levenshtein that stops once a row exceeds the limit. Once `k` names
//! are kept the limit drops to the farthest of them, so later names are
//! cut off sooner.

/// Most names of the dictionary a suggestion search examines. The Linux
/// 6.1 tree has 2.25 million distinct names (two million of them macros);
/// a larger dictionary is examined up to here in the order it is read (by
/// length outward from the query's, or by name in a database without the
/// names by length).
pub const MAX_NAMES_EXAMINED: usize = 4_000_000;

/// Characters the shared-character bound counts one by one (ASCII); a
/// name or query with others skips the bound.
const BAG_SIZE: usize = 128;

/// The `k` names nearest a query, within an edit distance limit.
pub(crate) struct Nearest {
    query: Vec<char>,
    limit: usize,
    k: usize,
    /// (distance, name), sorted: the nearest kept so far.
    kept: Vec<(usize, String)>,
    /// How many of each ASCII character the query has; `None` when the
    /// query is not ASCII.
    bag: Option<[i32; BAG_SIZE]>,
    /// The query's [`signature`] (meaningful when `bag` is some).
    signature: u64,
    name: Vec<char>,
    previous: Vec<usize>,
    current: Vec<usize>,
}

impl Nearest {
    /// Keeps the `k` names nearest `query`, none farther than `limit`.
    pub(crate) fn new(query: &str, limit: usize, k: usize) -> Self {
        let bag = query.is_ascii().then(|| {
            let mut bag = [0i32; BAG_SIZE];
            for byte in query.bytes() {
                bag[usize::from(byte)] += 1;
            }
            bag
        });
        Self {
            query: query.chars().collect(),
            signature: signature(query.as_bytes()).0,
            limit,
            k,
            kept: Vec::with_capacity(k + 1),
            bag,
            name: Vec::new(),
            previous: Vec::new(),
            current: Vec::new(),
        }
    }

    /// The farthest distance a name may have and still be kept.
    pub(crate) fn bound(&self) -> usize {
        match self.kept.last() {
            Some((distance, _)) if self.kept.len() == self.k => (*distance).min(self.limit),
            _ => self.limit,
        }
    }

    /// Considers `name` (an empty one, or one kept already, is skipped).
    pub(crate) fn offer(&mut self, name: &str) {
        if name.is_empty() || self.k == 0 {
            return;
        }
        let bound = self.bound();
        let (name_signature, ascii) = signature(name.as_bytes());
        let length = if ascii {
            name.len()
        } else {
            name.chars().count()
        };
        if length.abs_diff(self.query.len()) > bound {
            return;
        }
        if ascii && self.bag.is_some() {
            // Characters one has and the other lacks: each takes an edit,
            // and one substitution serves one of each side.
            let only_name = (name_signature & !self.signature).count_ones();
            let only_query = (self.signature & !name_signature).count_ones();
            if only_name.max(only_query) as usize > bound {
                return;
            }
        }
        if self.unshared(name) > bound {
            return;
        }
        let Some(distance) = self.distance(name, bound) else {
            return;
        };
        let entry = (distance, name.to_string());
        let at = match self.kept.binary_search(&entry) {
            Ok(_) => return,
            Err(at) => at,
        };
        if at >= self.k {
            return;
        }
        self.kept.insert(at, entry);
        self.kept.truncate(self.k);
    }

    /// A lower bound of the edit distance of the query and `name`: the
    /// characters of the longer one that the other lacks (counted as
    /// multisets). 0 when either is not ASCII.
    fn unshared(&mut self, name: &str) -> usize {
        let Some(bag) = self.bag.as_mut() else {
            return 0;
        };
        if !name.is_ascii() {
            return 0;
        }
        let mut shared = 0;
        for byte in name.bytes() {
            let count = &mut bag[usize::from(byte)];
            if *count > 0 {
                shared += 1;
            }
            *count -= 1;
        }
        for byte in name.bytes() {
            bag[usize::from(byte)] += 1;
        }
        self.query.len().max(name.len()) - shared
    }

    /// Levenshtein distance of the query and `name`, or `None` past `bound`.
    fn distance(&mut self, name: &str, bound: usize) -> Option<usize> {
        self.name.clear();
        self.name.extend(name.chars());
        let width = self.name.len() + 1;
        self.previous.clear();
        self.previous.extend(0..width);
        self.current.clear();
        self.current.resize(width, 0);
        for (i, ca) in self.query.iter().enumerate() {
            self.current[0] = i + 1;
            let mut row_min = self.current[0];
            for (j, cb) in self.name.iter().enumerate() {
                let substitution = self.previous[j] + usize::from(ca != cb);
                let value = substitution
                    .min(self.previous[j + 1] + 1)
                    .min(self.current[j] + 1);
                self.current[j + 1] = value;
                row_min = row_min.min(value);
            }
            if row_min > bound {
                return None;
            }
            std::mem::swap(&mut self.previous, &mut self.current);
        }
        let distance = self.previous[width - 1];
        (distance <= bound).then_some(distance)
    }

    /// The names kept, nearest first, then by name.
    pub(crate) fn into_names(self) -> Vec<String> {
        self.kept.into_iter().map(|(_, name)| name).collect()
    }
}

/// A set of the ASCII characters of `bytes`, one bit each (bit `byte %
/// 64`: two characters sharing a bit only make the set bound weaker), and
/// whether every byte was ASCII.
fn signature(bytes: &[u8]) -> (u64, bool) {
    let (mut set, mut all) = (0u64, 0u8);
    for &byte in bytes {
        set |= 1 << (byte & 63);
        all |= byte;
    }
    (set, all.is_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::edit_distance;

    #[test]
    fn keeps_the_nearest_names_in_order_as_a_full_sort_would() {
        let names = [
            "parse", "prase", "pars", "parsed", "parser", "sparse", "paste", "zzzzz", "parse",
            "páse",
        ];
        let mut nearest = Nearest::new("parse", 2, 5);
        for name in names {
            nearest.offer(name);
        }
        // What sorting every name within the limit gives.
        let mut scored: Vec<(usize, &str)> = names
            .iter()
            .filter_map(|name| Some((edit_distance("parse", name, 2)?, *name)))
            .collect();
        scored.sort();
        scored.dedup();
        let expected: Vec<&str> = scored.iter().take(5).map(|(_, name)| *name).collect();
        assert_eq!(nearest.into_names(), expected);
    }

    #[test]
    fn unshared_characters_bound_the_distance_from_below() {
        let words = [
            "parse",
            "prase",
            "sparse",
            "aaaa",
            "abcd",
            "dcba",
            "",
            "x",
            "ext4_fill_super",
        ];
        for a in words.iter().filter(|a| !a.is_empty()) {
            let mut nearest = Nearest::new(a, 100, 1);
            for b in words {
                let bound = nearest.unshared(b);
                let distance = edit_distance(a, b, 100).expect("within 100");
                assert!(bound <= distance, "{a} {b}: {bound} > {distance}");
            }
        }
        let mut nearest = Nearest::new("abcd", 100, 1);
        assert_eq!(nearest.unshared("dcba"), 0);
        assert_eq!(nearest.unshared("abxy"), 2);
        assert_eq!(nearest.unshared("aaaa"), 3);
        assert_eq!(nearest.unshared("abcdef"), 2);
    }

    #[test]
    fn distances_match_the_plain_levenshtein() {
        let words = [
            "",
            "a",
            "kitten",
            "sitting",
            "ext4_fill_super",
            "ext4_fill_supr",
            "é",
        ];
        for a in words.iter().filter(|a| !a.is_empty()) {
            for b in &words {
                let mut nearest = Nearest::new(a, 100, 1);
                assert_eq!(
                    nearest.distance(b, 100),
                    edit_distance(a, b, 100),
                    "{a} {b}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Over names from a small alphabet (so that many are near each
        /// other), offering every name keeps what sorting all of them by
        /// (distance, name) and taking the first `k` within the limit
        /// gives: neither character bound rules out a name it should keep.
        #[test]
        fn offering_keeps_what_a_full_sort_keeps(
            query in "[ab_cé]{1,9}",
            names in proptest::collection::vec("[ab_cdé]{0,11}", 0..60),
            limit in 0usize..5,
            k in 1usize..6,
        ) {
            let mut nearest = Nearest::new(&query, limit, k);
            for name in &names {
                nearest.offer(name);
            }
            let mut scored: Vec<(usize, &str)> = names
                .iter()
                .filter(|name| !name.is_empty())
                .filter_map(|name| Some((edit_distance(&query, name, limit)?, name.as_str())))
                .collect();
            scored.sort();
            scored.dedup();
            let expected: Vec<&str> = scored.iter().take(k).map(|(_, name)| *name).collect();
            proptest::prop_assert_eq!(nearest.into_names(), expected);
        }
    }

    #[test]
    fn signatures_hold_each_ascii_character_and_say_whether_all_were_ascii() {
        let plain = |bytes: &[u8]| {
            let set = bytes.iter().fold(0u64, |set, byte| set | 1 << (byte & 63));
            (set, bytes.is_ascii())
        };
        for text in [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "ext4_fill_super_x",
            "páse",
            "abcdefgé",
        ] {
            assert_eq!(signature(text.as_bytes()), plain(text.as_bytes()), "{text}");
        }
    }
}
