//! The index of a Rust crate set: file and inline modules, the items
//! declared in each, per-crate function and method names, and the scope
//! (module or function body) of every import.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use super::{Index, ModId, Module};
use crate::naming::rust_crate_and_module;
use crate::resolve::{FileView, ItemRef, Resolution};
use crate::summary::{Import, ItemKind};

impl<'a> Index<'a> {
    pub(super) fn build(files: &'a [FileView<'a>], members: &[u32], out: &mut Resolution) -> Self {
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
            type_memo: RefCell::default(),
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
        // `mod name;` in a crate that is a single file (tests, benches,
        // examples): the sibling `name.rs` or `name/mod.rs`, linked as a
        // child for name lookups only (it may be shared by several such
        // crates, so it gets no parent and no `contains` edge).
        let by_path: FxHashMap<&str, u32> = members
            .iter()
            .map(|f| (files[*f as usize].path, *f))
            .collect();
        for file in members {
            let view = &files[*file as usize];
            let krate = index.file_crate[file];
            if index.crate_keys.get(krate as usize).map(String::as_str) != Some(view.path) {
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
                if let Some(child) = child.and_then(|c| index.file_module.get(&c).copied()) {
                    let parent = index.file_module[file];
                    index.modules[parent as usize]
                        .children
                        .entry(name.clone())
                        .or_insert(child);
                }
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
