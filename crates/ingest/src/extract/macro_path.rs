//! Paths inside macro arguments: tree-sitter keeps a macro's arguments as
//! token trees, so a call `a::b::f(..)` there is matched by its last two
//! segments, and the rest of the path is read back from the text.

/// The path segments before a `::` that ends `before` (`assert!(a::b::` →
/// `a::b`), read back over identifiers and `::` only; `None` when the path
/// has anything else in it (generics, a leading `::`), so it is not
/// guessed.
pub(super) fn macro_path_prefix(before: &str) -> Option<String> {
    let mut segments = Vec::new();
    let mut rest = before;
    while let Some(stripped) = rest.strip_suffix("::") {
        let stripped = stripped.trim_end();
        let start = stripped
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let segment = &stripped[start..];
        if segment.is_empty() || segment.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        segments.push(segment);
        rest = stripped[..start].trim_end();
        if segments.len() > 16 {
            return None;
        }
    }
    segments.reverse();
    Some(segments.join("::"))
}

#[cfg(test)]
mod tests {
    use super::macro_path_prefix;

    #[test]
    fn reads_the_path_back_over_identifiers_only() {
        assert_eq!(
            macro_path_prefix("assert!(petgraph::").as_deref(),
            Some("petgraph")
        );
        assert_eq!(
            macro_path_prefix("assert!(x && crate :: a::").as_deref(),
            Some("crate::a")
        );
        assert_eq!(macro_path_prefix("vec![<T as U>::"), None);
        assert_eq!(macro_path_prefix("f(::"), None);
        assert_eq!(macro_path_prefix("f(0::"), None);
    }
}
