//! Resolution: from the summaries of every file (sorted by path) to the
//! edge set of the graph. A pure function of the summaries, so incremental
//! and from-scratch ingests produce the same edges. It re-runs on every
//! ingest that changed a file's resolution input, which is what
//! re-resolves calls elsewhere whose target set changed; Rust calls are
//! resolved again only in the files an edit can affect
//! (`rust/incremental.rs`).
//!
//! * `rust/`: module tree, `use` fixpoint, scope-aware call resolution.
//! * `generic/`: file/directory scopes for the other languages.
//! * structural edges (`contains`/`defined_in`) are made here.

mod generic;
pub(crate) mod rule_choice;
mod rust;

use std::borrow::Cow;
use std::collections::BTreeMap;

use kausal_storage::{BlockId, EdgeType, GraphEdge};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::language::Language;
use crate::limits::MAX_REPORTED_CALLS;
use crate::naming::FileNames;
use crate::provenance::CallProvenance;
use crate::summary::{CallKind, CallRef, ItemKind, Summary, TypedName};
pub(crate) use rule_choice::{FileProvenance, Rule};
pub use rust::incremental::CallCache;

/// One file as resolution sees it.
pub struct FileView<'a> {
    pub path: &'a str,
    pub language: Language,
    pub summary: &'a Summary,
    pub names: &'a FileNames,
    /// Lookup tables built from the summary alone: borrowed from the
    /// ingester's state, which keeps them between ingests, or owned.
    derived: Cow<'a, FileDerived>,
}

/// What resolution derives from one file's summary alone, each table
/// built on first use. The ingester keeps it with the file, so an edit
/// rebuilds the edited files' tables, not every file's.
#[derive(Debug, Default, Clone)]
pub struct FileDerived {
    /// Children of each item (slot 0: top level, slot i + 1: item i), so
    /// child lookups are not scans of the file.
    children: std::sync::OnceLock<Vec<Vec<u32>>>,
    /// Typed locals and fields by (scope, name), in file order.
    typed: std::sync::OnceLock<TypedIndex>,
    /// Rust: what other files can read of this one (see
    /// `rust/incremental.rs`).
    rust_decls: std::sync::OnceLock<std::sync::Arc<rust::incremental::Decls>>,
}

/// Indices into `Summary::typed_locals` / `Summary::fields` by scope, then
/// name (owned keys keep `FileView` covariant in its lifetime).
type TypedIndex = (
    FxHashMap<u32, FxHashMap<String, Vec<u32>>>,
    FxHashMap<u32, FxHashMap<String, Vec<u32>>>,
);

impl<'a> FileView<'a> {
    /// A view with its own lookup tables (built for this resolution only).
    #[cfg(test)]
    pub fn new(
        path: &'a str,
        language: Language,
        summary: &'a Summary,
        names: &'a FileNames,
    ) -> Self {
        Self {
            path,
            language,
            summary,
            names,
            derived: Cow::Owned(FileDerived::default()),
        }
    }

    /// A view whose lookup tables live in `derived`, which must have been
    /// built (or be empty) for this same `summary`.
    pub fn with_derived(
        path: &'a str,
        language: Language,
        summary: &'a Summary,
        names: &'a FileNames,
        derived: &'a FileDerived,
    ) -> Self {
        Self {
            path,
            language,
            summary,
            names,
            derived: Cow::Borrowed(derived),
        }
    }

    /// Rust: the file's declarations, as incremental resolution compares
    /// them.
    fn rust_decls(&self) -> &std::sync::Arc<rust::incremental::Decls> {
        self.derived
            .rust_decls
            .get_or_init(|| std::sync::Arc::new(rust::incremental::Decls::of(self.summary)))
    }

    fn typed_index(&self) -> &TypedIndex {
        self.derived.typed.get_or_init(|| {
            let index = |names: &[TypedName]| {
                let mut map: FxHashMap<u32, FxHashMap<String, Vec<u32>>> = FxHashMap::default();
                for (i, t) in names.iter().enumerate() {
                    if let Some(scope) = t.scope {
                        map.entry(scope)
                            .or_default()
                            .entry(t.name.clone())
                            .or_default()
                            .push(i as u32);
                    }
                }
                map
            };
            (
                index(&self.summary.typed_locals),
                index(&self.summary.fields),
            )
        })
    }

