//! The nearest names to a query by edit distance, over a stream of names
//! (the names dictionary's, or a scan's in an older database): what "did
//! you mean" offers. The work per name is bounded: names whose length
//! alone rules them out cost a length check, the rest one banded
//! Levenshtein that stops once a row exceeds the limit, with no
//! allocation; and once `k` names are kept the limit drops to the
//! farthest of them, so later names are cut off sooner.

/// Most names of the dictionary a suggestion search examines. The Linux
/// kernel's 6.1 tree has about 600,000 distinct names (a full pass takes
/// tens of milliseconds); a larger dictionary is examined in name order
/// up to here.
pub const MAX_NAMES_EXAMINED: usize = 4_000_000;

/// The `k` names nearest a query, within an edit distance limit.
pub(crate) struct Nearest {
    query: Vec<char>,
    limit: usize,
    k: usize,
    /// (distance, name), sorted: the nearest kept so far.
    kept: Vec<(usize, String)>,
    name: Vec<char>,
    previous: Vec<usize>,
    current: Vec<usize>,
}

impl Nearest {
    /// Keeps the `k` names nearest `query`, none farther than `limit`.
    pub(crate) fn new(query: &str, limit: usize, k: usize) -> Self {
        Self {
            query: query.chars().collect(),
            limit,
            k,
            kept: Vec::with_capacity(k + 1),
            name: Vec::new(),
            previous: Vec::new(),
            current: Vec::new(),
        }
    }

    /// The farthest distance a name may have and still be kept.
    fn bound(&self) -> usize {
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
        let length = if name.is_ascii() {
            name.len()
        } else {
            name.chars().count()
        };
        if length.abs_diff(self.query.len()) > bound {
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
}
