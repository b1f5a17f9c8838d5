//! Edits in one file that change how calls in *another, unedited* file
//! resolve, each through a different path of dependence: a type alias a
//! signature names, a function's return type, a field's type, a trait
//! impl bringing default methods, a name made ambiguous, a method added.
//! Re-ingest resolves only the files an edit can affect
//! (`resolve/rust/incremental.rs`); each case checks that the edit really
//! moves an edge in the unedited file (so the case tests something) and
//! that the incremental graph equals a fresh ingest.

mod support;

use std::path::Path;
use std::sync::Arc;

use kausal_ingest::Ingester;
use kausal_vfs::{OsVfs, Vfs};
use support::*;

const CARGO: &str = "[package]\nname = \"deps\"\nversion = \"0.1.0\"\n";

const TYPES: &str = "\
pub struct A;
impl A {
    pub fn go(&self) {}
    pub fn only_a(&self) {}
}
pub struct B;
impl B {
    pub fn go(&self) {}
}
";

/// An iterator whose elements are `crate::types::{element}`.
fn iter_rs(element: &str) -> String {
    format!(
        "pub struct Iter;\nimpl Iterator for Iter {{\n    type Item = crate::types::{element};\n    fn next(&mut self) -> Option<Self::Item> {{\n        None\n    }}\n}}\n"
    )
}

/// `(path, text)` of the tree before the edit.
fn tree() -> Vec<(&'static str, String)> {
    vec![
        ("Cargo.toml", CARGO.to_string()),
        (
            "src/lib.rs",
            "pub mod types;\npub mod alias;\npub mod make;\npub mod holder;\npub mod greet;\npub mod helpers;\npub mod other_helpers;\npub mod user_alias;\npub mod user_return;\npub mod user_field;\npub mod user_impl;\npub mod user_unique;\npub mod user_method;\npub mod iter;\npub mod items;\npub mod user_element;\npub mod globbed;\npub mod other_globbed;\npub mod reexport;\npub mod user_glob;\n"
                .to_string(),
        ),
        ("src/types.rs", TYPES.to_string()),
        (
            "src/alias.rs",
            "pub type Handle = crate::types::A;\n".to_string(),
        ),
        (
            "src/make.rs",
            "use crate::alias::Handle;\npub fn make() -> Handle {\n    todo!()\n}\n".to_string(),
        ),
        (
            "src/holder.rs",
            "pub struct Holder {\n    pub inner: crate::types::A,\n}\npub fn holder() -> Holder {\n    todo!()\n}\n"
                .to_string(),
        ),
        (
            "src/greet.rs",
            "pub trait Greet {\n    fn greet_all(&self) {}\n}\n".to_string(),
        ),
        ("src/helpers.rs", "pub fn lonely_helper() {}\n".to_string()),
        ("src/other_helpers.rs", "pub fn unrelated() {}\n".to_string()),
        (
            "src/user_alias.rs",
            "use crate::alias::Handle;\npub fn through_alias(h: &Handle) {\n    h.go();\n}\n".to_string(),
        ),
        (
            "src/user_return.rs",
            "pub fn through_return() {\n    let h = crate::make::make();\n    h.go();\n}\n".to_string(),
        ),
        (
            "src/user_field.rs",
            "impl crate::holder::Holder {\n    pub fn through_field(&self) {\n        self.inner.go();\n    }\n}\n"
                .to_string(),
        ),
        (
            "src/user_impl.rs",
            "use crate::greet::Greet;\npub fn through_impl(b: &crate::types::B) {\n    b.greet_all();\n}\n"
                .to_string(),
        ),
        (
            "src/user_unique.rs",
            "pub fn through_unique_name() {\n    lonely_helper();\n}\n".to_string(),
        ),
        ("src/iter.rs", iter_rs("A")),
        (
            "src/items.rs",
            "pub fn items() -> crate::iter::Iter {\n    todo!()\n}\n".to_string(),
        ),
        (
            "src/user_element.rs",
            "pub fn through_element() {\n    for x in crate::items::items() {\n        x.go();\n    }\n}\n"
                .to_string(),
        ),
        ("src/globbed.rs", "pub fn glob_target() {}\n".to_string()),
        ("src/other_globbed.rs", "pub fn glob_target() {}\n".to_string()),
        ("src/reexport.rs", "pub fn nothing_yet() {}\n".to_string()),
        (
            "src/user_glob.rs",
            "use crate::reexport::*;\npub fn through_glob() {\n    glob_target();\n}\n".to_string(),
        ),
        (
            "src/user_method.rs",
            "pub fn through_new_method(b: &crate::types::B) {\n    b.only_a();\n}\n".to_string(),
        ),
    ]
}

