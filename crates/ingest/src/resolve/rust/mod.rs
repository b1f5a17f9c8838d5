//! Rust name resolution, the four layers of rust-analyzer kept small:
//! per-file item summaries (input), per-module scopes that keep declared
//! items apart from imports, a memoised import lookup capped at
//! `MAX_IMPORT_HOPS` (re-exports, aliases, globs, `crate::`/`super::`/
//! `self::`), and a resolver that walks the caller's scopes: nested items
//! -> function-local `use` -> module -> imports -> globs -> a name unique
//! in the crate. Macros, `cfg` and trait resolution on types are left out;
//! what cannot be settled is counted, never guessed.
//!
//! One file per layer, as rust-analyzer layers it:
//! * `index.rs`: the module tree, declared items and where each import is
//!   scoped (built once from the summaries).
//! * `imports.rs`: name lookup in a module and `use` path resolution.
//! * `impls.rs`: impl blocks settled to their type and trait, methods by
//!   owner.
//! * `calls.rs`: path calls and method calls through the caller's scopes.
//! * `receivers.rs`: the type of a method call's receiver (typed locals,
//!   fields, generic bounds) and the text rules that read type names.

mod alias_params;
mod assoc_types;
mod calls;
mod elements;
mod impls;
mod imports;
pub(crate) mod incremental;
mod index;
mod receivers;

use std::cell::RefCell;
use std::sync::Arc;

use kausal_storage::BlockId;
use rustc_hash::{FxHashMap, FxHashSet};

use self::incremental::{CallCache, Decls};
use super::{FileView, ItemRef, Outcome, Resolution};

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
    /// The impls of each type (the inverse of `impl_type`), in file order.
    type_impls: FxHashMap<ItemRef, Vec<ItemRef>>,
    impl_trait: FxHashMap<ItemRef, ItemRef>,
    type_traits: FxHashMap<ItemRef, Vec<ItemRef>>,
    /// `type NAME = ..;` of trait impls, by NAME (see `assoc_types.rs`).
    impl_assoc_types: FxHashMap<String, Vec<ItemRef>>,
    /// Traits with a blanket impl (`impl<T: Iterator> Ext for T`): their
    /// methods extend types of other crates wherever the trait is in scope.
    blanket_traits: Vec<ItemRef>,
    /// Per crate: free functions and methods by name.
    free_fns: Vec<FxHashMap<String, Vec<ItemRef>>>,
    methods: Vec<FxHashMap<String, Vec<ItemRef>>>,
    /// Per crate: the methods an unknown receiver may resolve to by a
    /// unique name (see `COMMON_STD_METHODS` and `resolve_impls`).
    unique_candidates: Vec<FxHashMap<String, Vec<ItemRef>>>,
    // The memos below are per thread (`PerThread`): calls are resolved on
    // several threads, each memoising what it looked up. A memo only
    // caches complete results, so what a thread finds does not depend on
    // what it looked up before (nor on the thread).
    /// Lookup results per module and name (nested so a lookup by `&str`
    /// allocates nothing).
    memo: PerThread<FxHashMap<ModId, FxHashMap<String, Vec<Target>>>>,
    /// Outcome of each call (file, index), so a chain `a.b().c()` resolves
    /// `a.b()` once.
    call_memo: PerThread<FxHashMap<(u32, u32), Outcome>>,
    /// `resolve_type` per module and type text (cleared with `memo`).
    type_memo: PerThread<FxHashMap<ModId, FxHashMap<String, Option<ItemRef>>>>,
    /// `extern_crate_roots` per (crate, name).
    extern_memo: PerThread<FxHashMap<(u32, String), Vec<ModId>>>,
    in_progress: PerThread<FxHashSet<(ModId, String)>>,
    /// `library_of` per crate, found once.
    libraries: Vec<Option<u32>>,
    /// Lookups cut short by a cycle or `MAX_IMPORT_HOPS` so far: a lookup
    /// that saw this grow is not memoised.
    cut_short: thread_local::ThreadLocal<std::cell::Cell<u64>>,
}

impl Index<'_> {
    /// This thread's count of lookups cut short (see `cut_short`).
    fn cut_short_count(&self) -> &std::cell::Cell<u64> {
        self.cut_short.get_or_default()
    }
}

/// A value each thread has its own copy of, borrowed like a `RefCell`.
type PerThread<T> = thread_local::ThreadLocal<RefCell<T>>;

