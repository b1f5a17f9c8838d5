//! The pinned corpus of `cargo xtask eval-calls` and how a project of it
//! is fetched: by name and version from its registry (crates.io, PyPI,
//! npm) with `curl`, unpacked with `tar`, and made ready for its indexer.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::run;

/// A language of the corpus, with the indexer that makes its reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Typescript,
    /// Hand-labelled samples (no reference indexer here).
    Go,
    C,
    Zig,
}

impl Language {
    /// Whether its projects are scored against hand labels ([`super::hand`]).
    pub fn hand_labelled(self) -> bool {
        matches!(self, Language::Go | Language::C | Language::Zig)
    }

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Typescript => "typescript",
            Language::Go => "go",
            Language::C => "c",
            Language::Zig => "zig",
        }
    }
}

/// Where a project's source archive comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registry {
    /// `https://static.crates.io/crates/{name}/{name}-{version}.crate`.
    CratesIo,
    /// The sdist of the release, found through the simple index's JSON.
    PyPi,
    /// The package tarball of the npm registry.
    Npm,
}

impl Registry {
    pub fn name(self) -> &'static str {
        match self {
            Registry::CratesIo => "crates.io",
            Registry::PyPi => "PyPI",
            Registry::Npm => "npm",
        }
    }
}

/// One project of the corpus.
#[derive(Debug, PartialEq, Eq)]
pub struct Project {
    pub name: &'static str,
    pub version: &'static str,
    pub registry: Registry,
    pub language: Language,
}

impl Project {
    /// The project's directory name under the language's directory:
    /// `regex-syntax-0.8.12`, `tanstack-query-core-5.59.0`.
    pub fn key(&self) -> String {
        let name = self.name.trim_start_matches('@').replace('/', "-");
        format!("{name}-{}", self.version)
    }
}

/// The corpus: three real projects per language, 2k-30k lines each, whose
/// registry artifact holds the source. npm packages that ship their `.ts`
/// sources under `src/` (with the compiled `dist/` beside, which the fetch
/// removes); the two without a `tsconfig.json` get [`MINIMAL_TSCONFIG`].
pub const CORPUS: &[Project] = &[
    project("regex-syntax", "0.8.12", Registry::CratesIo, Language::Rust),
    project("petgraph", "0.8.3", Registry::CratesIo, Language::Rust),
    project("itertools", "0.14.0", Registry::CratesIo, Language::Rust),
    project("requests", "2.32.3", Registry::PyPi, Language::Python),
    project("click", "8.1.7", Registry::PyPi, Language::Python),
    project("jinja2", "3.1.4", Registry::PyPi, Language::Python),
    project("rxjs", "7.8.1", Registry::Npm, Language::Typescript),
    project("mobx", "6.13.5", Registry::Npm, Language::Typescript),
    project(
        "@tanstack/query-core",
        "5.59.0",
        Registry::Npm,
        Language::Typescript,
    ),
];

const fn project(
    name: &'static str,
    version: &'static str,
    registry: Registry,
    language: Language,
) -> Project {
    Project {
        name,
        version,
        registry,
        language,
    }
}

/// The projects of `language` (all without), or the one named `name`.
pub fn select(
    language: Option<Language>,
    name: Option<&str>,
) -> Result<Vec<&'static Project>, String> {
    let chosen: Vec<&Project> = CORPUS
        .iter()
        .filter(|p| language.is_none_or(|l| p.language == l))
        .filter(|p| name.is_none_or(|n| p.name == n))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = CORPUS.iter().map(|p| p.name).collect();
        return Err(format!(
            "no project of the corpus matches (the corpus: {})",
            names.join(", ")
        ));
    }
    Ok(chosen)
}

/// The tsconfig written into an npm package that ships none: every file
/// under `src/`, no emit, no strictness (the index needs types, not
/// errors).
pub const MINIMAL_TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "es2020",
    "module": "esnext",
    "moduleResolution": "node",
    "lib": ["es2020", "dom"],
    "jsx": "preserve",
    "strict": false,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["src"]
}
"#;

/// The pyright configuration written into a Python project with a `src/`
/// layout, so `import requests` in its tests is the tree's `src/requests`
/// rather than an installed copy or nothing.
pub const SRC_LAYOUT_PYRIGHTCONFIG: &str = "{\"extraPaths\": [\"src\"]}\n";

/// The URL of a crate's or an npm package's archive (PyPI: [`sdist_url`]).
pub fn archive_url(project: &Project) -> Option<String> {
    let (name, version) = (project.name, project.version);
    match project.registry {
        Registry::CratesIo => Some(format!(
            "https://static.crates.io/crates/{name}/{name}-{version}.crate"
        )),
        Registry::Npm => {
            let base = name.rsplit('/').next().unwrap_or(name);
            Some(format!(
                "https://registry.npmjs.org/{name}/-/{base}-{version}.tgz"
            ))
        }
        Registry::PyPi => None,
    }
}

