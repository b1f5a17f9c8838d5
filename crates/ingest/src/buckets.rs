//! Distribution sort in place (an American flag sort): the first pass of
//! the sorts an ingest runs over every edge and every provenance record
//! of the tree on each resolution, an edit's included. Each item moves at
//! most once and nothing is copied aside, which matters at the tens of
//! millions of edges of a kernel-sized tree.

/// Reorders `items` so that bucket `b`'s items (`bucket(item) == b`, every
/// value below `buckets`) come before bucket `b + 1`'s, and returns the
/// bounds: bucket `b` is `items[bounds[b]..bounds[b + 1]]`. The order
/// within a bucket is unspecified.
pub(crate) fn distribute<T>(
    items: &mut [T],
    buckets: usize,
    bucket: impl Fn(&T) -> usize,
) -> Vec<usize> {
    let mut bounds = vec![0usize; buckets + 1];
    for item in items.iter() {
        bounds[bucket(item) + 1] += 1;
    }
    for b in 0..buckets {
        bounds[b + 1] += bounds[b];
    }
    // next[b]: bucket b's first slot not yet holding one of its own.
    let mut next = bounds.clone();
    for b in 0..buckets {
        let end = bounds[b + 1];
        while next[b] < end {
            let home = bucket(&items[next[b]]);
            if home == b {
                next[b] += 1;
            } else {
                items.swap(next[b], next[home]);
                next[home] += 1;
            }
        }
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn every_item_lands_in_its_bucket_and_none_is_lost(
            items in proptest::collection::vec(0usize..1000, 0..3000),
            buckets in 1usize..64,
        ) {
            let key = |item: &usize| item % buckets;
            let mut moved = items.clone();
            let bounds = distribute(&mut moved, buckets, key);
            proptest::prop_assert_eq!(bounds.len(), buckets + 1);
            for b in 0..buckets {
                for item in &moved[bounds[b]..bounds[b + 1]] {
                    proptest::prop_assert_eq!(key(item), b);
                }
            }
            let (mut before, mut after) = (items, moved);
            before.sort_unstable();
            after.sort_unstable();
            proptest::prop_assert_eq!(before, after);
        }
    }
}
