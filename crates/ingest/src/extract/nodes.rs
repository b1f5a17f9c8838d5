//! What a syntax node says beyond its captures: how many errors a tree
//! holds, and an item's header (its signature) up to its body.

use tree_sitter::Node;

use crate::limits::MAX_SIGNATURE_BYTES;

/// ERROR and MISSING nodes, counted with a cursor (no recursion), only
/// descending into subtrees that contain an error.
pub(super) fn count_errors(root: Node) -> u32 {
    let mut count = 0u32;
    for_each_error(root, |_| count = count.saturating_add(1));
    count
}

/// How much of a file the parser could not read: the bytes its outermost
/// ERROR nodes cover (a MISSING node counts one), then their number. A
/// count of nodes alone prefers one ERROR node that swallowed half the
/// file (the Linux `slab.h` as written, read from line 1) to a handful of
/// small ones.
pub(super) fn error_extent(root: Node) -> (usize, u32) {
    let (mut bytes, mut count) = (0usize, 0u32);
    for_each_error(root, |node| {
        bytes = bytes.saturating_add((node.end_byte() - node.start_byte()).max(1));
        count = count.saturating_add(1);
    });
    (bytes, count)
}

/// Calls `each` for every outermost ERROR or MISSING node, with a cursor.
fn for_each_error(root: Node, mut each: impl FnMut(Node)) {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            each(node);
        }
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The item's header: its text up to the body, whitespace collapsed.
pub(super) fn signature(node: Node, body: Option<Node>, source: &str) -> String {
    let start = node.start_byte();
    let end = match body {
        Some(body) if body.start_byte() >= start => body.start_byte(),
        // A Rust type alias is all signature, however many lines it takes
        // (`pub type DiMatrix<\n N, ...> = MatrixGraph<..>;`).
        _ if node.kind() == "type_item" => node.end_byte(),
        _ => {
            let rest = source.get(start..node.end_byte()).unwrap_or("");
            start + rest.find('\n').unwrap_or(rest.len())
        }
    };
    let raw = source.get(start..end).unwrap_or("");
    let mut out = String::with_capacity(raw.len().min(MAX_SIGNATURE_BYTES));
    for word in raw.split_whitespace() {
        if out.len() + word.len() + 1 > MAX_SIGNATURE_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.trim_end_matches(['{', ':', ' ']).to_string()
}
