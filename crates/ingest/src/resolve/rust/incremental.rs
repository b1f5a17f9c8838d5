//! Which Rust files an ingest resolves the calls (and `use` imports) of
//! again, and the per-file results it keeps for the others
//! ([`CallCache`]).
//!
//! A file's call edges are a function of its own summary and of what the
//! lookups starting from names written in it reach in other files'
//! *declarations* (items with their signatures, impls, fields, imports):
//! typed locals and call sites are only ever read in the calling file.
//! So after an edit, a file other than the edited ones can resolve
//! differently only if it writes a name whose meaning changed:
//!
//! * the names of every declaration added, removed or changed in an
//!   edited file, with the names of its enclosing items (a method added to
//!   `impl Table` changes what `Table` offers), and for an impl of a trait
//!   the trait's methods (default methods come with the impl);
//! * closed over the declarations of every file: a declaration whose
//!   signature, field type or import path mentions a changed name changes
//!   meaning too (`fn open() -> Table` when `Table` changed), so its own
//!   names join.
//!
//! A file none of whose identifiers is in that set keeps its cached
//! result. Changes the name test cannot see through re-resolve every
//! file: a file added, removed or renamed, a `mod` declaration, a glob
//! import, a blanket impl, declarations only reordered. Identifiers are
//! compared as 64-bit hashes: a collision only resolves a file again.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::resolve::{FileView, Resolution};
use crate::summary::{ItemKind, Summary};

/// Per-file call resolution kept between ingests, with the declarations
/// it was computed against.
#[derive(Debug, Default)]
pub struct CallCache {
    files: FxHashMap<String, CachedFile>,
    /// The C files' results (see `generic::incremental`).
    pub(crate) c: crate::resolve::generic::incremental::CCache,
    /// Keep nothing for a next resolution (see `IngestOptions::keep_for_next`).
    pub(crate) discard: bool,
}

#[derive(Debug)]
struct CachedFile {
    decls: Arc<Decls>,
    calls: Resolution,
}

impl CallCache {
    /// Takes the cached result of `path` out of the cache (which `store`
    /// then refills).
    pub(super) fn take(&mut self, path: &str) -> Option<Resolution> {
        self.files.remove(path).map(|f| f.calls)
    }

    /// Forgets every Rust file (no Rust file left).
    pub(super) fn clear_rust(&mut self) {
        self.files.clear();
    }

    /// Replaces the whole cache with this resolution's per-file results.
    pub(super) fn store(&mut self, files: FxHashMap<String, (Arc<Decls>, Resolution)>) {
        if self.discard {
            self.files.clear();
            return;
        }
        self.files = files
            .into_iter()
            .map(|(path, (decls, calls))| (path, CachedFile { decls, calls }))
            .collect();
    }
}

/// What other files can read of one Rust file, reduced to hashes.
#[derive(Debug, Default)]
pub struct Decls {
    /// Every declaration key in file order.
    sequence: u64,
    /// `mod` declarations, glob imports and blanket impls.
    structural: u64,
    /// Every declaration, sorted by key.
    entries: Vec<Decl>,
    /// Every identifier written in the summary (sorted, deduplicated).
    tokens: Vec<u64>,
}

#[derive(Debug)]
struct Decl {
    key: u64,
    /// Names a lookup may find it (or its changed meaning) by.
    names: Vec<u64>,
    /// Identifiers its meaning depends on (signature, field type, path).
    mentions: Vec<u64>,
    /// An impl of a trait: the trait's identifiers.
    impl_trait: Vec<u64>,
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// The identifiers (`[A-Za-z0-9_]+` runs) of `text`, hashed.
fn push_tokens(text: &str, out: &mut Vec<u64>) {
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !word.is_empty() {
            out.push(hash_of(word));
        }
    }
}

fn tokens(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    push_tokens(text, &mut out);
    out
}

