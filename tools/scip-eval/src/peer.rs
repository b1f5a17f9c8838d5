//! A peer tool's call edges (`--peer-edges FILE`), scored in place of
//! kausal's: GitNexus or CodeGraphContext, run by `cargo xtask eval-calls
//! --peers` on the same tree. The file is a TSV, one edge a line:
//! `caller_path`, `caller_line`, `callee_path`, `callee_line` separated by
//! tabs, each end the file
//! (relative to the project root) and the 1-based first line of a function
//! or method definition. Each end is mapped to a kausal function block by
//! file and line, as the reference maps its callees, so both tools are
//! scored on the same blocks against the same reference edges.

use std::collections::BTreeSet;

use kausal_storage::BlockId;

use crate::{Func, innermost};

/// One end of a peer's edge: the file and the 1-based line where the
/// function's definition starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct End {
    pub path: String,
    pub line: u32,
}

/// Reads the TSV of a peer's edges. Blank lines and `#` comments are
/// skipped; any other line must have four fields with numeric lines.
pub fn parse(text: &str) -> Result<Vec<(End, End)>, String> {
    let mut edges = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [caller_path, caller_line, callee_path, callee_line] = fields[..] else {
            return Err(format!(
                "line {}: {} fields, not 4: {line}",
                number + 1,
                fields.len()
            ));
        };
        let end = |path: &str, line_text: &str| {
            let line: u32 = line_text
                .trim()
                .parse()
                .map_err(|_| format!("line {}: not a line number: {line_text}", number + 1))?;
            Ok::<End, String>(End {
                path: path.trim_start_matches("./").to_string(),
                line,
            })
        };
        edges.push((
            end(caller_path, caller_line)?,
            end(callee_path, callee_line)?,
        ));
    }
    Ok(edges)
}

/// The kausal function block a peer's function is: the outermost block of
/// the file starting on its line (a closure may start on the same line
/// inside it), else the innermost block around the line (a peer that
/// starts a Python function at its `def` where kausal starts it at its
/// decorator, or the reverse within the block).
pub fn block_at(funcs: &[Func], end: &End) -> Option<BlockId> {
    let starting = funcs
        .iter()
        .filter(|f| f.path == end.path && f.start == end.line)
        .max_by_key(|f| f.end - f.start);
    starting
        .or_else(|| innermost(funcs, &end.path, end.line, None))
        .map(|f| f.id)
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
}

/// Maps every edge of the TSV onto kausal's function blocks.
pub fn map(edges: &[(End, End)], funcs: &[Func]) -> Mapped {
    let mut mapped = Mapped {
        listed: edges.len(),
        ..Mapped::default()
    };
    for (caller, callee) in edges {
        match (block_at(funcs, caller), block_at(funcs, callee)) {
            (Some(a), Some(b)) => {
                mapped.edges.insert((a, b));
            }
            _ => mapped.unmapped += 1,
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
        assert_eq!(
            edges,
            vec![(
                End {
                    path: "a.py".into(),
                    line: 3
                },
                End {
                    path: "b.py".into(),
                    line: 10
                }
            )]
        );
        assert!(parse("a.py\t3\tb.py").unwrap_err().contains("3 fields"));
        assert!(parse("a.py\tx\tb.py\t1").unwrap_err().contains("line 1"));
    }

    #[test]
    fn ends_map_by_start_line_then_by_enclosing_block() {
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
                },
            )
        };
        assert_eq!(at("a.py", 10), Some(id_of(1)));
        assert_eq!(at("a.py", 21), Some(id_of(3)));
        assert_eq!(at("a.py", 50), None);
        assert_eq!(at("c.py", 1), None);
        let edges = parse("a.py\t20\tb.py\t1\na.py\t20\tb.py\t2\na.py\t50\tb.py\t1\n").unwrap();
        let mapped = map(&edges, &funcs);
        assert_eq!(mapped.listed, 3);
        assert_eq!(mapped.unmapped, 1);
        assert_eq!(
            mapped.edges.into_iter().collect::<Vec<_>>(),
            vec![(id_of(3), id_of(4))]
        );
    }
}
