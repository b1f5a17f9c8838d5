//! Extraction: a pure function of (language, source) to the file's
//! [`Summary`]. Runs the language's compiled query once over the tree and
//! turns captures into items (nested by byte range), call sites (attached
//! to their innermost enclosing function) and imports. Every walk here is
//! iterative, so a 10,000-deep nest cannot overflow the stack.

use std::cmp::Reverse;

use rustc_hash::FxHashMap;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, QueryCursor, QueryMatch, Tree};

mod cfg;
mod docs;
mod macro_path;
mod macro_tokens;
mod nodes;
mod preproc;
mod rust_walk;
mod typed;

use docs::{file_doc, preceding_doc};
use macro_path::macro_path_prefix;
use nodes::{count_errors, error_extent, signature};
use typed::{RawTyped, add_typed_names, contextual_parameter, local_value_call};

use crate::imports::parse_import;
use crate::language::{Compiled, Language, Role};
use crate::limits::{MAX_DOC_BYTES, MAX_ENTRIES_PER_FILE, MAX_ITEM_DEPTH, MAX_NAME_BYTES};
use crate::summary::{CallKind, CallRef, Import, Item, ItemKind, Summary};
use crate::text::{cut, first_doc_line, normalize_path_text, normalize_type_text};

struct RawDef {
    kind: ItemKind,
    start: usize,
    end: usize,
    start_row: usize,
    end_row: usize,
    name: String,
    signature: String,
    doc: String,
    impl_type: String,
    impl_trait: String,
    /// Rust: a `#[cfg(..)]` known false switches the item off.
    compiled_out: bool,
}

struct RawCall {
    position: usize,
    end: usize,
    row: usize,
    kind: CallKind,
    text: String,
    receiver: String,
    /// Byte range of the receiver expression (method calls).
    receiver_range: Option<(usize, usize)>,
}

/// An import statement as matched; parsed into paths after nesting.
struct RawImport {
    position: usize,
    row: usize,
    text: String,
}

/// A local binding (a `let`, a parameter): a call of its name calls the
/// binding, not an item.
struct RawLocal {
    position: usize,
    /// Where the name starts to be in scope: after its `let` statement
    /// (`let f = f(x);` calls the outer `f`), else where it is bound.
    visible_from: usize,
    name: String,
}

/// A `mod name;` declaration. Ordered by position, then name.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct RawModuleDecl {
    position: usize,
    name: String,
}

/// Everything the query matched in one file, in match order, before
/// items are nested and scopes assigned.
#[derive(Default)]
struct Matched {
    defs: Vec<RawDef>,
    calls: Vec<RawCall>,
    imports: Vec<RawImport>,
    locals: Vec<RawLocal>,
    module_decls: Vec<RawModuleDecl>,
    typed: Vec<RawTyped>,
    /// Index of the def already taken for a node; a second pattern
    /// matching the same node only adds what the first lacked (a class's
    /// bases).
    seen_defs: FxHashMap<(usize, usize), usize>,
    /// Keyed by the call node's range: `a.b().c()` and `a.b()` start at
    /// the same byte and are two calls.
    seen_calls: FxHashMap<(usize, usize), usize>,
    /// Comment ranges; a capture, because walking to siblings in
    /// tree-sitter goes through `parent()`, which is O(depth).
    comments: Vec<(usize, usize)>,
    /// Rust: read `#[cfg(..)]` attributes before definitions.
    reads_cfg: bool,
}

/// The captures of one query match, by role.
#[derive(Default)]
struct MatchCaptures<'tree> {
    /// The node the match is about and what it is (a definition, a call,
    /// an import, ...); `None` for a match of comments only.
    main: Option<(Role, Node<'tree>)>,
    name: Option<Node<'tree>>,
    body: Option<Node<'tree>>,
    impl_type: Option<Node<'tree>>,
    impl_traits: Vec<Node<'tree>>,
    receiver: Option<Node<'tree>>,
    qualifier: Option<Node<'tree>>,
    /// The match is inside a macro's token tree.
    in_macro: bool,
    local_type: Option<Node<'tree>>,
    local_value: Option<Node<'tree>>,
    local_iterable: Option<Node<'tree>>,
    field_type: Option<Node<'tree>>,
    import: Option<Node<'tree>>,
    doc: Option<Node<'tree>>,
    /// A local definition's parent, when the matcher knows it: asked of
    /// the tree, `Node::parent` walks down from the root (3.7 % of Rust
    /// extraction when the walk left it to the tree).
    local_parent: Option<Node<'tree>>,
}

