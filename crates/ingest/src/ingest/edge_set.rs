//! The graph's edges as the ingester holds them: one sorted vector without
//! duplicates. A `GraphEdge` is 33 bytes; a hash set of them costs about
//! twice that per edge once its load factor and power-of-two growth are
//! counted, and a tree of millions of edges (the Linux kernel has tens of
//! millions) made that set, and the copies planning took of it, the
//! largest thing an ingest held. Sorted, the difference between two sets
//! is one merge walk, and its output is already in write order.

use kausal_storage::GraphEdge;

/// Edges, sorted and without duplicates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct EdgeSet(Vec<GraphEdge>);

impl EdgeSet {
    /// The set of `edges` (any order, repeats allowed), reusing their
    /// allocation.
    pub(super) fn from_unsorted(mut edges: Vec<GraphEdge>) -> Self {
        sort_edges(&mut edges);
        edges.dedup();
        edges.shrink_to_fit();
        Self(edges)
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, GraphEdge> {
        self.0.iter()
    }

    pub(super) fn get(&self, index: u32) -> Option<&GraphEdge> {
        self.0.get(index as usize)
    }

    /// Positions in `self` of the edges `old` lacks, and the edges of
    /// `old` that `self` lacks; both sorted.
    pub(super) fn difference(&self, old: &EdgeSet) -> (Vec<u32>, Vec<GraphEdge>) {
        let (mut added, mut stale) = (Vec::new(), Vec::new());
        let (new, old) = (&self.0, &old.0);
        let (mut i, mut j) = (0, 0);
        while i < new.len() || j < old.len() {
            match (new.get(i), old.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a < b => {
                    added.push(i as u32);
                    i += 1;
                }
                (Some(_), None) => {
                    added.push(i as u32);
                    i += 1;
                }
                (_, Some(b)) => {
                    stale.push(*b);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        (added, stale)
    }
}

/// What [`EdgeSet::replace_dirty`] gives: the new set, the positions in it
/// of the edges the old set lacks, and the old set's edges it lacks (both
/// sorted).
pub(super) type Replaced = (EdgeSet, Vec<u32>, Vec<GraphEdge>);

impl EdgeSet {
    /// `self` with the edges `dirty` picks replaced by `fresh`, with the
    /// difference, in one merge walk (a sort of the whole tree's edges
    /// took over a second on the Linux tree for a 10-file edit).
    ///
    /// `dirty` must be a function of the edge's owner that holds for
    /// every edge of `fresh`: `fresh` is then the whole new edge set of
    /// the dirty owners, disjoint from the edges kept.
    pub(super) fn replace_dirty(
        &self,
        dirty: impl Fn(&GraphEdge) -> bool,
        fresh: &EdgeSet,
    ) -> Replaced {
        let (old, fresh) = (&self.0, &fresh.0);
        let mut out = Vec::with_capacity(old.len() + fresh.len());
        let (mut added, mut stale) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        loop {
            match (old.get(i), fresh.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    out.push(*a);
                    i += 1;
                    j += 1;
                }
                (Some(a), b) if b.is_none_or(|b| a < b) => {
                    if dirty(a) {
                        stale.push(*a);
                    } else {
                        out.push(*a);
                    }
                    i += 1;
                }
                (_, Some(b)) => {
                    added.push(out.len() as u32);
                    out.push(*b);
                    j += 1;
                }
                _ => break,
            }
        }
        (Self(out), added, stale)
    }
}

/// Fewest edges worth distributing into buckets first; a plain sort is
/// as fast below it.
const MIN_EDGES_FOR_BUCKETS: usize = 1 << 10;

/// Most bits of the source id a bucket is chosen by. Every bucket's next
/// free slot is written in turn, so their cache lines must stay in the
/// cache: with 2^16 buckets the distribution of 1M and 10M edges took 1.4x
/// and 1.2x a plain sort (scattered writes missing the cache and the TLB);
/// with 2^11 it matches the plain sort there and takes 0.6x of it at 25k
/// edges, the size of an edit's re-sort on the benchmark corpus.
const MAX_BUCKET_BITS: u32 = 11;

/// Sorts `edges` in place in their `Ord` order (source, target, type).
///
/// An ingest sorts every edge of the tree whenever it resolves (an edit
/// included), and a comparison sort of tens of thousands of 33-byte edges
/// was a quarter of an edit's re-ingest. Ids are hashes, so the top bits
/// of the source spread edges evenly: they are distributed in place into
/// about one bucket per four edges by those bits (`buckets::distribute`),
/// and each bucket, a few edges sharing a prefix, is then sorted by
/// comparison. Buckets in prefix
/// order, each sorted, is the whole order, since the prefix is the most
/// significant part of the key.
fn sort_edges(edges: &mut [GraphEdge]) {
    if edges.len() < MIN_EDGES_FOR_BUCKETS {
        edges.sort_unstable();
        return;
    }
    let bits = (usize::BITS - 3 - edges.len().leading_zeros()).min(MAX_BUCKET_BITS);
    let shift = 128 - bits;
    let starts = crate::buckets::distribute(edges, 1 << bits, |edge| {
        (edge.source.as_u128() >> shift) as usize
    });
    for range in starts.windows(2) {
        if range[1] - range[0] > 1 {
            edges[range[0]..range[1]].sort_unstable();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kausal_storage::{BlockId, EdgeType};

    fn edge(source: u128, target: u128) -> GraphEdge {
        GraphEdge::new(
            BlockId::from_u128(source),
            BlockId::from_u128(target),
            EdgeType::Calls,
        )
    }

    #[test]
    fn sorts_and_drops_repeats() {
        let set = EdgeSet::from_unsorted(vec![edge(3, 1), edge(1, 2), edge(3, 1)]);
        let edges: Vec<GraphEdge> = set.iter().copied().collect();
        assert_eq!(edges, vec![edge(1, 2), edge(3, 1)]);
    }

    proptest::proptest! {
        // Bucketed or not, the order is the edges' own, repeats kept
        // (so `dedup` after it drops them).
        #[test]
        fn sort_edges_is_a_sort(
            raw in proptest::collection::vec((0u8..6, 0u128..u128::MAX, 0u8..3), 0..5000),
        ) {
            let types = [EdgeType::Calls, EdgeType::Imports, EdgeType::Contains];
            // Few distinct sources: buckets with many edges and ties.
            let mut edges: Vec<GraphEdge> = raw
                .iter()
                .map(|(source, target, kind)| {
                    GraphEdge::new(
                        BlockId::from_u128((u128::from(*source) << 120) | 1),
                        BlockId::from_u128(*target % 7 + 1),
                        types[usize::from(*kind)],
                    )
                })
                .chain(raw.iter().map(|(_, target, _)| edge(*target | 1, *target >> 3)))
                .collect();
            let mut expected = edges.clone();
            expected.sort();
            sort_edges(&mut edges);
            proptest::prop_assert_eq!(edges, expected);
        }
    }

    proptest::proptest! {
        // Replacing the dirty owners' edges equals building the new set
        // from the kept edges and the fresh ones, and its difference is
        // the plain difference.
        #[test]
        fn replace_dirty_equals_a_rebuild(
            old in proptest::collection::vec((0u128..40, 0u128..8), 0..300),
            new in proptest::collection::vec((0u128..40, 0u128..8), 0..300),
            dirty_owners in proptest::collection::vec(0u128..40, 0..20),
        ) {
            let dirty = |e: &GraphEdge| dirty_owners.contains(&e.source.as_u128());
            let old = EdgeSet::from_unsorted(old.iter().map(|(s, t)| edge(*s + 1, *t + 1)).collect());
            let fresh = EdgeSet::from_unsorted(
                new.iter()
                    .map(|(s, t)| edge(*s + 1, *t + 1))
                    .filter(|e| dirty(e))
                    .collect(),
            );
            let (replaced, added, stale) = old.replace_dirty(dirty, &fresh);
            let rebuilt = EdgeSet::from_unsorted(
                old.iter().filter(|e| !dirty(e)).chain(fresh.iter()).copied().collect(),
            );
            proptest::prop_assert_eq!(&replaced, &rebuilt);
            let (want_added, want_stale) = rebuilt.difference(&old);
            proptest::prop_assert_eq!(added, want_added);
            proptest::prop_assert_eq!(stale, want_stale);
        }
    }

    #[test]
    fn difference_finds_added_and_stale() {
        let old = EdgeSet::from_unsorted(vec![edge(1, 2), edge(2, 3), edge(5, 6)]);
        let new = EdgeSet::from_unsorted(vec![edge(0, 1), edge(2, 3), edge(4, 5), edge(7, 8)]);
        let (added, stale) = new.difference(&old);
        let added: Vec<GraphEdge> = added.iter().filter_map(|i| new.get(*i)).copied().collect();
        assert_eq!(added, vec![edge(0, 1), edge(4, 5), edge(7, 8)]);
        assert_eq!(stale, vec![edge(1, 2), edge(5, 6)]);
        let (added, stale) = old.difference(&old);
        assert!(added.is_empty() && stale.is_empty());
        let (added, stale) = new.difference(&EdgeSet::default());
        assert_eq!((added.len(), stale.len()), (4, 0));
    }
}
