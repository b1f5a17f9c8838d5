//! Names to modules and classes, and methods through the class hierarchy.
//!
//! A dotted name (`mod.sub.Foo`, `nodes.Node`) is resolved from the
//! file's bindings: a top-level item, an imported name, an imported module
//! (`import a.b` binds the package `a`; `from . import mod` a submodule);
//! each further segment is a name the module exports or, in Python, a
//! submodule of a package. A class's bases are resolved the same way from
//! its own file, and a method is looked up in the class, then in its bases
//! left to right, depth first (Python's MRO differs from this only for
//! diamonds; TypeScript has one `extends`, looked up before interfaces).

use rustc_hash::FxHashSet;

use super::Index;
use super::types::{TypeText, parameter_type, return_annotation, type_text};
use crate::language::Language;
use crate::resolve::{ItemRef, children_named, item_of, kind_of, owner_ancestor};
use crate::summary::ItemKind;

/// What a name or dotted name is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The files of a module of the tree.
    Module(Vec<u32>),
    /// Items of the tree (a class, a function), several only when the
    /// name is bound more than once.
    Items(Vec<ItemRef>),
    /// A module or name from outside the tree.
    External,
}

/// Deepest class hierarchy searched (a cycle is cut by a visited set).
const MAX_HIERARCHY_DEPTH: usize = 16;

/// Most steps from a value to its type (`f().g().h()` is three).
pub(super) const MAX_TYPE_HOPS: usize = 4;

impl<'a> Index<'a> {
    /// What `name` is bound to at the top of `file`: an item it declares,
    /// a name or module it imports.
    pub(super) fn binding(&self, file: u32, name: &str) -> Option<Target> {
        let declared = self.top_level_in(&[file], name);
        if !declared.is_empty() {
            return Some(Target::Items(declared));
        }
        let view = &self.files[file as usize];
        let import = self.import_binding(file, name)?;
        let spec = import.path.first()?;
        let Some(imported) = import.path.get(1) else {
            // `import a.b` binds the package `a` (`import a.b as c`: a.b).
            let spec = match spec.split_once('.') {
                Some((package, _))
                    if self.language == Language::Python
                        && import.alias.as_deref() == Some(package) =>
                {
                    package
                }
                _ => spec.as_str(),
            };
            let files = self.module_files_of(view.path, spec);
            return Some(if files.is_empty() {
                Target::External
            } else {
                Target::Module(files)
            });
        };
        let files = self.module_files_of(view.path, spec);
        let items = self.exported_in(&files, imported);
        if !items.is_empty() {
            return Some(Target::Items(items));
        }
        // `from . import mod`, `from pkg import sub`: a submodule.
        if self.language == Language::Python {
            let sub = if spec.ends_with('.') {
                format!("{spec}{imported}")
            } else {
                format!("{spec}.{imported}")
            };
            let files = self.module_files_of(view.path, &sub);
            if !files.is_empty() {
                return Some(Target::Module(files));
            }
        }
        (files.is_empty()).then_some(Target::External)
    }

    /// Python's submodule `name` of a package (`pkg/__init__.py`).
    fn submodule(&self, files: &[u32], name: &str) -> Vec<u32> {
        let mut found = Vec::new();
        for file in files {
            let path = self.files[*file as usize].path;
            let Some(dir) = path.strip_suffix("__init__.py") else {
                continue;
            };
            for candidate in [
                format!("{dir}{name}.py"),
                format!("{dir}{name}/__init__.py"),
            ] {
                if let Some(file) = self.by_path.get(candidate.as_str()) {
                    found.push(*file);
                    break;
                }
            }
        }
        found
    }

    /// What a dotted name (`mod.sub.Foo`) is bound to in `file`.
    pub(super) fn resolve_dotted(&self, file: u32, segments: &[&str]) -> Option<Target> {
        let (first, rest) = segments.split_first()?;
        let mut current = self.binding(file, first)?;
        for segment in rest {
            current = self.member(current, segment)?;
        }
        Some(current)
    }

    /// Member `name` of what `target` binds: a name a module exports or,
    /// in Python, a submodule of a package; a class nested in a class.
    pub(super) fn member(&self, target: Target, name: &str) -> Option<Target> {
        match target {
            Target::External => Some(Target::External),
            Target::Module(files) => {
                let items = self.exported_in(&files, name);
                if !items.is_empty() {
                    return Some(Target::Items(items));
                }
                if self.language != Language::Python {
                    return None;
                }
                let sub = self.submodule(&files, name);
                (!sub.is_empty()).then_some(Target::Module(sub))
            }
            Target::Items(items) => {
                let class = self.class_among(&items)?;
                let view = &self.files[class.file as usize];
                let inner: Vec<ItemRef> = children_named(view, Some(class.item), name)
                    .map(|item| ItemRef {
                        file: class.file,
                        item,
                    })
                    .collect();
                (!inner.is_empty()).then_some(Target::Items(inner))
            }
        }
    }

    /// Items one name binds: several definitions of one name in one scope
    /// of a Python or TypeScript file (`@overload` signatures, overloaded
    /// methods, a conditional redefinition) are one binding, reported at
    /// its first definition as the language servers do.
    pub(super) fn one_binding(&self, found: &[ItemRef]) -> Vec<ItemRef> {
        let scoped = matches!(
            self.language,
            Language::Python | Language::JavaScript | Language::TypeScript | Language::Tsx
        );
        let Some(first) = found.iter().min() else {
            return Vec::new();
        };
        let head = item_of(self.files, *first);
        let same = found.iter().all(|other| {
            let item = item_of(self.files, *other);
            other.file == first.file && item.parent == head.parent && item.name == head.name
        });
        if scoped && same {
            vec![*first]
        } else {
            found.to_vec()
        }
    }

