//! Small text helpers shared by extraction: cutting at char boundaries,
//! doc-comment first lines, and normalising paths and type names as
//! written in source (`Vec::<u8>::new` -> `Vec::new`, `&'a mut Foo<T>` -> `Foo`).

/// `text` cut to at most `max` bytes at a char boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// First non-empty line of a comment or docstring, markers stripped.
pub fn first_doc_line(text: &str) -> String {
    for line in text.lines() {
        let stripped = line
            .trim()
            .trim_start_matches("//!")
            .trim_start_matches("///")
            .trim_start_matches("//")
            .trim_start_matches("/**")
            .trim_start_matches("/*!")
            .trim_start_matches("/*")
            .trim_start_matches('*')
            .trim_start_matches('#')
            .trim_start_matches("\"\"\"")
            .trim_start_matches("'''")
            .trim_end_matches("*/")
            .trim_end_matches("\"\"\"")
            .trim_end_matches("'''")
            .trim();
        if !stripped.is_empty() {
            return stripped.to_string();
        }
    }
    String::new()
}

/// Removes generic argument lists (`<...>`, nested) from `text`.
fn strip_generics(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A call path as written, with whitespace and turbofish generics removed:
/// `Vec::<u8>::with_capacity` -> `Vec::with_capacity`. A qualified path
/// (`<T as Trait>::f`) is kept as written, starting with `<`.
pub fn normalize_path_text(text: &str) -> String {
    if text.trim_start().starts_with('<') {
        return text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let stripped = strip_generics(text);
    let compact: String = stripped.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .replace("::::", "::")
        .trim_end_matches("::")
        .to_string()
}

/// A type as written, reduced to its path: references, `mut`, `dyn`,
/// lifetimes and generic arguments removed (`&'a mut a::Foo<T>` -> `a::Foo`).
pub fn normalize_type_text(text: &str) -> String {
    // Most types are written as a bare path (`Table`, `a::Foo`): nothing
    // to remove but leading or trailing `::`, and one allocation.
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        && !matches!(text, "mut" | "dyn" | "const")
    {
        return text
            .trim_start_matches("::")
            .trim_end_matches("::")
            .to_string();
    }
    let stripped = strip_generics(text);
    let mut words = Vec::new();
    for word in stripped.split_whitespace() {
        let word = word.trim_start_matches('&').trim_start_matches('*');
        if word.is_empty() || word.starts_with('\'') || matches!(word, "mut" | "dyn" | "const") {
            continue;
        }
        words.push(word);
    }
    words
        .join("")
        .trim_start_matches("::")
        .trim_end_matches("::")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_paths_and_types() {
        assert_eq!(normalize_path_text("Vec::<u8>::new"), "Vec::new");
        assert_eq!(normalize_path_text("crate :: a::b"), "crate::a::b");
        assert_eq!(normalize_type_text("&'a mut a::Foo<T, U>"), "a::Foo");
        assert_eq!(normalize_type_text("Box<dyn Fn()>"), "Box");
        assert_eq!(normalize_type_text("UnGraph::<&str, ()>"), "UnGraph");
        // The bare-path fast path gives what the general rule gives.
        for bare in [
            "Table", "a::Foo", "::a::b::", "mut", "dyn", "const", "", "::",
        ] {
            let general = {
                let words: Vec<&str> = bare
                    .split_whitespace()
                    .filter(|w| !matches!(*w, "mut" | "dyn" | "const"))
                    .collect();
                words
                    .join("")
                    .trim_start_matches("::")
                    .trim_end_matches("::")
                    .to_string()
            };
            assert_eq!(normalize_type_text(bare), general, "{bare:?}");
        }
        assert_eq!(
            first_doc_line("/// Reads a table.\n/// more"),
            "Reads a table."
        );
        assert_eq!(first_doc_line("\"\"\"\n  Doc here.\n\"\"\""), "Doc here.");
        assert_eq!(cut("héllo", 2), "h");
    }
}
