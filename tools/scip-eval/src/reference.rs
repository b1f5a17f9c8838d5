//! The reference call graph: calls between functions of the tree as a SCIP
//! index records them, mapped onto kausal's function and method blocks.
//!
//! A symbol is a function when the index says so (its descriptor ends in
//! `().`, as rust-analyzer, scip-python and scip-typescript name functions
//! and methods, or its kind is a function kind), or when its definition
//! site is the name of a kausal function block starting on that line: the
//! indexers give nested functions local symbols (`local 12`) and functions
//! held in variables (`const f = () => ..`) term symbols (`f.`), which
//! kausal keeps as function blocks. A reference to such a symbol that the
//! source follows by `(`, a Rust turbofish (`::<`), an optional call
//! (`?.(`) or TypeScript type arguments (`f<T>(`) is a call; it is
//! attributed to the innermost kausal function around it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use kausal_storage::BlockId;
use scip::types::{Document, Index, PositionEncoding, symbol_information::Kind};

use crate::{Func, innermost};

/// The reference edges, each with one call site (`path:line: text`), and
/// what was left out.
#[derive(Default)]
pub struct Reference {
    pub edges: BTreeMap<(BlockId, BlockId), String>,
    /// References to functions of the tree not followed by a call.
    pub not_calls: u64,
    /// Calls outside any function (module-level code).
    pub top_level: u64,
    /// Calls whose callee is no kausal function block.
    pub unmapped: u64,
    /// Symbols counted as functions by their definition site alone.
    pub by_definition: usize,
    /// The blocks the indexer analysed: functions whose definition the
    /// index holds, and the ends of reference edges. Code it left out (a
    /// `cfg` that is off, a feature not enabled, a branch pyright finds
    /// unreachable on this platform) has none.
    pub indexed: BTreeSet<BlockId>,
}

/// How a document's columns count.
#[derive(Clone, Copy)]
enum Columns {
    Bytes,
    Utf16,
    Chars,
}

/// A document's source, split into lines, and how its columns count.
struct Source<'a> {
    document: &'a Document,
    lines: Vec<String>,
    columns: Columns,
}

impl Source<'_> {
    /// The text of `line` from `column` on (empty past the end).
    fn rest(&self, line: usize, column: usize) -> &str {
        let Some(text) = self.lines.get(line) else {
            return "";
        };
        byte_offset(text, column, self.columns)
            .and_then(|start| text.get(start..))
            .unwrap_or("")
    }

    /// The text between two columns of one line.
    fn between(&self, line: usize, start: usize, end: usize) -> &str {
        let Some(text) = self.lines.get(line) else {
            return "";
        };
        match (
            byte_offset(text, start, self.columns),
            byte_offset(text, end, self.columns),
        ) {
            (Some(start), Some(end)) => text.get(start..end).unwrap_or(""),
            _ => "",
        }
    }
}

/// The byte offset of `column` in `line`, counted as `columns` says.
fn byte_offset(line: &str, column: usize, columns: Columns) -> Option<usize> {
    let unit = |c: char| match columns {
        Columns::Bytes => c.len_utf8(),
        Columns::Utf16 => c.len_utf16(),
        Columns::Chars => 1,
    };
    let mut counted = 0;
    for (offset, c) in line.char_indices() {
        if counted >= column {
            return Some(offset);
        }
        counted += unit(c);
    }
    (counted >= column).then_some(line.len())
}

/// The encoding a document declares; without one, UTF-8 bytes for
/// rust-analyzer and UTF-16 code units for the TypeScript-based indexers
/// (scip-python and scip-typescript count as JavaScript strings do).
fn columns(index: &Index, document: &Document) -> Columns {
    match document.position_encoding.enum_value_or_default() {
        PositionEncoding::UTF8CodeUnitOffsetFromLineStart => Columns::Bytes,
        PositionEncoding::UTF16CodeUnitOffsetFromLineStart => Columns::Utf16,
        PositionEncoding::UTF32CodeUnitOffsetFromLineStart => Columns::Chars,
        PositionEncoding::UnspecifiedPositionEncoding => {
            let tool = index
                .metadata
                .as_ref()
                .and_then(|metadata| metadata.tool_info.as_ref())
                .map(|tool| tool.name.as_str())
                .unwrap_or("");
            if tool == "rust-analyzer" {
                Columns::Bytes
            } else {
                Columns::Utf16
            }
        }
    }
}

