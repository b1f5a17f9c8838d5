//! Printers over the reports: aligned human text (coloured only when asked
//! or on a terminal) and one JSON document.

use std::fmt::Write as _;

use crate::commands::{Report, TraceStep, TreeNode};
use crate::index::{IndexReport, IndexerStatus};
use kausal_service::BlockInfo;

pub use crate::style::Style;

/// `resolved_by` of a call edge a SCIP index gave (kausal-ingest's
/// `CallRule::Precise`).
const PRECISE_RULE: &str = "precise";

/// The JSON document of a report.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|error| {
        format!("{{\"error\":{{\"code\":\"internal\",\"message\":\"{error}\"}}}}")
    });
    text.push('\n');
    text
}

fn block_line(out: &mut String, style: &Style, block: &BlockInfo, width: usize) {
    let location = block.location();
    let _ = writeln!(
        out,
        "{cyan}{location:<width$}{reset}  {dim}{kind:<9}{reset} {bold}{title}{reset}",
        cyan = style.cyan,
        reset = style.reset,
        dim = style.dim,
        bold = style.bold,
        kind = block.kind,
        title = block.title(),
    );
}

fn location_width<'a>(blocks: impl Iterator<Item = &'a BlockInfo>) -> usize {
    blocks
        .map(|block| block.location().len())
        .max()
        .unwrap_or(0)
}

fn tree_lines(out: &mut String, style: &Style, nodes: &[TreeNode], prefix: &str) {
    for (index, node) in nodes.iter().enumerate() {
        let last = index + 1 == nodes.len();
        let branch = if last { "└── " } else { "├── " };
        let via = match &node.via_trait {
            Some(declared) => format!(" {}(via trait {declared}){}", style.dim, style.reset),
            None => String::new(),
        };
        let heuristic = heuristic_mark(style, node.precise_file, node.resolved_by.as_deref());
        let mark = if node.cycle {
            format!(" {}(cycle){}", style.yellow, style.reset)
        } else if node.repeated {
            format!(" {}(shown above){}", style.dim, style.reset)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{prefix}{branch}{bold}{title}{reset}  {cyan}{location}{reset}{dim}{edge}{reset}{via}{heuristic}{mark}",
            bold = style.bold,
            title = node.block.title(),
            reset = style.reset,
            cyan = style.cyan,
            location = node.block.location(),
            dim = style.dim,
            edge = if node.edge == "calls" {
                String::new()
            } else {
                format!(" [{}]", node.edge)
            },
        );
        let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
        tree_lines(out, style, &node.children, &child_prefix);
    }
}

/// ` (heuristic: RULE)` for a call edge whose caller's file has precise
/// calls from a SCIP index but that the index did not give (the file was
/// edited since); empty for precise edges and for files without an index.
fn heuristic_mark(style: &Style, precise_file: bool, resolved_by: Option<&str>) -> String {
    match resolved_by {
        Some(rule) if precise_file && rule != PRECISE_RULE => {
            format!(" {}(heuristic: {rule}){}", style.yellow, style.reset)
        }
        _ => String::new(),
    }
}

fn steps_lines(out: &mut String, style: &Style, steps: &[TraceStep]) {
    let width = location_width(steps.iter().map(|step| &step.block));
    for step in steps {
        let via = step
            .via
            .as_deref()
            .map(|via| format!("{}{via:>14}{} ", style.dim, style.reset))
            .unwrap_or_else(|| format!("{:>15}", ""));
        let _ = write!(out, "{:>2} {via}", step.depth);
        block_line(out, style, &step.block, width);
        let mark = heuristic_mark(style, step.precise_file, step.resolved_by.as_deref());
        if !mark.is_empty() {
            // After the line's newline: put the mark before it.
            out.pop();
            out.push_str(&mark);
            out.push('\n');
        }
    }
}

