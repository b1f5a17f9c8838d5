//! Names and ids: each file's module path, each item's qualified name
//! (`crate::sstable::reader::TableReader::find`), and the stable block id
//! hashed from (language, path, qualified name, kind, ordinal). The ordinal
//! counts earlier items of the file with the same qualified name and kind,
//! so it is non-zero only for true duplicates and ids survive edits
//! elsewhere in the file.

use kausal_storage::BlockId;
use rustc_hash::FxHashMap;

use crate::hash::StableHasher;
use crate::language::Language;
use crate::summary::{ItemKind, Summary};

/// Ids and qualified names of one file and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    /// Id of the file's own block (`ItemKind::File`).
    pub file_id: BlockId,
    /// The file's module path (`crate::a::b`, `pkg.util`).
    pub module: String,
    /// Block id of each item, indexed like `Summary::items`.
    pub item_ids: Vec<BlockId>,
    /// Qualified name of each item (`crate::a::Table::find`), indexed like
    /// `Summary::items`.
    pub qualified: Vec<String>,
}

/// Stable id of a block.
pub fn block_id(
    language: Language,
    path: &str,
    qualified_name: &str,
    kind: ItemKind,
    ordinal: u32,
) -> BlockId {
    let hash = StableHasher::new()
        .field(b"kausal-ingest block v1")
        .field(language.name().as_bytes())
        .field(path.as_bytes())
        .field(qualified_name.as_bytes())
        .field(kind.name().as_bytes())
        .number(u64::from(ordinal))
        .finish();
    // The all-zero id is reserved; a hash of zero is mapped to one.
    BlockId::from_u128(hash.max(1))
}

/// Where a Rust file sits: its crate (the directory holding `src`, or the
/// file itself for tests, examples, benches, build scripts and binaries)
/// and its module path inside that crate.
pub fn rust_crate_and_module(path: &str) -> (String, Vec<String>) {
    let (crate_key, rest) = if let Some(rest) = path.strip_prefix("src/") {
        ("src".to_string(), rest)
    } else if let Some(index) = path.rfind("/src/") {
        (path[..index + 4].to_string(), &path[index + 5..])
    } else {
        return (path.to_string(), Vec::new());
    };
    if rest.starts_with("bin/") {
        return (path.to_string(), Vec::new());
    }
    let mut segments: Vec<String> = rest
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if segments.len() == 1 && (segments[0] == "lib" || segments[0] == "main") {
        segments.clear();
    }
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    (crate_key, segments)
}

/// The module path of a file as shown in `qualified_name`.
pub fn module_name(language: Language, path: &str) -> String {
    match language {
        Language::Rust => {
            let (_, segments) = rust_crate_and_module(path);
            let mut name = String::from("crate");
            for segment in segments {
                name.push_str("::");
                name.push_str(&segment);
            }
            name
        }
        _ => {
            let separator = language.scope_rules().separator;
            let stem = match path.rsplit_once('.') {
                Some((stem, _)) => stem,
                None => path,
            };
            let stem = if language == Language::Python {
                stem.strip_suffix("/__init__").unwrap_or(stem)
            } else {
                stem
            };
            stem.replace('/', separator)
        }
    }
}

/// Computes the file's and items' names and ids.
pub fn name_file(language: Language, path: &str, summary: &Summary) -> FileNames {
    let module = module_name(language, path);
    let separator = language.scope_rules().separator;
    let file_id = block_id(language, path, "", ItemKind::File, 0);
    let mut qualified: Vec<String> = Vec::with_capacity(summary.items.len());
    // What children of an item are named under (impl -> its type).
    let mut child_prefix: Vec<String> = Vec::with_capacity(summary.items.len());
    let mut item_ids = Vec::with_capacity(summary.items.len());
    let mut ordinals: FxHashMap<(String, ItemKind), u32> = FxHashMap::default();
    for item in &summary.items {
        // Parents precede children, so their names are known.
        // Go methods are declared at top level, named after their receiver type.
        let receiver_prefix;
        let parent_prefix = match item.parent.and_then(|p| child_prefix.get(p as usize)) {
            Some(prefix) => prefix.as_str(),
            None if item.kind == ItemKind::Method && !item.impl_type.is_empty() => {
                receiver_prefix = format!("{module}{separator}{}", item.impl_type);
                &receiver_prefix
            }
            None => &module,
        };
        let own = if item.kind == ItemKind::Impl {
            format!("<{}>", item.name)
        } else {
            item.name.clone()
        };
        let name = format!("{parent_prefix}{separator}{own}");
        let prefix = if item.kind == ItemKind::Impl {
            if item.impl_trait.is_empty() {
                format!("{parent_prefix}{separator}{}", item.impl_type)
            } else {
                format!(
                    "{parent_prefix}{separator}<{} as {}>",
                    item.impl_type, item.impl_trait
                )
            }
        } else {
            name.clone()
        };
        let ordinal = ordinals.entry((name.clone(), item.kind)).or_insert(0);
        item_ids.push(block_id(language, path, &name, item.kind, *ordinal));
        *ordinal += 1;
        qualified.push(name);
        child_prefix.push(prefix);
    }
    FileNames {
        file_id,
        module,
        item_ids,
        qualified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_module_paths() {
        assert_eq!(
            rust_crate_and_module("crates/storage/src/engine/mod.rs"),
            ("crates/storage/src".to_string(), vec!["engine".to_string()])
        );
        assert_eq!(
            rust_crate_and_module("src/lib.rs"),
            ("src".to_string(), vec![])
        );
        assert_eq!(
            rust_crate_and_module("src/a/b.rs"),
            ("src".to_string(), vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            rust_crate_and_module("tests/x.rs"),
            ("tests/x.rs".to_string(), vec![])
        );
        assert_eq!(module_name(Language::Rust, "src/a/mod.rs"), "crate::a");
        assert_eq!(module_name(Language::Python, "pkg/__init__.py"), "pkg");
        assert_eq!(module_name(Language::Go, "cmd/main.go"), "cmd.main");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = block_id(
            Language::Rust,
            "src/a.rs",
            "crate::a::f",
            ItemKind::Function,
            0,
        );
        assert_eq!(
            a,
            block_id(
                Language::Rust,
                "src/a.rs",
                "crate::a::f",
                ItemKind::Function,
                0
            )
        );
        assert_ne!(
            a,
            block_id(
                Language::Rust,
                "src/a.rs",
                "crate::a::f",
                ItemKind::Function,
                1
            )
        );
        assert_ne!(
            a,
            block_id(
                Language::Rust,
                "src/a.rs",
                "crate::a::f",
                ItemKind::Method,
                0
            )
        );
        // Pinned: a change here changes every stored id.
        assert_eq!(a.to_string().len(), 32);
    }
}