/// The sdist of `version` in a PyPI simple-index page (its JSON form).
pub fn sdist_url(simple_json: &str, version: &str) -> Result<String, String> {
    let page: serde_json::Value = serde_json::from_str(simple_json)
        .map_err(|error| format!("the simple index answered no JSON: {error}"))?;
    let suffix = format!("-{version}.tar.gz");
    page["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|file| file["yanked"].as_bool() != Some(true))
        .filter(|file| {
            file["filename"]
                .as_str()
                .is_some_and(|name| name.ends_with(&suffix))
        })
        .find_map(|file| file["url"].as_str().map(str::to_string))
        .ok_or_else(|| format!("no sdist {version} in the simple index"))
}

/// Downloads `url` to `file` with curl.
/// The JSON page of PyPI's simple index for `name`.
pub(super) fn simple_index(name: &str) -> Result<String, String> {
    let index = format!("https://pypi.org/simple/{name}/");
    let page = run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--fail", "--location"])
            .args(["--header", "Accept: application/vnd.pypi.simple.v1+json"])
            .arg(&index),
        &format!("read {index}"),
    )?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

pub(super) fn download(url: &str, file: &Path) -> Result<(), String> {
    run(
        Command::new("curl")
            .args(["--silent", "--show-error", "--fail", "--location"])
            .args(["--retry", "2", "--output"])
            .arg(file)
            .arg(url),
        &format!("download {url}"),
    )
    .map(|_| ())
}

/// The project's source tree in `dir`, fetched and unpacked unless it is
/// there already: `dir/project`. `Ok(true)` when it was fetched now.
pub fn fetch(project: &Project, dir: &Path) -> Result<bool, String> {
    let tree = dir.join("project");
    if tree.is_dir() {
        return Ok(false);
    }
    let io = |what: &str, path: &Path| {
        let path = path.display().to_string();
        let what = what.to_string();
        move |error: std::io::Error| format!("{what} {path}: {error}")
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let url = match archive_url(project) {
        Some(url) => url,
        None => sdist_url(&simple_index(project.name)?, project.version)?,
    };
    let archive = dir.join("archive.tar.gz");
    download(&url, &archive)?;
    let unpacked = dir.join("unpacked");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked).map_err(io("remove", &unpacked))?;
    }
    std::fs::create_dir_all(&unpacked).map_err(io("create", &unpacked))?;
    run(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked),
        &format!("unpack {}", archive.display()),
    )?;
    let top = single_directory(&unpacked)?;
    prepare(project, &top)?;
    std::fs::rename(&top, &tree).map_err(io("move into place", &top))?;
    std::fs::remove_dir_all(&unpacked).map_err(io("remove", &unpacked))?;
    std::fs::remove_file(&archive).map_err(io("remove", &archive))?;
    Ok(true)
}

/// The one directory an archive unpacked into.
fn single_directory(dir: &Path) -> Result<PathBuf, String> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|error| format!("read {}: {error}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Err(format!(
            "{} holds {} entries, not one directory",
            dir.display(),
            entries.len()
        )),
    }
}

/// Makes an unpacked tree ready for its indexer:
/// * a crate gets an empty `[workspace]` table, so cargo (run by
///   rust-analyzer) takes it as a workspace of its own, not a stray member
///   of the kausal workspace the eval directory sits in;
/// * an npm package keeps `src/` alone among its directories (kausal would
///   ingest the compiled JavaScript of `dist/`, which the TypeScript index
///   leaves out) and gets [`MINIMAL_TSCONFIG`] if it ships no tsconfig;
/// * a Python project with a `src/` layout gets
///   [`SRC_LAYOUT_PYRIGHTCONFIG`] unless it has a pyright configuration.
fn prepare(project: &Project, tree: &Path) -> Result<(), String> {
    let write = |name: &str, text: &str| {
        let path = tree.join(name);
        std::fs::write(&path, text).map_err(|error| format!("write {}: {error}", path.display()))
    };
    match project.registry {
        Registry::CratesIo => {
            let manifest = tree.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)
                .map_err(|error| format!("read {}: {error}", manifest.display()))?;
            if !text.lines().any(|line| line.trim() == "[workspace]") {
                write("Cargo.toml", &format!("{text}\n[workspace]\n"))?;
            }
        }
        Registry::Npm => {
            let entries = std::fs::read_dir(tree)
                .map_err(|error| format!("read {}: {error}", tree.display()))?;
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if path.is_dir() && entry.file_name() != "src" {
                    std::fs::remove_dir_all(&path)
                        .map_err(|error| format!("remove {}: {error}", path.display()))?;
                }
            }
            if !tree.join("tsconfig.json").exists() {
                write("tsconfig.json", MINIMAL_TSCONFIG)?;
            }
        }
        Registry::PyPi => {
            if tree.join("src").is_dir() && !tree.join("pyrightconfig.json").exists() {
                write("pyrightconfig.json", SRC_LAYOUT_PYRIGHTCONFIG)?;
            }
        }
    }
    Ok(())
}
