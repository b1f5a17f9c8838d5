//! Resolution for the file-scoped languages (Python, JavaScript,
//! TypeScript, Go, C, Zig): a module is a file (a directory for Go).
//! Bare calls look in nested functions, then the module, then imported
//! names, then a top-level function unique in the language; `self.m()` /
//! `this.m()` look in the enclosing class; `alias.f()` looks in the module
//! an import bound to `alias`; other method calls resolve only when the
//! method name is unique.
//!
//! * `modules.rs`: import specifiers to files, exports and re-exports.
//! * `builtins.rs`: built-in types' method names the unique-name rule skips.

mod builtins;
mod c;
mod classes;
mod go;
pub(crate) mod incremental;
mod modules;
mod names;
mod receivers;
#[cfg(test)]
mod tests;
mod types;
mod zig;

use std::cell::RefCell;

use kausal_storage::EdgeType;
use rustc_hash::FxHashMap;

use super::{
    FileView, ItemRef, Outcome, Resolution, Rule, children_named, id_of, kind_of, nested_callable,
    owner_ancestor, settle,
};
use crate::language::Language;
use crate::summary::{CallKind, CallRef, ItemKind};
use builtins::{builtin_function, builtin_method};
use modules::dir_of;

struct Index<'a> {
    files: &'a [FileView<'a>],
    language: Language,
    /// Files of each module key (the file path, or its directory for Go).
    module_files: FxHashMap<&'a str, Vec<u32>>,
    by_path: FxHashMap<&'a str, u32>,
    /// Items by name (see `names.rs`).
    names: names::NameTables,
    /// `exported_in` per (module file, name).
    exported_memo: RefCell<FxHashMap<(u32, String), Vec<ItemRef>>>,
    /// `bases` per class.
    bases_memo: RefCell<FxHashMap<ItemRef, Vec<ItemRef>>>,
    /// Zig: files by stem (`Ast` -> `lib/std/zig/Ast.zig`), see `zig.rs`.
    zig_stems: FxHashMap<&'a str, Vec<u32>>,
    /// C: includes, definitions and prototypes, see `c.rs`.
    c: c::CIndex<'a>,
}

/// Resolves the files of `language` among `files` into `out`. C files
/// come with a cache of their per-file results and the files whose
/// content changed since it was filled (`None`: resolve every file), see
/// `incremental.rs`; other languages resolve every file.
pub(super) fn resolve_generic(
    files: &[FileView],
    language: Language,
    members: &[u32],
    out: &mut Resolution,
    cache: Option<(
        &mut incremental::CCache,
        Option<&rustc_hash::FxHashSet<&str>>,
    )>,
) {
    let Some((cache, changed)) = cache else {
        let index = Index::build(files, language, members, None);
        for file in members {
            index.resolve_file(*file, out);
        }
        return;
    };
    let plan = incremental::plan(cache, files, members, changed);
    // The tables of the last resolution, patched, when it saw these
    // files at these positions with these `#include`s.
    let tables = match plan.dirty {
        Some(_) => cache.take_tables(files, members),
        None => None,
    };
    let index = Index::build(files, language, members, tables);
    index.resolve_cached(members, out, cache, plan);
    let tables = index.into_tables();
    cache.keep_tables(members, tables);
}

