//! Which C files an ingest resolves again, and the per-file results it
//! keeps for the others ([`CCache`]).
//!
//! A C file's resolution (its `#include` edges, its calls and the stubs
//! they reach) is a function of its own summary, of the tree's file paths,
//! of every file's `#include`s (what each translation unit sees), and,
//! per called name, of the top-level items and prototypes of that name
//! (definitions, `static`, function-like or object-like macro) across the
//! tree (see `c.rs`). No other file's signature, field or body is read.
//! So after an edit that keeps the set of files and every edited file's
//! `#include`s, a file other than the edited ones can resolve differently
//! only if one of its calls writes a name whose declarations changed:
//! added, removed, changed (signature, `static`, compiled out) or
//! reordered among the declarations of that name in an edited file.
//! Such files are resolved again; the others keep their cached result.
//! Anything else (a file added, removed or renamed, an `#include` added,
//! removed or moved) resolves every file. Names are compared as 64-bit
//! hashes: a collision only resolves a file again.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use super::names::NameTables;
use crate::language::Language;
use crate::resolve::{FileView, Resolution};
use crate::summary::Summary;

/// Per-file C resolution kept between ingests, with the declarations it
/// was computed against, and the tables it was computed with.
#[derive(Debug, Default)]
pub struct CCache {
    files: FxHashMap<String, CachedFile>,
    /// The last resolution's tables, over the C files at these positions
    /// among all files.
    tables: Option<(Vec<u32>, Tables)>,
    /// The summaries those tables were built from, of the C files whose
    /// summary was replaced since, by path.
    replaced: FxHashMap<String, Summary>,
    /// The C files the last resolution resolved again; `None` when it
    /// resolved every one.
    again: Option<FxHashSet<String>>,
    /// Keep no results or tables for a next resolution.
    pub(crate) discard: bool,
}

/// The tables of a C resolution that a later one can patch instead of
/// building them again: the tables by name, and each file's resolved
/// `#include`s (which depend only on the tree's paths and the file's own
/// `#include`s).
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub(super) names: NameTables,
    pub(super) includes: FxHashMap<u32, Vec<u32>>,
}

/// Which files a C resolution resolves again: `dirty` per member, `None`
/// for every one; `new_decls` holds the declarations of the edited files.
pub(super) struct Plan<'a> {
    pub(super) new_decls: FxHashMap<&'a str, CDecls>,
    pub(super) dirty: Option<Vec<bool>>,
}

/// One C file's cached result.
#[derive(Debug)]
pub(super) struct CachedFile {
    /// What other files see of it.
    pub(super) decls: CDecls,
    /// Its resolution.
    pub(super) part: Resolution,
    /// The identifiers of its calls' text and receivers, hashed, sorted,
    /// once each: what `dirty_files` checks changed names against (each
    /// call tokenized on every edit cost 0.4 s on the Linux tree).
    pub(super) call_tokens: Box<[u64]>,
}

impl CachedFile {
    /// Whether a call of this file writes one of `names`.
    fn mentions(&self, names: &FxHashSet<u64>) -> bool {
        let tokens = &self.call_tokens;
        if names.len().saturating_mul(8) < tokens.len() {
            names.iter().any(|name| tokens.binary_search(name).is_ok())
        } else {
            tokens.iter().any(|token| names.contains(token))
        }
    }
}

/// The hashed identifiers of `summary`'s calls (see
/// [`CachedFile::call_tokens`]).
pub(super) fn call_tokens(summary: &Summary) -> Box<[u64]> {
    let mut tokens = Vec::new();
    for call in &summary.calls {
        for text in [&call.text, &call.receiver] {
            any_token(text, |token| {
                tokens.push(token);
                false
            });
        }
    }
    tokens.sort_unstable();
    tokens.dedup();
    tokens.into_boxed_slice()
}

impl CCache {
    /// True when results are kept for a next resolution.
    pub(super) fn keeps(&self) -> bool {
        !self.discard
    }

    /// The cached result of `path`, to read or update in place.
    pub(super) fn get_mut(&mut self, path: &str) -> Option<&mut CachedFile> {
        self.files.get_mut(path)
    }

