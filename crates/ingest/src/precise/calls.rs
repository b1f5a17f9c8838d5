//! From a SCIP index to call edges between the tree's function blocks.
//!
//! A symbol is a function when the index says so (its descriptor ends in
//! `().`, as rust-analyzer, scip-python and scip-typescript name functions
//! and methods, or its kind is a function kind), or when its definition
//! site is the name of a function block starting on that line: the
//! indexers give nested functions local symbols (`local 12`) and functions
//! held in variables (`const f = () => ..`) term symbols (`f.`), which
//! kausal keeps as function blocks. A reference to such a symbol that the
//! source follows by `(`, a Rust turbofish (`::<`), an optional call
//! (`?.(`) or TypeScript type arguments (`f<T>(`) is a call; it is
//! attributed to the innermost function block around it. A call written
//! `x.f(..)` is a `calls_method` edge, any other a `calls` edge (the same
//! split the heuristic resolver makes).
//!
//! This is also the reference `cargo xtask eval-calls` scores heuristic
//! edges against (`tools/scip-eval`), so both read an index one way.

use std::collections::{BTreeSet, HashMap};

use kausal_storage::{BlockId, EdgeType, GraphEdge};

use super::scip_index::{Columns, ScipDocument, ScipIndex};
pub use super::symbol::simple_name;

/// A function or method block of the tree.
#[derive(Debug, Clone)]
pub struct Func {
    /// The block.
    pub id: BlockId,
    /// Its own name.
    pub name: String,
    /// First line, 1-based.
    pub start: u32,
    /// Last line, 1-based, inclusive.
    pub end: u32,
}

/// One file of the tree as the mapping needs it: its current text and its
/// function blocks.
pub struct TreeFile<'a> {
    /// The file's current text.
    pub text: &'a str,
    /// Its function and method blocks.
    pub funcs: &'a [Func],
}

/// A call the index records, mapped onto blocks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MappedCall {
    /// Caller block -> callee block.
    pub edge: GraphEdge,
    /// 1-based line of the call site.
    pub line: u32,
}

/// The calls of each document applied, and what was left out.
#[derive(Debug, Default)]
pub struct MappedCalls {
    /// By document path: every call site, sorted by (edge, line).
    pub by_file: HashMap<String, Vec<MappedCall>>,
    /// References to functions of the tree not followed by a call.
    pub not_calls: u64,
    /// Calls outside any function (module-level code).
    pub top_level: u64,
    /// Calls whose callee is no function block of the tree.
    pub unmapped: u64,
    /// The blocks of the function symbols the index defines (in every
    /// document of the tree, applied or not).
    pub defined: Vec<BlockId>,
}

/// A document with its source split into lines.
struct Source<'a> {
    document: &'a ScipDocument,
    lines: Vec<&'a str>,
    funcs: &'a [Func],
}

impl Source<'_> {
    /// The text of `line` from `column` on (empty past the end).
    fn rest(&self, line: u32, column: u32) -> &str {
        let Some(text) = self.lines.get(line as usize) else {
            return "";
        };
        byte_offset(text, column, self.document.columns)
            .and_then(|start| text.get(start..))
            .unwrap_or("")
    }

    /// The text of `line` before `column`.
    fn before(&self, line: u32, column: u32) -> &str {
        let Some(text) = self.lines.get(line as usize) else {
            return "";
        };
        byte_offset(text, column, self.document.columns)
            .and_then(|end| text.get(..end))
            .unwrap_or("")
    }

    /// The text between two columns of one line.
    fn between(&self, line: u32, start: u32, end: u32) -> &str {
        let Some(text) = self.lines.get(line as usize) else {
            return "";
        };
        let columns = self.document.columns;
        match (
            byte_offset(text, start, columns),
            byte_offset(text, end, columns),
        ) {
            (Some(start), Some(end)) => text.get(start..end).unwrap_or(""),
            _ => "",
        }
    }
}

/// The byte offset of `column` in `line`, counted as `columns` says.
pub fn byte_offset(line: &str, column: u32, columns: Columns) -> Option<usize> {
    let column = column as usize;
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

/// The innermost function of `funcs` around `line` (named `name`, if
/// given).
pub fn innermost<'a>(funcs: &'a [Func], line: u32, name: Option<&str>) -> Option<&'a Func> {
    funcs
        .iter()
        .filter(|f| f.start <= line && line <= f.end)
        .filter(|f| name.is_none_or(|n| f.name == n))
        .min_by_key(|f| f.end - f.start)
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
    /// Sites are (index into the sources, 1-based lines).
    Named { sites: Vec<(usize, Vec<u32>)> },
    /// Function by its definition site: the block is known.
    Block(BlockId),
}

/// A symbol as a key over the whole index: a local symbol (`local 12`)
/// names one thing in its own document only, so its document is part of
/// its key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct SymbolKey {
    symbol: u32,
    /// The document, for a local symbol.
    local_to: Option<usize>,
}

fn symbol_key(index: &ScipIndex, source: usize, symbol: u32) -> SymbolKey {
    let local = index
        .symbols
        .get(symbol as usize)
        .is_some_and(|s| s.starts_with("local "));
    SymbolKey {
        symbol,
        local_to: local.then_some(source),
    }
}

/// The column of the first definition on each line of a document: a
/// function's name comes before its parameters (`fn left(left: L)`).
fn first_definitions(document: &ScipDocument) -> HashMap<u32, u32> {
    let mut first: HashMap<u32, u32> = HashMap::new();
    for occurrence in document.occurrences.iter().filter(|o| o.definition) {
        let column = first.entry(occurrence.line).or_insert(occurrence.start);
        *column = (*column).min(occurrence.start);
    }
    first
}

