//! Impl blocks: each settled to its self type and trait, the methods of
//! every type and trait by name (`method_of` / `implements` edges), and
//! the trait a method belongs to.

use kausal_storage::EdgeType;
use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Index, Target};
use crate::resolve::{ItemRef, Outcome, Resolution, Rule, id_of, item_of, kind_of, settle};
use crate::summary::{CallRef, ItemKind};

impl<'a> Index<'a> {
    /// Methods named `name` of a type (its impls in the crate) or trait;
    /// failing those, the methods of traits the type implements.
    pub(super) fn methods_of(&self, owner: ItemRef, name: &str) -> Vec<ItemRef> {
        if let Some(found) = self.assoc.get(&owner).and_then(|m| m.get(name))
            && !found.is_empty()
        {
            // Rust looks up inherent methods before trait methods: one
            // inherent method of that name is the one a call reaches.
            if found.len() > 1 {
                let mut inherent = found.iter().filter(|method| self.is_inherent(**method));
                if let (Some(only), None) = (inherent.next(), inherent.next()) {
                    return vec![*only];
                }
            }
            return found.clone();
        }
        let mut out = Vec::new();
        for trait_ref in self.type_traits.get(&owner).into_iter().flatten() {
            if let Some(found) = self.assoc.get(trait_ref).and_then(|m| m.get(name)) {
                out.extend(found.iter().copied());
            }
        }
        out
    }

    /// `x.m()` on a receiver of a type from elsewhere (or unknown): the
    /// method `m` of a blanket-implemented trait in scope at the call
    /// (`use itertools::Itertools;` then `v.iter().chunk_by(..)`); `None`
    /// when no such trait declares `m`, ambiguous when several do.
    pub(super) fn blanket_method(&self, file: u32, call: &CallRef) -> Option<Outcome> {
        // `Iterator::map`, `sum`, `intersperse`: a blanket trait over
        // iterators cannot take a name `Iterator` itself has; `iter`,
        // `len`, `get` on a receiver of unknown type are std's.
        if name_set(&STD_ITERATOR_SET, STD_ITERATOR_METHODS).contains(call.text.as_str())
            || matches!(
                call.text.as_str(),
                "iter" | "iter_mut" | "into_iter" | "len" | "get"
            )
        {
            return None;
        }
        let mut found = Vec::new();
        for trait_ref in &self.blanket_traits {
            let Some(methods) = self.assoc.get(trait_ref).and_then(|m| m.get(&call.text)) else {
                continue;
            };
            let name = &item_of(self.files, *trait_ref).name;
            let in_scope = self
                .scope_lookup(file, call.caller, name)
                .contains(&Target::Item(*trait_ref));
            if in_scope {
                found.extend(methods.iter().copied());
            }
        }
        settle(self.files, &found, Rule::BlanketTrait)
    }

    /// Whether a method is declared in an impl with no trait (`impl T {}`).
    fn is_inherent(&self, method: ItemRef) -> bool {
        let summary = self.files[method.file as usize].summary;
        let parent = summary.items[method.item as usize].parent;
        parent
            .and_then(|p| summary.items.get(p as usize))
            .is_some_and(|p| p.kind == ItemKind::Impl && p.impl_trait.is_empty())
    }

    /// Settles impl blocks: their self type and trait, the methods of each
    /// type and trait, and the method_of / implements edges.
    pub(super) fn resolve_impls(&mut self, out: &mut Resolution) {
        let files = self.files;
        let mut assoc: FxHashMap<ItemRef, FxHashMap<String, Vec<ItemRef>>> = FxHashMap::default();
        let files_in_order: Vec<u32> = self.file_module.keys().copied().collect::<Vec<_>>();
        let mut ordered = files_in_order;
        ordered.sort();
        for file in ordered {
            let summary = files[file as usize].summary;
            for (i, item) in summary.items.iter().enumerate() {
                let item_ref = ItemRef {
                    file,
                    item: i as u32,
                };
                if item.compiled_out {
                    continue;
                }
                let owner = match item.kind {
                    ItemKind::Trait => Some(item_ref),
                    ItemKind::Impl => {
                        let m = self.module_of(file, Some(i as u32));
                        let self_type = self.resolve_type(m, &item.impl_type);
                        let trait_ref = self.resolve_type(m, &item.impl_trait);
                        if let Some(t) = self_type {
                            self.impl_type.insert(item_ref, t);
                            self.type_impls.entry(t).or_default().push(item_ref);
                        }
                        if let Some(tr) = trait_ref {
                            self.impl_trait.insert(item_ref, tr);
                        }
                        if let (None, Some(tr)) = (self_type, trait_ref)
                            && is_generic_parameter(&item.signature, &item.impl_type)
                        {
                            self.blanket_traits.push(tr);
                        }
                        if let (Some(t), Some(tr)) = (self_type, trait_ref) {
                            self.type_traits.entry(t).or_default().push(tr);
                            out.edge(id_of(files, t), id_of(files, tr), EdgeType::Implements);
                        }
                        self_type
                    }
                    _ => None,
                };
                let Some(owner) = owner else { continue };
                // Methods of impls of traits from other crates (`fmt`,
                // `drop`, `as_ref`, `cmp`) exist on countless std types: an
                // unknown receiver must not resolve to them by name.
                let external_trait_impl = item.kind == ItemKind::Impl
                    && !item.impl_trait.is_empty()
                    && !self.impl_trait.contains_key(&item_ref);
                let krate = self.file_crate.get(&file).copied().unwrap_or(0) as usize;
                for c in files[file as usize].children_of(Some(i as u32)) {
                    let child = &summary.items[*c as usize];
                    if child.kind != ItemKind::Method || child.compiled_out {
                        continue;
                    }
                    let child_ref = ItemRef { file, item: *c };
                    if !external_trait_impl
                        && !name_set(&COMMON_STD_SET, COMMON_STD_METHODS)
                            .contains(child.name.as_str())
                        && let Some(candidates) = self.unique_candidates.get_mut(krate)
                    {
                        candidates
                            .entry(child.name.clone())
                            .or_default()
                            .push(child_ref);
                    }
                    assoc
                        .entry(owner)
                        .or_default()
                        .entry(child.name.clone())
                        .or_default()
                        .push(child_ref);
                    out.edge(
                        id_of(files, child_ref),
                        id_of(files, owner),
                        EdgeType::MethodOf,
                    );
                }
            }
        }
        for traits in self.type_traits.values_mut() {
            traits.sort();
            traits.dedup();
        }
        self.assoc = assoc;
        self.impl_assoc_types = self.index_impl_assoc_types();
        // Impl resolution looked names up before `assoc` existed; paths
        // through types must not reuse those results.
        self.memo.clear();
        self.type_memo.clear();
    }