    /// Adds the result of `path`.
    pub(super) fn insert(&mut self, path: &str, cached: CachedFile) {
        self.files.insert(path.to_string(), cached);
    }

    /// Replaces the whole cache with these per-file results.
    pub(super) fn store(&mut self, files: FxHashMap<String, CachedFile>) {
        if self.discard {
            self.files.clear();
            return;
        }
        self.files = files;
    }

    /// Forgets every file (no C file left).
    pub(crate) fn clear(&mut self) {
        self.files.clear();
        self.tables = None;
        self.replaced.clear();
        self.again = Some(FxHashSet::default());
    }

    /// The C files whose results the last resolution computed again
    /// (the others kept their cached results); `None`: every C file.
    pub(crate) fn resolved_again(&self) -> Option<&FxHashSet<String>> {
        self.again.as_ref()
    }

    /// Records which files a resolution computed again.
    pub(super) fn note_again(&mut self, again: Option<FxHashSet<String>>) {
        self.again = again;
    }

    /// Notes that the summary of the C file `path` is being replaced by a
    /// new one: the kept tables hold entries of the first summary replaced
    /// since they were built, which a patch takes out.
    pub(crate) fn note_replaced(&mut self, path: &str, summary: Summary) {
        if self.tables.is_some() && !self.replaced.contains_key(path) {
            self.replaced.insert(path.to_string(), summary);
        }
    }

    /// The kept tables, patched to the summaries of `files`, when they
    /// were built over `members` at the same positions (same file set)
    /// and every replaced summary's file is still there.
    pub(super) fn take_tables(&mut self, files: &[FileView], members: &[u32]) -> Option<Tables> {
        let replaced = std::mem::take(&mut self.replaced);
        let (positions, mut tables) = self.tables.take()?;
        if positions != members {
            return None;
        }
        for (path, old) in &replaced {
            // Members are in path order, as `files` is.
            let at = members
                .binary_search_by(|m| files[*m as usize].path.cmp(path.as_str()))
                .ok()?;
            let (file, view) = (members[at], &files[members[at] as usize]);
            // A C file is its own module.
            let names = &mut tables.names;
            names.remove_file(Language::C, view.path, file, old);
            names.add_file(Language::C, view.path, file, view.summary, true);
        }
        Some(tables)
    }

    /// Keeps the tables of a resolution of `members` for the next one.
    pub(super) fn keep_tables(&mut self, members: &[u32], tables: Tables) {
        self.replaced.clear();
        if !self.discard {
            self.tables = Some((members.to_vec(), tables));
        }
    }
}

/// What other C files can see of one file, reduced to hashes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CDecls {
    /// The `#include`s in file order.
    includes: u64,
    /// (name, declaration) of every item and prototype, in file order
    /// within each name, sorted by name.
    entries: Vec<(u64, u64)>,
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Calls `each` with the hash of every identifier (`[A-Za-z0-9_]+` run) of
/// `text`, until it returns true.
fn any_token(text: &str, mut each: impl FnMut(u64) -> bool) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .any(|word| each(hash_of(word)))
}

impl CDecls {
    /// The declarations of a C file's summary.
    pub fn of(summary: &Summary) -> Self {
        let mut entries = Vec::with_capacity(summary.items.len() + summary.module_decls.len());
        for item in &summary.items {
            let parent = item
                .parent
                .and_then(|p| summary.items.get(p as usize))
                .map(|p| (p.kind, &p.name));
            let key = hash_of(&(
                "item",
                parent,
                item.kind,
                &item.name,
                &item.signature,
                &item.impl_type,
                &item.impl_trait,
                item.compiled_out,
            ));
            any_token(&item.name, |name| {
                entries.push((name, key));
                false
            });
        }
        for name in &summary.module_decls {
            let key = hash_of(&("prototype", name));
            any_token(name, |token| {
                entries.push((token, key));
                false
            });
        }
        // Stable: each name's declarations stay in file order (the first of
        // several is the one that binds).
        entries.sort_by_key(|(name, _)| *name);
        let mut includes = FxHasher::default();
        for import in &summary.imports {
            (&import.path, &import.alias, import.glob, import.scope).hash(&mut includes);
        }
        summary.imports.len().hash(&mut includes);
        Self {
            includes: includes.finish(),
            entries,
        }
    }
}