/// An occurrence range: (start line, start column, end line, end column).
fn range(range: &[i32]) -> Option<(usize, usize, usize, usize)> {
    let n = |i: usize| range.get(i).map(|&v| v.max(0) as usize);
    match range.len() {
        3 => Some((n(0)?, n(1)?, n(0)?, n(2)?)),
        4 => Some((n(0)?, n(1)?, n(2)?, n(3)?)),
        _ => None,
    }
}

/// Whether the text after a reference makes it a call: `(`, `::<`,
/// `?.(`, or balanced type arguments `<..>` followed by `(`.
pub fn is_call(rest: &str) -> bool {
    let rest = rest.trim_start();
    if rest.starts_with('(') || rest.starts_with("::<") || rest.starts_with("?.(") {
        return true;
    }
    let Some(arguments) = rest.strip_prefix('<') else {
        return false;
    };
    let mut depth = 1;
    let mut previous = '<';
    for (offset, c) in arguments.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if previous != '=' => {
                depth -= 1;
                if depth == 0 {
                    return arguments[offset + 1..].trim_start().starts_with('(');
                }
            }
            ';' | '{' | '}' => return false,
            _ => {}
        }
        previous = c;
    }
    false
}

/// The simple name of a function symbol: `rust-analyzer cargo regex-syntax
/// 0.8.12 hir/Hir#kind().` -> `kind`; a TypeScript constructor
/// (`` Atom#`<constructor>`(). ``) -> `constructor`.
pub fn simple_name(symbol: &str) -> Option<&str> {
    let trimmed = symbol.strip_suffix("().")?;
    let last = trimmed.rsplit(['/', '#', '.', ']', ' ']).next()?;
    Some(match last.trim_matches('`') {
        "<constructor>" => "constructor",
        name => name,
    })
}

/// Whether the index says the symbol is a function or method.
fn is_function_symbol(symbol: &str, kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Function
            | Kind::Method
            | Kind::StaticMethod
            | Kind::TraitMethod
            | Kind::AbstractMethod
    ) || symbol.ends_with("().")
}

/// Where a function symbol of the tree is defined and which block it is.
enum Callee {
    /// Named function: found at call time by name, definition file and
    /// line (the first of its definitions in that file that is a block: a
    /// TypeScript overload's signatures come before its implementation).
    /// One symbol may be defined in several files: rust-analyzer gives a
    /// package's integration tests (each its own crate) one namespace, so
    /// `make_graph` of `tests/a.rs` and of `tests/b.rs` share a symbol; a
    /// call takes the definition in its own file when there is one.
    Named { sites: Vec<(String, Vec<u32>)> },
    /// Function by its definition site: the block is known.
    Block(BlockId),
}

/// The column of the first definition on each line of a document: a
/// function's name comes before its parameters (`fn left(left: L)`).
fn first_definitions(document: &Document) -> HashMap<usize, usize> {
    let mut first: HashMap<usize, usize> = HashMap::new();
    for occurrence in &document.occurrences {
        if let Some((line, start, _, _)) = range(&occurrence.range)
            && occurrence.symbol_roles & 1 == 1
        {
            let column = first.entry(line).or_insert(start);
            *column = (*column).min(start);
        }
    }
    first
}

/// A symbol as a key over the whole index: a local symbol (`local 12`)
/// names one thing in its own document only, so its document is part of
/// its key.
fn symbol_key(path: &str, symbol: &str) -> String {
    if symbol.starts_with("local ") {
        format!("{symbol} in {path}")
    } else {
        symbol.to_string()
    }
}

