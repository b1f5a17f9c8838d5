//! Name lookup and `use` resolution: what a name means in a module
//! (declared items, imports, globs, memoised and capped at
//! `MAX_IMPORT_HOPS`), where a path leads (`crate::`, `self::`, `super::`,
//! other crates of the tree), and the `imports` edges.

use kausal_storage::EdgeType;

use super::{Found, Index, ModId, Target};
use crate::limits::MAX_IMPORT_HOPS;
use crate::resolve::{ItemRef, Resolution, id_of, kind_of};
use crate::summary::ItemKind;

impl<'a> Index<'a> {
    /// Names visible in module `m`: declared items and child modules first,
    /// then named imports, then glob imports. Memoised; cycles and chains
    /// longer than `MAX_IMPORT_HOPS` end the search.
    pub(super) fn lookup(&self, m: ModId, name: &str, depth: usize) -> Vec<Target> {
        if depth > MAX_IMPORT_HOPS {
            self.cut_short_count().set(self.cut_short_count().get() + 1);
            return Vec::new();
        }
        if let Some(found) = self
            .memo
            .get_or_default()
            .borrow()
            .get(&m)
            .and_then(|names| names.get(name))
        {
            return found.clone();
        }
        let key = (m, name.to_string());
        if !self
            .in_progress
            .get_or_default()
            .borrow_mut()
            .insert(key.clone())
        {
            self.cut_short_count().set(self.cut_short_count().get() + 1);
            return Vec::new();
        }
        let cut_before = self.cut_short_count().get();
        let module = &self.modules[m as usize];
        let mut out = Vec::new();
        if let Some(child) = module.children.get(name) {
            out.push(Target::Module(*child));
        }
        if let Some(items) = module.items.get(name) {
            out.extend(items.iter().map(|i| Target::Item(*i)));
        }
        // A child module does not hide an imported function of the same
        // name (`mod dinics; pub use dinics::dinics;`): modules and
        // functions live in different namespaces.
        let child = module.children.get(name).copied();
        if out.iter().all(|t| matches!(t, Target::Module(_))) {
            for (file, import) in &module.imports {
                let import = self.import(*file, *import);
                if import.local_name() != Some(name) {
                    continue;
                }
                // `use dinics::dinics` starts at the child module (looking
                // `dinics` up here again would be this very lookup).
                let found = match child {
                    Some(child) if import.path.len() > 1 && import.path[0] == name => {
                        self.walk(vec![Target::Module(child)], &import.path[1..], depth + 1)
                    }
                    _ => self.resolve_use(m, &import.path, depth + 1),
                };
                if let Found::Targets(targets) = found {
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
        self.in_progress.get_or_default().borrow_mut().remove(&key);
        // An answer that met a cycle or the hop limit below it may be
        // incomplete: found again from elsewhere (a shallower depth, the
        // other side of the cycle) it can be more. Only complete answers
        // are kept.
        if self.cut_short_count().get() == cut_before {
            self.memo
                .get_or_default()
                .borrow_mut()
                .entry(m)
                .or_default()
                .insert(key.1, out.clone());
        }
        out
    }

    pub(super) fn crate_root(&self, m: ModId) -> Option<ModId> {
        let krate = self.modules.get(m as usize)?.krate;
        self.crate_roots.get(krate as usize).copied().flatten()
    }

    /// The start of a path: `crate`, `self`, `super` (repeated) or a name
    /// looked up in `m`; returns the targets and the segments consumed.
    pub(super) fn path_start(
        &self,
        m: ModId,
        path: &[String],
        depth: usize,
    ) -> (Vec<Target>, usize) {
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
    pub(super) fn extern_crate_roots(&self, m: ModId, name: &str) -> Vec<ModId> {
        let own = self.modules.get(m as usize).map(|module| module.krate);
        let key = (own.unwrap_or(u32::MAX), name.to_string());
        if let Some(found) = self.extern_memo.get_or_default().borrow().get(&key) {
            return found.clone();
        }
        let found = self.extern_crate_roots_uncached(own, name);
        self.extern_memo
            .get_or_default()
            .borrow_mut()
            .insert(key, found.clone());
        found
    }

    /// The library crate of the package `krate` belongs to, when `krate`
    /// is one of its test, bench, example or binary crates (`tests/a.rs`
    /// -> `src`, `x/benches/b.rs` -> `x/src`).
    pub(super) fn library_of(&self, krate: u32) -> Option<u32> {
        self.libraries.get(krate as usize).copied().flatten()
    }

    /// [`Self::library_of`], computed (once per crate, by `Index::build`).
    pub(super) fn find_library(&self, krate: u32) -> Option<u32> {
        let key = self.crate_keys.get(krate as usize)?;
        let package = ["tests/", "benches/", "examples/", "src/bin/"]
            .iter()
            .find_map(|marker| {
                if key.starts_with(marker) {
                    return Some("");
                }
                key.find(&format!("/{marker}")).map(|at| &key[..at])
            })?;
        let library = if package.is_empty() {
            "src".to_string()
        } else {
            format!("{package}/src")
        };
        self.crate_keys
            .iter()
            .position(|k| *k == library)
            .map(|at| at as u32)
    }

    pub(super) fn extern_crate_roots_uncached(&self, own: Option<u32>, name: &str) -> Vec<ModId> {
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
    pub(super) fn through_other_crate(&self, m: ModId, path: &[String], depth: usize) -> Found {
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
    pub(super) fn resolve_use(&self, m: ModId, path: &[String], depth: usize) -> Found {
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
    pub(super) fn walk(&self, mut current: Vec<Target>, rest: &[String], depth: usize) -> Found {
        for segment in rest {
            let mut next = Vec::new();
            let mut constructor = false;
            for target in &current {
                match target {
                    Target::Module(g) => next.extend(self.lookup(*g, segment, depth)),
                    Target::Item(item) => {
                        let mut item = *item;
                        if kind_of(self.files, item) == ItemKind::TypeAlias {
                            match self.alias_target(item) {
                                Some(target) => item = target,
                                None => continue,
                            }
                        }
                        let item = &item;
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

    /// Resolves a type path written in `m` to exactly one type item.
    pub(super) fn resolve_type(&self, m: ModId, text: &str) -> Option<ItemRef> {
        if text.is_empty() || text.contains(['(', '[']) {
            return None;
        }
        if let Some(found) = self
            .type_memo
            .get_or_default()
            .borrow()
            .get(&m)
            .and_then(|t| t.get(text))
        {
            return *found;
        }
        let found = self.resolve_type_uncached(m, text);
        self.type_memo
            .get_or_default()
            .borrow_mut()
            .entry(m)
            .or_default()
            .insert(text.to_string(), found);
        found
    }

    pub(super) fn resolve_type_uncached(&self, m: ModId, text: &str) -> Option<ItemRef> {
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
        if types.len() > 1 {
            // Aliases declared once per `cfg` (std / no_std) that all name
            // the same type are that type.
            let mut targets = types.iter().map(|t| {
                (kind_of(self.files, *t) == ItemKind::TypeAlias)
                    .then(|| self.alias_target(*t))
                    .flatten()
            });
            let first = targets.next().flatten()?;
            return targets.all(|t| t == Some(first)).then_some(first);
        }
        let found = *types.first()?;
        if kind_of(self.files, found) == ItemKind::TypeAlias {
            return self.alias_target(found);
        }
        Some(found)
    }

    /// The type an alias names (`type DiGraph<N, E> = Graph<N, E,
    /// Directed>` -> `Graph`), through chains of aliases up to
    /// `MAX_ALIAS_HOPS`; `None` when it names a type outside the crate.
    pub(super) fn alias_target(&self, mut alias: ItemRef) -> Option<ItemRef> {
        for _ in 0..MAX_ALIAS_HOPS {
            let item = &self.files[alias.file as usize].summary.items[alias.item as usize];
            let target_text = alias_right_side(&item.signature)?;
            let path = super::receivers::receiver_type_path(target_text);
            let module = self.module_of(alias.file, item.parent);
            let path: Vec<String> = path.split("::").map(str::to_string).collect();
            let Found::Targets(targets) = self.resolve_use(module, &path, 0) else {
                return None;
            };
            let mut types = targets.into_iter().filter_map(|t| match t {
                Target::Item(item) if kind_of(self.files, item).is_type() => Some(item),
                _ => None,
            });
            let (Some(found), None) = (types.next(), types.next()) else {
                return None;
            };
            if kind_of(self.files, found) != ItemKind::TypeAlias {
                return Some(found);
            }
            alias = found;
        }
        None
    }

    pub(super) fn resolve_imports(&self, file: u32, out: &mut Resolution) {
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
}

/// Most aliases followed from one type name (`type A = B; type B = C;`).
const MAX_ALIAS_HOPS: usize = 4;

/// The right side of a type alias's signature: `pub type A<T = u32> =
/// B<T>;` -> `B<T>` (an `=` inside the generic parameters is a default).
pub(super) fn alias_right_side(signature: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (at, c) in signature.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            '=' if depth == 0 => {
                let rest = signature[at + 1..].trim().trim_end_matches(';').trim();
                return (!rest.is_empty()).then_some(rest);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod alias_tests {
    use super::alias_right_side;

    #[test]
    fn an_alias_right_side_skips_generic_defaults() {
        assert_eq!(
            alias_right_side("pub type DiGraph<N, E, Ix = DefaultIx> = Graph<N, E, Directed, Ix>;"),
            Some("Graph<N, E, Directed, Ix>")
        );
        assert_eq!(
            alias_right_side("type A = crate::b::B;"),
            Some("crate::b::B")
        );
        assert_eq!(alias_right_side("pub type DiMatrix<"), None);
    }
}
