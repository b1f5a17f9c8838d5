//! Prints what extraction finds in one source file: its items, calls and
//! imports. Extraction is a pure function of (language, source), so this
//! needs no database.
//!
//! Run: `cargo run -p kausal-ingest --example extract_file -- path/to/file.py`
//! (without an argument it reads its own source).

use std::error::Error;

use kausal_ingest::summary::CallKind;
use kausal_ingest::{Language, extract};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/extract_file.rs").into());
    let language = Language::from_path(&path).ok_or_else(|| {
        let known: Vec<&str> = Language::ALL
            .iter()
            .flat_map(|l| l.extensions())
            .copied()
            .collect();
        format!(
            "{path}: not a source file kausal reads (extensions: {})",
            known.join(", ")
        )
    })?;
    let source = std::fs::read_to_string(&path)?;
    let mut parser = tree_sitter::Parser::new();
    let summary = extract(language, &source, &mut parser)?;

    println!(
        "{path}: {}, {} lines, {} syntax errors",
        language.name(),
        summary.lines,
        summary.syntax_errors
    );
    println!("items:");
    for item in &summary.items {
        // Items are in file order and parents come first: indent by depth.
        let mut depth = 0;
        let mut parent = item.parent;
        while let Some(index) = parent {
            depth += 1;
            parent = summary.items[index as usize].parent;
        }
        println!(
            "  {:indent$}{} {} (lines {}-{})",
            "",
            item.kind.name(),
            item.name,
            item.start_line,
            item.end_line,
            indent = depth * 2
        );
    }
    println!("calls:");
    for call in &summary.calls {
        let caller = call.caller.map_or("(file)", |index| {
            summary.items[index as usize].name.as_str()
        });
        let callee = match call.kind {
            CallKind::Path => call.text.clone(),
            // The receiver as written, on one line (`?` when the extractor
            // could not read it, e.g. inside a macro's arguments).
            CallKind::Method => format!("{}.{}()", one_line(&call.receiver), call.text),
        };
        println!("  line {:>3}: {caller} -> {callee}", call.line);
    }
    println!("imports:");
    for import in &summary.imports {
        let star = if import.glob { " (glob)" } else { "" };
        let path = import.path.join(language.scope_rules().separator);
        println!("  line {:>3}: {path}{star}", import.line);
    }
    Ok(())
}

/// `text` with its whitespace runs removed (receivers can span lines).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect()
}
