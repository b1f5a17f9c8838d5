//! `cargo xtask eval-calls`: scores kausal's call edges against reference
//! indexers on a pinned corpus of real projects (issue 21).
//!
//! This module owns the whole measurement run: the corpus table and its
//! fetching ([`corpus`]: by name and version from crates.io, PyPI and npm),
//! the indexers (`rust-analyzer scip`, and `@sourcegraph/scip-python` and
//! `@sourcegraph/scip-typescript` installed from npm into the eval
//! directory), the scorer (`tools/scip-eval`, built in release), and the
//! results table ([`table`]). The scoring itself, which edge counts as a
//! reference call, lives in `tools/scip-eval`.
//!
//! Everything goes under the eval directory (default `target/eval`):
//! `tools/` (npm prefix), `cargo-target/` (the crates' build scripts and
//! proc macros, built by rust-analyzer), and per project
//! `LANGUAGE/NAME-VERSION/` with `project/` (the unpacked source),
//! `index.scip`, `index.seconds`, `index.log`, `score.json`, `score.log`
//! and `edges.txt` (every false positive and every miss). Each step is
//! skipped when its result is there; scoring runs again when the scorer
//! was rebuilt since. A project whose step fails keeps its row with the
//! reason, and the run goes on; the table is printed and written to
//! `results.md` and `results.json` in the eval directory. Not part of
//! `test-all`: it needs the network.
//!
//! Every project scored against an index is also scored in precise mode
//! (`scip-eval --precise`, results in `LANGUAGE/NAME-VERSION/precise/`):
//! kausal ingests the tree merging the index, its edges are scored
//! against the same index, and the callers the database answers for 20
//! functions are compared with the index's. The merge must reach
//! precision and recall [`table::PRECISE_AT_LEAST`] and every caller set
//! must be exact; a project that misses is flagged in its row's note and
//! in the line under the table (the exit code says only whether any
//! project was scored, as for the heuristic numbers, which have no bar
//! here).
//!
//! With `--peers`, the peer tools ([`peers`]: GitNexus, CodeGraphContext)
//! also index each project, in `LANGUAGE/NAME-VERSION/peers/TOOL/`, and
//! their edges are scored by the same scorer against the same reference;
//! a peer that fails on a project leaves a note in its row.

mod corpus;
mod hand;
mod peers;
mod steps;
mod table;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

pub use corpus::Language;
use corpus::Project;
use peers::{PEERS, Peer};
use steps::Scored;
use table::{PeerScore, Row};

use crate::checks::workspace_root;

/// What to evaluate (the options of `cargo xtask eval-calls`).
pub struct Plan {
    pub language: Option<Language>,
    pub project: Option<String>,
    /// The eval directory; relative to the workspace root.
    pub dir: PathBuf,
    /// False positives and misses printed per project.
    pub show: usize,
    /// Also run and score the peer tools.
    pub peers: bool,
}

/// Runs a command to the end and returns its stdout; `Err` with the last
/// line of its stderr when it fails.
fn run(command: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let output = command
        .output()
        .map_err(|error| format!("{what}: cannot start: {error}"))?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    Err(format!(
        "{what}: {} ({})",
        last.unwrap_or("no message").trim(),
        output.status
    ))
}

/// Runs one step, printing its name and outcome; the step returns its
/// value and whether it did the work now (`false`: its result was there).
fn step<T>(name: &str, work: impl FnOnce() -> Result<(T, bool), String>) -> Result<T, String> {
    println!("==> {name}");
    let started = Instant::now();
    match work() {
        Ok((value, true)) => {
            println!("    ok ({:.1}s)", started.elapsed().as_secs_f64());
            Ok(value)
        }
        Ok((value, false)) => {
            println!("    cached");
            Ok(value)
        }
        Err(message) => {
            eprintln!("    FAILED: {message}");
            Err(message)
        }
    }
}

/// The tools shared by the projects: made once, when first needed.
struct Tools {
    dir: PathBuf,
    npm_bin: Option<Result<PathBuf, String>>,
    scorer: Option<Result<PathBuf, String>>,
    /// Each peer's command, once installed (or why it is not).
    peers: Vec<(Peer, Option<Result<PathBuf, String>>)>,
}

impl Tools {
    fn npm_bin(&mut self) -> &Result<PathBuf, String> {
        let dir = &self.dir;
        self.npm_bin
            .get_or_insert_with(|| step("npm indexers", || steps::install_indexers(dir)))
    }

    fn scorer(&mut self) -> Result<PathBuf, String> {
        self.scorer
            .get_or_insert_with(|| {
                step("build tools/scip-eval (release)", || {
                    steps::build_scorer().map(|path| (path, true))
                })
            })
            .clone()
    }

    fn peer(&mut self, peer: Peer) -> Result<PathBuf, String> {
        let tools = self.dir.join("tools");
        let slot = self
            .peers
            .iter_mut()
            .find(|(p, _)| *p == peer)
            .map(|(_, slot)| slot);
        let Some(slot) = slot else {
            return Err("not asked for".into());
        };
        let name = format!("install {} {}", peer.name(), peer.version());
        slot.get_or_insert_with(|| step(&name, || peer.install(&tools)))
            .clone()
    }
}