impl<'a> Index<'a> {
    /// The tables of `language` over `members`; the tables by name and
    /// C's resolved includes are `kept` from an earlier resolution when
    /// given (see `incremental::CCache::take_tables`).
    fn build(
        files: &'a [FileView<'a>],
        language: Language,
        members: &[u32],
        kept: Option<incremental::Tables>,
    ) -> Self {
        let (names, includes) = match kept {
            Some(tables) => (Some(tables.names), Some(tables.includes)),
            None => (None, None),
        };
        let kept_names = names.is_some();
        let mut index = Index {
            files,
            language,
            module_files: FxHashMap::default(),
            by_path: FxHashMap::default(),
            names: names.unwrap_or_default(),
            exported_memo: RefCell::new(FxHashMap::default()),
            bases_memo: RefCell::new(FxHashMap::default()),
            zig_stems: FxHashMap::default(),
            c: c::CIndex::default(),
        };
        for file in members {
            let view = &files[*file as usize];
            let key = index.module_key(view.path);
            index.module_files.entry(key).or_default().push(*file);
            index.by_path.insert(view.path, *file);
            if language == Language::Zig {
                index
                    .zig_stems
                    .entry(zig::file_stem(view.path))
                    .or_default()
                    .push(*file);
            }
            if !kept_names {
                index
                    .names
                    .add_file(language, key, *file, view.summary, false);
            }
        }
        if language == Language::C {
            index.build_c(members, includes);
        }
        index
    }

    /// The tables worth keeping for the next resolution of these files.
    fn into_tables(self) -> incremental::Tables {
        incremental::Tables {
            names: self.names,
            includes: self.c.includes,
        }
    }

    /// Resolves `members` into `out`, each file's part from `cache` unless
    /// the `plan` (see `incremental::plan`) says an edit can reach it.
    fn resolve_cached(
        &self,
        members: &[u32],
        out: &mut Resolution,
        cache: &mut incremental::CCache,
        plan: incremental::Plan,
    ) {
        let files = self.files;
        let incremental::Plan {
            mut new_decls,
            dirty,
        } = plan;
        match dirty {
            Some(dirty) => self.resolve_dirty(members, out, cache, &dirty, new_decls),
            None => {
                let mut kept = FxHashMap::default();
                for member in members {
                    let view = &files[*member as usize];
                    let part = self.resolve_part(*member);
                    out.merge(&part);
                    // Declarations of the files not edited are the cached
                    // ones (their summaries are the ones the cache saw).
                    let old = cache
                        .get_mut(view.path)
                        .map(|c| std::mem::take(&mut c.decls));
                    let cached = incremental::CachedFile {
                        decls: new_decls
                            .remove(view.path)
                            .or(old)
                            .unwrap_or_else(|| incremental::CDecls::of(view.summary)),
                        call_tokens: match cache.keeps() {
                            true => incremental::call_tokens(view.summary),
                            false => Box::default(),
                        },
                        part,
                    };
                    kept.insert(view.path.to_string(), cached);
                }
                cache.store(kept);
                cache.note_again(None);
            }
        }
    }

    /// Resolves again the `dirty` ones of `members` (the cache holds
    /// exactly them), updating their cached results in place; the others'
    /// results come from the cache.
    fn resolve_dirty(
        &self,
        members: &[u32],
        out: &mut Resolution,
        cache: &mut incremental::CCache,
        dirty: &[bool],
        mut new_decls: FxHashMap<&str, incremental::CDecls>,
    ) {
        let mut again = rustc_hash::FxHashSet::default();
        for (member, dirty) in members.iter().zip(dirty) {
            let view = &self.files[*member as usize];
            let part = match *dirty {
                true => Some(self.resolve_part(*member)),
                false => None,
            };
            let Some(cached) = cache.get_mut(view.path) else {
                // Not reached: `dirty_files` checked that the cache holds
                // exactly these files. Resolved whole all the same.
                let part = part.unwrap_or_else(|| self.resolve_part(*member));
                out.merge(&part);
                again.insert(view.path.to_string());
                let cached = incremental::CachedFile {
                    decls: incremental::CDecls::of(view.summary),
                    call_tokens: incremental::call_tokens(view.summary),
                    part,
                };
                cache.insert(view.path, cached);
                continue;
            };
            match part {
                Some(part) => {
                    again.insert(view.path.to_string());
                    if let Some(decls) = new_decls.remove(view.path) {
                        cached.decls = decls;
                    }
                    cached.call_tokens = incremental::call_tokens(view.summary);
                    cached.part = part;
                }
                // The file's position among all files may have moved.
                None if cached
                    .part
                    .provenance
                    .first()
                    .is_some_and(|r| r.file != *member) =>
                {
                    for record in &mut cached.part.provenance {
                        record.file = *member;
                    }
                }
                None => {}
            }
            out.merge(&cached.part);
        }
        cache.note_again(Some(again));
    }

    /// One file's resolution as the cache keeps it: provenance sorted, so
    /// `rule_choice::choose` finds the file's run in order on every later
    /// resolution, and its stubs once each.
    fn resolve_part(&self, file: u32) -> Resolution {
        let mut part = Resolution::default();
        self.resolve_file(file, &mut part);
        part.provenance.sort_unstable();
        part.stubs.sort_unstable();
        part.stubs.dedup();
        part
    }

    /// One file's structure, imports and calls, resolved into `out`.
    fn resolve_file(&self, file: u32, out: &mut Resolution) {
        self.structure(file, out);
        self.imports(file, out);
        let view = &self.files[file as usize];
        for call in &view.summary.calls {
            let outcome = self.resolve_call(file, call);
            let source = super::caller_id(self.files, file, call);
            // C: a call of a name no C item has reaches its stub.
            let stub = self.language == Language::C
                && outcome == Outcome::External
                && call.kind == CallKind::Path
                && super::is_identifier(&call.text)
                && self.c_outside(&call.text);
            if stub {
                out.record_stub(file, self.language, &call.text, source);
            } else {
                out.record_call(self.files, file, call, &outcome, source);
            }
        }
    }

    fn module_key<'p>(&self, path: &'p str) -> &'p str {
        if self.language.scope_rules().directory_is_module {
            dir_of(path)
        } else {
            path
        }
    }

    fn structure(&self, file: u32, out: &mut Resolution) {
        let view = &self.files[file as usize];
        let key = self.module_key(view.path);
        for (i, item) in view.summary.items.iter().enumerate() {
            let item_ref = ItemRef {
                file,
                item: i as u32,
            };
            if item.kind != ItemKind::Method {
                continue;
            }
            // Methods nested in their class, or (Go) declared with a receiver type.
            let owner = match owner_ancestor(view.summary, item.parent) {
                Some(owner) => Some(ItemRef { file, item: owner }),
                None if !item.impl_type.is_empty() => self
                    .names
                    .top_level
                    .get(&names::scoped_key(key, &item.impl_type))
                    .and_then(|found| (found.len() == 1).then(|| found[0])),
                None => None,
            };
            if let Some(owner) = owner {
                out.edge(
                    id_of(self.files, item_ref),
                    id_of(self.files, owner),
                    EdgeType::MethodOf,
                );
            }
        }
        for (i, item) in view.summary.items.iter().enumerate() {
            if item.impl_trait.is_empty() || item.kind == ItemKind::Method {
                continue;
            }
            let item_ref = ItemRef {
                file,
                item: i as u32,
            };
            // Python and JavaScript/TypeScript bases as method lookup sees
            // them (`nodes.Node`, re-exported classes); elsewhere a name
            // of the module.
            let bases = if self.classes_have_bases() {
                self.bases(item_ref)
            } else {
                item.impl_trait
                    .split(',')
                    .filter_map(|base| {
                        let name = base.rsplit('.').next().unwrap_or(base);
                        let found = self.name_in_module(file, name);
                        (found.len() == 1).then(|| found[0])
                    })
                    .collect()
            };
            for base in bases {
                let edge_type = if kind_of(self.files, base) == ItemKind::Interface {
                    EdgeType::Implements
                } else {
                    EdgeType::Extends
                };
                out.edge(
                    id_of(self.files, item_ref),
                    id_of(self.files, base),
                    edge_type,
                );
            }
        }
    }

    fn classes_have_bases(&self) -> bool {
        matches!(
            self.language,
            Language::Python | Language::JavaScript | Language::TypeScript | Language::Tsx
        )
    }

    /// `settle`, and for JavaScript/TypeScript a call of one class
    /// (`new Parser(..)`) is a call of its `constructor` when it declares
    /// one (a class without one has no block to call: a constructor).
    fn settle_call(&self, found: &[ItemRef], rule: Rule) -> Option<Outcome> {
        let outcome = settle(self.files, &self.one_binding(found), rule)?;
        let ecma = matches!(
            self.language,
            Language::JavaScript | Language::TypeScript | Language::Tsx
        );
        if !ecma || outcome != Outcome::Constructor {
            return Some(outcome);
        }
        let mut classes = found
            .iter()
            .filter(|item| kind_of(self.files, **item) == ItemKind::Class);
        let (Some(class), None) = (classes.next(), classes.next()) else {
            return Some(outcome);
        };
        let view = &self.files[class.file as usize];
        let mut constructors = children_named(view, Some(class.item), "constructor");
        match (constructors.next(), constructors.next()) {
            (Some(item), None) => Some(Outcome::Resolved(
                ItemRef {
                    file: class.file,
                    item,
                },
                rule,
            )),
            _ => Some(outcome),
        }
    }

    fn resolve_call(&self, file: u32, call: &CallRef) -> Outcome {
        let files = self.files;
        let view = &files[file as usize];
        match call.kind {
            CallKind::Path if self.language == Language::C => self.c_call(file, call),
            CallKind::Path => {
                let name = call.text.as_str();
                if let Some(found) = nested_callable(view, call.caller, name) {
                    return Outcome::Resolved(ItemRef { file, item: found }, Rule::Nested);
                }
                let mut same_module = self.top_level_in(&[file], name);
                if self.language.scope_rules().directory_is_module {
                    let key = self.module_key(view.path);
                    same_module = self
                        .names
                        .top_level
                        .get(&names::scoped_key(key, name))
                        .cloned()
                        .unwrap_or_default();
                }
                if let Some(outcome) = self.settle_call(&same_module, Rule::Module) {
                    return outcome;
                }
                if let Some(import) = self.import_binding(file, name) {
                    if import.path.len() < 2 {
                        return Outcome::External;
                    }
                    let targets = self.module_files_of(view.path, &import.path[0]);
                    if targets.is_empty() {
                        return Outcome::External;
                    }
                    let found = self.exported_in(&targets, &import.path[1]);
                    return self
                        .settle_call(&found, Rule::Import)
                        .unwrap_or(Outcome::Unresolved("imported name not in module"));
                }
                if builtin_function(self.language, name) {
                    return Outcome::External;
                }
                let candidates = self
                    .names
                    .functions
                    .get(&names::name_key(name))
                    .cloned()
                    .unwrap_or_default();
                match candidates.len() {
                    0 => Outcome::External,
                    1 => Outcome::Resolved(candidates[0], Rule::UniqueFunction),
                    _ => Outcome::Ambiguous(candidates),
                }
            }
            CallKind::Method => {
                // Go and Zig: a receiver of written or evident type first
                // (their structs are no classes to the shared rules).
                let typed = match self.language {
                    Language::Go => self.go_method(file, call),
                    Language::Zig => self.zig_typed_receiver(file, call),
                    _ => None,
                };
                if let Some(outcome) = typed {
                    return outcome;
                }
                if let Some(outcome) = self.receiver_rules(file, call, 0) {
                    return outcome;
                }
                if self.untyped_parameter(file, call) {
                    return Outcome::Unresolved("receiver is an untyped parameter");
                }
                if self.language == Language::Zig
                    && let Some(outcome) = self.zig_unknown_receiver(file, call)
                {
                    return outcome;
                }
                // `d.items()`, `arr.push(x)`: a built-in type's method
                // far more often than the project's one of that name.
                if builtin_method(self.language, &call.text) {
                    return Outcome::External;
                }
                let candidates = self
                    .names
                    .methods
                    .get(&names::name_key(&call.text))
                    .cloned()
                    .unwrap_or_default();
                match candidates.len() {
                    0 => Outcome::External,
                    // `other.m()` inside `m` delegates to another object's
                    // method far more often than it recurses.
                    1 if Some(candidates[0]) == call.caller.map(|item| ItemRef { file, item }) => {
                        Outcome::External
                    }
                    1 => Outcome::Resolved(candidates[0], Rule::UniqueMethod),
                    _ => Outcome::Ambiguous(candidates),
                }
            }
        }
    }
}
