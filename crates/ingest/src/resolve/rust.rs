//! Rust name resolution, the four layers of rust-analyzer kept small:
//! per-file item summaries (input), per-module scopes that keep declared
//! items apart from imports, a memoised import lookup capped at
//! `MAX_IMPORT_HOPS` (re-exports, aliases, globs, `crate::`/`super::`/
//! `self::`), and a resolver that walks the caller's scopes: nested items
//! -> function-local `use` -> module -> imports -> globs -> a name unique
//! in the crate. Macros, `cfg` and trait resolution on types are left out;
//! what cannot be settled is counted, never guessed.

use std::cell::RefCell;

use kausal_storage::{BlockId, EdgeType};
use rustc_hash::{FxHashMap, FxHashSet};

use super::{
    CallKind, FileView, ItemRef, Outcome, Resolution, children_named, id_of, kind_of,
    nested_callable, owner_ancestor, settle,
};
use crate::limits::{MAX_IMPORT_HOPS, MAX_PATH_SEGMENTS};
use crate::naming::rust_crate_and_module;
use crate::summary::{CallRef, Import, ItemKind};

type ModId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Target {
    Module(ModId),
    Item(ItemRef),
}

enum Found {
    Targets(Vec<Target>),
    External,
    Constructor,
    Nothing,
}

struct Module {
    krate: u32,
    parent: Option<ModId>,
    block: BlockId,
    children: FxHashMap<String, ModId>,
    /// Items declared directly in the module (not impls, not modules).
    items: FxHashMap<String, Vec<ItemRef>>,
    /// Imports scoped to the module: (file, import index).
    imports: Vec<(u32, u32)>,
}

struct Index<'a> {
    files: &'a [FileView<'a>],
    modules: Vec<Module>,
    crate_roots: Vec<Option<ModId>>,
    /// Per file, per item: the module the item is declared in.
    item_module: FxHashMap<u32, Vec<ModId>>,
    file_module: FxHashMap<u32, ModId>,
    file_crate: FxHashMap<u32, u32>,
    /// Imports scoped to a function body, by that function.
    fn_imports: FxHashMap<ItemRef, Vec<u32>>,
    /// Methods by name of each type or trait.
    assoc: FxHashMap<ItemRef, FxHashMap<String, Vec<ItemRef>>>,
    impl_type: FxHashMap<ItemRef, ItemRef>,
    impl_trait: FxHashMap<ItemRef, ItemRef>,
    type_traits: FxHashMap<ItemRef, Vec<ItemRef>>,
    /// Per crate: free functions and methods by name.
    free_fns: Vec<FxHashMap<String, Vec<ItemRef>>>,
    methods: Vec<FxHashMap<String, Vec<ItemRef>>>,
    memo: RefCell<FxHashMap<(ModId, String), Vec<Target>>>,
    in_progress: RefCell<FxHashSet<(ModId, String)>>,
}

pub(super) fn resolve_rust(files: &[FileView], members: &[u32], out: &mut Resolution) {
    if members.is_empty() {
        return;
    }
    let mut index = Index::build(files, members, out);
    index.resolve_impls(out);
    for file in members {
        index.resolve_imports(*file, out);
        let summary = files[*file as usize].summary;
        for call in &summary.calls {
            let outcome = index.resolve_call(*file, call);
            let source = super::caller_id(files, *file, call);
            out.record_call(files, *file, call, &outcome, source);
        }
    }
}

