//! Human text of the answers made for agents: `context`, `impact`,
//! `outline` and `map` (the JSON is the reports' own, as for every
//! command). Kept apart from `print.rs`, which prints the graph queries.

use std::fmt::Write as _;

use kausal_service::context::{ContextEntry, ContextReport};
use kausal_service::impact::{ImpactBlock, ImpactReport};
use kausal_service::map::MapReport;
use kausal_service::outline::{OutlineItem, OutlineReport};

use crate::style::Style;

fn entry_lines(
    out: &mut String,
    style: &Style,
    label: &str,
    entries: &[ContextEntry],
    omitted: usize,
) {
    let _ = write!(
        out,
        "{}{label}{} ({}",
        style.bold,
        style.reset,
        entries.len()
    );
    if omitted > 0 {
        let _ = write!(out, ", {omitted} left out");
    }
    let _ = writeln!(out, "):");
    for entry in entries {
        let depth = if entry.depth > 0 {
            format!("{} ", entry.depth)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "  {depth}{}{}{}  {}",
            style.cyan,
            entry.block.location(),
            style.reset,
            entry.signature
        );
        if !entry.doc.is_empty() {
            let _ = write!(out, "  {}// {}{}", style.dim, entry.doc, style.reset);
        }
        out.push('\n');
    }
}

/// `context`: the symbol, its source, then each section.
pub fn context_text(out: &mut String, style: &Style, report: &ContextReport) {
    let target = &report.target;
    let _ = writeln!(
        out,
        "{}{}{}  {}  {}{}-{}{}",
        style.bold,
        target.title(),
        style.reset,
        target.kind,
        style.cyan,
        target.location(),
        target.end_line,
        style.reset
    );
    if !report.doc.is_empty() {
        let _ = writeln!(out, "doc: {}", report.doc);
    }
    out.push('\n');
    out.push_str(&report.source);
    if !report.source.is_empty() && !report.source.ends_with('\n') {
        out.push('\n');
    }
    if report.source_truncated {
        let _ = writeln!(
            out,
            "{}(source cut to fit the budget){}",
            style.dim, style.reset
        );
    }
    out.push('\n');
    let omitted = &report.omitted;
    entry_lines(out, style, "callers", &report.callers, omitted.callers);
    entry_lines(out, style, "callees", &report.callees, omitted.callees);
    entry_lines(out, style, "types", &report.types, omitted.types);
    let _ = write!(
        out,
        "{}outline of {}{} ({}",
        style.bold,
        target.path,
        style.reset,
        report.outline.len()
    );
    if omitted.outline > 0 {
        let _ = write!(out, ", {} left out", omitted.outline);
    }
    let _ = writeln!(out, "):");
    for line in &report.outline {
        let _ = writeln!(
            out,
            "  {}{}{:<5}{} {}",
            "  ".repeat(line.level),
            style.dim,
            line.start_line,
            style.reset,
            line.signature
        );
    }
    let _ = writeln!(
        out,
        "{}{} of {} tokens{}{}",
        style.dim,
        report.used_tokens,
        report.budget,
        if report.truncated {
            "; some left out"
        } else {
            ""
        },
        style.reset
    );
}

fn impact_line(out: &mut String, style: &Style, block: &ImpactBlock, width: usize) {
    let _ = write!(
        out,
        "  {}{:<width$}{}  {}{:<9}{} {}",
        style.cyan,
        block.block.location(),
        style.reset,
        style.dim,
        block.block.kind,
        style.reset,
        block.block.title()
    );
    if let Some(via) = &block.via {
        let _ = write!(out, "  {}[{via}]{}", style.dim, style.reset);
    }
    if let Some(rule) = &block.test_rule {
        let _ = write!(out, "  {}test: {rule}{}", style.yellow, style.reset);
    }
    out.push('\n');
}

