//! Scoring against hand-labelled call sites (Go, C, Zig: languages with no
//! reference indexer here). A labels file is a TSV with `#` header lines
//! and the columns `path line callee expected note`: the call of `callee`
//! at `path:line` calls the function defined at `expected` (`path:line`
//! of its name), or is `external` (defined outside the project root),
//! `dynamic` (through a function value), `conversion` (a type
//! conversion), or one of the kinds left out of the score: `macro`,
//! `interface` (dynamic dispatch), `type` (a type-returning function).
//!
//! Per site, kausal's answer is the set of functions its caller block (the
//! innermost function around the line) has `calls`/`calls_method` edges to
//! that are named `callee` or are the expected function. A site is
//! correct when the expected function is in that set, wrong when the set
//! is not empty and the site is not correct, unanswered when it is empty.
//! Precision = correct / (correct + wrong); recall = correct / sites with
//! a function in the project. A caller with two calls of one name to two
//! different functions answers both sites with both: a site is then still
//! correct (its target is there), a rare case the sample shows in notes.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use kausal_storage::BlockId;

use crate::{Func, Graph, innermost};

/// What a labelled site calls.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// A function of the project: its file and the line of its name.
    Function { path: String, line: u32 },
    /// Nothing kausal should link: outside the project, a function value,
    /// a type conversion.
    NoEdge(String),
    /// Left out of the score (macro, interface, type).
    Excluded(String),
}

/// One labelled call site.
#[derive(Debug, Clone)]
struct Site {
    path: String,
    line: u32,
    callee: String,
    expected: Expected,
}

/// Kinds of label that are scored as "no edge is right".
const NO_EDGE_KINDS: &[&str] = &["external", "dynamic", "conversion"];
/// Kinds of label left out of the score.
const EXCLUDED_KINDS: &[&str] = &["macro", "interface", "type"];

fn parse(text: &str, file: &str) -> Result<Vec<Site>, String> {
    let mut sites = Vec::new();
    let mut header_seen = false;
    for (number, line) in text.lines().enumerate() {
        let at = || format!("{file}:{}", number + 1);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        if !header_seen {
            if columns.first() != Some(&"path") {
                return Err(format!(
                    "{}: expected the header line 'path\tline\t...'",
                    at()
                ));
            }
            header_seen = true;
            continue;
        }
        let [path, line_text, callee, expected, ..] = columns.as_slice() else {
            return Err(format!("{}: fewer than 4 columns", at()));
        };
        let line: u32 = line_text
            .parse()
            .map_err(|_| format!("{}: line {line_text:?} is not a number", at()))?;
        let expected = if NO_EDGE_KINDS.contains(expected) {
            Expected::NoEdge(expected.to_string())
        } else if EXCLUDED_KINDS.contains(expected) {
            Expected::Excluded(expected.to_string())
        } else {
            let (target, target_line) = expected
                .rsplit_once(':')
                .ok_or_else(|| format!("{}: unknown label {expected:?}", at()))?;
            let target_line = target_line
                .parse()
                .map_err(|_| format!("{}: label {expected:?} has no line", at()))?;
            Expected::Function {
                path: target.to_string(),
                line: target_line,
            }
        };
        sites.push(Site {
            path: path.to_string(),
            line,
            callee: callee.to_string(),
            expected,
        });
    }
    if sites.is_empty() {
        return Err(format!("{file}: no labelled sites"));
    }
    Ok(sites)
}

/// The function block whose span holds `line` of `path`, innermost first,
/// preferring one named `name` (a label names the definition's line).
fn function_at<'a>(funcs: &'a [Func], path: &str, line: u32, name: &str) -> Option<&'a Func> {
    innermost(funcs, path, line, Some(name)).or_else(|| innermost(funcs, path, line, None))
}

/// The score of one labels file.
pub struct LabelScore {
    pub sites: usize,
    pub correct: usize,
    pub wrong: usize,
    pub in_project: usize,
    pub excluded: usize,
    pub precision: f64,
    pub recall: f64,
    /// Every wrong and every missed site, one line each.
    pub listing: String,
}

