//! Size limits: files and functions over the limits, and the allowlist
//! verdict.

use super::source::ModuleFile;
use super::{AllowedSize, MAX_FILE_LINES, MAX_FUNCTION_LINES};

/// A file or function over its limit.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Oversize {
    pub(super) path: String,
    /// Empty for the file itself.
    pub(super) function: String,
    /// Where it starts (1 for a file).
    pub(super) line: usize,
    pub(super) lines: usize,
}

/// The files and functions of `file` over [`MAX_FILE_LINES`] /
/// [`MAX_FUNCTION_LINES`].
pub(super) fn oversized(file: &ModuleFile) -> Vec<Oversize> {
    let path = file.path.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let production_lines = file.lines.saturating_sub(file.facts.test_lines);
    if production_lines > MAX_FILE_LINES {
        found.push(Oversize {
            path: path.clone(),
            function: String::new(),
            line: 1,
            lines: production_lines,
        });
    }
    for function in &file.facts.functions {
        let lines = function.last_line + 1 - function.first_line;
        if lines > MAX_FUNCTION_LINES {
            found.push(Oversize {
                path: path.clone(),
                function: function.name.clone(),
                line: function.first_line,
                lines,
            });
        }
    }
    found
}

/// Fails on an oversized item that is not allowlisted or grew past its
/// allowlisted size; notes the allowlisted items that shrank or are gone.
pub(super) fn judge_sizes(
    found: &[Oversize],
    allowed: &[&AllowedSize],
) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    let describe = |item: &Oversize| {
        if item.function.is_empty() {
            format!(
                "{}: {} lines without its tests (limit {MAX_FILE_LINES})",
                item.path, item.lines
            )
        } else {
            format!(
                "{}:{}: fn {} is {} lines (limit {MAX_FUNCTION_LINES})",
                item.path, item.line, item.function, item.lines
            )
        }
    };
    for item in found {
        let entry = allowed
            .iter()
            .find(|entry| entry.path == item.path && entry.function == item.function);
        match entry {
            None => errors.push(describe(item)),
            Some(entry) if item.lines > entry.lines => errors.push(format!(
                "{}, grew past its allowlisted {} (allowlisted as: {})",
                describe(item),
                entry.lines,
                entry.reason
            )),
            Some(entry) if item.lines < entry.lines => notices.push(format!(
                "{}: shrank from {}, lower its allowlist entry",
                describe(item),
                entry.lines
            )),
            Some(_) => {}
        }
    }
    for entry in allowed {
        let present = found
            .iter()
            .any(|item| entry.path == item.path && entry.function == item.function);
        if !present {
            let what = if entry.function.is_empty() {
                entry.path.to_string()
            } else {
                format!("{}: fn {}", entry.path, entry.function)
            };
            notices.push(format!(
                "{what} is within the limit now: remove its allowlist entry"
            ));
        }
    }
    (errors, notices)
}
