//! scip-eval: precision and recall of kausal-ingest's Rust call edges
//! (`calls` + `calls_method`, caller function -> callee function defined in
//! the same tree) against a SCIP index (`rust-analyzer scip`). Run by
//! `cargo xtask eval-calls`, which fetches the pinned corpus and makes the
//! indexes; this tool scores one project.
//!
//! Usage: scip-eval <project dir> <index.scip> [--json FILE] [--show N]
//! (`SCIP_EVAL_DUMP=path/in/index.rs` prints that document's occurrences.)
//!
//! Reference edges: every non-definition occurrence of a function or
//! method symbol defined in the index, followed in the source by `(` or a
//! turbofish (a call, not a mention), attributed to the innermost function
//! or method around it; both ends are mapped to kausal blocks by file and
//! line (the callee by name and definition line). Each missed edge is
//! printed with one call site, so a miss can be read at its source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use kausal_ingest::{BlockMeta, IngestOptions, Ingester};
use kausal_storage::{BlockId, Config, Database, EdgeType};
use kausal_vfs::OsVfs;
use protobuf::Message;
use scip::types::{Index, symbol_information::Kind};

#[derive(Debug, Clone)]
struct Func {
    id: BlockId,
    path: String,
    name: String,
    qualified: String,
    start: u32,
    end: u32,
}

fn innermost<'a>(funcs: &'a [Func], path: &str, line: u32, name: Option<&str>) -> Option<&'a Func> {
    funcs
        .iter()
        .filter(|f| f.path == path && f.start <= line && line <= f.end)
        .filter(|f| name.is_none_or(|n| f.name == n))
        .min_by_key(|f| f.end - f.start)
}

fn simple_name(symbol: &str) -> Option<&str> {
    // `rust-analyzer cargo regex-syntax 0.8.12 hir/Hir#kind().` -> `kind`
    let trimmed = symbol.strip_suffix("().")?;
    let last = trimmed.rsplit(['/', '#', '.', ']', ' ']).next()?;
    Some(last.trim_matches('`'))
}

struct Args {
    root: String,
    index: String,
    json: Option<String>,
    show: usize,
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let mut json = None;
    let mut show = 4000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = args.next(),
            "--show" => show = args.next().and_then(|n| n.parse().ok()).unwrap_or(show),
            _ => positional.push(arg),
        }
    }
    if positional.len() != 2 {
        eprintln!("usage: scip-eval <project dir> <index.scip> [--json FILE] [--show N]");
        std::process::exit(2);
    }
    Args {
        index: positional.pop().unwrap_or_default(),
        root: positional.pop().unwrap_or_default(),
        json,
        show,
    }
}

