//! Modules of the file-scoped languages: which files an import specifier
//! names, what a module declares or re-exports, and the `imports` edges.

use rustc_hash::FxHashSet;

use super::Index;
use super::zig;
use crate::language::Language;
use crate::resolve::{ItemRef, Resolution, id_of};
use crate::summary::Import;
use kausal_storage::EdgeType;

/// Most re-exports followed from one module (`export *` of `export *` ...).
pub(super) const MAX_REEXPORT_HOPS: usize = 8;

pub(super) fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Joins a relative specifier onto a directory, folding `.` and `..`.
pub(super) fn join_relative(dir: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

impl<'a> Index<'a> {
    /// The files an import specifier names, if they are in the tree.
    pub(super) fn module_files_of(&self, from: &str, spec: &str) -> Vec<u32> {
        let dir = dir_of(from);
        let candidates: Vec<String> = match self.language {
            Language::Python => {
                let dots = spec.chars().take_while(|c| *c == '.').count();
                let rest = spec[dots..].replace('.', "/");
                let base = if dots > 0 {
                    let mut base = dir.to_string();
                    for _ in 1..dots {
                        base = dir_of(&base).to_string();
                    }
                    join_relative(&base, &rest)
                } else {
                    rest
                };
                vec![format!("{base}.py"), format!("{base}/__init__.py")]
            }
            Language::JavaScript | Language::TypeScript | Language::Tsx => {
                if !spec.starts_with('.') {
                    return Vec::new();
                }
                let base = join_relative(dir, spec);
                [
                    "",
                    ".ts",
                    ".tsx",
                    ".js",
                    ".jsx",
                    ".mjs",
                    "/index.ts",
                    "/index.js",
                ]
                .iter()
                .map(|ext| format!("{base}{ext}"))
                .collect()
            }
            Language::C => return self.include_targets(from, spec),
            Language::Zig => {
                if !spec.ends_with(".zig") {
                    return Vec::new();
                }
                vec![join_relative(dir, spec)]
            }
            Language::Go => {
                // A Go import path ends with the package directory.
                let mut found: Vec<(usize, &&str)> = self
                    .module_files
                    .keys()
                    .filter(|d| !d.is_empty() && (spec == **d || spec.ends_with(&format!("/{d}"))))
                    .map(|d| (d.len(), d))
                    .collect();
                found.sort();
                return found
                    .last()
                    .and_then(|(_, d)| self.module_files.get(*d))
                    .cloned()
                    .unwrap_or_default();
            }
            Language::Rust => Vec::new(),
        };
        for candidate in &candidates {
            if let Some(file) = self.by_path.get(candidate.as_str()) {
                return vec![*file];
            }
        }
        // Python packages under a source root (`src/pkg/mod.py`): a unique
        // path suffix match.
        if self.language == Language::Python && !spec.starts_with('.') {
            for candidate in &candidates {
                let suffix = format!("/{candidate}");
                let matches: Vec<u32> = self
                    .by_path
                    .iter()
                    .filter(|(path, _)| path.ends_with(&suffix))
                    .map(|(_, file)| *file)
                    .collect();
                if matches.len() == 1 {
                    return matches;
                }
            }
        }
        Vec::new()
    }

    pub(super) fn top_level_in(&self, files: &[u32], name: &str) -> Vec<ItemRef> {
        let mut keys: Vec<&str> = files
            .iter()
            .map(|f| self.module_key(self.files[*f as usize].path))
            .collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .flat_map(|key| {
                self.names
                    .top_level
                    .get(&super::names::scoped_key(key, name))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Items named `name` that module files `files` define or re-export:
    /// a package's `__init__.py` importing it (`from .utils import echo`),
    /// a barrel module's `export { x } from './x'` or `export * from
    /// './x'`, followed up to `MAX_REEXPORT_HOPS`, each file once.
    pub(super) fn exported_in(&self, files: &[u32], name: &str) -> Vec<ItemRef> {
        let mut out = Vec::new();
        for file in files {
            let key = (*file, name.to_string());
            if let Some(found) = self.exported_memo.borrow().get(&key) {
                out.extend(found.iter().copied());
                continue;
            }
            let mut visited = FxHashSet::default();
            let found = self.exported_from(*file, name, 0, &mut visited);
            out.extend(found.iter().copied());
            self.exported_memo.borrow_mut().insert(key, found);
        }
        out.sort();
        out.dedup();
        out
    }

    fn exported_from(
        &self,
        file: u32,
        name: &str,
        depth: usize,
        visited: &mut FxHashSet<u32>,
    ) -> Vec<ItemRef> {
        if !visited.insert(file) {
            return Vec::new();
        }
        let declared = self.top_level_in(&[file], name);
        if !declared.is_empty() || depth >= MAX_REEXPORT_HOPS {
            return declared;
        }
        let view = &self.files[file as usize];
        let mut out = Vec::new();
        for import in &view.summary.imports {
            let Some(spec) = import.path.first() else {
                continue;
            };
            let (source_name, matches) = if import.glob {
                (name, import.path.len() == 1)
            } else {
                match import.path.get(1) {
                    Some(original) if import.path.len() == 2 => {
                        (original.as_str(), import.local_name() == Some(name))
                    }
                    _ => (name, false),
                }
            };
            if !matches || import.scope.is_some() {
                continue;
            }
            for target in self.module_files_of(view.path, spec) {
                out.extend(self.exported_from(target, source_name, depth + 1, visited));
            }
        }
        out
    }

    /// A name at module level: declared, else imported by name.
    pub(super) fn name_in_module(&self, file: u32, name: &str) -> Vec<ItemRef> {
        let view = &self.files[file as usize];
        let declared = self.top_level_in(&[file], name);
        if !declared.is_empty() {
            return declared;
        }
        let mut out = Vec::new();
        for import in &view.summary.imports {
            if import.local_name() != Some(name) || import.path.len() < 2 {
                continue;
            }
            let files = self.module_files_of(view.path, &import.path[0]);
            out.extend(self.exported_in(&files, &import.path[1]));
        }
        out
    }

    pub(super) fn import_binding(&self, file: u32, name: &str) -> Option<&'a Import> {
        let view = &self.files[file as usize];
        view.summary
            .imports
            .iter()
            .find(|import| import.local_name() == Some(name))
    }

    pub(super) fn imports(&self, file: u32, out: &mut Resolution) {
        let view = &self.files[file as usize];
        for import in &view.summary.imports {
            out.imports.total += 1;
            let Some(spec) = import.path.first() else {
                out.imports.unresolved += 1;
                continue;
            };
            if spec == zig::THIS_FILE {
                continue; // `const Self = @This();` names the file itself
            }
            let files = self.module_files_of(view.path, spec);
            if files.is_empty() {
                out.imports.external += 1;
                continue;
            }
            out.imports.resolved += 1;
            let items = match import.path.get(1) {
                Some(name) => self.top_level_in(&files, name),
                None => Vec::new(),
            };
            if items.len() == 1 {
                out.edge(
                    view.names.file_id,
                    id_of(self.files, items[0]),
                    EdgeType::Imports,
                );
            } else {
                for target in files {
                    let target_id = self.files[target as usize].names.file_id;
                    if target_id != view.names.file_id {
                        out.edge(view.names.file_id, target_id, EdgeType::Imports);
                    }
                }
            }
        }
    }
}