impl Decls {
    /// The declarations of a Rust file's summary.
    pub fn of(summary: &Summary) -> Self {
        let mut entries = Vec::new();
        let mut sequence = FxHasher::default();
        let mut structural = FxHasher::default();
        summary.module_decls.hash(&mut structural);
        let context = Context {
            items: &summary.items,
        };
        for (index, item) in summary.items.iter().enumerate() {
            let (around, mut names) = context.ancestors(item.parent);
            let key = hash_of(&(
                "item",
                around,
                item.kind,
                &item.name,
                &item.signature,
                &item.impl_type,
                &item.impl_trait,
                item.compiled_out,
            ));
            names.extend(context.names(index));
            let mut mentions = tokens(&item.signature);
            push_tokens(&item.impl_type, &mut mentions);
            push_tokens(&item.impl_trait, &mut mentions);
            let is_impl = item.kind == ItemKind::Impl;
            if is_impl && is_blanket(&item.signature, &item.impl_type) {
                key.hash(&mut structural);
            }
            let impl_trait = if is_impl {
                tokens(&item.impl_trait)
            } else {
                Vec::new()
            };
            entries.push(Decl {
                key,
                names,
                mentions,
                impl_trait,
            });
        }
        for import in &summary.imports {
            let (around, mut names) = context.ancestors(import.scope);
            let key = hash_of(&("import", around, &import.path, &import.alias, import.glob));
            if import.glob {
                key.hash(&mut structural);
            }
            if let Some(local) = import.local_name() {
                push_tokens(local, &mut names);
            }
            if let Some(last) = import.path.last() {
                push_tokens(last, &mut names);
            }
            let mut mentions = Vec::new();
            for segment in &import.path {
                push_tokens(segment, &mut mentions);
            }
            entries.push(Decl {
                key,
                names,
                mentions,
                impl_trait: Vec::new(),
            });
        }
        for field in &summary.fields {
            let (around, mut names) = context.ancestors(field.scope);
            let key = hash_of(&("field", around, &field.name, &field.type_text));
            push_tokens(&field.name, &mut names);
            entries.push(Decl {
                key,
                names,
                mentions: tokens(&field.type_text),
                impl_trait: Vec::new(),
            });
        }
        for entry in &entries {
            entry.key.hash(&mut sequence);
        }
        entries.sort_by_key(|d| d.key);
        Decls {
            sequence: sequence.finish(),
            structural: structural.finish(),
            entries,
            tokens: file_tokens(summary),
        }
    }
}

/// A file's items, for the names and context of its declarations.
struct Context<'s> {
    items: &'s [crate::summary::Item],
}

impl Context<'_> {
    /// What a lookup names item `index` by: an impl by its type and trait.
    fn names(&self, index: usize) -> Vec<u64> {
        let item = &self.items[index];
        if item.kind == ItemKind::Impl {
            let mut out = tokens(&item.impl_type);
            push_tokens(&item.impl_trait, &mut out);
            out
        } else {
            tokens(&item.name)
        }
    }

    /// The enclosing items from `parent` out, hashed as (kind, name, impl
    /// type, impl trait), and their names.
    fn ancestors(&self, parent: Option<u32>) -> (u64, Vec<u64>) {
        let mut hasher = FxHasher::default();
        let mut names = Vec::new();
        let mut current = parent;
        while let Some(p) = current {
            let Some(item) = self.items.get(p as usize) else {
                break;
            };
            (item.kind, &item.name, &item.impl_type, &item.impl_trait).hash(&mut hasher);
            names.extend(self.names(p as usize));
            current = item.parent;
        }
        (hasher.finish(), names)
    }
}

/// Every identifier written in a summary, hashed, sorted, deduplicated.
fn file_tokens(summary: &Summary) -> Vec<u64> {
    let mut all = Vec::new();
    for item in &summary.items {
        push_tokens(&item.name, &mut all);
        push_tokens(&item.signature, &mut all);
        push_tokens(&item.impl_type, &mut all);
        push_tokens(&item.impl_trait, &mut all);
    }
    for import in &summary.imports {
        for segment in &import.path {
            push_tokens(segment, &mut all);
        }
        if let Some(alias) = &import.alias {
            push_tokens(alias, &mut all);
        }
    }
    for typed in summary.typed_locals.iter().chain(&summary.fields) {
        push_tokens(&typed.name, &mut all);
        push_tokens(&typed.type_text, &mut all);
        push_tokens(&typed.iterable, &mut all);
    }
    for call in &summary.calls {
        push_tokens(&call.text, &mut all);
        push_tokens(&call.receiver, &mut all);
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// `impl<T: Bound> Trait for T`: the self type is one of the impl's own
/// generic parameters, so the trait's methods reach types the name test
/// cannot follow.
fn is_blanket(signature: &str, impl_type: &str) -> bool {
    let Some(rest) = signature.trim_start().strip_prefix("impl") else {
        return false;
    };
    let Some(rest) = rest.trim_start().strip_prefix('<') else {
        return false;
    };
    // The generic parameter list, up to its closing '>' at depth 0.
    let mut depth = 0usize;
    let mut end = rest.len();
    let mut previous = ' ';
    for (at, c) in rest.char_indices() {
        match c {
            // `->` in an `Fn(..) -> T` bound closes nothing.
            '>' if previous == '-' => {}
            '<' | '(' => depth += 1,
            '>' | ')' if depth > 0 => depth -= 1,
            '>' => {
                end = at;
                break;
            }
            _ => {}
        }
        previous = c;
    }
    // The self type's one identifier, lifetimes, `&`, `mut` and `dyn`
    // aside (`&'a mut T` is `T`).
    let mut words = impl_type
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\''))
        .filter(|w| !w.is_empty() && !w.starts_with('\'') && !matches!(*w, "mut" | "dyn"));
    let (Some(self_type), None) = (words.next(), words.next()) else {
        return false;
    };
    rest[..end].split(',').any(|param| {
        let name = param.split(':').next().unwrap_or("").trim();
        !name.is_empty() && name == self_type
    })
}

