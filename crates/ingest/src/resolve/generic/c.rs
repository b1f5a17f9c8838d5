//! C: what a bare call `f(..)` sees through `#include`. Without a
//! preprocessor run, the files a translation unit reads are its
//! `#include`s resolved against the tree (`include_targets`), followed
//! transitively (`visible`); the name then binds, in this order, to
//!
//! 1. a definition in the caller's own file (`module`);
//! 2. a definition in a file it includes: a header's `static inline`
//!    function or function-like macro, an included `.c` file (`include`);
//! 3. when a visible file declares a prototype of `f`: the one non-static
//!    definition of `f` in the tree, or of several the one whose own file
//!    sees a header the caller sees declaring it (`include_declared`);
//! 4. otherwise the one non-static function of that name in the tree
//!    (`unique_function`).
//!
//! A name an object-like macro the caller sees defines (`#define zmemcpy
//! memcpy`) is renamed before any of 3 and 4: external.
//! A `static` function is never a candidate outside the files that see
//! it. A function-like macro beats a function of the same name (the
//! preprocessor expands it first); several definitions of one name in one
//! file are `#if` alternatives of one binding, reported at the first.
//! Names no C item of the tree has are external (see `crate::stubs`).

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::Index;
use super::modules::{dir_of, join_relative};
use super::names::name_key;
use crate::resolve::{ItemRef, Outcome, Rule, item_of};
use crate::summary::{CallRef, ItemKind};

/// Most files one translation unit is taken to see through its includes
/// (the Linux kernel's largest closures are a few thousand headers).
pub(super) const MAX_VISIBLE_FILES: usize = 8192;
/// Most files one `#include` may name when several include directories
/// hold the spec (`<asm/io.h>` in each `arch/*/include`): alternatives
/// of one configuration, all visible.
pub(super) const MAX_INCLUDE_ALTERNATIVES: usize = 32;
/// Most include closures of definitions' files kept while narrowing
/// prototypes' candidates (each is up to `MAX_VISIBLE_FILES` entries).
const MAX_CACHED_CLOSURES: usize = 256;

type Closure = Rc<FxHashSet<u32>>;

/// The C tables by path, built once per resolution (the tables by name
/// are in `names.rs`). Keys borrow the paths.
#[derive(Default)]
pub(super) struct CIndex<'a> {
    /// Headers under an include directory (a directory named `include`,
    /// or its `uapi`), by the path below it: (include directory, whether
    /// it is that directory's `uapi`, file).
    headers: FxHashMap<&'a str, Vec<(&'a str, bool, u32)>>,
    /// Each file's `#include`s, resolved in the tree (kept between
    /// ingests with the name tables, see `incremental.rs`).
    pub(super) includes: FxHashMap<u32, Vec<u32>>,
    /// The caller file's closure (the file being resolved).
    current: RefCell<Option<(u32, Closure)>>,
    /// Closures of definitions' files, for narrowing by prototype.
    closures: RefCell<FxHashMap<u32, Closure>>,
}

/// `static` among the words before the name: file scope.
pub(super) fn is_static(signature: &str, name: &str) -> bool {
    let head = match signature.find(&format!("{name}(")) {
        Some(at) => &signature[..at],
        None => signature,
    };
    head.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "static")
}

/// The include directories above a path, and the path below each.
fn include_keys(path: &str) -> impl Iterator<Item = (&str, &str)> {
    path.match_indices("include/").filter_map(move |(at, _)| {
        let boundary = at == 0 || path[..at].ends_with('/');
        boundary.then(|| {
            (
                &path[..at + "include".len()],
                &path[at + "include/".len()..],
            )
        })
    })
}

