//! Running one SCIP indexer: its command line, a spinner on a terminal,
//! the tail of its output and error streams kept in memory (drained by
//! two threads while it runs), and what became of it (an index decoded
//! and checked, or why not).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use kausal_ingest::precise::PreciseIndex;
use kausal_vfs::{OsVfs, Vfs};
use serde::{Deserialize, Serialize};

use super::detect::{Detected, IndexLanguage, find_program};
use crate::precise::{epoch_ns, load_index};

/// Lines of a failed indexer's error output kept in the report.
pub const STDERR_TAIL_LINES: usize = 12;
/// Bytes of each of an indexer's streams kept for that tail (the last).
pub const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// How often the spinner redraws.
const SPINNER_TICK: Duration = Duration::from_millis(120);
/// `--project-version` given to scip-python (it needs one outside a git
/// checkout; kausal uses only the project's own symbols).
const PYTHON_PROJECT_VERSION: &str = "0";

/// What became of one indexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexerStatus {
    /// It ran and its index was merged.
    Indexed,
    /// It is not installed: its language keeps heuristic call edges.
    Missing,
    /// It failed, or wrote no usable index: its language keeps heuristic
    /// call edges.
    Failed,
}

/// One indexer of `kausal index`, as reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexerRun {
    /// `rust`, `typescript` or `python`.
    pub language: IndexLanguage,
    /// The file that showed the language (`Cargo.toml`), relative to the root.
    pub found_by: String,
    /// The indexer's program name (`rust-analyzer`).
    pub indexer: String,
    /// What became of it.
    pub status: IndexerStatus,
    /// The program run, as found (absent when missing).
    pub program: Option<String>,
    /// Its wall time, in seconds (0 when missing).
    pub seconds: f64,
    /// Its exit code, when it ran and exited (absent when killed by a signal).
    pub exit_code: Option<i32>,
    /// What to do (install hint) or what went wrong; empty when indexed.
    pub message: String,
    /// The last lines of its error output (of its output when that was
    /// empty), when it failed.
    pub stderr_tail: Vec<String>,
    /// Documents (source files) in its index, when indexed.
    pub documents: u64,
}

impl IndexerRun {
    fn new(detected: &Detected, status: IndexerStatus) -> Self {
        Self {
            language: detected.language,
            found_by: detected.found_by.clone(),
            indexer: detected.language.program().to_string(),
            status,
            program: None,
            seconds: 0.0,
            exit_code: None,
            message: String::new(),
            stderr_tail: Vec::new(),
            documents: 0,
        }
    }
}

/// The command that indexes `root` into `output` with `program`;
/// `scratch` holds any file the indexer needs besides (a TypeScript
/// configuration for a repository without one).
fn command(
    detected: &Detected,
    program: &Path,
    root: &Path,
    output: &Path,
    scratch: &Path,
) -> Result<Command, String> {
    let mut command = Command::new(program);
    command.current_dir(root);
    match detected.language {
        IndexLanguage::Rust => {
            command.args(["scip", "."]).arg("--output").arg(output);
        }
        IndexLanguage::Typescript => {
            command
                .args(["index", "--no-progress-bar", "--cwd"])
                .arg(root);
            command.arg("--output").arg(output);
            if !detected.has_tsconfig {
                command.arg(inferred_tsconfig(root, scratch)?);
            }
        }
        IndexLanguage::Python => {
            let name = root
                .file_name()
                .map(|name| project_name(&name.to_string_lossy()))
                .unwrap_or_else(|| "project".to_string());
            command.args(["index", "--quiet", "--cwd"]).arg(root);
            command.args(["--project-name", &name]);
            command.args(["--project-version", PYTHON_PROJECT_VERSION]);
            command.arg("--output").arg(output);
        }
    }
    Ok(command)
}

/// A project name scip-python accepts: the root directory's name with
/// anything but letters, digits, `-`, `_` and `.` as `_`.
fn project_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "project".to_string()
    } else {
        name
    }
}

/// A `tsconfig.json` in `scratch` that takes every JavaScript and
/// TypeScript file under `root` but dependencies (`scip-typescript
/// --infer-tsconfig` would write one into the repository); its directory.
fn inferred_tsconfig(root: &Path, scratch: &Path) -> Result<PathBuf, String> {
    let dir = scratch.join("tsconfig");
    let under = |pattern: &str| format!("{}/{pattern}", root.display());
    let config = serde_json::json!({
        "compilerOptions": {"allowJs": true, "noEmit": true, "skipLibCheck": true},
        "include": [under("**/*")],
        "exclude": [under("**/node_modules"), under("**/.*")],
    });
    let vfs = OsVfs::new();
    vfs.create_dir_all(&dir)
        .and_then(|()| vfs.create_file(&dir.join("tsconfig.json")))
        .and_then(|mut file| file.append(config.to_string().as_bytes()))
        .map_err(|error| {
            format!(
                "cannot write a tsconfig.json into {}: {error}",
                dir.display()
            )
        })?;
    Ok(dir)
}