    /// The trait a method belongs to: its own trait, or the in-crate trait
    /// its impl implements.
    pub(super) fn trait_of_method(&self, method: ItemRef) -> Option<ItemRef> {
        let parent = item_of(self.files, method).parent?;
        let parent_ref = ItemRef {
            file: method.file,
            item: parent,
        };
        match kind_of(self.files, parent_ref) {
            ItemKind::Trait => Some(parent_ref),
            ItemKind::Impl => self.impl_trait.get(&parent_ref).copied(),
            _ => None,
        }
    }

    /// When every candidate is the declaration of one trait's method or an
    /// implementation of it, that declaration.
    pub(super) fn common_trait_method(
        &self,
        candidates: &[ItemRef],
        name: &str,
    ) -> Option<ItemRef> {
        let first = self.trait_of_method(*candidates.first()?)?;
        if candidates
            .iter()
            .any(|c| self.trait_of_method(*c) != Some(first))
        {
            return None;
        }
        let declared = self.assoc.get(&first)?.get(name)?;
        (declared.len() == 1).then(|| declared[0])
    }
}

/// Whether `name` is a generic parameter the impl header declares
/// (`impl<T: Iterator> Ext for T`), which makes the impl a blanket one.
fn is_generic_parameter(header: &str, name: &str) -> bool {
    let Some(params) = header
        .strip_prefix("impl<")
        .or_else(|| header.strip_prefix("unsafe impl<"))
    else {
        return false;
    };
    let mut depth = 0usize;
    let mut start = 0;
    for (at, c) in params.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' if depth == 0 => return declares(&params[start..at], name),
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                if declares(&params[start..at], name) {
                    return true;
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    false
}

/// `T`, `T: Bound`, `T: ?Sized` declare `T`; `'a` and `const N` do not.
fn declares(param: &str, name: &str) -> bool {
    let declared = param.split(':').next().unwrap_or("").trim();
    !declared.is_empty() && declared == name
}

/// A name list as a set, built once: the lists are long and looked up per
/// method and per call.
fn name_set(
    cell: &'static OnceLock<FxHashSet<&'static str>>,
    names: &'static [&'static str],
) -> &'static FxHashSet<&'static str> {
    cell.get_or_init(|| names.iter().copied().collect())
}

static STD_ITERATOR_SET: OnceLock<FxHashSet<&'static str>> = OnceLock::new();
static COMMON_STD_SET: OnceLock<FxHashSet<&'static str>> = OnceLock::new();

/// `Iterator`'s methods (stable and unstable): what an iterator receiver
/// reaches before any extension trait's method of the same name.
const STD_ITERATOR_METHODS: &[&str] = &[
    "next",
    "next_back",
    "size_hint",
    "count",
    "last",
    "nth",
    "step_by",
    "chain",
    "zip",
    "intersperse",
    "map",
    "for_each",
    "filter",
    "filter_map",
    "enumerate",
    "peekable",
    "skip_while",
    "take_while",
    "map_while",
    "skip",
    "take",
    "scan",
    "flat_map",
    "flatten",
    "fuse",
    "inspect",
    "by_ref",
    "collect",
    "partition",
    "try_fold",
    "try_for_each",
    "fold",
    "reduce",
    "all",
    "any",
    "find",
    "find_map",
    "position",
    "rposition",
    "max",
    "min",
    "max_by_key",
    "max_by",
    "min_by_key",
    "min_by",
    "rev",
    "unzip",
    "copied",
    "cloned",
    "cycle",
    "sum",
    "product",
    "cmp",
    "partial_cmp",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "is_sorted",
    "is_sorted_by",
    "is_sorted_by_key",
    "array_chunks",
    "map_windows",
];

