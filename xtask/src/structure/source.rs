//! What the structure checks read from a file (module declarations,
//! `crate::`/`super::` paths, functions, test items) and a crate's module
//! tree, followed from its root along `mod name;` declarations.

use std::path::{Path, PathBuf};

use super::lexer::{Lexeme, Token, lex};

/// A `mod name;` declaration (a module in its own file).
#[derive(Debug)]
pub(super) struct ModDecl {
    /// Inline modules (`mod x { … }`) the declaration sits in.
    pub(super) inline: Vec<String>,
    pub(super) name: String,
    pub(super) line: usize,
}

/// A path that names a module by `crate::` or `super::`.
#[derive(Debug)]
pub(super) struct PathRef {
    /// Inline modules the path sits in.
    pub(super) inline: Vec<String>,
    /// How many `super::` start the path; `None` for `crate::`.
    pub(super) supers: Option<usize>,
    /// The segments after `crate::` / the `super::`s.
    pub(super) segments: Vec<String>,
    pub(super) line: usize,
}

/// A function with a body, outside test code.
#[derive(Debug)]
pub(super) struct Function {
    pub(super) name: String,
    pub(super) first_line: usize,
    pub(super) last_line: usize,
}

/// What the checks need of one source file.
#[derive(Debug, Default)]
pub(super) struct FileFacts {
    pub(super) mods: Vec<ModDecl>,
    pub(super) inline_mods: Vec<Vec<String>>,
    pub(super) paths: Vec<PathRef>,
    pub(super) functions: Vec<Function>,
    /// Lines in `#[cfg(test)]` items.
    pub(super) test_lines: usize,
    /// `#![cfg(test)]`: the whole file is test code.
    pub(super) test_file: bool,
}

