//! A peer tool's call edges (`--peer-edges FILE`), scored in place of
//! kausal's: GitNexus or CodeGraphContext, run by `cargo xtask eval-calls
//! --peers` on the same tree. The file is a TSV, one edge a line:
//! `caller_path`, `caller_line`, `callee_path`, `callee_line` separated by
//! tabs, and optionally `caller_name`, `callee_name`; each end the file
//! (relative to the project root) and the 1-based first line of a function
//! or method definition. Each end is mapped to a kausal function block by
//! file and line, as the reference maps its callees, so both tools are
//! scored on the same blocks against the same reference edges; a named end
//! on a line with no block (a TypeScript overload signature, which a peer
//! may take for the function) maps to the next block of that name in the
//! file (its implementation), as the reference maps overloads.

use std::collections::BTreeSet;

use kausal_storage::BlockId;

use crate::{Func, innermost};

/// One end of a peer's edge: the file and the 1-based line where the
/// function's definition starts, and its name when the TSV gives it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct End {
    pub path: String,
    pub line: u32,
    pub name: Option<String>,
}

/// Reads the TSV of a peer's edges. Blank lines and `#` comments are
/// skipped; any other line must have four fields (or six, with the
/// names) with numeric lines.
pub fn parse(text: &str) -> Result<Vec<(End, End)>, String> {
    let mut edges = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (caller_path, caller_line, callee_path, callee_line, names) = match fields[..] {
            [a, b, c, d] => (a, b, c, d, None),
            [a, b, c, d, e, f] => (a, b, c, d, Some((e, f))),
            _ => {
                return Err(format!(
                    "line {}: {} fields, not 4 or 6: {line}",
                    number + 1,
                    fields.len()
                ));
            }
        };
        let end = |path: &str, line_text: &str, name: Option<&str>| {
            let line: u32 = line_text
                .trim()
                .parse()
                .map_err(|_| format!("line {}: not a line number: {line_text}", number + 1))?;
            Ok::<End, String>(End {
                path: path.trim_start_matches("./").to_string(),
                line,
                name: name.filter(|n| !n.is_empty()).map(str::to_string),
            })
        };
        edges.push((
            end(caller_path, caller_line, names.map(|n| n.0))?,
            end(callee_path, callee_line, names.map(|n| n.1))?,
        ));
    }
    Ok(edges)
}

/// The kausal function block a peer's function is: the outermost block of
/// the file starting on its line (a closure may start on the same line
/// inside it), else, for a caller, the innermost block around the line
/// (a function kausal keeps no block for, such as a Rust closure in a
/// `let`, whose calls the reference also gives to the block around), else
/// the next block of its name (an overload's implementation). A callee
/// with no block of its own is none: a call of a closure is no call of a
/// function the reference defines. `true` with the block when it starts
/// on the line.
pub fn block_at(funcs: &[Func], end: &End, caller: bool) -> Option<(BlockId, bool)> {
    let starting = funcs
        .iter()
        .filter(|f| f.path == end.path && f.start == end.line)
        .max_by_key(|f| f.end - f.start);
    if let Some(f) = starting {
        return Some((f.id, true));
    }
    let around = innermost(funcs, &end.path, end.line, None).filter(|_| caller);
    let named_next = || {
        let name = end.name.as_deref()?;
        funcs
            .iter()
            .filter(|f| f.path == end.path && f.start > end.line && f.name == name)
            .min_by_key(|f| f.start)
    };
    around.or_else(named_next).map(|f| (f.id, false))
}

/// A peer's edges mapped onto kausal's blocks.
#[derive(Debug, Default)]
pub struct Mapped {
    pub edges: BTreeSet<(BlockId, BlockId)>,
    /// Edges of the file, before mapping (duplicates included).
    pub listed: usize,
    /// Edges with an end that is no kausal function block (a class, a
    /// module, a line kausal sees no function on).
    pub unmapped: usize,
    /// The ends that are no block (`path:line`), each once, for the log.
    pub unmapped_ends: BTreeSet<String>,
    /// Ends mapped to the block around their line (callers) or the next
    /// of their name, none starting on it.
    pub not_at_start: usize,
}

