use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::lexer::{Token, lex};
use super::loops::{ImportLoop, import_loops, judge_loops};
use super::sizes::{Oversize, judge_sizes, oversized};
use super::source::{CrateTree, load_crate, scan};
use super::{AllowedLoop, AllowedSize, MAX_FILE_LINES, MAX_FUNCTION_LINES};

/// A crate made of `files` (path, text), rooted at `src/lib.rs`.
fn crate_of(files: &[(&str, &str)]) -> CrateTree {
    let files: HashMap<PathBuf, String> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.to_string()))
        .collect();
    let mut read = |path: &Path| files.get(path).cloned();
    load_crate(Path::new("src/lib.rs"), &mut read).unwrap()
}

fn loops_of(files: &[(&str, &str)]) -> Vec<Vec<String>> {
    import_loops(&crate_of(files))
        .into_iter()
        .map(|found| found.modules)
        .collect()
}

fn paths_of(text: &str) -> Vec<String> {
    scan(&lex(text))
        .paths
        .iter()
        .map(|path| {
            let prefix = match path.supers {
                None => "crate".to_string(),
                Some(n) => vec!["super"; n].join("::"),
            };
            std::iter::once(prefix)
                .chain(path.segments.iter().cloned())
                .collect::<Vec<_>>()
                .join("::")
        })
        .collect()
}

#[test]
fn lexer_skips_strings_chars_and_comments() {
    let text = "let a = \"crate::x { \\\" }\"; // crate::y {\n\
                let b = r#\"crate::z \"{\"#; /* crate::w /* nested */ { */\n\
                let c = '{'; let d = '\\''; fn f<'a>(x: &'a str) {}\n";
    let tokens = lex(text);
    let idents: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match &t.token {
            Token::Ident(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        idents,
        [
            "let", "a", "let", "b", "let", "c", "let", "d", "fn", "f", "x", "str"
        ]
    );
    let braces = tokens
        .iter()
        .filter(|t| t.token == Token::Punct('{'))
        .count();
    assert_eq!(braces, 1, "only the function body's brace is code");
    assert_eq!(
        tokens.iter().filter(|t| t.token == Token::Lifetime).count(),
        2
    );
    let f = tokens
        .iter()
        .find(|t| t.token == Token::Ident("f".into()))
        .unwrap();
    assert_eq!(f.line, 3);
}

#[test]
fn paths_are_read_from_use_groups_and_code() {
    let text = "use crate::{a::x, b::{self, c}, d as e};\n\
                use super::super::f::g;\n\
                pub(crate) fn h() { crate::i::j(); $crate::k(); let s = \"crate::l\"; }\n\
                pub(super) struct S;\n";
    assert_eq!(
        paths_of(text),
        [
            "crate::a::x",
            "crate::b",
            "crate::b::c",
            "crate::d",
            "super::super::f::g",
            "crate::i::j"
        ]
    );
}

#[test]
fn test_items_are_left_out_and_counted() {
    let text = "fn production() {\n    crate::a::f();\n}\n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::b;\n    fn helper() {}\n}\n\
                #[cfg(not(test))]\nfn only_outside_tests() { crate::c::f(); }\n";
    let facts = scan(&lex(text));
    let names: Vec<&str> = facts.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["production", "only_outside_tests"]);
    assert_eq!(facts.test_lines, 5);
    assert_eq!(paths_of(text), ["crate::a::f", "crate::c::f"]);
}

#[test]
fn function_lines_run_from_fn_to_its_closing_brace() {
    let text = "trait T {\n    fn declared(&self) -> [u8; 4];\n}\n\
                fn outer(x: [u8; 2]) -> u8\nwhere\n    u8: Copy,\n{\n    fn inner() {}\n    \
                let s = \"}\";\n    x[0]\n}\n";
    let facts = scan(&lex(text));
    let spans: Vec<(&str, usize, usize)> = facts
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.first_line, f.last_line))
        .collect();
    assert_eq!(spans, [("outer", 4, 11), ("inner", 8, 8)]);
}

