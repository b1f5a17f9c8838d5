//! Calls inside macro arguments (`assert_eq!(f(x), 1)`, `write!(f, "{}",
//! self.name())`). tree-sitter keeps a macro's arguments as token trees,
//! so calls are read off each tree's direct children by shape: `name
//! (...)`, `recv . name (...)` (`recv` an identifier or `self`) and
//! `Type :: name (...)`, each followed by a token tree opened with `(`.
//! Unnamed tokens between the named ones are stepped over (the `!` of
//! `name!(..)`, the `<` of `f::<T>(..)`), as the query anchors of the
//! patterns this stands for did, so the calls found are the same.

use tree_sitter::Node;

use super::{MatchCaptures, Matched};
use crate::language::Role;

impl Matched {
    /// Records the calls among the direct children of token tree `tree`.
    pub(super) fn add_macro_calls(&mut self, tree: Node, source: &str) {
        let mut cursor = tree.walk();
        let children: Vec<Node> = tree.children(&mut cursor).collect();
        // The named child before the current one, and the unnamed tokens
        // (`.`, `::`) since it.
        let mut previous: Option<Node> = None;
        let (mut dot, mut colons) = (false, false);
        for (at, node) in children.iter().enumerate() {
            if !node.is_named() {
                dot |= node.kind() == ".";
                colons |= node.kind() == "::";
                continue;
            }
            // An identifier is a call when the next named token is an
            // argument list.
            if node.kind() == "identifier"
                && children[at + 1..]
                    .iter()
                    .find(|n| n.is_named())
                    .is_some_and(|n| opens_arguments(*n))
            {
                self.add_macro_call(*node, previous, dot, colons, source);
            }
            previous = Some(*node);
            (dot, colons) = (false, false);
        }
    }

    /// The calls named by identifier `name`: a bare call, and a method or
    /// path call when `previous` and a `.` or `::` come before it.
    fn add_macro_call(
        &mut self,
        name: Node,
        previous: Option<Node>,
        dot: bool,
        colons: bool,
        source: &str,
    ) {
        let call = |role| MatchCaptures {
            main: Some((role, name)),
            name: Some(name),
            in_macro: true,
            ..MatchCaptures::default()
        };
        self.add_call(Role::Call, name, &call(Role::Call), source);
        let Some(first) = previous else {
            return;
        };
        if dot && matches!(first.kind(), "identifier" | "self") {
            let method = MatchCaptures {
                receiver: Some(first),
                ..call(Role::MethodCall)
            };
            self.add_call(Role::MethodCall, name, &method, source);
        }
        if colons && first.kind() == "identifier" {
            let path = MatchCaptures {
                qualifier: Some(first),
                ..call(Role::Call)
            };
            self.add_call(Role::Call, name, &path, source);
        }
    }
}

/// A token tree whose first token is `(`: an argument list.
fn opens_arguments(node: Node) -> bool {
    node.kind() == "token_tree" && node.child(0).is_some_and(|open| open.kind() == "(")
}