/// Human text of a report.
pub fn human(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    match report {
        Report::Ingest(summary) => {
            let _ = writeln!(out, "{}database{} {}", style.bold, style.reset, summary.db);
            out.push_str(&summary.text);
            if !summary.text.ends_with('\n') {
                out.push('\n');
            }
        }
        Report::Index(index) => index_text(&mut out, style, index),
        Report::Find(find) => find_text(&mut out, style, find),
        Report::Show(detail) => show_text(&mut out, style, detail),
        Report::Callers(tree) | Report::Callees(tree) => tree_text(&mut out, style, tree),
        Report::Trace(trace) => {
            steps_lines(&mut out, style, &trace.reached);
            if trace.truncated {
                let _ = writeln!(out, "{}(cut at --limit){}", style.dim, style.reset);
            }
        }
        Report::Path(path) => steps_lines(&mut out, style, &path.steps),
        Report::Cycles(cycles) => cycles_text(&mut out, style, cycles),
        Report::Deps(deps) => deps_text(&mut out, style, deps),
        Report::Stats(stats) => stats_text(&mut out, style, stats),
        Report::Context(report) => crate::print_agent::context_text(&mut out, style, report),
        Report::Impact(report) => crate::print_agent::impact_text(&mut out, style, report),
        Report::Outline(report) => crate::print_agent::outline_text(&mut out, style, report),
        Report::Map(report) => crate::print_agent::map_text(&mut out, style, report),
        Report::Verify(verify) => verify_text(&mut out, style, verify),
        Report::Backup(backup) => backup_text(&mut out, backup),
        Report::Export(export) => crate::export::text(&mut out, export),
        Report::Compact(compact) => {
            let _ = writeln!(
                out,
                "compacted {}: {} tables -> {}",
                compact.db, compact.tables_before, compact.tables_after
            );
        }
        // `kausal mcp`'s stdout is the protocol's: a stopped server prints
        // nothing there.
        Report::Stopped(_) => {}
    }
    out
}

fn index_text(out: &mut String, style: &Style, index: &IndexReport) {
    if index.indexers.is_empty() {
        let _ = writeln!(
            out,
            "no language with a SCIP indexer found (Cargo.toml, tsconfig.json, package.json, \
             pyproject.toml, setup.py, setup.cfg or .py files): heuristic call edges only"
        );
    }
    for run in &index.indexers {
        let _ = write!(
            out,
            "{bold}{}{reset} ({}, {}): ",
            run.indexer,
            run.language.name(),
            run.found_by,
            bold = style.bold,
            reset = style.reset
        );
        let _ = match run.status {
            IndexerStatus::Indexed => writeln!(
                out,
                "indexed {} files in {:.1}s",
                run.documents, run.seconds
            ),
            IndexerStatus::Missing => {
                writeln!(
                    out,
                    "{}missing{}: {}",
                    style.yellow, style.reset, run.message
                )
            }
            IndexerStatus::Failed => writeln!(
                out,
                "{}failed{} after {:.1}s: {}; its files keep heuristic call edges",
                style.red, style.reset, run.seconds, run.message
            ),
        };
        for line in &run.stderr_tail {
            let _ = writeln!(out, "  {}|{} {line}", style.dim, style.reset);
        }
    }
    let _ = writeln!(
        out,
        "{}database{} {}",
        style.bold, style.reset, index.ingest.db
    );
    out.push_str(&index.ingest.text);
    if !index.ingest.text.ends_with('\n') {
        out.push('\n');
    }
}

fn find_text(out: &mut String, style: &Style, find: &kausal_service::FindReport) {
    let width = location_width(find.results.iter());
    for block in &find.results {
        block_line(out, style, block, width);
    }
    if find.truncated {
        let _ = writeln!(
            out,
            "{}(more results: raise --limit){}",
            style.dim, style.reset
        );
    }
}

fn show_text(out: &mut String, style: &Style, detail: &kausal_service::BlockDetail) {
    let info = &detail.info;
    let _ = writeln!(
        out,
        "{}{}{}  {}",
        style.bold,
        info.title(),
        style.reset,
        info.kind
    );
    let _ = writeln!(
        out,
        "{}{}-{}{}",
        style.cyan,
        info.location(),
        info.end_line,
        style.reset
    );
    let _ = writeln!(out, "id {}", info.id);
    if !detail.signature.is_empty() {
        let _ = writeln!(out, "signature: {}", detail.signature);
    }
    if !detail.doc.is_empty() {
        let _ = writeln!(out, "doc: {}", detail.doc);
    }
    out.push('\n');
    out.push_str(&detail.content);
    if !detail.content.ends_with('\n') {
        out.push('\n');
    }
}

fn tree_text(out: &mut String, style: &Style, tree: &kausal_service::TreeReport) {
    let _ = writeln!(
        out,
        "{}{}{}  {}{}{}",
        style.bold,
        tree.root.title(),
        style.reset,
        style.cyan,
        tree.root.location(),
        style.reset
    );
    tree_lines(out, style, &tree.children, "");
    if tree.truncated {
        let _ = writeln!(
            out,
            "{}(tree cut at {} nodes){}",
            style.dim,
            crate::commands::MAX_TREE_NODES,
            style.reset
        );
    }
}

fn cycles_text(out: &mut String, style: &Style, cycles: &kausal_service::CyclesReport) {
    if cycles.cycles.is_empty() {
        let _ = writeln!(out, "no cycles over {}", cycles.edges.join(", "));
    }
    for (index, cycle) in cycles.cycles.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}cycle {} ({} block{}){}",
            style.bold,
            index + 1,
            cycle.len(),
            if cycle.len() == 1 { "" } else { "s" },
            style.reset
        );
        let width = location_width(cycle.iter());
        for block in cycle {
            out.push_str("  ");
            block_line(out, style, block, width);
        }
    }
}