    /// The last typed local `name` of function `scope` declared at or
    /// before `line`.
    pub fn typed_local(&self, scope: u32, name: &str, line: u32) -> Option<&'a TypedName> {
        let summary: &'a Summary = self.summary;
        self.typed_index()
            .0
            .get(&scope)?
            .get(name)?
            .iter()
            .map(|i| &summary.typed_locals[*i as usize])
            .rfind(|t| t.line <= line)
    }

    /// The typed local `name` in scope at `line` of `caller`: its own or
    /// that of a callable around it (a closure's or nested function's
    /// enclosing function).
    pub fn typed_local_around(
        &self,
        caller: Option<u32>,
        name: &str,
        line: u32,
    ) -> Option<&'a TypedName> {
        let mut current = caller;
        while let Some(index) = current {
            let item = self.summary.items.get(index as usize)?;
            if item.kind.is_callable()
                && let Some(found) = self.typed_local(index, name, line)
            {
                return Some(found);
            }
            current = item.parent;
        }
        None
    }

    /// Field `name` of struct item `owner`.
    pub fn field(&self, owner: u32, name: &str) -> Option<&'a TypedName> {
        let summary: &'a Summary = self.summary;
        let index = self.typed_index().1.get(&owner)?.get(name)?.first()?;
        summary.fields.get(*index as usize)
    }

    /// Indices of the items whose parent is `parent`, in file order.
    pub fn children_of(&self, parent: Option<u32>) -> &[u32] {
        let slots = self.derived.children.get_or_init(|| {
            let mut slots = vec![Vec::new(); self.summary.items.len() + 1];
            for (index, item) in self.summary.items.iter().enumerate() {
                let slot = item.parent.map_or(0, |p| p as usize + 1);
                if let Some(children) = slots.get_mut(slot) {
                    children.push(index as u32);
                }
            }
            slots
        });
        let slot = parent.map_or(0, |p| p as usize + 1);
        slots.get(slot).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// An item of the project: (file index, item index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemRef {
    pub file: u32,
    pub item: u32,
}

/// How one call was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// One target; `rule` names the resolution step that found it.
    Resolved(ItemRef, Rule),
    /// Several candidates and no rule to choose: no edge.
    Ambiguous(Vec<ItemRef>),
    /// A name from outside the ingested tree (std, another crate, libc).
    External,
    /// A tuple-struct or enum-variant constructor: not a function.
    Constructor,
    /// Not found; the reason says where the search stopped.
    Unresolved(&'static str),
}

/// Call resolution counts over the whole graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Call sites seen in all ingested files.
    pub total: u64,
    /// Calls bound to one block: each made a `calls` or `calls_method` edge.
    pub resolved: u64,
    /// Calls with several candidate targets: no edge (sampled in
    /// `IngestReport::call_samples`).
    pub ambiguous: u64,
    /// Calls into code outside the tree (another crate, std, a module not
    /// ingested): no edge.
    pub external: u64,
    /// Calls with no candidate for a stated reason: no edge (sampled).
    pub unresolved: u64,
    /// Calls through a local binding (closure, parameter): no edge.
    pub local: u64,
    /// Tuple-struct / enum-variant constructors: no edge.
    pub constructor: u64,
    /// Resolved calls by rule (`self_method`, `path`, `module`, ...).
    pub by_rule: BTreeMap<String, u64>,
}

/// An unresolved or ambiguous call, kept for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSample {
    /// Relative path of the calling file.
    pub path: String,
    /// 1-based line of the call.
    pub line: u32,
    /// The call as written: the path (`a::b::f`) or `receiver.method`.
    pub text: String,
    /// `ambiguous: N candidates` or `unresolved: <reason>`.
    pub outcome: String,
}

