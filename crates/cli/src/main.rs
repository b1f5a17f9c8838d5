//! `kausal`: the command line over kausal-ingest, kausal-query and
//! kausal-storage. Parse (`cli`), run (`commands`, typed reports), print
//! (`print`), exit: 0 when something was found, 1 when nothing was (or
//! `verify` found damage), 2 on an error (ambiguous names included), 3 when
//! `ingest` finished but left wanted files out (listed as skipped).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use kausal_cli::cli::{Cli, ColorChoice};
use kausal_cli::commands::{self, Context, Report};
use kausal_cli::error::CliError;
use kausal_cli::print;

/// Exit status of an `ingest` that ingested everything else but left
/// wanted files out (too large, over a storage limit, unreadable, not text,
/// failed to parse): the graph is usable, and incomplete.
const INCOMPLETE_INGEST: u8 = 3;

fn color_enabled(choice: ColorChoice, json: bool, stream_is_terminal: bool) -> bool {
    if json {
        return false;
    }
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::env::var("TERM").map_or(true, |term| term != "dumb")
        }
    }
}

/// Writes to stdout; a closed pipe (`kausal find x | head`) is not an error.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn report_error(error: &CliError, json: bool, color: bool) {
    let mut stderr = std::io::stderr().lock();
    if json {
        let document = serde_json::json!({
            "error": {
                "code": error.code(),
                "message": error.to_string(),
                "exit_code": error.exit_code(),
                "details": error.details(),
            }
        });
        let _ = writeln!(stderr, "{document}");
    } else {
        let style = print::Style::new(color);
        let _ = writeln!(stderr, "{}kausal:{} {error}", style.red, style.reset);
        if let CliError::Storage { source, .. } = error
            && let Some(hint) = hint(source)
        {
            let _ = writeln!(stderr, "hint: {hint}");
        }
    }
}

fn hint(error: &kausal_storage::StorageError) -> Option<&'static str> {
    use kausal_storage::StorageError;
    match error {
        StorageError::Corruption { .. } => Some(
            "run `kausal verify` to list every damaged place; restore from a backup or re-ingest",
        ),
        StorageError::Locked { .. } => {
            Some("another kausal process is writing; retry when it is done")
        }
        _ => None,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let stdout_color = color_enabled(cli.color, json, std::io::stdout().is_terminal());
    let stderr_color = color_enabled(cli.color, json, std::io::stderr().is_terminal());
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(source) => {
            report_error(
                &CliError::Io {
                    what: "cannot read the current directory",
                    path: ".".into(),
                    source,
                },
                json,
                stderr_color,
            );
            return ExitCode::from(2);
        }
    };
    let context = Context {
        db: cli.db.clone(),
        cwd,
        progress: !json && std::io::stderr().is_terminal(),
    };
    match commands::run(cli.command, &context) {
        Ok(report) => {
            let text = if json {
                print::json(&report)
            } else {
                print::human(&report, &print::Style::new(stdout_color))
            };
            if !text.is_empty() {
                emit(&text);
            }
            match &report {
                Report::Verify(verify) if !verify.damaged.is_empty() => ExitCode::from(1),
                Report::Ingest(ingest) if !ingest.complete => ExitCode::from(INCOMPLETE_INGEST),
                Report::Index(index) if !index.ingest.complete => ExitCode::from(INCOMPLETE_INGEST),
                _ => ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            report_error(&error, json, stderr_color);
            ExitCode::from(error.exit_code())
        }
    }
}
