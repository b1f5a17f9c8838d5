//! Import statements as text -> imported paths, one small parser per
//! language. Rust use trees are flattened (`a::{b, c as d, e::*}` is three
//! imports) with an explicit stack, not recursion.
//!
//! Representation: Rust paths are their segments. For file-based languages
//! `path[0]` is the module specifier as written (`./util`, `a.b`, `fmt`,
//! `"x.h"`) and `path[1]`, when present, the imported name. An alias of ""
//! means the import binds no name (`#include`, `import './side-effect'`).

use crate::language::Language;

/// (path, alias, glob) triples of one import statement.
pub type Imported = (Vec<String>, Option<String>, bool);

pub fn parse_import(language: Language, text: &str) -> Vec<Imported> {
    match language {
        Language::Rust => parse_rust_use(text),
        Language::Python => parse_python(text),
        Language::JavaScript | Language::TypeScript | Language::Tsx => parse_ecma(text),
        Language::Go => parse_go(text),
        Language::C => parse_c(text),
        Language::Zig => parse_zig(text),
    }
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    Open,
    Close,
    Comma,
    Star,
    As,
}

fn rust_tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'#' || b >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'#'
                    || bytes[i] >= 0x80)
            {
                i += 1;
            }
            let word = text.get(start..i).unwrap_or("");
            let word = word.strip_prefix("r#").unwrap_or(word);
            tokens.push(if word == "as" {
                Token::As
            } else {
                Token::Ident(word)
            });
            continue;
        }
        match b {
            b'{' => tokens.push(Token::Open),
            b'}' => tokens.push(Token::Close),
            b',' => tokens.push(Token::Comma),
            b'*' => tokens.push(Token::Star),
            _ => {}
        }
        i += 1;
    }
    tokens
}

/// Flattens a Rust use tree (`a::{b, c::d as e, f::*}`; `self` in braces
/// names the prefix itself).
fn parse_rust_use(text: &str) -> Vec<Imported> {
    let mut out = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut groups: Vec<usize> = Vec::new();
    let mut alias: Option<String> = None;
    let mut after_as = false;
    // True once the current entry was emitted (a group or glob closed it).
    let mut emitted = false;
    let emit = |path: &[String], alias: Option<String>, glob: bool, out: &mut Vec<Imported>| {
        let mut path = path.to_vec();
        if !glob && path.len() > 1 && path.last().is_some_and(|s| s == "self") {
            path.pop();
        }
        if !path.is_empty() || glob {
            out.push((path, alias, glob));
        }
    };
    for token in rust_tokens(text) {
        match token {
            Token::Ident(word) if after_as => {
                alias = Some(word.to_string());
                after_as = false;
            }
            Token::Ident(word) => {
                path.push(word.to_string());
                emitted = false;
            }
            Token::As => after_as = true,
            Token::Open => groups.push(path.len()),
            Token::Star => {
                emit(&path, None, true, &mut out);
                emitted = true;
            }
            Token::Comma | Token::Close => {
                let base = groups.last().copied().unwrap_or(0);
                if !emitted && path.len() > base {
                    emit(&path, alias.take(), false, &mut out);
                }
                alias = None;
                if token == Token::Close {
                    groups.pop();
                    emitted = true;
                }
                let keep = if token == Token::Close {
                    groups.last().copied().unwrap_or(0)
                } else {
                    base
                };
                path.truncate(keep);
            }
        }
    }
    if !emitted && !path.is_empty() {
        emit(&path, alias.take(), false, &mut out);
    }
    out
}

fn split_alias(part: &str) -> (String, Option<String>) {
    let mut words = part.split_whitespace();
    let name = words.next().unwrap_or("").to_string();
    let alias = match (words.next(), words.next()) {
        (Some("as"), Some(alias)) => Some(alias.to_string()),
        _ => None,
    };
    (name, alias)
}

