//! The hand-labelled part of `cargo xtask eval-calls`: Go, C and Zig have
//! no reference indexer here, so each has two projects of real code with
//! a sample of call sites labelled by hand (`xtask/labels/LANGUAGE/`: the
//! labels, the sampling script and METHOD.md). This module fetches each
//! project by name and version from its registry (Debian's packages,
//! crates.io, PyPI), checks the archive's sha256 against the one the
//! labels were made on, and scores kausal with `scip-eval --labels`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::corpus::{download as download_url, simple_index};
use super::{run, step};
use crate::checks::workspace_root;

/// Where a labelled project's archive comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `apt-get download PACKAGE=VERSION`, unpacked with `dpkg-deb -x`.
    Debian {
        package: &'static str,
        version: &'static str,
    },
    /// `https://static.crates.io/crates/NAME/NAME-VERSION.crate`.
    Crate {
        name: &'static str,
        version: &'static str,
    },
    /// The PyPI wheel of NAME VERSION whose file name contains `tag`;
    /// only the project's root is unpacked from it.
    Wheel {
        name: &'static str,
        version: &'static str,
        tag: &'static str,
    },
}

/// One hand-labelled project.
#[derive(Debug)]
pub struct Labelled {
    pub language: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    pub source: Source,
    /// The project root inside the unpacked archive.
    pub root: &'static str,
    /// The labels file, relative to `xtask/labels/`.
    pub labels: &'static str,
}

/// The hand-labelled corpus (see each language's METHOD.md).
pub const LABELLED: &[Labelled] = &[
    Labelled {
        language: "go",
        name: "cobra",
        version: "1.6.1",
        source: Source::Debian {
            package: "golang-github-spf13-cobra-dev",
            version: "1.6.1-1",
        },
        root: "usr/share/gocode/src/github.com/spf13/cobra",
        labels: "go/cobra.tsv",
    },
    Labelled {
        language: "go",
        name: "go-cmp",
        version: "0.5.9",
        source: Source::Debian {
            package: "golang-github-google-go-cmp-dev",
            version: "0.5.9-1",
        },
        root: "usr/share/gocode/src/github.com/google/go-cmp",
        labels: "go/go-cmp.tsv",
    },
    Labelled {
        language: "c",
        name: "lua",
        version: "5.4.7",
        source: Source::Crate {
            name: "lua-src",
            version: "547.1.0",
        },
        root: "lua-src-547.1.0/lua-5.4.7",
        labels: "c/lua.tsv",
    },
    Labelled {
        language: "c",
        name: "zlib",
        version: "1.4",
        source: Source::Crate {
            name: "libz-sys",
            version: "1.1.33",
        },
        root: "libz-sys-1.1.33/src/zlib",
        labels: "c/zlib.tsv",
    },
    Labelled {
        language: "zig",
        name: "std.zig",
        version: "0.13.0",
        source: Source::Wheel {
            name: "ziglang",
            version: "0.13.0",
            tag: "manylinux_2_12_x86_64",
        },
        root: "ziglang/lib/std/zig",
        labels: "zig/std_zig.tsv",
    },
    Labelled {
        language: "zig",
        name: "aro",
        version: "0.13.0",
        source: Source::Wheel {
            name: "ziglang",
            version: "0.13.0",
            tag: "manylinux_2_12_x86_64",
        },
        root: "ziglang/lib/compiler/aro",
        labels: "zig/aro.tsv",
    },
];

/// What `scip-eval --labels` measured on one project.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    pub language: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    pub result: Result<LabelScore, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    pub sites: u64,
    pub in_project: u64,
    pub correct: u64,
    pub wrong: u64,
    pub precision: f64,
    pub recall: f64,
}

impl LabelScore {
    pub fn from_json(text: &str) -> Result<LabelScore, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
        let count = |key: &str| value[key].as_u64().ok_or(format!("no count `{key}`"));
        let number = |key: &str| value[key].as_f64().ok_or(format!("no number `{key}`"));
        Ok(LabelScore {
            sites: count("sites")?,
            in_project: count("in_project")?,
            correct: count("correct")?,
            wrong: count("wrong")?,
            precision: number("precision")?,
            recall: number("recall")?,
        })
    }
}