/// Import counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    /// Imported names seen (a `use` tree counts once per name it binds).
    pub total: u64,
    /// Imports naming a module or item of the tree: each made an
    /// `imports` edge.
    pub resolved: u64,
    /// Imports of code outside the tree: no edge.
    pub external: u64,
    /// Imports pointing into the tree at nothing that exists: no edge.
    pub unresolved: u64,
}

/// Everything resolution produced.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Every edge (unordered, may repeat, but for `resolve` in tests).
    pub edges: Vec<GraphEdge>,
    /// The rule of every `calls` / `calls_method` edge, by calling file
    /// (after `resolve`: sorted, one per edge, see `rule_choice`).
    pub provenance: Vec<FileProvenance>,
    pub calls: CallStats,
    pub imports: ImportStats,
    pub samples: Vec<CallSample>,
    /// Names of functions outside the tree that calls reach as stubs
    /// (after `resolve_incremental`: sorted, without duplicates).
    pub stubs: Vec<(Language, String)>,
}

impl Resolution {
    fn edge(&mut self, source: BlockId, target: BlockId, edge_type: EdgeType) {
        if source != target || edge_type == EdgeType::Calls || edge_type == EdgeType::CallsMethod {
            self.edges.push(GraphEdge::new(source, target, edge_type));
        }
    }

    /// Appends `part`, the resolution of files after this one's (stats
    /// summed, samples kept up to the same cap as one pass would).
    fn merge(&mut self, part: &Resolution) {
        self.edges.extend_from_slice(&part.edges);
        self.provenance.extend_from_slice(&part.provenance);
        self.stubs.extend_from_slice(&part.stubs);
        // Destructured so that a new counter cannot be left out here.
        let CallStats {
            total,
            resolved,
            ambiguous,
            external,
            unresolved,
            local,
            constructor,
            by_rule,
        } = &part.calls;
        let calls = &mut self.calls;
        calls.total += total;
        calls.resolved += resolved;
        calls.ambiguous += ambiguous;
        calls.external += external;
        calls.unresolved += unresolved;
        calls.local += local;
        calls.constructor += constructor;
        for (rule, count) in by_rule {
            match calls.by_rule.get_mut(rule) {
                Some(sum) => *sum += count,
                None => {
                    calls.by_rule.insert(rule.clone(), *count);
                }
            }
        }
        let ImportStats {
            total,
            resolved,
            external,
            unresolved,
        } = &part.imports;
        let imports = &mut self.imports;
        imports.total += total;
        imports.resolved += resolved;
        imports.external += external;
        imports.unresolved += unresolved;
        let room = MAX_REPORTED_CALLS.saturating_sub(self.samples.len());
        self.samples.extend(part.samples.iter().take(room).cloned());
    }

    fn both(&mut self, parent: BlockId, child: BlockId) {
        self.edge(parent, child, EdgeType::Contains);
        self.edge(child, parent, EdgeType::DefinedIn);
    }

    fn record_call(
        &mut self,
        files: &[FileView],
        file: u32,
        call: &CallRef,
        outcome: &Outcome,
        source: BlockId,
    ) {
        self.calls.total += 1;
        let sample = |kind: String| CallSample {
            path: files[file as usize].path.to_string(),
            line: call.line,
            text: if call.kind == CallKind::Method {
                format!("{}.{}", call.receiver, call.text)
            } else {
                call.text.clone()
            },
            outcome: kind,
        };
        match outcome {
            Outcome::Resolved(target, rule) => {
                self.calls.resolved += 1;
                // A `String` key per call was measurable; count by name.
                match self.calls.by_rule.get_mut(rule.name()) {
                    Some(count) => *count += 1,
                    None => {
                        self.calls.by_rule.insert(rule.name().to_string(), 1);
                    }
                }
                let target_id = id_of(files, *target);
                let edge_type = match call.kind {
                    CallKind::Path => EdgeType::Calls,
                    CallKind::Method => EdgeType::CallsMethod,
                };
                let edge = GraphEdge::new(source, target_id, edge_type);
                self.edges.push(edge);
                self.provenance.push(FileProvenance {
                    file,
                    record: CallProvenance {
                        edge,
                        rule: rule.provenance(),
                    },
                });
            }
            Outcome::Ambiguous(candidates) => {
                self.calls.ambiguous += 1;
                if self.samples.len() < MAX_REPORTED_CALLS {
                    self.samples.push(sample(format!(
                        "ambiguous: {} candidates",
                        candidates.len()
                    )));
                }
                // A few candidates are worth showing on request; many are
                // a name, not a lead.
                if candidates.len() <= MAX_CALL_CANDIDATES {
                    for candidate in candidates {
                        self.edge(source, id_of(files, *candidate), EdgeType::CallsCandidate);
                    }
                }
            }
            Outcome::External => self.calls.external += 1,
            Outcome::Constructor => self.calls.constructor += 1,
            Outcome::Unresolved(reason) => {
                self.calls.unresolved += 1;
                if self.samples.len() < MAX_REPORTED_CALLS {
                    self.samples.push(sample(format!("unresolved: {reason}")));
                }
            }
        }
    }
}