fn main() {
    let args = parse_args();
    let root = Path::new(&args.root);
    let bytes = std::fs::read(&args.index).expect("read index");
    let index = Index::parse_from_bytes(&bytes).expect("parse index");
    if let Ok(dump) = std::env::var("SCIP_EVAL_DUMP") {
        for document in index.documents.iter().filter(|d| d.relative_path == dump) {
            for occurrence in &document.occurrences {
                println!(
                    "{:?} {} {}",
                    occurrence.range, occurrence.symbol_roles, occurrence.symbol
                );
            }
        }
        return;
    }

    let db = tempfile::tempdir().expect("tempdir");
    let vfs = Arc::new(OsVfs::new());
    let engine = Database::open_with(vfs.clone(), db.path(), Config::default()).expect("open");
    let options = IngestOptions {
        progress: false,
        ..IngestOptions::default()
    };
    let started = std::time::Instant::now();
    let report = Ingester::new(vfs, root, options)
        .expect("ingester")
        .ingest(&engine)
        .expect("ingest");
    let ingest_seconds = started.elapsed().as_secs_f64();
    eprintln!("{report}");

    let snapshot = engine.snapshot();
    let mut funcs = Vec::new();
    for view in snapshot.iterate_blocks().expect("scan") {
        let view = view.expect("block");
        let Ok(meta) = serde_json::from_str::<BlockMeta>(view.metadata_json) else {
            continue;
        };
        if meta.kind == "function" || meta.kind == "method" {
            funcs.push(Func {
                id: view.id,
                path: meta.path.to_string(),
                name: meta.name.to_string(),
                qualified: meta.qualified_name.to_string(),
                start: meta.start_line,
                end: meta.end_line,
            });
        }
    }
    let by_id: HashMap<BlockId, &Func> = funcs.iter().map(|f| (f.id, f)).collect();
    let mut ours: BTreeSet<(BlockId, BlockId)> = BTreeSet::new();
    for f in &funcs {
        for edge in snapshot.find_outgoing_edges(f.id).expect("edges") {
            if matches!(edge.edge_type, EdgeType::Calls | EdgeType::CallsMethod)
                && by_id.contains_key(&edge.target)
            {
                ours.insert((edge.source, edge.target));
            }
        }
    }

    // Function-like symbols and their definitions.
    let mut function_symbols: BTreeSet<String> = BTreeSet::new();
    let mut definitions: HashMap<String, (String, u32)> = HashMap::new();
    for document in &index.documents {
        for info in &document.symbols {
            let kind = info.kind.enum_value_or_default();
            if matches!(
                kind,
                Kind::Function
                    | Kind::Method
                    | Kind::StaticMethod
                    | Kind::TraitMethod
                    | Kind::AbstractMethod
            ) || info.symbol.ends_with("().")
            {
                function_symbols.insert(info.symbol.clone());
            }
        }
        for occurrence in &document.occurrences {
            if occurrence.symbol_roles & 1 == 1 && occurrence.symbol.ends_with("().") {
                function_symbols.insert(occurrence.symbol.clone());
            }
            if occurrence.symbol_roles & 1 == 1 {
                let line = occurrence.range.first().copied().unwrap_or(0) as u32 + 1;
                definitions
                    .entry(occurrence.symbol.clone())
                    .or_insert((document.relative_path.clone(), line));
            }
        }
    }

    // Reference edge -> one call site (path:line and the line's text).
    let mut reference: BTreeMap<(BlockId, BlockId), String> = BTreeMap::new();
    let mut unmapped = 0u64;
    let mut not_calls = 0u64;
    for document in &index.documents {
        let Ok(text) = std::fs::read_to_string(root.join(&document.relative_path)) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for occurrence in &document.occurrences {
            if occurrence.symbol_roles & 1 == 1 || !function_symbols.contains(&occurrence.symbol) {
                continue;
            }
            let Some((def_path, def_line)) = definitions.get(&occurrence.symbol) else {
                continue; // defined outside the tree
            };
            let range = &occurrence.range;
            let line = range[0] as usize;
            let end_char = if range.len() == 3 { range[2] } else { range[3] } as usize;
            let end_line = if range.len() == 3 {
                line
            } else {
                range[2] as usize
            };
            let after: String = lines
                .get(end_line)
                .map(|l| l.get(end_char..).unwrap_or(""))
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(3)
                .collect();
            if !(after.starts_with('(') || after.starts_with("::<")) {
                not_calls += 1;
                continue;
            }
            let Some(name) = simple_name(&occurrence.symbol) else {
                unmapped += 1;
                continue;
            };
            let caller = innermost(&funcs, &document.relative_path, line as u32 + 1, None);
            let callee = innermost(&funcs, def_path, *def_line, Some(name));
            match (caller, callee) {
                (Some(caller), Some(callee)) => {
                    reference.entry((caller.id, callee.id)).or_insert_with(|| {
                        format!(
                            "{}:{}: {}",
                            document.relative_path,
                            line + 1,
                            lines.get(line).map(|l| l.trim()).unwrap_or("")
                        )
                    });
                }
                _ => unmapped += 1,
            }
        }
    }

    // Blocks the indexer analysed: a function whose definition the index
    // holds, or one with reference edges. Code it left out (a `cfg` that
    // is off, a feature not enabled: it still emits some names there, but
    // no definitions) has no reference edges, so kausal's edges from or to
    // it are not scored either: both sides are compared on the same code.
    let mut indexed: BTreeSet<BlockId> = BTreeSet::new();
    for (symbol, (path, line)) in &definitions {
        if let Some(func) =
            simple_name(symbol).and_then(|name| innermost(&funcs, path, *line, Some(name)))
        {
            indexed.insert(func.id);
        }
    }
    for (caller, callee) in reference.keys() {
        indexed.insert(*caller);
        indexed.insert(*callee);
    }
    let all_ours = ours.len();
    ours.retain(|(caller, callee)| indexed.contains(caller) && indexed.contains(callee));
    let hit = ours
        .iter()
        .filter(|edge| reference.contains_key(edge))
        .count();
    let precision = hit as f64 / ours.len().max(1) as f64;
    let recall = hit as f64 / reference.len().max(1) as f64;
    println!(
        "ours {} edges, reference {} edges, both {hit}: precision {precision:.3}, recall {recall:.3} ({unmapped} reference calls unmapped, {not_calls} mentions not followed by a call; {} of our edges touch code the indexer left out)",
        ours.len(),
        reference.len(),
        all_ours - ours.len()
    );
    let describe = |edge: &(BlockId, BlockId)| {
        let (a, b) = (by_id[&edge.0], by_id[&edge.1]);
        format!(
            "{} ({}:{}) -> {} ({}:{})",
            a.qualified, a.path, a.start, b.qualified, b.path, b.start
        )
    };
    let false_positives: Vec<String> = ours
        .iter()
        .filter(|edge| !reference.contains_key(edge))
        .map(describe)
        .collect();
    let missed: Vec<String> = reference
        .iter()
        .filter(|(edge, _)| !ours.contains(edge))
        .map(|(edge, site)| format!("{}\n      at {site}", describe(edge)))
        .collect();
    println!("only ours (false positives?): {}", false_positives.len());
    for line in false_positives.iter().take(args.show) {
        println!("  {line}");
    }
    println!("only reference (missed): {}", missed.len());
    for line in missed.iter().take(args.show) {
        println!("  {line}");
    }
    if let Some(path) = args.json {
        let summary = serde_json::json!({
            "ours": ours.len(),
            "reference": reference.len(),
            "both": hit,
            "precision": precision,
            "recall": recall,
            "unmapped": unmapped,
            "ours_outside_index": all_ours - ours.len(),
            "files": report.files_seen,
            "ingest_seconds": ingest_seconds,
        });
        std::fs::write(&path, summary.to_string()).expect("write json");
    }
    drop(snapshot);
    engine.shutdown().expect("shutdown");
}