/// The sha256 the labels were made on: the first 64-hex-digit word after
/// `sha256` in the labels file's `#` header.
pub fn pinned_sha256(labels: &str) -> Option<String> {
    labels
        .lines()
        .take_while(|line| line.starts_with('#'))
        .find_map(|line| {
            let after = &line[line.find("sha256")? + "sha256".len()..];
            after
                .split(|c: char| !c.is_ascii_hexdigit())
                .find(|word| word.len() == 64)
                .map(str::to_string)
        })
}

fn sha256_of(file: &Path) -> Result<String, String> {
    let out = run(
        Command::new("sha256sum").arg(file),
        &format!("sha256sum {}", file.display()),
    )?;
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum {}: no output", file.display()))
}

/// Downloads the archive of `source` into `dir` and returns its path.
fn download(source: Source, dir: &Path) -> Result<PathBuf, String> {
    match source {
        Source::Debian { package, version } => {
            run(
                Command::new("apt-get")
                    .arg("download")
                    .arg(format!("{package}={version}"))
                    .current_dir(dir),
                &format!("apt-get download {package}={version}"),
            )?;
            let prefix = format!("{package}_");
            std::fs::read_dir(dir)
                .map_err(|error| format!("read {}: {error}", dir.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .find(|path| {
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with(&prefix) && name.ends_with(".deb")
                })
                .ok_or_else(|| format!("apt-get download left no {prefix}*.deb"))
        }
        Source::Crate { name, version } => {
            let file = dir.join(format!("{name}-{version}.crate"));
            download_url(
                &format!("https://static.crates.io/crates/{name}/{name}-{version}.crate"),
                &file,
            )?;
            Ok(file)
        }
        Source::Wheel { name, version, tag } => {
            let url = wheel_url(&simple_index(name)?, name, version, tag)?;
            let file = dir.join(format!("{name}-{version}.whl"));
            download_url(&url, &file)?;
            Ok(file)
        }
    }
}

/// The URL of the wheel `NAME-VERSION-...TAG...whl` in a simple index page.
pub fn wheel_url(
    simple_json: &str,
    name: &str,
    version: &str,
    tag: &str,
) -> Result<String, String> {
    let page: serde_json::Value = serde_json::from_str(simple_json)
        .map_err(|error| format!("the simple index answered no JSON: {error}"))?;
    let prefix = format!("{name}-{version}-");
    page["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|file| {
            file["filename"]
                .as_str()
                .is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".whl") && f.contains(tag))
        })
        .find_map(|file| file["url"].as_str().map(str::to_string))
        .ok_or_else(|| format!("no wheel {name} {version} ({tag}) in the simple index"))
}

/// Unpacks `archive` into `dir/unpacked` (a wheel: only `root`).
fn unpack(source: Source, archive: &Path, dir: &Path, root: &str) -> Result<(), String> {
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked)
        .map_err(|error| format!("create {}: {error}", unpacked.display()))?;
    let mut command = match source {
        Source::Debian { .. } => {
            let mut c = Command::new("dpkg-deb");
            c.arg("-x").arg(archive).arg(&unpacked);
            c
        }
        Source::Crate { .. } => {
            let mut c = Command::new("tar");
            c.arg("-xzf").arg(archive).arg("-C").arg(&unpacked);
            c
        }
        Source::Wheel { .. } => {
            let mut c = Command::new("unzip");
            c.arg("-q")
                .arg(archive)
                .arg(format!("{root}/*"))
                .arg("-d")
                .arg(&unpacked);
            c
        }
    };
    run(&mut command, &format!("unpack {}", archive.display())).map(|_| ())
}

