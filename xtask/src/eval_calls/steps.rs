//! The tools of `cargo xtask eval-calls` and the steps after the fetch:
//! the npm indexers installed into the eval directory, the scorer built,
//! a project indexed, a project scored (kausal's heuristic edges, the
//! precise merge, a peer's edges). Each leaves its result in the project's
//! directory and is skipped when that result is there.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use super::corpus::{Language, Project};
use super::peers::Peer;
use super::run;
use super::table::Score;
use crate::checks::workspace_root;

/// The npm indexers, pinned by version.
pub const NPM_INDEXERS: &[(&str, &str)] = &[
    ("@sourcegraph/scip-python", "0.6.6"),
    ("@sourcegraph/scip-typescript", "0.4.0"),
];

/// The installed version of an npm package under `prefix`, if any.
fn installed_version(prefix: &Path, package: &str) -> Option<String> {
    let manifest = prefix
        .join("node_modules")
        .join(package)
        .join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["version"].as_str().map(str::to_string)
}

/// Installs [`NPM_INDEXERS`] into `dir/tools` unless the pinned versions
/// are there; returns the directory of their commands and whether it
/// installed now.
pub fn install_indexers(dir: &Path) -> Result<(PathBuf, bool), String> {
    let prefix = dir.join("tools");
    let bin = prefix.join("node_modules").join(".bin");
    let present = NPM_INDEXERS
        .iter()
        .all(|(package, version)| installed_version(&prefix, package).as_deref() == Some(version));
    if present {
        return Ok((bin, false));
    }
    std::fs::create_dir_all(&prefix)
        .map_err(|error| format!("create {}: {error}", prefix.display()))?;
    let packages: Vec<String> = NPM_INDEXERS
        .iter()
        .map(|(package, version)| format!("{package}@{version}"))
        .collect();
    run(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                "--prefix",
            ])
            .arg(&prefix)
            .args(&packages),
        &format!("npm install {}", packages.join(" ")),
    )?;
    Ok((bin, true))
}

/// Builds tools/scip-eval (release, in its own target directory) and
/// returns the binary.
pub fn build_scorer() -> Result<PathBuf, String> {
    let root = workspace_root();
    let tool = root.join("tools").join("scip-eval");
    let target = tool.join("target");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(tool.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&root)
        .status()
        .map_err(|error| format!("cannot start cargo: {error}"))?;
    if !status.success() {
        return Err(format!("building tools/scip-eval failed ({status})"));
    }
    Ok(target.join("release").join("scip-eval"))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The command that indexes `tree` into `output`.
fn indexer(
    project: &Project,
    tree: &Path,
    output: &Path,
    dir: &Path,
    npm_bin: &Result<PathBuf, String>,
) -> Result<Command, String> {
    let npm_bin = || {
        npm_bin
            .as_ref()
            .map_err(|reason| format!("no indexer: {reason}"))
    };
    let mut command;
    match project.language {
        Language::Rust => {
            command = Command::new("rust-analyzer");
            command.args(["scip", "."]).arg("--output").arg(output);
            // The crates' dependencies are built for their proc macros and
            // build scripts: once, beside the corpus.
            command.env("CARGO_TARGET_DIR", dir.join("cargo-target"));
        }
        Language::Python => {
            // An empty environment: imports of installed packages stay
            // external, whatever this machine has installed.
            let environment = output.with_file_name("environment.json");
            std::fs::write(&environment, "[]\n")
                .map_err(|error| format!("write {}: {error}", environment.display()))?;
            command = Command::new(npm_bin()?.join("scip-python"));
            command
                .args(["index", "--project-name", project.name])
                .args(["--project-version", project.version])
                .arg("--environment")
                .arg(environment);
        }
        Language::Typescript => {
            command = Command::new(npm_bin()?.join("scip-typescript"));
            command.args(["index", "--no-progress-bar"]);
        }
        Language::Go | Language::C | Language::Zig => {
            return Err(format!(
                "{} has no reference indexer here (hand-labelled)",
                project.language.name()
            ));
        }
    }
    if project.language != Language::Rust {
        command.arg("--cwd").arg(tree).arg("--output").arg(output);
    }
    command.current_dir(tree);
    Ok(command)
}

/// Indexes the project in `pdir` unless `pdir/index.scip` exists; returns
/// the seconds the indexer took (when it was made) and whether it ran now.
pub fn index(
    project: &Project,
    pdir: &Path,
    dir: &Path,
    npm_bin: &Result<PathBuf, String>,
) -> Result<(Option<f64>, bool), String> {
    let index = pdir.join("index.scip");
    let seconds_file = pdir.join("index.seconds");
    if index.is_file() {
        let seconds = std::fs::read_to_string(&seconds_file)
            .ok()
            .and_then(|text| text.trim().parse().ok());
        return Ok((seconds, false));
    }
    let partial = pdir.join("index.scip.partial");
    let log_path = pdir.join("index.log");
    let log = File::create(&log_path)
        .map_err(|error| format!("create {}: {error}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|error| format!("open {}: {error}", log_path.display()))?;
    let mut command = indexer(project, &pdir.join("project"), &partial, dir, npm_bin)?;
    let program = command.get_program().to_string_lossy().to_string();
    let started = Instant::now();
    let status = command
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .status()
        .map_err(|error| {
            let hint = match project.language {
                Language::Rust => " (rustup component add rust-analyzer)",
                _ => "",
            };
            format!("cannot start {program}: {error}{hint}")
        })?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() || !partial.is_file() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "{program} failed ({status}): {} (log: {})",
            last.trim(),
            log_path.display()
        ));
    }
    std::fs::rename(&partial, &index)
        .map_err(|error| format!("move {}: {error}", partial.display()))?;
    std::fs::write(&seconds_file, format!("{seconds:.1}\n"))
        .map_err(|error| format!("write {}: {error}", seconds_file.display()))?;
    Ok((Some(seconds), true))
}