/// The function symbols defined in the tree (keyed by [`symbol_key`]),
/// and how many of them are
/// functions by their definition site alone.
fn callees(index: &Index, sources: &[Source], funcs: &[Func]) -> (HashMap<String, Callee>, usize) {
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for document in &index.documents {
        for info in &document.symbols {
            if is_function_symbol(&info.symbol, info.kind.enum_value_or_default()) {
                declared.insert(symbol_key(&document.relative_path, &info.symbol));
            }
        }
    }
    let mut callees: HashMap<String, Callee> = HashMap::new();
    let mut by_definition = 0;
    for source in sources {
        let path = &source.document.relative_path;
        let first = first_definitions(source.document);
        for occurrence in &source.document.occurrences {
            let Some((line, start, _, end)) = range(&occurrence.range) else {
                continue;
            };
            if occurrence.symbol_roles & 1 != 1 {
                continue;
            }
            let symbol = symbol_key(path, &occurrence.symbol);
            match callees.get_mut(&symbol) {
                Some(Callee::Named { sites }) => {
                    match sites.iter_mut().find(|(file, _)| file == path) {
                        Some((_, lines)) => lines.push(line as u32 + 1),
                        None => sites.push((path.clone(), vec![line as u32 + 1])),
                    }
                    continue;
                }
                Some(_) => continue,
                None => {}
            }
            if declared.contains(&symbol) || symbol.ends_with("().") {
                let callee = Callee::Named {
                    sites: vec![(path.clone(), vec![line as u32 + 1])],
                };
                callees.insert(symbol, callee);
                continue;
            }
            if first.get(&line) != Some(&start) {
                continue;
            }
            let name = source.between(line, start, end);
            let block = funcs
                .iter()
                .find(|f| &f.path == path && f.start == line as u32 + 1 && f.name == name);
            if let Some(block) = block {
                by_definition += 1;
                callees.insert(symbol, Callee::Block(block.id));
            }
        }
    }
    (callees, by_definition)
}

/// The block a function symbol of the tree is, if any, as called from
/// `from` (a file): its definition there, else its first.
fn block_of(callee: &Callee, symbol: &str, funcs: &[Func], from: &str) -> Option<BlockId> {
    match callee {
        Callee::Block(id) => Some(*id),
        Callee::Named { sites } => {
            let (path, lines) = sites
                .iter()
                .find(|(path, _)| path == from)
                .or_else(|| sites.first())?;
            site_block(path, lines, symbol, funcs)
        }
    }
}

/// Every block a function symbol of the tree is (one per defining file).
fn blocks_of(callee: &Callee, symbol: &str, funcs: &[Func]) -> Vec<BlockId> {
    match callee {
        Callee::Block(id) => vec![*id],
        Callee::Named { sites } => sites
            .iter()
            .filter_map(|(path, lines)| site_block(path, lines, symbol, funcs))
            .collect(),
    }
}

fn site_block(path: &str, lines: &[u32], symbol: &str, funcs: &[Func]) -> Option<BlockId> {
    let name = simple_name(symbol)?;
    let mut blocks = lines
        .iter()
        .filter_map(|&line| innermost(funcs, path, line, Some(name)));
    blocks.next().map(|f| f.id)
}