/// The function symbols defined in the tree.
fn callees(index: &ScipIndex, sources: &[Source]) -> HashMap<SymbolKey, Callee> {
    let mut declared: BTreeSet<SymbolKey> = BTreeSet::new();
    for (n, source) in sources.iter().enumerate() {
        for &symbol in &source.document.function_symbols {
            declared.insert(symbol_key(index, n, symbol));
        }
    }
    let mut callees: HashMap<SymbolKey, Callee> = HashMap::new();
    for (n, source) in sources.iter().enumerate() {
        let first = first_definitions(source.document);
        for occurrence in source.document.occurrences.iter().filter(|o| o.definition) {
            let key = symbol_key(index, n, occurrence.symbol);
            let line = occurrence.line + 1;
            match callees.get_mut(&key) {
                Some(Callee::Named { sites }) => {
                    match sites.iter_mut().find(|(file, _)| *file == n) {
                        Some((_, lines)) => lines.push(line),
                        None => sites.push((n, vec![line])),
                    }
                    continue;
                }
                Some(Callee::Block(_)) => continue,
                None => {}
            }
            let text = index.symbols.get(occurrence.symbol as usize);
            if declared.contains(&key) || text.is_some_and(|s| s.ends_with("().")) {
                let sites = vec![(n, vec![line])];
                callees.insert(key, Callee::Named { sites });
                continue;
            }
            if first.get(&occurrence.line) != Some(&occurrence.start) {
                continue;
            }
            let name = source.between(occurrence.line, occurrence.start, occurrence.end);
            let block = source
                .funcs
                .iter()
                .find(|f| f.start == line && f.name == name);
            if let Some(block) = block {
                callees.insert(key, Callee::Block(block.id));
            }
        }
    }
    callees
}

/// The block a function symbol of the tree is, as called from the source
/// `from`: its definition there, else its first.
fn block_of(callee: &Callee, symbol: &str, sources: &[Source], from: usize) -> Option<BlockId> {
    match callee {
        Callee::Block(id) => Some(*id),
        Callee::Named { sites } => {
            let (file, lines) = sites
                .iter()
                .find(|(file, _)| *file == from)
                .or_else(|| sites.first())?;
            let name = simple_name(symbol)?;
            let funcs = sources.get(*file)?.funcs;
            lines
                .iter()
                .find_map(|&line| innermost(funcs, line, Some(name)))
                .map(|f| f.id)
        }
    }
}

/// The calls `index` records in the documents `apply` selects, over the
/// tree's files `tree` (documents of files not in it are skipped; the
/// others still define callees).
pub fn map_calls<'a>(
    index: &'a ScipIndex,
    tree: &HashMap<&str, TreeFile<'a>>,
    mut apply: impl FnMut(&ScipDocument) -> bool,
) -> MappedCalls {
    let sources: Vec<Source<'a>> = index
        .documents
        .iter()
        .filter_map(|document| {
            let file = tree.get(document.path.as_str())?;
            Some(Source {
                document,
                lines: file.text.lines().collect(),
                funcs: file.funcs,
            })
        })
        .collect();
    let callees = callees(index, &sources);
    let mut mapped = MappedCalls::default();
    for (key, callee) in &callees {
        let symbol = index
            .symbols
            .get(key.symbol as usize)
            .map_or("", String::as_str);
        match callee {
            Callee::Block(id) => mapped.defined.push(*id),
            Callee::Named { sites } => {
                for (file, _) in sites {
                    mapped
                        .defined
                        .extend(block_of(callee, symbol, &sources, *file));
                }
            }
        }
    }
    mapped.defined.sort();
    mapped.defined.dedup();
    for (n, source) in sources.iter().enumerate() {
        if !apply(source.document) {
            continue;
        }
        let mut calls = Vec::new();
        for occurrence in source.document.occurrences.iter().filter(|o| !o.definition) {
            let key = symbol_key(index, n, occurrence.symbol);
            let Some(callee) = callees.get(&key) else {
                continue; // no function, or defined outside the tree
            };
            if !is_call(source.rest(occurrence.end_line, occurrence.end)) {
                mapped.not_calls += 1;
                continue;
            }
            let line = occurrence.line + 1;
            let Some(caller) = innermost(source.funcs, line, None) else {
                mapped.top_level += 1;
                continue;
            };
            let symbol = index
                .symbols
                .get(occurrence.symbol as usize)
                .map_or("", String::as_str);
            let Some(callee) = block_of(callee, symbol, &sources, n) else {
                mapped.unmapped += 1;
                continue;
            };
            let before = source.before(occurrence.line, occurrence.start).trim_end();
            let edge_type = if before.ends_with('.') {
                EdgeType::CallsMethod
            } else {
                EdgeType::Calls
            };
            calls.push(MappedCall {
                edge: GraphEdge::new(caller.id, callee, edge_type),
                line,
            });
        }
        calls.sort();
        mapped.by_file.insert(source.document.path.clone(), calls);
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let line = "é = f(x)";
        assert_eq!(byte_offset(line, 5, Columns::Utf16), Some(6));
        assert_eq!(byte_offset(line, 6, Columns::Bytes), Some(6));
        assert_eq!(byte_offset(line, 8, Columns::Chars), Some(9));
        assert_eq!(byte_offset(line, 9, Columns::Chars), None);
    }
}