fn parse_python(text: &str) -> Vec<Imported> {
    let text = text.replace(['(', ')', '\\', '\n'], " ");
    let text = text.trim();
    let mut out = Vec::new();
    if let Some(rest) = text.strip_prefix("from ") {
        let Some((module, names)) = rest.split_once(" import ") else {
            return out;
        };
        let module = module.trim().to_string();
        for part in names.split(',') {
            let (name, alias) = split_alias(part);
            if name == "*" {
                out.push((vec![module.clone()], None, true));
            } else if !name.is_empty() {
                out.push((vec![module.clone(), name], alias, false));
            }
        }
    } else if let Some(rest) = text.strip_prefix("import ") {
        for part in rest.split(',') {
            let (name, alias) = split_alias(part);
            if name.is_empty() {
                continue;
            }
            // `import a.b` binds `a`.
            let alias = alias.or_else(|| name.split_once('.').map(|(first, _)| first.to_string()));
            out.push((vec![name], alias, false));
        }
    }
    out
}

fn quoted(text: &str) -> Option<&str> {
    let start = text.find(['"', '\'', '`'])?;
    let quote = text[start..].chars().next()?;
    let rest = &text[start + 1..];
    let end = rest.find(quote)?;
    Some(&rest[..end])
}

fn parse_ecma(text: &str) -> Vec<Imported> {
    let mut out = Vec::new();
    let text = text.trim().trim_end_matches(';');
    let Some((clause, spec_part)) = text.rsplit_once(" from ") else {
        if let Some(spec) = quoted(text) {
            out.push((vec![spec.to_string()], Some(String::new()), false));
        }
        return out;
    };
    let Some(spec) = quoted(spec_part) else {
        return out;
    };
    // `export * from './x'` re-exports everything; `export * as ns from`
    // binds a namespace; `export { a, b as c } from` names, as an import.
    let clause = clause.trim();
    if let Some(exported) = clause.strip_prefix("export") {
        let exported = exported.trim();
        let exported = exported.strip_prefix("type ").unwrap_or(exported).trim();
        if exported == "*" {
            out.push((vec![spec.to_string()], None, true));
            return out;
        }
    }
    let clause = clause
        .trim_start_matches("import")
        .trim_start_matches("export")
        .trim();
    let clause = clause.strip_prefix("type ").unwrap_or(clause);
    let (head, braced) = match clause.split_once('{') {
        Some((head, rest)) => (head, rest.split('}').next().unwrap_or("")),
        None => (clause, ""),
    };
    for part in head.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if let Some(namespace) = part.strip_prefix('*') {
            let (_, alias) = split_alias(&format!("*{namespace}"));
            out.push((vec![spec.to_string()], alias, false));
        } else {
            out.push((
                vec![spec.to_string(), "default".to_string()],
                Some(part.to_string()),
                false,
            ));
        }
    }
    for part in braced.split(',') {
        let part = part.trim();
        let part = part.strip_prefix("type ").unwrap_or(part);
        let (name, alias) = split_alias(part);
        if !name.is_empty() {
            out.push((vec![spec.to_string(), name], alias, false));
        }
    }
    out
}

fn parse_go(text: &str) -> Vec<Imported> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches("import").trim();
        let line = line.trim_start_matches('(').trim_end_matches(')').trim();
        let Some(spec) = quoted(line) else { continue };
        let prefix = line.split(['"', '`']).next().unwrap_or("").trim();
        let alias = match prefix {
            "" => spec.rsplit('/').next().map(str::to_string),
            "_" => Some(String::new()),
            "." => None,
            name => Some(name.to_string()),
        };
        out.push((vec![spec.to_string()], alias, prefix == "."));
    }
    out
}

fn parse_c(text: &str) -> Vec<Imported> {
    let text = text.trim().trim_start_matches("#include").trim();
    let spec = if let Some(rest) = text.strip_prefix('<') {
        format!("<{}>", rest.split('>').next().unwrap_or(""))
    } else {
        quoted(text).unwrap_or("").to_string()
    };
    if spec.is_empty() {
        return Vec::new();
    }
    vec![(vec![spec], Some(String::new()), false)]
}