fn deps_text(out: &mut String, style: &Style, deps: &kausal_service::DepsReport) {
    let _ = writeln!(out, "{}{}{}", style.bold, deps.target.title(), style.reset);
    for (label, blocks) in [
        ("imports", &deps.imports),
        ("imported by", &deps.imported_by),
    ] {
        let _ = writeln!(out, "{label} ({}):", blocks.len());
        let width = location_width(blocks.iter());
        for block in blocks {
            out.push_str("  ");
            block_line(out, style, block, width);
        }
    }
}

fn stats_text(out: &mut String, style: &Style, stats: &kausal_service::StatsReport) {
    let _ = writeln!(out, "{}database{} {}", style.bold, style.reset, stats.db);
    let _ = writeln!(out, "blocks: {}", stats.blocks);
    let list = |map: &std::collections::BTreeMap<String, u64>| {
        map.iter()
            .map(|(key, count)| format!("{key} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "  by kind: {}", list(&stats.blocks_by_kind));
    let _ = writeln!(out, "  by language: {}", list(&stats.blocks_by_language));
    let _ = writeln!(out, "edges: {}", list(&stats.edges_by_type));
    if !stats.calls_by_provenance.is_empty() {
        let _ = writeln!(
            out,
            "  calls by provenance: {}",
            list(&stats.calls_by_provenance)
        );
    }
    let _ = writeln!(
        out,
        "tables: {} ({} bytes); files: {} bytes (WAL preallocated); memtable: {} bytes, {} blocks, {} edges",
        stats.tables,
        stats.table_bytes,
        stats.file_bytes,
        stats.memtable_bytes,
        stats.memtable_blocks,
        stats.memtable_edges
    );
    if let Some(walk) = &stats.last_walk {
        last_walk(out, walk);
    }
}

fn verify_text(out: &mut String, style: &Style, verify: &crate::commands::VerifyReport) {
    let _ = writeln!(
        out,
        "checked {} tables, {} WAL records in {} segments, {} blocks",
        verify.tables, verify.wal_records, verify.wal_segments, verify.blocks_read
    );
    for (label, color, places) in [
        ("repaired", style.yellow, &verify.repaired),
        ("damaged", style.red, &verify.damaged),
    ] {
        for place in places {
            let offset = place
                .offset
                .map_or_else(|| "?".to_string(), |offset| offset.to_string());
            let _ = writeln!(
                out,
                "{color}{label}{reset} {} at offset {offset}: {}",
                place.file,
                place.reason,
                reset = style.reset,
            );
        }
    }
    if verify.damaged.is_empty() {
        let _ = writeln!(out, "ok: every checksum matches");
    }
}

fn backup_text(out: &mut String, backup: &crate::commands::BackupSummary) {
    let _ = writeln!(
        out,
        "backed up {} to {}: {} files, {} bytes, {} blocks (verified){}",
        backup.db,
        backup.backup,
        backup.files,
        backup.bytes,
        backup.blocks,
        if backup.retries > 0 {
            format!(
                "; retried {} times while the database changed",
                backup.retries
            )
        } else {
            String::new()
        }
    );
}

/// `stats`' lines on what the last ingest's walk left out.
fn last_walk(out: &mut String, walk: &kausal_ingest::WalkRecord) {
    let skipped: u64 = walk.skipped_by_cause.values().sum();
    let causes: Vec<String> = walk
        .skipped_by_cause
        .iter()
        .map(|(cause, count)| format!("{cause} {count}"))
        .collect();
    let _ = write!(
        out,
        "last ingest: {} source files seen, {} skipped",
        walk.files_seen, skipped
    );
    if !causes.is_empty() {
        let _ = write!(out, " ({})", causes.join(", "));
    }
    let _ = writeln!(
        out,
        ", {} partial, {} excluded by ignore rules",
        walk.partial, walk.ignored.excluded
    );
    if walk.precise_files > 0 {
        let _ = writeln!(
            out,
            "precise: {} files with call edges from a SCIP index, {} edited since the index \
             (heuristic edges until the next), {} precise call edges",
            walk.precise_files, walk.precise_stale, walk.precise_edges
        );
    }
    if let Some(warning) = walk.ignored.warning() {
        let _ = writeln!(out, "warning: {warning}");
    }
    for file in &walk.skipped {
        let _ = writeln!(out, "  skipped {}: {}", file.path, file.reason);
    }
    let listed = walk.skipped.len() as u64;
    if skipped > listed {
        let _ = writeln!(out, "  ... and {} more skipped", skipped - listed);
    }
}