impl<'a> Index<'a> {
    fn build(files: &'a [FileView<'a>], members: &[u32], out: &mut Resolution) -> Self {
        let mut index = Index {
            files,
            modules: Vec::new(),
            crate_roots: Vec::new(),
            item_module: FxHashMap::default(),
            file_module: FxHashMap::default(),
            file_crate: FxHashMap::default(),
            fn_imports: FxHashMap::default(),
            assoc: FxHashMap::default(),
            impl_type: FxHashMap::default(),
            impl_trait: FxHashMap::default(),
            type_traits: FxHashMap::default(),
            free_fns: Vec::new(),
            methods: Vec::new(),
            memo: RefCell::default(),
            in_progress: RefCell::default(),
        };
        let mut crate_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut by_key: FxHashMap<(u32, Vec<String>), ModId> = FxHashMap::default();
        let mut keys: Vec<(u32, Vec<String>)> = Vec::new();
        // File modules, in path order.
        for file in members {
            let view = &files[*file as usize];
            let (crate_key, segments) = rust_crate_and_module(view.path);
            let next_crate = crate_ids.len() as u32;
            let krate = *crate_ids.entry(crate_key).or_insert(next_crate);
            if krate as usize >= index.crate_roots.len() {
                index.crate_roots.push(None);
                index.free_fns.push(FxHashMap::default());
                index.methods.push(FxHashMap::default());
            }
            let id = index.modules.len() as ModId;
            index.modules.push(Module {
                krate,
                parent: None,
                block: view.names.file_id,
                children: FxHashMap::default(),
                items: FxHashMap::default(),
                imports: Vec::new(),
            });
            index.file_module.insert(*file, id);
            index.file_crate.insert(*file, krate);
            if segments.is_empty() && index.crate_roots[krate as usize].is_none() {
                index.crate_roots[krate as usize] = Some(id);
            }
            keys.push((krate, segments.clone()));
            by_key.entry((krate, segments)).or_insert(id);
        }
        // Parent links of file modules (a missing `a.rs` leaves `a/b.rs` unlinked).
        for (id, (krate, segments)) in keys.iter().enumerate() {
            let Some((last, parent_segments)) = segments.split_last() else {
                continue;
            };
            if by_key.get(&(*krate, segments.clone())) != Some(&(id as ModId)) {
                continue;
            }
            if let Some(parent) = by_key.get(&(*krate, parent_segments.to_vec())).copied() {
                index.modules[id].parent = Some(parent);
                index.modules[parent as usize]
                    .children
                    .insert(last.clone(), id as ModId);
                out.both(
                    index.modules[parent as usize].block,
                    index.modules[id].block,
                );
            }
        }
        // Inline modules, item scopes, declared items, imports.
        for file in members {
            let view = &files[*file as usize];
            let file_mod = index.file_module[file];
            let krate = index.file_crate[file];
            let mut item_module: Vec<ModId> = Vec::with_capacity(view.summary.items.len());
            for (i, item) in view.summary.items.iter().enumerate() {
                let item_ref = ItemRef {
                    file: *file,
                    item: i as u32,
                };
                let parent_module = match item.parent {
                    None => file_mod,
                    Some(p) => item_module.get(p as usize).copied().unwrap_or(file_mod),
                };
                let declared_in_module = item.parent.is_none_or(|p| {
                    view.summary
                        .items
                        .get(p as usize)
                        .is_some_and(|p| p.kind == ItemKind::Module)
                });
                if item.kind == ItemKind::Module {
                    let id = index.modules.len() as ModId;
                    index.modules.push(Module {
                        krate,
                        parent: Some(parent_module),
                        block: view.names.item_ids[i],
                        children: FxHashMap::default(),
                        items: FxHashMap::default(),
                        imports: Vec::new(),
                    });
                    index.modules[parent_module as usize]
                        .children
                        .entry(item.name.clone())
                        .or_insert(id);
                    item_module.push(id);
                } else {
                    item_module.push(parent_module);
                    if declared_in_module && item.kind != ItemKind::Impl {
                        index.modules[parent_module as usize]
                            .items
                            .entry(item.name.clone())
                            .or_default()
                            .push(item_ref);
                    }
                }
                match item.kind {
                    ItemKind::Function => index.free_fns[krate as usize]
                        .entry(item.name.clone())
                        .or_default()
                        .push(item_ref),
                    ItemKind::Method => index.methods[krate as usize]
                        .entry(item.name.clone())
                        .or_default()
                        .push(item_ref),
                    _ => {}
                }
            }
            for (i, import) in view.summary.imports.iter().enumerate() {
                match import.scope {
                    None => index.modules[file_mod as usize]
                        .imports
                        .push((*file, i as u32)),
                    Some(scope) => {
                        let scope_item = &view.summary.items[scope as usize];
                        if scope_item.kind == ItemKind::Module {
                            let m = item_module[scope as usize];
                            index.modules[m as usize].imports.push((*file, i as u32));
                        } else {
                            index
                                .fn_imports
                                .entry(ItemRef {
                                    file: *file,
                                    item: scope,
                                })
                                .or_default()
                                .push(i as u32);
                        }
                    }
                }
            }
            index.item_module.insert(*file, item_module);
        }
        index
    }

    fn import(&self, file: u32, import: u32) -> &'a Import {
        &self.files[file as usize].summary.imports[import as usize]
    }

    /// The module an item (or, with `None`, the file's top level) is in.
    fn module_of(&self, file: u32, item: Option<u32>) -> ModId {
        let file_mod = self.file_module.get(&file).copied().unwrap_or(0);
        let Some(item) = item else { return file_mod };
        let summary = self.files[file as usize].summary;
        // A module item's own scope is itself.
        if summary.items.get(item as usize).map(|i| i.kind) == Some(ItemKind::Module) {
            return self
                .item_module
                .get(&file)
                .and_then(|m| m.get(item as usize))
                .copied()
                .unwrap_or(file_mod);
        }
        self.item_module
            .get(&file)
            .and_then(|m| m.get(item as usize))
            .copied()
            .unwrap_or(file_mod)
    }

    /// Names visible in module `m`: declared items and child modules first,
    /// then named imports, then glob imports. Memoised; cycles and chains
    /// longer than `MAX_IMPORT_HOPS` end the search.
    fn lookup(&self, m: ModId, name: &str, depth: usize) -> Vec<Target> {
        if depth > MAX_IMPORT_HOPS {
            return Vec::new();
        }
        let key = (m, name.to_string());
        if let Some(found) = self.memo.borrow().get(&key) {
            return found.clone();
        }
        if !self.in_progress.borrow_mut().insert(key.clone()) {
            return Vec::new();
        }
        let module = &self.modules[m as usize];
        let mut out = Vec::new();
        if let Some(child) = module.children.get(name) {
            out.push(Target::Module(*child));
        }
        if let Some(items) = module.items.get(name) {
            out.extend(items.iter().map(|i| Target::Item(*i)));
        }
        if out.is_empty() {
            for (file, import) in &module.imports {
                let import = self.import(*file, *import);
                if import.local_name() == Some(name)
                    && let Found::Targets(targets) = self.resolve_use(m, &import.path, depth + 1)
                {
                    out.extend(targets);
                }
            }
        }
        if out.is_empty() {
            for (file, import) in &module.imports {
                let import = self.import(*file, *import);
                if !import.glob {
                    continue;
                }
                if let Found::Targets(bases) = self.resolve_use(m, &import.path, depth + 1) {
                    for base in bases {
                        if let Target::Module(g) = base
                            && g != m
                        {
                            out.extend(self.lookup(g, name, depth + 1));
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        self.in_progress.borrow_mut().remove(&key);
        self.memo.borrow_mut().insert(key, out.clone());
        out
    }

    fn crate_root(&self, m: ModId) -> Option<ModId> {
        let krate = self.modules.get(m as usize)?.krate;
        self.crate_roots.get(krate as usize).copied().flatten()
    }

    /// The start of a path: `crate`, `self`, `super` (repeated) or a name
    /// looked up in `m`; returns the targets and the segments consumed.
    fn path_start(&self, m: ModId, path: &[String], depth: usize) -> (Vec<Target>, usize) {
        match path.first().map(String::as_str) {
            Some("crate") => (
                self.crate_root(m).map(Target::Module).into_iter().collect(),
                1,
            ),
            Some("self") => (vec![Target::Module(m)], 1),
            Some("super") => {
                let mut current = Some(m);
                let mut used = 0;
                while path.get(used).map(String::as_str) == Some("super") {
                    current = current.and_then(|c| self.modules[c as usize].parent);
                    used += 1;
                }
                (current.map(Target::Module).into_iter().collect(), used)
            }
            Some(first) => (self.lookup(m, first, depth), 1),
            None => (Vec::new(), 0),
        }
    }

    /// Resolves a `use` path as seen from module `m`.
    fn resolve_use(&self, m: ModId, path: &[String], depth: usize) -> Found {
        let (start, used) = self.path_start(m, path, depth);
        if start.is_empty() {
            let relative = matches!(
                path.first().map(String::as_str),
                Some("crate" | "self" | "super")
            );
            // A first segment found nowhere in the crate names another crate.
            return if relative {
                Found::Nothing
            } else {
                Found::External
            };
        }
        self.walk(start, &path[used..], depth)
    }

    /// Follows the remaining segments of a path through modules and types.
    fn walk(&self, mut current: Vec<Target>, rest: &[String], depth: usize) -> Found {
        for segment in rest {
            let mut next = Vec::new();
            let mut constructor = false;
            for target in &current {
                match target {
                    Target::Module(g) => next.extend(self.lookup(*g, segment, depth)),
                    Target::Item(item) => {
                        let kind = kind_of(self.files, *item);
                        if !kind.is_type() {
                            continue;
                        }
                        let found = self.methods_of(*item, segment);
                        if found.is_empty() && kind == ItemKind::Enum {
                            constructor |= segment.starts_with(|c: char| c.is_uppercase());
                        }
                        next.extend(found.into_iter().map(Target::Item));
                    }
                }
            }
            if next.is_empty() {
                return if constructor {
                    Found::Constructor
                } else {
                    Found::Nothing
                };
            }
            next.sort();
            next.dedup();
            current = next;
        }
        Found::Targets(current)
    }

    /// Methods named `name` of a type (its impls in the crate) or trait;
    /// failing those, the methods of traits the type implements.
    fn methods_of(&self, owner: ItemRef, name: &str) -> Vec<ItemRef> {
        if let Some(found) = self.assoc.get(&owner).and_then(|m| m.get(name))
            && !found.is_empty()
        {
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

    /// Resolves a type path written in `m` to exactly one type item.
    fn resolve_type(&self, m: ModId, text: &str) -> Option<ItemRef> {
        if text.is_empty() || text.contains(['(', '[']) {
            return None;
        }
        let path: Vec<String> = text.split("::").map(str::to_string).collect();
        let Found::Targets(targets) = self.resolve_use(m, &path, 0) else {
            return None;
        };
        let types: Vec<ItemRef> = targets
            .into_iter()
            .filter_map(|t| match t {
                Target::Item(item) if kind_of(self.files, item).is_type() => Some(item),
                _ => None,
            })
            .collect();
        (types.len() == 1).then(|| types[0])
    }

    /// Settles impl blocks: their self type and trait, the methods of each
    /// type and trait, and the method_of / implements edges.
    fn resolve_impls(&mut self, out: &mut Resolution) {
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
                let owner = match item.kind {
                    ItemKind::Trait => Some(item_ref),
                    ItemKind::Impl => {
                        let m = self.module_of(file, Some(i as u32));
                        let self_type = self.resolve_type(m, &item.impl_type);
                        let trait_ref = self.resolve_type(m, &item.impl_trait);
                        if let Some(t) = self_type {
                            self.impl_type.insert(item_ref, t);
                        }
                        if let Some(tr) = trait_ref {
                            self.impl_trait.insert(item_ref, tr);
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
                for (c, child) in summary.items.iter().enumerate() {
                    if child.parent != Some(i as u32) || child.kind != ItemKind::Method {
                        continue;
                    }
                    let child_ref = ItemRef {
                        file,
                        item: c as u32,
                    };
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
        // Impl resolution looked names up before `assoc` existed; paths
        // through types must not reuse those results.
        self.memo.borrow_mut().clear();
    }

    fn resolve_imports(&self, file: u32, out: &mut Resolution) {
        let view = &self.files[file as usize];
        for import in &view.summary.imports {
            out.imports.total += 1;
            let m = self.module_of(file, import.scope);
            match self.resolve_use(m, &import.path, 0) {
                Found::Targets(targets) => {
                    let mut any = false;
                    for target in targets {
                        let block = match target {
                            Target::Module(g) => self.modules[g as usize].block,
                            Target::Item(item) => id_of(self.files, item),
                        };
                        if block != view.names.file_id {
                            out.edge(view.names.file_id, block, EdgeType::Imports);
                            any = true;
                        }
                    }
                    if any {
                        out.imports.resolved += 1;
                    } else {
                        out.imports.unresolved += 1;
                    }
                }
                Found::External => out.imports.external += 1,
                Found::Constructor | Found::Nothing => out.imports.unresolved += 1,
            }
        }
    }

    /// Targets of the first segment of a call path, through the caller's
    /// scopes: function-local `use`, then the module.
    fn scope_lookup(&self, file: u32, caller: Option<u32>, name: &str) -> Vec<Target> {
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
    fn self_type(&self, file: u32, caller: Option<u32>) -> Option<ItemRef> {
        let summary = self.files[file as usize].summary;
        let owner = owner_ancestor(summary, caller)?;
        let owner_ref = ItemRef { file, item: owner };
        match summary.items[owner as usize].kind {
            ItemKind::Impl => self.impl_type.get(&owner_ref).copied(),
            ItemKind::Trait => Some(owner_ref),
            _ => None,
        }
    }

    fn resolve_call(&self, file: u32, call: &CallRef) -> Outcome {
        match call.kind {
            CallKind::Path => self.resolve_path_call(file, call),
            CallKind::Method => self.resolve_method_call(file, call),
        }
    }

    fn resolve_path_call(&self, file: u32, call: &CallRef) -> Outcome {
        let files = self.files;
        let summary = files[file as usize].summary;
        if call.text.starts_with('<') {
            return Outcome::Unresolved("qualified path <T as Trait>::f");
        }
        let segments: Vec<String> = call.text.split("::").map(str::to_string).collect();
        if segments.len() > MAX_PATH_SEGMENTS || segments.iter().any(String::is_empty) {
            return Outcome::Unresolved("malformed path");
        }
        let krate = self.file_crate.get(&file).copied().unwrap_or(0);
        let m = self.module_of(file, call.caller);
        if segments.len() == 1 {
            let name = segments[0].as_str();
            if let Some(found) = nested_callable(summary, call.caller, name) {
                return Outcome::Resolved(ItemRef { file, item: found }, "nested");
            }
            let items = items_of(&self.scope_lookup(file, call.caller, name));
            if let Some(outcome) = settle(files, &items, "scope") {
                return outcome;
            }
            let candidates = self.free_fns[krate as usize]
                .get(name)
                .cloned()
                .unwrap_or_default();
            return match candidates.len() {
                0 => Outcome::External,
                1 => Outcome::Resolved(candidates[0], "crate_unique"),
                n => Outcome::Ambiguous(n),
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
                        .flat_map(|o| children_named(summary, Some(o), name))
                        .map(|item| ItemRef { file, item })
                        .collect();
                    if segments.len() == 2
                        && let Some(outcome) = settle(files, &own, "self_path")
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
            return if matches!(first, "crate" | "self" | "super") {
                Outcome::Unresolved("module path not found")
            } else {
                Outcome::External
            };
        }
        match self.walk(start, &segments[used..], 0) {
            Found::Targets(targets) => settle(files, &items_of(&targets), "path")
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

    fn resolve_method_call(&self, file: u32, call: &CallRef) -> Outcome {
        let files = self.files;
        let summary = files[file as usize].summary;
        let krate = self.file_crate.get(&file).copied().unwrap_or(0);
        if call.receiver == "self" {
            if let Some(owner) = self.self_type(file, call.caller) {
                let found = self.methods_of(owner, &call.text);
                return settle(files, &found, "self_method").unwrap_or(Outcome::External);
            }
            if let Some(owner) = owner_ancestor(summary, call.caller) {
                let own: Vec<ItemRef> = children_named(summary, Some(owner), &call.text)
                    .map(|item| ItemRef { file, item })
                    .collect();
                if let Some(outcome) = settle(files, &own, "self_method") {
                    return outcome;
                }
            }
        }
        let candidates = self.methods[krate as usize]
            .get(call.text.as_str())
            .cloned()
            .unwrap_or_default();
        match candidates.len() {
            0 => Outcome::External,
            1 => Outcome::Resolved(candidates[0], "unique_method"),
            n => Outcome::Ambiguous(n),
        }
    }
}

fn items_of(targets: &[Target]) -> Vec<ItemRef> {
    targets
        .iter()
        .filter_map(|t| match t {
            Target::Item(item) => Some(*item),
            Target::Module(_) => None,
        })
        .collect()
}
