//! Doc comments: the first line of the doc comment before an item, and of
//! a file's leading doc comment.

use crate::language::Language;
use crate::limits::MAX_DOC_BYTES;
use crate::text::{cut, first_doc_line};

/// First line of the doc comment right before an item starting at
/// `start`: the earliest of the comments that precede it with only
/// whitespace, attributes (`#[..]`), decorators (`@..`) or `export` between.
/// Rust and Zig count only `///` and `/** */` comments as docs.
pub(super) fn preceding_doc(
    language: Language,
    start: usize,
    comments: &[(usize, usize)],
    source: &str,
) -> String {
    let is_doc = |(s, e): (usize, usize)| {
        let text = source.get(s..e).unwrap_or("");
        match language {
            Language::Rust => text.starts_with("///") || text.starts_with("/**"),
            Language::Zig => text.starts_with("///"),
            _ => true,
        }
    };
    let gap_is_blank = |from: usize, to: usize| {
        source.get(from..to).is_some_and(|gap| {
            gap.lines().all(|line| {
                let line = line.trim();
                line.is_empty()
                    || line.starts_with("#[")
                    || line.starts_with('@')
                    || line == "export"
                    || line == "export default"
            })
        })
    };
    let mut index = comments.partition_point(|(_, end)| *end <= start);
    let mut anchor = start;
    let mut earliest = None;
    while index > 0 {
        let comment = comments[index - 1];
        if !is_doc(comment) || !gap_is_blank(comment.1, anchor) {
            break;
        }
        earliest = Some(comment);
        anchor = comment.0;
        index -= 1;
    }
    earliest
        .map(|(s, e)| first_doc_line(source.get(s..e).unwrap_or("")))
        .unwrap_or_default()
}

/// First line of a file's leading doc comment (`//!` in Rust and Zig).
pub(super) fn file_doc(language: Language, source: &str) -> String {
    let first = source.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        return String::new();
    };
    let is_doc = match language {
        Language::Rust | Language::Zig => first.starts_with("//!"),
        Language::Python => first.starts_with("\"\"\"") || first.starts_with('#'),
        _ => first.starts_with("//") || first.starts_with("/*"),
    };
    if is_doc {
        cut(&first_doc_line(first), MAX_DOC_BYTES).to_string()
    } else {
        String::new()
    }
}