/// Maps every edge of the TSV onto kausal's function blocks.
pub fn map(edges: &[(End, End)], funcs: &[Func]) -> Mapped {
    let mut mapped = Mapped {
        listed: edges.len(),
        ..Mapped::default()
    };
    for (caller, callee) in edges {
        match (
            block_at(funcs, caller, true),
            block_at(funcs, callee, false),
        ) {
            (Some((a, a_starts)), Some((b, b_starts))) => {
                mapped.not_at_start += usize::from(!a_starts) + usize::from(!b_starts);
                mapped.edges.insert((a, b));
            }
            (a, b) => {
                mapped.unmapped += 1;
                for (end, block) in [(caller, a), (callee, b)] {
                    if block.is_none() {
                        mapped
                            .unmapped_ends
                            .insert(format!("{}:{}", end.path, end.line));
                    }
                }
            }
        }
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(n: u8) -> BlockId {
        BlockId::from_bytes([n; 16])
    }

    fn func(id: u8, path: &str, start: u32, end: u32) -> Func {
        Func {
            id: id_of(id),
            path: path.into(),
            name: format!("f{id}"),
            qualified: format!("f{id}"),
            start,
            end,
        }
    }

    #[test]
    fn tsv_is_read_strictly() {
        let edges = parse("# caller\tline\n./a.py\t3\tb.py\t10\n\n").unwrap();
        let named = parse("a.ts\t3\tb.ts\t10\tf\tg\n").unwrap();
        assert_eq!(named[0].1.name.as_deref(), Some("g"));
        assert_eq!(
            edges,
            vec![(
                End {
                    path: "a.py".into(),
                    line: 3,
                    name: None
                },
                End {
                    path: "b.py".into(),
                    line: 10,
                    name: None
                }
            )]
        );
        assert!(parse("a.py\t3\tb.py").unwrap_err().contains("3 fields"));
        assert!(parse("a\t3\tb\t4\tf").unwrap_err().contains("not 4 or 6"));
        assert!(parse("a.py\tx\tb.py\t1").unwrap_err().contains("line 1"));
    }

    #[test]
    fn ends_map_by_start_line_then_by_enclosing_block_or_name() {
        let funcs = vec![
            func(1, "a.py", 10, 40),
            func(2, "a.py", 10, 12), // a closure on the same line
            func(3, "a.py", 20, 30),
            func(4, "b.py", 1, 5),
        ];
        let at = |path: &str, line| {
            block_at(
                &funcs,
                &End {
                    path: path.into(),
                    line,
                    name: None,
                },
                true,
            )
        };
        assert_eq!(at("a.py", 10), Some((id_of(1), true)));
        assert_eq!(at("a.py", 21), Some((id_of(3), false)));
        assert_eq!(at("a.py", 50), None);
        assert_eq!(at("c.py", 1), None);
        // An overload signature at line 45 maps to the implementation.
        let overload = |name: &str| End {
            path: "a.py".into(),
            line: 45,
            name: Some(name.into()),
        };
        let mut more = funcs.clone();
        more.push(func(5, "a.py", 47, 50));
        more.push(func(6, "a.py", 52, 60));
        assert_eq!(
            block_at(&more, &overload("f6"), false),
            Some((id_of(6), false))
        );
        assert_eq!(block_at(&more, &overload("f9"), true), None);
        // A callee inside a block but not starting one is no function.
        let inside = End {
            path: "a.py".into(),
            line: 21,
            name: None,
        };
        assert_eq!(block_at(&funcs, &inside, false), None);
        let edges =
            parse("a.py\t20\tb.py\t1\na.py\t21\tb.py\t1\na.py\t50\tb.py\t1\na.py\t20\tb.py\t2\n")
                .unwrap();
        let mapped = map(&edges, &funcs);
        assert_eq!(mapped.listed, 4);
        assert_eq!(mapped.unmapped, 2);
        assert_eq!(mapped.not_at_start, 1);
        assert_eq!(
            mapped.edges.into_iter().collect::<Vec<_>>(),
            vec![(id_of(3), id_of(4))]
        );
    }
}