impl<'tree> MatchCaptures<'tree> {
    /// Sorts the captures of `found` by role; comment captures go straight
    /// to `comments`.
    fn of(
        found: &QueryMatch<'_, 'tree>,
        roles: &[Role],
        comments: &mut Vec<(usize, usize)>,
    ) -> Self {
        let mut captures = MatchCaptures::default();
        for capture in found.captures() {
            let Some(role) = roles.get(capture.index as usize) else {
                continue;
            };
            let node = capture.node;
            match role {
                Role::Definition(_)
                | Role::Call
                | Role::MethodCall
                | Role::ImportStatement
                | Role::LocalDefinition
                | Role::ModuleDecl
                | Role::FieldName => captures.main = Some((*role, node)),
                Role::Name => captures.name = Some(node),
                Role::Body => captures.body = Some(node),
                Role::ImplType => captures.impl_type = Some(node),
                Role::ImplTrait => captures.impl_traits.push(node),
                Role::Receiver => captures.receiver = Some(node),
                Role::Qualifier => captures.qualifier = Some(node),
                Role::MacroTokens => captures.in_macro = true,
                Role::LocalType => captures.local_type = Some(node),
                Role::LocalValue => captures.local_value = Some(node),
                Role::LocalIterable => captures.local_iterable = Some(node),
                Role::FieldType => captures.field_type = Some(node),
                Role::Import => captures.import = Some(node),
                Role::Doc => captures.doc = Some(node),
                Role::Ignored => {}
                Role::Comment => comments.push((node.start_byte(), node.end_byte())),
            }
        }
        captures
    }
}

/// Parses `source` and extracts its summary. `Err` only when the parser
/// produced no tree at all (it recovers from syntax errors by itself).
pub fn extract(language: Language, source: &str, parser: &mut Parser) -> Result<Summary, String> {
    let tree = parse_tree(language, source, parser)?;
    if language.walks_tree() {
        return Ok(summarize_walked(language, source, &tree));
    }
    let compiled = language.compiled().map_err(|error| error.to_string())?;
    Ok(summarize(language, compiled, source, &tree))
}

/// A file's syntax tree, before the language's query has run over it.
pub struct ParsedTree {
    tree: Tree,
    /// The text the tree is of when it is not the file's own: a C file
    /// parsed as one configuration (same byte offsets).
    reparsed: Option<String>,
}

/// The first stage of [`extract`]: only the grammar is needed, so files
/// can be parsed while the query is still being compiled.
pub fn parse_tree(
    language: Language,
    source: &str,
    parser: &mut Parser,
) -> Result<ParsedTree, String> {
    parser
        .set_language(&language.grammar())
        .map_err(|error| format!("grammar rejected: {error}"))?;
    let tree = parser
        .parse(source, None)
        .ok_or_else(|| "tree-sitter returned no tree".to_string())?;
    // C: a function split by `#if` branches is a syntax error; parse one
    // configuration instead when the parser reads more of it (same
    // offsets): fewer bytes in error, then fewer error nodes.
    if language == Language::C
        && tree.root_node().has_error()
        && let Some(text) = preproc::one_configuration(source)
        && let Some(other) = parser.parse(&text, Some(&preproc::edited_to(&tree, source, &text)))
        && error_extent(other.root_node()) < error_extent(tree.root_node())
    {
        return Ok(ParsedTree {
            tree: other,
            reparsed: Some(text),
        });
    }
    Ok(ParsedTree {
        tree,
        reparsed: None,
    })
}

/// The second stage of [`extract`]: runs `compiled` (the language's
/// query) over the tree `parse_tree` made of `source`.
pub fn summarize(
    language: Language,
    compiled: &Compiled,
    source: &str,
    parsed: &ParsedTree,
) -> Summary {
    // Rust: one walk finds what the query would (`rust_walk.rs`).
    summarize_by(
        language,
        Some(compiled),
        source,
        parsed,
        language.walks_tree(),
    )
}

