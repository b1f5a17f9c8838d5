//! Structure checks of `cargo xtask test-all`: no import loop between the
//! modules of a crate, and size limits on source files and functions.
//!
//! Both read the sources through a small lexer (identifiers, punctuation,
//! line numbers; strings, characters and comments skipped) and follow each
//! crate's module tree from its `lib.rs` / `main.rs` along `mod name;`
//! declarations, so a file's module path is where Rust finds it: `src/a.rs`
//! or `src/a/mod.rs` is `a`, `src/a/b.rs` is `a::b`. Items under
//! `#[cfg(test)]` and files named `tests.rs` are test code and not checked.
//!
//! Known offenders sit in explicit allowlists ([`ALLOWED_LOOPS`],
//! [`ALLOWED_LONG_FILES`], [`ALLOWED_LONG_FUNCTIONS`]): the checks pass on
//! them as they are and fail on a new offender or a grown one.

mod lexer;
mod loops;
mod sizes;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

use crate::checks;
use loops::{ImportLoop, import_loops, judge_loops};
use sizes::{judge_sizes, oversized};
use source::{CrateTree, load_crate};

/// Longest source file outside tests, in lines (its `#[cfg(test)]` items
/// not counted).
pub const MAX_FILE_LINES: usize = 800;

/// Longest function outside tests, in lines from `fn` to its closing brace.
pub const MAX_FUNCTION_LINES: usize = 120;

/// A strongly connected set of sibling modules that import each other,
/// known on `main` when the check was written.
pub struct AllowedLoop {
    /// The crate's root file, relative to the workspace.
    pub root: &'static str,
    /// The looping modules (`a`, `a::b`, ...); a loop found among a subset
    /// of them passes, one that reaches any other module fails.
    pub modules: &'static [&'static str],
    /// Why it is there, and what removes it.
    pub reason: &'static str,
}

/// Import loops on `main` when the check was written. Shrink it: a fixed
/// loop's entry goes (the check says so), a new loop is never added here.
pub const ALLOWED_LOOPS: &[AllowedLoop] = &[];

/// A file over [`MAX_FILE_LINES`] (or, with `function`, a function over
/// [`MAX_FUNCTION_LINES`]) with its size when it was allowlisted: it fails
/// the check once it grows past `lines`.
pub struct AllowedSize {
    pub path: &'static str,
    /// Empty for the file itself.
    pub function: &'static str,
    /// The size allowed: the file's lines without its tests, or the
    /// function's from `fn` to its closing brace.
    pub lines: usize,
    /// Why it is there, and what removes it.
    pub reason: &'static str,
}

/// Source files over [`MAX_FILE_LINES`] lines on `main` when the check was
/// written, with their lines then. Shrink it; never add to it.
pub const ALLOWED_LONG_FILES: &[AllowedSize] = &[];

/// Functions over [`MAX_FUNCTION_LINES`] lines on `main` when the check was
/// written, with their lines then. Shrink it; never add to it.
pub const ALLOWED_LONG_FUNCTIONS: &[AllowedSize] = &[];

/// Whether a crate root belongs to test or benchmark code (not size-checked).
fn is_test_crate(root: &Path) -> bool {
    root.starts_with("tests") || root.starts_with("benches")
}

/// Every lib and bin crate of the workspace, as module trees.
fn workspace_crates() -> Result<Vec<CrateTree>, String> {
    let workspace = checks::workspace_root();
    let metadata = checks::cargo_metadata()?;
    let mut roots = BTreeSet::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds = target["kind"].as_array().into_iter().flatten();
            let code = kinds
                .filter_map(|kind| kind.as_str())
                .any(|kind| matches!(kind, "lib" | "rlib" | "bin" | "proc-macro"));
            let source = Path::new(target["src_path"].as_str().unwrap_or_default());
            if code && let Ok(relative) = source.strip_prefix(&workspace) {
                roots.insert(relative.to_path_buf());
            }
        }
    }
    let mut read = |path: &Path| std::fs::read_to_string(workspace.join(path)).ok();
    roots
        .iter()
        .map(|root| load_crate(root, &mut read))
        .collect()
}

fn with_notices(message: String, notices: &[String]) -> String {
    if notices.is_empty() {
        message
    } else {
        format!("{message}\n    note: {}", notices.join("\n    note: "))
    }
}

/// Fails on an import loop between the modules of any workspace crate that
/// [`ALLOWED_LOOPS`] does not hold.
pub fn no_import_loops() -> Result<String, String> {
    let crates = workspace_crates()?;
    let found: Vec<ImportLoop> = crates.iter().flat_map(import_loops).collect();
    let modules: usize = crates.iter().map(|tree| tree.files.len()).sum();
    let (errors, notices) = judge_loops(&found, ALLOWED_LOOPS);
    if !errors.is_empty() {
        return Err(with_notices(
            format!(
                "{} new import loop(s) (a module must not import a sibling that imports it \
                 back; move what both need below them):\n      {}",
                errors.len(),
                errors.join("\n      ")
            ),
            &notices,
        ));
    }
    let allowed: Vec<String> = ALLOWED_LOOPS
        .iter()
        .map(|entry| {
            format!(
                "{}: {} ({})",
                entry.root,
                entry.modules.join(", "),
                entry.reason
            )
        })
        .collect();
    Ok(with_notices(
        format!(
            "{} crates, {modules} module files: no new import loop; allowlist: {} loop(s){}",
            crates.len(),
            ALLOWED_LOOPS.len(),
            allowed
                .iter()
                .map(|entry| format!("\n      {entry}"))
                .collect::<String>()
        ),
        &notices,
    ))
}

/// Fails on a source file over [`MAX_FILE_LINES`] or a function over
/// [`MAX_FUNCTION_LINES`] outside tests and benches that is not allowlisted,
/// or that grew past its allowlisted size.
pub fn size_limits() -> Result<String, String> {
    let crates = workspace_crates()?;
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    let mut functions = 0;
    for tree in crates.iter().filter(|tree| !is_test_crate(&tree.root)) {
        for file in &tree.files {
            if seen.insert(file.path.clone()) {
                functions += file.facts.functions.len();
                found.extend(oversized(file));
            }
        }
    }
    let allowed: Vec<&AllowedSize> = ALLOWED_LONG_FILES
        .iter()
        .chain(ALLOWED_LONG_FUNCTIONS)
        .collect();
    let (errors, notices) = judge_sizes(&found, &allowed);
    if !errors.is_empty() {
        return Err(with_notices(
            format!(
                "{} item(s) over the size limits (split along the seams they have):\n      {}",
                errors.len(),
                errors.join("\n      ")
            ),
            &notices,
        ));
    }
    Ok(with_notices(
        format!(
            "{} files, {functions} functions against {MAX_FILE_LINES} / {MAX_FUNCTION_LINES} lines: \
             nothing new or grown; \
             allowlist: {} files, {} functions",
            seen.len(),
            ALLOWED_LONG_FILES.len(),
            ALLOWED_LONG_FUNCTIONS.len()
        ),
        &notices,
    ))
}
