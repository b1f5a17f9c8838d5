//! Which blocks are tests, for `impact`: rules per language read from
//! what a block's metadata gives (language, path, kind, name), the
//! attribute lines written above it in its file (the file block's
//! content), and, for Rust, the modules it is defined in. The rules, each
//! reported by name (`test_rule` in `impact`'s answer):
//!
//! * `rust_test_attribute`: a Rust function or method with an attribute
//!   `#[test]`, `#[<path>::test]` (`#[tokio::test]`), `#[rstest]` or
//!   `#[test_case(..)]` on the lines right above it;
//! * `rust_cfg_test_module`: a Rust block inside a module marked
//!   `#[cfg(test)]` (any `cfg` whose predicate names `test`);
//! * `rust_tests_directory`: any Rust block under a `tests/` directory
//!   (integration tests), and a file named `tests.rs` (the usual
//!   out-of-line `#[cfg(test)] mod tests;`, whose attribute sits in the
//!   parent file);
//! * `python_test_function`: a Python function or method named `test*`;
//! * `python_test_file`: any Python block in `test_*.py`, `*_test.py` or
//!   `conftest.py`;
//! * `go_test_function`: a Go function named `Test*` in a `*_test.go` file;
//! * `js_test_file`: any JavaScript/TypeScript block in a `*.test.*` or
//!   `*.spec.*` file or under a `__tests__/` directory (test bodies there
//!   are anonymous callbacks, whose calls the file block makes).
//!
//! C and Zig have no rule.

use std::collections::HashMap;

use kausal_ingest::{BlockMeta, Language};
use kausal_storage::{BlockId, EdgeType, StorageError};

use crate::provenance::file_block_id;
use crate::reader::Reader;

/// Most enclosing modules walked up to find `#[cfg(test)]`.
const MAX_MODULE_NESTING: usize = 16;

/// What a block is, as the rules read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub language: &'a str,
    pub path: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn has_directory(path: &str, directory: &str) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|component| component == directory)
}

fn is_function(kind: &str) -> bool {
    matches!(kind, "function" | "method")
}

/// An attribute that makes a Rust function a test.
fn is_test_attribute(line: &str) -> bool {
    let Some(inner) = line.trim().strip_prefix("#[") else {
        return false;
    };
    let path = inner
        .split(|c: char| c == '(' || c == ']' || c.is_whitespace())
        .next()
        .unwrap_or("");
    path == "test"
        || path.ends_with("::test")
        || path == "rstest"
        || path == "test_case"
        || path.ends_with("::test_case")
}

/// `#[cfg(test)]`, `#[cfg(all(test, feature = "x"))]`, ...
pub(crate) fn is_cfg_test(line: &str) -> bool {
    let Some(predicate) = line.trim().strip_prefix("#[cfg(") else {
        return false;
    };
    predicate
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|word| word == "test")
}

/// The rule that makes `subject` a test, given the attribute lines above
/// it and whether a module around it is `#[cfg(test)]`; `None` when no
/// rule does.
pub(crate) fn test_rule(
    subject: Subject<'_>,
    attributes: &[&str],
    in_cfg_test_module: bool,
) -> Option<&'static str> {
    let Subject {
        language,
        path,
        kind,
        name,
    } = subject;
    let file = file_name(path);
    match language {
        "rust" => {
            if is_function(kind) && attributes.iter().any(|line| is_test_attribute(line)) {
                Some("rust_test_attribute")
            } else if in_cfg_test_module {
                Some("rust_cfg_test_module")
            } else if has_directory(path, "tests") || file == "tests.rs" {
                Some("rust_tests_directory")
            } else {
                None
            }
        }
        "python" => {
            if is_function(kind) && name.starts_with("test") {
                Some("python_test_function")
            } else if (file.starts_with("test_") && file.ends_with(".py"))
                || file.ends_with("_test.py")
                || file == "conftest.py"
            {
                Some("python_test_file")
            } else {
                None
            }
        }
        "go" => (is_function(kind) && name.starts_with("Test") && file.ends_with("_test.go"))
            .then_some("go_test_function"),
        "javascript" | "typescript" | "tsx" => {
            let mut parts = file.split('.').skip(1);
            let marked = parts.any(|part| part == "test" || part == "spec");
            (marked || has_directory(path, "__tests__")).then_some("js_test_file")
        }
        _ => None,
    }
}

/// Attribute lines right above line `start` (1-based) of `text`, and the
/// start line itself when it begins with one (`#[test] fn f()`): blank
/// lines and comments between are passed over.
pub(crate) fn attributes_above(text: &str, start: u32) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let at = usize::try_from(start).unwrap_or(0).saturating_sub(1);
    let mut found = Vec::new();
    if let Some(line) = lines.get(at).map(|l| l.trim())
        && line.starts_with("#[")
    {
        found.push(line);
    }
    for line in lines[..at.min(lines.len())].iter().rev() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if !line.starts_with("#[") {
            break;
        }
        found.push(line);
    }
    found
}

/// Decides which blocks are tests, reading each file's text once.
pub(crate) struct TestDetector<'r> {
    reader: &'r Reader,
    /// File text by path (`None`: no file block).
    files: HashMap<String, Option<String>>,
}

impl<'r> TestDetector<'r> {
    pub(crate) fn new(reader: &'r Reader) -> Self {
        Self {
            reader,
            files: HashMap::new(),
        }
    }

    fn file_text(&mut self, language: &str, path: &str) -> Result<Option<&str>, StorageError> {
        if !self.files.contains_key(path) {
            let text = match Language::from_name(language) {
                Some(language) => self
                    .reader
                    .snapshot()
                    .find_block(file_block_id(language, path))?
                    .map(|view| view.content.to_string()),
                None => None,
            };
            self.files.insert(path.to_string(), text);
        }
        Ok(self.files.get(path).and_then(|text| text.as_deref()))
    }

