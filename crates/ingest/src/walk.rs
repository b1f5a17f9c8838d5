//! The walk: which files of the tree are source files, with their size and
//! modification time. Uses the `ignore` crate (`.gitignore`, `.ignore`,
//! `.kausalignore`, hidden files; `require_git(false)` so the rules apply
//! outside a git checkout; `--no-ignore` turns the rule files off and
//! `--ignore-file` adds one) and always skips `target/`, `node_modules/` and
//! `.git/`. What the rules excluded is counted by a second walk without
//! them (names only, no metadata) and attributed to a rule file in
//! `ignored.rs`, so a tree whose rules hide everything says so. Directory listing and metadata come from the real file system
//! through `ignore` (the `Vfs` trait has no directory walk or mtime); file
//! contents are read through `Vfs` in `read.rs`.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use ignore::WalkBuilder;

use crate::IngestOptions;
use crate::error::IngestError;
use crate::ignored::attribute;
use crate::language::Language;
use crate::report::{IgnoredFiles, SkipCause, SkippedFile};

/// Directories never walked, whatever the ignore files say.
pub const ALWAYS_SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git"];

/// A source file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    /// Repo-relative, `/`-separated.
    pub path: String,
    pub absolute: PathBuf,
    pub language: Language,
    pub size: u64,
    pub mtime_ns: u64,
}

/// What one walk found.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    /// Source files, sorted by path.
    pub entries: Vec<WalkEntry>,
    /// Files left out by the walk, with reasons.
    pub skipped: Vec<SkippedFile>,
    /// What the ignore rules excluded.
    pub ignored: IgnoredFiles,
}

/// A walker over `root`: with the ignore rules (and any extra rule files)
/// when `rules`, without any when not. Hidden files and the always-skipped
/// directories are left out either way.
fn builder(root: &Path, options: &IngestOptions, rules: bool) -> Result<WalkBuilder, IngestError> {
    let mut builder = WalkBuilder::new(root);
    builder
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| ALWAYS_SKIPPED_DIRS.contains(&name)))
        });
    if rules {
        builder.add_custom_ignore_filename(".kausalignore");
        for file in &options.ignore_files {
            if let Some(error) = builder.add_ignore(file) {
                return Err(IngestError::InvalidOptions {
                    reason: format!("ignore file {}: {error}", file.display()),
                });
            }
        }
    } else {
        builder
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .parents(false);
    }
    Ok(builder)
}

/// Walks `root`; returns source files sorted by path, what was skipped and
/// what the ignore rules excluded.
pub fn walk(root: &Path, options: &IngestOptions) -> Result<WalkOutcome, IngestError> {
    if !root.is_dir() {
        return Err(IngestError::Walk {
            root: root.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let with_rules = !options.no_ignore;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for result in builder(root, options, with_rules)?.build() {
        let entry = match result {
            Ok(entry) => entry,
            Err(error) => {
                let path = error_path(&error)
                    .and_then(|p| relative(root, &p))
                    .unwrap_or_else(|| "(walk)".to_string());
                skipped.push(SkippedFile::new(
                    path,
                    SkipCause::Unreadable,
                    format!("walk error: {error}"),
                ));
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let Some(path) = relative(root, entry.path()) else {
            if Language::from_path(&entry.path().to_string_lossy()).is_some() {
                skipped.push(SkippedFile::new(
                    entry.path().to_string_lossy(),
                    SkipCause::Unreadable,
                    "path is not UTF-8",
                ));
            }
            continue;
        };
        let Some(language) = Language::from_path(&path) else {
            continue;
        };
        if file_type.is_symlink() {
            skipped.push(SkippedFile::new(
                path,
                SkipCause::Symlink,
                "symbolic link (not followed)",
            ));
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            Err(error) => {
                skipped.push(SkippedFile::new(
                    path,
                    SkipCause::Unreadable,
                    format!("vanished or unreadable: {error}"),
                ));
                continue;
            }
        };
        let mtime_ns = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        entries.push(WalkEntry {
            path,
            absolute: entry.path().to_path_buf(),
            language,
            size: metadata.len(),
            mtime_ns,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries.dedup_by(|a, b| a.path == b.path);
    let ignored = if with_rules {
        ignored_by_rules(root, options, &entries, &skipped)?
    } else {
        IgnoredFiles::default()
    };
    Ok(WalkOutcome {
        entries,
        skipped,
        ignored,
    })
}

/// Walks `root` again without ignore rules (names and file types only) and
/// counts the source files the rules excluded, naming the rule file that
/// matches most of them.
fn ignored_by_rules(
    root: &Path,
    options: &IngestOptions,
    found: &[WalkEntry],
    skipped: &[SkippedFile],
) -> Result<IgnoredFiles, IngestError> {
    let seen: std::collections::HashSet<&str> = found
        .iter()
        .map(|entry| entry.path.as_str())
        .chain(skipped.iter().map(|file| file.path.as_str()))
        .collect();
    let mut without_rules = 0u64;
    let mut excluded = Vec::new();
    for entry in builder(root, options, false)?.build().flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(path) = relative(root, entry.path()) else {
            continue;
        };
        if Language::from_path(&path).is_none() {
            continue;
        }
        without_rules += 1;
        if !seen.contains(path.as_str()) {
            excluded.push(path);
        }
    }
    let top_rule_file = attribute(root, &options.ignore_files, &excluded);
    Ok(IgnoredFiles {
        excluded: excluded.len() as u64,
        without_rules: without_rules.max(found.len() as u64),
        top_rule_file,
    })
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// `path` relative to `root`, `/`-separated; `None` if not UTF-8.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for component in rel.components() {
        let part = component.as_os_str().to_str()?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    Some(out)
}