impl Resolution {
    /// An external call kept as an edge to the stub of its name (see
    /// `crate::stubs`): counted as external, recorded as `external`.
    fn record_stub(&mut self, file: u32, language: Language, name: &str, source: BlockId) {
        self.calls.total += 1;
        self.calls.external += 1;
        let edge = GraphEdge::new(
            source,
            crate::stubs::stub_id(language, name),
            EdgeType::Calls,
        );
        self.edges.push(edge);
        self.provenance.push(FileProvenance {
            file,
            record: CallProvenance {
                edge,
                rule: Rule::External.provenance(),
            },
        });
        self.stubs.push((language, name.to_string()));
    }
}

/// Most candidates of an ambiguous call stored as `calls_candidate`
/// edges; a call with more is only counted.
pub const MAX_CALL_CANDIDATES: usize = 8;

/// The block id of an item.
pub fn id_of(files: &[FileView], item: ItemRef) -> BlockId {
    files[item.file as usize].names.item_ids[item.item as usize]
}

/// The block a call's edge starts from: its calling item or the file.
fn caller_id(files: &[FileView], file: u32, call: &CallRef) -> BlockId {
    let names = files[file as usize].names;
    call.caller
        .and_then(|c| names.item_ids.get(c as usize).copied())
        .unwrap_or(names.file_id)
}

/// Resolves every file's items, imports and calls into the edge set
/// (sorted, without duplicates) and the statistics; Rust calls on up to
/// `threads` threads (the result does not depend on how many).
#[cfg(test)]
pub fn resolve(files: &[FileView], threads: usize) -> Resolution {
    let mut out = resolve_incremental(files, threads, &mut CallCache::default(), None);
    out.edges.sort_unstable();
    out.edges.dedup();
    out
}

/// Resolution after an ingest that kept `cache` from the previous one:
/// `changed` names the files whose summaries changed since (every other
/// file's summary must be the one `cache` saw), and only the Rust files
/// an edit can affect have their calls resolved again; with `changed`
/// `None` every file is. The edges come in no set order and may repeat
/// (the caller makes a set of them); as a set they do not depend on
/// `cache`. `cache` is left for the next call.
pub fn resolve_incremental(
    files: &[FileView],
    threads: usize,
    cache: &mut CallCache,
    changed: Option<&FxHashSet<&str>>,
) -> Resolution {
    let mut out = Resolution::default();
    // Two structural edges per item and about one edge per call: grown
    // by doubling instead, the vector was copied a dozen times per edit.
    let expected: usize = files
        .iter()
        .map(|view| 2 * view.summary.items.len() + view.summary.calls.len())
        .sum();
    out.edges.reserve(expected);
    for view in files {
        out.calls.local += u64::from(view.summary.local_calls);
        for (index, item) in view.summary.items.iter().enumerate() {
            let parent = item
                .parent
                .and_then(|p| view.names.item_ids.get(p as usize).copied())
                .unwrap_or(view.names.file_id);
            out.both(parent, view.names.item_ids[index]);
        }
    }
    let rust: Vec<u32> = (0..files.len() as u32)
        .filter(|f| files[*f as usize].language == Language::Rust)
        .collect();
    rust::resolve_rust(files, &rust, threads, &mut out, cache, changed);
    for language in Language::ALL {
        if *language == Language::Rust {
            continue;
        }
        let members: Vec<u32> = (0..files.len() as u32)
            .filter(|f| files[*f as usize].language == *language)
            .collect();
        if *language == Language::C {
            if members.is_empty() {
                cache.c.clear();
            } else {
                let cache = Some((&mut cache.c, changed));
                generic::resolve_generic(files, *language, &members, &mut out, cache);
            }
        } else if !members.is_empty() {
            generic::resolve_generic(files, *language, &members, &mut out, None);
        }
    }
    rule_choice::choose(&mut out.provenance);
    out.stubs.sort_unstable();
    out.stubs.dedup();
    for (language, name) in &out.stubs {
        out.edges
            .push(crate::stubs::stub_name_edge(*language, name));
    }
    out
}

