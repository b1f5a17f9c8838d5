//! The index of a Rust crate set: file and inline modules, the items
//! declared in each, per-crate function and method names, and the scope
//! (module or function body) of every import.

use rustc_hash::FxHashMap;

use super::{Index, ModId, Module};
use crate::naming::rust_crate_and_module;
use crate::resolve::{FileView, ItemRef, Resolution};
use crate::summary::{Import, ItemKind};

/// Where each file module sits in its crate: (crate number, module path
/// segments), the key that links `a/b.rs` to its parent `a.rs`.
type ModuleKey = (u32, Vec<String>);

/// The file modules as `add_file_modules` created them, for linking.
struct FileModules {
    /// The first module created for each key (a later duplicate is not
    /// linked).
    by_key: FxHashMap<ModuleKey, ModId>,
    /// The key of each file module, by module id.
    keys: Vec<ModuleKey>,
}

impl<'a> Index<'a> {
    /// Indexes the Rust files `members` (sorted by path) of `files`; the
    /// `contains` / `defined_in` edges between file modules go to `out`.
    pub(super) fn build(files: &'a [FileView<'a>], members: &[u32], out: &mut Resolution) -> Self {
        let mut index = Index::empty(files);
        let file_modules = index.add_file_modules(members);
        index.libraries = (0..index.crate_keys.len() as u32)
            .map(|krate| index.find_library(krate))
            .collect();
        index.link_file_modules(&file_modules, out);
        index.link_single_file_crate_modules(members);
        // Inline modules, item scopes, declared items, imports.
        for file in members {
            let item_module = index.add_items(*file);
            index.scope_imports(*file, &item_module);
            index.item_module.insert(*file, item_module);
        }
        index
    }

    fn empty(files: &'a [FileView<'a>]) -> Self {
        Index {
            files,
            modules: Vec::new(),
            crate_roots: Vec::new(),
            crate_keys: Vec::new(),
            libraries: Vec::new(),
            item_module: FxHashMap::default(),
            file_module: FxHashMap::default(),
            file_crate: FxHashMap::default(),
            fn_imports: FxHashMap::default(),
            assoc: FxHashMap::default(),
            impl_type: FxHashMap::default(),
            impl_trait: FxHashMap::default(),
            type_traits: FxHashMap::default(),
            type_impls: FxHashMap::default(),
            impl_assoc_types: FxHashMap::default(),
            blanket_traits: Vec::new(),
            free_fns: Vec::new(),
            methods: Vec::new(),
            unique_candidates: Vec::new(),
            memo: Default::default(),
            call_memo: Default::default(),
            extern_memo: Default::default(),
            type_memo: Default::default(),
            in_progress: Default::default(),
            cut_short: Default::default(),
        }
    }

    /// One module per file, in path order, numbering crates as they first
    /// appear; a crate's root is its first file with no module segments.
    fn add_file_modules(&mut self, members: &[u32]) -> FileModules {
        let files = self.files;
        let mut crate_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut by_key: FxHashMap<ModuleKey, ModId> = FxHashMap::default();
        let mut keys: Vec<ModuleKey> = Vec::new();
        for file in members {
            let view = &files[*file as usize];
            let (crate_key, segments) = rust_crate_and_module(view.path);
            let next_crate = crate_ids.len() as u32;
            let krate = *crate_ids.entry(crate_key.clone()).or_insert(next_crate);
            if krate as usize >= self.crate_roots.len() {
                self.crate_roots.push(None);
                self.crate_keys.push(crate_key);
                self.free_fns.push(FxHashMap::default());
                self.methods.push(FxHashMap::default());
                self.unique_candidates.push(FxHashMap::default());
            }
            let id = self.modules.len() as ModId;
            self.modules.push(Module {
                krate,
                parent: None,
                block: view.names.file_id,
                children: FxHashMap::default(),
                items: FxHashMap::default(),
                imports: Vec::new(),
            });
            self.file_module.insert(*file, id);
            self.file_crate.insert(*file, krate);
            if segments.is_empty() && self.crate_roots[krate as usize].is_none() {
                self.crate_roots[krate as usize] = Some(id);
            }
            keys.push((krate, segments.clone()));
            by_key.entry((krate, segments)).or_insert(id);
        }
        FileModules { by_key, keys }
    }

    /// Parent links of file modules (a missing `a.rs` leaves `a/b.rs`
    /// unlinked).
    fn link_file_modules(&mut self, file_modules: &FileModules, out: &mut Resolution) {
        let FileModules { by_key, keys } = file_modules;
        for (id, (krate, segments)) in keys.iter().enumerate() {
            let Some((last, parent_segments)) = segments.split_last() else {
                continue;
            };
            if by_key.get(&(*krate, segments.clone())) != Some(&(id as ModId)) {
                continue;
            }
            if let Some(parent) = by_key.get(&(*krate, parent_segments.to_vec())).copied() {
                self.modules[id].parent = Some(parent);
                self.modules[parent as usize]
                    .children
                    .insert(last.clone(), id as ModId);
                out.both(self.modules[parent as usize].block, self.modules[id].block);
            }
        }
    }

    /// `mod name;` in a crate that is a single file (tests, benches,
    /// examples): the sibling `name.rs` or `name/mod.rs`, linked as a
    /// child for name lookups only (it may be shared by several such
    /// crates, so it gets no parent and no `contains` edge).
    fn link_single_file_crate_modules(&mut self, members: &[u32]) {
        let files = self.files;
        let by_path: FxHashMap<&str, u32> = members
            .iter()
            .map(|f| (files[*f as usize].path, *f))
            .collect();
        for file in members {
            let view = &files[*file as usize];
            let krate = self.file_crate[file];
            if self.crate_keys.get(krate as usize).map(String::as_str) != Some(view.path) {
                continue;
            }
            let dir = view.path.rsplit_once('/').map_or("", |(d, _)| d);
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            for name in &view.summary.module_decls {
                let child = [
                    format!("{prefix}{name}.rs"),
                    format!("{prefix}{name}/mod.rs"),
                ]
                .iter()
                .find_map(|candidate| by_path.get(candidate.as_str()).copied());
                if let Some(child) = child.and_then(|c| self.file_module.get(&c).copied()) {
                    let parent = self.file_module[file];
                    self.modules[parent as usize]
                        .children
                        .entry(name.clone())
                        .or_insert(child);
                }
            }
        }
    }

    /// The items of `file`: a module for each inline `mod`, each item
    /// declared in its module's scope (impls excepted) and listed among its
    /// crate's free functions or methods. Returns the module of each item
    /// (an inline module's own module for itself).
    fn add_items(&mut self, file: u32) -> Vec<ModId> {
        let view = &self.files[file as usize];
        let file_mod = self.file_module[&file];
        let krate = self.file_crate[&file];
        let mut item_module: Vec<ModId> = Vec::with_capacity(view.summary.items.len());
        for (i, item) in view.summary.items.iter().enumerate() {
            let item_ref = ItemRef {
                file,
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
                let id = self.modules.len() as ModId;
                self.modules.push(Module {
                    krate,
                    parent: Some(parent_module),
                    block: view.names.item_ids[i],
                    children: FxHashMap::default(),
                    items: FxHashMap::default(),
                    imports: Vec::new(),
                });
                self.modules[parent_module as usize]
                    .children
                    .entry(item.name.clone())
                    .or_insert(id);
                item_module.push(id);
            } else {
                item_module.push(parent_module);
                // A switched-off item (`#[cfg(not(debug_assertions))]`)
                // is no name any call reaches.
                if item.compiled_out {
                    continue;
                }
                if declared_in_module && item.kind != ItemKind::Impl {
                    self.modules[parent_module as usize]
                        .items
                        .entry(item.name.clone())
                        .or_default()
                        .push(item_ref);
                }
            }
            match item.kind {
                ItemKind::Function => self.free_fns[krate as usize]
                    .entry(item.name.clone())
                    .or_default()
                    .push(item_ref),
                ItemKind::Method => self.methods[krate as usize]
                    .entry(item.name.clone())
                    .or_default()
                    .push(item_ref),
                _ => {}
            }
        }
        item_module
    }

    /// Files each import of `file` under its scope: the file's module, an
    /// inline module (`item_module` from `add_items`), or a function body.
    fn scope_imports(&mut self, file: u32, item_module: &[ModId]) {
        let view = &self.files[file as usize];
        let file_mod = self.file_module[&file];
        for (i, import) in view.summary.imports.iter().enumerate() {
            match import.scope {
                None => self.modules[file_mod as usize]
                    .imports
                    .push((file, i as u32)),
                Some(scope) => {
                    let scope_item = &view.summary.items[scope as usize];
                    if scope_item.kind == ItemKind::Module {
                        let m = item_module[scope as usize];
                        self.modules[m as usize].imports.push((file, i as u32));
                    } else {
                        self.fn_imports
                            .entry(ItemRef { file, item: scope })
                            .or_default()
                            .push(i as u32);
                    }
                }
            }
        }
    }

    pub(super) fn import(&self, file: u32, import: u32) -> &'a Import {
        &self.files[file as usize].summary.imports[import as usize]
    }

    /// The module an item (or, with `None`, the file's top level) is in.
    pub(super) fn module_of(&self, file: u32, item: Option<u32>) -> ModId {
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
}