/// Which of `members` (indices into `files`) must be resolved again:
/// `None` when every one must (no cache for this file set, or a change
/// the name test cannot follow).
pub(super) fn dirty_files(
    cache: &CallCache,
    files: &[FileView],
    members: &[u32],
    decls: &[Arc<Decls>],
    changed: &FxHashSet<&str>,
) -> Option<Vec<bool>> {
    if !crate::resolve::cache_holds_exactly(&cache.files, files, members) {
        return None;
    }
    let mut changed_names: FxHashSet<u64> = FxHashSet::default();
    let mut impl_traits: Vec<u64> = Vec::new();
    for (position, member) in members.iter().enumerate() {
        let path = files[*member as usize].path;
        if !changed.contains(path) {
            continue;
        }
        let old = &cache.files.get(path)?.decls;
        let new = &decls[position];
        if old.structural != new.structural {
            return None;
        }
        if old.sequence == new.sequence {
            continue;
        }
        let differing = differing_entries(&old.entries, &new.entries);
        if differing.is_empty() {
            // Only reordered: the first of several may be what binds.
            return None;
        }
        for decl in differing {
            changed_names.extend(&decl.names);
            impl_traits.extend(&decl.impl_trait);
        }
    }
    // An impl of a trait added or removed brings or takes the trait's
    // default methods: their names changed meaning.
    if !impl_traits.is_empty() {
        let traits: FxHashSet<u64> = impl_traits.into_iter().collect();
        for member in members {
            let summary = files[*member as usize].summary;
            for item in &summary.items {
                let in_trait = item
                    .parent
                    .and_then(|p| summary.items.get(p as usize))
                    .is_some_and(|p| {
                        p.kind == ItemKind::Trait && traits.contains(&hash_of(&*p.name))
                    });
                if in_trait {
                    changed_names.extend(tokens(&item.name));
                }
            }
        }
    }
    if changed_names.is_empty() {
        return Some(
            members
                .iter()
                .map(|m| changed.contains(files[*m as usize].path))
                .collect(),
        );
    }
    // Closed over every declaration that mentions a changed name.
    loop {
        let before = changed_names.len();
        for file in decls {
            for decl in &file.entries {
                if decl.mentions.iter().any(|t| changed_names.contains(t))
                    && !decl.names.iter().all(|n| changed_names.contains(n))
                {
                    changed_names.extend(&decl.names);
                }
            }
        }
        if changed_names.len() == before {
            break;
        }
    }
    Some(
        members
            .iter()
            .enumerate()
            .map(|(position, m)| {
                changed.contains(files[*m as usize].path)
                    || decls[position]
                        .tokens
                        .iter()
                        .any(|t| changed_names.contains(t))
            })
            .collect(),
    )
}

/// Entries of `old` and `new` (both sorted by key) not matched one for
/// one in the other.
fn differing_entries<'d>(old: &'d [Decl], new: &'d [Decl]) -> Vec<&'d Decl> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a.key == b.key => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.key < b.key => {
                out.push(a);
                i += 1;
            }
            (Some(_), Some(b)) => {
                out.push(b);
                j += 1;
            }
            (Some(a), None) => {
                out.push(a);
                i += 1;
            }
            (None, Some(b)) => {
                out.push(b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanket_impls_are_told_from_generic_ones() {
        assert!(is_blanket("impl<T: Iterator> Ext for T", "T"));
        assert!(is_blanket(
            "impl<'a, T: ?Sized + Fn(u8) -> u8> Ext for &'a T",
            "&'a T"
        ));
        assert!(is_blanket("impl<T> Ext for &T", "&T"));
        assert!(!is_blanket("impl<T> Ext for Vec<T>", "Vec"));
        assert!(!is_blanket("impl Table", "Table"));
    }

    #[test]
    fn entries_differ_as_multisets() {
        let decl = |key| Decl {
            key,
            names: vec![key],
            mentions: Vec::new(),
            impl_trait: Vec::new(),
        };
        let old = [decl(1), decl(2), decl(2), decl(5)];
        let new = [decl(2), decl(3), decl(5)];
        let keys: Vec<u64> = differing_entries(&old, &new)
            .iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, vec![1, 2, 3]);
    }
}