    /// The one class (or interface) among `items`.
    pub(super) fn class_among(&self, items: &[ItemRef]) -> Option<ItemRef> {
        let items = self.one_binding(items);
        let mut classes = items.iter().filter(|item| {
            matches!(
                kind_of(self.files, **item),
                ItemKind::Class | ItemKind::Interface
            )
        });
        match (classes.next(), classes.next()) {
            (Some(class), None) => Some(*class),
            _ => None,
        }
    }

    /// The class values of a name have: a class itself (`Foo(..)`, a
    /// `Foo.m()` receiver), or what a function returns.
    pub(super) fn class_of_items(&self, items: &[ItemRef], hops: usize) -> Option<ItemRef> {
        if let Some(class) = self.class_among(items) {
            return Some(class);
        }
        let items = self.one_binding(items);
        match items.as_slice() {
            [function] if kind_of(self.files, *function).is_callable() => {
                self.returned_class(*function, hops + 1)
            }
            _ => None,
        }
    }

    /// The class a type text names in `file` (an annotation, or a call
    /// whose callee is a class or a function with a return annotation);
    /// `scope` and `line` say where it is written (for `Self`, and a
    /// callee reached through a local: `x = env.parse()`).
    pub(super) fn class_of_type(
        &self,
        file: u32,
        scope: Option<u32>,
        line: u32,
        text: &str,
        hops: usize,
    ) -> Option<ItemRef> {
        if hops > MAX_TYPE_HOPS {
            return None;
        }
        let path = match type_text(text)? {
            TypeText::Called(path) => return self.class_of_callee(file, scope, line, &path, hops),
            TypeText::Named(path) => path,
            TypeText::Argument {
                callee,
                new,
                argument,
                parameter,
            } => {
                let function = self.callee_function(file, scope, line, &callee, new, hops)?;
                let signature = &item_of(self.files, function).signature;
                let callback = parameter_type(signature, argument)?;
                let written = parameter_type(callback, parameter)?;
                return self.class_of_type(
                    function.file,
                    Some(function.item),
                    line,
                    written,
                    hops + 1,
                );
            }
        };
        // `-> Self` / `-> te.Self` / TypeScript's `: this`.
        if matches!(path.last(), Some(&"Self") | Some(&"this")) && path.len() <= 2 {
            let summary = self.files[file as usize].summary;
            let method = scope.and_then(|s| summary.items.get(s as usize))?;
            let owner = owner_ancestor(summary, method.parent)?;
            return Some(ItemRef { file, item: owner });
        }
        match self.resolve_dotted(file, &path)? {
            Target::Items(items) => self.class_among(&items),
            _ => None,
        }
    }

    /// The class `function`'s return annotation names.
    pub(super) fn returned_class(&self, function: ItemRef, hops: usize) -> Option<ItemRef> {
        let item = item_of(self.files, function);
        let annotation = return_annotation(&item.signature)?;
        self.class_of_type(
            function.file,
            Some(function.item),
            item.start_line,
            annotation,
            hops,
        )
    }

    /// The classes and interfaces a class extends or implements, classes
    /// first, each resolved from the class's own file.
    pub(super) fn bases(&self, class: ItemRef) -> Vec<ItemRef> {
        if let Some(found) = self.bases_memo.borrow().get(&class) {
            return found.clone();
        }
        let item = item_of(self.files, class);
        let mut found: Vec<ItemRef> = item
            .impl_trait
            .split(',')
            .filter(|base| !base.is_empty() && !base.contains('='))
            .filter_map(|base| {
                self.class_of_type(class.file, item.parent, item.start_line, base, 0)
            })
            .filter(|base| *base != class)
            .collect();
        found.sort_by_key(|base| kind_of(self.files, *base) == ItemKind::Interface);
        self.bases_memo.borrow_mut().insert(class, found.clone());
        found
    }

    /// Method `name` of `class` or, nearest first, of its bases (only of
    /// its bases with `skip_own`: `super().m()`).
    pub(super) fn method_in_hierarchy(
        &self,
        class: ItemRef,
        name: &str,
        skip_own: bool,
    ) -> Option<ItemRef> {
        let mut visited = FxHashSet::default();
        self.method_search(class, name, skip_own, 0, &mut visited)
    }

    fn method_search(
        &self,
        class: ItemRef,
        name: &str,
        skip_own: bool,
        depth: usize,
        visited: &mut FxHashSet<ItemRef>,
    ) -> Option<ItemRef> {
        if depth > MAX_HIERARCHY_DEPTH || !visited.insert(class) {
            return None;
        }
        if !skip_own {
            let view = &self.files[class.file as usize];
            let own = children_named(view, Some(class.item), name)
                .find(|item| view.summary.items[*item as usize].kind.is_callable());
            if let Some(item) = own {
                return Some(ItemRef {
                    file: class.file,
                    item,
                });
            }
        }
        self.bases(class)
            .into_iter()
            .find_map(|base| self.method_search(base, name, false, depth + 1, visited))
    }
}