/// Whose call edges a score is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scored {
    /// kausal's heuristic edges: results in the project's directory.
    Heuristic,
    /// kausal's edges with the index merged (`scip-eval --precise`, a
    /// check of the merge and of the callers it answers): results in
    /// `precise/`.
    Precise,
    /// A peer tool's edges (`peers/NAME/edges.tsv`): results beside them.
    Peer(Peer),
}

/// Scores the edges `scored` names of the project in `pdir` with `scorer`,
/// unless `score.json` is newer than the scorer, the index and the peer's
/// edges (a rebuilt scorer, which a changed kausal-ingest makes, scores
/// again) and no listing is asked for. Prints the scorer's summary and the
/// first `show` edges of each list.
pub fn score(
    pdir: &Path,
    scorer: &Path,
    show: usize,
    scored: Scored,
) -> Result<(Score, bool), String> {
    let out = match scored {
        Scored::Heuristic => pdir.to_path_buf(),
        Scored::Precise => pdir.join("precise"),
        Scored::Peer(peer) => pdir.join("peers").join(peer.name()),
    };
    std::fs::create_dir_all(&out).map_err(|error| format!("create {}: {error}", out.display()))?;
    let json = out.join("score.json");
    let index = pdir.join("index.scip");
    let peer_edges = matches!(scored, Scored::Peer(_)).then(|| out.join("edges.tsv"));
    let inputs = [Some(scorer), Some(index.as_path()), peer_edges.as_deref()];
    let fresh = modified(&json).is_some_and(|scored| {
        inputs
            .iter()
            .flatten()
            .all(|input| modified(input).is_some_and(|made| scored >= made))
    });
    if fresh && show == 0 {
        let text = std::fs::read_to_string(&json)
            .map_err(|error| format!("read {}: {error}", json.display()))?;
        let score =
            Score::from_json(&text).map_err(|error| format!("{}: {error}", json.display()))?;
        return Ok((score, false));
    }
    let edges = out.join("edges.txt");
    let mut command = Command::new(scorer);
    command
        .arg(pdir.join("project"))
        .arg(&index)
        .arg("--json")
        .arg(&json)
        .arg("--edges")
        .arg(&edges)
        .args(["--show", &show.to_string()]);
    if let Some(peer_edges) = &peer_edges {
        command.arg("--peer-edges").arg(peer_edges);
    }
    if scored == Scored::Precise {
        command.arg("--precise");
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot start {}: {error}", scorer.display()))?;
    let log_path = out.join("score.log");
    let mut log = output.stderr.clone();
    log.extend_from_slice(&output.stdout);
    std::fs::write(&log_path, &log)
        .map_err(|error| format!("write {}: {error}", log_path.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "scip-eval failed ({}): {} (log: {})",
            output.status,
            last.trim(),
            log_path.display()
        ));
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("    {line}");
    }
    let text = std::fs::read_to_string(&json)
        .map_err(|error| format!("read {}: {error}", json.display()))?;
    let score = Score::from_json(&text).map_err(|error| format!("{}: {error}", json.display()))?;
    Ok((score, true))
}