/// [`summarize`] for a language that [`Language::walks_tree`]: no
/// compiled query needed.
pub fn summarize_walked(language: Language, source: &str, parsed: &ParsedTree) -> Summary {
    summarize_by(language, None, source, parsed, true)
}

/// [`summarize`], the Rust query's matches found by walking the tree when
/// `walk` (otherwise the query runs; without `compiled`, nothing matches).
fn summarize_by(
    language: Language,
    compiled: Option<&Compiled>,
    source: &str,
    parsed: &ParsedTree,
    walk: bool,
) -> Summary {
    let source = parsed.reparsed.as_deref().unwrap_or(source);
    let tree = &parsed.tree;
    let root = tree.root_node();
    let mut summary = Summary {
        syntax_errors: if root.has_error() {
            count_errors(root)
        } else {
            0
        },
        lines: line_count(source),
        doc: file_doc(language, source),
        ..Summary::default()
    };

    let mut matched = Matched {
        reads_cfg: language == Language::Rust,
        ..Matched::default()
    };
    if walk && language.walks_tree() {
        rust_walk::walk(root, source, &mut matched);
    } else if let Some(compiled) = compiled {
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(&compiled.query, root, source.as_bytes());
        while let Some(found) = matches.next() {
            let captures = MatchCaptures::of(found, &compiled.roles, &mut matched.comments);
            matched.add(&captures, source);
        }
    }

    matched.attach_preceding_docs(language, source);
    matched.cap_entries(&mut summary);
    let Matched {
        defs,
        calls,
        imports,
        locals,
        module_decls,
        typed,
        ..
    } = matched;
    let ranges = add_items(language, defs, &mut summary);
    let local_names = local_names(locals, &ranges, &summary.items);
    let call_by_range = add_calls(calls, &ranges, &local_names, &mut summary);
    add_typed_names(typed, &ranges, &call_by_range, &mut summary);
    add_module_decls(module_decls, &ranges, &mut summary);
    add_imports(language, imports, &ranges, &mut summary);
    summary
}

impl Matched {
    /// Adds what one match found.
    fn add(&mut self, captures: &MatchCaptures, source: &str) {
        let Some((role, node)) = captures.main else {
            if let Some(doc) = captures.doc {
                self.comments.push((doc.start_byte(), doc.end_byte()));
            }
            return;
        };
        match role {
            Role::Definition(kind) => self.add_def(kind, node, captures, source),
            Role::Call | Role::MethodCall => self.add_call(role, node, captures, source),
            Role::ImportStatement => {
                let text = text_of(captures.import.unwrap_or(node), source);
                self.imports.push(RawImport {
                    position: node.start_byte(),
                    row: node.start_position().row,
                    text: text.to_string(),
                });
            }
            Role::LocalDefinition => {
                let parent = captures.local_parent.or_else(|| node.parent());
                let visible_from = match parent {
                    Some(parent) if parent.kind() == "let_declaration" => parent.end_byte(),
                    _ => node.start_byte(),
                };
                self.locals.push(RawLocal {
                    position: node.start_byte(),
                    visible_from,
                    name: text_of(node, source).to_string(),
                });
                if let Some(ty) = captures.local_type {
                    self.typed.push(RawTyped::of(node, ty, source, false));
                } else if let Some(text) = contextual_parameter(node, parent, source) {
                    let mut typed = RawTyped::of(node, node, source, false);
                    typed.type_text = text;
                    self.typed.push(typed);
                }
                if let Some((call, peel)) = captures
                    .local_value
                    .and_then(|value| local_value_call(value, source))
                {
                    let mut typed = RawTyped::of(node, node, source, false);
                    typed.type_text = String::new();
                    typed.value = Some((call.start_byte(), call.end_byte(), peel));
                    self.typed.push(typed);
                }
                if let Some(iterable) = captures.local_iterable
                    && let Some(typed) = RawTyped::element_of(node, iterable, source)
                {
                    self.typed.push(typed);
                }
            }
            Role::ModuleDecl => {
                if let Some(name) = captures.name {
                    self.module_decls.push(RawModuleDecl {
                        position: node.start_byte(),
                        name: text_of(name, source).to_string(),
                    });
                }
            }
            Role::FieldName => {
                if let Some(ty) = captures.field_type {
                    self.typed.push(RawTyped::of(node, ty, source, true));
                }
            }
            _ => {}
        }
    }

