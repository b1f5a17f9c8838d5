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
    CallKind, FileView, ItemRef, Outcome, Resolution, children_named, id_of, item_of, kind_of,
    nested_callable, owner_ancestor, settle,
};
use crate::limits::{MAX_CALL_CHAIN, MAX_IMPORT_HOPS, MAX_PATH_SEGMENTS};
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
    /// Crate keys (`crates/storage/src`, `tests/x.rs`) by crate number.
    crate_keys: Vec<String>,
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
    /// Per crate: the methods an unknown receiver may resolve to by a
    /// unique name (see `COMMON_STD_METHODS` and `resolve_impls`).
    unique_candidates: Vec<FxHashMap<String, Vec<ItemRef>>>,
    /// Lookup results per module and name (nested so a lookup by `&str`
    /// allocates nothing).
    memo: RefCell<FxHashMap<ModId, FxHashMap<String, Vec<Target>>>>,
    /// Outcome of each call (file, index), so a chain `a.b().c()` resolves
    /// `a.b()` once.
    call_memo: RefCell<FxHashMap<(u32, u32), Outcome>>,
    /// `extern_crate_roots` per (crate, name).
    extern_memo: RefCell<FxHashMap<(u32, String), Vec<ModId>>>,
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
        for (i, call) in summary.calls.iter().enumerate() {
            let outcome = index.resolve_call_memo(*file, i as u32, 0);
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
            crate_keys: Vec::new(),
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
            unique_candidates: Vec::new(),
            memo: RefCell::default(),
            call_memo: RefCell::default(),
            extern_memo: RefCell::default(),
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
            let krate = *crate_ids.entry(crate_key.clone()).or_insert(next_crate);
            if krate as usize >= index.crate_roots.len() {
                index.crate_roots.push(None);
                index.crate_keys.push(crate_key);
                index.free_fns.push(FxHashMap::default());
                index.methods.push(FxHashMap::default());
                index.unique_candidates.push(FxHashMap::default());
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
        if let Some(found) = self.memo.borrow().get(&m).and_then(|names| names.get(name)) {
            return found.clone();
        }
        let key = (m, name.to_string());
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
        self.memo
            .borrow_mut()
            .entry(m)
            .or_default()
            .insert(key.1, out.clone());
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

    /// The root of another crate of the tree that module `m` may name as
    /// `name`: the library of its own package (tests, benches, examples and
    /// binaries use it by the package name), or a library whose package
    /// directory is `name` or its last `_` part (`kausal_storage` ->
    /// `crates/storage`).
    fn extern_crate_roots(&self, m: ModId, name: &str) -> Vec<ModId> {
        let own = self.modules.get(m as usize).map(|module| module.krate);
        let key = (own.unwrap_or(u32::MAX), name.to_string());
        if let Some(found) = self.extern_memo.borrow().get(&key) {
            return found.clone();
        }
        let found = self.extern_crate_roots_uncached(own, name);
        self.extern_memo.borrow_mut().insert(key, found.clone());
        found
    }

    fn extern_crate_roots_uncached(&self, own: Option<u32>, name: &str) -> Vec<ModId> {
        let own_key = own
            .and_then(|k| self.crate_keys.get(k as usize))
            .map(String::as_str)
            .unwrap_or("");
        // The package directory of a crate key ("" for the root package);
        // `None` for a stray file that belongs to no package.
        let package_of = |key: &str| -> Option<String> {
            if key == "src" {
                return Some(String::new());
            }
            if let Some(dir) = key.strip_suffix("/src") {
                return Some(dir.to_string());
            }
            for marker in ["tests/", "benches/", "examples/", "src/bin/"] {
                if key.starts_with(marker) {
                    return Some(String::new());
                }
                if let Some(at) = key.find(&format!("/{marker}")) {
                    return Some(key[..at].to_string());
                }
            }
            None
        };
        let own_package = package_of(own_key);
        let mut out = Vec::new();
        for (krate, key) in self.crate_keys.iter().enumerate() {
            if Some(krate as u32) == own || !(key == "src" || key.ends_with("/src")) {
                continue;
            }
            let Some(root) = self.crate_roots.get(krate).copied().flatten() else {
                continue;
            };
            let package = package_of(key).unwrap_or_default();
            let dir_name = package.rsplit('/').next().unwrap_or("").replace('-', "_");
            let named = !dir_name.is_empty()
                && (name == dir_name || name.ends_with(&format!("_{dir_name}")));
            if own_package.as_deref() == Some(package.as_str()) || named {
                out.push(root);
            }
        }
        out
    }

    /// A path whose first segment names no item of the crate: through
    /// another crate of the tree if one has the rest of the path, else
    /// external.
    fn through_other_crate(&self, m: ModId, path: &[String], depth: usize) -> Found {
        let Some(first) = path.first() else {
            return Found::External;
        };
        for root in self.extern_crate_roots(m, first) {
            if let Found::Targets(targets) =
                self.walk(vec![Target::Module(root)], &path[1..], depth)
            {
                return Found::Targets(targets);
            }
        }
        Found::External
    }

    /// Resolves a `use` path as seen from module `m`.
    fn resolve_use(&self, m: ModId, path: &[String], depth: usize) -> Found {
        let (start, used) = self.path_start(m, path, depth);
        if start.is_empty() {
            // `crate::`, `self::`, `super::` leading nowhere are unresolved;
            // any other first segment names another crate.
            if matches!(
                path.first().map(String::as_str),
                Some("crate" | "self" | "super")
            ) {
                return Found::Nothing;
            }
            return self.through_other_crate(m, path, depth);
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
                // Methods of impls of traits from other crates (`fmt`,
                // `drop`, `as_ref`, `cmp`) exist on countless std types: an
                // unknown receiver must not resolve to them by name.
                let external_trait_impl = item.kind == ItemKind::Impl
                    && !item.impl_trait.is_empty()
                    && !self.impl_trait.contains_key(&item_ref);
                let krate = self.file_crate.get(&file).copied().unwrap_or(0) as usize;
                for c in files[file as usize].children_of(Some(i as u32)) {
                    let child = &summary.items[*c as usize];
                    if child.kind != ItemKind::Method {
                        continue;
                    }
                    let child_ref = ItemRef { file, item: *c };
                    if !external_trait_impl
                        && !COMMON_STD_METHODS.contains(&child.name.as_str())
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

    /// The outcome of call `index` of `file`, memoised; `depth` bounds the
    /// chain of receivers followed (`a.b().c().d()`).
    fn resolve_call_memo(&self, file: u32, index: u32, depth: usize) -> Outcome {
        if let Some(outcome) = self.call_memo.borrow().get(&(file, index)) {
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
            .borrow_mut()
            .insert((file, index), outcome.clone());
        outcome
    }

    /// The type a function returns, resolved where it is declared.
    fn return_type(&self, function: ItemRef) -> Option<ItemRef> {
        let item = &self.files[function.file as usize].summary.items[function.item as usize];
        let (_, returned) = item.signature.rsplit_once("->")?;
        let returned = returned.split(" where ").next().unwrap_or("").trim();
        let path = receiver_type_path(returned);
        if path == "Self" {
            return self.self_type(function.file, Some(function.item));
        }
        let module = self.module_of(function.file, Some(function.item));
        self.resolve_type(module, &path)
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
            if let Some(found) = nested_callable(&files[file as usize], call.caller, name) {
                return Outcome::Resolved(ItemRef { file, item: found }, "nested");
            }
            let items = items_of(&self.scope_lookup(file, call.caller, name));
            if let Some(outcome) = settle(files, &items, "scope") {
                return outcome;
            }
            let candidates = self.free_fns[krate as usize]
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
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
                        .flat_map(|o| children_named(&files[file as usize], Some(o), name))
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
            if matches!(first, "crate" | "self" | "super") {
                return Outcome::Unresolved("module path not found");
            }
            return match self.through_other_crate(m, &segments, 0) {
                Found::Targets(targets) => settle(files, &items_of(&targets), "other_crate")
                    .unwrap_or(Outcome::Unresolved("path names a module")),
                Found::Constructor => Outcome::Constructor,
                _ => Outcome::External,
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

    fn resolve_method_call(&self, file: u32, call: &CallRef, depth: usize) -> Outcome {
        let files = self.files;
        let summary = files[file as usize].summary;
        let krate = self.file_crate.get(&file).copied().unwrap_or(0);
        if call.receiver == "self" {
            if let Some(owner) = self.self_type(file, call.caller) {
                let found = self.methods_of(owner, &call.text);
                return settle(files, &found, "self_method").unwrap_or(Outcome::External);
            }
            if let Some(owner) = owner_ancestor(summary, call.caller) {
                let own: Vec<ItemRef> =
                    children_named(&files[file as usize], Some(owner), &call.text)
                        .map(|item| ItemRef { file, item })
                        .collect();
                if let Some(outcome) = settle(files, &own, "self_method") {
                    return outcome;
                }
            }
        }
        if let Some(outcome) = self.typed_receiver(file, call) {
            return outcome;
        }
        // `a.b().c()`: the type `b` returns.
        if let Some(receiver_call) = call.receiver_call
            && depth < MAX_CALL_CHAIN
            && let Outcome::Resolved(function, _) =
                self.resolve_call_memo(file, receiver_call, depth + 1)
            && let Some(returned) = self.return_type(function)
            && kind_of(files, returned) != ItemKind::TypeAlias
        {
            let found = self.methods_of(returned, &call.text);
            return settle(files, &found, "typed_receiver").unwrap_or(Outcome::External);
        }
        let candidates = self.unique_candidates[krate as usize]
            .get(call.text.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        match candidates.len() {
            0 => Outcome::External,
            // `other.cmp(..)` inside `cmp` delegates to another type's
            // method far more often than it recurses.
            1 if Some(candidates[0]) == call.caller.map(|item| ItemRef { file, item }) => {
                Outcome::External
            }
            1 => Outcome::Resolved(candidates[0], "unique_method"),
            n => match self.common_trait_method(candidates, &call.text) {
                // A trait's method and its impls: a call through the trait.
                Some(declared) => Outcome::Resolved(declared, "trait_method"),
                None => Outcome::Ambiguous(n),
            },
        }
    }

    /// The trait a method belongs to: its own trait, or the in-crate trait
    /// its impl implements.
    fn trait_of_method(&self, method: ItemRef) -> Option<ItemRef> {
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
    fn common_trait_method(&self, candidates: &[ItemRef], name: &str) -> Option<ItemRef> {
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

    /// `x.m()` where `x: G` and `G` is a generic parameter of the caller
    /// or its impl: the method of a bound trait (`G: IntoNeighbors`), or
    /// external when no bound of the crate declares it.
    fn generic_receiver(&self, file: u32, call: &CallRef, param: &str) -> Option<Outcome> {
        let summary = self.files[file as usize].summary;
        let mut headers = Vec::new();
        let mut current = call.caller;
        while let Some(index) = current {
            let item = summary.items.get(index as usize)?;
            if item.kind.is_callable()
                || item.kind == ItemKind::Impl
                || item.kind == ItemKind::Trait
            {
                headers.push((index, item.signature.as_str()));
            }
            current = item.parent;
        }
        let declares = |header: &str| {
            header.match_indices(param).any(|(at, _)| {
                let before = header[..at].trim_end().chars().last();
                let after = header[at + param.len()..].trim_start().chars().next();
                matches!(before, Some('<' | ',')) && matches!(after, Some(':' | ',' | '>'))
            })
        };
        if !headers.iter().any(|(_, header)| declares(header)) {
            return None;
        }
        let mut found = Vec::new();
        for (index, header) in &headers {
            let module = self.module_of(file, Some(*index));
            for bound in bounds_of(header, param) {
                if let Some(trait_ref) = self.resolve_type(module, &bound)
                    && kind_of(self.files, trait_ref) == ItemKind::Trait
                {
                    found.extend(self.methods_of(trait_ref, &call.text));
                }
            }
        }
        Some(settle(self.files, &found, "trait_bound").unwrap_or(Outcome::External))
    }
}

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
];

impl Index<'_> {
    /// `x.m()` where `x` is a parameter or local with a declared or evident
    /// type, or `self.f.m()` where `f` is a field of the impl's type: the
    /// methods of that type. `None` when the receiver's type is unknown.
    fn typed_receiver(&self, file: u32, call: &CallRef) -> Option<Outcome> {
        let summary = self.files[file as usize].summary;
        let receiver = call.receiver.as_str();
        let (type_text, module) = if let Some(field) = receiver.strip_prefix("self.") {
            if !is_identifier(field) {
                return None;
            }
            let owner = self.self_type(file, call.caller)?;
            let declared = self.files[owner.file as usize].field(owner.item, field)?;
            (
                declared.type_text.as_str(),
                self.module_of(owner.file, Some(owner.item)),
            )
        } else if is_identifier(receiver) {
            let mut current = call.caller;
            let mut found = None;
            while let Some(index) = current {
                let item = summary.items.get(index as usize)?;
                if item.kind.is_callable() {
                    found = self.files[file as usize].typed_local(index, receiver, call.line);
                    if found.is_some() {
                        break;
                    }
                }
                current = item.parent;
            }
            (found?.type_text.as_str(), self.module_of(file, call.caller))
        } else {
            return None;
        };
        let path = receiver_type_path(type_text);
        let target = if path == "Self" {
            self.self_type(file, call.caller)
        } else {
            self.resolve_type(module, &path)
        };
        match target {
            // An alias hides the type: fall back to the name rules.
            Some(t) if kind_of(self.files, t) == ItemKind::TypeAlias => None,
            Some(t) => {
                let found = self.methods_of(t, &call.text);
                // A crate type without such a method: a method of a trait
                // from elsewhere (Iterator, Display) or of a deref target.
                Some(settle(self.files, &found, "typed_receiver").unwrap_or(Outcome::External))
            }
            None => {
                let last = path.rsplit("::").next().unwrap_or("");
                if STD_TYPES.contains(&last) {
                    return Some(Outcome::External);
                }
                if is_identifier(&path) {
                    return self.generic_receiver(file, call, &path);
                }
                None
            }
        }
    }
}

/// The trait bounds of generic parameter `param` written in a header
/// (`<G: A + B<X>>`, `where G: C`), as paths without generic arguments.
fn bounds_of(header: &str, param: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in header.match_indices(param) {
        let before = header[..at].chars().last();
        if !before.is_some_and(|c| c == '<' || c == ',' || c.is_whitespace()) {
            continue;
        }
        let rest = header[at + param.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':').filter(|r| !r.starts_with(':')) else {
            continue;
        };
        // Up to the next ',' / '>' / '{' at generic depth 0.
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth == 0 => {
                    end = i;
                    break;
                }
                '>' | ')' => depth -= 1,
                ',' | '{' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        for bound in rest[..end].split('+') {
            let bound = crate::text::normalize_type_text(bound.trim().trim_start_matches('?'));
            if !bound.is_empty() && !bound.starts_with('\'') {
                out.push(bound);
            }
        }
    }
    out
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !text.starts_with(|c: char| c.is_ascii_digit())
}

/// The type a method call on a value of this declared type dispatches on:
/// references, `mut`, `dyn`, `impl`, lifetimes and smart pointers
/// (`Box`, `Rc`, `Arc`) removed, then generic arguments.
fn receiver_type_path(text: &str) -> String {
    let mut t = text.trim();
    loop {
        let before = t;
        t = t.trim_start_matches('&').trim_start();
        for prefix in ["mut ", "dyn ", "impl "] {
            t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
        }
        if t.starts_with('\'') {
            t = t.split_once(' ').map_or("", |(_, rest)| rest).trim_start();
        }
        for wrapper in ["Box<", "Rc<", "Arc<", "std::rc::Rc<", "std::sync::Arc<"] {
            if let Some(inner) = t.strip_prefix(wrapper).and_then(|r| r.strip_suffix('>')) {
                t = inner.trim();
            }
        }
        if t == before {
            break;
        }
    }
    crate::text::normalize_type_text(t)
}

/// Std types: a receiver of one of them never dispatches into the crate.
const STD_TYPES: &[&str] = &[
    "Vec",
    "String",
    "str",
    "Option",
    "Result",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "Cow",
    "Path",
    "PathBuf",
    "OsStr",
    "OsString",
    "Duration",
    "Instant",
    "SystemTime",
    "Mutex",
    "RwLock",
    "Cell",
    "RefCell",
    "File",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "bool",
    "char",
];

fn items_of(targets: &[Target]) -> Vec<ItemRef> {
    targets
        .iter()
        .filter_map(|t| match t {
            Target::Item(item) => Some(*item),
            Target::Module(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_types_see_through_references_and_smart_pointers() {
        assert_eq!(receiver_type_path("&'a mut Table<K>"), "Table");
        assert_eq!(receiver_type_path("Box<dyn Shape>"), "Shape");
        assert_eq!(receiver_type_path("&Arc<crate::a::Node>"), "crate::a::Node");
        assert_eq!(receiver_type_path("impl Visitor"), "Visitor");
        assert_eq!(receiver_type_path("Vec<u8>"), "Vec");
        assert!(is_identifier("table_2") && !is_identifier("a.b") && !is_identifier("2x"));
        assert_eq!(
            bounds_of(
                "pub fn toposort<G>(g: G) -> X where G: IntoNeighbors + Visitable<Map = M>",
                "G"
            ),
            vec!["IntoNeighbors".to_string(), "Visitable".to_string()]
        );
        assert_eq!(
            bounds_of("fn f<G: a::Walk + 'static, H>(g: G)", "G"),
            vec!["a::Walk".to_string()]
        );
    }
}
