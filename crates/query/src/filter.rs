//! `Filter`: predicates over blocks for scans — source_uri prefix or
//! equality, a metadata field equal to a JSON value, a content substring —
//! combined with and/or.

use kausal_storage::BlockView;
use serde_json::Value;

use crate::{QueryError, QueryResult};

/// Most nested filters in one query.
pub const MAX_FILTER_NODES: usize = 256;

/// A predicate over blocks.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `source_uri` starts with this.
    SourceUriPrefix(String),
    /// `source_uri` is exactly this.
    SourceUriEquals(String),
    /// The metadata field at `path` (dot-separated, e.g. `name` or
    /// `location.file`) equals `value`.
    MetadataEquals {
        /// Dot-separated path into the metadata object.
        path: String,
        /// The JSON value the field must equal.
        value: Value,
    },
    /// `content` contains this substring.
    ContentContains(String),
    /// Every filter matches (true when empty).
    And(Vec<Filter>),
    /// Some filter matches (false when empty).
    Or(Vec<Filter>),
}

impl Filter {
    /// Shorthand for a metadata string field.
    pub fn metadata(path: impl Into<String>, value: impl Into<Value>) -> Self {
        Filter::MetadataEquals {
            path: path.into(),
            value: value.into(),
        }
    }

    fn node_count(&self) -> usize {
        match self {
            Filter::And(filters) | Filter::Or(filters) => {
                1 + filters.iter().map(Filter::node_count).sum::<usize>()
            }
            _ => 1,
        }
    }

    /// Rejects empty metadata paths and oversized filter trees.
    pub fn validate(&self) -> QueryResult<()> {
        let nodes = self.node_count();
        if nodes > MAX_FILTER_NODES {
            return Err(QueryError::invalid(format!(
                "filter has {nodes} nodes, limit is {MAX_FILTER_NODES}"
            )));
        }
        self.validate_paths()
    }

    fn validate_paths(&self) -> QueryResult<()> {
        match self {
            Filter::MetadataEquals { path, .. } => {
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(QueryError::invalid(format!(
                        "invalid metadata path {path:?}"
                    )));
                }
                Ok(())
            }
            Filter::And(filters) | Filter::Or(filters) => {
                filters.iter().try_for_each(Filter::validate_paths)
            }
            _ => Ok(()),
        }
    }

    /// True when `block` matches. `metadata` caches the block's parsed
    /// metadata across the filter tree.
    pub(crate) fn matches(
        &self,
        block: &BlockView<'_>,
        metadata: &mut Option<Option<Value>>,
    ) -> bool {
        match self {
            Filter::SourceUriPrefix(prefix) => block.source_uri.starts_with(prefix.as_str()),
            Filter::SourceUriEquals(uri) => block.source_uri == uri,
            Filter::ContentContains(needle) => block.content.contains(needle.as_str()),
            Filter::MetadataEquals { path, value } => {
                let parsed =
                    metadata.get_or_insert_with(|| serde_json::from_str(block.metadata_json).ok());
                let Some(root) = parsed.as_ref() else {
                    return false;
                };
                let mut current = root;
                for key in path.split('.') {
                    match current.get(key) {
                        Some(next) => current = next,
                        None => return false,
                    }
                }
                current == value
            }
            Filter::And(filters) => filters.iter().all(|filter| filter.matches(block, metadata)),
            Filter::Or(filters) => filters.iter().any(|filter| filter.matches(block, metadata)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kausal_storage::BlockId;

    fn view<'a>(uri: &'a str, metadata: &'a str, content: &'a str) -> BlockView<'a> {
        BlockView {
            id: BlockId::from_u128(1),
            sequence: 1,
            source_uri: uri,
            metadata_json: metadata,
            content,
        }
    }

    #[test]
    fn predicates_and_combinations() {
        let block = view(
            "src/parse/lexer.rs",
            r#"{"name":"lex","kind":"function","location":{"line":12}}"#,
            "fn lex() { next_token() }",
        );
        let matches = |filter: &Filter| filter.matches(&block, &mut None);
        assert!(matches(&Filter::SourceUriPrefix("src/parse/".into())));
        assert!(!matches(&Filter::SourceUriPrefix("src/eval/".into())));
        assert!(matches(&Filter::SourceUriEquals(
            "src/parse/lexer.rs".into()
        )));
        assert!(matches(&Filter::metadata("name", "lex")));
        assert!(matches(&Filter::metadata("location.line", 12)));
        assert!(!matches(&Filter::metadata("location.line", 13)));
        assert!(!matches(&Filter::metadata("missing", "x")));
        assert!(matches(&Filter::ContentContains("next_token".into())));
        assert!(matches(&Filter::And(vec![
            Filter::metadata("kind", "function"),
            Filter::ContentContains("lex".into()),
        ])));
        assert!(!matches(&Filter::And(vec![
            Filter::metadata("kind", "type"),
            Filter::ContentContains("lex".into()),
        ])));
        assert!(matches(&Filter::Or(vec![
            Filter::metadata("kind", "type"),
            Filter::ContentContains("lex".into()),
        ])));
        assert!(matches(&Filter::And(vec![])));
        assert!(!matches(&Filter::Or(vec![])));
    }

    #[test]
    fn validation() {
        assert!(Filter::metadata("", "x").validate().is_err());
        assert!(Filter::metadata("a..b", "x").validate().is_err());
        assert!(Filter::metadata("a.b", "x").validate().is_ok());
        let deep = Filter::And(
            (0..300)
                .map(|_| Filter::ContentContains("x".into()))
                .collect(),
        );
        assert!(deep.validate().is_err());
    }
}