    /// A definition: a new item, or the impl trait / type a second pattern
    /// on the same node found.
    fn add_def(&mut self, kind: ItemKind, node: Node, captures: &MatchCaptures, source: &str) {
        let impl_type_text = captures
            .impl_type
            .map(|n| normalize_type_text(text_of(n, source)))
            .unwrap_or_default();
        let impl_trait_text = captures
            .impl_traits
            .iter()
            .map(|n| normalize_type_text(text_of(*n, source)))
            .collect::<Vec<_>>()
            .join(",");
        let item_name = match (kind, captures.name) {
            (_, Some(name)) => cut(text_of(name, source), MAX_NAME_BYTES).to_string(),
            (ItemKind::Impl, None) if impl_trait_text.is_empty() => {
                format!("impl {impl_type_text}")
            }
            (ItemKind::Impl, None) => {
                format!("impl {impl_trait_text} for {impl_type_text}")
            }
            (_, None) => return,
        };
        if let Some(existing) = self.seen_defs.get(&(node.start_byte(), node.end_byte())) {
            if let Some(def) = self.defs.get_mut(*existing) {
                if def.impl_trait.is_empty() {
                    def.impl_trait = impl_trait_text;
                } else if matches!(def.kind, ItemKind::Class | ItemKind::Interface) {
                    // `extends A implements B`: two patterns, both bases.
                    for base in impl_trait_text.split(',').filter(|b| !b.is_empty()) {
                        if !def.impl_trait.split(',').any(|known| known == base) {
                            def.impl_trait.push(',');
                            def.impl_trait.push_str(base);
                        }
                    }
                }
                if def.impl_type.is_empty() && matches!(def.kind, ItemKind::Impl | ItemKind::Method)
                {
                    def.impl_type = impl_type_text;
                }
            }
            return;
        }
        self.seen_defs
            .insert((node.start_byte(), node.end_byte()), self.defs.len());
        let doc_text = match captures.doc {
            Some(doc) => first_doc_line(text_of(doc, source)),
            None => String::new(),
        };
        self.defs.push(RawDef {
            kind,
            start: node.start_byte(),
            end: node.end_byte(),
            start_row: node.start_position().row,
            end_row: node.end_position().row,
            name: item_name,
            signature: signature(node, captures.body, source),
            doc: cut(&doc_text, MAX_DOC_BYTES).to_string(),
            impl_type: if kind == ItemKind::Impl || kind == ItemKind::Method {
                impl_type_text
            } else {
                String::new()
            },
            impl_trait: impl_trait_text,
            compiled_out: self.reads_cfg && cfg::compiled_out(node.start_byte(), source),
        });
    }

