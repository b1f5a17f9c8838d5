//! External stubs: one block per (language, name) of a function the tree
//! calls but does not define (a C call of `kmalloc` in an ingest of
//! `fs/`), so `kausal callers kmalloc` answers on a subtree. A stub has
//! kind [`EXTERNAL_KIND`], no source, and the `source_uri`
//! `kausal:external/<language>`; its id is a hash of the language and the
//! name, so the same call gives the same stub in every ingest. It exists
//! while some call edge leads to it: ingest writes the stubs a resolution
//! names and deletes the ones it no longer names, each in its own batch.
//!
//! Only a name no item of the language has gets a stub, so a stub is
//! never listed by `find` beside a definition of the same name; the name
//! index gets its bare name as a key (`callers kmalloc`).

use kausal_storage::{BlockId, ContextBlock, EdgeType, GraphEdge};

use crate::hash::StableHasher;
use crate::language::Language;
use crate::meta::BlockMeta;

/// `kind` of a stub block.
pub const EXTERNAL_KIND: &str = "external";
/// Prefix of a stub's `source_uri` (the language name follows).
pub const EXTERNAL_URI_PREFIX: &str = "kausal:external/";

/// The block id of the stub of `name` in `language`.
pub fn stub_id(language: Language, name: &str) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest external stub v1")
        .field(language.name().as_bytes())
        .field(name.as_bytes())
        .finish();
    BlockId::from_u128(hash.max(1))
}

/// The `source_uri` of `language`'s stubs.
pub fn stub_uri(language: Language) -> String {
    format!("{EXTERNAL_URI_PREFIX}{}", language.name())
}

/// True for a stub's `source_uri`.
pub fn is_stub_uri(uri: &str) -> bool {
    uri.starts_with(EXTERNAL_URI_PREFIX)
}

/// The stub block of `name` in `language`: metadata only (no lines, no
/// source), its content the name.
pub fn stub_block(language: Language, name: &str) -> Result<ContextBlock, String> {
    let uri = stub_uri(language);
    let meta = BlockMeta {
        kind: EXTERNAL_KIND.into(),
        name: name.into(),
        qualified_name: name.into(),
        language: language.name().into(),
        path: uri.as_str().into(),
        ..BlockMeta::default()
    };
    let json = serde_json::to_string(&meta).map_err(|e| e.to_string())?;
    Ok(ContextBlock::new(
        stub_id(language, name),
        uri,
        json,
        name.to_string(),
    ))
}

/// The name-index edge that lets a lookup of `name` find its stub.
pub fn stub_name_edge(language: Language, name: &str) -> GraphEdge {
    GraphEdge::new(
        crate::name_index::key_id(name),
        stub_id(language, name),
        EdgeType::Names,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_are_deterministic_per_language_and_name() {
        assert_eq!(
            stub_id(Language::C, "kmalloc"),
            stub_id(Language::C, "kmalloc")
        );
        assert_ne!(
            stub_id(Language::C, "kmalloc"),
            stub_id(Language::C, "kfree")
        );
        assert_ne!(
            stub_id(Language::C, "kmalloc"),
            stub_id(Language::Go, "kmalloc")
        );
        let block = stub_block(Language::C, "kmalloc").expect("block");
        assert_eq!(block.source_uri, "kausal:external/c");
        assert!(
            block
                .metadata_json
                .starts_with(r#"{"kind":"external","name":"kmalloc""#)
        );
        assert!(is_stub_uri(&block.source_uri));
    }
}