/// `impact`: the diff's files, the changed symbols, each distance, the tests.
pub fn impact_text(out: &mut String, style: &Style, report: &ImpactReport) {
    for file in report.diff.iter().flatten() {
        let lines: Vec<String> = file
            .changed_lines
            .iter()
            .map(|range| match range.start == range.end {
                true => range.start.to_string(),
                false => format!("{}-{}", range.start, range.end),
            })
            .collect();
        let _ = write!(out, "diff {} {}", file.status, file.path);
        if let Some(old) = &file.old_path {
            let _ = write!(out, " (from {old})");
        }
        if !lines.is_empty() {
            let _ = write!(out, ", lines {}", lines.join(","));
        }
        if !file.removed_before.is_empty() {
            let _ = write!(out, ", lines removed before {:?}", file.removed_before);
        }
        match file.ingested {
            true => {
                let plural = if file.symbols == 1 { "" } else { "s" };
                let _ = writeln!(out, ": {} changed symbol{plural}", file.symbols);
            }
            false => {
                let _ = writeln!(out, ": {}not ingested{}", style.yellow, style.reset);
            }
        }
    }
    let width = report
        .targets
        .iter()
        .chain(report.levels.iter().flat_map(|level| level.blocks.iter()))
        .map(|block| block.block.location().len())
        .max()
        .unwrap_or(0);
    if report.targets.is_empty() {
        let _ = writeln!(out, "no ingested symbol is changed");
        return;
    }
    let _ = writeln!(
        out,
        "{}changed{} ({}):",
        style.bold,
        style.reset,
        report.targets.len()
    );
    for block in &report.targets {
        impact_line(out, style, block, width);
    }
    if report.levels.is_empty() {
        let _ = writeln!(out, "nothing reaches them over {}", report.edges.join(", "));
    }
    for level in &report.levels {
        let _ = writeln!(
            out,
            "{}distance {}{} ({}):",
            style.bold,
            level.distance,
            style.reset,
            level.blocks.len()
        );
        for block in &level.blocks {
            impact_line(out, style, block, width);
        }
    }
    let _ = writeln!(
        out,
        "{}tests{} ({}):",
        style.bold,
        style.reset,
        report.tests.len()
    );
    for block in &report.tests {
        impact_line(out, style, block, width);
    }
    if report.truncated {
        let _ = writeln!(
            out,
            "{}(cut at {} blocks: the farthest are left out){}",
            style.dim,
            kausal_service::impact::MAX_IMPACT_RESULTS,
            style.reset
        );
    }
}

fn outline_items(out: &mut String, style: &Style, items: &[OutlineItem], level: usize) {
    for item in items {
        let lines = format!("{}-{}", item.start_line, item.end_line);
        let text = if item.signature.is_empty() {
            &item.name
        } else {
            &item.signature
        };
        let _ = write!(
            out,
            "{}{}{:<9}{} {}{:<9}{} {text}",
            "  ".repeat(level + 1),
            style.cyan,
            lines,
            style.reset,
            style.dim,
            item.kind,
            style.reset
        );
        if !item.doc.is_empty() {
            let _ = write!(out, "  {}// {}{}", style.dim, item.doc, style.reset);
        }
        out.push('\n');
        outline_items(out, style, &item.children, level + 1);
    }
}

/// `outline`: the file, then its items indented by nesting.
pub fn outline_text(out: &mut String, style: &Style, report: &OutlineReport) {
    let _ = writeln!(out, "{}{}{}", style.bold, report.file.path, style.reset);
    outline_items(out, style, &report.items, 0);
    if report.truncated {
        let _ = writeln!(
            out,
            "{}(cut at {} items){}",
            style.dim,
            kausal_service::outline::MAX_OUTLINE_ITEMS,
            style.reset
        );
    }
}

/// `map`: each file and its items' signatures, then what was left out.
pub fn map_text(out: &mut String, style: &Style, report: &MapReport) {
    for file in &report.files {
        let _ = writeln!(out, "{}{}:{}", style.bold, file.path, style.reset);
        for item in &file.items {
            let _ = writeln!(out, "  {}", item.signature);
        }
    }
    let _ = writeln!(
        out,
        "{}{} of {} tokens; {} blocks ranked; left out: {} files, {} items{}",
        style.dim,
        report.used_tokens,
        report.budget,
        report.ranked,
        report.files_omitted,
        report.items_omitted,
        style.reset
    );
}
