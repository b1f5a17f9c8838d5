//! Which SCIP indexers a repository wants, and where they are: its
//! languages from the files at its root (`Cargo.toml`, `tsconfig.json`,
//! `package.json`, `pyproject.toml`, ...; Python also from `.py` files a
//! few directories down), and each indexer's program from `PATH` (the
//! Node-based ones also from the repository's `node_modules/.bin`).

use std::path::{Path, PathBuf};

use kausal_vfs::{OsVfs, Vfs};
use serde::{Deserialize, Serialize};

/// How deep below the root [`detect`] looks for Python files when no
/// Python project file is at the root.
pub const PYTHON_SEARCH_DEPTH: usize = 3;
/// Most directory entries [`detect`] reads looking for Python files.
pub const MAX_DETECT_ENTRIES: usize = 10_000;
/// Directories [`detect`] does not enter (besides hidden ones).
const SKIPPED_DIRS: &[&str] = &["node_modules", "target", "venv", "__pycache__"];

/// A language a SCIP indexer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexLanguage {
    /// Rust, by `rust-analyzer scip`.
    Rust,
    /// TypeScript and JavaScript, by `scip-typescript`.
    Typescript,
    /// Python, by `scip-python`.
    Python,
}

impl IndexLanguage {
    /// The language's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            IndexLanguage::Rust => "rust",
            IndexLanguage::Typescript => "typescript",
            IndexLanguage::Python => "python",
        }
    }

    /// The indexer's program name.
    pub fn program(self) -> &'static str {
        match self {
            IndexLanguage::Rust => "rust-analyzer",
            IndexLanguage::Typescript => "scip-typescript",
            IndexLanguage::Python => "scip-python",
        }
    }

    /// How to install the indexer.
    pub fn install(self) -> &'static str {
        match self {
            IndexLanguage::Rust => "rustup component add rust-analyzer",
            IndexLanguage::Typescript => "npm install -g @sourcegraph/scip-typescript",
            IndexLanguage::Python => "npm install -g @sourcegraph/scip-python",
        }
    }
}

/// A language found in the repository, and the file that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The language.
    pub language: IndexLanguage,
    /// What showed it (`Cargo.toml`, `tools/report.py`), relative to the root.
    pub found_by: String,
    /// TypeScript only: the root has a `tsconfig.json` (else the indexer
    /// is given one that takes every JavaScript and TypeScript file).
    pub has_tsconfig: bool,
}

/// The languages of the repository at `root`, in the order their
/// indexers run (Rust, TypeScript, Python).
pub fn detect(root: &Path) -> Vec<Detected> {
    let at_root = |name: &str| root.join(name).is_file();
    let first = |names: &[&str]| {
        names
            .iter()
            .find(|name| at_root(name))
            .map(|n| n.to_string())
    };
    let mut found = Vec::new();
    if let Some(file) = first(&["Cargo.toml", "rust-project.json"]) {
        found.push(Detected {
            language: IndexLanguage::Rust,
            found_by: file,
            has_tsconfig: false,
        });
    }
    if let Some(file) = first(&["tsconfig.json", "package.json"]) {
        found.push(Detected {
            language: IndexLanguage::Typescript,
            has_tsconfig: file == "tsconfig.json",
            found_by: file,
        });
    }
    let python = first(&["pyproject.toml", "setup.py", "setup.cfg"]).or_else(|| python_file(root));
    if let Some(file) = python {
        found.push(Detected {
            language: IndexLanguage::Python,
            found_by: file,
            has_tsconfig: false,
        });
    }
    found
}

/// A `.py` file at most [`PYTHON_SEARCH_DEPTH`] directories below `root`
/// (hidden and dependency directories skipped), relative to it.
fn python_file(root: &Path) -> Option<String> {
    let vfs = OsVfs::new();
    let mut pending: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
    let mut read = 0;
    while let Some((dir, depth)) = pending.pop() {
        let Ok(names) = vfs.list_dir(&dir) else {
            continue;
        };
        for name in names {
            read += 1;
            if read > MAX_DETECT_ENTRIES {
                return None;
            }
            if name.starts_with('.') {
                continue;
            }
            let path = dir.join(&name);
            if name.ends_with(".py") && path.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                return Some(relative.to_string_lossy().replace('\\', "/"));
            }
            if depth < PYTHON_SEARCH_DEPTH
                && !SKIPPED_DIRS.contains(&name.as_str())
                && path.is_dir()
            {
                pending.push((path, depth + 1));
            }
        }
    }
    None
}

/// The program `name` as `PATH` finds it, else in `root/node_modules/.bin`
/// (where a project's own npm packages put theirs).
pub fn find_program(name: &str, root: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(root.join("node_modules").join(".bin")))
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| candidates(&dir, name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(windows)]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    ["exe", "cmd", "bat"]
        .iter()
        .map(|extension| dir.join(format!("{name}.{extension}")))
        .collect()
}

#[cfg(not(windows))]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    vec![dir.join(name)]
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // Permission bits, which the Vfs does not model.
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        dir
    }

    fn languages(dir: &tempfile::TempDir) -> Vec<(IndexLanguage, String, bool)> {
        detect(dir.path())
            .into_iter()
            .map(|d| (d.language, d.found_by, d.has_tsconfig))
            .collect()
    }

    #[test]
    fn languages_come_from_project_files_and_python_files() {
        let all = tree(&["Cargo.toml", "package.json", "tsconfig.json", "setup.py"]);
        assert_eq!(
            languages(&all),
            [
                (IndexLanguage::Rust, "Cargo.toml".into(), false),
                (IndexLanguage::Typescript, "tsconfig.json".into(), true),
                (IndexLanguage::Python, "setup.py".into(), false),
            ]
        );
        let js = tree(&["package.json", "node_modules/x/y.py", ".venv/a.py"]);
        assert_eq!(
            languages(&js),
            [(IndexLanguage::Typescript, "package.json".into(), false)]
        );
        let scripts = tree(&["tools/gen/report.py"]);
        assert_eq!(
            languages(&scripts),
            [(IndexLanguage::Python, "tools/gen/report.py".into(), false)]
        );
        assert_eq!(languages(&tree(&["a/b/c/d/deep.py", "README.md"])), []);
    }
}