/// Names whose declarations differ between `old` and `new` (each sorted by
/// name, file order within a name), as sequences.
fn changed_names(old: &[(u64, u64)], new: &[(u64, u64)], out: &mut FxHashSet<u64>) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let name = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.0.min(b.0),
            (Some(a), None) => a.0,
            (None, Some(b)) => b.0,
            (None, None) => break,
        };
        let run = |list: &[(u64, u64)], from: usize| {
            let len = list[from..].iter().take_while(|(n, _)| *n == name).count();
            from + len
        };
        let (i_end, j_end) = (run(old, i), run(new, j));
        let same = old[i..i_end]
            .iter()
            .map(|(_, key)| key)
            .eq(new[j..j_end].iter().map(|(_, key)| key));
        if !same {
            out.insert(name);
        }
        (i, j) = (i_end, j_end);
    }
}

/// The plan of a C resolution of `members`: the edited files'
/// declarations (every file's when `changed` is `None`), and which files
/// `dirty_files` says must be resolved again.
pub(super) fn plan<'a>(
    cache: &CCache,
    files: &[FileView<'a>],
    members: &[u32],
    changed: Option<&FxHashSet<&str>>,
) -> Plan<'a> {
    // Declarations of the files not edited are the cached ones (their
    // summaries are the ones the cache saw); the edited files' are new.
    let edited = |path: &str| changed.is_none_or(|changed| changed.contains(path));
    let new_decls: FxHashMap<&'a str, CDecls> = members
        .iter()
        .map(|m| &files[*m as usize])
        .filter(|view| edited(view.path))
        .map(|view| (view.path, CDecls::of(view.summary)))
        .collect();
    let dirty = changed.and_then(|changed| dirty_files(cache, files, members, &new_decls, changed));
    Plan { new_decls, dirty }
}

/// Which of `members` must be resolved again: `None` when every one must
/// (no cache for this file set, or an `#include` changed). `new_decls`
/// holds the declarations of the files in `changed`, the files whose
/// content changed since the cache was filled.
pub(super) fn dirty_files(
    cache: &CCache,
    files: &[FileView],
    members: &[u32],
    new_decls: &FxHashMap<&str, CDecls>,
    changed: &FxHashSet<&str>,
) -> Option<Vec<bool>> {
    if !crate::resolve::cache_holds_exactly(&cache.files, files, members) {
        return None;
    }
    let mut names: FxHashSet<u64> = FxHashSet::default();
    for (path, new) in new_decls {
        let old = &cache.files.get(*path)?.decls;
        if old.includes != new.includes {
            return None;
        }
        changed_names(&old.entries, &new.entries, &mut names);
    }
    Some(
        members
            .iter()
            .map(|m| {
                let view = &files[*m as usize];
                changed.contains(view.path)
                    || (!names.is_empty()
                        && cache
                            .files
                            .get(view.path)
                            .is_none_or(|cached| cached.mentions(&names)))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(old: &[(u64, u64)], new: &[(u64, u64)]) -> Vec<u64> {
        let mut out = FxHashSet::default();
        changed_names(old, new, &mut out);
        let mut names: Vec<u64> = out.into_iter().collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn names_change_when_their_declarations_differ_or_move() {
        let old = [(1, 10), (2, 20), (2, 21), (4, 40)];
        // Same declarations: nothing changed.
        assert!(names_of(&old, &old).is_empty());
        // 2's two declarations swapped (the first binds), 3 added, 4 gone.
        let new = [(1, 10), (2, 21), (2, 20), (3, 30)];
        assert_eq!(names_of(&old, &new), vec![2, 3, 4]);
        // 1's declaration changed.
        assert_eq!(names_of(&[(1, 10)], &[(1, 11)]), vec![1]);
    }
}
