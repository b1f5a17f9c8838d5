//! Call resolution: a path call through the caller's scopes (nested
//! items, function-local `use`, module, other crates, a name unique in the
//! crate), a method call through `self`, a typed receiver, a call chain or
//! a method name unique in the crate; memoised per call.

use super::receivers::{peel_wrapper, receiver_type_path, return_type_text};
use super::{Found, Index, Target, items_of};
use crate::limits::{MAX_CALL_CHAIN, MAX_PATH_SEGMENTS};
use crate::resolve::{
    CallKind, ItemRef, Outcome, Rule, children_named, nested_callable, owner_ancestor, settle,
};
use crate::summary::{CallRef, ItemKind};

impl<'a> Index<'a> {
    /// Targets of the first segment of a call path, through the caller's
    /// scopes: function-local `use`, then the module.
    pub(super) fn scope_lookup(&self, file: u32, caller: Option<u32>, name: &str) -> Vec<Target> {
        let summary = self.files[file as usize].summary;
        let m = self.module_of(file, caller);
        let mut current = caller;
        while let Some(index) = current {
            let Some(item) = summary.items.get(index as usize) else {
                break;
            };
            if item.kind == ItemKind::Module {
                break;
            }
            if let Some(imports) = self.fn_imports.get(&ItemRef { file, item: index }) {
                let mut out = Vec::new();
                for i in imports {
                    let import = &summary.imports[*i as usize];
                    if import.local_name() == Some(name)
                        && let Found::Targets(targets) = self.resolve_use(m, &import.path, 0)
                    {
                        out.extend(targets);
                    }
                }
                if !out.is_empty() {
                    return out;
                }
            }
            current = item.parent;
        }
        self.lookup(m, name, 0)
    }

    /// The type (or trait) `Self` and `self` mean at the caller.
    pub(super) fn self_type(&self, file: u32, caller: Option<u32>) -> Option<ItemRef> {
        let summary = self.files[file as usize].summary;
        let owner = owner_ancestor(summary, caller)?;
        let owner_ref = ItemRef { file, item: owner };
        match summary.items[owner as usize].kind {
            ItemKind::Impl => self.impl_type.get(&owner_ref).copied(),
            ItemKind::Trait => Some(owner_ref),
            _ => None,
        }
    }

    /// The outcome of call `index` of `file`, memoised; `depth` bounds the
    /// chain of receivers followed (`a.b().c().d()`).
    pub(super) fn resolve_call_memo(&self, file: u32, index: u32, depth: usize) -> Outcome {
        if let Some(outcome) = self.call_memo.get_or_default().borrow().get(&(file, index)) {
            return outcome.clone();
        }
        let Some(call) = self.files[file as usize].summary.calls.get(index as usize) else {
            return Outcome::Unresolved("no such call");
        };
        let outcome = match call.kind {
            CallKind::Path => self.resolve_path_call(file, call),
            CallKind::Method => self.resolve_method_call(file, call, depth),
        };
        self.call_memo
            .get_or_default()
            .borrow_mut()
            .insert((file, index), outcome.clone());
        outcome
    }

    /// The type a function returns, resolved where it is declared, with
    /// `peel` layers of `Result` / `Option` taken off (`f()?`).
    pub(super) fn return_type(&self, function: ItemRef, peel: u8) -> Option<ItemRef> {
        let item = &self.files[function.file as usize].summary.items[function.item as usize];
        let mut returned = return_type_text(&item.signature)?;
        for _ in 0..peel {
            returned = peel_wrapper(returned)?;
        }
        let path = receiver_type_path(returned);
        if path == "Self" {
            return self.self_type(function.file, Some(function.item));
        }
        let module = self.module_of(function.file, Some(function.item));
        self.resolve_type(module, &path)
    }