/// True when a per-file cache (by path) holds exactly the files
/// `members` (indices into `files`): a file added, removed or renamed
/// since it was filled makes every file resolve again.
fn cache_holds_exactly<V>(
    cached: &FxHashMap<String, V>,
    files: &[FileView],
    members: &[u32],
) -> bool {
    cached.len() == members.len()
        && members
            .iter()
            .all(|m| cached.contains_key(files[*m as usize].path))
}

/// Items of a file whose parent is `parent` and whose name is `name`.
fn children_named<'a>(
    view: &'a FileView<'a>,
    parent: Option<u32>,
    name: &'a str,
) -> impl Iterator<Item = u32> + 'a {
    view.children_of(parent).iter().copied().filter(move |c| {
        let item = &view.summary.items[*c as usize];
        item.name == name && !item.compiled_out
    })
}

/// Callable items nested in an ancestor function of `caller` with this
/// name (a nested `fn helper` binds before anything in the module).
fn nested_callable(view: &FileView, caller: Option<u32>, name: &str) -> Option<u32> {
    let summary = view.summary;
    let mut current = caller;
    while let Some(index) = current {
        let item = summary.items.get(index as usize)?;
        if item.kind.is_callable()
            && let Some(found) = children_named(view, Some(index), name)
                .find(|c| summary.items[*c as usize].kind.is_callable())
        {
            return Some(found);
        }
        current = item.parent;
    }
    None
}

/// The nearest ancestor (or self) of `start` that holds methods: impl,
/// trait, class, interface, or a struct (Zig containers).
fn owner_ancestor(summary: &Summary, start: Option<u32>) -> Option<u32> {
    let mut current = start;
    while let Some(index) = current {
        let item = summary.items.get(index as usize)?;
        if item.kind.holds_methods() || item.kind == ItemKind::Struct {
            return Some(index);
        }
        current = item.parent;
    }
    None
}

/// Settles a candidate list: one callable is resolved, several are
/// ambiguous, only non-callables are constructors (types) or unresolved.
fn settle(files: &[FileView], candidates: &[ItemRef], rule: Rule) -> Option<Outcome> {
    let mut callables: Vec<ItemRef> = candidates
        .iter()
        .copied()
        .filter(|c| kind_of(files, *c).is_callable())
        .collect();
    callables.sort();
    callables.dedup();
    match callables.len() {
        1 => Some(Outcome::Resolved(callables[0], rule)),
        0 if candidates.is_empty() => None,
        0 if candidates.iter().any(|c| kind_of(files, *c).is_type()) => Some(Outcome::Constructor),
        0 => Some(Outcome::Unresolved("names a non-function item")),
        _ => Some(Outcome::Ambiguous(callables)),
    }
}

fn kind_of(files: &[FileView], item: ItemRef) -> ItemKind {
    files[item.file as usize].summary.items[item.item as usize].kind
}

fn item_of<'a>(files: &'a [FileView], item: ItemRef) -> &'a crate::summary::Item {
    &files[item.file as usize].summary.items[item.item as usize]
}

/// A plain identifier: letters, digits and `_`, not starting with a digit.
pub(crate) fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !text.starts_with(|c: char| c.is_ascii_digit())
}
