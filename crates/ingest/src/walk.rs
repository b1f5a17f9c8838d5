//! The walk: which files of the tree are source files, with their size and
//! modification time. Uses the `ignore` crate (`.gitignore`, `.ignore`,
//! `.kausalignore`, hidden files; `require_git(false)` so the rules apply
//! outside a git checkout) and always skips `target/`, `node_modules/` and
//! `.git/`. Directory listing and metadata come from the real file system
//! through `ignore` (the `Vfs` trait has no directory walk or mtime); file
//! contents are read through `Vfs` in `read.rs`.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use ignore::WalkBuilder;

use crate::IngestOptions;
use crate::error::IngestError;
use crate::language::Language;
use crate::report::SkippedFile;

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

/// Walks `root`; returns source files sorted by path, and what was skipped.
pub fn walk(
    root: &Path,
    options: &IngestOptions,
) -> Result<(Vec<WalkEntry>, Vec<SkippedFile>), IngestError> {
    if !root.is_dir() {
        return Err(IngestError::Walk {
            root: root.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let mut builder = WalkBuilder::new(root);
    builder
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .add_custom_ignore_filename(".kausalignore")
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| ALWAYS_SKIPPED_DIRS.contains(&name)))
        });
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for result in builder.build() {
        let entry = match result {
            Ok(entry) => entry,
            Err(error) => {
                let path = error_path(&error)
                    .and_then(|p| relative(root, &p))
                    .unwrap_or_else(|| "(walk)".to_string());
                skipped.push(SkippedFile {
                    path,
                    reason: format!("walk error: {error}"),
                });
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let Some(path) = relative(root, entry.path()) else {
            if Language::from_path(&entry.path().to_string_lossy()).is_some() {
                skipped.push(SkippedFile {
                    path: entry.path().to_string_lossy().into_owned(),
                    reason: "path is not UTF-8".into(),
                });
            }
            continue;
        };
        let Some(language) = Language::from_path(&path) else {
            continue;
        };
        if file_type.is_symlink() {
            skipped.push(SkippedFile {
                path,
                reason: "symbolic link (not followed)".into(),
            });
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            Err(error) => {
                skipped.push(SkippedFile {
                    path,
                    reason: format!("vanished or unreadable: {error}"),
                });
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
    Ok((entries, skipped))
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