    /// Whether a module `id` is defined in (up the `defined_in` edges) is
    /// marked `#[cfg(test)]` in `text`.
    fn in_cfg_test_module(&self, id: BlockId, text: &str) -> Result<bool, StorageError> {
        let snapshot = self.reader.snapshot();
        let mut current = id;
        for _ in 0..MAX_MODULE_NESTING {
            let parent = snapshot
                .find_outgoing_edges(current)?
                .into_iter()
                .find(|edge| edge.edge_type == EdgeType::DefinedIn);
            let Some(parent) = parent else {
                return Ok(false);
            };
            let Some(view) = snapshot.find_block(parent.target)? else {
                return Ok(false);
            };
            let meta = BlockMeta::parse(view.metadata_json).unwrap_or_default();
            if meta.is_file() {
                return Ok(false);
            }
            if meta.kind == "module"
                && attributes_above(text, meta.start_line)
                    .iter()
                    .any(|line| is_cfg_test(line))
            {
                return Ok(true);
            }
            current = parent.target;
        }
        Ok(false)
    }

    /// The rule that makes block `id` (with metadata `meta`) a test.
    pub(crate) fn rule(
        &mut self,
        id: BlockId,
        meta: &BlockMeta<'_>,
    ) -> Result<Option<&'static str>, StorageError> {
        let subject = Subject {
            language: &meta.language,
            path: &meta.path,
            kind: &meta.kind,
            name: &meta.name,
        };
        if meta.language != "rust" || meta.is_file() {
            return Ok(test_rule(subject, &[], false));
        }
        let Some(text) = self.file_text(&meta.language, &meta.path)? else {
            return Ok(test_rule(subject, &[], false));
        };
        // The text is cached in `self`; a copy of the few lines needed
        // keeps the borrow short.
        let text = text.to_string();
        let attributes = attributes_above(&text, meta.start_line);
        let in_module = self.in_cfg_test_module(id, &text)?;
        Ok(test_rule(subject, &attributes, in_module))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(language: &str, path: &str, kind: &str, name: &str) -> Option<&'static str> {
        test_rule(
            Subject {
                language,
                path,
                kind,
                name,
            },
            &[],
            false,
        )
    }

    #[test]
    fn rust_tests_by_attribute_module_and_directory() {
        let subject = Subject {
            language: "rust",
            path: "src/lib.rs",
            kind: "function",
            name: "parses",
        };
        for attribute in ["#[test]", "#[tokio::test]", "#[rstest]", "#[test_case(1)]"] {
            assert_eq!(
                test_rule(subject, &["#[ignore]", attribute], false),
                Some("rust_test_attribute"),
                "{attribute}"
            );
        }
        assert_eq!(
            test_rule(subject, &["#[inline]", "#[testing]"], false),
            None
        );
        assert_eq!(test_rule(subject, &[], true), Some("rust_cfg_test_module"));
        assert_eq!(rule("rust", "src/lib.rs", "function", "test_x"), None);
        assert_eq!(
            rule("rust", "crates/cli/tests/cli.rs", "function", "helper"),
            Some("rust_tests_directory")
        );
        assert_eq!(
            rule("rust", "src/tests.rs", "file", "tests.rs"),
            Some("rust_tests_directory")
        );
        assert_eq!(rule("rust", "src/tests_helpers.rs", "function", "x"), None);
        assert!(is_cfg_test("#[cfg(test)]"));
        assert!(is_cfg_test("#[cfg(all(test, feature = \"x\"))]"));
        assert!(!is_cfg_test("#[cfg(feature = \"testing\")]"));
    }

    #[test]
    fn python_go_and_javascript_tests() {
        assert_eq!(
            rule("python", "pkg/util.py", "function", "test_parse"),
            Some("python_test_function")
        );
        assert_eq!(rule("python", "pkg/util.py", "function", "parse"), None);
        for file in ["tests/test_util.py", "util_test.py", "conftest.py"] {
            assert_eq!(
                rule("python", file, "function", "helper"),
                Some("python_test_file"),
                "{file}"
            );
        }
        assert_eq!(
            rule("go", "x/parse_test.go", "function", "TestParse"),
            Some("go_test_function")
        );
        assert_eq!(rule("go", "x/parse.go", "function", "TestParse"), None);
        assert_eq!(rule("go", "x/parse_test.go", "function", "helper"), None);
        for file in [
            "src/a.test.ts",
            "src/a.spec.js",
            "src/__tests__/a.ts",
            "b.test.tsx",
        ] {
            let language = if file.ends_with(".js") {
                "javascript"
            } else if file.ends_with(".tsx") {
                "tsx"
            } else {
                "typescript"
            };
            assert_eq!(
                rule(language, file, "file", "a"),
                Some("js_test_file"),
                "{file}"
            );
        }
        assert_eq!(rule("typescript", "src/testing.ts", "function", "t"), None);
        assert_eq!(rule("c", "tests/x.c", "function", "test_x"), None);
    }

    #[test]
    fn attributes_are_read_above_the_start_line_across_blanks_and_comments() {
        let text = "mod a {\n    #[test]\n    // why\n\n    #[ignore]\n    fn t() {}\n    #[test] fn u() {}\n}\n";
        assert_eq!(attributes_above(text, 6), ["#[ignore]", "#[test]"]);
        assert_eq!(attributes_above(text, 7), ["#[test] fn u() {}"]);
        assert!(attributes_above(text, 1).is_empty());
        assert!(attributes_above(text, 99).is_empty());
        assert!(attributes_above("", 0).is_empty());
    }
}
