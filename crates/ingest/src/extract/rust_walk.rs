//! Rust extraction by one walk of the tree instead of the query
//! (`queries/rust/*.scm`): the same matches, found by node kinds and
//! field names, handed to `Matched::add` in the order the query cursor
//! would hand them (each when the walk reaches the node that completes
//! it; of several completed there, the one rooted higher first). The
//! query stays the specification: a test compares both on real code.
//! Walking costs about a third of running the query.

use tree_sitter::{Node, TreeCursor};

use super::{MatchCaptures, Matched};
use crate::language::Role;
use crate::summary::ItemKind;

/// A node on the path from the root, with the field it fills in its
/// parent.
#[derive(Clone, Copy)]
struct Step<'t> {
    node: Node<'t>,
    /// `node.kind()`, read once from the grammar's table: the patterns
    /// ask a node's and its parent's kind many times.
    kind: &'t str,
    field: Option<&'t str>,
}

/// Methods whose one-parameter closure binds an element of the receiver
/// (the `#match?` of the adaptor pattern in `locals.scm`).
const ADAPTORS: &[&str] = &[
    "map",
    "filter",
    "for_each",
    "any",
    "all",
    "find",
    "filter_map",
    "flat_map",
    "take_while",
    "skip_while",
    "position",
    "inspect",
    "map_while",
    "max_by_key",
    "min_by_key",
];

/// The Rust grammar's node kind and field names by id: `Node::kind` and
/// `TreeCursor::field_name` are a `strlen` and a UTF-8 check per call,
/// about 7 % of Rust extraction when the walk asked them of every node.
struct GrammarNames {
    kinds: Vec<&'static str>,
    fields: Vec<Option<&'static str>>,
}

fn grammar_names() -> &'static GrammarNames {
    static NAMES: std::sync::OnceLock<GrammarNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        // One grammar handle for the life of the process, so the names it
        // lends are 'static.
        let grammar: &'static tree_sitter::Language =
            Box::leak(Box::new(crate::language::Language::Rust.grammar()));
        let kinds = (0..grammar.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| grammar.node_kind_for_id(id))
                    .unwrap_or("")
            })
            .collect();
        let fields = (0..=grammar.field_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| grammar.field_name_for_id(id))
            })
            .collect();
        GrammarNames { kinds, fields }
    })
}

/// Runs every Rust pattern over the tree of `source` into `matched`.
pub(super) fn walk<'t>(root: Node<'t>, source: &str, matched: &mut Matched) {
    let names = grammar_names();
    let mut cursor: TreeCursor<'t> = root.walk();
    let mut path: Vec<Step<'t>> = Vec::new();
    loop {
        let node = cursor.node();
        let kind = names
            .kinds
            .get(usize::from(node.kind_id()))
            .copied()
            .unwrap_or_else(|| node.kind());
        let field = match cursor.field_id() {
            Some(id) => names.fields.get(usize::from(id.get())).copied().flatten(),
            None => None,
        };
        let step = Step { node, kind, field };
        visit(step, &path, source, matched);
        if cursor.goto_first_child() {
            path.push(step);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            path.pop();
        }
    }
}

fn text<'s>(node: Node, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// The ancestor `up` levels above the node whose path is `path`.
fn up<'p, 't>(path: &'p [Step<'t>], levels: usize) -> Option<&'p Step<'t>> {
    path.len().checked_sub(levels).and_then(|i| path.get(i))
}

fn field<'t>(node: Node<'t>, name: &str) -> Option<Node<'t>> {
    node.child_by_field_name(name)
}

/// `let x ..` / `for x in ..`: the binding is a plain identifier.
fn binds_identifier(node: Node) -> Option<Node> {
    field(node, "pattern").filter(|p| p.kind() == "identifier")
}

fn emit(matched: &mut Matched, captures: MatchCaptures, source: &str) {
    matched.add(&captures, source);
}

/// A local `definition` whose parent node is `parent`.
fn local<'t>(definition: Node<'t>, parent: Node<'t>) -> MatchCaptures<'t> {
    MatchCaptures {
        main: Some((Role::LocalDefinition, definition)),
        local_parent: Some(parent),
        ..MatchCaptures::default()
    }
}