/// Scores kausal's graph against the labels in `text` (read from `file`).
pub fn score(graph: &Graph, text: &str, file: &str) -> Result<LabelScore, String> {
    let sites = parse(text, file)?;
    let by_id: HashMap<BlockId, &Func> = graph.funcs.iter().map(|f| (f.id, f)).collect();
    let (mut correct, mut wrong, mut in_project, mut excluded) = (0, 0, 0, 0);
    let (mut wrong_lines, mut missed_lines) = (Vec::new(), Vec::new());
    for site in &sites {
        let expected_func = match &site.expected {
            Expected::Excluded(_) => {
                excluded += 1;
                continue;
            }
            Expected::Function { path, line } => {
                in_project += 1;
                function_at(&graph.funcs, path, *line, &site.callee)
            }
            Expected::NoEdge(_) => None,
        };
        let caller = innermost(&graph.funcs, &site.path, site.line, None);
        let answer: BTreeSet<BlockId> = caller
            .map(|caller| {
                graph
                    .edges
                    .range(
                        (caller.id, BlockId::from_u128(0))
                            ..=(caller.id, BlockId::from_u128(u128::MAX)),
                    )
                    .map(|(_, target)| *target)
                    .filter(|target| {
                        Some(*target) == expected_func.map(|f| f.id)
                            || by_id.get(target).is_some_and(|f| f.name == site.callee)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let describe = |ids: &BTreeSet<BlockId>| {
            let names: Vec<String> = ids
                .iter()
                .filter_map(|id| by_id.get(id))
                .map(|f| format!("{}:{}", f.path, f.start))
                .collect();
            names.join(", ")
        };
        let site_text = format!(
            "{}:{} {} (expected {})",
            site.path,
            site.line,
            site.callee,
            match &site.expected {
                Expected::Function { path, line } => format!("{path}:{line}"),
                Expected::NoEdge(kind) | Expected::Excluded(kind) => kind.clone(),
            }
        );
        let hit = expected_func.is_some_and(|f| answer.contains(&f.id));
        if hit {
            correct += 1;
        } else if !answer.is_empty() {
            wrong += 1;
            wrong_lines.push(format!("{site_text}: kausal says {}", describe(&answer)));
        }
        if matches!(site.expected, Expected::Function { .. }) && !hit {
            let why = match (caller, expected_func) {
                (None, _) => "no function block around the call",
                (_, None) => "no function block at the expected definition",
                _ => "no edge",
            };
            missed_lines.push(format!("{site_text}: {why}"));
        }
    }
    let mut listing = String::new();
    let _ = writeln!(listing, "wrong: {}", wrong_lines.len());
    for line in &wrong_lines {
        let _ = writeln!(listing, "  {line}");
    }
    let _ = writeln!(listing, "missed: {}", missed_lines.len());
    for line in &missed_lines {
        let _ = writeln!(listing, "  {line}");
    }
    Ok(LabelScore {
        sites: sites.len(),
        correct,
        wrong,
        in_project,
        excluded,
        precision: correct as f64 / (correct + wrong).max(1) as f64,
        recall: correct as f64 / in_project.max(1) as f64,
        listing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_reject_bad_rows() {
        let text = "# project: x\npath\tline\tcallee\texpected\tnote\na.go\t3\tf\tb.go:7\t\na.go\t4\tg\texternal\tnote\na.go\t5\tM\tmacro\t\n";
        let sites = parse(text, "x.tsv").expect("parses");
        assert_eq!(sites.len(), 3);
        assert_eq!(
            sites[0].expected,
            Expected::Function {
                path: "b.go".into(),
                line: 7
            }
        );
        assert_eq!(sites[1].expected, Expected::NoEdge("external".into()));
        assert_eq!(sites[2].expected, Expected::Excluded("macro".into()));
        assert!(parse("path\tline\tcallee\texpected\na\tx\tf\texternal\n", "y").is_err());
        assert!(parse("path\tline\tcallee\texpected\na\t1\tf\tsomewhere\n", "y").is_err());
        assert!(parse("a\t1\tf\texternal\n", "y").is_err());
        assert!(parse("path\tline\tcallee\texpected\n", "y").is_err());
    }
}