fn ident(tokens: &[Lexeme], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.token) {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

fn punct(tokens: &[Lexeme], i: usize, c: char) -> bool {
    tokens.get(i).is_some_and(|t| t.token == Token::Punct(c))
}

fn path_separator(tokens: &[Lexeme], i: usize) -> bool {
    punct(tokens, i, ':') && punct(tokens, i + 1, ':')
}

/// The index of the bracket closing the one at `open` (or the end).
fn matching_close(tokens: &[Lexeme], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.token {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len().saturating_sub(1)
}

/// The index of the last token of the item starting at `start`: its `;`,
/// or the `}` closing its first top-level brace group.
fn item_end(tokens: &[Lexeme], start: usize) -> usize {
    let mut i = start;
    while i < tokens.len() {
        match tokens[i].token {
            Token::Punct(';') => return i,
            Token::Punct('{') => return matching_close(tokens, i),
            Token::Punct('(' | '[') => i = matching_close(tokens, i) + 1,
            _ => i += 1,
        }
    }
    tokens.len().saturating_sub(1)
}

/// Whether the attribute tokens `#[ … ]` make an item test-only:
/// `cfg(test)`, or `cfg(all(test, …))` — not `cfg(not(test))`.
fn is_test_cfg(attribute: &[Lexeme]) -> bool {
    if ident(attribute, 0) != Some("cfg") {
        return false;
    }
    attribute.iter().enumerate().any(|(i, token)| {
        token.token == Token::Ident("test".into())
            && !(i >= 2 && ident(attribute, i - 2) == Some("not"))
    })
}

/// Reads the path after `crate::` or the `super::`s, from `i` (just past the
/// last `::`): every module path it names (a `{ … }` group names several).
fn read_paths(tokens: &[Lexeme], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut segments = prefix.to_vec();
    loop {
        if punct(tokens, i, '{') {
            let close = matching_close(tokens, i);
            let mut element = i + 1;
            while element < close {
                read_paths(tokens, element, &segments, out);
                // Next element: past the comma at this group's level.
                let mut j = element;
                while j < close && !punct(tokens, j, ',') {
                    if matches!(tokens[j].token, Token::Punct('{' | '(' | '[')) {
                        j = matching_close(tokens, j);
                    }
                    j += 1;
                }
                element = j + 1;
            }
            return;
        }
        match ident(tokens, i) {
            Some("self") => {}
            Some(name) => segments.push(name.to_string()),
            None => {}
        }
        if ident(tokens, i).is_some() && path_separator(tokens, i + 1) {
            i += 3;
        } else {
            out.push(segments);
            return;
        }
    }
}

/// Scans one file's tokens for module declarations, `crate::`/`super::`
/// paths and functions, leaving out `#[cfg(test)]` items.
pub(super) fn scan(tokens: &[Lexeme]) -> FileFacts {
    let mut facts = FileFacts::default();
    // Inline modules open around the cursor: (name, index of their `}`).
    let mut inline: Vec<(String, usize)> = Vec::new();
    // The line of the `#[cfg(test)]` of the item being read, if any.
    let mut test_item: Option<usize> = None;
    let mut i = 0;
    while i < tokens.len() {
        while inline.last().is_some_and(|(_, close)| *close < i) {
            inline.pop();
        }
        let inline_path = || inline.iter().map(|(name, _)| name.clone()).collect();
        let line = tokens[i].line;
        if punct(tokens, i, '#') {
            let inner = punct(tokens, i + 1, '!');
            let open = if inner { i + 2 } else { i + 1 };
            if punct(tokens, open, '[') {
                let close = matching_close(tokens, open);
                if is_test_cfg(&tokens[open + 1..close]) {
                    if inner {
                        facts.test_file = true;
                    } else {
                        test_item = test_item.or(Some(line));
                    }
                }
                i = close + 1;
                continue;
            }
        }
        if let Some(first_line) = test_item.take() {
            // Further attributes of the same item are read above.
            let end = item_end(tokens, i);
            facts.test_lines += tokens[end].line + 1 - first_line;
            i = end + 1;
            continue;
        }
        match ident(tokens, i) {
            Some("mod") if !punct(tokens, i.wrapping_sub(1), '$') => {
                if let Some(name) = ident(tokens, i + 1) {
                    if punct(tokens, i + 2, ';') {
                        facts.mods.push(ModDecl {
                            inline: inline_path(),
                            name: name.to_string(),
                            line,
                        });
                    } else if punct(tokens, i + 2, '{') {
                        let mut path: Vec<String> = inline_path();
                        path.push(name.to_string());
                        facts.inline_mods.push(path);
                        inline.push((name.to_string(), matching_close(tokens, i + 2)));
                        i += 3;
                        continue;
                    }
                }
            }
            Some("fn") => {
                if let Some(name) = ident(tokens, i + 1) {
                    let mut j = i + 2;
                    while j < tokens.len() && !punct(tokens, j, '{') && !punct(tokens, j, ';') {
                        if matches!(tokens[j].token, Token::Punct('(' | '[')) {
                            j = matching_close(tokens, j);
                        }
                        j += 1;
                    }
                    if punct(tokens, j, '{') {
                        facts.functions.push(Function {
                            name: name.to_string(),
                            first_line: line,
                            last_line: tokens[matching_close(tokens, j)].line,
                        });
                    }
                }
            }
            Some(keyword @ ("crate" | "super"))
                if path_separator(tokens, i + 1)
                    && !punct(tokens, i.wrapping_sub(1), '$')
                    && !path_separator(tokens, i.wrapping_sub(2)) =>
            {
                let mut supers = 0;
                let mut j = i;
                if keyword == "super" {
                    while ident(tokens, j) == Some("super") && path_separator(tokens, j + 1) {
                        supers += 1;
                        j += 3;
                    }
                } else {
                    j += 3;
                }
                let mut found = Vec::new();
                read_paths(tokens, j, &[], &mut found);
                for segments in found {
                    facts.paths.push(PathRef {
                        inline: inline_path(),
                        supers: (keyword == "super").then_some(supers),
                        segments,
                        line,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    facts
}

/// One module file of a crate.
#[derive(Debug)]
pub(super) struct ModuleFile {
    /// Relative to the workspace root.
    pub(super) path: PathBuf,
    /// `a::b` as segments; empty for the crate root.
    pub(super) module: Vec<String>,
    pub(super) facts: FileFacts,
    /// Lines of the whole file.
    pub(super) lines: usize,
}

/// A crate: its root file and every module file reached from it.
#[derive(Debug)]
pub(super) struct CrateTree {
    pub(super) root: PathBuf,
    pub(super) files: Vec<ModuleFile>,
}

/// Follows `mod name;` declarations from the crate root `root` (relative to
/// the workspace); `read` gives a file's text, `None` when it does not
/// exist. Files named `tests.rs` and `#[cfg(test)]` modules are left out.
pub(super) fn load_crate(
    root: &Path,
    read: &mut dyn FnMut(&Path) -> Option<String>,
) -> Result<CrateTree, String> {
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), Vec::<String>::new(), true)];
    while let Some((path, module, owns_directory)) = pending.pop() {
        let text = read(&path).ok_or_else(|| format!("{}: cannot read", path.display()))?;
        let facts = scan(&lex(&text));
        if facts.test_file {
            continue;
        }
        let directory = path.parent().unwrap_or(Path::new("")).to_path_buf();
        // Children of `a.rs` live in `a/`; of `mod.rs`, `lib.rs` and
        // `main.rs`, beside them.
        let base = if owns_directory {
            directory
        } else {
            let stem = path.file_stem().unwrap_or_default();
            directory.join(stem)
        };
        for declaration in &facts.mods {
            if declaration.name == "tests" {
                continue;
            }
            let mut dir = base.clone();
            for inline in &declaration.inline {
                dir.push(inline);
            }
            let flat = dir.join(format!("{}.rs", declaration.name));
            let nested = dir.join(&declaration.name).join("mod.rs");
            let mut child = module.clone();
            child.extend(declaration.inline.iter().cloned());
            child.push(declaration.name.clone());
            if read(&flat).is_some() {
                pending.push((flat, child, false));
            } else if read(&nested).is_some() {
                pending.push((nested, child, true));
            } else {
                return Err(format!(
                    "{}:{}: `mod {};` has no file ({} or {})",
                    path.display(),
                    declaration.line,
                    declaration.name,
                    flat.display(),
                    nested.display()
                ));
            }
        }
        files.push(ModuleFile {
            lines: text.lines().count(),
            path,
            module,
            facts,
        });
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(CrateTree {
        root: root.to_path_buf(),
        files,
    })
}

pub(super) fn module_name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.join("::")
    }
}
