//! The callers check of precise mode (issue 22): for a fixed sample of
//! functions, the callers kausal's database answers (the sources of
//! incoming `calls`, `calls_method` and `calls_function` edges, as
//! `kausal callers` reads them) against the callers the index records
//! (the reference edges into the function).
//!
//! The sample is deterministic: the functions the index analysed, sorted
//! by block id; [`WITH_CALLERS`] evenly spaced among those with at least
//! one reference caller, and [`WITHOUT_CALLERS`] evenly spaced among those
//! with none (a function nobody calls must get no callers either).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kausal_storage::BlockId;

use crate::Func;
use crate::reference::Reference;

/// Functions checked that the index gives at least one caller.
pub const WITH_CALLERS: usize = 16;
/// Functions checked that the index gives no caller.
pub const WITHOUT_CALLERS: usize = 4;

/// The outcome of the check.
pub struct CallersCheck {
    /// Functions checked.
    pub checked: usize,
    /// Of those, functions whose callers are exactly the index's.
    pub exact: usize,
    /// Of those checked, functions with at least one reference caller.
    pub with_callers: usize,
    /// One line per function checked whose callers differ.
    pub differences: Vec<String>,
}

/// `count` items of `items`, evenly spaced (all of them when there are
/// no more than `count`).
fn evenly_spaced<T: Copy>(items: &[T], count: usize) -> Vec<T> {
    if items.len() <= count {
        return items.to_vec();
    }
    (0..count).map(|i| items[i * items.len() / count]).collect()
}

/// The functions to check, by block id: some with reference callers, some
/// without.
pub fn sample(
    reference: &Reference,
    reference_callers: &BTreeMap<BlockId, BTreeSet<BlockId>>,
) -> Vec<BlockId> {
    // `indexed` is a sorted set: the functions in block id order.
    let (called, uncalled): (Vec<BlockId>, Vec<BlockId>) = reference
        .indexed
        .iter()
        .copied()
        .partition(|id| reference_callers.contains_key(id));
    let mut chosen = evenly_spaced(&called, WITH_CALLERS);
    chosen.extend(evenly_spaced(&uncalled, WITHOUT_CALLERS));
    chosen
}

/// The index's callers of each function: the reference edges reversed.
pub fn reference_callers(reference: &Reference) -> BTreeMap<BlockId, BTreeSet<BlockId>> {
    let mut callers: BTreeMap<BlockId, BTreeSet<BlockId>> = BTreeMap::new();
    for &(caller, callee) in reference.edges.keys() {
        callers.entry(callee).or_default().insert(caller);
    }
    callers
}

/// Compares, for each sampled function, `database_callers` (what the
/// database answers) with the index's callers.
pub fn check(
    reference: &Reference,
    database_callers: &HashMap<BlockId, BTreeSet<BlockId>>,
    funcs: &[Func],
) -> CallersCheck {
    let expected = reference_callers(reference);
    let chosen = sample(reference, &expected);
    let by_id: HashMap<BlockId, &Func> = funcs.iter().map(|f| (f.id, f)).collect();
    let name = |id: &BlockId| {
        by_id.get(id).map_or_else(
            || id.to_string(),
            |f| format!("{} ({}:{})", f.qualified, f.path, f.start),
        )
    };
    let none = BTreeSet::new();
    let mut result = CallersCheck {
        checked: chosen.len(),
        exact: 0,
        with_callers: chosen.iter().filter(|id| expected.contains_key(id)).count(),
        differences: Vec::new(),
    };
    for id in &chosen {
        let wanted = expected.get(id).unwrap_or(&none);
        let answered = database_callers.get(id).unwrap_or(&none);
        if wanted == answered {
            result.exact += 1;
            continue;
        }
        let only = |a: &BTreeSet<BlockId>, b: &BTreeSet<BlockId>| {
            a.difference(b).map(&name).collect::<Vec<_>>().join(", ")
        };
        result.differences.push(format!(
            "{}: {} callers in the database, {} in the index; only the database: [{}]; only the index: [{}]",
            name(id),
            answered.len(),
            wanted.len(),
            only(answered, wanted),
            only(wanted, answered),
        ));
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use kausal_storage::BlockId;

    use super::{check, evenly_spaced};
    use crate::reference::Reference;

    #[test]
    fn a_caller_too_many_or_too_few_is_not_exact() {
        let [a, b, c, d] = [1, 2, 3, 4].map(|n| BlockId::from_bytes([n; 16]));
        let mut reference = Reference::default();
        reference.edges.insert((a, c), "x.rs:1: c()".into());
        reference.edges.insert((b, c), "x.rs:2: c()".into());
        reference.indexed.extend([a, b, c, d]);
        // The database misses b -> c and adds a -> d; a and b have no
        // callers either way.
        let database = HashMap::from([(c, BTreeSet::from([a])), (d, BTreeSet::from([a]))]);
        let result = check(&reference, &database, &[]);
        assert_eq!((result.checked, result.with_callers), (4, 1));
        assert_eq!(result.exact, 2);
        assert_eq!(result.differences.len(), 2, "{:?}", result.differences);
        let exact = HashMap::from([(c, BTreeSet::from([a, b]))]);
        assert_eq!(check(&reference, &exact, &[]).exact, 4);
    }

    #[test]
    fn evenly_spaced_takes_all_or_a_spread() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(evenly_spaced(&items, 20), items);
        assert_eq!(evenly_spaced(&items, 4), vec![0, 2, 5, 7]);
        assert_eq!(evenly_spaced(&items, 0), Vec::<u32>::new());
    }
}