    /// A call: a path call (`a::b::f(..)`) or a method call (`x.f(..)`);
    /// of two matches of one call node the more detailed form is kept.
    fn add_call(&mut self, role: Role, node: Node, captures: &MatchCaptures, source: &str) {
        let Some(name) = captures.name else { return };
        let qualifier = captures.qualifier;
        let receiver = captures.receiver;
        let (mut kind, mut text) = if role == Role::Call {
            let path = match qualifier {
                Some(q) => format!("{}::{}", text_of(q, source), text_of(name, source)),
                None => text_of(name, source).to_string(),
            };
            (CallKind::Path, normalize_path_text(&path))
        } else {
            (CallKind::Method, text_of(name, source).to_string())
        };
        let mut receiver_text = receiver
            .map(|n| cut(text_of(n, source), 64).to_string())
            .unwrap_or_default();
        // Token-tree patterns see `x.f(..)` / `a::b::f(..)` through
        // their last tokens: look at the text before the match.
        if captures.in_macro {
            let first = qualifier.unwrap_or(name);
            let before = source.get(..first.start_byte()).unwrap_or("").trim_end();
            if before.ends_with("::") {
                // `a::b::f(..)`: the pattern matched `b::f`; read the rest
                // of the path back from the tokens before it.
                match macro_path_prefix(before) {
                    Some(prefix) => text = format!("{prefix}::{text}"),
                    None => return, // `<T as U>::f`, `::a::f`: not resolved here
                }
            }
            if before.ends_with('.') && kind == CallKind::Path && qualifier.is_none() {
                kind = CallKind::Method;
                receiver_text = String::from("?");
            }
        }
        let call = RawCall {
            position: node.start_byte(),
            end: node.end_byte(),
            receiver_range: receiver.map(|r| (r.start_byte(), r.end_byte())),
            row: node.start_position().row,
            kind,
            text: cut(&text, MAX_NAME_BYTES).to_string(),
            receiver: receiver_text,
        };
        // In macro token trees `a::f(..)` and `x.f(..)` also match
        // the bare `f(..)` pattern: the longer form wins, and a method
        // call whose receiver was matched beats one seen only by its `.`.
        let detail = |c: &RawCall| {
            usize::from(c.kind == CallKind::Method || c.text.contains("::"))
                + usize::from(c.kind == CallKind::Method && c.receiver != "?")
        };
        match self.seen_calls.get(&(call.position, node.end_byte())) {
            Some(existing) => {
                if detail(&call) > detail(&self.calls[*existing]) {
                    self.calls[*existing] = call;
                }
            }
            None => {
                self.seen_calls
                    .insert((call.position, node.end_byte()), self.calls.len());
                self.calls.push(call);
            }
        }
    }

    /// Gives each definition without a doc capture the doc comment right
    /// before it.
    fn attach_preceding_docs(&mut self, language: Language, source: &str) {
        self.comments.sort_unstable();
        self.comments.dedup();
        for def in &mut self.defs {
            if def.doc.is_empty() {
                def.doc = cut(
                    &preceding_doc(language, def.start, &self.comments, source),
                    MAX_DOC_BYTES,
                )
                .to_string();
            }
        }
    }

    /// Keeps at most `MAX_ENTRIES_PER_FILE` definitions, calls and imports,
    /// saying so in `summary.truncated`.
    fn cap_entries(&mut self, summary: &mut Summary) {
        if self.defs.len() > MAX_ENTRIES_PER_FILE
            || self.calls.len() > MAX_ENTRIES_PER_FILE
            || self.imports.len() > MAX_ENTRIES_PER_FILE
        {
            summary.truncated = format!("more than {MAX_ENTRIES_PER_FILE} items, calls or imports");
            self.defs.truncate(MAX_ENTRIES_PER_FILE);
            self.calls.truncate(MAX_ENTRIES_PER_FILE);
            self.imports.truncate(MAX_ENTRIES_PER_FILE);
        }
    }
}