/// The reference edges of `index` over the tree at `root`.
pub fn reference_edges(index: &Index, root: &Path, funcs: &[Func]) -> Reference {
    let sources: Vec<Source> = index
        .documents
        .iter()
        .filter_map(|document| {
            let text = std::fs::read_to_string(root.join(&document.relative_path)).ok()?;
            Some(Source {
                document,
                lines: text.lines().map(str::to_string).collect(),
                columns: columns(index, document),
            })
        })
        .collect();
    let (callees, by_definition) = callees(index, &sources, funcs);
    let mut reference = Reference {
        by_definition,
        indexed: callees
            .iter()
            .flat_map(|(symbol, callee)| blocks_of(callee, symbol, funcs))
            .collect(),
        ..Reference::default()
    };
    for source in &sources {
        let path = &source.document.relative_path;
        for occurrence in &source.document.occurrences {
            if occurrence.symbol_roles & 1 == 1 {
                continue;
            }
            let Some(callee) = callees.get(&symbol_key(path, &occurrence.symbol)) else {
                continue; // no function, or defined outside the tree
            };
            let Some((line, _, end_line, end_column)) = range(&occurrence.range) else {
                continue;
            };
            if !is_call(source.rest(end_line, end_column)) {
                reference.not_calls += 1;
                continue;
            }
            let Some(caller) = innermost(funcs, path, line as u32 + 1, None) else {
                reference.top_level += 1;
                continue;
            };
            let callee = block_of(callee, &occurrence.symbol, funcs, path);
            let Some(callee) = callee else {
                reference.unmapped += 1;
                continue;
            };
            reference
                .edges
                .entry((caller.id, callee))
                .or_insert_with(|| {
                    let text = source.lines.get(line).map(|l| l.trim()).unwrap_or("");
                    format!("{path}:{}: {text}", line + 1)
                });
        }
    }
    let ends: Vec<BlockId> = reference.edges.keys().flat_map(|&(a, b)| [a, b]).collect();
    reference.indexed.extend(ends);
    reference
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbol_defined_in_several_files_is_the_callers_own() {
        let func = |id: u128, path: &str, start: u32| Func {
            id: BlockId::from_u128(id),
            path: path.into(),
            name: "make_graph".into(),
            qualified: "crate::make_graph".into(),
            start,
            end: start + 2,
        };
        let funcs = [func(1, "tests/a.rs", 10), func(2, "tests/b.rs", 5)];
        let callee = Callee::Named {
            sites: vec![
                ("tests/a.rs".into(), vec![10]),
                ("tests/b.rs".into(), vec![5]),
            ],
        };
        let symbol = "rust-analyzer cargo p 1 make_graph().";
        assert_eq!(
            block_of(&callee, symbol, &funcs, "tests/b.rs"),
            Some(BlockId::from_u128(2))
        );
        assert_eq!(
            block_of(&callee, symbol, &funcs, "src/lib.rs"),
            Some(BlockId::from_u128(1))
        );
        assert_eq!(blocks_of(&callee, symbol, &funcs).len(), 2);
    }

    #[test]
    fn calls_are_told_from_mentions() {
        assert!(is_call("(x)"));
        assert!(is_call(" ::<u8>()"));
        assert!(is_call("?.()"));
        assert!(is_call("<T, Map<K, (v: V) => void>>(x)"));
        assert!(!is_call(", f)"));
        assert!(!is_call(" < 3;"));
        assert!(!is_call("<T>;"));
        assert!(!is_call(""));
    }

    #[test]
    fn names_and_columns() {
        assert_eq!(simple_name("rust-analyzer cargo a 1 m/T#f()."), Some("f"));
        assert_eq!(simple_name("scip-python python r 1 `a.b`/f()."), Some("f"));
        assert_eq!(
            simple_name("scip-typescript npm m 1 `a.ts`/A#`<constructor>`()."),
            Some("constructor")
        );
        assert_eq!(simple_name("local 3"), None);
        assert_eq!(symbol_key("a.ts", "local 3"), "local 3 in a.ts");
        assert_eq!(
            symbol_key("a.ts", "npm m 1 `a.ts`/f()."),
            "npm m 1 `a.ts`/f()."
        );
        let line = "é = f(x)";
        assert_eq!(byte_offset(line, 5, Columns::Utf16), Some(6));
        assert_eq!(byte_offset(line, 6, Columns::Bytes), Some(6));
        assert_eq!(byte_offset(line, 8, Columns::Chars), Some(9));
        assert_eq!(byte_offset(line, 9, Columns::Chars), None);
    }
}