    pub(super) fn resolve_path_call(&self, file: u32, call: &CallRef) -> Outcome {
        let files = self.files;
        let summary = files[file as usize].summary;
        if call.text.starts_with('<') {
            return self.qualified_trait_call(file, call);
        }
        let segments: Vec<String> = call.text.split("::").map(str::to_string).collect();
        if segments.len() > MAX_PATH_SEGMENTS || segments.iter().any(String::is_empty) {
            return Outcome::Unresolved("malformed path");
        }
        let krate = self.file_crate.get(&file).copied().unwrap_or(0);
        let m = self.module_of(file, call.caller);
        if segments.len() == 1 {
            let name = segments[0].as_str();
            if let Some(found) = nested_callable(&files[file as usize], call.caller, name) {
                return Outcome::Resolved(ItemRef { file, item: found }, Rule::Nested);
            }
            let items = items_of(&self.scope_lookup(file, call.caller, name));
            if let Some(outcome) = settle(files, &items, Rule::Scope) {
                return self.scope_or_import(m, name, outcome);
            }
            let candidates = self.free_fns[krate as usize]
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            return match candidates.len() {
                0 => Outcome::External,
                1 => Outcome::Resolved(candidates[0], Rule::CrateUnique),
                _ => Outcome::Ambiguous(candidates.to_vec()),
            };
        }
        let first = segments[0].as_str();
        let (start, used) = match first {
            "Self" => match self.self_type(file, call.caller) {
                Some(t) => (vec![Target::Item(t)], 1),
                None => {
                    // `Self::f` in an impl of a type from another crate:
                    // the impl's own methods.
                    let owner = owner_ancestor(summary, call.caller);
                    let name = segments.get(1).map(String::as_str).unwrap_or("");
                    let own: Vec<ItemRef> = owner
                        .into_iter()
                        .flat_map(|o| children_named(&files[file as usize], Some(o), name))
                        .map(|item| ItemRef { file, item })
                        .collect();
                    if segments.len() == 2
                        && let Some(outcome) = settle(files, &own, Rule::SelfPath)
                    {
                        return outcome;
                    }
                    return Outcome::External;
                }
            },
            "crate" | "self" | "super" => self.path_start(m, &segments, 0),
            _ => (self.scope_lookup(file, call.caller, first), 1),
        };
        if start.is_empty() {
            if matches!(first, "crate" | "self" | "super") {
                return Outcome::Unresolved("module path not found");
            }
            // `G::m()` where `G: Trait` is a generic parameter in scope.
            if segments.len() == 2
                && let Some(outcome) = self.generic_receiver(file, call, first, &segments[1])
            {
                return outcome;
            }
            // `G::Weight::zero()` with `G::Weight: Measure` written.
            if segments.len() == 3
                && let Some(outcome) = self.generic_receiver(
                    file,
                    call,
                    &format!("{first}::{}", segments[1]),
                    &segments[2],
                )
            {
                return outcome;
            }
            return match self.through_other_crate(m, &segments, 0) {
                Found::Targets(targets) => settle(files, &items_of(&targets), Rule::OtherCrate)
                    .unwrap_or(Outcome::Unresolved("path names a module")),
                Found::Constructor => Outcome::Constructor,
                _ => Outcome::External,
            };
        }
        match self.walk(start, &segments[used..], 0) {
            Found::Targets(targets) => settle(files, &items_of(&targets), Rule::Path)
                .unwrap_or(Outcome::Unresolved("path names a module")),
            Found::Constructor => Outcome::Constructor,
            Found::External => Outcome::External,
            Found::Nothing => {
                // A path through a type with no such method in the crate:
                // a trait method from elsewhere or a derive.
                Outcome::Unresolved("no such item on the path")
            }
        }
    }

    /// A bare name settled through the caller's scopes: `Scope` when the
    /// target is declared in the caller's module `m`, else it came through
    /// a `use` (the module's, a function's, a glob).
    fn scope_or_import(&self, m: super::ModId, name: &str, outcome: Outcome) -> Outcome {
        match outcome {
            Outcome::Resolved(target, Rule::Scope)
                if !self.modules[m as usize]
                    .items
                    .get(name)
                    .is_some_and(|declared| declared.contains(&target)) =>
            {
                Outcome::Resolved(target, Rule::ScopeImport)
            }
            other => other,
        }
    }

