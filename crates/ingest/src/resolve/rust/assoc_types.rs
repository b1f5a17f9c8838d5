//! Values typed by an associated type of a generic parameter (`e:
//! G::EdgeRef`) with no bound written on that path: the types the crate's
//! trait impls give that associated type (`type EdgeRef = EdgeReference<'a,
//! E>;`). In generic code a method on such a value dispatches through a
//! trait (inherent methods of the concrete types are out of reach), so
//! when every one of those types has `m` through one and the same trait,
//! the call is that trait's `m`; any doubt leaves it unresolved.

use rustc_hash::FxHashMap;

use super::Index;
use super::receivers::receiver_type_path;
use crate::resolve::{ItemRef, Outcome, Rule, item_of};
use crate::summary::ItemKind;

impl Index<'_> {
    /// `type NAME = ..;` items of trait impls, by NAME (built once, in
    /// `resolve_impls`).
    pub(super) fn index_impl_assoc_types(&self) -> FxHashMap<String, Vec<ItemRef>> {
        let mut out: FxHashMap<String, Vec<ItemRef>> = FxHashMap::default();
        // Impls of any trait, the crate's or one it cannot see (declared
        // inside a macro, or in another crate).
        for file in self.file_module.keys() {
            let items = &self.files[*file as usize].summary.items;
            for (index, item) in items.iter().enumerate() {
                if item.kind != ItemKind::TypeAlias || item.compiled_out {
                    continue;
                }
                let in_trait_impl = item
                    .parent
                    .and_then(|p| items.get(p as usize))
                    .is_some_and(|p| p.kind == ItemKind::Impl && !p.impl_trait.is_empty());
                if in_trait_impl {
                    out.entry(item.name.clone()).or_default().push(ItemRef {
                        file: *file,
                        item: index as u32,
                    });
                }
            }
        }
        for found in out.values_mut() {
            found.sort();
        }
        out
    }

    /// The method `method` of a value of type `P::name` (see the module
    /// doc): the one trait's declaration, or `None`.
    pub(super) fn associated_type_method(&self, name: &str, method: &str) -> Option<Outcome> {
        let aliases = self.impl_assoc_types.get(name)?;
        let mut common: Option<Vec<ItemRef>> = None;
        for alias in aliases {
            let item = item_of(self.files, *alias);
            let right = super::imports::alias_right_side(&item.signature)?;
            let path = receiver_type_path(right);
            let impl_item = item.parent?;
            // A type the crate does not declare (a tuple, a delegation to
            // `G::EdgeRef`, another crate's type) implements the bound
            // trait as well; what it adds is not known here, so only the
            // crate's own types are compared.
            let concrete = if path == "Self" {
                self.self_type(alias.file, Some(impl_item))
            } else {
                self.resolve_type(self.module_of(alias.file, Some(impl_item)), &path)
            };
            let Some(concrete) = concrete else { continue };
            // The traits through which this type has `method`; one from a
            // trait the crate cannot see could be the bound: no answer.
            let mut traits: Vec<ItemRef> = Vec::new();
            for found in self
                .assoc
                .get(&concrete)
                .and_then(|methods| methods.get(method))
                .into_iter()
                .flatten()
            {
                match self.trait_of_method(*found) {
                    Some(trait_ref) => traits.push(trait_ref),
                    None if self.in_trait_impl(*found) => return None,
                    None => {}
                }
            }
            traits.sort();
            traits.dedup();
            common = Some(match common {
                None => traits,
                Some(before) => before.into_iter().filter(|t| traits.contains(t)).collect(),
            });
            if common.as_ref().is_some_and(Vec::is_empty) {
                return None;
            }
        }
        let common = common?;
        let [only] = common.as_slice() else {
            return None;
        };
        let declared = self.assoc.get(only)?.get(method)?;
        (declared.len() == 1).then(|| Outcome::Resolved(declared[0], Rule::AssociatedType))
    }

    /// Whether a method is declared in an impl of some trait.
    fn in_trait_impl(&self, method: ItemRef) -> bool {
        let items = &self.files[method.file as usize].summary.items;
        items[method.item as usize]
            .parent
            .and_then(|p| items.get(p as usize))
            .is_some_and(|p| p.kind == ItemKind::Impl && !p.impl_trait.is_empty())
    }
}