/// Items nested by byte range (outer first at equal starts), those nested
/// deeper than `MAX_ITEM_DEPTH` dropped; a function directly in an impl,
/// trait or class (or a container, where the language says so) becomes a
/// method. Returns the byte ranges of the items, in item order.
fn add_items(
    language: Language,
    mut defs: Vec<RawDef>,
    summary: &mut Summary,
) -> Vec<(usize, usize)> {
    defs.sort_by_key(|def| (def.start, Reverse(def.end)));
    let ranges: Vec<(usize, usize)> = defs.iter().map(|def| (def.start, def.end)).collect();
    let parents = enclosing_of_ranges(&ranges);
    // Drop items nested deeper than the limit (their ancestors stay).
    let mut depths: Vec<usize> = Vec::with_capacity(parents.len());
    for parent in &parents {
        let depth = parent.map_or(0, |p| depths[p as usize] + 1);
        depths.push(depth);
    }
    if depths.iter().any(|depth| *depth > MAX_ITEM_DEPTH) {
        summary.truncated = format!("items nested deeper than {MAX_ITEM_DEPTH} dropped");
        let mut keep = depths.iter().map(|depth| *depth <= MAX_ITEM_DEPTH);
        defs.retain(|_| keep.next().unwrap_or(false));
    }
    let ranges: Vec<(usize, usize)> = defs.iter().map(|def| (def.start, def.end)).collect();
    let parents = enclosing_of_ranges(&ranges);
    for (index, def) in defs.into_iter().enumerate() {
        let parent = parents[index];
        let mut kind = def.kind;
        let containers = language.scope_rules().containers_hold_methods;
        let parent_holds_methods = parent
            .and_then(|p| summary.items.get(p as usize))
            .is_some_and(|p| {
                p.kind.holds_methods()
                    || (containers
                        && matches!(p.kind, ItemKind::Struct | ItemKind::Enum | ItemKind::Union))
            });
        if kind == ItemKind::Function && parent_holds_methods {
            kind = ItemKind::Method;
        }
        // What a switched-off item holds is switched off with it.
        let compiled_out = def.compiled_out
            || parent
                .and_then(|p| summary.items.get(p as usize))
                .is_some_and(|p| p.compiled_out);
        summary.items.push(Item {
            kind,
            name: def.name,
            parent,
            start_byte: def.start as u32,
            end_byte: def.end as u32,
            start_line: def.start_row as u32 + 1,
            end_line: def.end_row as u32 + 1,
            signature: def.signature,
            doc: def.doc,
            impl_type: def.impl_type,
            impl_trait: def.impl_trait,
            compiled_out,
        });
    }
    ranges
}

/// Local bindings as (enclosing callable, name).
/// Names bound locally per function, with the first position where one
/// of that name is in scope.
fn local_names(
    locals: Vec<RawLocal>,
    ranges: &[(usize, usize)],
    items: &[Item],
) -> FxHashMap<(u32, String), usize> {
    let mut names: FxHashMap<(u32, String), usize> = FxHashMap::default();
    let local_positions: Vec<usize> = locals.iter().map(|local| local.position).collect();
    let local_scopes = enclosing_of_positions(ranges, &local_positions);
    for (local, scope) in locals.into_iter().zip(local_scopes) {
        if let Some(function) = callable_ancestor(items, scope) {
            let from = names.entry((function, local.name)).or_insert(usize::MAX);
            *from = (*from).min(local.visible_from);
        }
    }
    names
}

/// Calls attached to their innermost callable (or item); a path call of a
/// local binding is only counted. A method call is linked to the call that
/// produces its receiver (`a.b().c()`).
fn add_calls(
    mut calls: Vec<RawCall>,
    ranges: &[(usize, usize)],
    local_names: &FxHashMap<(u32, String), usize>,
    summary: &mut Summary,
) -> FxHashMap<(usize, usize), u32> {
    calls.sort_by_key(|call| (call.position, Reverse(call.end)));
    let call_positions: Vec<usize> = calls.iter().map(|c| c.position).collect();
    let call_scopes = enclosing_of_positions(ranges, &call_positions);
    // Index of each kept call by its node range, to link a method call to
    // the call that produces its receiver (`a.b().c()`).
    let mut by_range: FxHashMap<(usize, usize), u32> = FxHashMap::default();
    let mut receiver_ranges: Vec<Option<(usize, usize)>> = Vec::new();
    for (call, scope) in calls.into_iter().zip(call_scopes) {
        let caller = callable_ancestor(&summary.items, scope).or(scope);
        // Code a `#[cfg(..)]` switches off is not compiled: no calls.
        if scope.is_some_and(|s| summary.items[s as usize].compiled_out) {
            continue;
        }
        if call.kind == CallKind::Path
            && let Some(function) = caller
            && local_names
                .get(&(function, call.text.clone()))
                .is_some_and(|from| call.position >= *from)
        {
            summary.local_calls += 1;
            continue;
        }
        by_range.insert((call.position, call.end), summary.calls.len() as u32);
        receiver_ranges.push(call.receiver_range);
        summary.calls.push(CallRef {
            caller,
            kind: call.kind,
            text: call.text,
            receiver: call.receiver,
            receiver_call: None,
            line: call.row as u32 + 1,
        });
    }
    for (call, range) in summary.calls.iter_mut().zip(receiver_ranges) {
        call.receiver_call = range.and_then(|r| by_range.get(&r).copied());
    }
    by_range
}