    /// `<T as Trait>::f(..)`: the method `f` of `Trait` when it is the
    /// crate's (external when it is not).
    fn qualified_trait_call(&self, file: u32, call: &CallRef) -> Outcome {
        let Some((qualified, method)) = call.text.rsplit_once(">::") else {
            return Outcome::Unresolved("qualified path <T as Trait>::f");
        };
        let Some((_, trait_text)) = qualified.split_once(" as ") else {
            return Outcome::Unresolved("qualified path <T>::f");
        };
        let module = self.module_of(file, call.caller);
        match self.resolve_type(module, &receiver_type_path(trait_text)) {
            Some(found) if crate::resolve::kind_of(self.files, found) == ItemKind::Trait => {
                let methods = self.methods_of(found, method);
                settle(self.files, &methods, Rule::QualifiedTrait).unwrap_or(Outcome::External)
            }
            Some(_) => Outcome::Unresolved("qualified path through a type"),
            None => Outcome::External,
        }
    }

    pub(super) fn resolve_method_call(&self, file: u32, call: &CallRef, depth: usize) -> Outcome {
        let files = self.files;
        let summary = files[file as usize].summary;
        let krate = self.file_crate.get(&file).copied().unwrap_or(0);
        if call.receiver == "self" {
            if let Some(owner) = self.self_type(file, call.caller) {
                let found = self.methods_of(owner, &call.text);
                return settle(files, &found, Rule::SelfMethod).unwrap_or(Outcome::External);
            }
            if let Some(owner) = owner_ancestor(summary, call.caller) {
                let own: Vec<ItemRef> =
                    children_named(&files[file as usize], Some(owner), &call.text)
                        .map(|item| ItemRef { file, item })
                        .collect();
                if let Some(outcome) = settle(files, &own, Rule::SelfMethod) {
                    return outcome;
                }
            }
        }
        if let Some(outcome) = self.typed_receiver(file, call, depth) {
            return outcome;
        }
        // `a.b().c()`: the type `b` returns.
        if let Some(receiver_call) = call.receiver_call
            && depth < MAX_CALL_CHAIN
            && let Outcome::Resolved(function, _) =
                self.resolve_call_memo(file, receiver_call, depth + 1)
            && let Some(returned) = self.return_type(function, 0)
        {
            return self.method_of_type(returned, file, call, Rule::TypedReceiver);
        }
        if let Some(outcome) = self.blanket_method(file, call) {
            return outcome;
        }
        let own = self.unique_candidates[krate as usize]
            .get(call.text.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // A test, bench, example or binary crate calls into its package's
        // library too: its methods are candidates as well.
        let with_library: Vec<ItemRef>;
        let candidates = match self
            .library_of(krate)
            .and_then(|lib| self.unique_candidates[lib as usize].get(call.text.as_str()))
        {
            Some(library) => {
                with_library = own.iter().chain(library).copied().collect();
                with_library.as_slice()
            }
            None => own,
        };
        match candidates.len() {
            0 => Outcome::External,
            // `other.cmp(..)` inside `cmp` delegates to another type's
            // method far more often than it recurses.
            1 if Some(candidates[0]) == call.caller.map(|item| ItemRef { file, item }) => {
                Outcome::External
            }
            1 => Outcome::Resolved(candidates[0], Rule::UniqueMethod),
            _ => match self.common_trait_method(candidates, &call.text) {
                // A trait's method and its impls: a call through the trait.
                Some(declared) => Outcome::Resolved(declared, Rule::TraitMethod),
                None => self
                    .generic_trait_method(file, call, candidates, depth)
                    .unwrap_or_else(|| Outcome::Ambiguous(candidates.to_vec())),
            },
        }
    }
}