/// Edits (path, new text) and what the unedited `src/user_*.rs` must show
/// after them: a call edge line that must appear or disappear.
struct Case {
    name: &'static str,
    edits: Vec<(&'static str, String)>,
    appears: &'static str,
    disappears: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "alias retargeted",
            edits: vec![("src/alias.rs", "pub type Handle = crate::types::B;\n".into())],
            appears: "through_alias -calls_method-> crate::types::B::go",
            disappears: "through_alias -calls_method-> crate::types::A::go",
        },
        Case {
            name: "alias retargeted, seen through a return type",
            edits: vec![("src/alias.rs", "pub type Handle = crate::types::B;\n".into())],
            appears: "through_return -calls_method-> crate::types::B::go",
            disappears: "through_return -calls_method-> crate::types::A::go",
        },
        Case {
            name: "field type changed",
            edits: vec![(
                "src/holder.rs",
                "pub struct Holder {\n    pub inner: crate::types::B,\n}\npub fn holder() -> Holder {\n    todo!()\n}\n"
                    .into(),
            )],
            appears: "through_field -calls_method-> crate::types::B::go",
            disappears: "through_field -calls_method-> crate::types::A::go",
        },
        Case {
            name: "trait impl added elsewhere",
            edits: vec![(
                "src/types.rs",
                format!("{TYPES}impl crate::greet::Greet for B {{}}\n"),
            )],
            appears: "through_impl -calls_method-> crate::greet::Greet::greet_all",
            disappears: "",
        },
        Case {
            name: "iterator element type changed",
            edits: vec![("src/iter.rs", iter_rs("B"))],
            appears: "through_element -calls_method-> crate::types::B::go",
            disappears: "through_element -calls_method-> crate::types::A::go",
        },
        Case {
            name: "glob re-export added",
            edits: vec![(
                "src/reexport.rs",
                "pub use crate::globbed::*;\npub fn nothing_yet() {}\n".into(),
            )],
            appears: "through_glob -calls-> crate::globbed::glob_target",
            disappears: "",
        },
        Case {
            name: "a second function of the name",
            edits: vec![(
                "src/other_helpers.rs",
                "pub fn unrelated() {}\npub fn lonely_helper() {}\n".into(),
            )],
            appears: "",
            disappears: "through_unique_name -calls-> crate::helpers::lonely_helper",
        },
        Case {
            name: "method added to the receiver's type",
            edits: vec![(
                "src/types.rs",
                TYPES.replace(
                    "impl B {\n    pub fn go(&self) {}\n",
                    "impl B {\n    pub fn go(&self) {}\n    pub fn only_a(&self) {}\n",
                ),
            )],
            appears: "through_new_method -calls_method-> crate::types::B::only_a",
            disappears: "",
        },
    ]
}

fn write(root: &Path, files: &[(&str, String)]) {
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    write_tree(root, &files);
}

/// The `calls` / `calls_method` edges out of the `src/user_*.rs` files
/// (their functions are named `through_*`).
fn user_calls(engine: &kausal_storage::Database) -> Vec<String> {
    call_lines(engine)
        .into_iter()
        .filter(|line| line.contains("through_"))
        .collect()
}

#[test]
fn an_edit_re_resolves_the_unedited_files_it_affects() {
    for case in cases() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), &tree());
        let db = tempfile::tempdir().unwrap();
        let engine = open_engine(db.path());
        let vfs: Arc<dyn Vfs> = Arc::new(OsVfs::new());
        let mut ingester = Ingester::new(vfs, root.path(), options()).unwrap();
        ingester.ingest(&engine).unwrap();
        let before = user_calls(&engine);

        write(root.path(), &case.edits);
        let report = ingester.ingest(&engine).unwrap();
        let fresh_db = tempfile::tempdir().unwrap();
        let (fresh, fresh_report) = ingest_fresh(root.path(), fresh_db.path());
        let after = user_calls(&fresh);
        let has = |lines: &[String], edge: &str| lines.iter().any(|l| l.ends_with(edge));
        // The case moves an edge of the unedited file.
        if !case.appears.is_empty() {
            assert!(
                !has(&before, case.appears) && has(&after, case.appears),
                "{}: {:?} should appear\nbefore {before:#?}\nafter {after:#?}",
                case.name,
                case.appears
            );
        }
        if !case.disappears.is_empty() {
            assert!(
                has(&before, case.disappears) && !has(&after, case.disappears),
                "{}: {:?} should disappear\nbefore {before:#?}\nafter {after:#?}",
                case.name,
                case.disappears
            );
        }
        assert_eq!(
            edge_lines(&engine),
            edge_lines(&fresh),
            "{}: incremental differs from fresh",
            case.name
        );
        assert_eq!(
            provenance_lines(&engine),
            provenance_lines(&fresh),
            "{}",
            case.name
        );
        assert_eq!(report.calls, fresh_report.calls, "{}", case.name);
    }
}