/// `mod name;` declarations at the top level of the file.
fn add_module_decls(
    mut module_decls: Vec<RawModuleDecl>,
    ranges: &[(usize, usize)],
    summary: &mut Summary,
) {
    module_decls.sort();
    let decl_positions: Vec<usize> = module_decls.iter().map(|decl| decl.position).collect();
    let decl_scopes = enclosing_of_positions(ranges, &decl_positions);
    for (decl, scope) in module_decls.into_iter().zip(decl_scopes) {
        if scope.is_none() && summary.module_decls.len() < MAX_ENTRIES_PER_FILE {
            summary.module_decls.push(decl.name);
        }
    }
}

/// Imports parsed into paths, each scoped to its innermost item.
fn add_imports(
    language: Language,
    mut imports: Vec<RawImport>,
    ranges: &[(usize, usize)],
    summary: &mut Summary,
) {
    imports.sort_by_key(|import| import.position);
    let import_positions: Vec<usize> = imports.iter().map(|import| import.position).collect();
    let import_scopes = enclosing_of_positions(ranges, &import_positions);
    for (import, scope) in imports.into_iter().zip(import_scopes) {
        for (path, alias, glob) in parse_import(language, &import.text) {
            summary.imports.push(Import {
                scope,
                path,
                alias,
                glob,
                line: import.row as u32 + 1,
            });
        }
    }
}

fn text_of<'s>(node: Node, source: &'s str) -> &'s str {
    source.get(node.start_byte()..node.end_byte()).unwrap_or("")
}

fn line_count(source: &str) -> u32 {
    let newlines = source.bytes().filter(|b| *b == b'\n').count();
    let last_line = usize::from(!source.is_empty() && !source.ends_with('\n'));
    (newlines + last_line) as u32
}

/// The innermost callable at or above `scope`.
fn callable_ancestor(items: &[Item], scope: Option<u32>) -> Option<u32> {
    let mut current = scope;
    // Parents always come earlier in the list, so this terminates.
    while let Some(index) = current {
        let item = items.get(index as usize)?;
        if item.kind.is_callable() {
            return Some(index);
        }
        current = item.parent;
    }
    None
}

/// For ranges sorted by (start, end descending), the index of each range's
/// innermost enclosing range. Iterative: a stack of open ranges.
fn enclosing_of_ranges(ranges: &[(usize, usize)]) -> Vec<Option<u32>> {
    let mut stack: Vec<usize> = Vec::new();
    let mut parents = Vec::with_capacity(ranges.len());
    for (index, (start, end)) in ranges.iter().enumerate() {
        while let Some(top) = stack.last() {
            let (top_start, top_end) = ranges[*top];
            if top_start <= *start && *end <= top_end {
                break;
            }
            stack.pop();
        }
        parents.push(stack.last().map(|p| *p as u32));
        stack.push(index);
    }
    parents
}

/// For sorted positions, the innermost range (sorted as above) holding each.
fn enclosing_of_positions(ranges: &[(usize, usize)], positions: &[usize]) -> Vec<Option<u32>> {
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut result = Vec::with_capacity(positions.len());
    for position in positions {
        while next < ranges.len() && ranges[next].0 <= *position {
            while let Some(top) = stack.last() {
                if ranges[*top].1 > ranges[next].0 {
                    break;
                }
                stack.pop();
            }
            stack.push(next);
            next += 1;
        }
        while let Some(top) = stack.last() {
            if ranges[*top].1 > *position {
                break;
            }
            stack.pop();
        }
        result.push(stack.last().map(|p| *p as u32));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclosing_ranges_and_positions() {
        let ranges = [(0, 100), (10, 50), (20, 30), (60, 90)];
        assert_eq!(
            enclosing_of_ranges(&ranges),
            vec![None, Some(0), Some(1), Some(0)]
        );
        assert_eq!(
            enclosing_of_positions(&ranges, &[5, 25, 40, 55, 70, 100]),
            vec![Some(0), Some(2), Some(1), Some(0), Some(3), None]
        );
    }
}