/// Method names of std types (collections, iterators, strings, options,
/// smart pointers): a call of one of these on a receiver of unknown type is
/// far more likely the std method than a same-named method of the crate,
/// so the unique-name rule does not apply to them.
const COMMON_STD_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "push",
    "pop",
    "get",
    "get_mut",
    "insert",
    "remove",
    "contains",
    "contains_key",
    "extend",
    "iter",
    "iter_mut",
    "into_iter",
    "clear",
    "sort",
    "sort_by",
    "sort_unstable",
    "dedup",
    "retain",
    "truncate",
    "reserve",
    "capacity",
    "first",
    "last",
    "split",
    "join",
    "map",
    "and_then",
    "unwrap",
    "expect",
    "ok",
    "err",
    "clone",
    "to_string",
    "to_owned",
    "as_ref",
    "as_mut",
    "as_str",
    "as_bytes",
    "borrow",
    "borrow_mut",
    "next",
    "peek",
    "collect",
    "count",
    "take",
    "skip",
    "filter",
    "fold",
    "min",
    "max",
    "cmp",
    "partial_cmp",
    "eq",
    "hash",
    "fmt",
    "write",
    "read",
    "flush",
    "lock",
    "send",
    "recv",
    "entry",
    "keys",
    "values",
    "union",
    "intersection",
    "difference",
    "append",
    "drain",
    "swap",
    "replace",
    "push_str",
    "starts_with",
    "ends_with",
    "find",
    "trim",
    "chars",
    "bytes",
    "lines",
    "parse",
    "from",
    "into",
    "default",
    "new",
    "with_capacity",
    "start",
    "end",
    "set",
    "is_some",
    "is_none",
    "unwrap_or",
    "unwrap_or_default",
    "is_ok",
    "is_err",
    "next_back",
    "size_hint",
    "nth",
    "step_by",
    "chain",
    "zip",
    "enumerate",
    "peekable",
    "skip_while",
    "take_while",
    "map_while",
    "flat_map",
    "flatten",
    "fuse",
    "inspect",
    "by_ref",
    "partition",
    "try_fold",
    "try_for_each",
    "for_each",
    "reduce",
    "all",
    "any",
    "position",
    "rposition",
    "max_by",
    "max_by_key",
    "min_by",
    "min_by_key",
    "rev",
    "unzip",
    "copied",
    "cloned",
    "cycle",
    "sum",
    "product",
    "filter_map",
    "find_map",
    "scan",
    "intersperse",
    "is_sorted",
    "or",
    "or_else",
    "xor",
    "and",
    "map_or",
    "map_or_else",
    "ok_or",
    "ok_or_else",
    "get_or_insert",
    "get_or_insert_with",
    "as_deref",
    "as_deref_mut",
    "unwrap_or_else",
    "map_err",
    "transpose",
    "is_some_and",
    "is_none_or",
    "inspect_err",
    "chunks",
    "chunks_exact",
    "windows",
    "split_at",
    "split_first",
    "split_last",
    "concat",
    "to_vec",
    "binary_search",
    "binary_search_by",
    "binary_search_by_key",
    "reverse",
    "fill",
    "copy_from_slice",
    "clone_from_slice",
    "resize",
    "extend_from_slice",
    "swap_remove",
    "split_off",
    "rotate_left",
    "rotate_right",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "last_mut",
    "first_mut",
    "as_slice",
    "as_mut_slice",
    "as_ptr",
    "dedup_by",
    "dedup_by_key",
    "chunk_by",
    "split_whitespace",
    "char_indices",
    "to_lowercase",
    "to_uppercase",
    "trim_start",
    "trim_end",
    "strip_prefix",
    "strip_suffix",
    "split_once",
    "rsplit",
    "rsplit_once",
    "splitn",
    "repeat",
    "matches",
    "rfind",
    "or_insert",
    "or_insert_with",
    "or_default",
    "and_modify",
    "values_mut",
    "into_keys",
    "into_values",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "not",
    "abs",
    "pow",
    "checked_add",
    "checked_sub",
    "saturating_sub",
    "saturating_add",
    "wrapping_add",
    "wrapping_sub",
    "push_back",
    "push_front",
    "pop_back",
    "pop_front",
    "front",
    "back",
    "write_str",
    "write_fmt",
];

#[cfg(test)]
mod tests {
    use super::is_generic_parameter;

    #[test]
    fn a_blanket_impl_is_one_over_its_own_parameter() {
        assert!(is_generic_parameter(
            "impl<T> Itertools for T where T: Iterator + ?Sized",
            "T"
        ));
        assert!(is_generic_parameter(
            "impl<'a, I: Iterator<Item = u8>, F> Ext for I",
            "I"
        ));
        assert!(!is_generic_parameter("impl<T> Ext for Vec<T>", "Vec"));
        assert!(!is_generic_parameter("impl Ext for Thing", "Thing"));
    }
}