/// Reads `stream` to its end on a thread of its own, keeping the last
/// [`STDERR_TAIL_BYTES`].
fn drain(stream: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let Some(mut stream) = stream else {
            return kept;
        };
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    kept.extend_from_slice(&buffer[..read]);
                    if kept.len() > 2 * STDERR_TAIL_BYTES {
                        kept.drain(..kept.len() - STDERR_TAIL_BYTES);
                    }
                }
            }
        }
        if kept.len() > STDERR_TAIL_BYTES {
            kept.drain(..kept.len() - STDERR_TAIL_BYTES);
        }
        kept
    })
}

/// The last [`STDERR_TAIL_LINES`] non-empty lines of `bytes`.
fn tail(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].to_vec()
}

fn spinner(show: bool, language: IndexLanguage) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(format!(
        "indexing {} with {}",
        language.name(),
        language.program()
    ));
    bar.enable_steady_tick(SPINNER_TICK);
    bar
}

/// Runs the indexer of `detected` on `root`, writing into `scratch`; the
/// report of the run and, when it produced a usable index, the index
/// (made when the indexer started: files modified while it ran are not
/// trusted).
pub fn run(
    detected: &Detected,
    root: &Path,
    scratch: &Path,
    progress: bool,
) -> (IndexerRun, Option<PreciseIndex>) {
    let language = detected.language;
    let Some(program) = find_program(language.program(), root) else {
        let mut run = IndexerRun::new(detected, IndexerStatus::Missing);
        run.message = format!(
            "{} is not on PATH; install it with `{}` (its files keep heuristic call edges)",
            language.program(),
            language.install()
        );
        return (run, None);
    };
    let mut run = IndexerRun::new(detected, IndexerStatus::Failed);
    run.program = Some(program.display().to_string());
    let output = scratch.join(format!("{}.scip", language.name()));
    let mut command = match command(detected, &program, root, &output, scratch) {
        Ok(command) => command,
        Err(reason) => {
            run.message = reason;
            return (run, None);
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let bar = spinner(progress, language);
    // The wall clock just before it starts: files modified after are not
    // described by its index.
    let indexed_at_ns = epoch_ns(SystemTime::now());
    let started = Instant::now();
    let status = command.spawn().and_then(|mut child| {
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let status = child.wait()?;
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        Ok((status, out, err))
    });
    bar.finish_and_clear();
    run.seconds = started.elapsed().as_secs_f64();
    let (status, out, err) = match status {
        Ok(finished) => finished,
        Err(error) => {
            run.message = format!("cannot run {}: {error}", program.display());
            return (run, None);
        }
    };
    run.exit_code = status.code();
    // Its error output; its output when that is empty.
    run.stderr_tail = match tail(&err) {
        lines if lines.is_empty() => tail(&out),
        lines => lines,
    };
    if !status.success() {
        run.message = format!("{} failed ({status})", language.program());
        return (run, None);
    }
    let origin = format!("{} run by kausal index", language.program());
    match load_index(root, &output, &origin, Some(indexed_at_ns)) {
        Ok(index) => {
            run.status = IndexerStatus::Indexed;
            run.documents = index.documents() as u64;
            run.stderr_tail.clear();
            (run, Some(index))
        }
        Err(error) => {
            run.message = format!("{} exited 0 but {error}", language.program());
            (run, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_made_acceptable() {
        assert_eq!(project_name("my repo (copy)"), "my_repo__copy_");
        assert_eq!(project_name("kausal-0.1"), "kausal-0.1");
        assert_eq!(project_name(""), "project");
    }

    #[test]
    fn the_tail_keeps_the_last_non_empty_lines() {
        let text: String = (0..40).map(|n| format!("line {n}\n\n")).collect();
        let tail = tail(text.as_bytes());
        assert_eq!(tail.len(), STDERR_TAIL_LINES);
        assert_eq!(tail.last().map(String::as_str), Some("line 39"));
        assert!(super::tail(b"").is_empty());
    }

    #[test]
    fn a_drained_stream_keeps_its_last_bytes() {
        let long: Vec<u8> = (0..5 * STDERR_TAIL_BYTES)
            .map(|n| (n % 251) as u8)
            .collect();
        let kept = drain(Some(std::io::Cursor::new(long.clone())))
            .join()
            .expect("drain");
        assert_eq!(kept, long[long.len() - STDERR_TAIL_BYTES..]);
    }
}