/// The matches completed at `step` (whose ancestors are `path`).
fn visit<'t>(step: Step<'t>, path: &[Step<'t>], source: &str, matched: &mut Matched) {
    let node = step.node;
    let parent = up(path, 1);
    match step.kind {
        "line_comment" | "block_comment" => {
            matched.comments.push((node.start_byte(), node.end_byte()));
        }
        "token_tree" => matched.add_macro_calls(node, source),
        _ => {}
    }
    let Some(parent) = parent else {
        return;
    };
    // Patterns rooted higher complete first: the enumerate and adaptor
    // locals (rooted at the loop or call) before the call patterns.
    if step.kind == "field_identifier" && step.field == Some("field") {
        field_name_completes(node, path, source, matched);
    }
    if step.kind == "identifier" && parent.kind == "closure_parameters" {
        adaptor_local(node, path, source, matched);
        emit(matched, local(node, parent.node), source);
    }
    item_completes(step, parent, path, source, matched);
    call_completes(step, parent, path, source, matched);
    local_completes(step, parent, path, source, matched);
}

/// Items, impls, `mod` declarations and `use` declarations.
fn item_completes<'t>(
    step: Step<'t>,
    parent: &Step<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let node = step.node;
    match (parent.kind, step.field) {
        ("function_item" | "trait_item" | "mod_item", Some("body")) => {
            let (kind, name_kind) = match parent.kind {
                "function_item" => (ItemKind::Function, "identifier"),
                "trait_item" => (ItemKind::Trait, "type_identifier"),
                _ => (ItemKind::Module, "identifier"),
            };
            if let Some(name) = field(parent.node, "name").filter(|n| n.kind() == name_kind) {
                definition(matched, kind, parent.node, name, Some(node), source);
            }
        }
        ("mod_item", Some("name"))
            if step.kind == "identifier" && field(parent.node, "body").is_none() =>
        {
            let captures = MatchCaptures {
                main: Some((Role::ModuleDecl, parent.node)),
                name: Some(node),
                ..MatchCaptures::default()
            };
            emit(matched, captures, source);
        }
        ("impl_item", Some("body")) => {
            if let Some(impl_type) = field(parent.node, "type") {
                let captures = MatchCaptures {
                    main: Some((Role::Definition(ItemKind::Impl), parent.node)),
                    impl_type: Some(impl_type),
                    impl_traits: field(parent.node, "trait").into_iter().collect(),
                    body: Some(node),
                    ..MatchCaptures::default()
                };
                emit(matched, captures, source);
            }
        }
        (kind, Some("name")) => {
            let item = match (kind, step.kind) {
                ("function_signature_item", "identifier") => Some(ItemKind::Function),
                ("struct_item", "type_identifier") => Some(ItemKind::Struct),
                ("enum_item", "type_identifier") => Some(ItemKind::Enum),
                ("union_item", "type_identifier") => Some(ItemKind::Union),
                ("type_item", "type_identifier") => Some(ItemKind::TypeAlias),
                ("const_item", "identifier") => Some(ItemKind::Const),
                ("static_item", "identifier") => Some(ItemKind::Static),
                ("macro_definition", "identifier") => Some(ItemKind::Macro),
                _ => None,
            };
            if let Some(item) = item {
                definition(matched, item, parent.node, node, None, source);
            }
            if kind == "struct_expression" {
                struct_literal_local(node, path, source, matched);
            }
        }
        ("use_declaration", Some("argument")) => {
            let captures = MatchCaptures {
                main: Some((Role::ImportStatement, parent.node)),
                import: Some(node),
                ..MatchCaptures::default()
            };
            emit(matched, captures, source);
        }
        _ => {}
    }
}

/// Path calls (`f()`, `a::b()`, `f::<T>()`).
fn call_completes<'t>(
    step: Step<'t>,
    parent: &Step<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let node = step.node;
    match (parent.kind, step.field) {
        ("call_expression", Some("function"))
            if matches!(step.kind, "identifier" | "scoped_identifier") =>
        {
            path_call(matched, parent.node, node, source);
        }
        ("generic_function", Some("function"))
            if matches!(step.kind, "identifier" | "scoped_identifier") =>
        {
            if let Some(call) = up(path, 2)
                .filter(|c| c.kind == "call_expression" && parent.field == Some("function"))
            {
                path_call(matched, call.node, node, source);
            }
        }
        _ => {}
    }
}

/// Locals, parameters and fields with their types, values and iterables.
fn local_completes<'t>(
    step: Step<'t>,
    parent: &Step<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let node = step.node;
    match (parent.kind, step.field) {
        ("let_declaration" | "parameter", Some("pattern")) if step.kind == "identifier" => {
            emit(matched, local(node, parent.node), source);
        }
        // `x: T` / `let x: T`, `let x = v`, `for x in v`: what the
        // binding's type comes from.
        ("parameter" | "let_declaration", Some("type"))
        | ("let_declaration" | "for_expression", Some("value")) => {
            if let Some(definition) = binds_identifier(parent.node) {
                let mut captures = local(definition, parent.node);
                let slot = match (parent.kind, step.field) {
                    (_, Some("type")) => &mut captures.local_type,
                    ("let_declaration", _) => &mut captures.local_value,
                    _ => &mut captures.local_iterable,
                };
                *slot = Some(node);
                emit(matched, captures, source);
            }
        }
        ("scoped_identifier", Some("path")) => constructor_local(node, path, source, matched),
        ("field_declaration", Some("type")) => {
            if let Some(name) =
                field(parent.node, "name").filter(|n| n.kind() == "field_identifier")
            {
                let captures = MatchCaptures {
                    main: Some((Role::FieldName, name)),
                    field_type: Some(node),
                    ..MatchCaptures::default()
                };
                emit(matched, captures, source);
            }
        }
        _ => {}
    }
}