pub(super) fn resolve_rust(
    files: &[FileView],
    members: &[u32],
    threads: usize,
    out: &mut Resolution,
    cache: &mut CallCache,
    changed: Option<&FxHashSet<&str>>,
) {
    if members.is_empty() {
        cache.clear_rust();
        return;
    }
    let mut index = Index::build(files, members, out);
    index.resolve_impls(out);
    // Which files' calls to resolve again (see `incremental.rs`); the
    // declarations of unchanged files are kept with them, so this reads
    // only the edited files' summaries.
    let dirty = changed.and_then(|changed| {
        let decls: Vec<Arc<Decls>> = members
            .iter()
            .map(|m| files[*m as usize].rust_decls().clone())
            .collect();
        incremental::dirty_files(cache, files, members, &decls, changed)
    });
    let to_resolve: Vec<u32> = match &dirty {
        Some(dirty) => members
            .iter()
            .zip(dirty)
            .filter(|(_, again)| **again)
            .map(|(m, _)| *m)
            .collect(),
        None => members.to_vec(),
    };
    let chunks = call_chunks(files, &to_resolve, threads);
    // Each chunk is a run of files resolved on its own thread, each file
    // into its own `Resolution` (kept for the next ingest).
    let resolve_chunk = |chunk: &[u32]| -> Vec<(u32, Resolution)> {
        chunk
            .iter()
            .map(|file| {
                let part = resolve_file_calls(&index, *file);
                // Built here, on this chunk's thread, for the cache.
                files[*file as usize].rust_decls();
                (*file, part)
            })
            .collect()
    };
    let fresh: Vec<(u32, Resolution)> = if chunks.len() <= 1 {
        resolve_chunk(&to_resolve)
    } else {
        std::thread::scope(|scope| {
            let resolve_chunk = &resolve_chunk;
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| scope.spawn(move || resolve_chunk(chunk)))
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    // Merged in file order, fresh or cached, the result is the one
    // sequential pass over every file would give.
    let mut fresh: FxHashMap<u32, Resolution> = fresh.into_iter().collect();
    let mut kept = FxHashMap::default();
    for member in members {
        let view = &files[*member as usize];
        let part = match fresh.remove(member) {
            Some(part) => part,
            None => {
                let Some(mut part) = cache.take(view.path) else {
                    // `dirty_files` checked every member is cached.
                    continue;
                };
                // The file's position among all files may have moved.
                for record in &mut part.provenance {
                    record.file = *member;
                }
                part
            }
        };
        out.merge(&part);
        kept.insert(view.path.to_string(), (view.rust_decls().clone(), part));
    }
    cache.store(kept);
}

/// The imports and calls of `file`, resolved in order.
///
/// Imports are resolved with the calls, and cached with them: what a
/// file's `use` paths reach can change only when a name it writes changed
/// meaning, the test `incremental::dirty_files` applies to its calls, so
/// an edit resolves again the imports of the files it resolves the calls
/// of, not every file's.
fn resolve_file_calls(index: &Index, file: u32) -> Resolution {
    let files = index.files;
    let mut out = Resolution::default();
    index.resolve_imports(file, &mut out);
    for (i, call) in files[file as usize].summary.calls.iter().enumerate() {
        let outcome = index.resolve_call_memo(file, i as u32, 0);
        let source = super::caller_id(files, file, call);
        out.record_call(files, file, call, &outcome, source);
    }
    // Kept sorted in the cache, so `rule_choice::choose` finds this
    // file's run in order on every later resolution.
    out.provenance.sort_unstable();
    out
}

/// Fewest calls worth a thread of their own: below it, starting threads
/// costs more than it saves.
const MIN_CALLS_PER_THREAD: usize = 2_000;

/// `members` split into runs of about equal call counts, one per thread
/// (one run when the tree is small or `threads` is 1).
fn call_chunks<'m>(files: &[FileView], members: &'m [u32], threads: usize) -> Vec<&'m [u32]> {
    let calls = |file: &u32| files[*file as usize].summary.calls.len();
    let total: usize = members.iter().map(calls).sum();
    let threads = threads.min(total / MIN_CALLS_PER_THREAD).max(1);
    if threads == 1 {
        return vec![members];
    }
    let per_thread = total.div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let (mut start, mut acc) = (0, 0);
    for (position, file) in members.iter().enumerate() {
        acc += calls(file);
        if acc >= per_thread && chunks.len() + 1 < threads {
            chunks.push(&members[start..=position]);
            start = position + 1;
            acc = 0;
        }
    }
    if start < members.len() {
        chunks.push(&members[start..]);
    }
    chunks
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
