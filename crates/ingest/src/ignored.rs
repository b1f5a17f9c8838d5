//! Which ignore rule file excluded the files the walk left out: the answer
//! to "why did ingest find nothing?". Every rule file that can apply to an
//! excluded file (`.gitignore`, `.ignore`, `.kausalignore` in its
//! directory or one above it, up past the root as the walk reads them,
//! `.git/info/exclude`, `--ignore-file`s) is matched on its own against a
//! bounded, evenly spaced sample of the excluded files; the one matching
//! the most is named with one of its rules. This explains, it does not
//! decide: the walk's own verdict came from the `ignore` crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::limits::MAX_IGNORE_ATTRIBUTION_SAMPLES;
use crate::report::RuleFileHit;

/// Rule file names read in every directory, as the walk reads them.
const RULE_FILE_NAMES: &[&str] = &[".gitignore", ".ignore", ".kausalignore"];

/// One rule file and the directory its patterns are relative to.
struct RuleFile {
    path: PathBuf,
    matcher: Gitignore,
    matched: u64,
    rule: String,
    example: String,
}

impl RuleFile {
    fn load(dir: &Path, path: PathBuf) -> Option<Self> {
        if !path.is_file() {
            return None;
        }
        let mut builder = GitignoreBuilder::new(dir);
        // A line that does not parse is skipped; the rest still explain.
        let _ = builder.add(&path);
        let matcher = builder.build().ok()?;
        Some(Self {
            path,
            matcher,
            matched: 0,
            rule: String::new(),
            example: String::new(),
        })
    }

    /// Counts `relative` (to the file's directory) if the file's rules ignore it.
    fn check(&mut self, relative: &Path, example: &str) {
        if let ignore::Match::Ignore(glob) =
            self.matcher.matched_path_or_any_parents(relative, false)
        {
            self.matched += 1;
            if self.rule.is_empty() {
                self.rule = glob.original().to_string();
                self.example = example.to_string();
            }
        }
    }
}

/// The rule file that matches most of `excluded` (root-relative,
/// `/`-separated paths), if any does.
pub fn attribute(root: &Path, extra_files: &[PathBuf], excluded: &[String]) -> Option<RuleFileHit> {
    if excluded.is_empty() {
        return None;
    }
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let step = excluded
        .len()
        .div_ceil(MAX_IGNORE_ATTRIBUTION_SAMPLES)
        .max(1);
    let sample: Vec<&String> = excluded.iter().step_by(step).collect();

    // Rule files by directory: inside the root, every directory above a
    // sampled file; outside, the root's ancestors.
    let mut by_dir: BTreeMap<PathBuf, Vec<RuleFile>> = BTreeMap::new();
    let load_dir = |dir: &Path, by_dir: &mut BTreeMap<PathBuf, Vec<RuleFile>>| {
        if by_dir.contains_key(dir) {
            return;
        }
        let files = RULE_FILE_NAMES
            .iter()
            .filter_map(|name| RuleFile::load(dir, dir.join(name)))
            .collect();
        by_dir.insert(dir.to_path_buf(), files);
    };
    for path in &sample {
        let mut dir = root.join(path.as_str());
        while dir.pop() && dir.starts_with(&root) {
            load_dir(&dir, &mut by_dir);
        }
    }
    let mut above = root.clone();
    while above.pop() {
        load_dir(&above, &mut by_dir);
    }
    // Rule files whose patterns are relative to the root.
    let mut rooted: Vec<RuleFile> = extra_files
        .iter()
        .chain(std::iter::once(&root.join(".git/info/exclude")))
        .filter_map(|file| RuleFile::load(&root, file.clone()))
        .collect();

    for path in &sample {
        let absolute = root.join(path.as_str());
        let mut dir = absolute.clone();
        while dir.pop() {
            let (Some(files), Ok(relative)) = (by_dir.get_mut(&dir), absolute.strip_prefix(&dir))
            else {
                continue;
            };
            for file in files.iter_mut() {
                file.check(relative, path);
            }
        }
        let relative = Path::new(path.as_str());
        for file in rooted.iter_mut() {
            file.check(relative, path);
        }
    }
    let best = by_dir
        .into_values()
        .flatten()
        .chain(rooted)
        .filter(|file| file.matched > 0)
        // Most matches; among equals the first in path order (deterministic).
        .min_by(|a, b| b.matched.cmp(&a.matched).then_with(|| a.path.cmp(&b.path)))?;
    let shown = best
        .path
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| best.path.clone());
    Some(RuleFileHit {
        path: shown.to_string_lossy().replace('\\', "/"),
        matched: best
            .matched
            .saturating_mul(step as u64)
            .min(excluded.len() as u64),
        rule: best.rule,
        example: best.example,
    })
}