fn definition(
    matched: &mut Matched,
    kind: ItemKind,
    item: Node,
    name: Node,
    body: Option<Node>,
    source: &str,
) {
    let captures = MatchCaptures {
        main: Some((Role::Definition(kind), item)),
        name: Some(name),
        body,
        ..MatchCaptures::default()
    };
    emit(matched, captures, source);
}

fn path_call(matched: &mut Matched, call: Node, name: Node, source: &str) {
    let captures = MatchCaptures {
        main: Some((Role::Call, call)),
        name: Some(name),
        ..MatchCaptures::default()
    };
    emit(matched, captures, source);
}

/// A `field_identifier` that is the field of a field expression: the
/// `for (i, x) in v.iter().enumerate()` local, then the method call.
fn field_name_completes<'t>(
    name: Node<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let (Some(access), Some(above)) = (up(path, 1), up(path, 2)) else {
        return;
    };
    if access.kind != "field_expression" || access.field != Some("function") {
        return;
    }
    let receiver = field(access.node, "value");
    // `x.m()` or `x.m::<T>()`: the call expression.
    let call = match above.kind {
        "call_expression" => Some((above, 3)),
        "generic_function" if above.field == Some("function") => up(path, 3)
            .filter(|c| c.kind == "call_expression")
            .map(|c| (c, 4)),
        _ => None,
    };
    let Some((call, depth)) = call else {
        return;
    };
    if depth == 3
        && call.field == Some("value")
        && text(name, source) == "enumerate"
        && let Some(for_loop) = up(path, 3).filter(|f| f.kind == "for_expression")
        && let Some(tuple) = field(for_loop.node, "pattern").filter(|p| p.kind() == "tuple_pattern")
        && tuple.named_child_count() == 2
        && let Some(second) = tuple.named_child(1).filter(|n| n.kind() == "identifier")
        && let Some(iterable) = receiver
    {
        let captures = MatchCaptures {
            local_iterable: Some(iterable),
            ..local(second, tuple)
        };
        emit(matched, captures, source);
    }
    let captures = MatchCaptures {
        main: Some((Role::MethodCall, call.node)),
        name: Some(name),
        receiver,
        ..MatchCaptures::default()
    };
    emit(matched, captures, source);
}

/// `it.map(|e| ..)`: the one parameter of a closure given first to an
/// iterator adaptor is an element of the receiver.
fn adaptor_local<'t>(definition: Node<'t>, path: &[Step<'t>], source: &str, matched: &mut Matched) {
    let (Some(parameters), Some(closure), Some(arguments), Some(call)) =
        (up(path, 1), up(path, 2), up(path, 3), up(path, 4))
    else {
        return;
    };
    if parameters.field != Some("parameters")
        || parameters.node.named_child_count() != 1
        || closure.kind != "closure_expression"
        || arguments.kind != "arguments"
        || arguments.field != Some("arguments")
        || arguments.node.named_child(0) != Some(closure.node)
        || call.kind != "call_expression"
    {
        return;
    }
    let Some(function) = field(call.node, "function").filter(|f| f.kind() == "field_expression")
    else {
        return;
    };
    let adaptor = field(function, "field").filter(|f| f.kind() == "field_identifier");
    if !adaptor.is_some_and(|a| ADAPTORS.contains(&text(a, source))) {
        return;
    }
    if let Some(iterable) = field(function, "value") {
        let captures = MatchCaptures {
            local_iterable: Some(iterable),
            ..local(definition, parameters.node)
        };
        emit(matched, captures, source);
    }
}

/// `let x = Type::new(..)`: `Type` is the local's type.
fn constructor_local<'t>(
    type_path: Node<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let (Some(scoped), Some(call), Some(binding)) = (up(path, 1), up(path, 2), up(path, 3)) else {
        return;
    };
    if scoped.field != Some("function")
        || call.kind != "call_expression"
        || call.field != Some("value")
        || binding.kind != "let_declaration"
    {
        return;
    }
    if let Some(definition) = binds_identifier(binding.node) {
        let captures = MatchCaptures {
            local_type: Some(type_path),
            ..local(definition, binding.node)
        };
        emit(matched, captures, source);
    }
}

