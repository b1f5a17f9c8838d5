//! Declared and evident types of locals, parameters and fields: the
//! bindings a pattern typed (`x: &Table`, `let x = Table { .. }`), and a
//! `let` whose value is a call (`let x = f(..)?`), whose type is what
//! that call returns with `Result` / `Option` layers peeled.

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use super::{callable_ancestor, enclosing_of_positions, text_of};
use crate::limits::MAX_ENTRIES_PER_FILE;
use crate::summary::{Summary, TypedName};
use crate::text::cut;

/// A name with a declared type: a typed local (`let x: T`, a parameter)
/// or a struct field.
pub(super) struct RawTyped {
    pub(super) position: usize,
    pub(super) row: usize,
    pub(super) name: String,
    pub(super) type_text: String,
    pub(super) is_field: bool,
    /// `let x = <call>`: the call's byte range and how many `Result` /
    /// `Option` layers `?`, `.unwrap()` or `.expect(..)` peel off it.
    pub(super) value: Option<(usize, usize, u8)>,
    /// A `for` binding: an element of `value` or of `iterable`.
    pub(super) element: bool,
    /// `for x in v` / `for x in &self.items`: the iterated local or field.
    pub(super) iterable: String,
}

impl RawTyped {
    /// The binding or field `node` declared with type `ty`.
    pub(super) fn of(node: Node, ty: Node, source: &str, is_field: bool) -> Self {
        // A call as the type (`x = Foo(..)`, Python and TypeScript): its
        // callee with empty arguments, which no cut can leave unclosed.
        let type_text = match ty.kind() {
            "call" | "call_expression" => match ty.child_by_field_name("function") {
                Some(callee) => format!("{}()", cut(text_of(callee, source), 126)),
                None => String::new(),
            },
            _ => cut(text_of(ty, source), 128).to_string(),
        };
        RawTyped {
            position: node.start_byte(),
            row: node.start_position().row,
            name: text_of(node, source).to_string(),
            type_text,
            is_field,
            value: None,
            element: false,
            iterable: String::new(),
        }
    }

    /// `for node in iterable`: a call (`g.edges(a)`, `v.iter()`, `f()?`)
    /// or a local or `self` field, behind any `&` / `&mut`. `None` for
    /// anything else (a range, a literal, a macro).
    pub(super) fn element_of(node: Node, iterable: Node, source: &str) -> Option<Self> {
        let mut iterable = iterable;
        while iterable.kind() == "reference_expression" {
            iterable = iterable.child_by_field_name("value")?;
        }
        let mut typed = RawTyped::of(node, node, source, false);
        typed.type_text = String::new();
        typed.element = true;
        let text = text_of(iterable, source);
        let is_field_of_self = iterable.kind() == "field_expression"
            && iterable
                .child_by_field_name("value")
                .is_some_and(|value| value.kind() == "self");
        if iterable.kind() == "identifier" || is_field_of_self {
            typed.iterable = cut(text, 64).to_string();
            return Some(typed);
        }
        let (call, peel) = local_value_call(iterable, source)?;
        typed.value = Some((call.start_byte(), call.end_byte(), peel));
        Some(typed)
    }
}

/// An untyped parameter of a function passed as an argument
/// (`operate((source, subscriber) => ..)`, `new Observable((s) => ..)`):
/// its type is the callee's, written on the callee's parameter. Recorded
/// as `[new ]callee() => argument.parameter` for resolution to read.
/// `parent` is the node's parent, when known (`Node::parent` walks down
/// from the root each time).
pub(super) fn contextual_parameter(
    node: Node,
    parent: Option<Node>,
    source: &str,
) -> Option<String> {
    let parent = parent?;
    let (parameter, holder) = if parent.kind() == "required_parameter" {
        if parent.child_by_field_name("type").is_some() {
            return None;
        }
        (parent, parent.parent()?)
    } else {
        (node, parent)
    };
    let (function, parameter_index) = match holder.kind() {
        "formal_parameters" => (holder.parent()?, named_index(holder, parameter)?),
        "arrow_function" => (holder, 0),
        _ => return None,
    };
    if !matches!(function.kind(), "arrow_function" | "function_expression") {
        return None;
    }
    let arguments = function.parent()?;
    if arguments.kind() != "arguments" {
        return None;
    }
    let argument_index = named_index(arguments, function)?;
    let call = arguments.parent()?;
    let (new, callee) = match call.kind() {
        "call_expression" => ("", call.child_by_field_name("function")?),
        "new_expression" => ("new ", call.child_by_field_name("constructor")?),
        _ => return None,
    };
    if !matches!(callee.kind(), "identifier" | "member_expression") {
        return None;
    }
    let callee = cut(text_of(callee, source), 96);
    Some(format!(
        "{new}{callee}() => {argument_index}.{parameter_index}"
    ))
}