#[test]
fn siblings_importing_each_other_are_a_loop() {
    let found = loops_of(&[
        ("src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("src/a.rs", "use crate::b::B;\n"),
        ("src/b.rs", "use super::a::A;\nuse crate::c;\n"),
        ("src/c.rs", "pub struct C;\n"),
    ]);
    assert_eq!(found, [vec!["a".to_string(), "b".to_string()]]);
}

#[test]
fn parent_and_child_naming_each_other_are_no_loop() {
    let found = loops_of(&[
        (
            "src/lib.rs",
            "mod a;\npub use a::b::B;\nfn f() { crate::a::b::g(); }\n",
        ),
        (
            "src/a/mod.rs",
            "pub mod b;\nuse self::b::B;\nuse crate::f;\n",
        ),
        (
            "src/a/b.rs",
            "use super::A;\nuse crate::a::A2;\nuse super::super::f;\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_loop_through_children_is_reported_at_the_siblings() {
    // server::http uses commands, commands uses server::client: the loop
    // is commands <-> server, and both files are named.
    let tree = crate_of(&[
        ("src/lib.rs", "mod commands;\nmod server;\nmod util;\n"),
        (
            "src/commands.rs",
            "use crate::server::client;\nuse crate::util;\n",
        ),
        ("src/server/mod.rs", "mod client;\nmod http;\n"),
        ("src/server/client.rs", "use crate::util::x;\n"),
        ("src/server/http.rs", "use crate::commands::answer;\n"),
        ("src/util.rs", "pub fn x() {}\n"),
    ]);
    let found: Vec<ImportLoop> = import_loops(&tree);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].modules, ["commands", "server"]);
    assert_eq!(found[0].files, ["src/commands.rs", "src/server/http.rs"]);
    assert!(found[0].edges[0].starts_with("src/commands.rs:1: commands -> server"));
}

#[test]
fn loops_are_found_at_every_depth_and_in_three_steps() {
    let found = loops_of(&[
        ("src/lib.rs", "mod engine;\nmod x;\nmod y;\nmod z;\n"),
        ("src/engine.rs", "mod open;\nmod shared;\n"),
        ("src/engine/open.rs", "use super::shared::apply;\n"),
        ("src/engine/shared.rs", "use super::open::Report;\n"),
        ("src/x.rs", "use crate::y;\n"),
        ("src/y.rs", "fn f() { crate::z::g() }\n"),
        ("src/z.rs", "use crate::{x::X};\n"),
    ]);
    let expected: Vec<Vec<String>> = vec![
        vec!["engine::open".into(), "engine::shared".into()],
        vec!["x".into(), "y".into(), "z".into()],
    ];
    assert_eq!(found, expected);
}

#[test]
fn test_modules_and_inline_modules_are_understood() {
    let found = loops_of(&[
        (
            "src/lib.rs",
            "mod a;\nmod b;\n#[cfg(test)]\nmod test_support;\n\
             mod inline {\n    pub mod deep {\n        use super::super::a::A;\n    }\n}\n",
        ),
        (
            "src/a.rs",
            "use crate::inline::deep;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n",
        ),
        ("src/b.rs", "use crate::a;\n"),
        ("src/test_support.rs", "use crate::a;\n"),
    ]);
    assert_eq!(found, [vec!["a".to_string(), "inline".to_string()]]);
}

#[test]
fn a_missing_module_file_names_the_declaration() {
    let files: HashMap<PathBuf, String> =
        HashMap::from([(PathBuf::from("src/lib.rs"), "\nmod gone;\n".to_string())]);
    let mut read = |path: &Path| files.get(path).cloned();
    let error = load_crate(Path::new("src/lib.rs"), &mut read).unwrap_err();
    assert!(
        error.starts_with("src/lib.rs:2: `mod gone;` has no file"),
        "{error}"
    );
}

fn import_loop(modules: &[&str]) -> ImportLoop {
    ImportLoop {
        root: PathBuf::from("crates/x/src/lib.rs"),
        modules: modules.iter().map(|m| m.to_string()).collect(),
        edges: vec!["crates/x/src/a.rs:1: a -> b (names b)".into()],
        files: vec!["crates/x/src/a.rs".into()],
    }
}

#[test]
fn allowlisted_loops_pass_and_new_or_wider_ones_fail() {
    let allowed = [AllowedLoop {
        root: "crates/x/src/lib.rs",
        modules: &["a", "b", "c"],
        reason: "test",
    }];
    let (errors, notices) = judge_loops(&[import_loop(&["a", "b"])], &allowed);
    assert!(errors.is_empty() && notices.is_empty());
    let (errors, _) = judge_loops(&[import_loop(&["a", "d"])], &allowed);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("crates/x/src/a.rs:1: a -> b"),
        "{errors:?}"
    );
    let (errors, notices) = judge_loops(&[], &allowed);
    assert!(errors.is_empty());
    assert!(notices[0].contains("is gone"), "{notices:?}");
}

fn oversize(function: &str, lines: usize) -> Oversize {
    Oversize {
        path: "crates/x/src/a.rs".into(),
        function: function.into(),
        line: 10,
        lines,
    }
}

#[test]
fn allowlisted_sizes_may_shrink_but_not_grow() {
    let long_file = AllowedSize {
        path: "crates/x/src/a.rs",
        function: "",
        lines: 900,
        reason: "test",
    };
    let long_function = AllowedSize {
        path: "crates/x/src/a.rs",
        function: "run",
        lines: 150,
        reason: "test",
    };
    let allowed = [&long_file, &long_function];
    let (errors, notices) = judge_sizes(&[oversize("", 900), oversize("run", 150)], &allowed);
    assert!(errors.is_empty() && notices.is_empty());
    let (errors, _) = judge_sizes(&[oversize("", 901), oversize("run", 150)], &allowed);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("grew past its allowlisted 900"),
        "{errors:?}"
    );
    let (errors, _) = judge_sizes(&[oversize("", 900), oversize("other", 121)], &allowed);
    assert_eq!(
        errors,
        [format!(
            "crates/x/src/a.rs:10: fn other is 121 lines (limit {MAX_FUNCTION_LINES})"
        )]
    );
    let (errors, notices) = judge_sizes(&[oversize("", 850)], &allowed);
    assert!(errors.is_empty());
    assert!(notices[0].contains("shrank from 900"), "{notices:?}");
    assert!(
        notices[1].contains("fn run is within the limit"),
        "{notices:?}"
    );
}

#[test]
fn limits_count_production_lines_only() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES - 2);
    let just_fits = format!("fn fits() {{\n{body}}}\n");
    let one_over = format!("fn long() {{\n{body}    let y = 2;\n}}\n");
    let tests = format!(
        "#[cfg(test)]\nmod tests {{\n{}}}\n",
        "\n".repeat(MAX_FILE_LINES)
    );
    let text = format!("{just_fits}{one_over}{tests}");
    let tree = crate_of(&[("src/lib.rs", &text)]);
    let found = oversized(&tree.files[0]);
    assert_eq!(
        found,
        [Oversize {
            path: "src/lib.rs".into(),
            function: "long".into(),
            line: MAX_FUNCTION_LINES + 1,
            lines: MAX_FUNCTION_LINES + 1,
        }]
    );
}