/// Fetches one project (once) and returns its root; the archive must have
/// the sha256 its labels name.
fn fetch(project: &Labelled, dir: &Path, labels: &str) -> Result<(PathBuf, bool), String> {
    let root = dir.join("unpacked").join(project.root);
    if root.is_dir() {
        return Ok((root, false));
    }
    std::fs::create_dir_all(dir).map_err(|error| format!("create {}: {error}", dir.display()))?;
    let archive = download(project.source, dir)?;
    let pinned = pinned_sha256(labels).ok_or("the labels name no sha256")?;
    let actual = sha256_of(&archive)?;
    if actual != pinned {
        return Err(format!(
            "{} has sha256 {actual}, the labels were made on {pinned}",
            archive.display()
        ));
    }
    unpack(project.source, &archive, dir, project.root)?;
    std::fs::remove_file(&archive)
        .map_err(|error| format!("remove {}: {error}", archive.display()))?;
    if !root.is_dir() {
        return Err(format!("no {} in the archive", project.root));
    }
    Ok((root, true))
}

/// Scores one project with the scorer; writes `score.json` and `edges.txt`
/// (every wrong and missed site) beside it.
fn score(root: &Path, labels: &Path, dir: &Path, scorer: &Path) -> Result<LabelScore, String> {
    let json = dir.join("score.json");
    let out = run(
        Command::new(scorer)
            .arg(root)
            .arg("--labels")
            .arg(labels)
            .arg("--json")
            .arg(&json)
            .arg("--edges")
            .arg(dir.join("edges.txt")),
        "scip-eval --labels",
    )?;
    if let Some(first) = String::from_utf8_lossy(&out).lines().next() {
        println!("    {first}");
    }
    let text = std::fs::read_to_string(&json)
        .map_err(|error| format!("read {}: {error}", json.display()))?;
    LabelScore::from_json(&text).map_err(|error| format!("{}: {error}", json.display()))
}

/// Fetches and scores every labelled project of `language` (all when
/// `None`) named `name` (all when `None`).
pub fn evaluate(
    language: Option<&str>,
    name: Option<&str>,
    eval_dir: &Path,
    scorer: &mut dyn FnMut() -> Result<PathBuf, String>,
) -> Vec<LabelRow> {
    let labels_dir = workspace_root().join("xtask/labels");
    let mut rows = Vec::new();
    for project in LABELLED
        .iter()
        .filter(|p| language.is_none_or(|l| p.language == l))
        .filter(|p| name.is_none_or(|n| p.name == n))
    {
        let label = format!(
            "{} {} ({})",
            project.name, project.version, project.language
        );
        let labels_path = labels_dir.join(project.labels);
        let dir = eval_dir.join(project.language).join(format!(
            "{}-{}",
            project.name,
            project.version.split(' ').next().unwrap_or("")
        ));
        let result = std::fs::read_to_string(&labels_path)
            .map_err(|error| format!("read {}: {error}", labels_path.display()))
            .and_then(|labels| step(&format!("fetch {label}"), || fetch(project, &dir, &labels)))
            .and_then(|root| {
                let scorer = scorer()?;
                step(&format!("score {label} against its labels"), || {
                    score(&root, &labels_path, &dir, &scorer).map(|s| (s, true))
                })
            });
        rows.push(LabelRow {
            language: project.language,
            name: project.name,
            version: project.version,
            result,
        });
    }
    rows
}

/// The hand-labelled rows as a markdown table.
pub fn markdown(rows: &[LabelRow]) -> String {
    let mut out = String::from(
        "| language | project | version | sites | in project | correct | wrong | precision | recall |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        match &row.result {
            Ok(s) => out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |\n",
                row.language,
                row.name,
                row.version,
                s.sites,
                s.in_project,
                s.correct,
                s.wrong,
                s.precision,
                s.recall
            )),
            Err(reason) => out.push_str(&format!(
                "| {} | {} | {} | - | - | - | - | - | {reason} |\n",
                row.language, row.name, row.version
            )),
        }
    }
    out
}

/// The hand-labelled rows as JSON.
pub fn json(rows: &[LabelRow]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|row| match &row.result {
                Ok(s) => serde_json::json!({
                    "language": row.language, "project": row.name, "version": row.version,
                    "sites": s.sites, "in_project": s.in_project, "correct": s.correct,
                    "wrong": s.wrong, "precision": s.precision, "recall": s.recall,
                }),
                Err(reason) => serde_json::json!({
                    "language": row.language, "project": row.name, "version": row.version,
                    "error": reason,
                }),
            })
            .collect(),
    )
}