/// `const name = @import("spec");` (the query captures the declaration).
fn parse_zig(text: &str) -> Vec<Imported> {
    // `const Self = @This();`: the file itself, bound to a name.
    let this = text.contains("@This()").then_some("@This");
    let Some(spec) = this.or_else(|| quoted(text)) else {
        return Vec::new();
    };
    let name = text
        .trim()
        .trim_start_matches("pub ")
        .trim_start_matches("const ")
        .trim_start_matches("var ")
        .split(|c: char| c == '=' || c == ':' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_string();
    vec![(vec![spec.to_string()], Some(name), false)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rust(text: &str) -> Vec<(String, Option<String>, bool)> {
        parse_rust_use(text)
            .into_iter()
            .map(|(p, a, g)| (p.join("::"), a, g))
            .collect()
    }

    #[test]
    fn ecma_re_exports_are_imports() {
        let parsed = |text: &str| {
            parse_ecma(text)
                .into_iter()
                .map(|(p, a, g)| (p.join(" "), a, g))
                .collect::<Vec<_>>()
        };
        assert_eq!(parsed("export * from './a';"), [("./a".into(), None, true)]);
        assert_eq!(
            parsed("export { b as c, d } from \"./b\""),
            [
                ("./b b".into(), Some("c".into()), false),
                ("./b d".into(), None, false)
            ]
        );
        assert_eq!(
            parsed("export * as ns from './n'"),
            [("./n".into(), Some("ns".into()), false)]
        );
    }

    #[test]
    fn rust_use_trees_flatten() {
        assert_eq!(
            rust("crate::a::b"),
            vec![("crate::a::b".into(), None, false)]
        );
        assert_eq!(
            rust("super::{self, x::y as z, w::*}"),
            vec![
                ("super".into(), None, false),
                ("super::x::y".into(), Some("z".into()), false),
                ("super::w".into(), None, true),
            ]
        );
        assert_eq!(
            rust("a::{b::{c, d}, e}"),
            vec![
                ("a::b::c".into(), None, false),
                ("a::b::d".into(), None, false),
                ("a::e".into(), None, false),
            ]
        );
        assert_eq!(
            rust("std::io as sio"),
            vec![("std::io".into(), Some("sio".into()), false)]
        );
        assert_eq!(
            rust("::std::fmt::{self}"),
            vec![("std::fmt".into(), None, false)]
        );
    }

    #[test]
    fn file_language_imports() {
        assert_eq!(
            parse_python("from .util import parse as p, load"),
            vec![
                (
                    vec![".util".into(), "parse".into()],
                    Some("p".into()),
                    false
                ),
                (vec![".util".into(), "load".into()], None, false),
            ]
        );
        assert_eq!(
            parse_python("import os.path"),
            vec![(vec!["os.path".into()], Some("os".into()), false)]
        );
        assert_eq!(
            parse_ecma("import def, { a as b, c } from './m';"),
            vec![
                (
                    vec!["./m".into(), "default".into()],
                    Some("def".into()),
                    false
                ),
                (vec!["./m".into(), "a".into()], Some("b".into()), false),
                (vec!["./m".into(), "c".into()], None, false),
            ]
        );
        assert_eq!(
            parse_go("import (\n\"fmt\"\nx \"a/b/c\"\n)"),
            vec![
                (vec!["fmt".into()], Some("fmt".into()), false),
                (vec!["a/b/c".into()], Some("x".into()), false),
            ]
        );
        assert_eq!(
            parse_c("#include <stdio.h>")[0].0,
            vec!["<stdio.h>".to_string()]
        );
        assert_eq!(
            parse_zig("const std = @import(\"std\");"),
            vec![(vec!["std".into()], Some("std".into()), false)]
        );
        assert_eq!(
            parse_zig("const Parse = @This();"),
            vec![(vec!["@This".into()], Some("Parse".into()), false)]
        );
    }
}