impl<'a> Index<'a> {
    /// Builds the C tables over `members` (after `by_path`): the headers
    /// by include path, and unless `includes` (each file's resolved
    /// `#include`s, from an earlier resolution of the same files) is
    /// given, the includes.
    pub(super) fn build_c(&mut self, members: &[u32], includes: Option<FxHashMap<u32, Vec<u32>>>) {
        let mut c = CIndex::default();
        for file in members {
            let view = &self.files[*file as usize];
            for (root, below) in include_keys(view.path) {
                c.headers
                    .entry(below)
                    .or_default()
                    .push((root, false, *file));
                if let Some(rest) = below.strip_prefix("uapi/") {
                    c.headers.entry(rest).or_default().push((root, true, *file));
                }
            }
        }
        self.c = c;
        if let Some(includes) = includes {
            self.c.includes = includes;
            return;
        }
        let mut includes = FxHashMap::default();
        for file in members {
            let view = &self.files[*file as usize];
            let mut targets: Vec<u32> = view
                .summary
                .imports
                .iter()
                .filter_map(|import| import.path.first())
                .flat_map(|spec| self.include_targets(view.path, spec))
                .filter(|target| target != file)
                .collect();
            targets.sort_unstable();
            targets.dedup();
            includes.insert(*file, targets);
        }
        self.c.includes = includes;
    }

