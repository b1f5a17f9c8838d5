//! Element types: the type `for x in ITER` binds `x` to. ITER's type comes
//! from the call it is (its function's declared return type) or the local
//! or `self` field it names (its written type); its element is the first
//! generic argument of a std collection (`Vec<T>`, `[T]`, `Option<T>`,
//! sets, deques, heaps) or the `Item` of a crate type's `Iterator` /
//! `IntoIterator` impl (`impl Iterator for Edges { type Item = Edge; }`).

use super::receivers::{first_generic_arg, receiver_type_path, return_type_text};
use super::{Index, ModId};
use crate::limits::MAX_CALL_CHAIN;
use crate::resolve::{ItemRef, Outcome, item_of};
use crate::summary::{CallKind, ItemKind, TypedName};

/// Std collections whose element is their first generic argument.
const STD_COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "LinkedList",
    "HashSet",
    "BTreeSet",
    "BinaryHeap",
    "Option",
];

/// Std methods that iterate a collection's elements (`v.iter()`).
const ITERATING_METHODS: &[&str] = &["iter", "iter_mut", "into_iter", "drain"];

/// Where a type text was written: its module, and the item whose `Self` it
/// may name.
pub(super) struct Written<'t> {
    pub(super) text: &'t str,
    pub(super) module: ModId,
    file: u32,
    item: Option<u32>,
}

impl Index<'_> {
    /// The type of `for` binding `binding` in `caller` of `file`.
    pub(super) fn element_type(
        &self,
        file: u32,
        caller: Option<u32>,
        binding: &TypedName,
        depth: usize,
    ) -> Option<ItemRef> {
        let iterable = match binding.value_call {
            Some(value_call) => {
                self.iterated_call_type(file, caller, value_call, binding, depth)?
            }
            None => self.declared_type(file, caller, &binding.iterable, binding.line)?,
        };
        self.element_of(&iterable)
    }

    /// The iterable a `for` loop's call gives: its function's return type,
    /// or for `v.iter()` on a local of a written std type, that type.
    fn iterated_call_type(
        &self,
        file: u32,
        caller: Option<u32>,
        value_call: u32,
        binding: &TypedName,
        depth: usize,
    ) -> Option<Written<'_>> {
        if depth >= MAX_CALL_CHAIN {
            return None;
        }
        if let Outcome::Resolved(function, _) = self.resolve_call_memo(file, value_call, depth + 1)
        {
            let item = item_of(self.files, function);
            let mut text = return_type_text(&item.signature)?;
            for _ in 0..binding.peel {
                text = super::receivers::peel_wrapper(text)?;
            }
            return Some(Written {
                text,
                module: self.module_of(function.file, Some(function.item)),
                file: function.file,
                item: Some(function.item),
            });
        }
        let call = self.files[file as usize]
            .summary
            .calls
            .get(value_call as usize)?;
        if call.kind != CallKind::Method || !ITERATING_METHODS.contains(&call.text.as_str()) {
            return None;
        }
        self.declared_type(file, caller, &call.receiver, call.line)
    }

    /// The written type of a local or parameter (`v: &[Edge]`) or of a
    /// field of `self` (`self.items`).
    pub(super) fn declared_type(
        &self,
        file: u32,
        caller: Option<u32>,
        expression: &str,
        line: u32,
    ) -> Option<Written<'_>> {
        if let Some(field) = expression.strip_prefix("self.") {
            let owner = self.self_type(file, caller)?;
            let declared = self.files[owner.file as usize].field(owner.item, field)?;
            return Some(Written {
                text: declared.type_text.as_str(),
                module: self.module_of(owner.file, Some(owner.item)),
                file: owner.file,
                item: Some(owner.item),
            });
        }
        let local = self.files[file as usize].typed_local_around(caller, expression, line)?;
        (!local.type_text.is_empty()).then(|| Written {
            text: local.type_text.as_str(),
            module: self.module_of(file, caller),
            file,
            item: caller,
        })
    }

    /// The element type of an iterable type: a std collection's first
    /// generic argument, a slice's or array's element, or the `Item` of a
    /// crate type's iterator impl.
    pub(super) fn element_of(&self, iterable: &Written) -> Option<ItemRef> {
        let text = strip_references(iterable.text);
        if let Some(inner) = text.strip_prefix('[') {
            let element = inner.split([';', ']']).next()?;
            return self.resolve_written(iterable, element);
        }
        let name = text.split('<').next().unwrap_or("").rsplit("::").next()?;
        if STD_COLLECTIONS.contains(&name.trim()) {
            return self.resolve_written(iterable, first_generic_arg(text)?);
        }
        let collection = self.resolve_written(iterable, text)?;
        self.iterator_item(collection)
    }

    /// A type written at `at` (`Self` is the item's own type).
    fn resolve_written(&self, at: &Written, text: &str) -> Option<ItemRef> {
        let path = receiver_type_path(text);
        if path == "Self" {
            return self.self_type(at.file, at.item);
        }
        self.resolve_type(at.module, &path)
    }

    /// `type Item` of the one `Iterator` / `IntoIterator` impl of `owner`
    /// whose item type resolves in the crate.
    fn iterator_item(&self, owner: ItemRef) -> Option<ItemRef> {
        let mut found: Vec<ItemRef> = Vec::new();
        for impl_ref in self.type_impls.get(&owner).into_iter().flatten() {
            let imp = item_of(self.files, *impl_ref);
            let trait_name = imp.impl_trait.rsplit("::").next().unwrap_or("");
            if !matches!(trait_name, "Iterator" | "IntoIterator") {
                continue;
            }
            let view = &self.files[impl_ref.file as usize];
            for child in view.children_of(Some(impl_ref.item)) {
                let item = &view.summary.items[*child as usize];
                if item.kind != ItemKind::TypeAlias || item.name != "Item" {
                    continue;
                }
                let Some(text) = super::imports::alias_right_side(&item.signature) else {
                    continue;
                };
                let at = Written {
                    text,
                    module: self.module_of(impl_ref.file, Some(impl_ref.item)),
                    file: impl_ref.file,
                    item: Some(impl_ref.item),
                };
                if let Some(element) = self.resolve_written(&at, text) {
                    found.push(element);
                }
            }
        }
        found.sort();
        found.dedup();
        (found.len() == 1).then(|| found[0])
    }
}

/// `&'a mut [T]` -> `[T]`: references, `mut` and lifetimes removed.
fn strip_references(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        let before = text;
        text = text.trim_start_matches('&').trim_start();
        if text.starts_with('\'') {
            text = text
                .split_once(' ')
                .map_or("", |(_, rest)| rest)
                .trim_start();
        }
        text = text.strip_prefix("mut ").unwrap_or(text).trim_start();
        if text == before {
            return text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_references;

    #[test]
    fn references_and_lifetimes_come_off() {
        assert_eq!(strip_references("&'a mut [Edge<E>]"), "[Edge<E>]");
        assert_eq!(strip_references("&Vec<u8>"), "Vec<u8>");
        assert_eq!(strip_references("Edges<'a, E>"), "Edges<'a, E>");
    }
}