/// The index of `child` among the named children of `parent`, comments
/// left out.
fn named_index(parent: Node, child: Node) -> Option<usize> {
    let mut cursor = parent.walk();
    parent
        .named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .position(|n| n.id() == child.id())
}

/// Typed locals (scoped to their callable) and fields (scoped to their
/// item), one per position.
pub(super) fn add_typed_names(
    mut typed: Vec<RawTyped>,
    ranges: &[(usize, usize)],
    call_by_range: &FxHashMap<(usize, usize), u32>,
    summary: &mut Summary,
) {
    typed.sort_by_key(|t| t.position);
    // Two patterns may type one binding: a written type and a value.
    typed.dedup_by(|later, earlier| {
        // A constructor's `private x: T` is a parameter and a field.
        if later.position != earlier.position || later.is_field != earlier.is_field {
            return false;
        }
        if earlier.type_text.is_empty() {
            earlier.type_text = std::mem::take(&mut later.type_text);
        }
        earlier.value = earlier.value.or(later.value);
        earlier.element |= later.element;
        if earlier.iterable.is_empty() {
            earlier.iterable = std::mem::take(&mut later.iterable);
        }
        true
    });
    typed.truncate(MAX_ENTRIES_PER_FILE);
    let typed_positions: Vec<usize> = typed.iter().map(|t| t.position).collect();
    let typed_scopes = enclosing_of_positions(ranges, &typed_positions);
    for (t, scope) in typed.into_iter().zip(typed_scopes) {
        let (value_call, peel) = match t.value {
            Some((start, end, peel)) => match call_by_range.get(&(start, end)) {
                Some(index) => (Some(*index), peel),
                None => (None, 0),
            },
            None => (None, 0),
        };
        if t.type_text.is_empty() && value_call.is_none() && t.iterable.is_empty() {
            continue;
        }
        let entry = TypedName {
            value_call,
            peel,
            element: t.element,
            iterable: t.iterable,
            scope: if t.is_field {
                scope
            } else {
                callable_ancestor(&summary.items, scope)
            },
            name: t.name,
            type_text: t.type_text,
            line: t.row as u32 + 1,
        };
        if t.is_field {
            summary.fields.push(entry);
        } else {
            summary.typed_locals.push(entry);
        }
    }
}

/// Most `?` / `.unwrap()` layers read off one `let` value.
const MAX_PEEL: u8 = 4;

/// The call a `let` value's type comes from, and how many `Result` /
/// `Option` layers are peeled off its return type: `f(..)?` (1),
/// `a.b().unwrap()` (1), `&T::new()` (0), `(g().await?)` (1). `None` when
/// the value is not a call (a literal, a field, a closure, ...).
pub(super) fn local_value_call<'tree>(
    value: Node<'tree>,
    source: &str,
) -> Option<(Node<'tree>, u8)> {
    let mut node = value;
    let mut peel = 0u8;
    loop {
        match node.kind() {
            "try_expression" => {
                peel = peel.checked_add(1).filter(|p| *p <= MAX_PEEL)?;
                node = node.named_child(0)?;
            }
            "await_expression" | "parenthesized_expression" => node = node.named_child(0)?,
            "reference_expression" => node = node.child_by_field_name("value")?,
            "call_expression" => {
                let function = node.child_by_field_name("function")?;
                let peels = function.kind() == "field_expression"
                    && function.child_by_field_name("field").is_some_and(|field| {
                        matches!(
                            text_of(field, source),
                            "unwrap" | "expect" | "unwrap_or_default"
                        )
                    });
                if !peels {
                    return Some((node, peel));
                }
                peel = peel.checked_add(1).filter(|p| *p <= MAX_PEEL)?;
                node = function.child_by_field_name("value")?;
            }
            _ => return None,
        }
    }
}