/// `let x = Type { .. }`: `Type` is the local's type.
fn struct_literal_local<'t>(
    name: Node<'t>,
    path: &[Step<'t>],
    source: &str,
    matched: &mut Matched,
) {
    let (Some(literal), Some(binding)) = (up(path, 1), up(path, 2)) else {
        return;
    };
    if literal.field != Some("value") || binding.kind != "let_declaration" {
        return;
    }
    if let Some(definition) = binds_identifier(binding.node) {
        let captures = MatchCaptures {
            local_type: Some(name),
            ..local(definition, binding.node)
        };
        emit(matched, captures, source);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use crate::extract::{parse_tree, summarize_by};
    use crate::language::Language;

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let skip = path
                .file_name()
                .is_some_and(|n| n == "target" || n.to_string_lossy().starts_with('.'));
            if path.is_dir() && !skip {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Shapes the walk must treat as the query does, beside the
    /// workspace's own code: lets of every kind, closures given to
    /// adaptors, enumerate loops, calls in macros, generic calls, impls.
    const SHAPES: &str = r#"
mod outer { pub mod inner; mod decl; }
mod decl;
pub struct S<T> { pub a: Vec<T>, b: Box<dyn Fn(u8) -> u8> }
enum E { A } union U { a: u8 } type Alias<T> = Vec<T>;
const C: u8 = 1; static ST: u8 = 2;
macro_rules! m { ($x:expr) => { f($x) }; }
trait Tr { fn sig(&self) -> u8; fn def(&self) { self.sig(); } }
impl<T: Clone> Tr for S<T> where T: Copy { fn sig(&self) -> u8 { 0 } }
impl<T> S<T> {
    /// Doc.
    pub fn new(a: Vec<T>, f: impl Fn(u8) -> u8) -> Self {
        let x: u8 = 1;
        let y = S::<T>::with(a);
        let z = S { a: vec![], b: Box::new(f) };
        let w = y.get().unwrap()?;
        let (p, q) = (1, 2);
        for v in w.iter() { v.go(); }
        for (i, e) in self.a.iter().enumerate() { e.go(); }
        for (i, e) in z.a.iter().rev().enumerate() { e.go(); }
        z.a.iter().map(|e| e.go()).filter(|&e| e).for_each(|e| e.go());
        z.a.iter().any(|e: &T| e.go());
        assert_eq!(f(x), g::<u8>(y.h()), "{}", self.name());
        println!("{}", <T as Tr>::sig(&z), a.b::<C>(), x.y.z(), Self::k());
        vec![S::default(); 3];
        generic::<u8>();
        a::b::<u8>();
        (x.f)(1);
        // comment
        /* block */
        let closure = |a, b| a + b;
        closure(1, 2)
    }
}
use std::{io::{self, Read}, fmt::*};
use crate::outer::inner::Thing as Other;
fn nested() { fn inner() {} inner(); }
"#;

    #[test]
    fn the_walk_finds_what_the_query_finds() {
        let compiled = Language::Rust.compiled().unwrap();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["crates", "tests", "benches", "xtask", "tools"] {
            rust_files(&workspace.join(dir), &mut files);
        }
        // Inside this workspace (not a packaged copy of the crate) its
        // whole source is the corpus.
        if workspace.join("crates/ingest/src/extract").is_dir() {
            assert!(files.len() > 100, "found only {} files", files.len());
        }
        let mut sources: Vec<(String, String)> = files
            .iter()
            .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
            .collect();
        sources.push(("SHAPES".into(), SHAPES.into()));
        let mut parser = tree_sitter::Parser::new();
        for (path, source) in &sources {
            let parsed = parse_tree(Language::Rust, source, &mut parser).unwrap();
            let walked = summarize_by(Language::Rust, None, source, &parsed, true);
            let queried = summarize_by(Language::Rust, Some(compiled), source, &parsed, false);
            assert_eq!(walked, queried, "{path}: the walk and the query differ");
        }
        // The shapes file exercises what it says.
        let parsed = parse_tree(Language::Rust, SHAPES, &mut parser).unwrap();
        let shapes = summarize_by(Language::Rust, None, SHAPES, &parsed, true);
        assert!(shapes.calls.len() > 30, "{} calls", shapes.calls.len());
        assert!(shapes.typed_locals.len() > 10, "{:?}", shapes.typed_locals);
        assert!(shapes.calls.iter().any(|c| c.text == "name"));
        assert!(shapes.typed_locals.iter().any(|t| t.element));
    }
}