/// Runs each peer on the project in `pdir` and scores its edges; needs
/// the project's index (its reference) and the scorer.
fn evaluate_peers(label: &str, pdir: &Path, tools: &mut Tools, show: usize) -> Vec<PeerScore> {
    let mut scores = Vec::new();
    let peers: Vec<Peer> = tools.peers.iter().map(|(peer, _)| *peer).collect();
    for peer in peers {
        let mut result = PeerScore {
            name: peer.name(),
            version: peer.version(),
            seconds: None,
            score: Err("not run".into()),
        };
        let edges = tools.peer(peer).and_then(|program| {
            step(&format!("{} {label}", peer.name()), || {
                peer.edges(&program, pdir)
            })
        });
        match edges {
            Ok(seconds) => {
                result.seconds = seconds;
                result.score = tools.scorer().and_then(|scorer| {
                    step(&format!("score {} {label}", peer.name()), || {
                        steps::score(pdir, &scorer, show, Scored::Peer(peer))
                    })
                    .map_err(|reason| format!("score: {reason}"))
                });
            }
            Err(reason) => result.score = Err(reason),
        }
        scores.push(result);
    }
    scores
}

/// Fetches, indexes and scores one project.
fn evaluate(project: &Project, tools: &mut Tools, show: usize) -> Row {
    let mut row = Row::new(project);
    let label = format!(
        "{} {} ({})",
        project.name,
        project.version,
        project.registry.name()
    );
    let pdir = tools.dir.join(project.language.name()).join(project.key());
    let fetched = step(&format!("fetch {label}"), || {
        corpus::fetch(project, &pdir).map(|fetched| ((), fetched))
    });
    if let Err(reason) = fetched {
        row.score = Err(format!("fetch: {reason}"));
        return row;
    }
    let npm_bin = match project.language {
        Language::Rust => Err("not needed".to_string()),
        _ => tools.npm_bin().clone(),
    };
    let dir = tools.dir.clone();
    let indexed = step(&format!("index {label}"), || {
        steps::index(project, &pdir, &dir, &npm_bin)
    });
    match indexed {
        Ok(seconds) => row.index_seconds = seconds,
        Err(reason) => {
            row.score = Err(format!("index: {reason}"));
            return row;
        }
    }
    let mut score = |scored: Scored, name: &str| {
        tools
            .scorer()
            .map_err(|reason| format!("scorer: {reason}"))
            .and_then(|scorer| {
                step(name, || steps::score(&pdir, &scorer, show, scored))
                    .map_err(|reason| format!("score: {reason}"))
            })
    };
    row.score = score(Scored::Heuristic, &format!("score {label}"));
    row.precise = score(Scored::Precise, &format!("score precise merge {label}"));
    // A peer's failure is a note of its own: kausal's score stands.
    row.peers = evaluate_peers(&label, &pdir, tools, show);
    row
}

/// Writes the results files into the eval directory.
fn write_results(dir: &Path, rows: &[Row], hand_rows: &[hand::LabelRow]) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|error| format!("write {}: {error}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|error| format!("create {}: {error}", dir.display()))?;
    let mut markdown = table::markdown(rows);
    if let Some(line) = table::precise_summary(rows) {
        markdown.push_str(&format!("\n{line}\n"));
    }
    if !hand_rows.is_empty() {
        markdown.push_str("\nHand-labelled call sites (xtask/labels/):\n\n");
        markdown.push_str(&hand::markdown(hand_rows));
    }
    write("results.md", markdown)?;
    let json = serde_json::to_string_pretty(&table::json(rows))
        .map_err(|error| format!("results as JSON: {error}"))?;
    write("results.json", json + "\n")?;
    if hand_rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string_pretty(&hand::json(hand_rows))
        .map_err(|error| format!("results as JSON: {error}"))?;
    write("results-hand.json", json + "\n")
}

/// The task: every selected project in turn, then the table. Fails only
/// when no project could be scored.
pub fn eval_calls(plan: &Plan) -> ExitCode {
    let started = Instant::now();
    let hand_only = plan.language.is_some_and(Language::hand_labelled)
        || plan
            .project
            .as_deref()
            .is_some_and(|name| hand::LABELLED.iter().any(|p| p.name == name));
    let projects = if hand_only {
        Vec::new()
    } else {
        match corpus::select(plan.language, plan.project.as_deref()) {
            Ok(projects) => projects,
            Err(message) => {
                eprintln!("xtask eval-calls: {message}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut tools = Tools {
        dir: workspace_root().join(&plan.dir),
        npm_bin: None,
        scorer: None,
        peers: if plan.peers {
            PEERS.iter().map(|&peer| (peer, None)).collect()
        } else {
            Vec::new()
        },
    };
    let rows: Vec<Row> = projects
        .iter()
        .map(|project| evaluate(project, &mut tools, plan.show))
        .collect();
    let hand_rows = if plan.project.is_some() && !hand_only {
        Vec::new()
    } else {
        let language = plan.language.map(Language::name);
        let dir = tools.dir.clone();
        hand::evaluate(language, plan.project.as_deref(), &dir, &mut || {
            tools.scorer()
        })
    };
    println!();
    if !rows.is_empty() {
        print!("{}", table::text(&rows));
    }
    if let Some(line) = table::precise_summary(&rows) {
        println!("{line}");
    }
    if !hand_rows.is_empty() {
        println!("\nHand-labelled call sites (xtask/labels/):");
        print!("{}", hand::markdown(&hand_rows));
    }
    if let Err(message) = write_results(&tools.dir, &rows, &hand_rows) {
        eprintln!("    {message}");
    }
    let scored = rows.iter().filter(|row| row.score.is_ok()).count()
        + hand_rows.iter().filter(|row| row.result.is_ok()).count();
    let rows_len = rows.len() + hand_rows.len();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "xtask eval-calls: {scored} of {rows_len} projects scored in {seconds:.0}s (results.md and results.json in {})",
        tools.dir.display()
    );
    if scored == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