    /// The files `#include SPEC` in `from` reads: beside `from` (quoted
    /// form), the tree root, the nearest include directory above `from`
    /// (`include/`, `arch/x86/include/` for a file under `arch/x86`), or
    /// else every include directory holding it.
    pub(super) fn include_targets(&self, from: &str, spec: &str) -> Vec<u32> {
        let (quoted, path) = match spec.strip_prefix('<') {
            Some(rest) => (false, rest.trim_end_matches('>')),
            None => (true, spec.trim_matches('"')),
        };
        if quoted && let Some(file) = self.by_path.get(join_relative(dir_of(from), path).as_str()) {
            return vec![*file];
        }
        if let Some(file) = self.by_path.get(path) {
            return vec![*file];
        }
        let Some(found) = self.c.headers.get(path) else {
            return Vec::new();
        };
        // The include directory whose project contains `from`, deepest first.
        let nearest = found
            .iter()
            .filter(|(root, _, _)| {
                let project = dir_of(root);
                project.is_empty()
                    || from
                        .strip_prefix(project)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            // A `uapi` directory is deeper than the `include` it is in.
            .max_by_key(|(root, uapi, _)| root.len() + if *uapi { "/uapi".len() } else { 0 });
        match nearest {
            Some((_, _, file)) => vec![*file],
            None => {
                let mut all: Vec<u32> = found.iter().map(|(_, _, file)| *file).collect();
                all.sort_unstable();
                all.dedup();
                all.truncate(MAX_INCLUDE_ALTERNATIVES);
                all
            }
        }
    }

    /// Every file `file` reads through its includes, itself included.
    fn closure_of(&self, file: u32) -> FxHashSet<u32> {
        let mut seen = FxHashSet::default();
        seen.insert(file);
        let mut queue = vec![file];
        while let Some(next) = queue.pop() {
            for target in self.c.includes.get(&next).into_iter().flatten() {
                if seen.len() >= MAX_VISIBLE_FILES {
                    return seen;
                }
                if seen.insert(*target) {
                    queue.push(*target);
                }
            }
        }
        seen
    }

    /// The caller file's closure, computed once while its calls resolve.
    fn visible(&self, file: u32) -> Closure {
        let mut current = self.c.current.borrow_mut();
        match &*current {
            Some((at, closure)) if *at == file => closure.clone(),
            _ => {
                let closure = Rc::new(self.closure_of(file));
                *current = Some((file, closure.clone()));
                closure
            }
        }
    }

    fn cached_closure(&self, file: u32) -> Closure {
        if let Some(found) = self.c.closures.borrow().get(&file) {
            return found.clone();
        }
        let closure = Rc::new(self.closure_of(file));
        let mut cache = self.c.closures.borrow_mut();
        if cache.len() >= MAX_CACHED_CLOSURES {
            cache.clear();
        }
        cache.insert(file, closure.clone());
        closure
    }

    /// True when no C item of the tree has this name: a call of it is a
    /// call of a function outside the tree.
    pub(super) fn c_outside(&self, name: &str) -> bool {
        !self.names.c_names.contains_key(&name_key(name))
    }

    /// A bare call in a C file (see the module comment).
    pub(super) fn c_call(&self, file: u32, call: &CallRef) -> Outcome {
        let key = name_key(&call.text);
        let defs: &[ItemRef] = self
            .names
            .c_defs
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let own: Vec<ItemRef> = defs.iter().copied().filter(|d| d.file == file).collect();
        if let Some(outcome) = self.c_settle(&own, Rule::Module) {
            return outcome;
        }
        let visible = self.visible(file);
        let seen: Vec<ItemRef> = defs
            .iter()
            .copied()
            .filter(|d| visible.contains(&d.file))
            .collect();
        if let Some(outcome) = self.c_settle(&seen, Rule::Include) {
            return outcome;
        }
        // `#define zmemcpy memcpy` where the caller sees it: the
        // preprocessor renames the call before any function of that name
        // is looked up (zlib defines `zmemcpy` in zutil.c only for builds
        // without `memcpy`).
        let renamed = self
            .names
            .c_object_macros
            .get(&key)
            .is_some_and(|files| files.iter().any(|f| *f == file || visible.contains(f)));
        if renamed {
            return Outcome::External;
        }
        let globals: Vec<ItemRef> = defs
            .iter()
            .copied()
            .filter(|d| {
                let item = item_of(self.files, *d);
                item.kind == ItemKind::Function && !is_static(&item.signature, &item.name)
            })
            .collect();
        let declaring: Vec<u32> = self
            .names
            .c_declared_in
            .get(&key)
            .into_iter()
            .flatten()
            .copied()
            .filter(|f| visible.contains(f))
            .collect();
        if globals.len() > 1 && !declaring.is_empty() {
            // Of several definitions, the ones whose file sees a header
            // the caller sees declaring the name.
            let narrowed: Vec<ItemRef> = globals
                .iter()
                .copied()
                .filter(|d| {
                    let theirs = self.cached_closure(d.file);
                    declaring.iter().any(|f| theirs.contains(f))
                })
                .collect();
            if narrowed.len() == 1 {
                return Outcome::Resolved(narrowed[0], Rule::IncludeDeclared);
            }
        }
        let rule = if declaring.is_empty() {
            Rule::UniqueFunction
        } else {
            Rule::IncludeDeclared
        };
        match globals.len() {
            // Only `static` definitions the caller cannot see: a function
            // outside the tree that shares a file-local helper's name.
            0 => Outcome::External,
            1 => Outcome::Resolved(globals[0], rule),
            _ => Outcome::Ambiguous(globals),
        }
    }

    /// One binding among definitions one scope sees: a function-like
    /// macro before functions; several in one file are `#if`
    /// alternatives, the first reported. `None` when there are none.
    fn c_settle(&self, found: &[ItemRef], rule: Rule) -> Option<Outcome> {
        let macros: Vec<ItemRef> = found
            .iter()
            .copied()
            .filter(|d| item_of(self.files, *d).kind == ItemKind::Macro)
            .collect();
        let mut found = if macros.is_empty() {
            found.to_vec()
        } else {
            macros
        };
        found.sort_unstable();
        found.dedup();
        let first = *found.first()?;
        if found.iter().all(|d| d.file == first.file) {
            return Some(Outcome::Resolved(first, rule));
        }
        Some(Outcome::Ambiguous(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_is_a_word_before_the_name() {
        assert!(is_static("static inline int f(void)", "f"));
        assert!(is_static("static void *__f(int x)", "__f"));
        assert!(!is_static("int f(int static_x)", "f"));
        assert!(!is_static("int statically(void)", "statically"));
    }

    #[test]
    fn include_directories_are_found_at_segment_boundaries() {
        let keys: Vec<_> = include_keys("arch/x86/include/asm/io.h").collect();
        assert_eq!(keys, vec![("arch/x86/include", "asm/io.h")]);
        let keys: Vec<_> = include_keys("include/linux/slab.h").collect();
        assert_eq!(keys, vec![("include", "linux/slab.h")]);
        assert_eq!(include_keys("src/myinclude/x.h").count(), 0);
    }
}
